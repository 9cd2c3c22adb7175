import { describe, it } from 'node:test';
import { given } from '@optic-mart/runtime';
import {
  paymentDecider,
  type PaymentCommand,
  type PaymentEvent,
  type RecordProviderResultData,
} from './payment.js';

const orderId = '42';
const usd = (amountCents: number) => ({ amountCents, currency: 'USD' });
const P = 'pay_1';

const requested: PaymentEvent = { type: 'PaymentRequested', data: { orderId, amount: usd(1000) } };
const authorized: PaymentEvent = {
  type: 'PaymentAuthorized',
  data: { orderId, providerPaymentId: P, eventId: 'evt_a' },
};
const captured: PaymentEvent = {
  type: 'PaymentCaptured',
  data: { orderId, providerPaymentId: P, eventId: 'evt_c', amountCents: 1000 },
};
const refunded = (amountCents: number, refundId: string): PaymentEvent => ({
  type: 'PaymentRefunded',
  data: { orderId, providerPaymentId: P, amountCents, refundId },
});

const result = (data: Omit<RecordProviderResultData, 'orderId'>): PaymentCommand => ({
  type: 'RecordProviderResult',
  data: { orderId, ...data },
});
const refund = (idempotencyKey: string, amountCents?: number): PaymentCommand => ({
  type: 'RefundPayment',
  data: { orderId, idempotencyKey, ...(amountCents !== undefined && { amountCents }) },
});

describe('Payment: RequestPayment', () => {
  it('requests a payment of the order’s amount', () => {
    given(paymentDecider, [])
      .when({ type: 'RequestPayment', data: { orderId, amount: usd(1000), userId: '7' } })
      .then([{ type: 'PaymentRequested', data: { orderId, amount: usd(1000), userId: '7' } }]);
  });

  it('applies the same request once; refuses another amount', () => {
    given(paymentDecider, [requested])
      .when({ type: 'RequestPayment', data: { orderId, amount: usd(1000) } })
      .then([]);
    given(paymentDecider, [requested])
      .when({ type: 'RequestPayment', data: { orderId, amount: usd(999) } })
      .thenThrows('payment_already_exists');
  });

  it('refuses a zero or fractional amount', () => {
    given(paymentDecider, [])
      .when({ type: 'RequestPayment', data: { orderId, amount: usd(0) } })
      .thenThrows('validation_failed');
    given(paymentDecider, [])
      .when({ type: 'RequestPayment', data: { orderId, amount: usd(1.5) } })
      .thenThrows('validation_failed');
  });
});

