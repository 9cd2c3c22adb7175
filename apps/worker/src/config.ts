import { baseConfigSchema, duration, int, loadConfig, type Env } from '@optic-mart/platform';
import { z } from 'zod';

const schema = baseConfigSchema.extend({
  DATABASE_URL: z.string({ error: 'required: the PostgreSQL URL of the event store' }).url(),
  /**
   * Commands one worker handles at once; it pulls only when it has room. On NATS + Redis, 64 gave
   * ~15% more commands/s in the bench; on the PostgreSQL transport every command in flight also
   * holds queue and key-value connections, and 64 per context exhausted a default server's 100.
   */
  WORKER_CONCURRENCY: int({ default: 16, min: 1, max: 1000 }),
  WORKER_POOL_SIZE: int({ default: 20, min: 1, max: 500 }),
  WORKER_HEARTBEAT_MS: duration(1000),
  /** Attempts before a command that keeps failing (for infrastructure reasons) is dead-lettered. */
  WORKER_MAX_DELIVERIES: int({ default: 5, min: 1, max: 100 }),
  /** How long a command taken by a worker that died waits before redelivery (lease / ack-wait). Transport default (30 s) when unset. */
  WORKER_LEASE_MS: int({ min: 100 }).optional(),
});

export type WorkerConfig = ReturnType<typeof loadWorkerConfig>;

export function loadWorkerConfig(env?: Env) {
  return loadConfig(schema, env);
}

/** `--context catalog,inventory` (or `--context catalog --context inventory`); none means every context. */
export function parseContexts(args: readonly string[], known: readonly string[]): string[] {
  const named: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--context' || arg === '-c') named.push(...(args[++i] ?? '').split(','));
    else if (arg.startsWith('--context=')) named.push(...arg.slice('--context='.length).split(','));
  }
  const contexts = [...new Set(named.map((c) => c.trim()).filter(Boolean))];
  const unknown = contexts.filter((c) => !known.includes(c));
  if (unknown.length > 0) {
    throw new Error(`unknown context ${unknown.join(', ')}; contexts are ${known.join(', ')}`);
  }
  return contexts.length > 0 ? contexts : [...known];
}
