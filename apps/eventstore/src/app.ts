import { EventStore } from '@optic-mart/eventstore';
import {
  createHttpServer,
  type HttpServer,
  type Logger,
  type MetricsRegistry,
  type Shutdown,
} from '@optic-mart/platform';
import type { EventStoreConfig } from './config.js';
import { registerRoutes } from './routes.js';

/** The event store service, built but not listening: tests drive it with inject() or listen on port 0. */
export async function buildEventStoreApp(options: {
  config: EventStoreConfig;
  logger: Logger;
  metrics: MetricsRegistry;
  shutdown?: Shutdown;
}): Promise<{ app: HttpServer; store: EventStore }> {
  const { config, logger, metrics } = options;
  const store = new EventStore({
    connectionString: config.DATABASE_URL,
    poolSize: config.EVENTSTORE_POOL_SIZE,
    logger,
    migrate: config.EVENTSTORE_MIGRATE,
  });
  await store.start();
  const app = createHttpServer({
    logger,
    metrics,
    bodyLimit: config.EVENTSTORE_BODY_LIMIT,
    ...(options.shutdown ? { shutdown: options.shutdown } : {}),
    readinessChecks: [
      {
        name: 'database',
        check: async () => {
          await store.pool.query('SELECT 1');
        },
      },
    ],
  });
  registerRoutes(app, store, metrics);
  return { app, store };
}
