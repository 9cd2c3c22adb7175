// The fulfillment saga's state machine (seed 003's orchestrated saga), as a pure decider over
// the stream `fulfillment-<orderId>`. The process (../process.ts) does the outward calls; this
// records what it attempted and what came of it, and says what comes next:
//   reserve (done at placement) → authorize → capture → markPaid → createShipment → approve
//   → FulfillmentCompleted.
// A step refused for good (declined payment, unserved country) or failing on every one of its
// bounded attempts starts the compensation: the steps that took (or may have taken) effect are
// undone in reverse — cancelShipment, refund (or void), cancelOrder (which releases the stock
// and pets) — then FulfillmentCompensated {reason}. Repeated commands (a restarted process, a
// redelivered event) decide nothing: each step's outcome is recorded once.
import { DomainError, type Decider } from '@optic-mart/runtime';

export const forwardSteps = [
  'reserve',
  'authorize',
  'capture',
  'markPaid',
  'createShipment',
  'approve',
] as const;
export const compensationSteps = ['cancelShipment', 'refund', 'void', 'cancelOrder'] as const;
export type ForwardStep = (typeof forwardSteps)[number];
export type CompensationStep = (typeof compensationSteps)[number];
export type Step = ForwardStep | CompensationStep;

export const fulfillmentStatuses = [
  'none',
  'running',
  'compensating',
  'completed',
  'compensated',
  'failed',
] as const;
export type FulfillmentStatus = (typeof fulfillmentStatuses)[number];

/** Money as the ordering context has it: integer cents and an ISO 4217 code. */
export interface Amount {
  readonly amountCents: number;
  readonly currency: string;
}

export interface FulfillmentAddress {
  readonly name: string;
  readonly line1: string;
  readonly city: string;
  readonly postalCode: string;
  readonly country: string;
}

/** What a succeeded step learnt, kept for the steps after it and for the compensations. */
export interface StepResult {
  readonly providerPaymentId?: string;
  readonly trackingNumber?: string;
}

export interface StartFulfillmentData {
  readonly orderId: string;
  readonly userId: string;
  readonly amount: Amount;
  readonly shippingAddress: FulfillmentAddress | null;
  /** Attempts per forward step before the saga compensates. */
  readonly maxAttempts: number;
  /** Attempts per compensation step before the saga stops as failed (for a person to look at). */
  readonly maxCompensationAttempts: number;
}

export type FulfillmentCommand =
  | { readonly type: 'StartFulfillment'; readonly data: StartFulfillmentData }
  | { readonly type: 'StartStep'; readonly data: { readonly step: Step; readonly attempt: number } }
  | {
      readonly type: 'CompleteStep';
      readonly data: { readonly step: Step; readonly attempt: number; readonly result?: StepResult };
    }
  | {
      readonly type: 'FailStep';
      readonly data: {
        readonly step: Step;
        readonly attempt: number;
        readonly error: string;
        /** False: refused for good (declined, shipping unavailable); no retry helps. */
        readonly retryable: boolean;
      };
    };

export type FulfillmentEvent =
  | { readonly type: 'FulfillmentStarted'; readonly data: StartFulfillmentData }
  | {
      readonly type: 'StepStarted';
      readonly data: { readonly orderId: string; readonly step: Step; readonly attempt: number };
    }
  | {
      readonly type: 'StepSucceeded';
      readonly data: {
        readonly orderId: string;
        readonly step: Step;
        readonly attempt: number;
        readonly result: StepResult;
      };
    }
  | {
      readonly type: 'StepFailed';
      readonly data: {
        readonly orderId: string;
        readonly step: Step;
        readonly attempt: number;
        readonly error: string;
        readonly retryable: boolean;
      };
    }
  | {
      readonly type: 'CompensationStarted';
      readonly data: {
        readonly orderId: string;
        readonly reason: string;
        readonly steps: readonly CompensationStep[];
      };
    }
  | { readonly type: 'FulfillmentCompleted'; readonly data: { readonly orderId: string } }
  | {
      readonly type: 'FulfillmentCompensated';
      readonly data: { readonly orderId: string; readonly reason: string };
    }
  | {
      readonly type: 'FulfillmentFailed';
      readonly data: {
        readonly orderId: string;
        readonly reason: string;
        readonly step: Step;
        readonly error: string;
      };
    };

