// One fulfillment saga run to its end: loads the saga's state from `fulfillment-<orderId>` (the
// fold of its events), asks the decider for the next step, runs it against the other contexts
// and the payment provider — with a timeout, an idempotency key, and bounded retries with
// exponential backoff and jitter — and records each start and outcome as events before moving
// on. A process killed at any point resumes from the stream: the step in flight is run again
// with the same keys, so its effect happens once.
import { randomInt } from 'node:crypto';
import type { EventStore } from '@optic-mart/eventstore';
import { isAppError, type Logger } from '@optic-mart/platform';
import { uuidV5 } from '@optic-mart/runtime';
import {
  fulfillmentDecider,
  fulfillmentStreamId,
  inFlight,
  isFinished,
  nextStep,
  type FulfillmentCommand,
  type FulfillmentEvent,
  type FulfillmentState,
  type Step,
  type StepResult,
} from './domain/fulfillment.js';
import {
  PermanentFailure,
  type CommandOutcome,
  type CommandSender,
  type OutwardCommand,
  type PaymentPort,
  type ProviderPayment,
} from './ports.js';

/** Namespace of the saga's command ids (uuid v5 of `<orderId>:<what>`): never change it. */
export const SAGA_COMMAND_NAMESPACE = '5b0a5f3e-8a43-4c69-9a8e-2f1f0d3c7a61';

export interface SagaPolicy {
  /** Each attempt of a step is abandoned (and counted as failed) after this long. */
  readonly stepTimeoutMs: number;
  readonly maxAttempts: number;
  readonly maxCompensationAttempts: number;
  /** Backoff before attempt n+1: min(max, base · 2^(n−1)), with ±50% jitter. */
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** How often a pending payment is looked up at the provider. */
  readonly pendingPollMs: number;
}

export interface ProcessDeps {
  readonly store: EventStore;
  readonly commands: CommandSender;
  readonly payments: PaymentPort;
  readonly policy: SagaPolicy;
  readonly logger: Logger;
}

type StepOutcome =
  | { readonly ok: true; readonly result: StepResult }
  | { readonly ok: false; readonly error: string; readonly retryable: boolean };

const ok = (result: StepResult = {}): StepOutcome => ({ ok: true, result });
const failure = (error: string, retryable: boolean): StepOutcome => ({ ok: false, error, retryable });

/** The idempotency key of an outward call: the same on every attempt and after any restart. */
export const idempotencyKey = (orderId: string, what: string): string => `${orderId}:${what}`;
export const sagaCommandId = (orderId: string, what: string): string =>
  uuidV5(idempotencyKey(orderId, what), SAGA_COMMAND_NAMESPACE);

export interface LoadedSaga {
  readonly state: FulfillmentState;
  readonly version: number;
}

/** A stream's events; none when it does not exist. */
async function readOrNone(store: EventStore, streamId: string) {
  try {
    return await store.readStream(streamId);
  } catch (err) {
    if (isAppError(err) && err.code === 'stream_not_found') return [];
    throw err;
  }
}

export async function loadSaga(store: EventStore, orderId: string): Promise<LoadedSaga> {
  const events = await readOrNone(store, fulfillmentStreamId(orderId));
  const state = events.reduce(
    (s, e) => fulfillmentDecider.evolve(s, { type: e.type, data: e.data } as FulfillmentEvent),
    fulfillmentDecider.initialState(),
  );
  return { state, version: events.length === 0 ? 0 : events[events.length - 1]!.version };
}

