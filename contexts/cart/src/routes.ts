// The cart context's command routes. Adding an item reads its product (the price is captured) or
// its pet (it must be for sale); CheckOut re-checks every price and, when none changed, appends
// CartCheckedOut with PlaceOrder's events (order placed from a checkout, pets and stock reserved)
// in ONE atomic append. When a price changed it appends only CartRepriced (the cart now shows the
// new prices): the sender sees no order stream among the result's streams, and answers
// price_changed.
import type { ErrorCode } from '@optic-mart/platform';
import {
  DomainError,
  aggregateStep,
  commandValidator,
  streamIds,
  type AggregateLoad,
  type AggregateStep,
  type CommandInput,
  type CommandRoute,
  type CommandRoutes,
  type MultiStreamRoute,
} from '@optic-mart/runtime';
import { idSchema, petCommandRoute, petDecider, petStreamId, type PetState } from '@optic-mart/catalog';
import {
  OrderId,
  PetId,
  Sku,
  UserId,
  placeOrderSteps,
  priced,
  productReads,
  type Money,
  type ShippingAddress,
} from '@optic-mart/ordering';
import { cartCommandSchemas, type AddCartItemBody } from './commands.js';
import {
  cartDecider,
  cartErrorCodes,
  cartItemKey,
  orderLinesOf,
  type CartCommand,
  type CartEvent,
  type CartState,
} from './domain/cart.js';

// Every code the decider throws must be a line of the platform's error table.
const _cartErrorCodes: readonly ErrorCode[] = cartErrorCodes;

const cartStreams = streamIds({
  name: 'a cart',
  prefix: 'cart-',
  idName: 'userId',
  id: idSchema,
  brand: UserId,
});

/** The stream of a user's cart: `cart-<userId>`. */
export const cartStreamId = cartStreams.streamId;

/** The user id of a cart stream id, or null when it is not one. */
export const cartUserOf = cartStreams.idOf;

/** Snapshots of carts: bump schemaVersion when CartState's shape changes. */
export const cartSnapshot = { type: 'cart', schemaVersion: 1 } as const;

type CartCommandType = keyof typeof cartCommandSchemas;

const cartCommands = commandValidator<CartCommandType>(cartCommandSchemas, { useDefaults: true });

/**
 * The command's user and checked data. Only the cart's owner sends commands to it: a command
 * sent on behalf of someone else is refused as forbidden.
 */
function parse<Data>(command: CommandInput, type: CartCommandType): { userId: UserId; data: Data } {
  const userId = cartStreams.requireIdOf(command.aggregateId);
  if (command.metadata.userId !== userId) {
    throw new DomainError('forbidden', `only user ${userId} changes cart ${command.aggregateId}`);
  }
  const { data } = cartCommands.check<Data>(type, command.data);
  return { userId, data };
}

const cartLoad = (streamId: string): AggregateLoad => ({
  streamId,
  decider: cartDecider,
  snapshot: cartSnapshot,
});

const cartStep = (streamId: string, command: CartCommand): AggregateStep =>
  aggregateStep({ streamId, decider: cartDecider, command, snapshot: cartSnapshot });

const petLoad = (petId: string): AggregateLoad => ({
  streamId: petStreamId(petId),
  decider: petDecider,
  snapshot: petCommandRoute.snapshot ?? false,
});

const isPetBody = (body: AddCartItemBody): body is { petId: string; quantity?: 1 } => 'petId' in body;

/**
 * AddCartItem {sku, quantity} | {petId}: CartItemAdded with the product's current price (or more
 * of a SKU already in the cart: CartItemChanged). A pet must exist and be available.
 */
export const addCartItemRoute: MultiStreamRoute = {
  kind: 'multi',
  reads(command) {
    const { data } = parse<AddCartItemBody>(command, 'AddCartItem');
    return isPetBody(data) ? [petLoad(data.petId)] : productReads([data.sku]);
  },
  steps(command, loaded) {
    const { userId, data } = parse<AddCartItemBody>(command, 'AddCartItem');
    if (isPetBody(data)) {
      const pet = loaded.get(petStreamId(data.petId))?.state as PetState | undefined;
      if (!pet || pet.kind !== 'listed')
        throw new DomainError('pet_not_found', `there is no pet ${data.petId}`);
      if (pet.status !== 'available') {
        throw new DomainError('pet_not_available', `pet ${data.petId} is ${pet.status}`, {
          status: pet.status,
        });
      }
      return [
        cartStep(command.aggregateId, {
          type: 'AddCartItem',
          data: { userId, item: { kind: 'pet', petId: PetId(data.petId) } },
        }),
      ];
    }
    const line = priced(data, loaded);
    if (line.kind !== 'supply') throw new Error('a priced line is a supply');
    return [
      cartStep(command.aggregateId, {
        type: 'AddCartItem',
        data: {
          userId,
          item: { kind: 'supply', sku: line.sku, quantity: line.quantity, unitPrice: line.unitPrice },
        },
      }),
    ];
  },
};

