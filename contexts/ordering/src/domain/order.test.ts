import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { given } from '@optic-mart/runtime';
import { OrderId, PetId, Sku, UserId } from './ids.js';
import { money } from './money.js';
import {
  orderDecider,
  type OrderCommand,
  type OrderEvent,
  type OrderLine,
  type OrderPlacedData,
} from './order.js';

const orderId = OrderId('1001');
const ann = UserId('7');
const bob = UserId('8');
const rex: OrderLine = { kind: 'pet', petId: PetId('42'), quantity: 1 };
const bones: OrderLine = { kind: 'supply', sku: Sku('BONE-1'), quantity: 3, unitPrice: money(250, 'USD') };
const leash: OrderLine = { kind: 'supply', sku: Sku('LEASH-2'), quantity: 1, unitPrice: money(1999, 'USD') };

const place = (
  lines: readonly OrderLine[] = [rex, bones, leash],
  shipDate: string | null = null,
): OrderCommand => ({
  type: 'PlaceOrder',
  data: { orderId, userId: ann, lines, shipDate },
});
const placedData: OrderPlacedData = {
  orderId,
  userId: ann,
  lines: [rex, bones, leash],
  shipDate: null,
  source: 'api',
  shippingAddress: null,
  total: money(2749, 'USD'),
};
const placed: OrderEvent = { type: 'OrderPlaced', data: placedData };
const approved: OrderEvent = { type: 'OrderApproved', data: { orderId, userId: ann } };
const delivered: OrderEvent = { type: 'OrderDelivered', data: { orderId, userId: ann } };
const cancelled: OrderEvent = {
  type: 'OrderCancelled',
  data: { orderId, userId: ann, by: ann, reason: 'cancelled_by_customer' },
};
const address = { name: 'Ann', line1: '1 Main St', city: 'Springfield', postalCode: '12345', country: 'US' };
const checkedOut: OrderEvent = {
  type: 'OrderPlaced',
  data: { ...placedData, source: 'checkout', shippingAddress: address },
};
const paid: OrderEvent = { type: 'OrderPaid', data: { orderId, userId: ann, paymentId: 'pay_1' } };
const shipped: OrderEvent = {
  type: 'OrderShipped',
  data: { orderId, userId: ann, trackingNumber: 'OM0000000010019US' },
};
const markPaid: OrderCommand = { type: 'MarkOrderPaid', data: { orderId, paymentId: 'pay_1' } };
const markShipped: OrderCommand = {
  type: 'MarkOrderShipped',
  data: { orderId, trackingNumber: 'OM0000000010019US' },
};

const approve: OrderCommand = { type: 'ApproveOrder', data: { orderId } };
const deliver: OrderCommand = { type: 'DeliverOrder', data: { orderId } };
const cancel = (by = ann, asStaff = false): OrderCommand => ({
  type: 'CancelOrder',
  data: { orderId, by, asStaff },
});

describe('PlaceOrder', () => {
  it('places an order of pets and supplies, its total in cents from the captured unit prices', () => {
    given(orderDecider).when(place()).then([placed]);
  });

  it('keeps the ship date the customer asked for', () => {
    given(orderDecider)
      .when(place([rex], '2026-12-24T10:00:00.000Z'))
      .then([
        {
          type: 'OrderPlaced',
          data: {
            orderId,
            userId: ann,
            lines: [rex],
            shipDate: '2026-12-24T10:00:00.000Z',
            source: 'api',
            shippingAddress: null,
            total: money(0, 'USD'),
          },
        },
      ]);
  });

  it('refuses an order id that is taken', () => {
    given(orderDecider, [placed]).when(place()).thenThrows('order_already_exists');
  });

  it('refuses no lines, a pet twice, a SKU twice, bad quantities and mixed currencies', () => {
    given(orderDecider).when(place([])).thenThrows('validation_failed');
    given(orderDecider)
      .when(place([rex, rex]))
      .thenThrows('validation_failed', /two lines/);
    given(orderDecider)
      .when(place([bones, bones]))
      .thenThrows('validation_failed', /two lines/);
    given(orderDecider)
      .when(place([{ ...bones, quantity: 1001 }]))
      .thenThrows('validation_failed', /1 to 1000/);
    given(orderDecider)
      .when(place([{ ...bones, quantity: 0 }]))
      .thenThrows('validation_failed');
    given(orderDecider)
      .when(place([{ ...rex, quantity: 2 as 1 }]))
      .thenThrows('validation_failed', /one at a time/);
    given(orderDecider)
      .when(place([bones, { ...leash, unitPrice: money(100, 'EUR') }]))
      .thenThrows('validation_failed', /currency/);
  });
});

