// The Payment aggregate, one per order (`payment-<orderId>`): what the shop knows of the order's
// payment at the provider. The provider decides; this records its answers, once each:
//   requested → pending → authorized → captured → (partially) refunded
//   requested | pending → declined | failed;  requested | pending | authorized → voided
// RecordProviderResult is idempotent on the provider's event id (webhooks are retried, and the
// saga records the same results from its own calls), and a result the payment is already past
// (a late or reordered webhook) changes nothing.
import { DomainError, type Decider } from '@optic-mart/runtime';

/** An amount in the currency's minor unit (cents), as ordering's Money. */
export interface PaymentAmount {
  readonly amountCents: number;
  readonly currency: string;
}

export const paymentStatuses = [
  'requested',
  'pending',
  'authorized',
  'declined',
  'failed',
  'captured',
  'voided',
  'partially_refunded',
  'refunded',
] as const;
export type PaymentStatus = (typeof paymentStatuses)[number];

/** What the provider reported: RecordProviderResult's `kind`. */
export const providerResultKinds = [
  'pending',
  'authorized',
  'declined',
  'captured',
  'voided',
  'refunded',
  'failed',
] as const;
export type ProviderResultKind = (typeof providerResultKinds)[number];

export interface RequestPaymentData {
  readonly orderId: string;
  readonly amount: PaymentAmount;
  /** The order's user, when the sender knows it. */
  readonly userId?: string;
}

export interface RecordProviderResultData {
  readonly orderId: string;
  readonly kind: ProviderResultKind;
  /** The provider's payment id (absent only for `failed`: the provider never answered). */
  readonly providerPaymentId?: string;
  /** The provider's event id (a webhook's), or the caller's own for a result it got by calling. */
  readonly eventId?: string;
  /** captured / refunded: the amount moved (default: the whole payment, or all that is refundable). */
  readonly amountCents?: number;
  /** refunded: the provider's refund id (a refund is recorded once per refund id). */
  readonly refundId?: string;
  /** declined / failed: why. */
  readonly reason?: string;
}

export interface RefundPaymentData {
  readonly orderId: string;
  /** Default: all that is refundable. */
  readonly amountCents?: number;
  readonly reason?: string;
  /** The provider idempotency key the refund is sent with. */
  readonly idempotencyKey: string;
}

export type PaymentCommand =
  | { readonly type: 'RequestPayment'; readonly data: RequestPaymentData }
  | { readonly type: 'RecordProviderResult'; readonly data: RecordProviderResultData }
  | { readonly type: 'RefundPayment'; readonly data: RefundPaymentData };

export type PaymentCommandType = PaymentCommand['type'];

interface Ref {
  readonly orderId: string;
  readonly providerPaymentId: string;
  /** The provider event id the result came with, when it came with one. */
  readonly eventId?: string;
}

export type PaymentEvent =
  | {
      readonly type: 'PaymentRequested';
      readonly data: {
        readonly orderId: string;
        readonly amount: PaymentAmount;
        readonly providerPaymentId?: string;
        readonly userId?: string;
      };
    }
  | { readonly type: 'PaymentPending'; readonly data: Ref }
  | { readonly type: 'PaymentAuthorized'; readonly data: Ref }
  | { readonly type: 'PaymentDeclined'; readonly data: Ref & { readonly reason: string } }
  | { readonly type: 'PaymentCaptured'; readonly data: Ref & { readonly amountCents: number } }
  | { readonly type: 'PaymentVoided'; readonly data: Ref }
  | {
      readonly type: 'PaymentRefundRequested';
      readonly data: {
        readonly orderId: string;
        readonly amountCents: number;
        readonly reason: string;
        readonly idempotencyKey: string;
      };
    }
  | {
      readonly type: 'PaymentRefunded';
      readonly data: Ref & { readonly amountCents: number; readonly refundId: string };
    }
  | {
      readonly type: 'PaymentFailed';
      readonly data: {
        readonly orderId: string;
        readonly providerPaymentId?: string;
        readonly eventId?: string;
        readonly reason: string;
      };
    };

export type PaymentEventType = PaymentEvent['type'];

export interface Payment {
  readonly kind: 'payment';
  readonly orderId: string;
  readonly amount: PaymentAmount;
  readonly status: PaymentStatus;
  readonly providerPaymentId: string | null;
  readonly capturedCents: number;
  readonly refundedCents: number;
  readonly reason: string | null;
  /** Provider event ids recorded already. */
  readonly eventIds: readonly string[];
  readonly refundIds: readonly string[];
  /** Idempotency keys of refund requests recorded already. */
  readonly refundKeys: readonly string[];
}

export type PaymentState = { readonly kind: 'none' } | Payment;

/** Every code the payment decider throws; each is a line of the platform's error table. */
export const paymentErrorCodes = [
  'validation_failed',
  'payment_not_found',
  'payment_already_exists',
  'payment_invalid_state',
  'refund_exceeds_captured',
] as const;
export type PaymentErrorCode = (typeof paymentErrorCodes)[number];

