import { baseConfigSchema, duration, int, loadConfig, port, url, type Env } from '@optic-mart/platform';
import { notifierConfigShape } from '@optic-mart/notifications';
import { z } from 'zod';

const schema = baseConfigSchema.extend({
  DATABASE_URL: z.string({ error: 'required: the PostgreSQL URL of the event store' }).url(),
  SAGA_HOST: z.string().default('127.0.0.1'),
  /** The admin API (GET /sagas) and probes. */
  SAGA_PORT: port(8084),
  SAGA_POOL_SIZE: int({ default: 10, min: 2, max: 200 }),
  /** Sagas this process runs at once; each holds a database connection for its advisory lock. */
  SAGA_CONCURRENCY: int({ default: 32, min: 1, max: 1000 }),
  /** Each attempt of a step is abandoned after this long. */
  SAGA_STEP_TIMEOUT_MS: duration(10_000),
  /** Attempts per step before the saga compensates. */
  SAGA_MAX_ATTEMPTS: int({ default: 5, min: 1, max: 100 }),
  /** Attempts per compensation step before the saga stops as failed (for a person to look at). */
  SAGA_MAX_COMPENSATION_ATTEMPTS: int({ default: 20, min: 1, max: 1000 }),
  SAGA_RETRY_BASE_MS: duration(200),
  SAGA_RETRY_MAX_MS: duration(10_000),
  SAGA_PENDING_POLL_MS: duration(500),
  /** How often unfinished sagas (of a dead replica, say) are looked for and resumed. */
  SAGA_SWEEP_MS: duration(2_000),
  /** The payment service provider's API (the same variable the gateway reads). */
  PSP_URL: url({ protocols: ['http:', 'https:'] }).default('http://127.0.0.1:8090'),
  /** Commands: how long the saga waits for a worker's reply before it polls the status. */
  SAGA_REPLY_TIMEOUT_MS: duration(2000),
  SAGA_MAX_QUEUE_DEPTH: int({ default: 10_000, min: 1 }),
  ...notifierConfigShape,
});

export type SagaConfig = ReturnType<typeof loadSagaConfig>;

export function loadSagaConfig(env?: Env) {
  return loadConfig(schema, env);
}
