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
  data: { orderId, userId: UserId('7'), lines, shipDate: null, total: money(500, 'USD') },
};

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
      placedAt: '2026-12-03T10:00:00.000Z',
      updatedAt: '2026-12-03T10:00:00.000Z',
      version: 1,
    });
  });

  it('follows the status, and keeps the columns and counters on it', () => {
    const doc = given([
      placed,
      { type: 'OrderApproved', data: { orderId } },
      { type: 'OrderDelivered', data: { orderId } },
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
      given([placed, { type: 'OrderCancelled', data: { orderId, by: UserId('7') } }])!.status,
      'cancelled',
    );
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
