// Load: SAGA_LOAD_CHECKOUTS (default 500) concurrent checkouts over real HTTP while the payment
// provider fails 20% of calls (PSP_ERROR_RATE=0.2, a 500 before doing anything) and is slow on
// the others (PSP_LATENCY_MS=0-200): every saga ends completed or compensated, consistently with
// the provider's ledger, the order and the stock. Everything in-process on PostgreSQL alone.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, waitUntil } from '@optic-mart/testkit';
import { loginAs, type TestLogin } from '../../gateway/src/auth/test-support.js';
import type { FulfillmentView } from './domain/fulfillments-projection.js';
import { start as startSaga } from './main.js';
import { startTestShop, type TestShop } from './test-shop.js';

const CHECKOUTS = Number(process.env.SAGA_LOAD_CHECKOUTS ?? 500);
const address = {
  name: 'Ann Smith',
  line1: '1 Main St',
  city: 'Springfield',
  postalCode: '12345',
  country: 'US',
};

describe('many checkouts with a flaky provider', () => {
  let shop: TestShop;
  let saga: { stop(): Promise<void> };
  let seller: TestLogin;

  before(async () => {
    shop = await startTestShop({
      name: 'saga_load',
      // Five roles share this process and a server with 100 connections: smaller pools than a role
      // of its own gets.
      gateway: { GATEWAY_MAX_QUEUE_DEPTH: '100000', GATEWAY_POOL_SIZE: '8' },
      provider: {
        PAYMENT_PROVIDER_POOL_SIZE: '5',
        PSP_POLL_MS: '50',
        PSP_ERROR_RATE: '0.2',
        PSP_LATENCY_MS: '0-200',
      },
      worker: { WORKER_HEARTBEAT_MS: '1000', WORKER_POOL_SIZE: '8' },
    });
    saga = await startSaga(
      {
        ...shop.env,
        LOG_LEVEL: 'warn',
        SAGA_PORT: String(await freePort()),
        PSP_URL: `http://127.0.0.1:${shop.providerPort}`,
        SAGA_STEP_TIMEOUT_MS: '10000',
        SAGA_MAX_ATTEMPTS: '6',
        SAGA_RETRY_BASE_MS: '50',
        SAGA_RETRY_MAX_MS: '500',
        SAGA_PENDING_POLL_MS: '100',
        SAGA_SWEEP_MS: '500',
        SAGA_CONCURRENCY: '12',
        SAGA_POOL_SIZE: '4',
      },
      [],
    );
    seller = await loginAs(shop.auth, 'seller');
  });

  after(async () => {
    await saga?.stop();
    await shop?.stop();
  });

  const call = (method: string, path: string, as?: TestLogin, body?: unknown) =>
    shop.call(method, path, as, body);
  async function expectStatus<T>(res: Response, status: number): Promise<T> {
    const text = await res.text();
    assert.equal(res.status, status, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  const finished = (f: FulfillmentView) => f.status !== 'running' && f.status !== 'compensating';

  const ledger = async (orderId: string) => {
    // The provider's fault injection hits this read too: ask again.
    let res = await fetch(`http://127.0.0.1:${shop.providerPort}/v1/ledger?reference=${orderId}`);
    for (let i = 0; res.status >= 500 && i < 20; i++) {
      await res.arrayBuffer();
      res = await fetch(`http://127.0.0.1:${shop.providerPort}/v1/ledger?reference=${orderId}`);
    }
    assert.equal(res.status, 200);
    return (await res.json()) as { entries: { kind: string; amount: number }[] };
  };
  const sum = (l: { entries: { kind: string; amount: number }[] }, kind: string) =>
    l.entries.filter((e) => e.kind === kind).reduce((s, e) => s + e.amount, 0);
  const stock = async (sku: string) =>
    expectStatus<{ available: number; reserved: number }>(await call('GET', `/api/stock/${sku}`), 200);
  const order = async (orderId: string, as: TestLogin) =>
    expectStatus<{ status: string }>(await call('GET', `/api/orders/${orderId}`, as), 200);

  it(`${CHECKOUTS} concurrent checkouts, the provider failing 20% and slow: all end consistent`, async () => {
    // A product per ten customers, so that checkouts contend on stock only a little.
    const skus = Array.from({ length: Math.ceil(CHECKOUTS / 10) }, (_, i) => `LOAD-${i}`);
    for (const sku of skus) {
      await expectStatus(
        await call('POST', '/api/products', seller, { sku, name: 'Bone', priceCents: 1250 }),
        201,
      );
      await expectStatus(await call('POST', `/api/stock/${sku}/restock`, seller, { quantity: 100 }), 200);
    }
    const customers = await Promise.all(
      Array.from({ length: CHECKOUTS }, () => loginAs(shop.auth, 'customer')),
    );
    const orders: { orderId: string; as: TestLogin }[] = [];
    // A 5xx (the shared database out of connections, say) is retried as a client would; a checkout
    // that went through before its answer was lost is found in the customer's orders.
    const retrying = async (send: () => Promise<Response>): Promise<Response> => {
      for (let attempt = 1; ; attempt++) {
        const res = await send();
        if (res.status < 500 || attempt === 10) return res;
        await res.arrayBuffer();
        await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    };
    await Promise.all(
      customers.map(async (as, i) => {
        const sku = skus[i % skus.length]!;
        await expectStatus(
          await retrying(() => call('POST', '/api/cart/items', as, { sku, quantity: 1 })),
          201,
        );
        const res = await retrying(() =>
          call('POST', '/api/cart/checkout', as, { shippingAddress: address }),
        );
        if (res.status === 409 || res.status === 202) {
          // 202: accepted, still pending; 409 cart_empty: an earlier attempt went through.
          await res.arrayBuffer();
          await waitUntil(
            'the order of a late or lost answer',
            async () => {
              const list = await call('GET', '/api/orders', as);
              const page = (await list.json()) as { items?: { id: string }[] };
              const found = page.items?.[0]?.id;
              if (found) orders.push({ orderId: found, as });
              return found !== undefined;
            },
            120_000,
          );
          return;
        }
        const placed = await expectStatus<{ orderId: string }>(res, 201);
        orders.push({ orderId: placed.orderId, as });
      }),
    );
    const views = new Map<string, FulfillmentView>();
    await waitUntil(
      'every saga finished',
      async () => {
        for (const { orderId } of orders) {
          if (views.has(orderId)) continue;
          const res = await call('GET', `/api/orders/${orderId}/fulfillment`, seller);
          const view =
            res.status === 200 ? ((await res.json()) as FulfillmentView) : (await res.arrayBuffer(), null);
          if (view && finished(view)) views.set(orderId, view);
        }
        return views.size === orders.length;
      },
      600_000,
    );
    let completed = 0;
    for (const { orderId, as } of orders) {
      const view = views.get(orderId)!;
      const l = await ledger(orderId);
      assert.ok(sum(l, 'capture') <= 1250, `${orderId} charged at most once`);
      if (view.status === 'completed') {
        completed++;
        assert.equal(sum(l, 'capture'), 1250, orderId);
        assert.equal(sum(l, 'refund'), 0, orderId);
        await waitUntil('approved', async () => (await order(orderId, as)).status === 'approved');
      } else {
        assert.equal(
          view.status,
          'compensated',
          `${orderId}: ${view.status} ${JSON.stringify(view.history)}`,
        );
        assert.equal(sum(l, 'refund'), sum(l, 'capture'), `${orderId}: no missing refund`);
        await waitUntil('cancelled', async () => (await order(orderId, as)).status === 'cancelled');
      }
    }
    // The stock: committed for the completed orders, released for the others, nothing left reserved.
    await waitUntil('stock settled', async () => {
      let reserved = 0;
      let available = 0;
      for (const sku of skus) {
        const s = await stock(sku);
        reserved += s.reserved;
        available += s.available;
      }
      return reserved === 0 && available === skus.length * 100 - completed;
    });
    assert.ok(completed > 0);
  });
});
