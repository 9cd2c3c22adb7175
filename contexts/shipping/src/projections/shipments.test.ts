// The shipments projection as Given (events) / Then (document, columns, counters, topics).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ProjectedEvent } from '@optic-mart/runtime';
import { OrderId, UserId } from '@optic-mart/ordering';
import type { ShipmentEvent } from '../domain/shipment.js';
import { shipmentsProjection, type ShipmentView } from './shipments.js';

const orderId = OrderId('1001');
const userId = UserId('7');
const address = { name: 'Ann', line1: '1 Main St', city: 'Springfield', postalCode: '12345', country: 'US' };
const trackingNumber = 'OM0000000000010013US';
const created: ShipmentEvent = {
  type: 'ShipmentCreated',
  data: { orderId, userId, address, trackingNumber },
};

function given(events: readonly ShipmentEvent[]): ShipmentView | null {
  const recorded: ProjectedEvent[] = events.map((e, i) => ({
    id: `e${i}`,
    streamId: `shipment-${orderId}`,
    type: e.type,
    data: e.data,
    metadata: {},
    version: i + 1,
    position: 100 + i,
    recordedAt: new Date(Date.UTC(2026, 11, 3, 10, i)),
  }));
  const doc = recorded.reduce<ShipmentView | null>((d, e) => {
    assert.equal(shipmentsProjection.documentId(e), orderId);
    return shipmentsProjection.apply(d, e);
  }, null);
  assert.deepStrictEqual(JSON.parse(JSON.stringify(doc)) as unknown, doc, 'the document is plain JSON');
  return doc;
}

describe('the shipments projection', () => {
  it('shows a created shipment with its tracking number and address', () => {
    assert.deepEqual(given([created]), {
      orderId,
      userId,
      trackingNumber,
      address,
      status: 'created',
      cancelReason: null,
      history: [{ status: 'created', at: '2026-12-03T10:00:00.000Z' }],
      createdAt: '2026-12-03T10:00:00.000Z',
      updatedAt: '2026-12-03T10:00:00.000Z',
      version: 1,
    });
  });

  it('follows shipped and delivered, with the history, columns and counters', () => {
    const doc = given([
      created,
      { type: 'ShipmentShipped', data: { orderId, userId, trackingNumber } },
      { type: 'ShipmentDelivered', data: { orderId, userId, trackingNumber } },
    ])!;
    assert.equal(doc.status, 'delivered');
    assert.deepEqual(
      doc.history.map((h) => h.status),
      ['created', 'shipped', 'delivered'],
    );
    assert.equal(shipmentsProjection.columns!.user_id!.value(doc), '7');
    assert.equal(shipmentsProjection.columns!.status!.value(doc), 'delivered');
    assert.equal(shipmentsProjection.counters!.status!(doc), 'delivered');
    assert.deepEqual(shipmentsProjection.topics!(orderId, null, doc), [
      'shipments',
      `orders/${orderId}/shipment`,
      'users/7/shipments',
    ]);
  });

  it('keeps why a shipment was cancelled', () => {
    const doc = given([
      created,
      { type: 'ShipmentCancelled', data: { orderId, userId, reason: 'shipment_failed' } },
    ])!;
    assert.deepEqual([doc.status, doc.cancelReason], ['cancelled', 'shipment_failed']);
  });
});
