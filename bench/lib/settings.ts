/**
 * How a bench run is shaped, read once from the environment:
 *
 *   BENCH_QUICK=1          a small, fast run (100k events to read, 2 s phases) for development
 *   BENCH_SECONDS=5        length of each timed phase (default 5, quick 2)
 *   BENCH_WARMUP_SECONDS   warm-up before each timed phase (default 1, quick 0.5)
 *   BENCH_EVENTS           events to fill and read back (default 1,000,000, quick 100,000)
 *   BENCH_ONLY=a,b         run only these suites (by name)
 *   BENCH_DATABASE_URL     server to bench on (else DATABASE_URL, else the local server, else embedded)
 */
export interface BenchSettings {
  readonly quick: boolean;
  readonly phaseSeconds: number;
  readonly warmupSeconds: number;
  readonly events: number;
  /** Suite names to run; null for all. */
  readonly only: ReadonlySet<string> | null;
}

export function loadSettings(env: NodeJS.ProcessEnv = process.env): BenchSettings {
  const quick = isTrue(env.BENCH_QUICK);
  const only = (env.BENCH_ONLY ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  return {
    quick,
    phaseSeconds: positiveNumber(env, 'BENCH_SECONDS', quick ? 2 : 5),
    warmupSeconds: positiveNumber(env, 'BENCH_WARMUP_SECONDS', quick ? 0.5 : 1, true),
    events: Math.trunc(positiveNumber(env, 'BENCH_EVENTS', quick ? 100_000 : 1_000_000)),
    only: only.length > 0 ? new Set(only) : null,
  };
}

function isTrue(value: string | undefined): boolean {
  return value !== undefined && /^(1|true|yes|on)$/i.test(value.trim());
}

function positiveNumber(env: NodeJS.ProcessEnv, name: string, fallback: number, zeroAllowed = false): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || (value === 0 && !zeroAllowed)) {
    throw new Error(`${name} must be a ${zeroAllowed ? 'non-negative' : 'positive'} number, not "${raw}"`);
  }
  return value;
}
