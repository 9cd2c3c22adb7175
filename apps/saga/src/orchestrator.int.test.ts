// The saga's process and orchestrator against a real PostgreSQL event store, with the payment
// provider and the other contexts as in-memory fakes that keep a ledger, honour idempotency keys
// and command ids, and inject failures: the happy path, a decline, a refused shipment, a stop
// (a simulated crash: the process abandons the step in flight, its effect maybe done) at every
// step in turn followed by a restart, and many sagas over two replicas with a flaky provider.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { EventStore } from '@optic-mart/eventstore';
import { createLogger } from '@optic-mart/platform';
import { createTestDatabase, waitUntil, type TestDatabase } from '@optic-mart/testkit';
import { fulfillmentStreamId, type FulfillmentState } from './domain/fulfillment.js';
import { startOrchestrator, type Orchestrator } from './orchestrator.js';
import { loadSaga, type SagaPolicy } from './process.js';
import type { CommandOutcome, CommandSender, OutwardCommand, PaymentPort, ProviderPayment } from './ports.js';

const logger = createLogger({ name: 'saga-test', level: 'silent' });
const policy: SagaPolicy = {
  stepTimeoutMs: 1000,
  maxAttempts: 4,
  maxCompensationAttempts: 50,
  retryBaseMs: 5,
  retryMaxMs: 40,
  pendingPollMs: 10,
};

interface Faults {
  errorRate: number;
  latencyMs: number;
  /** Called before each effect; a returned promise that never resolves simulates a dying process. */
  hook?: (what: string, orderId: string) => Promise<void> | void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The provider: payments, a ledger of money movements, the first answer per idempotency key. */
class FakeProvider implements PaymentPort {
  readonly payments = new Map<string, { id: string; reference: string; amount: number; status: string }>();
  readonly answers = new Map<string, ProviderPayment>();
  readonly ledger: { reference: string; kind: string; amount: number }[] = [];
  readonly declined = new Set<string>();
  readonly inFlight = new Map<string, number>();
  overlaps = 0;
  faults: Faults = { errorRate: 0, latencyMs: 0 };

  async #op(
    key: string,
    reference: string,
    what: string,
    effect: () => ProviderPayment,
  ): Promise<ProviderPayment> {
    const busy = this.inFlight.get(reference) ?? 0;
    if (busy > 0) this.overlaps++;
    this.inFlight.set(reference, busy + 1);
    try {
      if (this.faults.latencyMs > 0) await sleep(Math.random() * this.faults.latencyMs);
      if (Math.random() < this.faults.errorRate) throw new Error('provider 500');
      const kept = this.answers.get(key);
      if (kept) return kept;
      const answer = effect();
      this.answers.set(key, answer);
      await this.faults.hook?.(what, reference); // the effect is done; the caller may never hear of it
      return answer;
    } finally {
      this.inFlight.set(reference, (this.inFlight.get(reference) ?? 1) - 1);
    }
  }

  #payment(id: string) {
    const p = this.payments.get(id);
    if (!p) throw new Error(`no payment ${id}`);
    return p;
  }

  authorize(input: { amountCents: number; currency: string; reference: string }, key: string) {
    return this.#op(key, input.reference, 'authorize', () => {
      const id = `pay_${randomUUID().slice(0, 8)}`;
      const status = this.declined.has(input.reference) ? 'declined' : 'authorized';
      this.payments.set(id, { id, reference: input.reference, amount: input.amountCents, status });
      this.ledger.push({ reference: input.reference, kind: status, amount: input.amountCents });
      return { id, status };
    });
  }
  capture(id: string, key: string) {
    const p = this.#payment(id);
    return this.#op(key, p.reference, 'capture', () => {
      if (p.status !== 'authorized') throw new Error(`capture of a ${p.status} payment`);
      p.status = 'captured';
      this.ledger.push({ reference: p.reference, kind: 'capture', amount: p.amount });
      return { id, status: p.status };
    });
  }
  void(id: string, key: string) {
    const p = this.#payment(id);
    return this.#op(key, p.reference, 'void', () => {
      p.status = 'voided';
      this.ledger.push({ reference: p.reference, kind: 'void', amount: p.amount });
      return { id, status: p.status };
    });
  }
  refund(id: string, amount: number, key: string) {
    const p = this.#payment(id);
    return this.#op(key, p.reference, 'refund', () => {
      p.status = 'refunded';
      this.ledger.push({ reference: p.reference, kind: 'refund', amount });
      return { id, status: p.status, refundId: `re_${randomUUID().slice(0, 8)}` };
    });
  }
  async get(id: string) {
    const p = this.#payment(id);
    return { id, status: p.status };
  }
  sum(reference: string, kind: string) {
    return this.ledger
      .filter((e) => e.reference === reference && e.kind === kind)
      .reduce((s, e) => s + e.amount, 0);
  }
}