/** Decides the command against the stream and appends what it decides (optimistically, retried on a race). */
export async function recordSaga(
  store: EventStore,
  orderId: string,
  command: FulfillmentCommand,
  eventIds?: (index: number) => string,
): Promise<LoadedSaga> {
  for (let attempt = 1; ; attempt++) {
    let { state, version } = await loadSaga(store, orderId);
    const events = fulfillmentDecider.decide(command, state);
    if (events.length === 0) return { state, version };
    try {
      await store.append(
        fulfillmentStreamId(orderId),
        events.map((e, i) => ({
          ...(eventIds ? { id: eventIds(i) } : {}),
          type: e.type,
          data: e.data,
          metadata: { correlationId: fulfillmentStreamId(orderId) },
        })),
        { expectedVersion: version === 0 ? 'no_stream' : version + 1 },
      );
    } catch (err) {
      if (isAppError(err) && err.code === 'wrong_version' && attempt < 5) continue;
      throw err;
    }
    for (const e of events) state = fulfillmentDecider.evolve(state, e);
    version += events.length;
    return { state, version };
  }
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done);
  });

export function backoffMs(policy: SagaPolicy, failedAttempt: number): number {
  const base = Math.min(policy.retryMaxMs, policy.retryBaseMs * 2 ** Math.max(0, failedAttempt - 1));
  return Math.round(base / 2 + randomInt(0, Math.max(1, Math.round(base / 2))));
}

/** The process of one saga; `run` returns when the saga has finished or `signal` aborts. */
export class FulfillmentProcess {
  readonly #deps: ProcessDeps;
  constructor(deps: ProcessDeps) {
    this.#deps = deps;
  }

  async run(orderId: string, signal: AbortSignal): Promise<FulfillmentState> {
    const { store, policy, logger } = this.#deps;
    let { state } = await loadSaga(store, orderId);
    while (!signal.aborted && !isFinished(state) && state.status !== 'none') {
      const step = nextStep(state);
      if (step === null) break;
      // A step in flight when the last process stopped runs again (same attempt, same keys).
      let attempt = inFlight(state)?.attempt ?? 0;
      if (attempt === 0) {
        const failedBefore = state.attempts[step] ?? 0;
        if (failedBefore > 0) await sleep(backoffMs(policy, failedBefore), signal);
        if (signal.aborted) break;
        attempt = failedBefore + 1;
        ({ state } = await recordSaga(store, orderId, { type: 'StartStep', data: { step, attempt } }));
      }
      const outcome = await this.#attempt(state, step, orderId, signal);
      if (signal.aborted) break;
      logger.debug({ orderId, step, attempt, outcome }, 'saga step');
      ({ state } = await recordSaga(
        store,
        orderId,
        outcome.ok
          ? { type: 'CompleteStep', data: { step, attempt, result: outcome.result } }
          : { type: 'FailStep', data: { step, attempt, error: outcome.error, retryable: outcome.retryable } },
      ));
    }
    return state;
  }