const fail = (code: PaymentErrorCode, detail: string, extra?: Record<string, unknown>) =>
  new DomainError(code, detail, extra);

function existing(state: PaymentState, orderId: string): Payment {
  if (state.kind !== 'payment') throw fail('payment_not_found', `order ${orderId} has no payment`);
  return state;
}

// How far along a payment is: a result for a step it is past already is a late duplicate.
const rank: Readonly<Record<PaymentStatus, number>> = {
  requested: 0,
  pending: 1,
  authorized: 2,
  captured: 3,
  partially_refunded: 4,
  refunded: 5,
  declined: 9,
  failed: 9,
  voided: 9,
};

// Declined, failed and voided payments are done: nothing follows them.
const FINAL = 9;

const refundable = (p: Payment): number => p.capturedCents - p.refundedCents;

function invalid(p: Payment, what: string): DomainError {
  return fail('payment_invalid_state', `the payment of order ${p.orderId} is ${p.status}: ${what}`, {
    status: p.status,
  });
}

function needsProviderId(data: RecordProviderResultData): string {
  if (data.providerPaymentId === undefined || data.providerPaymentId.length === 0) {
    throw fail('validation_failed', `a ${data.kind} result names the provider's payment (providerPaymentId)`);
  }
  return data.providerPaymentId;
}

function recordResult(p: Payment, data: RecordProviderResultData): PaymentEvent[] {
  if (data.eventId !== undefined && p.eventIds.includes(data.eventId)) return [];
  const ref = (providerPaymentId: string): Ref => ({
    orderId: p.orderId,
    providerPaymentId,
    ...(data.eventId !== undefined && { eventId: data.eventId }),
  });
  const provider = data.kind === 'failed' ? (data.providerPaymentId ?? null) : needsProviderId(data);
  if (provider !== null && p.providerPaymentId !== null && provider !== p.providerPaymentId) {
    throw fail('validation_failed', `order ${p.orderId} is paid by ${p.providerPaymentId}, not ${provider}`);
  }
  switch (data.kind) {
    case 'pending':
      if (rank[p.status] >= rank.pending) return [];
      return [{ type: 'PaymentPending', data: ref(provider as string) }];
    case 'authorized':
      if (rank[p.status] >= rank.authorized) return [];
      return [{ type: 'PaymentAuthorized', data: ref(provider as string) }];
    case 'declined':
    case 'failed': {
      if (p.status === 'declined' || p.status === 'failed') return [];
      if (p.status !== 'requested' && p.status !== 'pending')
        throw invalid(p, `it cannot become ${data.kind}`);
      const reason = data.reason ?? (data.kind === 'declined' ? 'declined' : 'provider_failed');
      if (data.kind === 'declined')
        return [{ type: 'PaymentDeclined', data: { ...ref(provider as string), reason } }];
      return [
        {
          type: 'PaymentFailed',
          data: {
            orderId: p.orderId,
            ...(provider !== null && { providerPaymentId: provider }),
            ...(data.eventId !== undefined && { eventId: data.eventId }),
            reason,
          },
        },
      ];
    }
    case 'captured': {
      if (rank[p.status] >= FINAL) throw invalid(p, 'it cannot be captured');
      if (rank[p.status] >= rank.captured) return [];
      const amountCents = data.amountCents ?? p.amount.amountCents;
      if (amountCents > p.amount.amountCents) {
        throw fail(
          'validation_failed',
          `a capture of ${amountCents} exceeds the payment's ${p.amount.amountCents}`,
        );
      }
      // A capture reported before its authorization (webhooks are not ordered): both, in order.
      const events: PaymentEvent[] =
        p.status === 'authorized' ? [] : [{ type: 'PaymentAuthorized', data: ref(provider as string) }];
      return [...events, { type: 'PaymentCaptured', data: { ...ref(provider as string), amountCents } }];
    }
    case 'voided':
      if (p.status === 'voided') return [];
      if (rank[p.status] > rank.authorized) throw invalid(p, 'only an uncaptured payment is voided');
      return [{ type: 'PaymentVoided', data: ref(provider as string) }];
    case 'refunded': {
      const refundId = data.refundId;
      if (refundId === undefined || refundId.length === 0) {
        throw fail('validation_failed', 'a refunded result names the refund (refundId)');
      }
      if (p.refundIds.includes(refundId)) return [];
      if (p.status !== 'captured' && p.status !== 'partially_refunded')
        throw invalid(p, 'nothing was captured');
      const amountCents = data.amountCents ?? refundable(p);
      if (amountCents > refundable(p)) {
        throw fail('refund_exceeds_captured', `at most ${refundable(p)} can be refunded`, {
          refundable: refundable(p),
        });
      }
      return [{ type: 'PaymentRefunded', data: { ...ref(provider as string), amountCents, refundId } }];
    }
    default: {
      const unknown: never = data.kind;
      throw fail('validation_failed', `unknown result ${String(unknown)}`);
    }
  }
}

