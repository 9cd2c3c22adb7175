// The gateway role: the single public entry point (seed 000's service manager, 001's Prism API).
import { connectMessagingFrom } from '@optic-mart/messaging';
import { createLogger, createMetricsRegistry, runRoleIfMain, type Env } from '@optic-mart/platform';
import { buildGatewayApp } from './app.js';
import { loadGatewayConfig } from './config.js';

/** Starts the gateway; the supervisor calls this directly in single-process mode. */
export async function start(env?: Env): Promise<{ url: string; stop(): Promise<void> }> {
  const config = loadGatewayConfig(env);
  const logger = createLogger({ name: 'gateway', level: config.LOG_LEVEL });
  const metrics = createMetricsRegistry({ service: 'gateway' });
  const messaging = await connectMessagingFrom(config, logger);
  const { app } = await buildGatewayApp({ config, messaging, logger, metrics });
  const url = await app.listen({ host: config.GATEWAY_HOST, port: config.GATEWAY_PORT });
  logger.info({ url, transport: messaging.transport }, 'gateway listening');
  return {
    url,
    async stop() {
      await app.close();
      await messaging.close();
      logger.info('gateway stopped');
    },
  };
}

await runRoleIfMain(import.meta.url, 'gateway', start);