export type FulfillmentEventType = FulfillmentEvent['type'];

/** How a step stands: not tried, in flight, done, refused for good, or failed (maybe took effect). */
export type StepOutcome = 'started' | 'succeeded' | 'refused' | 'failed';

export interface FulfillmentState {
  readonly status: FulfillmentStatus;
  readonly orderId: string | null;
  readonly userId: string | null;
  readonly amount: Amount | null;
  readonly shippingAddress: FulfillmentAddress | null;
  readonly maxAttempts: number;
  readonly maxCompensationAttempts: number;
  /** Attempts started per step, and each step's last outcome. */
  readonly attempts: Readonly<Partial<Record<Step, number>>>;
  readonly outcomes: Readonly<Partial<Record<Step, StepOutcome>>>;
  /** The compensations still to run, in order. */
  readonly pendingCompensations: readonly CompensationStep[];
  readonly providerPaymentId: string | null;
  readonly trackingNumber: string | null;
  readonly reason: string | null;
}

export const initialFulfillmentState = (): FulfillmentState => ({
  status: 'none',
  orderId: null,
  userId: null,
  amount: null,
  shippingAddress: null,
  maxAttempts: 0,
  maxCompensationAttempts: 0,
  attempts: {},
  outcomes: {},
  pendingCompensations: [],
  providerPaymentId: null,
  trackingNumber: null,
  reason: null,
});

/** The step the saga runs next, or null when it has finished. */
export function nextStep(state: FulfillmentState): Step | null {
  if (state.status === 'running') return forwardSteps.find((s) => state.outcomes[s] !== 'succeeded') ?? null;
  if (state.status === 'compensating') return state.pendingCompensations[0] ?? null;
  return null;
}

/** The step in flight (started, no outcome recorded): a restarted process runs it again. */
export function inFlight(state: FulfillmentState): { step: Step; attempt: number } | null {
  const step = nextStep(state);
  if (step === null || state.outcomes[step] !== 'started') return null;
  return { step, attempt: state.attempts[step] ?? 1 };
}

export const isFinished = (state: FulfillmentState): boolean =>
  state.status === 'completed' || state.status === 'compensated' || state.status === 'failed';

const isCompensation = (step: Step): step is CompensationStep =>
  (compensationSteps as readonly string[]).includes(step);

/** What may have taken effect (succeeded, or failed in a way that may have done it) must be undone. */
const tookEffect = (state: FulfillmentState, step: Step): boolean => {
  const outcome = state.outcomes[step];
  return outcome === 'succeeded' || outcome === 'failed' || outcome === 'started';
};

/** The compensations for the steps that took effect, in reverse order of the steps. */
export function compensationPlan(state: FulfillmentState): CompensationStep[] {
  const plan: CompensationStep[] = [];
  if (tookEffect(state, 'createShipment')) plan.push('cancelShipment');
  if (tookEffect(state, 'capture')) plan.push('refund');
  else if (tookEffect(state, 'authorize')) plan.push('void');
  plan.push('cancelOrder');
  return plan;
}

/** Why a failing forward step cancels the order (the reason CancelOrder and the events carry). */
export function compensationReason(step: ForwardStep, retryable: boolean): string {
  switch (step) {
    case 'authorize':
    case 'capture':
      return retryable ? 'payment_failed' : 'payment_declined';
    case 'markPaid':
      return 'payment_failed';
    case 'createShipment':
      return 'shipment_failed';
    default:
      return `${step}_failed`;
  }
}

function decideStart(command: StartFulfillmentData, state: FulfillmentState): FulfillmentEvent[] {
  // A redelivered OrderPlaced: the saga exists already, nothing to do.
  if (state.status !== 'none') return [];
  if (!(command.maxAttempts >= 1) || !(command.maxCompensationAttempts >= 1)) {
    throw new DomainError('validation_failed', 'maxAttempts and maxCompensationAttempts must be at least 1');
  }
  return [
    { type: 'FulfillmentStarted', data: command },
    // The order's pets and stock were reserved in the append that placed it.
    { type: 'StepSucceeded', data: { orderId: command.orderId, step: 'reserve', attempt: 1, result: {} } },
  ];
}

