// The `fulfillments` read model: one document per order's saga — where it stands and its whole
// history (each transition of `fulfillment-<orderId>`), as GET /api/orders/{id}/fulfillment shows it.
import type { DocumentProjection, ProjectedEvent } from '@optic-mart/runtime';
import type { FulfillmentEvent, FulfillmentEventType, FulfillmentStatus, Step } from './fulfillment.js';

export interface FulfillmentHistoryEntry {
  readonly type: FulfillmentEventType;
  readonly step: Step | null;
  readonly attempt: number | null;
  readonly error: string | null;
  readonly reason: string | null;
  readonly at: string;
}

export interface FulfillmentView {
  readonly orderId: string;
  readonly userId: string;
  readonly status: Exclude<FulfillmentStatus, 'none'>;
  /** The step it is at (running or compensating), null when finished. */
  readonly step: Step | null;
  readonly reason: string | null;
  readonly providerPaymentId: string | null;
  readonly trackingNumber: string | null;
  readonly history: readonly FulfillmentHistoryEntry[];
  readonly startedAt: string;
  readonly updatedAt: string;
  readonly version: number;
}

const events = [
  'FulfillmentStarted',
  'StepStarted',
  'StepSucceeded',
  'StepFailed',
  'CompensationStarted',
  'FulfillmentCompleted',
  'FulfillmentCompensated',
  'FulfillmentFailed',
] as const satisfies readonly FulfillmentEventType[];

/** At most this many history entries are kept (the stream has them all). */
const MAX_HISTORY = 200;

function documentId(event: ProjectedEvent): string | null {
  const data = event.data as { orderId?: unknown } | null;
  return typeof data?.orderId === 'string' && data.orderId.length > 0 ? data.orderId : null;
}

function apply(doc: FulfillmentView | null, projected: ProjectedEvent): FulfillmentView | null {
  const at = projected.recordedAt.toISOString();
  const event = { type: projected.type, data: projected.data } as FulfillmentEvent;
  if (event.type === 'FulfillmentStarted') {
    if (doc) return doc;
    doc = {
      orderId: event.data.orderId,
      userId: event.data.userId,
      status: 'running',
      step: null,
      reason: null,
      providerPaymentId: null,
      trackingNumber: null,
      history: [],
      startedAt: at,
      updatedAt: at,
      version: 0,
    };
  }
  if (doc === null) return null;
  const data = event.data as Partial<{ step: Step; attempt: number; error: string; reason: string }>;
  const entry: FulfillmentHistoryEntry = {
    type: event.type,
    step: data.step ?? null,
    attempt: data.attempt ?? null,
    error: data.error ?? null,
    reason: data.reason ?? null,
    at,
  };
  let next: FulfillmentView = {
    ...doc,
    history: [...doc.history, entry].slice(-MAX_HISTORY),
    updatedAt: at,
    version: projected.version,
  };
  switch (event.type) {
    case 'StepStarted':
      next = { ...next, step: event.data.step };
      break;
    case 'StepSucceeded':
      next = {
        ...next,
        providerPaymentId: event.data.result.providerPaymentId ?? next.providerPaymentId,
        trackingNumber: event.data.result.trackingNumber ?? next.trackingNumber,
      };
      break;
    case 'CompensationStarted':
      next = { ...next, status: 'compensating', reason: event.data.reason };
      break;
    case 'FulfillmentCompleted':
      next = { ...next, status: 'completed', step: null };
      break;
    case 'FulfillmentCompensated':
      next = { ...next, status: 'compensated', step: null, reason: event.data.reason };
      break;
    case 'FulfillmentFailed':
      next = { ...next, status: 'failed', reason: event.data.reason };
      break;
    default:
      break;
  }
  return next;
}

/** `read.fulfillments`: filterable by user and status; `fulfillments_by_status` counts. */
export const fulfillmentsProjection: DocumentProjection<FulfillmentView> = {
  name: 'fulfillments',
  version: 1,
  category: 'fulfillment',
  events,
  documentId,
  apply,
  columns: {
    user_id: { type: 'text', value: (f) => f.userId, index: 'btree' },
    status: { type: 'text', value: (f) => f.status, index: 'btree' },
  },
  counters: { status: (f) => f.status },
  topics: (id) => ['fulfillments', `orders/${id}/fulfillment`],
};
