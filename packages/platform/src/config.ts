/**
 * Configuration: read from the environment once, at start-up, into one validated, typed,
 * frozen object. This is the only module allowed to touch `process.env` (a lint rule says
 * so), which keeps every setting a process depends on visible in its schema.
 */
import { z } from 'zod';

/** The environment as handed to {@link loadConfig}. */
export type Env = Readonly<Record<string, string | undefined>>;

/** Thrown when the environment does not satisfy the schema; the message names every bad variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly issues: readonly { readonly variable: string; readonly message: string }[]) {
    super(`Invalid configuration: ${issues.map((i) => `${i.variable}: ${i.message}`).join('; ')}`);
  }
}

/** A TCP port, 1–65535. */
export function port(defaultValue?: number) {
  const schema = z.coerce
    .number({ error: 'expected a number between 1 and 65535' })
    .int({ error: 'expected a number between 1 and 65535' })
    .min(1, { error: 'expected a number between 1 and 65535' })
    .max(65535, { error: 'expected a number between 1 and 65535' });
  return defaultValue === undefined ? schema : schema.default(defaultValue);
}

/** An integer within optional bounds, e.g. a pool size. */
export function int(options: { default?: number; min?: number; max?: number } = {}) {
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = options;
  const message =
    options.min !== undefined && options.max !== undefined
      ? `expected an integer between ${min} and ${max}`
      : options.min !== undefined
        ? `expected an integer of at least ${min}`
        : options.max !== undefined
          ? `expected an integer of at most ${max}`
          : 'expected an integer';
  const schema = z.coerce
    .number({ error: message })
    .int({ error: message })
    .min(min, { error: message })
    .max(max, { error: message });
  return options.default === undefined ? schema : schema.default(options.default);
}

const durationUnits: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A non-negative duration in milliseconds: `250`, `250ms`, `10s`, `5m` or `1h` (a bare number is ms). */
export function duration(defaultMs?: number) {
  const schema = z.string().transform((raw, ctx) => {
    const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(raw.trim());
    if (match === null) {
      ctx.addIssue({ code: 'custom', message: 'expected a duration such as 500, 500ms, 10s, 5m or 1h' });
      return z.NEVER;
    }
    return Math.round(Number(match[1]) * (durationUnits[match[2] ?? 'ms'] ?? 1));
  });
  return defaultMs === undefined ? schema : schema.default(defaultMs);
}

/** An absolute URL, optionally limited to some protocols (`['postgres:', 'postgresql:']`). */
export function url(options: { protocols?: readonly string[] } = {}) {
  const { protocols } = options;
  return z.string().refine(
    (raw) => {
      if (!URL.canParse(raw)) return false;
      return protocols === undefined || protocols.includes(new URL(raw).protocol);
    },
    {
      error:
        protocols === undefined
          ? 'expected a URL'
          : `expected a URL starting with ${protocols.join(' or ')}//`,
    },
  );
}

/** A boolean flag: true/false, 1/0, yes/no, on/off. */
export function bool(defaultValue?: boolean) {
  const schema = z.stringbool({ error: 'expected true or false' });
  return defaultValue === undefined ? schema : schema.default(defaultValue);
}

/** Pino's levels, plus `silent`. */
export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

/** Settings every process has; each app extends it: `baseConfigSchema.extend({ PORT: port(3000) })`. */
export const baseConfigSchema = z.object({
  NODE_ENV: z
    .enum(['development', 'test', 'production'], { error: 'expected development, test or production' })
    .default('development'),
  LOG_LEVEL: z.enum(logLevels, { error: `expected one of ${logLevels.join(', ')}` }).default('info'),
  SERVICE_NAME: z.string().min(1).optional(),
  DATABASE_URL: url({ protocols: ['postgres:', 'postgresql:'] }).optional(),
  NATS_URL: url({ protocols: ['nats:', 'tls:', 'ws:', 'wss:'] }).optional(),
  REDIS_URL: url({ protocols: ['redis:', 'rediss:'] }).optional(),
  /** Namespaces queues, streams, keys and channels, so deployments sharing servers stay apart. */
  MESSAGING_PREFIX: z
    .string()
    .regex(/^[a-z][a-z0-9_-]*$/, { error: 'expected lower-case letters, digits, - and _' })
    .default('optic'),
  SHUTDOWN_TIMEOUT_MS: int({ default: 10_000, min: 0 }),
});
export type BaseConfig = z.output<typeof baseConfigSchema>;

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * Parses the environment with `schema` and returns the frozen result. Throws a ConfigError
 * naming each bad variable, so a misconfigured process stops at start-up rather than on the
 * first request that needs the setting. The bad values are never echoed: they may be secrets.
 */
export function loadConfig<S extends z.ZodObject>(schema: S, env: Env = process.env): Readonly<z.output<S>> {
  // `FOO=` in an env file or a compose file means "not set"; treat it so, letting defaults apply.
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const result = schema.safeParse(present);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => {
        const variable = issue.path.map(String).join('.') || '(root)';
        // zod's own wording for a missing value ("expected string, received undefined") reads badly here.
        const missing = issue.path.length === 1 && present[variable] === undefined;
        return { variable, message: missing ? 'is required' : issue.message };
      }),
    );
  }
  return deepFreeze(result.data);
}