export const fulfillmentDecider: Decider<FulfillmentCommand, FulfillmentEvent, FulfillmentState> = {
  initialState: initialFulfillmentState,
  decide(command, state) {
    if (command.type === 'StartFulfillment') return decideStart(command.data, state);
    if (state.status === 'none') {
      throw new DomainError('not_found', 'There is no fulfillment for this order.');
    }
    const orderId = state.orderId ?? '';
    const { step, attempt } = command.data;
    // Only the step the saga is at can start or end; anything else is a repeat or a late answer.
    if (nextStep(state) !== step) return [];
    const started = state.attempts[step] ?? 0;
    switch (command.type) {
      case 'StartStep':
        if (attempt !== started + 1) return [];
        return [{ type: 'StepStarted', data: { orderId, step, attempt } }];
      case 'CompleteStep': {
        if (state.outcomes[step] !== 'started' || attempt !== started) return [];
        const events: FulfillmentEvent[] = [
          { type: 'StepSucceeded', data: { orderId, step, attempt, result: command.data.result ?? {} } },
        ];
        if (step === 'approve') events.push({ type: 'FulfillmentCompleted', data: { orderId } });
        if (state.status === 'compensating' && state.pendingCompensations.length === 1) {
          events.push({
            type: 'FulfillmentCompensated',
            data: { orderId, reason: state.reason ?? 'unknown' },
          });
        }
        return events;
      }
      case 'FailStep': {
        if (state.outcomes[step] !== 'started' || attempt !== started) return [];
        const { error, retryable } = command.data;
        const failed: FulfillmentEvent = {
          type: 'StepFailed',
          data: { orderId, step, attempt, error, retryable },
        };
        if (isCompensation(step)) {
          if (retryable && attempt < state.maxCompensationAttempts) return [failed];
          return [
            failed,
            { type: 'FulfillmentFailed', data: { orderId, reason: 'compensation_failed', step, error } },
          ];
        }
        if (retryable && attempt < state.maxAttempts) return [failed];
        const after = fulfillmentDecider.evolve(state, failed);
        return [
          failed,
          {
            type: 'CompensationStarted',
            data: { orderId, reason: compensationReason(step, retryable), steps: compensationPlan(after) },
          },
        ];
      }
      default: {
        const unknown: never = command;
        throw new Error(`unknown command ${JSON.stringify(unknown)}`);
      }
    }
  },
  evolve(state, event) {
    switch (event.type) {
      case 'FulfillmentStarted': {
        const { orderId, userId, amount, shippingAddress, maxAttempts, maxCompensationAttempts } = event.data;
        return {
          ...state,
          status: 'running',
          orderId,
          userId,
          amount,
          shippingAddress,
          maxAttempts,
          maxCompensationAttempts,
        };
      }
      case 'StepStarted':
        return {
          ...state,
          attempts: { ...state.attempts, [event.data.step]: event.data.attempt },
          outcomes: { ...state.outcomes, [event.data.step]: 'started' },
        };
      case 'StepSucceeded': {
        const { step, result } = event.data;
        return {
          ...state,
          attempts: { ...state.attempts, [step]: Math.max(state.attempts[step] ?? 0, event.data.attempt) },
          outcomes: { ...state.outcomes, [step]: 'succeeded' },
          pendingCompensations: state.pendingCompensations.filter((s) => s !== step),
          providerPaymentId: result.providerPaymentId ?? state.providerPaymentId,
          trackingNumber: result.trackingNumber ?? state.trackingNumber,
        };
      }
      case 'StepFailed':
        return {
          ...state,
          outcomes: { ...state.outcomes, [event.data.step]: event.data.retryable ? 'failed' : 'refused' },
        };
      case 'CompensationStarted':
        return {
          ...state,
          status: 'compensating',
          reason: event.data.reason,
          pendingCompensations: [...event.data.steps],
        };
      case 'FulfillmentCompleted':
        return { ...state, status: 'completed' };
      case 'FulfillmentCompensated':
        return { ...state, status: 'compensated', reason: event.data.reason };
      case 'FulfillmentFailed':
        return { ...state, status: 'failed', reason: event.data.reason };
      default:
        return state;
    }
  },
};

/** The saga's stream. */
export const fulfillmentStreamId = (orderId: string): string => `fulfillment-${orderId}`;
