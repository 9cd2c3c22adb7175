// The projector role: runs the read-model projections of every context (shared between
// replicas), with an admin API on PROJECTOR_PORT (8083).
import { EventStore } from '@optic-mart/eventstore';
import { connectMessagingFrom } from '@optic-mart/messaging';
import {
  createHttpServer,
  createLogger,
  createMetricsRegistry,
  databaseReadiness,
  runRoleIfMain,
  type Env,
} from '@optic-mart/platform';
import { startProjector, type AnyProjection } from '@optic-mart/runtime';
import { registerProjectorRoutes } from './app.js';
import { loadProjectorConfig } from './config.js';
import { projections as registered } from './projections.js';

export interface ProjectorRoleOptions {
  /** Instead of every context's projections (tests). */
  readonly projections?: readonly AnyProjection[];
}

/** Starts the role; the supervisor calls this directly in single-process mode. */
export async function start(
  env?: Env,
  _args: readonly string[] = process.argv.slice(2),
  options: ProjectorRoleOptions = {},
): Promise<{ url: string; stop(): Promise<void> }> {
  const config = loadProjectorConfig(env);
  const logger = createLogger({ name: 'projector', level: config.LOG_LEVEL });
  const metrics = createMetricsRegistry({ service: 'projector' });
  const store = new EventStore({
    connectionString: config.DATABASE_URL,
    poolSize: config.PROJECTOR_POOL_SIZE,
    logger,
    sweepIntervalMs: 0,
  });
  await store.start();
  const messaging = await connectMessagingFrom(config, logger);
  const projector = await startProjector({
    store,
    connectionString: config.DATABASE_URL,
    projections: options.projections ?? registered,
    kv: messaging.kv,
    logger,
    metrics,
    contendEveryMs: config.PROJECTOR_CONTEND_MS,
    batchSize: config.PROJECTOR_BATCH_SIZE,
    rebuildBatchSize: config.PROJECTOR_REBUILD_BATCH_SIZE,
    swapWithinEvents: config.PROJECTOR_SWAP_WITHIN_EVENTS,
  });
  const app = createHttpServer({
    logger,
    metrics,
    readinessChecks: [databaseReadiness(store.pool)],
  });
  registerProjectorRoutes(app, projector);
  const url = await app.listen({ host: config.PROJECTOR_HOST, port: config.PROJECTOR_PORT });
  logger.info({ url, transport: messaging.transport }, 'projector listening');
  return {
    url,
    async stop() {
      await app.close();
      await projector.stop();
      await messaging.close();
      await store.close();
      logger.info('projector stopped');
    },
  };
}

await runRoleIfMain(import.meta.url, 'projector', start);
