// The ordering routes with the catalog's and the inventory's, through the runtime's command handler,
// against a real PostgreSQL event store: reservations are atomic across the order, its pets and
// its stock.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import { EventStore } from '@optic-mart/eventstore';
import {
  createCommandHandler,
  type CommandHandler,
  type CommandInput,
  type CommandResult,
} from '@optic-mart/runtime';
import { catalogCommandRoutes, petStreamId, productStreamId } from '@optic-mart/catalog';
import { inventoryCommandRoutes, stockStreamId } from '@optic-mart/inventory';
import { createTestDatabase, type TestDatabase } from '@optic-mart/testkit';
import { orderingCommandRoutes, orderStreamId } from './routes.js';

let db: TestDatabase;
let store: EventStore;
let handle: CommandHandler;

before(async () => {
  db = await createTestDatabase('ordering_routes');
  store = new EventStore({ connectionString: db.url, poolSize: 30 });
  await store.start();
  handle = createCommandHandler({
    store,
    routes: { ...catalogCommandRoutes, ...inventoryCommandRoutes, ...orderingCommandRoutes },
    retry: { maxAttempts: 30, baseDelayMs: 5, maxDelayMs: 200 },
  });
});

after(async () => {
  await store.close();
  await db.drop();
});

const ANN = '7';
const BOB = '8';
const newId = () => String(randomInt(1, 2 ** 48 - 1));

const send = (aggregateId: string, type: string, data: unknown, userId = ANN): Promise<CommandResult> =>
  handle({
    commandId: randomUUID(),
    type,
    aggregateId,
    data,
    metadata: { correlationId: randomUUID(), userId },
  } satisfies CommandInput);

async function ok(p: Promise<CommandResult>): Promise<Extract<CommandResult, { ok: true }>> {
  const r = await p;
  assert.ok(r.ok, JSON.stringify(r));
  return r;
}

async function refused(p: Promise<CommandResult>, code: string): Promise<void> {
  const r = await p;
  assert.ok(!r.ok, `expected ${code}, got ${JSON.stringify(r)}`);
  assert.equal(r.error.code, code, JSON.stringify(r.error));
}

async function newPet(): Promise<string> {
  const petId = newId();
  await ok(send(petStreamId(petId), 'CreatePet', { name: 'Rex' }));
  return petId;
}

async function newProduct(priceCents: number, stock: number): Promise<string> {
  const sku = `SKU-${randomUUID().slice(0, 8).toUpperCase()}`;
  await ok(send(productStreamId(sku), 'CreateProduct', { name: 'Bone', priceCents }));
  if (stock > 0) await ok(send(stockStreamId(sku), 'Restock', { quantity: stock }));
  return sku;
}

const aggregate = async (streamId: string) => (await store.readStream(streamId)).map((e) => e.type);
const petState = async (petId: string) => {
  const events = await store.readStream(petStreamId(petId));
  return events.at(-1)!.type;
};
const stockOf = async (sku: string) => {
  let onHand = 0;
  const held = new Map<string, number>();
  for (const e of await store.readStream(stockStreamId(sku))) {
    const d = e.data as { orderId?: string; quantity: number };
    if (e.type === 'StockRestocked') onHand += d.quantity;
    if (e.type === 'StockReserved') held.set(d.orderId!, d.quantity);
    if (e.type === 'StockReleased') held.delete(d.orderId!);
    if (e.type === 'StockCommitted') {
      held.delete(d.orderId!);
      onHand -= d.quantity;
    }
  }
  const reserved = [...held.values()].reduce((a, b) => a + b, 0);
  return { onHand, reserved, available: onHand - reserved };
};