const singleRoute = (
  type: 'ChangeCartItem' | 'RemoveCartItem' | 'ClearCart',
): CommandRoute<CartCommand, CartEvent, CartState> => ({
  decider: cartDecider,
  toCommand(command) {
    const { userId, data } = parse<{ key: string; quantity: number }>(command, type);
    switch (type) {
      case 'ChangeCartItem':
        return { type, data: { userId, key: data.key, quantity: data.quantity } };
      case 'RemoveCartItem':
        return { type, data: { userId, key: data.key } };
      case 'ClearCart':
        return { type, data: { userId } };
    }
  },
  snapshot: cartSnapshot,
});

/** ChangeCartItem {key, quantity}: CartItemChanged. */
export const changeCartItemRoute = singleRoute('ChangeCartItem');
/** RemoveCartItem {key}: CartItemRemoved. */
export const removeCartItemRoute = singleRoute('RemoveCartItem');
/** ClearCart: CartCleared. */
export const clearCartRoute = singleRoute('ClearCart');

interface CheckOutInput {
  readonly orderId: string;
  readonly shippingAddress: ShippingAddress;
  readonly skus: readonly string[];
}

/**
 * CheckOut {orderId, shippingAddress, skus}: CartCheckedOut + OrderPlaced (source 'checkout') +
 * PetReserved / StockReserved, in one append; or, when a product's price changed since it was
 * added, CartRepriced alone. `skus` are the SKUs the sender saw in the cart: a cart holding
 * another one changed meanwhile (409 conflict, try again).
 */
export const checkOutRoute: MultiStreamRoute = {
  kind: 'multi',
  reads(command) {
    const { data } = parse<CheckOutInput>(command, 'CheckOut');
    return [cartLoad(command.aggregateId), ...productReads(data.skus)];
  },
  steps(command, loaded) {
    const { userId, data } = parse<CheckOutInput>(command, 'CheckOut');
    const orderId = OrderId(data.orderId);
    const cart =
      (loaded.get(command.aggregateId)?.state as CartState | undefined) ?? cartDecider.initialState();
    const prices: Record<string, Money> = {};
    for (const item of cart.items) {
      if (item.kind !== 'supply') continue;
      if (!data.skus.includes(item.sku)) {
        throw new DomainError('conflict', `the cart changed during the checkout (${item.sku}); try again`);
      }
      const now = priced({ sku: item.sku, quantity: item.quantity }, loaded);
      if (now.kind === 'supply') prices[item.key] = now.unitPrice;
    }
    const changed = cart.items.some(
      (i) =>
        i.kind === 'supply' &&
        (prices[i.key]!.amountCents !== i.unitPrice.amountCents ||
          prices[i.key]!.currency !== i.unitPrice.currency),
    );
    if (changed) {
      return [cartStep(command.aggregateId, { type: 'RepriceCart', data: { userId, prices } })];
    }
    const checkOut = cartStep(command.aggregateId, { type: 'CheckOut', data: { userId, orderId, prices } });
    // An empty cart takes only its own step, whose decider says why not.
    if (cart.items.length === 0) return [checkOut];
    return [
      checkOut,
      ...placeOrderSteps({
        orderId,
        userId,
        lines: orderLinesOf(cart.items),
        shipDate: null,
        source: 'checkout',
        shippingAddress: data.shippingAddress,
      }),
    ];
  },
};

/** The key of the item a body of POST /api/cart/items adds. */
export const cartItemKeyOf = (body: AddCartItemBody): string =>
  isPetBody(body)
    ? cartItemKey({ kind: 'pet', petId: body.petId })
    : cartItemKey({ kind: 'supply', sku: Sku(body.sku) });

/** The cart context's routes by command type, for `createCommandHandler`. */
export const cartCommandRoutes: CommandRoutes = {
  AddCartItem: addCartItemRoute,
  ChangeCartItem: changeCartItemRoute,
  RemoveCartItem: removeCartItemRoute,
  ClearCart: clearCartRoute,
  CheckOut: checkOutRoute,
};
