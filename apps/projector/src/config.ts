import { baseConfigSchema, duration, int, loadConfig, port, type Env } from '@optic-mart/platform';
import { z } from 'zod';

const schema = baseConfigSchema.extend({
  DATABASE_URL: z.string({ error: 'required: the PostgreSQL URL of the event store' }).url(),
  PROJECTOR_HOST: z.string().default('127.0.0.1'),
  /** The admin API (GET /projections, POST /projections/<name>/pause|resume|rebuild) and probes. */
  PROJECTOR_PORT: port(8083),
  /** Reads of the log and rebuild writes; each projection run here has a connection of its own besides. */
  PROJECTOR_POOL_SIZE: int({ default: 5, min: 2, max: 100 }),
  /** How often a replica looks for projections to take over, and for pause and rebuild requests. */
  PROJECTOR_CONTEND_MS: duration(1000),
  /** Events per live batch. */
  PROJECTOR_BATCH_SIZE: int({ default: 1000, min: 1, max: 10_000 }),
  /** Events per rebuild batch (one transaction; the rebuild's documents stay in memory). */
  PROJECTOR_REBUILD_BATCH_SIZE: int({ default: 100_000, min: 100, max: 1_000_000 }),
  /** A rebuild is swapped in once it is this close to the head of the log. */
  PROJECTOR_SWAP_WITHIN_EVENTS: int({ default: 5_000, min: 0 }),
});

export type ProjectorConfig = ReturnType<typeof loadProjectorConfig>;

export function loadProjectorConfig(env?: Env) {
  return loadConfig(schema, env);
}
