// The Order aggregate (seed 003's state machine and value objects, seed 002's statuses):
//   placed → paid → approved → shipped → delivered (a checkout's order, driven by the saga),
//   placed → approved → delivered (a seller approving a Petstore or API order),
//   placed | paid → cancelled, with a reason.
// Placing, approving and cancelling also reserve, sell and release the order's pets and stock:
// the ordering context's routes append those events with the order's, in one atomic append.
import { DomainError, type Decider } from '@optic-mart/runtime';
import type { OrderId, PetId, Sku, UserId } from './ids.js';
import { add, times, zero, type Money } from './money.js';

/** An order's statuses, in the order a checkout's order goes through them (cancelled: from placed or paid). */
export const orderStatuses = ['placed', 'paid', 'approved', 'shipped', 'delivered', 'cancelled'] as const;
export type OrderStatus = (typeof orderStatuses)[number];

/** Most lines one order may have. */
export const MAX_ORDER_LINES = 50;
/** Most units of one supply one order may have. */
export const MAX_SUPPLY_QUANTITY = 1000;

/** A line: one pet (a unique animal), or units of a supply at the price it had when ordered. */
export type OrderLine =
  | { readonly kind: 'pet'; readonly petId: PetId; readonly quantity: 1 }
  | { readonly kind: 'supply'; readonly sku: Sku; readonly quantity: number; readonly unitPrice: Money };

/** Where an order comes from: the Petstore API, the native orders API, or a cart's checkout. */
export const orderSources = ['petstore', 'api', 'checkout'] as const;
export type OrderSource = (typeof orderSources)[number];

/** Where a checkout's order goes; `country` is an ISO 3166 alpha-2 code. */
export interface ShippingAddress {
  readonly name: string;
  readonly line1: string;
  readonly city: string;
  readonly postalCode: string;
  readonly country: string;
}

export interface PlaceOrderData {
  readonly orderId: OrderId;
  readonly userId: UserId;
  readonly lines: readonly OrderLine[];
  /** When the customer wants it shipped (ISO date-time), if they said. */
  readonly shipDate: string | null;
  /** Default 'api'. */
  readonly source?: OrderSource;
  /** A checkout's order only. */
  readonly shippingAddress?: ShippingAddress | null;
}

export interface OrderRef {
  readonly orderId: OrderId;
}

export interface CancelOrderData extends OrderRef {
  /** Who cancels: the order's owner, or staff (sellers and admins, and the saga) for any order. */
  readonly by: UserId;
  readonly asStaff: boolean;
  /** Why, e.g. 'payment_declined'; default 'cancelled_by_customer' / 'cancelled_by_staff'. */
  readonly reason?: string;
}

/** The order's commands; the saga sends MarkOrderPaid, ApproveOrder, CancelOrder {reason} by these names. */
export type OrderCommand =
  | { readonly type: 'PlaceOrder'; readonly data: PlaceOrderData }
  | { readonly type: 'MarkOrderPaid'; readonly data: OrderRef & { readonly paymentId: string } }
  | { readonly type: 'ApproveOrder'; readonly data: OrderRef }
  | { readonly type: 'MarkOrderShipped'; readonly data: OrderRef & { readonly trackingNumber: string } }
  | {
      readonly type: 'DeliverOrder';
      /** `byShipment`: shipping's MarkShipmentDelivered (a checkout's order is delivered only so). */
      readonly data: OrderRef & { readonly byShipment?: boolean };
    }
  | { readonly type: 'CancelOrder'; readonly data: CancelOrderData };

export type OrderCommandType = OrderCommand['type'];

/** OrderPlaced's data: the placement with its total, source and shipping address (null unless a checkout's). */
export type OrderPlacedData = PlaceOrderData & {
  readonly total: Money;
  readonly source: OrderSource;
  readonly shippingAddress: ShippingAddress | null;
};

/** What every event after OrderPlaced carries: the order and its user. */
export interface OrderEventRef extends OrderRef {
  readonly userId: UserId;
}

/** The order's events; each carries `orderId` and `userId`. */
export type OrderEvent =
  | { readonly type: 'OrderPlaced'; readonly data: OrderPlacedData }
  | { readonly type: 'OrderPaid'; readonly data: OrderEventRef & { readonly paymentId: string } }
  | { readonly type: 'OrderApproved'; readonly data: OrderEventRef }
  | { readonly type: 'OrderShipped'; readonly data: OrderEventRef & { readonly trackingNumber: string } }
  | { readonly type: 'OrderDelivered'; readonly data: OrderEventRef }
  | {
      readonly type: 'OrderCancelled';
      readonly data: OrderEventRef & { readonly by: UserId; readonly reason: string };
    };

export type OrderEventType = OrderEvent['type'];