/** The other contexts: each command id applied once; shipping refuses Antarctica. */
class FakeContexts implements CommandSender {
  readonly applied = new Map<string, OutwardCommand>();
  readonly orders = new Map<string, string>();
  faults: Faults = { errorRate: 0, latencyMs: 0 };
  constructor(readonly store: EventStore) {}

  async send(command: OutwardCommand): Promise<CommandOutcome> {
    if (this.faults.latencyMs > 0) await sleep(Math.random() * this.faults.latencyMs);
    if (Math.random() < this.faults.errorRate) {
      return { ok: false, code: 'service_unavailable', detail: 'no worker', retryable: true };
    }
    const orderId = command.aggregateId.split('-')[1] ?? '';
    if (!this.applied.has(command.commandId)) {
      if (command.type === 'CreateShipment') {
        const { address } = command.data as { address: { country: string } };
        if (address.country === 'AQ') {
          return { ok: false, code: 'shipping_unavailable', detail: 'no shipping there', retryable: false };
        }
        await this.store.append(
          `shipment-${orderId}`,
          [{ type: 'ShipmentCreated', data: { orderId, trackingNumber: `TRK${orderId}` } }],
          { expectedVersion: 'any' },
        );
      }
      const status = { MarkOrderPaid: 'paid', ApproveOrder: 'approved', CancelOrder: 'cancelled' }[
        command.type
      ];
      if (status) this.orders.set(orderId, status);
      this.applied.set(command.commandId, command);
      await this.faults.hook?.(command.type, orderId);
    }
    return { ok: true, result: {} };
  }
  count(orderId: string, type: string) {
    return [...this.applied.values()].filter((c) => c.type === type && c.aggregateId.endsWith(`-${orderId}`))
      .length;
  }
}

