// The Order aggregate (seed 003's state machine and value objects, seed 002's statuses):
//   placed → approved → delivered, and placed → cancelled.
// Placing, approving and cancelling also reserve, sell and release the order's pets and stock:
// the ordering context's routes append those events with the order's, in one atomic append.
import { DomainError, type Decider } from '@optic-mart/runtime';
import type { OrderId, PetId, Sku, UserId } from './ids.js';
import { add, times, zero, type Money } from './money.js';

export const orderStatuses = ['placed', 'approved', 'delivered', 'cancelled'] as const;
export type OrderStatus = (typeof orderStatuses)[number];

/** Most lines one order may have. */
export const MAX_ORDER_LINES = 50;
/** Most units of one supply one order may have. */
export const MAX_SUPPLY_QUANTITY = 1000;

/** A line: one pet (a unique animal), or units of a supply at the price it had when ordered. */
export type OrderLine =
  | { readonly kind: 'pet'; readonly petId: PetId; readonly quantity: 1 }
  | { readonly kind: 'supply'; readonly sku: Sku; readonly quantity: number; readonly unitPrice: Money };

export interface PlaceOrderData {
  readonly orderId: OrderId;
  readonly userId: UserId;
  readonly lines: readonly OrderLine[];
  /** When the customer wants it shipped (ISO date-time), if they said. */
  readonly shipDate: string | null;
}

export interface OrderRef {
  readonly orderId: OrderId;
}

export interface CancelOrderData extends OrderRef {
  /** Who cancels: the order's owner, or staff (sellers and admins) for any order. */
  readonly by: UserId;
  readonly asStaff: boolean;
}

export type OrderCommand =
  | { readonly type: 'PlaceOrder'; readonly data: PlaceOrderData }
  | { readonly type: 'ApproveOrder'; readonly data: OrderRef }
  | { readonly type: 'DeliverOrder'; readonly data: OrderRef }
  | { readonly type: 'CancelOrder'; readonly data: CancelOrderData };

export type OrderCommandType = OrderCommand['type'];

export type OrderPlacedData = PlaceOrderData & { readonly total: Money };

export type OrderEvent =
  | { readonly type: 'OrderPlaced'; readonly data: OrderPlacedData }
  | { readonly type: 'OrderApproved'; readonly data: OrderRef }
  | { readonly type: 'OrderDelivered'; readonly data: OrderRef }
  | { readonly type: 'OrderCancelled'; readonly data: OrderRef & { readonly by: UserId } };

export type OrderEventType = OrderEvent['type'];

export interface Order {
  readonly kind: 'order';
  readonly id: OrderId;
  readonly userId: UserId;
  readonly status: OrderStatus;
  readonly lines: readonly OrderLine[];
  readonly total: Money;
  readonly shipDate: string | null;
}

export type OrderState = { readonly kind: 'none' } | Order;

/** Every code the order decider throws; each is a line of the platform's error table. */
export const orderErrorCodes = [
  'validation_failed',
  'order_not_found',
  'order_already_exists',
  'invalid_status_transition',
] as const;

export type OrderErrorCode = (typeof orderErrorCodes)[number];

const fail = (code: OrderErrorCode, detail: string, extra?: Record<string, unknown>) =>
  new DomainError(code, detail, extra);

function existing(state: OrderState, orderId: OrderId): Order {
  if (state.kind !== 'order') throw fail('order_not_found', `order ${orderId} does not exist`);
  return state;
}

/** The state machine: which status each operation needs, and where it leads. */
const transitions = {
  ApproveOrder: { from: 'placed', to: 'approved' },
  DeliverOrder: { from: 'approved', to: 'delivered' },
  CancelOrder: { from: 'placed', to: 'cancelled' },
} as const satisfies Record<Exclude<OrderCommandType, 'PlaceOrder'>, { from: OrderStatus; to: OrderStatus }>;

