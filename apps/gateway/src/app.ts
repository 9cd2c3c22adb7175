import { EventStore } from '@optic-mart/eventstore';
import { CommandDispatcher, type Messaging } from '@optic-mart/messaging';
import { ReadModels } from '@optic-mart/runtime';
import { petsProjection, productsProjection, reviewsProjection } from '@optic-mart/catalog';
import { usersProjection } from '@optic-mart/identity';
import {
  createHttpServer,
  type HttpServer,
  type Logger,
  type MetricsRegistry,
  type Shutdown,
} from '@optic-mart/platform';
import { registerAuth, type Auth } from './auth/index.js';
import { registerCommandRoutes } from './command-routes.js';
import { fulfillmentProjections, registerFulfillment } from './fulfillment/index.js';
import type { GatewayConfig } from './config.js';
import { registerIdempotency } from './idempotency.js';
import { registerIdentity, type Identity } from './identity/index.js';
import { registerPetQueries } from './catalog/pet-queries.js';
import { registerPetRoutes } from './catalog/pet-routes.js';
import { registerSupplyRoutes } from './catalog/supplies.js';
import { orderingProjections, registerOrdering } from './ordering/index.js';
import { registerCart } from './cart/index.js';
import { registerShipping, shippingProjections } from './shipping/index.js';
import { notificationsProjections, registerNotifications } from './notifications/index.js';
import { paymentsProjections, registerPayments } from './payments/index.js';
import { registerStreamProxy } from './stream-proxy.js';
import { registerApiDocs } from './docs/api-docs.js';
import { registerPetstoreApi } from './petstore/index.js';
import { PhotoStore } from './photos/photo-store.js';
import { registerPhotoRoutes } from './photos/photo-routes.js';

/** The gateway, built but not listening: tests listen on port 0. */
export async function buildGatewayApp(options: {
  config: GatewayConfig;
  messaging: Messaging;
  logger: Logger;
  metrics: MetricsRegistry;
  shutdown?: Shutdown;
}): Promise<{
  app: HttpServer;
  store: EventStore;
  dispatcher: CommandDispatcher;
  readModels: ReadModels;
  auth: Auth;
  identity: Identity;
}> {
  const { config, messaging, logger, metrics } = options;
  const store = new EventStore({
    connectionString: config.DATABASE_URL,
    poolSize: config.GATEWAY_POOL_SIZE,
    logger,
    // Workers and the event store service keep the schema; the gateway only reads.
    sweepIntervalMs: 0,
  });
  await store.start();
  const dispatcher = new CommandDispatcher({
    commands: messaging.commands,
    kv: messaging.kv,
    logger,
    replyTimeoutMs: config.GATEWAY_REPLY_TIMEOUT_MS,
    maxQueueDepth: config.GATEWAY_MAX_QUEUE_DEPTH,
    retryAfterSeconds: config.GATEWAY_RETRY_AFTER_SECONDS,
  });
  await dispatcher.start();
  const app = createHttpServer({
    logger,
    metrics,
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
  // Before any route: the native API's OpenAPI document is collected as routes are declared.
  await registerApiDocs(app, { version: '0.1.0' });
  // Authentication first: every later hook and route sees request.principal.
  const auth = await registerAuth(app, {
    pool: store.pool,
    kv: messaging.kv,
    jwtSecret: config.JWT_SECRET,
    tokenTtlSeconds: config.JWT_TTL_SECONDS,
  });
  registerIdempotency(app, messaging.kv, { ttlMs: config.GATEWAY_IDEMPOTENCY_TTL_MS });
  registerCommandRoutes(app, dispatcher);
  registerStreamProxy(app, {
    streamUrl: config.STREAM_URL,
    principalOf: ({ principal }) => (principal ? `${principal.userId};role=${principal.role}` : undefined),
  });
  registerPetRoutes(app, dispatcher);
  // The read models live in the event store's database (schema `read`), kept by the projector.
  const readModels = new ReadModels({
    pool: store.pool,
    kv: messaging.kv,
    projections: [
      petsProjection,
      productsProjection,
      reviewsProjection,
      usersProjection,
      ...orderingProjections,
      ...shippingProjections,
      ...notificationsProjections,
      ...fulfillmentProjections,
      ...paymentsProjections,
    ],
    logger,
  });
  registerPetQueries(app, readModels, { readWaitMs: config.GATEWAY_READ_WAIT_MS });
  registerSupplyRoutes(app, { dispatcher, readModels, store, readWaitMs: config.GATEWAY_READ_WAIT_MS });
  registerOrdering(app, { dispatcher, readModels, readWaitMs: config.GATEWAY_READ_WAIT_MS });
  registerCart(app, { dispatcher, store });
  registerShipping(app, { dispatcher, readModels, readWaitMs: config.GATEWAY_READ_WAIT_MS });
  registerNotifications(app, { readModels, pool: store.pool, readWaitMs: config.GATEWAY_READ_WAIT_MS });
  registerFulfillment(app, { readModels, readWaitMs: config.GATEWAY_READ_WAIT_MS });
  registerPayments(app, {
    dispatcher,
    readModels,
    readWaitMs: config.GATEWAY_READ_WAIT_MS,
    pspUrl: config.PSP_URL,
    pspTimeoutMs: config.PSP_TIMEOUT_MS,
    webhookSecret: config.PSP_WEBHOOK_SECRET,
    webhookToleranceSeconds: config.PSP_WEBHOOK_TOLERANCE_SECONDS,
  });
  const identity = registerIdentity(app, {
    store,
    dispatcher,
    auth,
    kv: messaging.kv,
    readModels,
    logger,
    config,
  });
  // Pet photos (stored in the database, schema `media`) and the Swagger Petstore API at /api/v3.
  const photos = new PhotoStore(store.pool, { maxBytes: config.PHOTO_MAX_BYTES });
  await photos.migrate();
  registerPhotoRoutes(app, { dispatcher, photos });
  await registerPetstoreApi(app, {
    dispatcher,
    readModels,
    store,
    pool: store.pool,
    auth,
    identity: identity.service,
    photos,
    readWaitMs: config.GATEWAY_READ_WAIT_MS,
  });
  app.addHook('onClose', async () => {
    await readModels.close();
    await dispatcher.stop();
    await store.close();
  });
  return { app, store, dispatcher, readModels, auth, identity };
}
