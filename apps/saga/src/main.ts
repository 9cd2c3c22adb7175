// The saga role: the fulfillment saga's orchestrator (orchestrator.ts) and the notifier of the
// notifications context, with an admin API on SAGA_PORT (8084): GET /sagas, /healthz, /readyz,
// /metrics. Replicas share the work: one saga runs in one replica at a time (advisory locks).
import { EventStore } from '@optic-mart/eventstore';
import { CommandDispatcher, connectMessagingFrom } from '@optic-mart/messaging';
import { notifierSettings, startNotifier, type Notifier } from '@optic-mart/notifications';
import { PaymentProviderClient } from '@optic-mart/payments';
import {
  createHttpServer,
  createLogger,
  createMetricsRegistry,
  databaseReadiness,
  runRoleIfMain,
  type Env,
} from '@optic-mart/platform';
import { dispatcherCommandSender } from './command-sender.js';
import { loadSagaConfig } from './config.js';
import { providerClientPort } from './provider-port.js';
import { startOrchestrator } from './orchestrator.js';
import type { PaymentPort } from './ports.js';

export interface SagaRoleOptions {
  /** Instead of the provider's HTTP API (tests). */
  readonly payments?: PaymentPort;
  /** Leave the notifier off (tests of the saga alone). */
  readonly notifier?: boolean;
}

/** Starts the role; the supervisor calls this directly in single-process mode. */
export async function start(
  env?: Env,
  _args: readonly string[] = process.argv.slice(2),
  options: SagaRoleOptions = {},
): Promise<{ url: string; stop(): Promise<void> }> {
  const config = loadSagaConfig(env);
  const logger = createLogger({ name: 'saga', level: config.LOG_LEVEL });
  const metrics = createMetricsRegistry({ service: 'saga' });
  const store = new EventStore({
    connectionString: config.DATABASE_URL,
    poolSize: config.SAGA_POOL_SIZE,
    logger,
    sweepIntervalMs: 0,
  });
  await store.start();
  const messaging = await connectMessagingFrom(config, logger);
  const dispatcher = new CommandDispatcher({
    commands: messaging.commands,
    kv: messaging.kv,
    logger,
    replyTimeoutMs: config.SAGA_REPLY_TIMEOUT_MS,
    maxQueueDepth: config.SAGA_MAX_QUEUE_DEPTH,
    retryAfterSeconds: 1,
  });
  await dispatcher.start();
  const orchestrator = await startOrchestrator({
    store,
    logger,
    connectionString: config.DATABASE_URL,
    commands: dispatcherCommandSender(dispatcher, logger),
    payments:
      options.payments ??
      providerClientPort(
        new PaymentProviderClient({
          baseUrl: config.PSP_URL,
          timeoutMs: config.SAGA_STEP_TIMEOUT_MS,
        }),
      ),
    policy: {
      stepTimeoutMs: config.SAGA_STEP_TIMEOUT_MS,
      maxAttempts: config.SAGA_MAX_ATTEMPTS,
      maxCompensationAttempts: config.SAGA_MAX_COMPENSATION_ATTEMPTS,
      retryBaseMs: config.SAGA_RETRY_BASE_MS,
      retryMaxMs: config.SAGA_RETRY_MAX_MS,
      pendingPollMs: config.SAGA_PENDING_POLL_MS,
    },
    concurrency: config.SAGA_CONCURRENCY,
    sweepEveryMs: config.SAGA_SWEEP_MS,
    maxAttempts: config.SAGA_MAX_ATTEMPTS,
    maxCompensationAttempts: config.SAGA_MAX_COMPENSATION_ATTEMPTS,
  });
  const notifier: Notifier | null =
    options.notifier === false
      ? null
      : await startNotifier({
          store,
          logger,
          connectionString: config.DATABASE_URL,
          ...notifierSettings(config),
        });
  const app = createHttpServer({
    logger,
    metrics,
    readinessChecks: [databaseReadiness(store.pool)],
  });
  app.get('/sagas', async () => ({ running: orchestrator.running(), byStatus: await orchestrator.counts() }));
  const url = await app.listen({ host: config.SAGA_HOST, port: config.SAGA_PORT });
  logger.info({ url, transport: messaging.transport }, 'saga listening');
  return {
    url,
    async stop() {
      await app.close();
      await notifier?.stop();
      await orchestrator.stop();
      await dispatcher.stop();
      await messaging.close();
      await store.close();
      logger.info('saga stopped');
    },
  };
}

await runRoleIfMain(import.meta.url, 'saga', start);
