// The payments context's `payments` read model: one document per order's payment, as
// GET /api/orders/{id}/payment shows it, with its history.
import type { DocumentProjection, ProjectedEvent } from '@optic-mart/runtime';
import type { PaymentAmount, PaymentEvent, PaymentEventType, PaymentStatus } from '../domain/payment.js';

/** One step of a payment's life, as the API shows it. */
export interface PaymentHistoryEntry {
  readonly type: PaymentEventType;
  readonly at: string;
  readonly amountCents?: number;
  readonly reason?: string;
  readonly refundId?: string;
}

/** An order's payment as `GET /api/orders/{id}/payment` returns it. */
export interface PaymentView {
  readonly orderId: string;
  readonly userId: string | null;
  readonly status: PaymentStatus;
  readonly amount: PaymentAmount;
  readonly providerPaymentId: string | null;
  readonly capturedCents: number;
  readonly refundedCents: number;
  /** Why it was declined or failed. */
  readonly reason: string | null;
  readonly history: readonly PaymentHistoryEntry[];
  readonly requestedAt: string;
  readonly updatedAt: string;
  readonly version: number;
}

const paymentEvents = [
  'PaymentRequested',
  'PaymentPending',
  'PaymentAuthorized',
  'PaymentDeclined',
  'PaymentCaptured',
  'PaymentVoided',
  'PaymentRefundRequested',
  'PaymentRefunded',
  'PaymentFailed',
] as const satisfies readonly PaymentEventType[];

function documentId(event: ProjectedEvent): string | null {
  const data = event.data as { orderId?: unknown } | null;
  return typeof data?.orderId === 'string' && data.orderId.length > 0 ? data.orderId : null;
}

function apply(doc: PaymentView | null, event: ProjectedEvent): PaymentView | null {
  const at = event.recordedAt.toISOString();
  const known = { type: event.type, data: event.data } as PaymentEvent;
  if (known.type === 'PaymentRequested') {
    return {
      orderId: known.data.orderId,
      userId: known.data.userId ?? null,
      status: 'requested',
      amount: known.data.amount,
      providerPaymentId: known.data.providerPaymentId ?? null,
      capturedCents: 0,
      refundedCents: 0,
      reason: null,
      history: [{ type: known.type, at, amountCents: known.data.amount.amountCents }],
      requestedAt: at,
      updatedAt: at,
      version: event.version,
    };
  }
  if (doc === null || !(paymentEvents as readonly string[]).includes(known.type)) return doc;
  const base = { ...doc, updatedAt: at, version: event.version };
  const step = (extra: Omit<PaymentHistoryEntry, 'type' | 'at'> = {}) => [
    ...doc.history,
    { type: known.type, at, ...extra },
  ];
  switch (known.type) {
    case 'PaymentPending':
      return { ...base, status: 'pending', providerPaymentId: known.data.providerPaymentId, history: step() };
    case 'PaymentAuthorized':
      return {
        ...base,
        status: 'authorized',
        providerPaymentId: known.data.providerPaymentId,
        history: step(),
      };
    case 'PaymentDeclined':
      return {
        ...base,
        status: 'declined',
        providerPaymentId: known.data.providerPaymentId,
        reason: known.data.reason,
        history: step({ reason: known.data.reason }),
      };
    case 'PaymentFailed':
      return {
        ...base,
        status: 'failed',
        reason: known.data.reason,
        history: step({ reason: known.data.reason }),
      };
    case 'PaymentCaptured':
      return {
        ...base,
        status: 'captured',
        capturedCents: known.data.amountCents,
        history: step({ amountCents: known.data.amountCents }),
      };
    case 'PaymentVoided':
      return { ...base, status: 'voided', history: step() };
    case 'PaymentRefundRequested':
      return { ...base, history: step({ amountCents: known.data.amountCents, reason: known.data.reason }) };
    case 'PaymentRefunded': {
      const refundedCents = doc.refundedCents + known.data.amountCents;
      return {
        ...base,
        status: refundedCents >= doc.capturedCents ? 'refunded' : 'partially_refunded',
        refundedCents,
        history: step({ amountCents: known.data.amountCents, refundId: known.data.refundId }),
      };
    }
  }
}

/** `read.payments`: filterable by status; `payments_by_status` counts. */
export const paymentsProjection: DocumentProjection<PaymentView> = {
  name: 'payments',
  version: 1,
  category: 'payment',
  events: paymentEvents,
  documentId,
  apply,
  columns: {
    status: { type: 'text', value: (p) => p.status, index: 'btree' },
    provider_payment_id: { type: 'text', value: (p) => p.providerPaymentId, index: 'btree' },
    changed_at: { type: 'timestamptz', value: (p) => p.updatedAt, index: 'btree' },
  },
  counters: { status: (p) => p.status },
  topics: (id) => ['payments', `orders/${id}/payment`],
};