function transition(order: Order, operation: keyof typeof transitions): void {
  const { from, to } = transitions[operation];
  if (order.status !== from) {
    throw fail(
      'invalid_status_transition',
      `order ${order.id} is ${order.status}; only a ${from} order becomes ${to}`,
      {
        from: order.status,
        to,
      },
    );
  }
}

function checkLines(lines: readonly OrderLine[]): Money {
  if (lines.length === 0 || lines.length > MAX_ORDER_LINES) {
    throw fail('validation_failed', `an order has 1 to ${MAX_ORDER_LINES} lines`);
  }
  const pets = new Set<string>();
  const skus = new Set<string>();
  let total: Money | null = null;
  for (const line of lines) {
    if (line.kind === 'pet') {
      // The type says 1; a command from elsewhere may not.
      if ((line.quantity as number) !== 1) {
        throw fail('validation_failed', `pet ${line.petId}: a pet is ordered one at a time`);
      }
      if (pets.has(line.petId)) throw fail('validation_failed', `pet ${line.petId} is on two lines`);
      pets.add(line.petId);
    } else {
      if (!Number.isSafeInteger(line.quantity) || line.quantity < 1 || line.quantity > MAX_SUPPLY_QUANTITY) {
        throw fail('validation_failed', `${line.sku}: the quantity is 1 to ${MAX_SUPPLY_QUANTITY}`);
      }
      if (skus.has(line.sku)) throw fail('validation_failed', `${line.sku} is on two lines`);
      skus.add(line.sku);
      const amount = times(line.unitPrice, line.quantity);
      total = total === null ? amount : add(total, amount);
    }
  }
  return total ?? zero('USD');
}

export function decide(command: OrderCommand, state: OrderState): OrderEvent[] {
  switch (command.type) {
    case 'PlaceOrder': {
      const { orderId } = command.data;
      if (state.kind !== 'none') throw fail('order_already_exists', `order ${orderId} exists`);
      const total = checkLines(command.data.lines);
      return [{ type: 'OrderPlaced', data: { ...command.data, total } }];
    }
    case 'ApproveOrder': {
      const order = existing(state, command.data.orderId);
      transition(order, 'ApproveOrder');
      return [{ type: 'OrderApproved', data: { orderId: order.id } }];
    }
    case 'DeliverOrder': {
      const order = existing(state, command.data.orderId);
      transition(order, 'DeliverOrder');
      return [{ type: 'OrderDelivered', data: { orderId: order.id } }];
    }
    case 'CancelOrder': {
      const { orderId, by, asStaff } = command.data;
      const order = existing(state, orderId);
      // Someone else's order is one that does not exist, for all a customer may learn.
      if (!asStaff && order.userId !== by) throw fail('order_not_found', `order ${orderId} does not exist`);
      transition(order, 'CancelOrder');
      return [{ type: 'OrderCancelled', data: { orderId: order.id, by } }];
    }
    default: {
      const unknown: never = command;
      throw new Error(`unknown command ${JSON.stringify(unknown)}`);
    }
  }
}

export function evolve(state: OrderState, event: OrderEvent): OrderState {
  switch (event.type) {
    case 'OrderPlaced': {
      const { orderId, userId, lines, total, shipDate } = event.data;
      return { kind: 'order', id: orderId, userId, status: 'placed', lines, total, shipDate };
    }
    case 'OrderApproved':
      return state.kind === 'order' ? { ...state, status: 'approved' } : state;
    case 'OrderDelivered':
      return state.kind === 'order' ? { ...state, status: 'delivered' } : state;
    case 'OrderCancelled':
      return state.kind === 'order' ? { ...state, status: 'cancelled' } : state;
    default: {
      // An event type this build does not know yet (a newer writer): it changes nothing here.
      const _unknown: never = event;
      return state;
    }
  }
}

export const initialState = (): OrderState => ({ kind: 'none' });

export const orderDecider: Decider<OrderCommand, OrderEvent, OrderState> = { decide, evolve, initialState };