describe('the fulfillment saga over a real event store', () => {
  let db: TestDatabase;
  let store: EventStore;
  let provider: FakeProvider;
  let contexts: FakeContexts;
  let orchestrators: Orchestrator[] = [];
  let nextId = 1000;

  const startOne = async () => {
    const o = await startOrchestrator({
      store,
      logger,
      connectionString: db.url,
      commands: contexts,
      payments: provider,
      policy,
      concurrency: 16,
      sweepEveryMs: 100,
      maxAttempts: policy.maxAttempts,
      maxCompensationAttempts: policy.maxCompensationAttempts,
    });
    orchestrators.push(o);
    return o;
  };
  const stopAll = async () => {
    await Promise.all(orchestrators.map((o) => o.stop()));
    orchestrators = [];
  };
  const place = async (options: { country?: string; source?: string } = {}) => {
    const orderId = String(nextId++);
    await store.append(
      `order-${orderId}`,
      [
        {
          type: 'OrderPlaced',
          data: {
            orderId,
            userId: '7',
            source: options.source ?? 'checkout',
            lines: [],
            total: { amountCents: 2500, currency: 'EUR' },
            shipDate: null,
            shippingAddress: {
              name: 'A',
              line1: '1 St',
              city: 'C',
              postalCode: '1',
              country: options.country ?? 'DE',
            },
          },
        },
      ],
      { expectedVersion: 'no_stream' },
    );
    return orderId;
  };
  const finished = async (orderId: string, timeoutMs = 30_000): Promise<FulfillmentState> => {
    let state: FulfillmentState | null = null;
    await waitUntil(
      `saga ${orderId} finished`,
      async () => {
        state = (await loadSaga(store, orderId)).state;
        return state.status === 'completed' || state.status === 'compensated' || state.status === 'failed';
      },
      timeoutMs,
    );
    return state!;
  };
  const types = async (orderId: string) =>
    (await store.readStream(fulfillmentStreamId(orderId)).catch(() => [])).map((e) => {
      const d = e.data as { step?: string };
      return d.step ? `${e.type}:${d.step}` : e.type;
    });

  before(async () => {
    db = await createTestDatabase('saga');
    store = new EventStore({ connectionString: db.url, poolSize: 10, sweepIntervalMs: 0 });
    await store.start();
    provider = new FakeProvider();
    contexts = new FakeContexts(store);
  });
  after(async () => {
    await stopAll();
    await store.close();
    await db.drop();
  });

  it('happy path: authorize, capture, paid, shipment, approve — each once — then completed', async () => {
    await startOne();
    const orderId = await place();
    const state = await finished(orderId);
    assert.equal(state.status, 'completed');
    assert.equal(state.trackingNumber, `TRK${orderId}`);
    assert.deepEqual(await types(orderId), [
      'FulfillmentStarted',
      'StepSucceeded:reserve',
      ...['authorize', 'capture', 'markPaid', 'createShipment', 'approve'].flatMap((s) => [
        `StepStarted:${s}`,
        `StepSucceeded:${s}`,
      ]),
      'FulfillmentCompleted',
    ]);
    assert.equal(provider.sum(orderId, 'capture'), 2500);
    for (const type of ['RequestPayment', 'MarkOrderPaid', 'CreateShipment', 'ApproveOrder']) {
      assert.equal(contexts.count(orderId, type), 1, type);
    }
    assert.equal(contexts.count(orderId, 'RecordProviderResult'), 2);
    assert.equal(contexts.orders.get(orderId), 'approved');
  });

  it('a declined payment cancels the order (payment_declined), with nothing captured', async () => {
    const orderId = String(nextId);
    provider.declined.add(orderId);
    await place();
    const state = await finished(orderId);
    assert.equal(state.status, 'compensated');
    assert.equal(state.reason, 'payment_declined');
    assert.equal(provider.sum(orderId, 'capture'), 0);
    assert.equal(contexts.orders.get(orderId), 'cancelled');
    const cancel = [...contexts.applied.values()].find(
      (c) => c.type === 'CancelOrder' && c.aggregateId === `order-${orderId}`,
    );
    assert.deepEqual(cancel?.data, { asStaff: true, reason: 'payment_declined' });
  });

  it('a refused shipment refunds, then cancels (shipment_failed)', async () => {
    const orderId = await place({ country: 'AQ' });
    const state = await finished(orderId);
    assert.equal(state.status, 'compensated');
    assert.equal(state.reason, 'shipment_failed');
    assert.equal(provider.sum(orderId, 'refund'), provider.sum(orderId, 'capture'));
    assert.equal(provider.sum(orderId, 'refund'), 2500);
    assert.equal(contexts.orders.get(orderId), 'cancelled');
    const history = await types(orderId);
    assert.ok(history.indexOf('StepSucceeded:refund') < history.indexOf('StepSucceeded:cancelOrder'));
  });

  it('orders not from a checkout start no saga; a replayed log starts none twice', async () => {
    const orderId = await place({ source: 'petstore' });
    const control = await place();
    await finished(control);
    assert.equal(await store.streamExists(fulfillmentStreamId(orderId)), false);
    // A replica starting from position 0 sees every OrderPlaced again.
    const pool = (await import('pg')).default;
    const c = new pool.Client({ connectionString: db.url });
    await c.connect();
    await c.query('UPDATE saga.checkpoints SET position = 0');
    await c.end();
    await stopAll();
    await startOne();
    await new Promise((r) => setTimeout(r, 500));
    const started = await store.readAll({ category: 'fulfillment', types: ['FulfillmentStarted'] });
    const perOrder = new Map<string, number>();
    for (const e of started.events) perOrder.set(e.streamId, (perOrder.get(e.streamId) ?? 0) + 1);
    assert.ok([...perOrder.values()].every((n) => n === 1));
  });

  // A crash after each effect, before the saga records it: the restarted saga repeats the call
  // with the same key or command id, and the effect stays single.
  const crashPoints: { what: string; country?: string; decline?: boolean }[] = [
    { what: 'RequestPayment' },
    { what: 'authorize' },
    { what: 'RecordProviderResult' },
    { what: 'capture' },
    { what: 'MarkOrderPaid' },
    { what: 'CreateShipment' },
    { what: 'ApproveOrder' },
    { what: 'authorize', decline: true },
    { what: 'CancelOrder', decline: true },
    { what: 'refund', country: 'AQ' },
    { what: 'CancelOrder', country: 'AQ' },
  ];
  for (const point of crashPoints) {
    const label = point.decline ? ' (declined)' : point.country ? ' (shipment refused)' : '';
    it(`stopped right after ${point.what}${label}, a restarted saga finishes it exactly once`, async () => {
      await stopAll();
      const orderId = String(nextId);
      if (point.decline) provider.declined.add(orderId);
      let crashed = false;
      const hook = (what: string, ref: string) =>
        !crashed && what === point.what && ref === orderId
          ? new Promise<void>(() => {
              crashed = true; // never answers: the process "dies" here
            })
          : undefined;
      provider.faults.hook = hook;
      contexts.faults.hook = hook;
      const first = await startOne();
      await place(point.country ? { country: point.country } : {});
      await waitUntil('the crash point', () => crashed, 15_000);
      await first.stop(); // the step in flight is abandoned, unrecorded
      orchestrators = [];
      provider.faults.hook = undefined;
      contexts.faults.hook = undefined;
      await startOne();
      const state = await finished(orderId);
      const expected = point.decline || point.country ? 'compensated' : 'completed';
      assert.equal(state.status, expected);
      const captured = provider.sum(orderId, 'capture');
      assert.ok(captured <= 2500, 'never charged twice');
      assert.equal(
        provider.ledger.filter((e) => e.reference === orderId && e.kind === 'authorized').length <= 1,
        true,
      );
      if (expected === 'completed') {
        assert.equal(captured, 2500);
        assert.equal(provider.sum(orderId, 'refund'), 0);
        assert.equal(contexts.orders.get(orderId), 'approved');
      } else {
        assert.equal(provider.sum(orderId, 'refund'), captured, 'no missing refund');
        assert.equal(contexts.orders.get(orderId), 'cancelled');
        assert.equal(contexts.count(orderId, 'CancelOrder'), 1);
      }
    });
  }

  it('300 sagas on two replicas, the provider failing 20% and slow: all consistent, none run twice at once', async () => {
    await stopAll();
    provider.faults = { errorRate: 0.2, latencyMs: 20 };
    contexts.faults = { errorRate: 0.05, latencyMs: 5 };
    provider.overlaps = 0;
    await startOne();
    await startOne();
    const ids: string[] = [];
    for (let i = 0; i < 300; i++) {
      const country = i % 10 === 0 ? 'AQ' : 'DE';
      if (i % 7 === 0) provider.declined.add(String(nextId));
      ids.push(await place({ country }));
    }
    const states = await Promise.all(ids.map((id) => finished(id, 120_000)));
    assert.equal(provider.overlaps, 0, 'one saga never runs in two places at once');
    for (const [i, state] of states.entries()) {
      const id = ids[i]!;
      const captured = provider.sum(id, 'capture');
      const refunded = provider.sum(id, 'refund');
      assert.ok(captured <= 2500, `${id} charged once at most`);
      if (state.status === 'completed') {
        assert.equal(captured, 2500);
        assert.equal(refunded, 0);
        assert.equal(contexts.orders.get(id), 'approved');
      } else {
        assert.equal(state.status, 'compensated', `${id}: ${state.status} ${state.reason}`);
        assert.equal(refunded, captured, `${id} refunded what was captured`);
        assert.equal(contexts.orders.get(id), 'cancelled');
      }
    }
    // The index of unfinished sagas catches up right after each saga's last event.
    await waitUntil(
      'no saga left unfinished',
      async () => ((await orchestrators[0]!.counts()).running ?? 0) === 0,
    );
  });
});
