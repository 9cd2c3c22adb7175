/**
 * Readiness: whether this process can do useful work now (its database answers, its queue
 * is connected). Unlike liveness, failing it takes the process out of the load balancer
 * instead of restarting it.
 */

export interface ReadinessCheck {
  readonly name: string;
  /** Resolves when the dependency is usable; should stop its work when `signal` aborts. */
  readonly check: (signal: AbortSignal) => Promise<unknown>;
  /** Overrides the server's per-check timeout. */
  readonly timeoutMs?: number;
}

export type CheckStatus = 'ok' | 'failed' | 'timed_out';

export interface CheckResult {
  readonly name: string;
  readonly status: CheckStatus;
  readonly error?: unknown;
}

// A check that hangs (a database behind a dropped connection) must not hang the probe:
// orchestrators treat a probe that never answers like a failure anyway, just later.
async function runCheck(check: ReadinessCheck, timeoutMs: number): Promise<CheckResult> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timed_out'>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new Error(`readiness check ${check.name} timed out after ${timeoutMs} ms`));
      resolve('timed_out');
    }, timeoutMs);
  });
  try {
    // Promise.resolve().then(): a check that throws synchronously fails like one that rejects.
    const passed = Promise.resolve()
      .then(() => check.check(controller.signal))
      .then(() => 'ok' as const);
    const status = await Promise.race([passed, timedOut]);
    return { name: check.name, status };
  } catch (error) {
    return { name: check.name, status: 'failed', error };
  } finally {
    clearTimeout(timer);
  }
}

/** Runs every check concurrently, each bounded by its timeout. */
export async function runReadinessChecks(
  checks: readonly ReadinessCheck[],
  defaultTimeoutMs: number,
): Promise<CheckResult[]> {
  return Promise.all(checks.map((check) => runCheck(check, check.timeoutMs ?? defaultTimeoutMs)));
}
