// The orders projection as Given (events) / Then (document, columns, counters, topics).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ProjectedEvent } from '@optic-mart/runtime';
import { OrderId, PetId, Sku, UserId } from '../domain/ids.js';
import { money } from '../domain/money.js';
import type { OrderEvent } from '../domain/order.js';
import { ordersProjection, type OrderView } from './orders.js';

const orderId = OrderId('1001');
const lines = [
  { kind: 'pet', petId: PetId('42'), quantity: 1 },
  { kind: 'supply', sku: Sku('BONE-1'), quantity: 2, unitPrice: money(250, 'USD') },
] as const;
const placed: OrderEvent = {
  type: 'OrderPlaced',
  data: {
    orderId,
    userId: UserId('7'),
    lines,
    shipDate: null,
    source: 'api',
    shippingAddress: null,
    total: money(500, 'USD'),
  },
};
const ann = UserId('7');

const recorded = (events: readonly OrderEvent[]): ProjectedEvent[] =>
  events.map((e, i) => ({
    id: `e${i}`,
    streamId: `order-${orderId}`,
    type: e.type,
    data: e.data,
    metadata: {},
    version: i + 1,
    position: 100 + i,
    recordedAt: new Date(Date.UTC(2026, 11, 3, 10, i)),
  }));

function given(events: readonly OrderEvent[]): OrderView | null {
  const doc = recorded(events).reduce<OrderView | null>((d, e) => {
    assert.equal(ordersProjection.documentId(e), orderId);
    return ordersProjection.apply(d, e);
  }, null);
  assert.deepStrictEqual(JSON.parse(JSON.stringify(doc)) as unknown, doc, 'the document is plain JSON');
  return doc;
}

describe('the orders projection', () => {
  it('shows a placed order with its user, lines, total and when it was placed', () => {
    assert.deepEqual(given([placed]), {
      id: orderId,
      userId: '7',
      status: 'placed',
      lines,
      total: { amountCents: 500, currency: 'USD' },
      shipDate: null,
      source: 'api',
      shippingAddress: null,
      paymentId: null,
      trackingNumber: null,
      cancelReason: null,
      placedAt: '2026-12-03T10:00:00.000Z',
      updatedAt: '2026-12-03T10:00:00.000Z',
      version: 1,
    });
  });

  it('follows the status, and keeps the columns and counters on it', () => {
    const doc = given([
      placed,
      { type: 'OrderApproved', data: { orderId, userId: ann } },
      { type: 'OrderDelivered', data: { orderId, userId: ann } },
    ])!;
    assert.equal(doc.status, 'delivered');
    assert.equal(doc.version, 3);
    assert.equal(doc.updatedAt, '2026-12-03T10:02:00.000Z');
    const columns = ordersProjection.columns!;
    assert.equal(columns.user_id!.value(doc), '7');
    assert.equal(columns.status!.value(doc), 'delivered');
    assert.deepEqual(columns.pet_ids!.value(doc), ['42']);
    assert.equal(ordersProjection.counters!.status!(doc), 'delivered');
    assert.equal(
      given([
        placed,
        { type: 'OrderCancelled', data: { orderId, userId: ann, by: ann, reason: 'cancelled_by_customer' } },
      ])!.status,
      'cancelled',
    );
  });

  it('follows a checkout’s order: paid, shipped with its tracking number, delivered', () => {
    const address = { name: 'Ann', line1: '1 Main St', city: 'Springfield', postalCode: '1', country: 'US' };
    const fromCheckout: OrderEvent = {
      type: 'OrderPlaced',
      data: { ...(placed.data as object), source: 'checkout', shippingAddress: address } as never,
    };
    const paidDoc = given([
      fromCheckout,
      { type: 'OrderPaid', data: { orderId, userId: ann, paymentId: 'p1' } },
    ])!;
    assert.equal(paidDoc.status, 'paid');
    assert.equal(paidDoc.source, 'checkout');
    assert.deepEqual(paidDoc.shippingAddress, address);
    assert.equal(paidDoc.paymentId, 'p1');
    assert.equal(ordersProjection.columns!.source!.value(paidDoc), 'checkout');
    const shippedDoc = given([
      fromCheckout,
      { type: 'OrderPaid', data: { orderId, userId: ann, paymentId: 'p1' } },
      { type: 'OrderApproved', data: { orderId, userId: ann } },
      { type: 'OrderShipped', data: { orderId, userId: ann, trackingNumber: 'T1' } },
    ])!;
    assert.equal(shippedDoc.status, 'shipped');
    assert.equal(shippedDoc.trackingNumber, 'T1');
  });

  it('keeps the reason of a cancellation, and reads orders placed before issue 6 as from the API', () => {
    const old = {
      ...placed,
      data: { orderId, userId: ann, lines, shipDate: null, total: money(500, 'USD') },
    };
    const doc = given([
      old as unknown as OrderEvent,
      { type: 'OrderCancelled', data: { orderId, userId: ann, by: ann, reason: 'payment_declined' } },
    ])!;
    assert.equal(doc.source, 'api');
    assert.equal(doc.shippingAddress, null);
    assert.equal(doc.cancelReason, 'payment_declined');
  });

  it('notifies the order’s topics and its user’s', () => {
    const doc = given([placed]);
    assert.deepEqual(ordersProjection.topics!(orderId, null, doc), [
      'orders',
      `orders/${orderId}`,
      'users/7/orders',
    ]);
  });
});