describe('Payment: RecordProviderResult', () => {
  it('records an authorization, then a capture', () => {
    given(paymentDecider, [requested])
      .when(result({ kind: 'authorized', providerPaymentId: P, eventId: 'evt_a' }))
      .then([authorized]);
    given(paymentDecider, [requested, authorized])
      .when(result({ kind: 'captured', providerPaymentId: P, eventId: 'evt_c', amountCents: 1000 }))
      .then([captured]);
  });

  it('is idempotent on the provider’s event id, and ignores a result it is past already', () => {
    given(paymentDecider, [requested, authorized])
      .when(result({ kind: 'authorized', providerPaymentId: P, eventId: 'evt_a' }))
      .then([]);
    // The same authorization reported by the saga's own call (another id) after the webhook: nothing new.
    given(paymentDecider, [requested, authorized, captured])
      .when(result({ kind: 'authorized', providerPaymentId: P, eventId: 'call:authorize' }))
      .then([]);
    given(paymentDecider, [requested, authorized, captured])
      .when(result({ kind: 'captured', providerPaymentId: P, eventId: 'evt_other' }))
      .then([]);
  });

  it('records a capture that arrives before its authorization as both', () => {
    given(paymentDecider, [requested])
      .when(result({ kind: 'captured', providerPaymentId: P, eventId: 'evt_c', amountCents: 1000 }))
      .then([
        { type: 'PaymentAuthorized', data: { orderId, providerPaymentId: P, eventId: 'evt_c' } },
        captured,
      ]);
  });

  it('records a decline with its reason, and a pending answer', () => {
    given(paymentDecider, [requested])
      .when(result({ kind: 'declined', providerPaymentId: P, reason: 'insufficient_funds' }))
      .then([
        { type: 'PaymentDeclined', data: { orderId, providerPaymentId: P, reason: 'insufficient_funds' } },
      ]);
    given(paymentDecider, [requested])
      .when(result({ kind: 'pending', providerPaymentId: P }))
      .then([{ type: 'PaymentPending', data: { orderId, providerPaymentId: P } }]);
  });

  it('records a failure without a provider payment (the provider never answered)', () => {
    given(paymentDecider, [requested])
      .when(result({ kind: 'failed', reason: 'provider_timeout' }))
      .then([{ type: 'PaymentFailed', data: { orderId, reason: 'provider_timeout' } }]);
  });

  it('refuses a capture of a declined or voided payment, and a void of a captured one', () => {
    const declined: PaymentEvent = {
      type: 'PaymentDeclined',
      data: { orderId, providerPaymentId: P, reason: 'x' },
    };
    given(paymentDecider, [requested, declined])
      .when(result({ kind: 'captured', providerPaymentId: P }))
      .thenThrows('payment_invalid_state');
    const voided: PaymentEvent = { type: 'PaymentVoided', data: { orderId, providerPaymentId: P } };
    given(paymentDecider, [requested, authorized, voided])
      .when(result({ kind: 'captured', providerPaymentId: P }))
      .thenThrows('payment_invalid_state');
    given(paymentDecider, [requested, authorized, captured])
      .when(result({ kind: 'voided', providerPaymentId: P }))
      .thenThrows('payment_invalid_state');
    given(paymentDecider, [requested, authorized])
      .when(result({ kind: 'voided', providerPaymentId: P, eventId: 'evt_v' }))
      .then([{ type: 'PaymentVoided', data: { orderId, providerPaymentId: P, eventId: 'evt_v' } }]);
  });

  it('refuses a result for another provider payment, and one for no payment', () => {
    given(paymentDecider, [requested, authorized])
      .when(result({ kind: 'captured', providerPaymentId: 'pay_other' }))
      .thenThrows('validation_failed');
    given(paymentDecider, [])
      .when(result({ kind: 'authorized', providerPaymentId: P }))
      .thenThrows('payment_not_found');
  });

  it('records each refund once (by refund id), at most what was captured', () => {
    given(paymentDecider, [requested, authorized, captured])
      .when(result({ kind: 'refunded', providerPaymentId: P, refundId: 're_1', amountCents: 400 }))
      .then([refunded(400, 're_1')]);
    given(paymentDecider, [requested, authorized, captured, refunded(400, 're_1')])
      .when(
        result({
          kind: 'refunded',
          providerPaymentId: P,
          refundId: 're_1',
          amountCents: 400,
          eventId: 'evt_r',
        }),
      )
      .then([]);
    given(paymentDecider, [requested, authorized, captured, refunded(400, 're_1')])
      .when(result({ kind: 'refunded', providerPaymentId: P, refundId: 're_2', amountCents: 601 }))
      .thenThrows('refund_exceeds_captured');
    given(paymentDecider, [requested, authorized])
      .when(result({ kind: 'refunded', providerPaymentId: P, refundId: 're_1' }))
      .thenThrows('payment_invalid_state');
  });
});

describe('Payment: RefundPayment', () => {
  it('requests a refund of all that is refundable by default, once per idempotency key', () => {
    given(paymentDecider, [requested, authorized, captured, refunded(300, 're_1')])
      .when(refund('k1'))
      .then([
        {
          type: 'PaymentRefundRequested',
          data: { orderId, amountCents: 700, reason: 'requested', idempotencyKey: 'k1' },
        },
      ]);
    const asked: PaymentEvent = {
      type: 'PaymentRefundRequested',
      data: { orderId, amountCents: 700, reason: 'requested', idempotencyKey: 'k1' },
    };
    given(paymentDecider, [requested, authorized, captured, asked]).when(refund('k1')).then([]);
  });

  it('refuses a refund of an uncaptured payment, or of more than was captured', () => {
    given(paymentDecider, [requested, authorized]).when(refund('k')).thenThrows('payment_invalid_state');
    given(paymentDecider, [requested, authorized, captured])
      .when(refund('k', 1001))
      .thenThrows('refund_exceeds_captured');
    given(paymentDecider, [requested, authorized, captured, refunded(1000, 're_1')])
      .when(refund('k'))
      .thenThrows('payment_invalid_state');
    given(paymentDecider, []).when(refund('k')).thenThrows('payment_not_found');
  });
});
