// Payments over real HTTP: gateway → queue → worker (payments) → event store → projector, with a
// real payment provider (in-process) sending signed webhooks to the gateway. The test plays the
// saga's part (RequestPayment, then the provider) and checks what the gateway makes of it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import { EventStore } from '@optic-mart/eventstore';
import { connectMessaging, type CommandDispatcher, type Messaging } from '@optic-mart/messaging';
import { createLogger, createMetricsRegistry, type HttpServer } from '@optic-mart/platform';
import { startProjector, type Projector } from '@optic-mart/runtime';
import { ordersProjection } from '@optic-mart/ordering';
import {
  PaymentProviderClient,
  paymentStreamId,
  paymentsProjection,
  signWebhookBody,
} from '@optic-mart/payments';
import { start as startProvider } from '@optic-mart/app-payment-provider';
import { createTestDatabase, freePort, waitUntil, type TestDatabase } from '@optic-mart/testkit';
import { start as startWorker } from '../../../worker/src/main.js';
import { buildGatewayApp } from '../app.js';
import type { Auth, Role } from '../auth/index.js';
import { loadGatewayConfig } from '../config.js';

const SECRET = 'whsec_gateway_test_0123456789';

interface PaymentDoc {
  orderId: string;
  status: string;
  capturedCents: number;
  refundedCents: number;
  providerPaymentId: string | null;
  history: { type: string }[];
  version: number;
}

