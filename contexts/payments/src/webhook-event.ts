// A provider webhook's body and the RecordProviderResult data it means: the gateway's webhook
// route uses it, and the saga may for results it polled.
import type { RecordProviderResultData } from './domain/payment.js';

/** What the provider POSTs: `{id, type, createdAt, data}` (type `payment.<kind>`). */
export interface ProviderWebhookEvent {
  readonly id: string;
  readonly type: string;
  readonly createdAt: string;
  readonly data: {
    readonly paymentId: string;
    readonly reference: string;
    readonly currency: string;
    /** What this event moved (authorized, captured or refunded), in cents. */
    readonly amount: number;
    readonly status: string;
    readonly refundId?: string;
    readonly reason?: string;
  };
}

const kinds: Readonly<Record<string, RecordProviderResultData['kind']>> = {
  'payment.authorized': 'authorized',
  'payment.declined': 'declined',
  'payment.captured': 'captured',
  'payment.voided': 'voided',
  'payment.refunded': 'refunded',
};

/**
 * The RecordProviderResult data of a webhook (for the payment of order `data.reference`), or null
 * for an event type this build does not handle (acknowledged and ignored).
 */
export function providerResultOfWebhook(event: ProviderWebhookEvent): RecordProviderResultData | null {
  const kind = kinds[event.type];
  if (kind === undefined) return null;
  const { data } = event;
  return {
    orderId: data.reference,
    kind,
    providerPaymentId: data.paymentId,
    eventId: event.id,
    ...((kind === 'captured' || kind === 'refunded') && data.amount > 0 && { amountCents: data.amount }),
    ...(kind === 'refunded' && data.refundId !== undefined && { refundId: data.refundId }),
    ...(kind === 'declined' && data.reason !== undefined && { reason: data.reason }),
  };
}
