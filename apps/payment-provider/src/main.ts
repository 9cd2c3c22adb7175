// The payment-provider role: a stand-in for an external payment service provider (DESIGN.md §3),
// with its own ledger (schema `psp`) and HTTP API on PAYMENT_PROVIDER_PORT (8090).
import pg from 'pg';
import {
  createHttpServer,
  createLogger,
  createMetricsRegistry,
  databaseReadiness,
  runRoleIfMain,
  type Env,
  type HttpServer,
} from '@optic-mart/platform';
import { registerProviderRoutes } from './app.js';
import { loadPaymentProviderConfig, type PaymentProviderConfig } from './config.js';
import { Ledger, migrate } from './ledger.js';
import { startBackground } from './webhooks.js';

/** Starts the role; the supervisor calls this directly in single-process mode, tests too (port 0). */
export async function start(
  env?: Env,
  _args: readonly string[] = process.argv.slice(2),
  options: { random?: () => number } = {},
): Promise<{ url: string; app: HttpServer; config: PaymentProviderConfig; stop(): Promise<void> }> {
  const config = loadPaymentProviderConfig(env);
  const logger = createLogger({ name: 'payment-provider', level: config.LOG_LEVEL });
  const metrics = createMetricsRegistry({ service: 'payment-provider' });
  const pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: config.PAYMENT_PROVIDER_POOL_SIZE });
  await migrate(pool);
  const ledger = new Ledger(pool);
  const app = createHttpServer({
    logger,
    metrics,
    readinessChecks: [databaseReadiness(pool)],
  });
  registerProviderRoutes(app, ledger, {
    latencyMs: config.PSP_LATENCY_MS,
    declineRate: config.PSP_DECLINE_RATE,
    errorRate: config.PSP_ERROR_RATE,
    asyncRate: config.PSP_ASYNC_RATE,
    asyncDelayMs: config.PSP_ASYNC_DELAY_MS,
    ...(options.random ? { random: options.random } : {}),
  });
  if (config.PSP_WEBHOOK_SECRET === undefined) {
    logger.warn('PSP_WEBHOOK_SECRET is not set: webhooks are kept but not sent');
  }
  const background = startBackground({
    ledger,
    logger,
    webhookUrl: config.PSP_WEBHOOK_URL,
    webhookSecret: config.PSP_WEBHOOK_SECRET,
    pollMs: config.PSP_POLL_MS,
    retryMs: config.PSP_WEBHOOK_RETRY_MS,
    maxDelayMs: config.PSP_WEBHOOK_MAX_DELAY_MS,
    timeoutMs: config.PSP_WEBHOOK_TIMEOUT_MS,
    declineRate: config.PSP_DECLINE_RATE,
    ...(options.random ? { random: options.random } : {}),
  });
  const url = await app.listen({ host: config.PAYMENT_PROVIDER_HOST, port: config.PAYMENT_PROVIDER_PORT });
  logger.info({ url, webhookUrl: config.PSP_WEBHOOK_URL }, 'payment provider listening');
  return {
    url,
    app,
    config,
    async stop() {
      await app.close();
      await background.stop();
      await pool.end();
      logger.info('payment provider stopped');
    },
  };
}

await runRoleIfMain(import.meta.url, 'payment-provider', start);