describe('payments over HTTP', () => {
  let db: TestDatabase;
  let messaging: Messaging;
  let app: HttpServer;
  let auth: Auth;
  let dispatcher: CommandDispatcher;
  let base: string;
  let worker: { stop(): Promise<void> };
  let provider: { url: string; stop(): Promise<void> };
  let client: PaymentProviderClient;
  let store: EventStore;
  let projector: Projector;
  const tokens: Record<string, string> = {};
  const userIds: Record<string, string> = {};
  let nextUser = 2000;

  const login = async (name: string, role: Role) => {
    const userId = String(++nextUser);
    const principal = await auth.sessions.open({ userId, username: name, role });
    tokens[name] = (await auth.tokens.issue(principal)).token;
    userIds[name] = userId;
  };

  before(async () => {
    db = await createTestDatabase('payments_http');
    const gatewayPort = await freePort();
    const providerPort = await freePort();
    const env = { DATABASE_URL: db.url, MESSAGING_PREFIX: `t${randomUUID().slice(0, 8)}` };
    messaging = await connectMessaging({ databaseUrl: db.url, prefix: env.MESSAGING_PREFIX });
    ({ app, auth, dispatcher } = await buildGatewayApp({
      config: loadGatewayConfig({
        ...env,
        LOG_LEVEL: 'warn',
        GATEWAY_REPLY_TIMEOUT_MS: '30000',
        GATEWAY_POOL_SIZE: '4',
        PSP_URL: `http://127.0.0.1:${providerPort}`,
        PSP_WEBHOOK_SECRET: SECRET,
      }),
      messaging,
      logger: createLogger({ name: 'gateway-test', level: 'silent' }),
      metrics: createMetricsRegistry({ service: 'gateway-test' }),
    }));
    base = await app.listen({ host: '127.0.0.1', port: gatewayPort });
    provider = await startProvider({
      DATABASE_URL: db.url,
      LOG_LEVEL: 'silent',
      PAYMENT_PROVIDER_PORT: String(providerPort),
      PSP_WEBHOOK_URL: `${base}/api/payments/webhook`,
      PSP_WEBHOOK_SECRET: SECRET,
      PSP_WEBHOOK_RETRY_MS: '100',
      PSP_WEBHOOK_MAX_DELAY_MS: '500',
      PSP_POLL_MS: '50',
      PAYMENT_PROVIDER_POOL_SIZE: '3',
    });
    client = new PaymentProviderClient({ baseUrl: provider.url });
    worker = await startWorker(
      { ...env, LOG_LEVEL: 'warn', WORKER_HEARTBEAT_MS: '1000', WORKER_POOL_SIZE: '4' },
      ['--context', 'payments'],
    );
    store = new EventStore({ connectionString: db.url, poolSize: 3, sweepIntervalMs: 0 });
    await store.start();
    projector = await startProjector({
      store,
      connectionString: db.url,
      projections: [ordersProjection, paymentsProjection],
      kv: messaging.kv,
      logger: createLogger({ name: 'projector-test', level: 'warn' }),
      contendEveryMs: 200,
    });
    await login('seller', 'seller');
    await login('ann', 'customer');
    await login('bob', 'customer');
  });

  after(async () => {
    await provider.stop();
    await projector.stop();
    await store.close();
    await worker.stop();
    await app.close();
    await messaging.close();
    await db.drop();
  });

  const call = (
    method: string,
    path: string,
    as?: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) =>
    fetch(base + path, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(as ? { authorization: `Bearer ${tokens[as]}` } : {}),
        ...headers,
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });

  async function json<T>(res: Response, status: number): Promise<T> {
    const text = await res.text();
    assert.equal(res.status, status, text);
    return JSON.parse(text) as T;
  }

  /** An order of ann's (placed directly in the store: ordering is not what this tests). */
  async function annOrder(amountCents: number): Promise<string> {
    const orderId = String(randomInt(1, 2 ** 48 - 1));
    const total = { amountCents, currency: 'USD' };
    await store.append(
      `order-${orderId}`,
      [
        {
          type: 'OrderPlaced',
          data: {
            orderId,
            userId: userIds.ann,
            lines: [],
            total,
            shipDate: null,
            source: 'checkout',
            shippingAddress: null,
          },
        },
      ],
      { expectedVersion: 'no_stream' },
    );
    const outcome = await dispatcher.dispatch({
      context: 'payments',
      type: 'RequestPayment',
      aggregateId: paymentStreamId(orderId),
      data: { amount: total, userId: userIds.ann },
      metadata: { correlationId: randomUUID() },
    });
    assert.equal(outcome.kind === 'completed' && outcome.status.status, 'succeeded', JSON.stringify(outcome));
    return orderId;
  }

  const paymentOf = async (orderId: string, as = 'ann'): Promise<PaymentDoc | null> => {
    const res = await call('GET', `/api/orders/${orderId}/payment`, as);
    // 404: no payment yet; 503: the read model is still being built.
    if (res.status === 404 || res.status === 503) {
      await res.body?.cancel();
      return null;
    }
    return json<PaymentDoc>(res, 200);
  };

  it('records the provider’s webhooks: authorized and captured, shown to the owner and staff only', async () => {
    const orderId = await annOrder(2500);
    const payment = await client.authorize(
      { amountCents: 2500, currency: 'USD', reference: orderId, capture: true },
      `${orderId}:authorize`,
    );
    assert.equal(payment.status, 'captured');
    await waitUntil(
      'the webhooks recorded',
      async () => (await paymentOf(orderId))?.status === 'captured',
      15_000,
    );
    const doc = await paymentOf(orderId);
    assert.equal(doc?.providerPaymentId, payment.id);
    assert.equal(doc?.capturedCents, 2500);
    assert.deepEqual(
      doc?.history.map((h) => h.type),
      ['PaymentRequested', 'PaymentAuthorized', 'PaymentCaptured'],
    );
    assert.equal((await paymentOf(orderId, 'seller'))?.status, 'captured');
    assert.equal(await paymentOf(orderId, 'bob'), null, 'another customer: 404');
    assert.equal((await call('GET', `/api/orders/${orderId}/payment`)).status, 401);
  });

  it('refuses a bad signature with 401 problem+json, before anything else', async () => {
    const orderId = await annOrder(100);
    const body = JSON.stringify({
      id: `evt_${randomUUID()}`,
      type: 'payment.authorized',
      createdAt: new Date().toISOString(),
      data: {
        paymentId: 'pay_forged',
        reference: orderId,
        currency: 'USD',
        amount: 100,
        status: 'authorized',
      },
    });
    const now = Math.floor(Date.now() / 1000);
    const cases: [string, string, string][] = [
      ['wrong secret', body, signWebhookBody(body, 'not-the-secret-0123456789', now)],
      ['tampered body', body.replace('"amount":100', '"amount":1'), signWebhookBody(body, SECRET, now)],
      ['stale', body, signWebhookBody(body, SECRET, now - 3600)],
      ['missing', body, ''],
    ];
    for (const [what, sent, signature] of cases) {
      const res = await call(
        'POST',
        '/api/payments/webhook',
        undefined,
        sent,
        signature ? { 'x-optic-signature': signature } : {},
      );
      assert.equal(res.status, 401, what);
      assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
      assert.equal(((await res.json()) as { code: string }).code, 'webhook_signature_invalid', what);
    }
    // A signed but malformed body is a 400 naming the field.
    const bad = JSON.stringify({
      id: 'evt_x',
      type: 'payment.authorized',
      data: { paymentId: 'p', reference: '../x', amount: 1 },
    });
    const res = await call('POST', '/api/payments/webhook', undefined, bad, {
      'x-optic-signature': signWebhookBody(bad, SECRET, now),
    });
    assert.equal(
      (await json<{ errors: { field: string }[] }>(res, 400)).errors[0]?.field,
      'body.data.reference',
    );
    const doc = await paymentOf(orderId);
    assert.ok(doc === null || doc.status === 'requested', 'nothing recorded');
  });

  it('applies a replayed webhook once (idempotent on the provider’s event id)', async () => {
    const orderId = await annOrder(300);
    const body = JSON.stringify({
      id: `evt_${randomUUID()}`,
      type: 'payment.authorized',
      createdAt: new Date().toISOString(),
      data: {
        paymentId: 'pay_replayed',
        reference: orderId,
        currency: 'USD',
        amount: 300,
        status: 'authorized',
      },
    });
    const send = () =>
      call('POST', '/api/payments/webhook', undefined, body, {
        'x-optic-signature': signWebhookBody(body, SECRET, Math.floor(Date.now() / 1000)),
      });
    for (let i = 0; i < 3; i++)
      assert.equal((await json<{ received: boolean }>(await send(), 200)).received, true);
    await waitUntil('authorized', async () => (await paymentOf(orderId))?.status === 'authorized', 10_000);
    const events = await store.readStream(paymentStreamId(orderId));
    assert.deepEqual(
      events.map((e) => e.type),
      ['PaymentRequested', 'PaymentAuthorized'],
    );
    // A webhook for an order with no payment is not acknowledged: the provider tries again later.
    const unknown = body
      .replace(orderId, '999999999')
      .replace(/"id":"evt_[^"]+"/, `"id":"evt_${randomUUID()}"`);
    const res = await call('POST', '/api/payments/webhook', undefined, unknown, {
      'x-optic-signature': signWebhookBody(unknown, SECRET, Math.floor(Date.now() / 1000)),
    });
    assert.equal(res.status, 404);
    await res.body?.cancel();
  });

  it('refunds on request through the provider, once per Idempotency-Key (sellers and admins)', async () => {
    const orderId = await annOrder(1000);
    const payment = await client.authorize(
      { amountCents: 1000, currency: 'USD', reference: orderId, capture: true },
      `${orderId}:authorize`,
    );
    await waitUntil('captured', async () => (await paymentOf(orderId))?.status === 'captured', 15_000);
    const forbidden = await call('POST', `/api/payments/${orderId}/refund`, 'ann', { amountCents: 100 });
    assert.equal(forbidden.status, 403);
    await forbidden.body?.cancel();

    const key = randomUUID();
    const first = await json<{ refundId: string; status: string }>(
      await call(
        'POST',
        `/api/payments/${orderId}/refund`,
        'seller',
        { amountCents: 400 },
        { 'idempotency-key': key },
      ),
      201,
    );
    assert.equal(first.status, 'partially_refunded');
    const again = await json<{ refundId: string }>(
      await call(
        'POST',
        `/api/payments/${orderId}/refund`,
        'seller',
        { amountCents: 400 },
        { 'idempotency-key': key },
      ),
      201,
    );
    assert.equal(again.refundId, first.refundId);

    const tooMuch = await call('POST', `/api/payments/${orderId}/refund`, 'seller', { amountCents: 601 });
    assert.equal((await json<{ code: string }>(tooMuch, 422)).code, 'refund_exceeds_captured');
    const bad = await call('POST', `/api/payments/${orderId}/refund`, 'seller', { amountCents: 'all' });
    assert.equal(
      (await json<{ errors: { field: string }[] }>(bad, 400)).errors[0]?.field,
      'body.amountCents',
    );

    await waitUntil('refund shown', async () => (await paymentOf(orderId))?.refundedCents === 400, 15_000);
    // The provider's refund webhook arrives too: still one refund, in the events and at the provider.
    await new Promise((r) => setTimeout(r, 500));
    const events = await store.readStream(paymentStreamId(orderId));
    assert.equal(events.filter((e) => e.type === 'PaymentRefunded').length, 1);
    const atProvider = await client.get(payment.id);
    assert.deepEqual(
      atProvider.history.map((h) => h.kind),
      ['authorization', 'capture', 'refund'],
    );
  });
});