describe('ordering a pet', () => {
  it('places exactly one of 40 concurrent orders for one pet; the others are refused and write nothing', async () => {
    const petId = await newPet();
    const orders = Array.from({ length: 40 }, newId);
    const results = await Promise.all(
      orders.map((id) => send(orderStreamId(id), 'PlaceOrder', { lines: [{ petId }] })),
    );
    const placed = results.flatMap((r, i) => (r.ok ? [i] : []));
    assert.equal(placed.length, 1);
    for (const r of results) if (!r.ok) assert.equal(r.error.code, 'pet_not_available');
    const winner = orders[placed[0]!]!;
    assert.deepEqual(await aggregate(petStreamId(petId)), ['PetCreated', 'PetReserved']);
    const [reserved] = (await store.readStream(petStreamId(petId))).slice(-1);
    assert.deepEqual(reserved!.data, { petId, orderId: winner });
    for (const id of orders) assert.equal(await store.streamExists(orderStreamId(id)), id === winner);
    const [orderPlaced] = await store.readStream(orderStreamId(winner));
    assert.deepEqual(orderPlaced!.data, {
      orderId: winner,
      userId: ANN,
      lines: [{ kind: 'pet', petId, quantity: 1 }],
      shipDate: null,
      source: 'api',
      shippingAddress: null,
      total: { amountCents: 0, currency: 'USD' },
    });
    assert.equal(orderPlaced!.metadata.userId, ANN);
  });

  it('refuses to delete a reserved pet; cancelling its order frees it to be ordered again', async () => {
    const petId = await newPet();
    const first = newId();
    await ok(send(orderStreamId(first), 'PlaceOrder', { lines: [{ petId }] }));
    await refused(send(petStreamId(petId), 'DeletePet', {}), 'pet_reserved');
    // Another customer may not cancel it, and learns nothing of it.
    await refused(send(orderStreamId(first), 'CancelOrder', {}, BOB), 'order_not_found');
    const cancelled = await ok(send(orderStreamId(first), 'CancelOrder', {}));
    assert.deepEqual(
      cancelled.streams?.map((s) => s.streamId),
      [orderStreamId(first), petStreamId(petId)],
    );
    assert.equal(await petState(petId), 'PetReleased');
    await refused(send(orderStreamId(first), 'CancelOrder', {}), 'invalid_status_transition');
    const second = newId();
    await ok(send(orderStreamId(second), 'PlaceOrder', { lines: [{ petId }] }, BOB));
    // Staff may cancel anyone's order.
    await ok(send(orderStreamId(second), 'CancelOrder', { asStaff: true }, ANN));
    await ok(send(petStreamId(petId), 'DeletePet', {}));
  });

  it('approving the order sells the pet; then it can be delivered, and no longer cancelled', async () => {
    const petId = await newPet();
    const id = newId();
    await ok(send(orderStreamId(id), 'PlaceOrder', { lines: [{ petId }], shipDate: '2026-12-24T10:00:00Z' }));
    await ok(send(orderStreamId(id), 'ApproveOrder', {}));
    assert.equal(await petState(petId), 'PetSold');
    await refused(send(orderStreamId(id), 'ApproveOrder', {}), 'invalid_status_transition');
    await refused(send(orderStreamId(id), 'CancelOrder', {}), 'invalid_status_transition');
    await ok(send(orderStreamId(id), 'DeliverOrder', {}));
    assert.deepEqual(await aggregate(orderStreamId(id)), ['OrderPlaced', 'OrderApproved', 'OrderDelivered']);
    await refused(send(orderStreamId(newId()), 'PlaceOrder', { lines: [{ petId }] }), 'pet_not_available');
  });

  it('refuses an order for a pet that does not exist, a pet twice, and orders of unknown aggregates', async () => {
    await refused(
      send(orderStreamId(newId()), 'PlaceOrder', { lines: [{ petId: newId() }] }),
      'pet_not_found',
    );
    const petId = await newPet();
    await refused(
      send(orderStreamId(newId()), 'PlaceOrder', { lines: [{ petId }, { petId }] }),
      'validation_failed',
    );
    await refused(send(orderStreamId(newId()), 'ApproveOrder', {}), 'order_not_found');
    await refused(send(orderStreamId(newId()), 'PlaceOrder', { lines: [] }), 'validation_failed');
    await refused(
      send(orderStreamId(newId()), 'PlaceOrder', { lines: [{ petId, extra: 1 }] }),
      'validation_failed',
    );
    await refused(send(`pet-${newId()}`, 'PlaceOrder', { lines: [{ petId }] }), 'validation_failed');
    assert.equal(await petState(petId), 'PetCreated');
  });

  it('needs the user placing the order', async () => {
    const petId = await newPet();
    const r = await handle({
      commandId: randomUUID(),
      type: 'PlaceOrder',
      aggregateId: orderStreamId(newId()),
      data: { lines: [{ petId }] },
      metadata: { correlationId: randomUUID() },
    });
    assert.equal(!r.ok && r.error.code, 'unauthorized');
  });
});

