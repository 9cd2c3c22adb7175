// The Stock aggregate (one per SKU, stream `stock-<sku>`): what is on hand, and what orders hold of
// it. Reservations never exceed what is on hand, so the stock never goes below zero.
import { DomainError, type Decider } from '@optic-mart/runtime';
import type { OrderId, Sku } from '@optic-mart/catalog';

/** Most units one SKU may have on hand (exact in a double with room to spare). */
export const MAX_ON_HAND = 1_000_000_000;

export interface StockReservation {
  readonly sku: Sku;
  readonly orderId: OrderId;
  readonly quantity: number;
}

export interface OrderOfSku {
  readonly sku: Sku;
  readonly orderId: OrderId;
}

export type StockCommand =
  | { readonly type: 'Restock'; readonly data: { readonly sku: Sku; readonly quantity: number } }
  | { readonly type: 'ReserveStock'; readonly data: StockReservation }
  | { readonly type: 'ReleaseStock'; readonly data: OrderOfSku }
  | { readonly type: 'CommitStock'; readonly data: OrderOfSku };

export type StockCommandType = StockCommand['type'];

export type StockEvent =
  | { readonly type: 'StockRestocked'; readonly data: { readonly sku: Sku; readonly quantity: number } }
  | { readonly type: 'StockReserved'; readonly data: StockReservation }
  | { readonly type: 'StockReleased'; readonly data: StockReservation }
  | { readonly type: 'StockCommitted'; readonly data: StockReservation };

export type StockEventType = StockEvent['type'];

export interface Stock {
  readonly sku: Sku | null;
  /** Units in the warehouse, reserved ones included. */
  readonly onHand: number;
  /** Units each order holds, by order id. */
  readonly reservations: Readonly<Record<string, number>>;
}

/** Every code the stock decider throws; each is a line of the platform's error table. */
export const stockErrorCodes = [
  'validation_failed',
  'insufficient_stock',
  'stock_already_reserved',
  'stock_reservation_not_found',
] as const;

export type StockErrorCode = (typeof stockErrorCodes)[number];

const fail = (code: StockErrorCode, detail: string, extra?: Record<string, unknown>) =>
  new DomainError(code, detail, extra);

/** Units held by orders. */
export const reservedOf = (stock: Stock): number =>
  Object.values(stock.reservations).reduce((sum, n) => sum + n, 0);

/** Units an order may still reserve. */
export const availableOf = (stock: Stock): number => stock.onHand - reservedOf(stock);

const isQuantity = (n: number, max: number) => Number.isSafeInteger(n) && n >= 1 && n <= max;

function heldBy(stock: Stock, { sku, orderId }: OrderOfSku): StockReservation {
  const quantity = Object.hasOwn(stock.reservations, orderId) ? stock.reservations[orderId] : undefined;
  if (quantity === undefined) {
    throw fail('stock_reservation_not_found', `order ${orderId} holds no reservation of ${sku}`);
  }
  return { sku, orderId, quantity };
}

export function decide(command: StockCommand, stock: Stock): StockEvent[] {
  switch (command.type) {
    case 'Restock': {
      const { sku, quantity } = command.data;
      if (!isQuantity(quantity, MAX_ON_HAND) || stock.onHand + quantity > MAX_ON_HAND) {
        throw fail('validation_failed', `a restock adds 1 to ${MAX_ON_HAND - stock.onHand} units of ${sku}`, {
          errors: [
            { field: 'quantity', message: `must be an integer from 1 to ${MAX_ON_HAND - stock.onHand}` },
          ],
        });
      }
      return [{ type: 'StockRestocked', data: { sku, quantity } }];
    }
    case 'ReserveStock': {
      const { sku, orderId, quantity } = command.data;
      if (!isQuantity(quantity, MAX_ON_HAND)) {
        throw fail('validation_failed', 'a reservation is of at least one unit', {
          errors: [{ field: 'quantity', message: 'must be a positive integer' }],
        });
      }
      if (Object.hasOwn(stock.reservations, orderId)) {
        throw fail('stock_already_reserved', `order ${orderId} holds a reservation of ${sku} already`);
      }
      const available = availableOf(stock);
      if (quantity > available) {
        throw fail('insufficient_stock', `${quantity} of ${sku} asked for, ${available} available`, {
          sku,
          available,
          requested: quantity,
        });
      }
      return [{ type: 'StockReserved', data: { sku, orderId, quantity } }];
    }
    case 'ReleaseStock':
      return [{ type: 'StockReleased', data: heldBy(stock, command.data) }];
    case 'CommitStock':
      return [{ type: 'StockCommitted', data: heldBy(stock, command.data) }];
    default: {
      const unknown: never = command;
      throw new Error(`unknown command ${JSON.stringify(unknown)}`);
    }
  }
}

const without = (reservations: Readonly<Record<string, number>>, orderId: string) =>
  Object.fromEntries(Object.entries(reservations).filter(([id]) => id !== orderId));

export function evolve(stock: Stock, event: StockEvent): Stock {
  switch (event.type) {
    case 'StockRestocked':
      return { ...stock, sku: event.data.sku, onHand: stock.onHand + event.data.quantity };
    case 'StockReserved':
      return {
        ...stock,
        sku: event.data.sku,
        reservations: { ...stock.reservations, [event.data.orderId]: event.data.quantity },
      };
    case 'StockReleased':
      return { ...stock, reservations: without(stock.reservations, event.data.orderId) };
    case 'StockCommitted':
      return {
        ...stock,
        onHand: stock.onHand - event.data.quantity,
        reservations: without(stock.reservations, event.data.orderId),
      };
    default: {
      // An event type this build does not know yet (a newer writer): it changes nothing here.
      const _unknown: never = event;
      return stock;
    }
  }
}

export const initialState = (): Stock => ({ sku: null, onHand: 0, reservations: {} });

export const stockDecider: Decider<StockCommand, StockEvent, Stock> = { decide, evolve, initialState };
