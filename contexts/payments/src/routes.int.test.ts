// The payments routes through the runtime's command handler against a real PostgreSQL event store.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import { EventStore } from '@optic-mart/eventstore';
import { createCommandHandler, type CommandHandler, type CommandResult } from '@optic-mart/runtime';
import { createTestDatabase, type TestDatabase } from '@optic-mart/testkit';
import { paymentStreamId, paymentsCommandRoutes } from './routes.js';

let db: TestDatabase;
let store: EventStore;
let handle: CommandHandler;

before(async () => {
  db = await createTestDatabase('payments_routes');
  store = new EventStore({ connectionString: db.url, poolSize: 3 });
  await store.start();
  handle = createCommandHandler({ store, routes: paymentsCommandRoutes });
});

after(async () => {
  await store.close();
  await db.drop();
});

const send = (
  aggregateId: string,
  type: string,
  data: unknown,
  commandId = randomUUID(),
): Promise<CommandResult> =>
  handle({ commandId, type, aggregateId, data, metadata: { correlationId: randomUUID() } });

const code = (r: CommandResult) => (r.ok ? 'ok' : r.error.code);

describe('payments routes', () => {
  it('requests, records each provider event once, and refunds', async () => {
    const stream = paymentStreamId(String(randomInt(1, 2 ** 40)));
    assert.equal(
      code(await send(stream, 'RequestPayment', { amount: { amountCents: 900, currency: 'USD' } })),
      'ok',
    );
    const captured = { kind: 'captured', providerPaymentId: 'pay_1', eventId: 'evt_1', amountCents: 900 };
    const commandId = randomUUID();
    const first = await send(stream, 'RecordProviderResult', captured, commandId);
    assert.ok(first.ok && first.events === 2, JSON.stringify(first));
    const redelivered = await send(stream, 'RecordProviderResult', captured, commandId);
    assert.ok(redelivered.ok && redelivered.duplicate);
    const again = await send(stream, 'RecordProviderResult', captured);
    assert.ok(again.ok && again.events === 0, 'the same provider event under another command id');
    assert.equal(
      code(await send(stream, 'RefundPayment', { idempotencyKey: 'k1', amountCents: 901 })),
      'refund_exceeds_captured',
    );
    assert.equal(code(await send(stream, 'RefundPayment', { idempotencyKey: 'k1', amountCents: 900 })), 'ok');
    const events = await store.readStream(stream);
    assert.deepEqual(
      events.map((e) => e.type),
      ['PaymentRequested', 'PaymentAuthorized', 'PaymentCaptured', 'PaymentRefundRequested'],
    );
  });

  it('refuses bad input naming what is wrong, before the decider', async () => {
    assert.equal(
      code(await send('order-1', 'RequestPayment', { amount: { amountCents: 1, currency: 'USD' } })),
      'validation_failed',
    );
    const stream = paymentStreamId(String(randomInt(1, 2 ** 40)));
    const r = await send(stream, 'RequestPayment', { amount: { amountCents: -1, currency: 'XXX' } });
    assert.ok(!r.ok && /amountCents|currency/.test(r.error.detail), JSON.stringify(r));
    assert.equal(
      code(await send(stream, 'RecordProviderResult', { kind: 'teleported' })),
      'validation_failed',
    );
    assert.equal(
      code(await send(stream, 'RecordProviderResult', { kind: 'authorized', providerPaymentId: 'p' })),
      'payment_not_found',
    );
  });
});