export interface Order {
  readonly kind: 'order';
  readonly id: OrderId;
  readonly userId: UserId;
  readonly status: OrderStatus;
  readonly lines: readonly OrderLine[];
  readonly total: Money;
  readonly shipDate: string | null;
  readonly source: OrderSource;
  readonly shippingAddress: ShippingAddress | null;
  readonly paymentId: string | null;
  readonly trackingNumber: string | null;
  readonly cancelReason: string | null;
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

/** The state machine: which statuses each operation needs, and where it leads. */
const transitions = {
  MarkOrderPaid: { from: ['placed'], to: 'paid' },
  ApproveOrder: { from: ['placed', 'paid'], to: 'approved' },
  MarkOrderShipped: { from: ['approved'], to: 'shipped' },
  DeliverOrder: { from: ['approved', 'shipped'], to: 'delivered' },
  CancelOrder: { from: ['placed', 'paid'], to: 'cancelled' },
} as const satisfies Record<
  Exclude<OrderCommandType, 'PlaceOrder'>,
  { from: readonly OrderStatus[]; to: OrderStatus }
>;

/** The statuses an order may be cancelled from (its pets and stock are still held). */
export const cancellableStatuses: readonly OrderStatus[] = transitions.CancelOrder.from;

function transition(order: Order, operation: keyof typeof transitions): void {
  const { to } = transitions[operation];
  // A checkout's order is delivered by its shipment, once shipped.
  const from: readonly OrderStatus[] =
    operation === 'DeliverOrder' && order.source === 'checkout' ? ['shipped'] : transitions[operation].from;
  if (!from.includes(order.status)) {
    throw fail(
      'invalid_status_transition',
      `order ${order.id} is ${order.status}; only a ${from.join(' or ')} order becomes ${to}`,
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

/** Decides an order command on the order's state (pure). */
export function decide(command: OrderCommand, state: OrderState): OrderEvent[] {
  switch (command.type) {
    case 'PlaceOrder': {
      const { orderId } = command.data;
      if (state.kind !== 'none') throw fail('order_already_exists', `order ${orderId} exists`);
      const total = checkLines(command.data.lines);
      const source = command.data.source ?? 'api';
      const shippingAddress = command.data.shippingAddress ?? null;
      if (source === 'checkout' && shippingAddress === null) {
        throw fail('validation_failed', `order ${orderId}: a checkout's order needs a shipping address`);
      }
      return [{ type: 'OrderPlaced', data: { ...command.data, source, shippingAddress, total } }];
    }
    case 'MarkOrderPaid': {
      const order = existing(state, command.data.orderId);
      transition(order, 'MarkOrderPaid');
      const ref = { orderId: order.id, userId: order.userId };
      return [{ type: 'OrderPaid', data: { ...ref, paymentId: command.data.paymentId } }];
    }
    case 'ApproveOrder': {
      const order = existing(state, command.data.orderId);
      transition(order, 'ApproveOrder');
      return [{ type: 'OrderApproved', data: { orderId: order.id, userId: order.userId } }];
    }
    case 'MarkOrderShipped': {
      const order = existing(state, command.data.orderId);
      transition(order, 'MarkOrderShipped');
      const ref = { orderId: order.id, userId: order.userId };
      return [{ type: 'OrderShipped', data: { ...ref, trackingNumber: command.data.trackingNumber } }];
    }
    case 'DeliverOrder': {
      const order = existing(state, command.data.orderId);
      transition(order, 'DeliverOrder');
      if (order.source === 'checkout' && command.data.byShipment !== true) {
        throw fail(
          'invalid_status_transition',
          `order ${order.id} came from a checkout: it is delivered when its shipment is`,
          { from: order.status, to: 'delivered' },
        );
      }
      return [{ type: 'OrderDelivered', data: { orderId: order.id, userId: order.userId } }];
    }
    case 'CancelOrder': {
      const { orderId, by, asStaff } = command.data;
      const order = existing(state, orderId);
      // Someone else's order is one that does not exist, for all a customer may learn.
      if (!asStaff && order.userId !== by) throw fail('order_not_found', `order ${orderId} does not exist`);
      transition(order, 'CancelOrder');
      const reason = command.data.reason ?? (asStaff ? 'cancelled_by_staff' : 'cancelled_by_customer');
      return [{ type: 'OrderCancelled', data: { orderId: order.id, userId: order.userId, by, reason } }];
    }
    default: {
      const unknown: never = command;
      throw new Error(`unknown command ${JSON.stringify(unknown)}`);
    }
  }
}

/** Folds one order event into the state (orders from before issue 6: source 'api', no address). */
export function evolve(state: OrderState, event: OrderEvent): OrderState {
  switch (event.type) {
    case 'OrderPlaced': {
      const { orderId, userId, lines, total, shipDate } = event.data;
      // Orders placed before issue 6 name no source or address.
      const source = event.data.source ?? 'api';
      const shippingAddress = event.data.shippingAddress ?? null;
      return {
        kind: 'order',
        id: orderId,
        userId,
        status: 'placed',
        lines,
        total,
        shipDate,
        source,
        shippingAddress,
        paymentId: null,
        trackingNumber: null,
        cancelReason: null,
      };
    }
    case 'OrderPaid':
      return state.kind === 'order' ? { ...state, status: 'paid', paymentId: event.data.paymentId } : state;
    case 'OrderApproved':
      return state.kind === 'order' ? { ...state, status: 'approved' } : state;
    case 'OrderShipped':
      return state.kind === 'order'
        ? { ...state, status: 'shipped', trackingNumber: event.data.trackingNumber }
        : state;
    case 'OrderDelivered':
      return state.kind === 'order' ? { ...state, status: 'delivered' } : state;
    case 'OrderCancelled':
      return state.kind === 'order'
        ? { ...state, status: 'cancelled', cancelReason: event.data.reason ?? null }
        : state;
    default: {
      // An event type this build does not know yet (a newer writer): it changes nothing here.
      const _unknown: never = event;
      return state;
    }
  }
}

export const initialState = (): OrderState => ({ kind: 'none' });

export const orderDecider: Decider<OrderCommand, OrderEvent, OrderState> = { decide, evolve, initialState };