describe('the state machine: placed → approved → delivered, placed → cancelled', () => {
  it('approves a placed order, delivers an approved one', () => {
    given(orderDecider, [placed]).when(approve).then([approved]);
    given(orderDecider, [placed, approved]).when(deliver).then([delivered]);
  });

  it('refuses every other transition, naming the status', () => {
    const err = given(orderDecider, [placed]).when(deliver).thenThrows('invalid_status_transition');
    assert.deepEqual(err.extra, { from: 'placed', to: 'delivered' });
    given(orderDecider, [placed, approved]).when(approve).thenThrows('invalid_status_transition');
    given(orderDecider, [placed, approved]).when(cancel()).thenThrows('invalid_status_transition');
    given(orderDecider, [placed, approved, delivered]).when(cancel()).thenThrows('invalid_status_transition');
    given(orderDecider, [placed, cancelled]).when(approve).thenThrows('invalid_status_transition');
    given(orderDecider, [placed, cancelled]).when(cancel()).thenThrows('invalid_status_transition');
  });

  it('refuses any operation on an order that does not exist', () => {
    for (const c of [approve, deliver, cancel()]) given(orderDecider).when(c).thenThrows('order_not_found');
  });
});

describe('CancelOrder', () => {
  it('lets the owner cancel a placed order', () => {
    given(orderDecider, [placed]).when(cancel()).then([cancelled]);
  });

  it('lets staff cancel anyone’s order', () => {
    given(orderDecider, [placed])
      .when(cancel(bob, true))
      .then([
        { type: 'OrderCancelled', data: { orderId, userId: ann, by: bob, reason: 'cancelled_by_staff' } },
      ]);
  });

  it('cancels a paid order with the reason given (the saga’s compensation)', () => {
    given(orderDecider, [checkedOut, paid])
      .when({ type: 'CancelOrder', data: { orderId, by: bob, asStaff: true, reason: 'shipment_failed' } })
      .then([{ type: 'OrderCancelled', data: { orderId, userId: ann, by: bob, reason: 'shipment_failed' } }]);
  });

  it('answers another customer as if the order did not exist', () => {
    given(orderDecider, [placed]).when(cancel(bob)).thenThrows('order_not_found');
  });

  it('refuses to cancel a shipped order', () => {
    given(orderDecider, [checkedOut, paid, approved, shipped])
      .when(cancel(bob, true))
      .thenThrows('invalid_status_transition');
  });
});

describe('a checkout’s order: placed → paid → approved → shipped → delivered', () => {
  it('places an order from a checkout with its source and shipping address', () => {
    given(orderDecider)
      .when({
        type: 'PlaceOrder',
        data: {
          orderId,
          userId: ann,
          lines: [rex, bones, leash],
          shipDate: null,
          source: 'checkout',
          shippingAddress: address,
        },
      })
      .then([checkedOut]);
  });

  it('refuses a checkout’s order with no shipping address', () => {
    given(orderDecider)
      .when({
        type: 'PlaceOrder',
        data: { orderId, userId: ann, lines: [rex], shipDate: null, source: 'checkout' },
      })
      .thenThrows('validation_failed', /shipping address/);
  });

  it('marks a placed order paid, with its payment', () => {
    given(orderDecider, [checkedOut]).when(markPaid).then([paid]);
  });

  it('approves a paid order', () => {
    given(orderDecider, [checkedOut, paid]).when(approve).then([approved]);
  });

  it('marks an approved order shipped, with its tracking number', () => {
    given(orderDecider, [checkedOut, paid, approved]).when(markShipped).then([shipped]);
  });

  it('delivers a shipped order, by its shipment only', () => {
    given(orderDecider, [checkedOut, paid, approved, shipped])
      .when({ type: 'DeliverOrder', data: { orderId, byShipment: true } })
      .then([delivered]);
    given(orderDecider, [checkedOut, paid, approved, shipped])
      .when(deliver)
      .thenThrows('invalid_status_transition', /shipment/);
  });

  it('delivers a checkout’s order only once shipped; a Petstore/API order from approved', () => {
    given(orderDecider, [checkedOut, paid, approved]).when(deliver).thenThrows('invalid_status_transition');
    given(orderDecider, [placed, approved]).when(deliver).then([delivered]);
  });

  it('refuses paying twice, shipping before approval, and paying a cancelled order', () => {
    given(orderDecider, [checkedOut, paid]).when(markPaid).thenThrows('invalid_status_transition');
    given(orderDecider, [checkedOut, paid]).when(markShipped).thenThrows('invalid_status_transition');
    given(orderDecider, [checkedOut, cancelled]).when(markPaid).thenThrows('invalid_status_transition');
    given(orderDecider).when(markPaid).thenThrows('order_not_found');
    given(orderDecider).when(markShipped).thenThrows('order_not_found');
  });
});
