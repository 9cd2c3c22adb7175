// The fulfillment saga's decider, Given / When / Then.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { given } from '@optic-mart/runtime';
import {
  compensationPlan,
  fulfillmentDecider as decider,
  inFlight,
  initialFulfillmentState,
  nextStep,
  type FulfillmentCommand,
  type FulfillmentEvent,
  type StartFulfillmentData,
  type Step,
  type StepResult,
} from './fulfillment.js';

const orderId = '42';
const start: StartFulfillmentData = {
  orderId,
  userId: '7',
  amount: { amountCents: 1999, currency: 'EUR' },
  shippingAddress: { name: 'Ada', line1: '1 Main St', city: 'Berlin', postalCode: '10115', country: 'DE' },
  maxAttempts: 3,
  maxCompensationAttempts: 5,
};

const started: FulfillmentEvent[] = [
  { type: 'FulfillmentStarted', data: start },
  { type: 'StepSucceeded', data: { orderId, step: 'reserve', attempt: 1, result: {} } },
];
const stepStarted = (step: Step, attempt = 1): FulfillmentEvent => ({
  type: 'StepStarted',
  data: { orderId, step, attempt },
});
const succeeded = (step: Step, attempt = 1, result: StepResult = {}): FulfillmentEvent => ({
  type: 'StepSucceeded',
  data: { orderId, step, attempt, result },
});
const failed = (step: Step, attempt: number, error: string, retryable: boolean): FulfillmentEvent => ({
  type: 'StepFailed',
  data: { orderId, step, attempt, error, retryable },
});
const ran = (step: Step, result: StepResult = {}) => [stepStarted(step), succeeded(step, 1, result)];

const startStep = (step: Step, attempt = 1): FulfillmentCommand => ({
  type: 'StartStep',
  data: { step, attempt },
});
const complete = (step: Step, attempt = 1, result?: StepResult): FulfillmentCommand => ({
  type: 'CompleteStep',
  data: { step, attempt, ...(result ? { result } : {}) },
});
const fail = (step: Step, attempt: number, error: string, retryable: boolean): FulfillmentCommand => ({
  type: 'FailStep',
  data: { step, attempt, error, retryable },
});

const fold = (events: readonly FulfillmentEvent[]) =>
  events.reduce(decider.evolve, initialFulfillmentState());

const paid = [
  ...started,
  ...ran('authorize', { providerPaymentId: 'pay_1' }),
  ...ran('capture'),
  ...ran('markPaid'),
];