export function decide(command: PaymentCommand, state: PaymentState): PaymentEvent[] {
  switch (command.type) {
    case 'RequestPayment': {
      const { orderId, amount, userId } = command.data;
      if (!Number.isSafeInteger(amount.amountCents) || amount.amountCents < 1) {
        throw fail('validation_failed', `${amount.amountCents} is not an amount in cents above 0`);
      }
      if (state.kind === 'payment') {
        // The same request again (a retried saga step) is applied once; another one is refused.
        const same =
          state.amount.amountCents === amount.amountCents && state.amount.currency === amount.currency;
        if (same) return [];
        throw fail('payment_already_exists', `order ${orderId} has a payment of another amount`);
      }
      return [
        { type: 'PaymentRequested', data: { orderId, amount, ...(userId !== undefined && { userId }) } },
      ];
    }
    case 'RecordProviderResult':
      return recordResult(existing(state, command.data.orderId), command.data);
    case 'RefundPayment': {
      const p = existing(state, command.data.orderId);
      if (p.refundKeys.includes(command.data.idempotencyKey)) return [];
      if (p.status !== 'captured' && p.status !== 'partially_refunded') {
        throw invalid(p, 'only a captured payment is refunded');
      }
      const amountCents = command.data.amountCents ?? refundable(p);
      if (!Number.isSafeInteger(amountCents) || amountCents < 1) {
        throw fail('validation_failed', `${amountCents} is not an amount in cents above 0`);
      }
      if (amountCents > refundable(p)) {
        throw fail('refund_exceeds_captured', `at most ${refundable(p)} can be refunded`, {
          refundable: refundable(p),
        });
      }
      return [
        {
          type: 'PaymentRefundRequested',
          data: {
            orderId: p.orderId,
            amountCents,
            reason: command.data.reason ?? 'requested',
            idempotencyKey: command.data.idempotencyKey,
          },
        },
      ];
    }
    default: {
      const unknown: never = command;
      throw new Error(`unknown command ${JSON.stringify(unknown)}`);
    }
  }
}

function withEvent(p: Payment, eventId: string | undefined): Payment {
  return eventId === undefined ? p : { ...p, eventIds: [...p.eventIds, eventId] };
}

export function evolve(state: PaymentState, event: PaymentEvent): PaymentState {
  if (event.type === 'PaymentRequested') {
    const { orderId, amount, providerPaymentId } = event.data;
    return {
      kind: 'payment',
      orderId,
      amount,
      status: 'requested',
      providerPaymentId: providerPaymentId ?? null,
      capturedCents: 0,
      refundedCents: 0,
      reason: null,
      eventIds: [],
      refundIds: [],
      refundKeys: [],
    };
  }
  if (state.kind !== 'payment') return state;
  switch (event.type) {
    case 'PaymentPending':
    case 'PaymentAuthorized':
    case 'PaymentVoided': {
      const status =
        event.type === 'PaymentPending'
          ? 'pending'
          : event.type === 'PaymentAuthorized'
            ? 'authorized'
            : 'voided';
      return withEvent(
        { ...state, status, providerPaymentId: event.data.providerPaymentId },
        event.data.eventId,
      );
    }
    case 'PaymentDeclined':
      return withEvent(
        {
          ...state,
          status: 'declined',
          providerPaymentId: event.data.providerPaymentId,
          reason: event.data.reason,
        },
        event.data.eventId,
      );
    case 'PaymentFailed':
      return withEvent(
        {
          ...state,
          status: 'failed',
          providerPaymentId: event.data.providerPaymentId ?? state.providerPaymentId,
          reason: event.data.reason,
        },
        event.data.eventId,
      );
    case 'PaymentCaptured':
      return withEvent(
        {
          ...state,
          status: 'captured',
          providerPaymentId: event.data.providerPaymentId,
          capturedCents: event.data.amountCents,
        },
        event.data.eventId,
      );
    case 'PaymentRefundRequested':
      return { ...state, refundKeys: [...state.refundKeys, event.data.idempotencyKey] };
    case 'PaymentRefunded': {
      const refundedCents = state.refundedCents + event.data.amountCents;
      return withEvent(
        {
          ...state,
          status: refundedCents >= state.capturedCents ? 'refunded' : 'partially_refunded',
          refundedCents,
          refundIds: [...state.refundIds, event.data.refundId],
        },
        event.data.eventId,
      );
    }
    default: {
      // An event type this build does not know yet (a newer writer): it changes nothing here.
      const _unknown: never = event;
      return state;
    }
  }
}

export const initialState = (): PaymentState => ({ kind: 'none' });

/** The Payment aggregate's decider. */
export const paymentDecider: Decider<PaymentCommand, PaymentEvent, PaymentState> = {
  decide,
  evolve,
  initialState,
};
