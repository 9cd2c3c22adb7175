// The inventory's `stock` read model: one document per SKU with what is on hand, reserved and
// available.
import type { DocumentProjection, ProjectedEvent } from '@optic-mart/runtime';
import type { StockEventType } from '../domain/stock.js';

/** A SKU's stock as `GET /api/stock/{sku}` returns it. */
export interface StockView {
  readonly sku: string;
  readonly onHand: number;
  readonly reserved: number;
  readonly available: number;
  /** Units each order holds. */
  readonly reservations: Readonly<Record<string, number>>;
  readonly version: number;
}

const stockEvents = [
  'StockRestocked',
  'StockReserved',
  'StockReleased',
  'StockCommitted',
] as const satisfies readonly StockEventType[];

interface Data {
  readonly sku?: unknown;
  readonly orderId?: unknown;
  readonly quantity?: unknown;
}

const dataOf = (event: ProjectedEvent): Data =>
  typeof event.data === 'object' && event.data !== null ? event.data : {};

function documentId(event: ProjectedEvent): string | null {
  const { sku } = dataOf(event);
  return typeof sku === 'string' && sku.length > 0 ? sku : null;
}

const view = (
  sku: string,
  onHand: number,
  reservations: Record<string, number>,
  version: number,
): StockView => {
  const reserved = Object.values(reservations).reduce((s, n) => s + n, 0);
  return { sku, onHand, reserved, available: onHand - reserved, reservations, version };
};

function apply(doc: StockView | null, event: ProjectedEvent): StockView | null {
  const { sku, orderId, quantity } = dataOf(event);
  if (typeof sku !== 'string' || typeof quantity !== 'number') return doc;
  const onHand = doc?.onHand ?? 0;
  const reservations = { ...(doc?.reservations ?? {}) };
  switch (event.type as StockEventType) {
    case 'StockRestocked':
      return view(sku, onHand + quantity, reservations, event.version);
    case 'StockReserved':
      if (typeof orderId === 'string') reservations[orderId] = quantity;
      return view(sku, onHand, reservations, event.version);
    case 'StockReleased':
      if (typeof orderId === 'string') delete reservations[orderId];
      return view(sku, onHand, reservations, event.version);
    case 'StockCommitted':
      if (typeof orderId === 'string') delete reservations[orderId];
      return view(sku, onHand - quantity, reservations, event.version);
    default:
      return doc;
  }
}

/** `read.stock`: one document per SKU, filterable by what is available. */
export const stockProjection: DocumentProjection<StockView> = {
  name: 'stock',
  version: 1,
  category: 'stock',
  events: stockEvents,
  documentId,
  apply,
  columns: {
    available: { type: 'bigint', value: (s) => s.available, index: 'btree' },
    on_hand: { type: 'bigint', value: (s) => s.onHand },
  },
  topics: (sku) => ['stock', `stock/${sku}`],
};