describe('the fulfillment saga', () => {
  it('starts with the reservation recorded (made when the order was placed)', () => {
    given(decider, []).when({ type: 'StartFulfillment', data: start }).then(started);
    assert.equal(nextStep(fold(started)), 'authorize');
  });

  it('happy path: authorize → capture → markPaid → createShipment → approve → completed', () => {
    given(decider, started)
      .when(startStep('authorize'))
      .then([stepStarted('authorize')]);
    given(decider, [...started, stepStarted('authorize')])
      .when(complete('authorize', 1, { providerPaymentId: 'pay_1' }))
      .then([succeeded('authorize', 1, { providerPaymentId: 'pay_1' })]);
    assert.equal(nextStep(fold(paid)), 'createShipment');
    given(decider, [...paid, stepStarted('createShipment')])
      .when(complete('createShipment', 1, { trackingNumber: 'TRK1' }))
      .then([succeeded('createShipment', 1, { trackingNumber: 'TRK1' })]);
    const shipped = [...paid, ...ran('createShipment', { trackingNumber: 'TRK1' })];
    given(decider, [...shipped, stepStarted('approve')])
      .when(complete('approve'))
      .then([succeeded('approve'), { type: 'FulfillmentCompleted', data: { orderId } }]);
    const done = fold([...shipped, ...ran('approve'), { type: 'FulfillmentCompleted', data: { orderId } }]);
    assert.equal(done.status, 'completed');
    assert.equal(done.providerPaymentId, 'pay_1');
    assert.equal(done.trackingNumber, 'TRK1');
    assert.equal(nextStep(done), null);
  });

  it('a declined payment compensates by cancelling the order (payment_declined)', () => {
    given(decider, [...started, stepStarted('authorize')])
      .when(fail('authorize', 1, 'declined', false))
      .then([
        failed('authorize', 1, 'declined', false),
        {
          type: 'CompensationStarted',
          data: { orderId, reason: 'payment_declined', steps: ['cancelOrder'] },
        },
      ]);
    const compensating = [
      ...started,
      stepStarted('authorize'),
      failed('authorize', 1, 'declined', false),
      {
        type: 'CompensationStarted',
        data: { orderId, reason: 'payment_declined', steps: ['cancelOrder'] },
      } as FulfillmentEvent,
    ];
    assert.equal(nextStep(fold(compensating)), 'cancelOrder');
    given(decider, [...compensating, stepStarted('cancelOrder')])
      .when(complete('cancelOrder'))
      .then([
        succeeded('cancelOrder'),
        { type: 'FulfillmentCompensated', data: { orderId, reason: 'payment_declined' } },
      ]);
  });

  it('a refused shipment refunds, then cancels the order (shipment_failed), in reverse', () => {
    given(decider, [...paid, stepStarted('createShipment')])
      .when(fail('createShipment', 1, 'shipping_unavailable', false))
      .then([
        failed('createShipment', 1, 'shipping_unavailable', false),
        {
          type: 'CompensationStarted',
          data: { orderId, reason: 'shipment_failed', steps: ['refund', 'cancelOrder'] },
        },
      ]);
    const compensating: FulfillmentEvent[] = [
      ...paid,
      stepStarted('createShipment'),
      failed('createShipment', 1, 'shipping_unavailable', false),
      {
        type: 'CompensationStarted',
        data: { orderId, reason: 'shipment_failed', steps: ['refund', 'cancelOrder'] },
      },
    ];
    assert.equal(nextStep(fold(compensating)), 'refund');
    // The order cannot be cancelled before the refund.
    given(decider, compensating).when(startStep('cancelOrder')).then([]);
    const refunded = [...compensating, ...ran('refund')];
    assert.equal(nextStep(fold(refunded)), 'cancelOrder');
    given(decider, [...refunded, stepStarted('cancelOrder')])
      .when(complete('cancelOrder'))
      .then([
        succeeded('cancelOrder'),
        { type: 'FulfillmentCompensated', data: { orderId, reason: 'shipment_failed' } },
      ]);
  });

  it('retries a failing step up to its bound, then compensates what may have taken effect', () => {
    given(decider, [...started, stepStarted('authorize')])
      .when(fail('authorize', 1, 'timeout', true))
      .then([failed('authorize', 1, 'timeout', true)]);
    const twice = [
      ...started,
      stepStarted('authorize'),
      failed('authorize', 1, 'timeout', true),
      stepStarted('authorize', 2),
      failed('authorize', 2, 'provider_error', true),
    ];
    given(decider, twice)
      .when(startStep('authorize', 3))
      .then([stepStarted('authorize', 3)]);
    given(decider, [...twice, stepStarted('authorize', 3)])
      .when(fail('authorize', 3, 'timeout', true))
      .then([
        failed('authorize', 3, 'timeout', true),
        // A timed-out authorization may have gone through: void it before cancelling.
        {
          type: 'CompensationStarted',
          data: { orderId, reason: 'payment_failed', steps: ['void', 'cancelOrder'] },
        },
      ]);
  });

  it('retries exhausted on the capture: refund and cancel', () => {
    const authorized = [...started, ...ran('authorize', { providerPaymentId: 'pay_1' })];
    let events: FulfillmentEvent[] = authorized;
    for (const attempt of [1, 2]) {
      events = [
        ...events,
        stepStarted('capture', attempt),
        failed('capture', attempt, 'provider_error', true),
      ];
    }
    given(decider, [...events, stepStarted('capture', 3)])
      .when(fail('capture', 3, 'provider_error', true))
      .then([
        failed('capture', 3, 'provider_error', true),
        {
          type: 'CompensationStarted',
          data: { orderId, reason: 'payment_failed', steps: ['refund', 'cancelOrder'] },
        },
      ]);
  });

  it('compensations are retried, and a compensation failing on every attempt stops the saga as failed', () => {
    const compensating: FulfillmentEvent[] = [
      ...started,
      stepStarted('authorize'),
      failed('authorize', 1, 'declined', false),
      { type: 'CompensationStarted', data: { orderId, reason: 'payment_declined', steps: ['cancelOrder'] } },
    ];
    given(decider, [...compensating, stepStarted('cancelOrder')])
      .when(fail('cancelOrder', 1, 'service_unavailable', true))
      .then([failed('cancelOrder', 1, 'service_unavailable', true)]);
    let events = compensating;
    for (const attempt of [1, 2, 3, 4]) {
      events = [...events, stepStarted('cancelOrder', attempt), failed('cancelOrder', attempt, 'x', true)];
    }
    given(decider, [...events, stepStarted('cancelOrder', 5)])
      .when(fail('cancelOrder', 5, 'x', true))
      .then([
        failed('cancelOrder', 5, 'x', true),
        {
          type: 'FulfillmentFailed',
          data: { orderId, reason: 'compensation_failed', step: 'cancelOrder', error: 'x' },
        },
      ]);
  });

  it('ignores duplicates: a second start, a repeated step start or outcome, a late answer', () => {
    given(decider, started).when({ type: 'StartFulfillment', data: start }).then([]);
    const inAuthorize = [...started, stepStarted('authorize')];
    given(decider, inAuthorize).when(startStep('authorize')).then([]);
    const authorized = [...inAuthorize, succeeded('authorize', 1, { providerPaymentId: 'pay_1' })];
    given(decider, authorized)
      .when(complete('authorize', 1, { providerPaymentId: 'pay_1' }))
      .then([]);
    given(decider, authorized)
      .when(fail('authorize', 1, 'timeout', true))
      .then([]);
    // A step that is not the next one.
    given(decider, started).when(startStep('capture')).then([]);
    // An outcome for an attempt that is not the one in flight.
    given(decider, [
      ...started,
      stepStarted('authorize'),
      failed('authorize', 1, 't', true),
      stepStarted('authorize', 2),
    ])
      .when(complete('authorize', 1))
      .then([]);
    // After the end, nothing moves.
    const done: FulfillmentEvent[] = [
      ...paid,
      ...ran('createShipment'),
      ...ran('approve'),
      { type: 'FulfillmentCompleted', data: { orderId } },
    ];
    given(decider, done).when(startStep('approve', 2)).then([]);
    given(decider, done)
      .when(fail('approve', 1, 'x', false))
      .then([]);
  });

  it('refuses steps for a saga that was never started', () => {
    given(decider, []).when(startStep('authorize')).thenThrows('not_found');
  });

  it('a restarted process finds the step in flight', () => {
    assert.deepEqual(inFlight(fold([...started, stepStarted('authorize')])), {
      step: 'authorize',
      attempt: 1,
    });
    assert.equal(inFlight(fold(started)), null);
  });

  it('compensates a shipment that may exist and a capture that may have happened', () => {
    const state = fold([
      ...paid,
      stepStarted('createShipment'),
      failed('createShipment', 1, 'timeout', true),
    ]);
    assert.deepEqual(compensationPlan(state), ['cancelShipment', 'refund', 'cancelOrder']);
  });
});
