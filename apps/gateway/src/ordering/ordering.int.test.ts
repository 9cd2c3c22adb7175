// Orders and stock over real HTTP: gateway → queue → workers (catalog, ordering, inventory) → event
// store → projector → read models, on PostgreSQL alone, with users of each role holding real
// access tokens. The reservation of a pet is atomic: of 50 concurrent orders exactly one is placed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { EventStore } from '@optic-mart/eventstore';
import { connectMessaging, type Messaging } from '@optic-mart/messaging';
import { createLogger, createMetricsRegistry, type HttpServer } from '@optic-mart/platform';
import { startProjector, type Projector } from '@optic-mart/runtime';
import { petsProjection, productsProjection } from '@optic-mart/catalog';
import { stockProjection } from '@optic-mart/inventory';
import { ordersProjection } from '@optic-mart/ordering';
import { createTestDatabase, type TestDatabase } from '@optic-mart/testkit';
import { start as startWorker } from '../../../worker/src/main.js';
import { buildGatewayApp } from '../app.js';
import type { Auth, Role } from '../auth/index.js';
import { loadGatewayConfig } from '../config.js';
import { createResponseValidator } from '../petstore/contract.js';

interface Written {
  id: string;
  version: number;
  position: number;
}
interface Problem {
  code: string;
  status: number;
  errors?: { field: string }[];
}
interface OrderDoc {
  id: string;
  userId: string;
  status: string;
  lines: { kind: string; petId?: string; sku?: string; quantity: number; unitPrice?: unknown }[];
  total: { amountCents: number; currency: string };
  version: number;
}
interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

