// The Cart aggregate (`cart-<userId>`, one per user): items with the prices captured when they were
// added; CheckOut turns them into an order's lines, but only at the prices the products have now
// (RepriceCart first records a change, so the customer sees it and checks out again).
import { DomainError, type Decider } from '@optic-mart/runtime';
import {
  MAX_ORDER_LINES,
  MAX_SUPPLY_QUANTITY,
  add,
  times,
  zero,
  type Money,
  type OrderId,
  type OrderLine,
  type PetId,
  type Sku,
  type UserId,
} from '@optic-mart/ordering';

/** An item: units of a supply at the price captured when added, or one pet. `key` names it. */
export type CartItem =
  | {
      readonly key: string;
      readonly kind: 'supply';
      readonly sku: Sku;
      readonly quantity: number;
      readonly unitPrice: Money;
    }
  | { readonly key: string; readonly kind: 'pet'; readonly petId: PetId; readonly quantity: 1 };

/** What AddCartItem adds (its key is derived). */
export type NewCartItem =
  | { readonly kind: 'supply'; readonly sku: Sku; readonly quantity: number; readonly unitPrice: Money }
  | { readonly kind: 'pet'; readonly petId: PetId };

/** An item's key: its SKU (capitals), or `pet-<id>` for a pet. */
export const cartItemKey = (
  item: { kind: 'supply'; sku: string } | { kind: 'pet'; petId: string },
): string => (item.kind === 'supply' ? item.sku : `pet-${item.petId}`);

/** A price that changed since it was captured. */
export interface RepricedLine {
  readonly key: string;
  readonly sku: Sku;
  readonly from: Money;
  readonly to: Money;
}

/** The cart's commands (the saga sends none; the gateway sends them for the cart's owner). */
export type CartCommand =
  | { readonly type: 'AddCartItem'; readonly data: { readonly userId: UserId; readonly item: NewCartItem } }
  | {
      readonly type: 'ChangeCartItem';
      readonly data: { readonly userId: UserId; readonly key: string; readonly quantity: number };
    }
  | { readonly type: 'RemoveCartItem'; readonly data: { readonly userId: UserId; readonly key: string } }
  | { readonly type: 'ClearCart'; readonly data: { readonly userId: UserId } }
  | {
      readonly type: 'RepriceCart';
      /** The products' current unit prices, by item key. */
      readonly data: { readonly userId: UserId; readonly prices: Readonly<Record<string, Money>> };
    }
  | {
      readonly type: 'CheckOut';
      readonly data: {
        readonly userId: UserId;
        readonly orderId: OrderId;
        /** The products' current unit prices, by item key: every supply's must be its captured one. */
        readonly prices: Readonly<Record<string, Money>>;
      };
    };

/** A cart command's name. */
export type CartCommandType = CartCommand['type'];

/** The cart's events; each carries the cart's `userId`. */
export type CartEvent =
  | { readonly type: 'CartItemAdded'; readonly data: { readonly userId: UserId; readonly item: CartItem } }
  | {
      readonly type: 'CartItemChanged';
      readonly data: { readonly userId: UserId; readonly key: string; readonly quantity: number };
    }
  | { readonly type: 'CartItemRemoved'; readonly data: { readonly userId: UserId; readonly key: string } }
  | { readonly type: 'CartCleared'; readonly data: { readonly userId: UserId } }
  | {
      readonly type: 'CartRepriced';
      readonly data: { readonly userId: UserId; readonly lines: readonly RepricedLine[] };
    }
  | {
      readonly type: 'CartCheckedOut';
      readonly data: {
        readonly userId: UserId;
        readonly orderId: OrderId;
        readonly lines: readonly OrderLine[];
        readonly total: Money;
      };
    };

/** A cart event's name. */
export type CartEventType = CartEvent['type'];

/** A cart: its items, and the order of its last checkout. */
export interface CartState {
  readonly items: readonly CartItem[];
  /** The order of the last checkout, if any. */
  readonly lastOrderId: OrderId | null;
}

/** Every code the cart decider throws; each is a line of the platform's error table. */
export const cartErrorCodes = [
  'validation_failed',
  'cart_item_not_found',
  'cart_empty',
  'price_changed',
] as const;

/** A code the cart decider throws. */
export type CartErrorCode = (typeof cartErrorCodes)[number];

const fail = (code: CartErrorCode, detail: string, extra?: Record<string, unknown>) =>
  new DomainError(code, detail, extra);

const sameMoney = (a: Money, b: Money): boolean =>
  a.amountCents === b.amountCents && a.currency === b.currency;

function itemOf(state: CartState, key: string): CartItem {
  const item = state.items.find((i) => i.key === key);
  if (!item) throw fail('cart_item_not_found', `the cart has no item ${key}`);
  return item;
}

function checkQuantity(quantity: number, what: string): void {
  if (!Number.isSafeInteger(quantity) || quantity < 1 || quantity > MAX_SUPPLY_QUANTITY) {
    throw fail('validation_failed', `${what}: the quantity is 1 to ${MAX_SUPPLY_QUANTITY}`);
  }
}

/** The supply items whose current price differs from the captured one. */
export function repricedLines(state: CartState, prices: Readonly<Record<string, Money>>): RepricedLine[] {
  return state.items.flatMap((item) => {
    if (item.kind !== 'supply') return [];
    const now = prices[item.key];
    return now && !sameMoney(now, item.unitPrice)
      ? [{ key: item.key, sku: item.sku, from: item.unitPrice, to: now }]
      : [];
  });
}

