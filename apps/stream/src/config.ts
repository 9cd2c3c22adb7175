import { baseConfigSchema, duration, int, loadConfig, port, type Env } from '@optic-mart/platform';
import { z } from 'zod';

const schema = baseConfigSchema.extend({
  DATABASE_URL: z.string({ error: 'required: the PostgreSQL URL of the read side (notices)' }).url(),
  STREAM_HOST: z.string().default('127.0.0.1'),
  STREAM_PORT: port(8082),
  STREAM_POOL_SIZE: int({ default: 5, min: 1, max: 100 }),
  /** A comment line this often keeps proxies from closing an idle stream. */
  STREAM_HEARTBEAT_MS: duration(15_000),
  /** Bytes queued for one client beyond which it is dropped as too slow (it resumes with Last-Event-ID). */
  STREAM_CLIENT_BUFFER_BYTES: int({ default: 1024 * 1024, min: 1024 }),
  /** Topics one connection may ask for. */
  STREAM_MAX_TOPICS: int({ default: 50, min: 1, max: 1000 }),
  /** Safety net for a lost last publish: the feed reads the notices table this often. */
  STREAM_CATCH_UP_MS: duration(5_000),
  /** Notices are kept this long: a client resuming from an older cursor misses what was pruned. */
  STREAM_NOTICE_RETENTION_MS: duration(24 * 3600_000),
  /** How often old notices are pruned; 0 never. */
  STREAM_PRUNE_INTERVAL_MS: duration(10 * 60_000),
  /** The reconnection delay sent to clients (SSE `retry:`). */
  STREAM_RETRY_MS: duration(2_000),
});

export type StreamConfig = ReturnType<typeof loadStreamConfig>;

export function loadStreamConfig(env?: Env) {
  return loadConfig(schema, env);
}
