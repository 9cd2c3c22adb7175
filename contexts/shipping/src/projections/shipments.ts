// The shipping context's `shipments` read model: one document per order's shipment, with its
// tracking number, status and history, filterable by user and status.
import type { DocumentProjection, ProjectedEvent } from '@optic-mart/runtime';
import type { ShippingAddress } from '@optic-mart/ordering';
import type { ShipmentEvent, ShipmentEventType, ShipmentStatus } from '../domain/shipment.js';

/** A shipment as `GET /api/orders/{id}/shipment` returns it. */
export interface ShipmentView {
  readonly orderId: string;
  readonly userId: string;
  readonly trackingNumber: string;
  readonly address: ShippingAddress;
  readonly status: ShipmentStatus;
  /** Set when cancelled. */
  readonly cancelReason: string | null;
  /** Each status with when it was reached (ISO). */
  readonly history: readonly { readonly status: ShipmentStatus; readonly at: string }[];
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly version: number;
}

const shipmentEvents = [
  'ShipmentCreated',
  'ShipmentShipped',
  'ShipmentDelivered',
  'ShipmentCancelled',
] as const satisfies readonly ShipmentEventType[];

const statusAfter: Record<Exclude<ShipmentEventType, 'ShipmentCreated'>, ShipmentStatus> = {
  ShipmentShipped: 'shipped',
  ShipmentDelivered: 'delivered',
  ShipmentCancelled: 'cancelled',
};

function documentId(event: ProjectedEvent): string | null {
  const data = event.data as { orderId?: unknown } | null;
  return typeof data?.orderId === 'string' && data.orderId.length > 0 ? data.orderId : null;
}

function apply(doc: ShipmentView | null, event: ProjectedEvent): ShipmentView | null {
  const at = event.recordedAt.toISOString();
  const known = { type: event.type, data: event.data } as ShipmentEvent;
  if (known.type === 'ShipmentCreated') {
    const { orderId, userId, trackingNumber, address } = known.data;
    return {
      orderId,
      userId,
      trackingNumber,
      address,
      status: 'created',
      cancelReason: null,
      history: [{ status: 'created', at }],
      createdAt: at,
      updatedAt: at,
      version: event.version,
    };
  }
  const status = (statusAfter as Partial<Record<string, ShipmentStatus>>)[known.type];
  if (!doc || !status) return doc;
  return {
    ...doc,
    status,
    ...(known.type === 'ShipmentCancelled' && { cancelReason: known.data.reason }),
    history: [...doc.history, { status, at }],
    updatedAt: at,
    version: event.version,
  };
}

/** `read.shipments`: filterable by user and status; `shipments_by_status` counts. */
export const shipmentsProjection: DocumentProjection<ShipmentView> = {
  name: 'shipments',
  version: 1,
  category: 'shipment',
  events: shipmentEvents,
  documentId,
  apply,
  columns: {
    user_id: { type: 'text', value: (s) => s.userId, index: 'btree' },
    status: { type: 'text', value: (s) => s.status, index: 'btree' },
    tracking_number: { type: 'text', value: (s) => s.trackingNumber, index: 'btree' },
  },
  counters: { status: (s) => s.status },
  topics: (id, before, after) => [
    'shipments',
    `orders/${id}/shipment`,
    ...[before?.userId, after?.userId]
      .filter((u, i, all): u is string => !!u && all.indexOf(u) === i)
      .map((u) => `users/${u}/shipments`),
  ],
};
