// The cart, checkout and shipping over real HTTP: gateway → queue → workers (catalog, ordering,
// inventory, cart, shipping) → event store → projector → read models, on PostgreSQL alone, with
// users logged in through real access tokens. Checkout is one atomic append (cart + order + pets +
// stock); shipping a shipment ships its order, delivering it completes the order.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { EventStore } from '@optic-mart/eventstore';
import { connectMessaging, type CommandDispatcher, type Messaging } from '@optic-mart/messaging';
import { createLogger, createMetricsRegistry, type HttpServer } from '@optic-mart/platform';
import { startProjector, type Projector } from '@optic-mart/runtime';
import { petsProjection, productsProjection } from '@optic-mart/catalog';
import { stockProjection } from '@optic-mart/inventory';
import { orderStreamId, ordersProjection } from '@optic-mart/ordering';
import { shipmentsProjection } from '@optic-mart/shipping';
import { createTestDatabase, type TestDatabase } from '@optic-mart/testkit';
import { start as startWorker } from '../../../worker/src/main.js';
import { buildGatewayApp } from '../app.js';
import { loginAs, type TestLogin } from '../auth/test-support.js';
import type { Auth } from '../auth/index.js';
import { loadGatewayConfig } from '../config.js';

interface Problem {
  code: string;
  status: number;
  errors?: { field: string }[];
  lines?: { key: string; from: { amountCents: number }; to: { amountCents: number } }[];
}
interface Money {
  amountCents: number;
  currency: string;
}
interface Cart {
  userId: string;
  items: { key: string; kind: string; quantity: number; unitPrice?: Money }[];
  total: Money;
  version: number;
}
interface Written {
  version: number;
  position: number;
}

const address = {
  name: 'Ann Smith',
  line1: '1 Main St',
  city: 'Springfield',
  postalCode: '12345',
  country: 'US',
};

