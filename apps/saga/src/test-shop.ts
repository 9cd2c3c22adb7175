// Test support for the saga's integration tests: a whole shop in this process, on PostgreSQL alone
// — a test database, messaging, the gateway over real HTTP, the payment provider (its own API and
// ledger, webhooks back to the gateway), a worker of every context and the projector. The saga
// role is each test's own to run: in-process, or as a child process to SIGKILL.
import { randomUUID } from 'node:crypto';
import { EventStore } from '@optic-mart/eventstore';
import { connectMessaging, type Messaging } from '@optic-mart/messaging';
import { ensureNotificationsSchema } from '@optic-mart/notifications';
import { createLogger, createMetricsRegistry } from '@optic-mart/platform';
import { startProjector, type Projector } from '@optic-mart/runtime';
import { start as startProvider } from '@optic-mart/app-payment-provider';
import { createTestDatabase, freePort, type TestDatabase } from '@optic-mart/testkit';
import { start as startWorker } from '../../worker/src/main.js';
import { projections } from '../../projector/src/projections.js';
import { buildGatewayApp } from '../../gateway/src/app.js';
import type { Auth } from '../../gateway/src/auth/index.js';
import { loadGatewayConfig } from '../../gateway/src/config.js';

/** The webhook secret the gateway and the provider share in these tests. */
export const TEST_WEBHOOK_SECRET = 'saga-test-secret-0123456789';

type Settings = Readonly<Record<string, string>>;

export interface TestShopOptions {
  /** Names the test database. */
  readonly name: string;
  /** Settings added to the gateway's (or replacing them). */
  readonly gateway?: Settings;
  /** Settings added to the payment provider's: latency, fault injection, polling. */
  readonly provider?: Settings;
  /** Settings added to the worker's. */
  readonly worker?: Settings;
}

export interface TestShop {
  readonly db: TestDatabase;
  readonly messaging: Messaging;
  readonly auth: Auth;
  /** The gateway's base URL. */
  readonly base: string;
  readonly providerPort: number;
  /** DATABASE_URL and MESSAGING_PREFIX, for the roles a test starts itself (the saga). */
  readonly env: { readonly DATABASE_URL: string; readonly MESSAGING_PREFIX: string };
  /** The projector's event store; tests read the log through it too. */
  readonly store: EventStore;
  /** Restarts the payment provider on the same port with these settings added (e.g. a decline rate). */
  restartProvider(settings: Settings): Promise<void>;
  /** A request to the gateway, as the given caller (none: anonymous), with a JSON body if any. */
  call(method: string, path: string, as?: { readonly headers: object }, body?: unknown): Promise<Response>;
  /** Stops what it started, in reverse, and drops the database. */
  stop(): Promise<void>;
}

export async function startTestShop(options: TestShopOptions): Promise<TestShop> {
  const db = await createTestDatabase(options.name);
  const providerPort = await freePort();
  const env = { DATABASE_URL: db.url, MESSAGING_PREFIX: `t${randomUUID().slice(0, 8)}` };
  const stops: (() => Promise<unknown>)[] = [() => db.drop()];
  const stop = async (): Promise<void> => {
    for (const s of stops.reverse()) await s();
  };
  try {
    const messaging = await connectMessaging({ databaseUrl: db.url, prefix: env.MESSAGING_PREFIX });
    stops.push(() => messaging.close());
    const { app, auth } = await buildGatewayApp({
      config: loadGatewayConfig({
        ...env,
        LOG_LEVEL: 'warn',
        GATEWAY_REPLY_TIMEOUT_MS: '30000',
        PSP_URL: `http://127.0.0.1:${providerPort}`,
        PSP_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
        ...options.gateway,
      }),
      messaging,
      logger: createLogger({ name: 'gateway-test', level: 'silent' }),
      metrics: createMetricsRegistry({ service: 'gateway-test' }),
    });
    stops.push(() => app.close());
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const startPsp = (settings: Settings | undefined) =>
      startProvider({
        DATABASE_URL: db.url,
        LOG_LEVEL: 'silent',
        PAYMENT_PROVIDER_PORT: String(providerPort),
        PSP_WEBHOOK_URL: `${base}/api/payments/webhook`,
        PSP_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
        PSP_WEBHOOK_RETRY_MS: '100',
        PSP_WEBHOOK_MAX_DELAY_MS: '500',
        ...settings,
      });
    let provider = await startPsp(options.provider);
    stops.push(() => provider.stop());
    const worker = await startWorker({ ...env, LOG_LEVEL: 'warn', ...options.worker }, []);
    stops.push(() => worker.stop());
    const store = new EventStore({ connectionString: db.url, poolSize: 3, sweepIntervalMs: 0 });
    stops.push(() => store.close());
    await store.start();
    // The notifier's horizon is the log's head when its tables are first made: made now, before
    // any order, rather than by whichever saga process starts first.
    await ensureNotificationsSchema(store.pool);
    const projector: Projector = await startProjector({
      store,
      connectionString: db.url,
      projections,
      kv: messaging.kv,
      logger: createLogger({ name: 'projector-test', level: 'warn' }),
      contendEveryMs: 200,
    });
    stops.push(() => projector.stop());
    return {
      db,
      messaging,
      auth,
      base,
      providerPort,
      env,
      store,
      async restartProvider(settings) {
        await provider.stop();
        provider = await startPsp({ ...options.provider, ...settings });
      },
      call: (method, path, as, body) =>
        fetch(base + path, {
          method,
          headers: {
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            ...(as ? (as.headers as Record<string, string>) : {}),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        }),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
