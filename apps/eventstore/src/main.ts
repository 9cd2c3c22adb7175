// The eventstore role: the event store's REST API (seed 000) on EVENTSTORE_PORT (8081).
import { connectMessagingFrom } from '@optic-mart/messaging';
import { createLogger, createMetricsRegistry, runRoleIfMain, type Env } from '@optic-mart/platform';
import { buildEventStoreApp } from './app.js';
import { loadEventStoreConfig } from './config.js';
import { startRelay } from './relay.js';

/** Starts the role; the supervisor calls this directly in single-process mode. */
export async function start(env?: Env): Promise<{ url: string; stop(): Promise<void> }> {
  const config = loadEventStoreConfig(env);
  const logger = createLogger({ name: 'eventstore', level: config.LOG_LEVEL });
  const metrics = createMetricsRegistry({ service: 'eventstore' });
  const { app, store } = await buildEventStoreApp({ config, logger, metrics });
  // The relay: every committed event, in order, to the domain-events bus (one replica leads).
  const messaging = await connectMessagingFrom(config, logger);
  const relay = await startRelay({
    store,
    bus: messaging.events,
    connectionString: config.DATABASE_URL,
    logger,
    metrics,
  });
  const address = await app.listen({ host: config.EVENTSTORE_HOST, port: config.EVENTSTORE_PORT });
  logger.info({ url: address, transport: messaging.transport }, 'event store listening');
  return {
    url: address,
    async stop() {
      await app.close();
      await relay.stop();
      await messaging.close();
      await store.close();
      logger.info('event store stopped');
    },
  };
}

await runRoleIfMain(import.meta.url, 'eventstore', start);