/** The cart's items as an order's lines. */
export const orderLinesOf = (items: readonly CartItem[]): OrderLine[] =>
  items.map((item) =>
    item.kind === 'pet'
      ? { kind: 'pet', petId: item.petId, quantity: 1 }
      : { kind: 'supply', sku: item.sku, quantity: item.quantity, unitPrice: item.unitPrice },
  );

/** What the cart's supplies cost at their captured prices (USD 0 for pets alone). */
export const cartTotal = (items: readonly CartItem[]): Money =>
  items.reduce<Money | null>(
    (sum, item) =>
      item.kind === 'supply'
        ? sum === null
          ? times(item.unitPrice, item.quantity)
          : add(sum, times(item.unitPrice, item.quantity))
        : sum,
    null,
  ) ?? zero('USD');

/** Decides a cart command on the cart's state (pure). */
export function decide(command: CartCommand, state: CartState): CartEvent[] {
  const { userId } = command.data;
  switch (command.type) {
    case 'AddCartItem': {
      const { item } = command.data;
      const key = cartItemKey(item);
      const existing = state.items.find((i) => i.key === key);
      if (item.kind === 'pet') {
        // A pet is one of a kind: adding it again changes nothing.
        if (existing) return [];
      } else {
        checkQuantity(item.quantity, key);
        if (existing) {
          const quantity = existing.quantity + item.quantity;
          checkQuantity(quantity, key);
          // The price captured first stays (a checkout re-checks it anyway).
          return [{ type: 'CartItemChanged', data: { userId, key, quantity } }];
        }
      }
      if (state.items.length >= MAX_ORDER_LINES) {
        throw fail('validation_failed', `a cart has at most ${MAX_ORDER_LINES} items`);
      }
      const added: CartItem =
        item.kind === 'pet'
          ? { key, kind: 'pet', petId: item.petId, quantity: 1 }
          : { key, kind: 'supply', sku: item.sku, quantity: item.quantity, unitPrice: item.unitPrice };
      return [{ type: 'CartItemAdded', data: { userId, item: added } }];
    }
    case 'ChangeCartItem': {
      const { key, quantity } = command.data;
      const item = itemOf(state, key);
      if (item.kind === 'pet') {
        if (quantity !== 1) throw fail('validation_failed', `${key}: a pet is one of a kind (quantity 1)`);
        return [];
      }
      checkQuantity(quantity, key);
      return quantity === item.quantity ? [] : [{ type: 'CartItemChanged', data: { userId, key, quantity } }];
    }
    case 'RemoveCartItem': {
      const { key } = itemOf(state, command.data.key);
      return [{ type: 'CartItemRemoved', data: { userId, key } }];
    }
    case 'ClearCart':
      return state.items.length === 0 ? [] : [{ type: 'CartCleared', data: { userId } }];
    case 'RepriceCart': {
      const lines = repricedLines(state, command.data.prices);
      return lines.length === 0 ? [] : [{ type: 'CartRepriced', data: { userId, lines } }];
    }
    case 'CheckOut': {
      const { orderId, prices } = command.data;
      if (state.items.length === 0) throw fail('cart_empty', 'the cart is empty: nothing to check out');
      const lines = repricedLines(state, prices);
      if (lines.length > 0) {
        throw fail('price_changed', `prices changed: ${lines.map((l) => l.key).join(', ')}`, { lines });
      }
      const missing = state.items.find((i) => i.kind === 'supply' && !prices[i.key]);
      if (missing) throw fail('validation_failed', `${missing.key}: its current price is not known`);
      return [
        {
          type: 'CartCheckedOut',
          data: { userId, orderId, lines: orderLinesOf(state.items), total: cartTotal(state.items) },
        },
      ];
    }
    default: {
      const unknown: never = command;
      throw new Error(`unknown command ${JSON.stringify(unknown)}`);
    }
  }
}

/** Folds one cart event into the state. */
export function evolve(state: CartState, event: CartEvent): CartState {
  switch (event.type) {
    case 'CartItemAdded':
      return { ...state, items: [...state.items, event.data.item] };
    case 'CartItemChanged': {
      const { key, quantity } = event.data;
      return {
        ...state,
        items: state.items.map((i) => (i.key === key ? { ...i, quantity } : i)) as CartItem[],
      };
    }
    case 'CartItemRemoved':
      return { ...state, items: state.items.filter((i) => i.key !== event.data.key) };
    case 'CartCleared':
      return { ...state, items: [] };
    case 'CartRepriced': {
      const to = new Map(event.data.lines.map((l) => [l.key, l.to]));
      return {
        ...state,
        items: state.items.map((i) => {
          const price = to.get(i.key);
          return i.kind === 'supply' && price ? { ...i, unitPrice: price } : i;
        }),
      };
    }
    case 'CartCheckedOut':
      return { items: [], lastOrderId: event.data.orderId };
    default: {
      // An event type this build does not know yet (a newer writer): it changes nothing here.
      const _unknown: never = event;
      return state;
    }
  }
}

/** An empty cart. */
export const initialState = (): CartState => ({ items: [], lastOrderId: null });

/** The cart's decider. */
export const cartDecider: Decider<CartCommand, CartEvent, CartState> = { decide, evolve, initialState };
