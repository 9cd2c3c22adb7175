import { baseConfigSchema, bool, int, loadConfig, port, type Env } from '@optic-mart/platform';
import { z } from 'zod';

const schema = baseConfigSchema.extend({
  DATABASE_URL: z.string({ error: 'required: the PostgreSQL URL of the event store' }).url(),
  EVENTSTORE_HOST: z.string().default('127.0.0.1'),
  EVENTSTORE_PORT: port(8081),
  EVENTSTORE_POOL_SIZE: int({ default: 20, min: 1, max: 500 }),
  /** Largest request body: an append of many events. */
  EVENTSTORE_BODY_LIMIT: int({ default: 16 * 1024 * 1024, min: 1024 }),
  /** Apply the schema at start-up. Off when an operator migrates separately. */
  EVENTSTORE_MIGRATE: bool(true),
});

export type EventStoreConfig = ReturnType<typeof loadEventStoreConfig>;

export function loadEventStoreConfig(env?: Env) {
  return loadConfig(schema, env);
}
