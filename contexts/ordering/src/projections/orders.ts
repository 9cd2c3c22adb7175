// The ordering context's `orders` read model: one document per order, as the API shows it, with
// the columns the lists filter on (its user, its status) and the counts by status.
import type { DocumentProjection, ProjectedEvent } from '@optic-mart/runtime';
import type { Money } from '../domain/money.js';
import type {
  OrderEvent,
  OrderEventType,
  OrderLine,
  OrderPlacedData,
  OrderSource,
  OrderStatus,
  ShippingAddress,
} from '../domain/order.js';

/** An order as `GET /api/orders/{id}` returns it. */
export interface OrderView {
  readonly id: string;
  readonly userId: string;
  readonly status: OrderStatus;
  readonly lines: readonly OrderLine[];
  readonly total: Money;
  readonly shipDate: string | null;
  /** Where it came from ('api' for orders placed before issue 6). */
  readonly source: OrderSource;
  /** A checkout's order: where it goes. */
  readonly shippingAddress: ShippingAddress | null;
  /** Set once paid (MarkOrderPaid), shipped (its tracking number), cancelled (why). */
  readonly paymentId: string | null;
  readonly trackingNumber: string | null;
  readonly cancelReason: string | null;
  /** When it was placed, and when its status last changed (ISO). */
  readonly placedAt: string;
  readonly updatedAt: string;
  readonly version: number;
}

const orderEvents = [
  'OrderPlaced',
  'OrderPaid',
  'OrderApproved',
  'OrderShipped',
  'OrderDelivered',
  'OrderCancelled',
] as const satisfies readonly OrderEventType[];

const statusAfter: Partial<Record<OrderEventType, OrderStatus>> = {
  OrderPaid: 'paid',
  OrderApproved: 'approved',
  OrderShipped: 'shipped',
  OrderDelivered: 'delivered',
  OrderCancelled: 'cancelled',
};

function documentId(event: ProjectedEvent): string | null {
  const data = event.data as { orderId?: unknown } | null;
  return typeof data?.orderId === 'string' && data.orderId.length > 0 ? data.orderId : null;
}

function apply(doc: OrderView | null, event: ProjectedEvent): OrderView | null {
  const at = event.recordedAt.toISOString();
  const type = event.type as OrderEventType;
  if (type === 'OrderPlaced') {
    const { orderId, userId, lines, total, shipDate } = event.data as OrderPlacedData;
    return {
      id: orderId,
      userId,
      status: 'placed',
      lines,
      total,
      shipDate,
      source: (event.data as Partial<OrderPlacedData>).source ?? 'api',
      shippingAddress: (event.data as Partial<OrderPlacedData>).shippingAddress ?? null,
      paymentId: null,
      trackingNumber: null,
      cancelReason: null,
      placedAt: at,
      updatedAt: at,
      version: event.version,
    };
  }
  const status = statusAfter[type];
  // An order event this build does not know (a newer writer): the document stays as it is.
  if (!doc || !status) return doc;
  const known = { type, data: event.data } as OrderEvent;
  const details =
    known.type === 'OrderPaid'
      ? { paymentId: known.data.paymentId }
      : known.type === 'OrderShipped'
        ? { trackingNumber: known.data.trackingNumber }
        : known.type === 'OrderCancelled'
          ? { cancelReason: known.data.reason ?? null }
          : {};
  return { ...doc, ...details, status, updatedAt: at, version: event.version };
}

/** `read.orders`: filterable by user and status, sortable by when placed; `orders_by_status` counts. */
export const ordersProjection: DocumentProjection<OrderView> = {
  name: 'orders',
  // 2: issue 6's statuses (paid, shipped), source, shipping address, payment, tracking, reason.
  version: 2,
  category: 'order',
  events: orderEvents,
  documentId,
  apply,
  columns: {
    user_id: { type: 'text', value: (o) => o.userId, index: 'btree' },
    status: { type: 'text', value: (o) => o.status, index: 'btree' },
    source: { type: 'text', value: (o) => o.source ?? 'api', index: 'btree' },
    placed_at: { type: 'timestamptz', value: (o) => o.placedAt, index: 'btree' },
    pet_ids: {
      type: 'text[]',
      value: (o) => o.lines.flatMap((l) => (l.kind === 'pet' ? [l.petId] : [])),
      index: 'gin',
    },
  },
  counters: { status: (o) => o.status },
  topics: (id, before, after) => [
    'orders',
    `orders/${id}`,
    ...[before?.userId, after?.userId]
      .filter((u, i, all): u is string => !!u && all.indexOf(u) === i)
      .map((u) => `users/${u}/orders`),
  ],
};