describe('cart, checkout and shipping over HTTP', () => {
  let db: TestDatabase;
  let messaging: Messaging;
  let app: HttpServer;
  let auth: Auth;
  let dispatcher: CommandDispatcher;
  let base: string;
  let worker: { stop(): Promise<void> };
  let projectorStore: EventStore;
  let projector: Projector;
  let seller: TestLogin;
  let skuCount = 0;

  before(async () => {
    db = await createTestDatabase('cart_http');
    const env = { DATABASE_URL: db.url, MESSAGING_PREFIX: `t${randomUUID().slice(0, 8)}` };
    messaging = await connectMessaging({ databaseUrl: db.url, prefix: env.MESSAGING_PREFIX });
    ({ app, auth, dispatcher } = await buildGatewayApp({
      config: loadGatewayConfig({ ...env, LOG_LEVEL: 'warn', GATEWAY_REPLY_TIMEOUT_MS: '30000' }),
      messaging,
      logger: createLogger({ name: 'gateway-test', level: 'warn' }),
      metrics: createMetricsRegistry({ service: 'gateway-test' }),
    }));
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    worker = await startWorker({ ...env, LOG_LEVEL: 'warn', WORKER_HEARTBEAT_MS: '1000' }, [
      '--context',
      'catalog,ordering,inventory,cart,shipping',
    ]);
    projectorStore = new EventStore({ connectionString: db.url, poolSize: 3, sweepIntervalMs: 0 });
    projector = await startProjector({
      store: projectorStore,
      connectionString: db.url,
      projections: [
        petsProjection,
        productsProjection,
        ordersProjection,
        stockProjection,
        shipmentsProjection,
      ],
      kv: messaging.kv,
      logger: createLogger({ name: 'projector-test', level: 'warn' }),
      contendEveryMs: 200,
    });
    seller = await loginAs(auth, 'seller');
  });

  after(async () => {
    await projector.stop();
    await projectorStore.close();
    await worker.stop();
    await app.close();
    await messaging.close();
    await db.drop();
  });

  const call = (method: string, path: string, as?: TestLogin, body?: unknown) =>
    fetch(base + path, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(as ? as.headers : {}),
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

  const customer = () => loginAs(auth, 'customer');

  /** A product at `priceCents` with `stock` units. */
  async function product(priceCents: number, stock = 10): Promise<string> {
    const sku = `CART-${++skuCount}`;
    await expectStatus(await call('POST', '/api/products', seller, { sku, name: 'Bone', priceCents }), 201);
    await expectStatus(await call('POST', `/api/stock/${sku}/restock`, seller, { quantity: stock }), 200);
    return sku;
  }

  const newPet = async (): Promise<string> =>
    (await expectStatus<{ id: string }>(await call('POST', '/api/pets', seller, { name: 'Rex' }), 201)).id;

  const cart = async (as: TestLogin) => expectStatus<Cart>(await call('GET', '/api/cart', as), 200);

  const add = async (as: TestLogin, item: unknown) =>
    expectStatus<Written & { key: string }>(await call('POST', '/api/cart/items', as, item), 201);

  const checkout = (as: TestLogin, shippingAddress: unknown = address) =>
    call('POST', '/api/cart/checkout', as, { shippingAddress });

  const order = async (as: TestLogin, orderId: string, after: number) =>
    expectStatus<{
      status: string;
      source: string;
      shippingAddress: unknown;
      total: Money;
      trackingNumber: string | null;
      lines: unknown[];
    }>(await call('GET', `/api/orders/${orderId}?after=${after}`, as), 200);

  /** What the saga does once the payment is captured. */
  async function markPaid(orderId: string, userId: string): Promise<void> {
    const outcome = await dispatcher.dispatch({
      context: 'ordering',
      type: 'MarkOrderPaid',
      aggregateId: orderStreamId(orderId),
      data: { paymentId: `pay-${orderId}` },
      metadata: { correlationId: randomUUID(), userId },
    });
    assert.ok(outcome.kind === 'completed' && outcome.status.status === 'succeeded', JSON.stringify(outcome));
  }

  it('adds, changes and removes items, each supply at the price it had when added', async () => {
    const ann = await customer();
    const sku = await product(250);
    const petId = await newPet();
    assert.equal((await add(ann, { sku, quantity: 2 })).key, sku);
    assert.equal((await add(ann, { petId })).key, `pet-${petId}`);
    let mine = await cart(ann);
    assert.equal(mine.userId, ann.principal.userId);
    assert.deepEqual(
      mine.items.map((i) => [i.key, i.quantity, i.unitPrice?.amountCents]),
      [
        [sku, 2, 250],
        [`pet-${petId}`, 1, undefined],
      ],
    );
    assert.deepEqual(mine.total, { amountCents: 500, currency: 'USD' });
    // More of the same SKU adds to its line.
    await add(ann, { sku, quantity: 1 });
    await expectStatus(await call('PUT', `/api/cart/items/${sku}`, ann, { quantity: 5 }), 200);
    assert.equal((await cart(ann)).items[0]!.quantity, 5);
    await expectStatus(await call('DELETE', `/api/cart/items/pet-${petId}`, ann), 200);
    mine = await cart(ann);
    assert.deepEqual(
      mine.items.map((i) => i.key),
      [sku],
    );
    assert.equal(mine.total.amountCents, 1250);
    await problem(await call('DELETE', `/api/cart/items/pet-${petId}`, ann), 404, 'cart_item_not_found');
    await problem(
      await call('PUT', '/api/cart/items/NOPE-1', ann, { quantity: 1 }),
      404,
      'cart_item_not_found',
    );
    await problem(
      await call('POST', '/api/cart/items', ann, { sku: 'NOPE-1', quantity: 1 }),
      404,
      'product_not_found',
    );
    await problem(await call('POST', '/api/cart/items', ann, { petId: '999999999' }), 404, 'pet_not_found');
    await expectStatus(await call('DELETE', '/api/cart', ann), 200);
    assert.deepEqual((await cart(ann)).items, []);
    await problem(await checkout(ann), 409, 'cart_empty');
  });

  it('re-checks prices at checkout: 409 price_changed naming the line, the cart repriced, then the order at the new price', async () => {
    const ann = await customer();
    const sku = await product(250, 10);
    await add(ann, { sku, quantity: 2 });
    await expectStatus(
      await call('PUT', `/api/products/${sku}`, seller, { name: 'Bone', priceCents: 300 }),
      200,
    );
    const refused = await problem(await checkout(ann), 409, 'price_changed');
    assert.deepEqual(
      refused.lines?.map((l) => [l.key, l.from.amountCents, l.to.amountCents]),
      [[sku, 250, 300]],
    );
    const repriced = await cart(ann);
    assert.equal(repriced.items[0]!.unitPrice?.amountCents, 300);
    assert.equal(repriced.total.amountCents, 600);

    const placed = await expectStatus<Written & { orderId: string; total: Money }>(await checkout(ann), 201);
    assert.deepEqual(placed.total, { amountCents: 600, currency: 'USD' });
    const view = await order(ann, placed.orderId, placed.position);
    assert.equal(view.status, 'placed');
    assert.equal(view.source, 'checkout');
    assert.deepEqual(view.shippingAddress, address);
    assert.deepEqual(view.total, { amountCents: 600, currency: 'USD' });
    // The stock was reserved in the same append, and the cart emptied.
    const stock = await expectStatus<{ available: number; reserved: number }>(
      await call('GET', `/api/stock/${sku}?after=${placed.position}`),
      200,
    );
    assert.equal(stock.available, 8);
    assert.equal(stock.reserved, 2);
    assert.deepEqual((await cart(ann)).items, []);
  });

  it('reserves atomically: of carts racing for one pet, one order is placed; the others keep their carts', async () => {
    const petId = await newPet();
    const customers = await Promise.all(Array.from({ length: 5 }, () => customer()));
    for (const c of customers) await add(c, { petId });
    const answers = await Promise.all(customers.map((c) => checkout(c)));
    const statuses = answers.map((r) => r.status).sort();
    assert.deepEqual(statuses, [201, 409, 409, 409, 409]);
    for (const [i, res] of answers.entries()) {
      if (res.status === 409) {
        await problem(res, 409, 'pet_not_available');
        assert.equal(
          (await cart(customers[i]!)).items.length,
          1,
          'a refused checkout leaves the cart as it was',
        );
      } else {
        const placed = await expectStatus<Written & { orderId: string }>(res, 201);
        const pet = await expectStatus<{ status: string; orderId: string }>(
          await call('GET', `/api/pets/${petId}?after=${placed.position}`),
          200,
        );
        assert.deepEqual([pet.status, pet.orderId], ['pending', placed.orderId]);
        assert.deepEqual((await cart(customers[i]!)).items, []);
      }
    }
  });

  it('lets a customer touch only their own cart', async () => {
    const ann = await customer();
    const bob = await customer();
    const sku = await product(100);
    await add(ann, { sku, quantity: 1 });
    assert.deepEqual((await cart(bob)).items, []);
    await problem(await call('DELETE', `/api/cart/items/${sku}`, bob), 404, 'cart_item_not_found');
    await problem(await checkout(bob), 409, 'cart_empty');
    await problem(await call('GET', '/api/cart'), 401, 'unauthorized');
    await problem(
      await call('POST', '/api/cart/items', undefined, { sku, quantity: 1 }),
      401,
      'unauthorized',
    );
    // Not even through the queue: a cart takes commands from its owner alone.
    const outcome = await dispatcher.dispatch({
      context: 'cart',
      type: 'RemoveCartItem',
      aggregateId: `cart-${ann.principal.userId}`,
      data: { key: sku },
      metadata: { correlationId: randomUUID(), userId: bob.principal.userId },
    });
    assert.ok(outcome.kind === 'completed' && outcome.status.status === 'failed');
    assert.equal(outcome.status.error.code, 'forbidden');
    assert.equal((await cart(ann)).items.length, 1);
  });

  it('refuses a shipment to a country the shop does not ship to (422 shipping_unavailable)', async () => {
    const ann = await customer();
    await add(ann, { sku: await product(100), quantity: 1 });
    const placed = await expectStatus<Written & { orderId: string }>(
      await checkout(ann, { ...address, country: 'AQ' }),
      201,
    );
    // Before payment there is no shipment to create.
    await problem(
      await call('POST', `/api/shipments/${placed.orderId}`, seller, {}),
      409,
      'invalid_status_transition',
    );
    await markPaid(placed.orderId, ann.principal.userId);
    const refused = await problem(
      await call('POST', `/api/shipments/${placed.orderId}`, seller, {}),
      422,
      'shipping_unavailable',
    );
    assert.equal((refused as unknown as { country: string }).country, 'AQ');
    await problem(
      await call('GET', `/api/orders/${placed.orderId}/shipment`, ann),
      404,
      'shipment_not_found',
    );
  });

  it('ships and delivers: each atomically with the order, and delivery completes it', async () => {
    const ann = await customer();
    const bob = await customer();
    const petId = await newPet();
    await add(ann, { petId });
    await add(ann, { sku: await product(700), quantity: 1 });
    const placed = await expectStatus<Written & { orderId: string }>(await checkout(ann), 201);
    const { orderId } = placed;
    await markPaid(orderId, ann.principal.userId);
    const paid = await order(ann, orderId, 0);
    // The Petstore's order knows placed, approved, delivered: paid is still placed there.
    const petstore = async () =>
      expectStatus<{ status: string; complete: boolean }>(
        await call('GET', `/api/v3/store/order/${orderId}`, ann),
        200,
      );
    assert.ok(['placed', 'paid'].includes(paid.status));

    await problem(await call('POST', `/api/shipments/${orderId}`, ann, {}), 403, 'forbidden');
    const created = await expectStatus<Written>(
      await call('POST', `/api/shipments/${orderId}`, seller, {}),
      201,
    );
    const shipment = await expectStatus<{ trackingNumber: string; status: string; address: unknown }>(
      await call('GET', `/api/orders/${orderId}/shipment?after=${created.position}`, ann),
      200,
    );
    assert.equal(shipment.status, 'created');
    assert.match(shipment.trackingNumber, /^OM\d{16}US$/);
    assert.deepEqual(shipment.address, address);
    await problem(await call('GET', `/api/orders/${orderId}/shipment`, bob), 404, 'shipment_not_found');
    assert.equal((await petstore()).status, 'placed');

    // Not delivered before shipped; not shipped before the order is approved.
    await problem(
      await call('POST', `/api/shipments/${orderId}/delivered`, seller),
      409,
      'invalid_status_transition',
    );
    await problem(
      await call('POST', `/api/shipments/${orderId}/shipped`, seller),
      409,
      'invalid_status_transition',
    );
    await expectStatus(await call('POST', `/api/orders/${orderId}/approve`, seller), 200);
    await problem(await call('POST', `/api/shipments/${orderId}/shipped`, ann), 403, 'forbidden');
    const shipped = await expectStatus<Written>(
      await call('POST', `/api/shipments/${orderId}/shipped`, seller),
      200,
    );
    const shippedOrder = await order(ann, orderId, shipped.position);
    assert.equal(shippedOrder.status, 'shipped');
    assert.equal(shippedOrder.trackingNumber, shipment.trackingNumber);
    assert.equal((await petstore()).status, 'approved');
    // A checkout's order is delivered by its shipment.
    await problem(
      await call('POST', `/api/orders/${orderId}/deliver`, seller),
      409,
      'invalid_status_transition',
    );
    await problem(await call('DELETE', `/api/orders/${orderId}`, ann), 409, 'invalid_status_transition');

    const delivered = await expectStatus<Written>(
      await call('POST', `/api/shipments/${orderId}/delivered`, seller),
      200,
    );
    assert.equal((await order(ann, orderId, delivered.position)).status, 'delivered');
    const done = await expectStatus<{ status: string; history: { status: string }[] }>(
      await call('GET', `/api/orders/${orderId}/shipment?after=${delivered.position}`, ann),
      200,
    );
    assert.equal(done.status, 'delivered');
    assert.deepEqual(
      done.history.map((h) => h.status),
      ['created', 'shipped', 'delivered'],
    );
    const final = await petstore();
    assert.deepEqual([final.status, final.complete], ['delivered', true]);
    const pet = await expectStatus<{ status: string }>(
      await call('GET', `/api/pets/${petId}?after=${delivered.position}`),
      200,
    );
    assert.equal(pet.status, 'sold');
  });

  it('answers bad input with 400 naming the field', async () => {
    const ann = await customer();
    const fieldOf = async (res: Response) =>
      (await problem(res, 400, 'validation_failed')).errors?.map((e) => e.field).join(' ') ?? '';
    assert.match(
      await fieldOf(await call('POST', '/api/cart/items', ann, { sku: 'BONE-1', quantity: 0 })),
      /quantity/,
    );
    assert.match(
      await fieldOf(await call('POST', '/api/cart/items', ann, { sku: 'bad sku', quantity: 1 })),
      /sku/,
    );
    assert.match(
      await fieldOf(await call('PUT', '/api/cart/items/BONE-1', ann, { quantity: 'many' })),
      /quantity/,
    );
    assert.match(
      await fieldOf(await call('PUT', '/api/cart/items/not%20a%20key', ann, { quantity: 1 })),
      /key/,
    );
    assert.match(await fieldOf(await checkout(ann, { ...address, country: 'usa' })), /country/);
    assert.match(await fieldOf(await checkout(ann, { ...address, postalCode: undefined })), /postalCode/);
    assert.match(await fieldOf(await call('POST', '/api/cart/checkout', ann, {})), /shippingAddress/);
    assert.match(
      await fieldOf(await call('POST', `/api/shipments/1`, seller, { address: { ...address, country: 1 } })),
      /country/,
    );
    assert.match(await fieldOf(await call('POST', '/api/shipments/x!/shipped', seller)), /orderId/);
  });
});