describe('orders and stock over HTTP', () => {
  let db: TestDatabase;
  let messaging: Messaging;
  let app: HttpServer;
  let auth: Auth;
  let base: string;
  let worker: { stop(): Promise<void> };
  let projectorStore: EventStore;
  let projector: Projector;
  const tokens: Record<string, string> = {};
  const userIds: Record<string, string> = {};
  let nextUser = 1000;

  const login = async (name: string, role: Role) => {
    const userId = String(++nextUser);
    const principal = await auth.sessions.open({ userId, username: name, role });
    tokens[name] = (await auth.tokens.issue(principal)).token;
    userIds[name] = userId;
  };

  before(async () => {
    db = await createTestDatabase('ordering_http');
    const env = { DATABASE_URL: db.url, MESSAGING_PREFIX: `t${randomUUID().slice(0, 8)}` };
    messaging = await connectMessaging({ databaseUrl: db.url, prefix: env.MESSAGING_PREFIX });
    ({ app, auth } = await buildGatewayApp({
      config: loadGatewayConfig({ ...env, LOG_LEVEL: 'warn', GATEWAY_REPLY_TIMEOUT_MS: '30000' }),
      messaging,
      logger: createLogger({ name: 'gateway-test', level: 'warn' }),
      metrics: createMetricsRegistry({ service: 'gateway-test' }),
    }));
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    worker = await startWorker({ ...env, LOG_LEVEL: 'warn', WORKER_HEARTBEAT_MS: '1000' }, [
      '--context',
      'catalog,ordering,inventory',
    ]);
    projectorStore = new EventStore({ connectionString: db.url, poolSize: 3, sweepIntervalMs: 0 });
    projector = await startProjector({
      store: projectorStore,
      connectionString: db.url,
      projections: [petsProjection, productsProjection, ordersProjection, stockProjection],
      kv: messaging.kv,
      logger: createLogger({ name: 'projector-test', level: 'warn' }),
      contendEveryMs: 200,
    });
    await login('seller', 'seller');
    await login('ann', 'customer');
    await login('bob', 'customer');
    for (let i = 0; i < 50; i++) await login(`c${i}`, 'customer');
  });

  after(async () => {
    await projector.stop();
    await projectorStore.close();
    await worker.stop();
    await app.close();
    await messaging.close();
    await db.drop();
  });

  const call = (method: string, path: string, as?: string, body?: unknown) =>
    fetch(base + path, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(as ? { authorization: `Bearer ${tokens[as]}` } : {}),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  async function expectStatus<T>(res: Response, status: number): Promise<T> {
    const text = await res.text();
    assert.equal(res.status, status, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  const problem = async (res: Response, status: number, code: string): Promise<Problem> => {
    const body = await expectStatus<Problem>(res, status);
    assert.equal(res.headers.get('content-type')?.split(';')[0], 'application/problem+json');
    assert.equal(body.code, code);
    return body;
  };

  const newPet = async (): Promise<Written> =>
    expectStatus<Written>(await call('POST', '/api/pets', 'seller', { name: 'Rex' }), 201);

  const pet = async (id: string, after: number) =>
    expectStatus<{ status: string; orderId: string | null }>(
      await call('GET', `/api/pets/${id}?after=${after}`),
      200,
    );

  const inventory = async (after: number) =>
    expectStatus<Record<string, number>>(await call('GET', `/api/inventory?after=${after}`), 200);

  const order = (as: string, lines: unknown[]) => call('POST', '/api/orders', as, { lines });

  it('places exactly one of 50 concurrent orders for one pet: 201 once, 409 pet_not_available 49 times', async () => {
    const created = await newPet();
    const before = await inventory(created.position);
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => order(`c${i}`, [{ petId: created.id }])),
    );
    const statuses = responses.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 201).length, 1, JSON.stringify(statuses));
    assert.equal(statuses.filter((s) => s === 409).length, 49, JSON.stringify(statuses));
    let placed: Written | null = null;
    for (const res of responses) {
      if (res.status === 201) {
        placed = await expectStatus<Written>(res, 201);
        assert.equal(res.headers.get('location'), `/api/orders/${placed.id}`);
        assert.equal(placed.version, 1);
      } else {
        await problem(res, 409, 'pet_not_available');
      }
    }
    assert.ok(placed);
    const reserved = await pet(created.id, placed.position);
    assert.deepEqual(reserved, { ...reserved, status: 'pending', orderId: placed.id });
    const now = await inventory(placed.position);
    assert.equal(now.pending, (before.pending ?? 0) + 1);
    assert.equal(now.available, (before.available ?? 0) - 1);
    const asPetstore = await expectStatus<Record<string, number>>(
      await call('GET', '/api/v3/store/inventory'),
      200,
    );
    assert.deepEqual(asPetstore, now);
  });

  it('refuses to delete a reserved pet; cancelling its order frees it, and it can be ordered again', async () => {
    const created = await newPet();
    const placed = await expectStatus<Written>(await order('ann', [{ petId: created.id }]), 201);
    await problem(await call('DELETE', `/api/pets/${created.id}`, 'seller'), 409, 'pet_reserved');
    const cancelled = await expectStatus<Written>(
      await call('DELETE', `/api/orders/${placed.id}`, 'ann'),
      200,
    );
    assert.equal((await pet(created.id, cancelled.position)).status, 'available');
    const doc = await expectStatus<OrderDoc>(
      await call('GET', `/api/orders/${placed.id}?after=${cancelled.position}`, 'ann'),
      200,
    );
    assert.equal(doc.status, 'cancelled');
    await problem(await call('DELETE', `/api/orders/${placed.id}`, 'ann'), 409, 'invalid_status_transition');
    const again = await expectStatus<Written>(await order('bob', [{ petId: created.id }]), 201);
    assert.equal((await pet(created.id, again.position)).status, 'pending');
  });

  it('approving marks the pet sold; delivering completes the order; only staff may do either', async () => {
    const created = await newPet();
    const placed = await expectStatus<Written>(await order('ann', [{ petId: created.id }]), 201);
    await problem(await call('POST', `/api/orders/${placed.id}/approve`, 'ann'), 403, 'forbidden');
    await problem(await call('POST', `/api/orders/${placed.id}/approve`), 401, 'unauthorized');
    const approved = await expectStatus<Written>(
      await call('POST', `/api/orders/${placed.id}/approve`, 'seller'),
      200,
    );
    assert.equal(approved.version, 2);
    assert.equal((await pet(created.id, approved.position)).status, 'sold');
    await problem(await call('DELETE', `/api/orders/${placed.id}`, 'ann'), 409, 'invalid_status_transition');
    const delivered = await expectStatus<Written>(
      await call('POST', `/api/orders/${placed.id}/deliver`, 'seller'),
      200,
    );
    const doc = await expectStatus<OrderDoc>(
      await call('GET', `/api/orders/${placed.id}?after=${delivered.position}`, 'ann'),
      200,
    );
    assert.equal(doc.status, 'delivered');
    assert.equal(doc.userId, userIds.ann);
  });

  it('answers a customer asking for another customer’s order with 404, and lists only their own', async () => {
    const created = await newPet();
    const placed = await expectStatus<Written>(await order('ann', [{ petId: created.id }]), 201);
    const mine = await expectStatus<OrderDoc>(
      await call('GET', `/api/orders/${placed.id}?after=${placed.position}`, 'ann'),
      200,
    );
    assert.equal(mine.id, placed.id);
    await problem(await call('GET', `/api/orders/${placed.id}`, 'bob'), 404, 'order_not_found');
    await problem(await call('DELETE', `/api/orders/${placed.id}`, 'bob'), 404, 'order_not_found');
    await problem(await call('GET', `/api/orders/${placed.id}`), 401, 'unauthorized');
    assert.equal((await call('GET', `/api/orders/${placed.id}`, 'seller')).status, 200);

    const bobs = await expectStatus<Page<OrderDoc>>(
      await call('GET', `/api/orders?userId=${userIds.ann}`, 'bob'),
      200,
    );
    assert.ok(bobs.items.every((o) => o.userId === userIds.bob));
    const anns = await expectStatus<Page<OrderDoc>>(
      await call('GET', '/api/orders?status=placed', 'ann'),
      200,
    );
    assert.ok(anns.items.some((o) => o.id === placed.id));
    assert.ok(anns.items.every((o) => o.userId === userIds.ann && o.status === 'placed'));
    const all = await expectStatus<Page<OrderDoc>>(await call('GET', '/api/orders?limit=2', 'seller'), 200);
    assert.equal(all.items.length, 2);
    assert.ok(all.nextCursor);
    const next = await expectStatus<Page<OrderDoc>>(
      await call('GET', `/api/orders?limit=2&cursor=${encodeURIComponent(all.nextCursor)}`, 'seller'),
      200,
    );
    assert.ok(next.items.every((o) => !all.items.some((p) => p.id === o.id)));
    assert.ok(new Set([...all.items, ...next.items].map((o) => o.userId)).size > 1, 'staff see everyone’s');
  });

  it('never takes the stock of a supply below zero under concurrent orders, at the price it had', async () => {
    const sku = `BONE-${randomUUID().slice(0, 6).toUpperCase()}`;
    await expectStatus(
      await call('POST', '/api/products', 'seller', { sku, name: 'Bone', priceCents: 250 }),
      201,
    );
    await problem(await call('POST', `/api/stock/${sku}/restock`, 'ann', { quantity: 5 }), 403, 'forbidden');
    await expectStatus(await call('POST', `/api/stock/${sku}/restock`, 'seller', { quantity: 12 }), 200);
    const quantities = Array.from({ length: 20 }, (_, i) => 1 + (i % 2));
    const responses = await Promise.all(quantities.map((quantity, i) => order(`c${i}`, [{ sku, quantity }])));
    let taken = 0;
    let last = 0;
    for (const [i, res] of responses.entries()) {
      if (res.status === 201) {
        const w = await expectStatus<Written>(res, 201);
        taken += quantities[i]!;
        last = Math.max(last, w.position);
      } else {
        await problem(res, 409, 'insufficient_stock');
      }
    }
    assert.ok(taken > 0 && taken <= 12, `taken ${taken}`);
    const stock = await expectStatus<{
      sku: string;
      onHand: number;
      reserved: number;
      available: number;
      version: number;
    }>(await call('GET', `/api/stock/${sku}?after=${last}`), 200);
    assert.deepEqual(stock, {
      sku,
      onHand: 12,
      reserved: taken,
      available: 12 - taken,
      version: stock.version,
    });
    assert.ok(stock.available >= 0 && stock.available < 2);
    const all = await expectStatus<Page<OrderDoc>>(
      await call('GET', `/api/orders?after=${last}&limit=500`, 'seller'),
      200,
    );
    const lines = all.items.flatMap((o) => o.lines).filter((l) => l.sku === sku);
    assert.equal(
      lines.reduce((n, l) => n + l.quantity, 0),
      taken,
    );
    for (const line of lines) assert.deepEqual(line.unitPrice, { amountCents: 250, currency: 'USD' });
  });

  it('refuses bad input with a 4xx problem naming the field, and anonymous orders with 401', async () => {
    const created = await newPet();
    await problem(
      await call('POST', '/api/orders', undefined, { lines: [{ petId: created.id }] }),
      401,
      'unauthorized',
    );
    const cases: unknown[] = [
      {},
      { lines: [] },
      { lines: [{ sku: 'BONE-1', quantity: -1 }] },
      { lines: [{ sku: 'BONE-1', quantity: 1001 }] },
      { lines: [{ sku: 'BONE-1', quantity: 'two' }] },
      { lines: [{ petId: created.id, quantity: 2 }] },
      { lines: [{ petId: "1'; DROP TABLE eventstore.events; --" }] },
      { lines: [{ petId: '<script>alert(1)</script>' }] },
      { lines: [{ petId: created.id }], extra: true },
      { lines: Array.from({ length: 51 }, (_, i) => ({ petId: String(i + 1) })) },
      { lines: [{ petId: created.id }], shipDate: 'tomorrow' },
    ];
    for (const body of cases) {
      const res = await call('POST', '/api/orders', 'ann', body);
      const p = await problem(res, 400, 'validation_failed');
      assert.ok((p.errors?.length ?? 0) > 0, JSON.stringify(body));
    }
    await problem(
      await call('POST', '/api/orders', 'ann', { lines: [{ petId: created.id }, { petId: created.id }] }),
      400,
      'validation_failed',
    );
    await problem(
      await call('POST', '/api/stock/bad sku/restock', 'seller', { quantity: 1 }),
      400,
      'validation_failed',
    );
    await problem(
      await call('POST', '/api/stock/BONE-1/restock', 'seller', { quantity: 0 }),
      400,
      'validation_failed',
    );
    await problem(await call('GET', '/api/orders?status=lost', 'ann'), 400, 'validation_failed');
    assert.equal((await pet(created.id, created.position)).status, 'available');
  });

  describe('the Petstore store operations', () => {
    const validate = createResponseValidator();
    const check = async (operationId: string, res: Response): Promise<unknown> => {
      const text = await res.text();
      const body = text ? (JSON.parse(text) as unknown) : undefined;
      assert.deepEqual(
        validate({ operationId, status: res.status, contentType: res.headers.get('content-type'), body }),
        [],
        `${operationId} ${res.status} ${text}`,
      );
      return body;
    };

    it('places, reads and deletes an order as the contract says, freeing the pet', async () => {
      const created = await newPet();
      const petId = Number(created.id);
      const res = await call('POST', '/api/v3/store/order', 'ann', {
        id: 0,
        petId,
        quantity: 1,
        shipDate: '2026-12-24T10:00:00.000Z',
        status: 'placed',
        complete: false,
      });
      assert.equal(res.status, 200);
      const placed = (await check('placeOrder', res)) as { id: number };
      assert.deepEqual(placed, {
        id: placed.id,
        petId,
        quantity: 1,
        shipDate: '2026-12-24T10:00:00.000Z',
        status: 'placed',
        complete: false,
      });
      const again = await call('POST', '/api/v3/store/order', 'bob', { petId, quantity: 1 });
      assert.equal(again.status, 409);
      await check('placeOrder', again);
      const read = await call('GET', `/api/v3/store/order/${placed.id}`, 'ann');
      assert.equal(read.status, 200);
      assert.deepEqual(await check('getOrderById', read), placed);
      assert.equal((await call('GET', `/api/v3/store/order/${placed.id}`, 'bob')).status, 404);
      const deleted = await call('DELETE', `/api/v3/store/order/${placed.id}`, 'ann');
      assert.equal(deleted.status, 200);
      await check('deleteOrder', deleted);
      assert.equal((await pet(created.id, 0)).status, 'available');
      assert.equal((await call('GET', `/api/v3/store/order/${placed.id}`, 'ann')).status, 404);
      assert.equal((await call('DELETE', `/api/v3/store/order/${placed.id}`, 'ann')).status, 404);
    });

    it('honours a client’s order id, refuses it taken, and refuses a quantity other than 1 with 422', async () => {
      const created = await newPet();
      const id = 100_000 + Math.floor(Math.random() * 1_000_000);
      const res = await call('POST', '/api/v3/store/order', 'ann', { id, petId: Number(created.id) });
      assert.equal(res.status, 200);
      assert.equal(((await check('placeOrder', res)) as { id: number }).id, id);
      const other = await newPet();
      const taken = await call('POST', '/api/v3/store/order', 'bob', { id, petId: Number(other.id) });
      assert.equal(taken.status, 409);
      assert.equal(((await taken.json()) as Problem).code, 'order_already_exists');
      for (const body of [
        { petId: Number(other.id), quantity: 2 },
        { quantity: 1 },
        { petId: 'x' },
        { petId: 1, status: 'lost' },
      ]) {
        const bad = await call('POST', '/api/v3/store/order', 'ann', body);
        assert.equal(bad.status, 422, JSON.stringify(body));
      }
      assert.equal(
        (await call('POST', '/api/v3/store/order', undefined, { petId: Number(other.id) })).status,
        401,
      );
      assert.equal((await call('GET', '/api/v3/store/order/abc', 'ann')).status, 400);
      assert.equal((await pet(other.id, other.position)).status, 'available');
    });
  });
});