  /** One attempt of a step, bounded by the step timeout. */
  async #attempt(
    state: FulfillmentState,
    step: Step,
    orderId: string,
    outer: AbortSignal,
  ): Promise<StepOutcome> {
    const { policy } = this.#deps;
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let abort = () => {};
    const timeout = new Promise<StepOutcome>((resolve) => {
      timer = setTimeout(() => {
        controller.abort();
        resolve(failure(`timeout: no answer in ${policy.stepTimeoutMs} ms`, true));
      }, policy.stepTimeoutMs);
      // Stopping: leave the step at once; its outcome is not recorded, so the next run repeats it.
      abort = () => {
        controller.abort();
        resolve(failure('stopped', true));
      };
    });
    outer.addEventListener('abort', abort);
    try {
      return await Promise.race([this.#step(state, step, orderId, controller.signal), timeout]);
    } catch (err) {
      if (err instanceof PermanentFailure) return failure(`${err.code}: ${err.message}`, false);
      return failure(err instanceof Error ? err.message : String(err), true);
    } finally {
      clearTimeout(timer);
      outer.removeEventListener('abort', abort);
    }
  }

  async #step(
    state: FulfillmentState,
    step: Step,
    orderId: string,
    signal: AbortSignal,
  ): Promise<StepOutcome> {
    const { payments, policy } = this.#deps;
    const amount = state.amount ?? { amountCents: 0, currency: 'USD' };
    switch (step) {
      case 'reserve':
        // Reserved in the append that placed the order; recorded when the saga starts.
        return ok();
      case 'authorize': {
        const requested = await this.#command(state, 'payments', 'RequestPayment', `payment-${orderId}`, {
          amount,
          ...(state.userId ? { userId: state.userId } : {}),
        });
        if (!requested.ok && requested.code !== 'payment_already_exists') return fromCommand(requested);
        let payment = await payments.authorize(
          { amountCents: amount.amountCents, currency: amount.currency, reference: orderId },
          idempotencyKey(orderId, 'authorize'),
        );
        while (payment.status === 'pending' && !signal.aborted) {
          await sleep(policy.pendingPollMs, signal);
          if (signal.aborted) break;
          payment = await payments.get(payment.id);
        }
        if (payment.status === 'pending') return failure('payment pending', true);
        const declined = payment.status === 'declined' || payment.status === 'failed';
        const recorded = await this.#recordProvider(state, declined ? 'declined' : 'authorized', payment);
        if (!recorded.ok) return recorded;
        return declined
          ? failure(`payment_declined: ${payment.status}`, false)
          : ok({ providerPaymentId: payment.id });
      }
      case 'capture': {
        const id = state.providerPaymentId ?? '';
        const payment = await payments.capture(id, idempotencyKey(orderId, 'capture'));
        if (payment.status === 'declined') return failure('payment_declined: capture declined', false);
        const recorded = await this.#recordProvider(state, 'captured', payment);
        return recorded.ok ? ok({ providerPaymentId: payment.id }) : recorded;
      }
      case 'markPaid':
        return fromCommand(
          await this.#command(state, 'ordering', 'MarkOrderPaid', `order-${orderId}`, {
            paymentId: state.providerPaymentId ?? '',
          }),
        );
      case 'createShipment': {
        const created = await this.#command(state, 'shipping', 'CreateShipment', `shipment-${orderId}`, {
          orderId,
          ...(state.shippingAddress ? { address: state.shippingAddress } : {}),
        });
        if (!created.ok && created.code !== 'shipment_already_exists') return fromCommand(created);
        const trackingNumber = await this.#trackingNumber(orderId);
        return ok(trackingNumber ? { trackingNumber } : {});
      }
      case 'approve':
        return fromCommand(await this.#command(state, 'ordering', 'ApproveOrder', `order-${orderId}`, {}));
      case 'cancelShipment': {
        const cancelled = await this.#command(state, 'shipping', 'CancelShipment', `shipment-${orderId}`, {
          orderId,
          reason: state.reason ?? 'fulfillment_failed',
        });
        // No shipment (its creation failed after all) is nothing to cancel.
        if (!cancelled.ok && cancelled.code === 'shipment_not_found') return ok();
        return fromCommand(cancelled);
      }
      case 'refund':
        return this.#undoPayment(state, orderId, 'refund');
      case 'void':
        return this.#undoPayment(state, orderId, 'void');
      case 'cancelOrder': {
        const cancelled = await this.#command(state, 'ordering', 'CancelOrder', `order-${orderId}`, {
          asStaff: true,
          reason: state.reason ?? 'fulfillment_failed',
        });
        if (!cancelled.ok && cancelled.code === 'invalid_status_transition') {
          // Cancelled already (by its customer, say): the stock is released; done.
          return ok();
        }
        return fromCommand(cancelled);
      }
      default: {
        const unknown: never = step;
        throw new Error(`unknown step ${String(unknown)}`);
      }
    }
  }

  /**
   * Refund what was captured, or void what was only authorized. The payment may be unknown to the
   * saga (authorize timed out): the authorize call is repeated with its key, which answers the
   * first result without a second charge.
   */
  async #undoPayment(
    state: FulfillmentState,
    orderId: string,
    kind: 'refund' | 'void',
  ): Promise<StepOutcome> {
    const { payments } = this.#deps;
    const amount = state.amount ?? { amountCents: 0, currency: 'USD' };
    let id = state.providerPaymentId;
    if (id === null) {
      const first = await payments.authorize(
        { amountCents: amount.amountCents, currency: amount.currency, reference: orderId },
        idempotencyKey(orderId, 'authorize'),
      );
      id = first.id;
    }
    let payment = await payments.get(id);
    const nothingToUndo = ['declined', 'failed', 'voided', 'refunded'];
    if (nothingToUndo.includes(payment.status)) return this.#afterUndo(state, kind, payment);
    if (kind === 'refund' && payment.status !== 'captured' && payment.status !== 'partially_refunded') {
      // Never captured after all: void the authorization instead.
      kind = 'void';
    }
    payment =
      kind === 'refund'
        ? await payments.refund(id, amount.amountCents, idempotencyKey(orderId, 'refund'))
        : await payments.void(id, idempotencyKey(orderId, 'void'));
    return this.#afterUndo(state, kind, payment);
  }

  async #afterUndo(
    state: FulfillmentState,
    kind: 'refund' | 'void',
    payment: ProviderPayment,
  ): Promise<StepOutcome> {
    if (payment.status === 'declined' || payment.status === 'failed')
      return ok({ providerPaymentId: payment.id });
    const recorded = await this.#recordProvider(state, kind === 'refund' ? 'refunded' : 'voided', payment);
    return recorded.ok ? ok({ providerPaymentId: payment.id }) : recorded;
  }

  /** Records a provider result on `payment-<orderId>` (idempotent on its event id). */
  async #recordProvider(
    state: FulfillmentState,
    kind: string,
    payment: ProviderPayment,
  ): Promise<StepOutcome> {
    const orderId = state.orderId ?? '';
    const outcome = await this.#command(
      state,
      'payments',
      'RecordProviderResult',
      `payment-${orderId}`,
      {
        kind,
        providerPaymentId: payment.id,
        // The saga's own event id for a result it got by calling: recorded once, however often.
        eventId: idempotencyKey(orderId, kind),
        ...(kind === 'refunded' && payment.refundId !== undefined
          ? { refundId: payment.refundId, amountCents: state.amount?.amountCents }
          : {}),
        ...(kind === 'declined' &&
        payment.declineReason &&
        /^[a-z][a-z0-9_]{0,99}$/.test(payment.declineReason)
          ? { reason: payment.declineReason }
          : {}),
      },
      kind,
    );
    return fromCommand(outcome);
  }

  #command(
    state: FulfillmentState,
    context: string,
    type: string,
    aggregateId: string,
    data: unknown,
    /** Tells apart commands of one type the saga sends more than once (each provider result). */
    discriminator = '',
  ): Promise<CommandOutcome> {
    const orderId = state.orderId ?? '';
    const command: OutwardCommand = {
      commandId: sagaCommandId(orderId, `${context}/${type}/${aggregateId}/${discriminator}`),
      context,
      type,
      aggregateId,
      data,
      userId: state.userId ?? '',
      correlationId: fulfillmentStreamId(orderId),
    };
    return this.#deps.commands.send(command, this.#deps.policy.stepTimeoutMs);
  }

  async #trackingNumber(orderId: string): Promise<string | null> {
    const events = await readOrNone(this.#deps.store, `shipment-${orderId}`);
    const created = events.find((e) => e.type === 'ShipmentCreated');
    const tracking = (created?.data as { trackingNumber?: unknown } | undefined)?.trackingNumber;
    return typeof tracking === 'string' ? tracking : null;
  }
}

function fromCommand(outcome: CommandOutcome): StepOutcome {
  return outcome.ok ? ok() : failure(`${outcome.code}: ${outcome.detail}`, outcome.retryable);
}
