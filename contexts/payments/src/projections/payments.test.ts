// The payments projection as Given (events) / Then (document, columns, counters).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ProjectedEvent } from '@optic-mart/runtime';
import type { PaymentEvent } from '../domain/payment.js';
import { paymentsProjection, type PaymentView } from './payments.js';

const orderId = '1001';
const P = 'pay_1';

const recorded = (events: readonly PaymentEvent[]): ProjectedEvent[] =>
  events.map((e, i) => ({
    id: `e${i}`,
    streamId: `payment-${orderId}`,
    type: e.type,
    data: e.data,
    metadata: {},
    version: i + 1,
    position: 100 + i,
    recordedAt: new Date(Date.UTC(2026, 11, 3, 10, i)),
  }));

const project = (events: readonly PaymentEvent[]): PaymentView | null =>
  recorded(events).reduce<PaymentView | null>((doc, e) => paymentsProjection.apply(doc, e), null);

describe('payments projection', () => {
  it('follows a payment from request to partial refund, with its history', () => {
    const doc = project([
      {
        type: 'PaymentRequested',
        data: { orderId, amount: { amountCents: 1000, currency: 'USD' }, userId: '7' },
      },
      { type: 'PaymentAuthorized', data: { orderId, providerPaymentId: P } },
      { type: 'PaymentCaptured', data: { orderId, providerPaymentId: P, amountCents: 1000 } },
      {
        type: 'PaymentRefundRequested',
        data: { orderId, amountCents: 300, reason: 'requested', idempotencyKey: 'k' },
      },
      {
        type: 'PaymentRefunded',
        data: { orderId, providerPaymentId: P, amountCents: 300, refundId: 're_1' },
      },
    ]);
    assert.ok(doc);
    const [voided] = recorded([{ type: 'PaymentVoided', data: { orderId, providerPaymentId: P } }]);
    assert.ok(voided);
    assert.equal(paymentsProjection.documentId(voided), orderId);
    assert.equal(doc.status, 'partially_refunded');
    assert.equal(doc.userId, '7');
    assert.equal(doc.providerPaymentId, P);
    assert.equal(doc.capturedCents, 1000);
    assert.equal(doc.refundedCents, 300);
    assert.equal(doc.version, 5);
    assert.deepEqual(
      doc.history.map((h) => h.type),
      [
        'PaymentRequested',
        'PaymentAuthorized',
        'PaymentCaptured',
        'PaymentRefundRequested',
        'PaymentRefunded',
      ],
    );
    assert.equal(paymentsProjection.columns?.status?.value(doc), 'partially_refunded');
    assert.equal(paymentsProjection.counters?.status?.(doc), 'partially_refunded');
  });

  it('shows a decline with its reason, and ignores events before the request', () => {
    const doc = project([
      { type: 'PaymentRequested', data: { orderId, amount: { amountCents: 500, currency: 'EUR' } } },
      { type: 'PaymentDeclined', data: { orderId, providerPaymentId: P, reason: 'insufficient_funds' } },
    ]);
    assert.equal(doc?.status, 'declined');
    assert.equal(doc?.reason, 'insufficient_funds');
    assert.equal(project([{ type: 'PaymentAuthorized', data: { orderId, providerPaymentId: P } }]), null);
  });
});