describe('ordering supplies', () => {
  it('captures the unit price when the order is placed', async () => {
    const sku = await newProduct(250, 10);
    const id = newId();
    await ok(send(orderStreamId(id), 'PlaceOrder', { lines: [{ sku, quantity: 3 }] }));
    await ok(send(productStreamId(sku), 'UpdateProduct', { name: 'Bone', priceCents: 999 }));
    const [placed] = await store.readStream(orderStreamId(id));
    assert.deepEqual(placed!.data, {
      orderId: id,
      userId: ANN,
      lines: [{ kind: 'supply', sku, quantity: 3, unitPrice: { amountCents: 250, currency: 'USD' } }],
      shipDate: null,
      source: 'api',
      shippingAddress: null,
      total: { amountCents: 750, currency: 'USD' },
    });
    assert.deepEqual(await stockOf(sku), { onHand: 10, reserved: 3, available: 7 });
  });

  it('never takes the stock below zero, however many orders arrive at once', async () => {
    const sku = await newProduct(100, 20);
    const quantities = Array.from({ length: 30 }, (_, i) => 1 + (i % 3));
    const results = await Promise.all(
      quantities.map((quantity) =>
        send(orderStreamId(newId()), 'PlaceOrder', { lines: [{ sku, quantity }] }),
      ),
    );
    let taken = 0;
    for (const [i, r] of results.entries()) {
      if (r.ok) taken += quantities[i]!;
      else assert.equal(r.error.code, 'insufficient_stock');
    }
    const stock = await stockOf(sku);
    assert.equal(stock.reserved, taken);
    assert.ok(stock.available >= 0 && stock.available < 3, `at most 2 left: ${JSON.stringify(stock)}`);
    assert.equal(stock.onHand, 20);
  });

  it('cancels a paid order with the saga’s reason, releasing its pets and stock; a paid order is approved', async () => {
    const petId = await newPet();
    const bones = await newProduct(250, 5);
    const id = newId();
    await ok(send(orderStreamId(id), 'PlaceOrder', { lines: [{ petId }, { sku: bones, quantity: 2 }] }));
    await ok(send(orderStreamId(id), 'MarkOrderPaid', { paymentId: 'pay-1' }));
    await refused(
      send(orderStreamId(id), 'MarkOrderPaid', { paymentId: 'pay-1' }),
      'invalid_status_transition',
    );
    await refused(send(orderStreamId(id), 'MarkOrderPaid', {}), 'validation_failed');
    await ok(send(orderStreamId(id), 'CancelOrder', { asStaff: true, reason: 'payment_declined' }, BOB));
    const [, paid, cancelled] = await store.readStream(orderStreamId(id));
    assert.deepEqual(paid!.data, { orderId: id, userId: ANN, paymentId: 'pay-1' });
    assert.deepEqual(cancelled!.data, { orderId: id, userId: ANN, by: BOB, reason: 'payment_declined' });
    assert.equal(await petState(petId), 'PetReleased');
    assert.deepEqual(await stockOf(bones), { onHand: 5, reserved: 0, available: 5 });

    const other = newId();
    await ok(send(orderStreamId(other), 'PlaceOrder', { lines: [{ petId }], source: 'petstore' }));
    assert.equal(
      ((await store.readStream(orderStreamId(other)))[0]!.data as { source: string }).source,
      'petstore',
    );
    await refused(
      send(orderStreamId(other), 'PlaceOrder', { lines: [{ petId }], source: 'checkout' }),
      'validation_failed',
    );
    await ok(send(orderStreamId(other), 'MarkOrderPaid', { paymentId: 'pay-2' }));
    await ok(send(orderStreamId(other), 'ApproveOrder', {}));
    assert.equal(await petState(petId), 'PetSold');
    await ok(send(orderStreamId(other), 'MarkOrderShipped', { trackingNumber: 'OM1' }));
    await ok(send(orderStreamId(other), 'DeliverOrder', {}));
  });

  it('places pets and supplies together or not at all; approving commits the stock, cancelling releases it', async () => {
    const petId = await newPet();
    const bones = await newProduct(250, 5);
    const leash = await newProduct(1999, 1);
    await refused(
      send(orderStreamId(newId()), 'PlaceOrder', {
        lines: [{ petId }, { sku: bones, quantity: 2 }, { sku: leash, quantity: 2 }],
      }),
      'insufficient_stock',
    );
    assert.equal(await petState(petId), 'PetCreated');
    assert.deepEqual(await stockOf(bones), { onHand: 5, reserved: 0, available: 5 });

    const id = newId();
    const placed = await ok(
      send(orderStreamId(id), 'PlaceOrder', {
        lines: [{ petId }, { sku: bones, quantity: 2 }, { sku: leash, quantity: 1 }],
      }),
    );
    assert.equal(placed.streams?.length, 4);
    assert.equal(placed.streamId, orderStreamId(id));
    const [event] = await store.readStream(orderStreamId(id));
    assert.deepEqual((event!.data as { total: unknown }).total, { amountCents: 2499, currency: 'USD' });
    await ok(send(orderStreamId(id), 'ApproveOrder', {}));
    assert.deepEqual(await stockOf(bones), { onHand: 3, reserved: 0, available: 3 });
    assert.deepEqual(await stockOf(leash), { onHand: 0, reserved: 0, available: 0 });
    assert.equal(await petState(petId), 'PetSold');

    const other = newId();
    await ok(send(orderStreamId(other), 'PlaceOrder', { lines: [{ sku: bones, quantity: 3 }] }));
    assert.deepEqual(await stockOf(bones), { onHand: 3, reserved: 3, available: 0 });
    await ok(send(orderStreamId(other), 'CancelOrder', {}));
    assert.deepEqual(await stockOf(bones), { onHand: 3, reserved: 0, available: 3 });
  });

  it('refuses a product that does not exist, and restocks of nothing', async () => {
    await refused(
      send(orderStreamId(newId()), 'PlaceOrder', { lines: [{ sku: 'NO-SUCH-SKU', quantity: 1 }] }),
      'product_not_found',
    );
    const sku = await newProduct(100, 0);
    await refused(
      send(orderStreamId(newId()), 'PlaceOrder', { lines: [{ sku, quantity: 1 }] }),
      'insufficient_stock',
    );
    await refused(send(stockStreamId(sku), 'Restock', { quantity: 0 }), 'validation_failed');
    await refused(send(stockStreamId(sku), 'Restock', { quantity: -5 }), 'validation_failed');
    await refused(
      send(orderStreamId(newId()), 'PlaceOrder', { lines: [{ sku, quantity: 1001 }] }),
      'validation_failed',
    );
  });
});
