// The native cart API: a logged-in user's own cart (`cart-<their userId>`; there is no way to name
// anyone else's). Writes are the cart context's commands; GET /api/cart reads the cart aggregate
// from the event store (no read model: a cart is read by its owner alone, by its id). Checkout
// places the order in the same atomic append as CartCheckedOut; when a product's price changed
// since it was added, the cart takes the new prices and the answer is 409 price_changed naming
// the lines (a second checkout then goes through).
import type {} from '@fastify/swagger';
import { AppError, type HttpServer } from '@optic-mart/platform';
import type { EventStore } from '@optic-mart/eventstore';
import type { CommandDispatcher } from '@optic-mart/messaging';
import {
  addCartItemSchema,
  cartDecider,
  cartItemKeyOf,
  cartItemKeySchema,
  cartSnapshot,
  cartStreamId,
  cartTotal,
  changeCartItemSchema,
  checkoutBodySchema,
  type AddCartItemBody,
  type CartEvent,
  type CartItem,
  type CartState,
} from '@optic-mart/cart';
import { orderStreamId, type Money, type ShippingAddress } from '@optic-mart/ordering';
import { onlyRoles, requireUser, type Principal } from '../auth/index.js';
import { replyWithOutcome, sendCommand } from '../command-reply.js';
import { etagMatches } from '../read-support.js';
import { newOrderId } from '../ordering/order-routes.js';
import type { FastifyRequest } from 'fastify';

export interface CartRouteOptions {
  readonly dispatcher: CommandDispatcher;
  /** The event store the cart aggregate is read from. */
  readonly store: Pick<EventStore, 'aggregate'>;
}

/** A cart as GET /api/cart returns it. */
export interface CartView {
  readonly userId: string;
  readonly items: readonly CartItem[];
  /** The supplies at the prices captured (re-checked at checkout). */
  readonly total: Money;
  readonly lastOrderId: string | null;
  readonly version: number;
}

/** A user's cart, folded from its stream. */
export async function loadCart(
  store: Pick<EventStore, 'aggregate'>,
  userId: string,
): Promise<{ state: CartState; version: number }> {
  return store.aggregate<CartState>(cartStreamId(userId), {
    initialState: cartDecider.initialState,
    evolve: (state, event) => cartDecider.evolve(state, { type: event.type, data: event.data } as CartEvent),
    snapshot: cartSnapshot,
  });
}

const cartView = (userId: string, cart: { state: CartState; version: number }): CartView => ({
  userId,
  items: cart.state.items,
  total: cartTotal(cart.state.items),
  lastOrderId: cart.state.lastOrderId,
  version: cart.version,
});

const keyParams = {
  type: 'object',
  additionalProperties: false,
  required: ['key'],
  properties: { key: cartItemKeySchema },
} as const;

const sendCartCommand = (
  dispatcher: CommandDispatcher,
  request: FastifyRequest,
  principal: Principal,
  type: string,
  data: unknown,
) =>
  sendCommand(dispatcher, request, principal, {
    context: 'cart',
    type,
    aggregateId: cartStreamId(principal.userId),
    data,
  });

export function registerCartRoutes(app: HttpServer, options: CartRouteOptions): void {
  const { dispatcher, store } = options;
  const users = onlyRoles();

  app.get(
    '/api/cart',
    {
      schema: { tags: ['cart'], summary: 'Your cart: its items at the prices captured (ETag: its version)' },
      preValidation: users,
    },
    async (request, reply) => {
      const principal = requireUser(request);
      const view = cartView(principal.userId, await loadCart(store, principal.userId));
      const etag = `"${view.version}"`;
      reply.header('ETag', etag);
      if (etagMatches(request.headers['if-none-match'], etag)) return reply.code(304).send();
      return view;
    },
  );

  app.post<{ Body: AddCartItemBody }>(
    '/api/cart/items',
    {
      schema: {
        tags: ['cart'],
        summary: 'Add a supply {sku, quantity} at its current price, or a pet {petId}',
        body: addCartItemSchema,
      },
      preValidation: users,
    },
    async (request, reply) => {
      const principal = requireUser(request);
      const outcome = await sendCartCommand(dispatcher, request, principal, 'AddCartItem', request.body);
      return replyWithOutcome(reply, outcome, {
        status: 201,
        location: '/api/cart',
        body: { key: cartItemKeyOf(request.body) },
      });
    },
  );

  app.put<{ Params: { key: string }; Body: { quantity: number } }>(
    '/api/cart/items/:key',
    {
      schema: {
        tags: ['cart'],
        summary: 'Change an item’s quantity',
        params: keyParams,
        body: changeCartItemSchema,
      },
      preValidation: users,
    },
    async (request, reply) => {
      const principal = requireUser(request);
      const { key } = request.params;
      const outcome = await sendCartCommand(dispatcher, request, principal, 'ChangeCartItem', {
        key,
        quantity: request.body.quantity,
      });
      return replyWithOutcome(reply, outcome, { status: 200, location: '/api/cart', body: { key } });
    },
  );

  app.delete<{ Params: { key: string } }>(
    '/api/cart/items/:key',
    { schema: { tags: ['cart'], summary: 'Remove an item', params: keyParams }, preValidation: users },
    async (request, reply) => {
      const principal = requireUser(request);
      const { key } = request.params;
      const outcome = await sendCartCommand(dispatcher, request, principal, 'RemoveCartItem', { key });
      return replyWithOutcome(reply, outcome, { status: 200, location: '/api/cart', body: { key } });
    },
  );

  app.delete(
    '/api/cart',
    { schema: { tags: ['cart'], summary: 'Empty your cart' }, preValidation: users },
    async (request, reply) => {
      const principal = requireUser(request);
      const outcome = await sendCartCommand(dispatcher, request, principal, 'ClearCart', {});
      return replyWithOutcome(reply, outcome, { status: 200, location: '/api/cart', body: {} });
    },
  );

  app.post<{ Body: { shippingAddress: ShippingAddress } }>(
    '/api/cart/checkout',
    {
      schema: {
        tags: ['cart'],
        summary:
          'Check out: the order is placed and its pets and stock reserved, all or nothing; 409 price_changed when a price changed (the cart now has the new ones)',
        body: checkoutBodySchema,
      },
      preValidation: users,
    },
    async (request, reply) => {
      const principal = requireUser(request);
      const before = await loadCart(store, principal.userId);
      const skus = before.state.items.flatMap((i) => (i.kind === 'supply' ? [i.sku] : []));
      const orderId = newOrderId();
      const outcome = await sendCartCommand(dispatcher, request, principal, 'CheckOut', {
        orderId,
        shippingAddress: request.body.shippingAddress,
        skus,
      });
      if (outcome.kind === 'completed' && outcome.status.status === 'succeeded') {
        const result = outcome.status.result as { streams?: readonly { streamId: string }[] };
        const placed = result.streams?.some((s) => s.streamId === orderStreamId(orderId)) ?? false;
        if (!placed) {
          // The cart was repriced instead: name what changed, and show the cart as it is now.
          const after = await loadCart(store, principal.userId);
          const was = new Map(before.state.items.map((i) => [i.key, i]));
          const lines = after.state.items.flatMap((item) => {
            const old = was.get(item.key);
            return item.kind === 'supply' &&
              old?.kind === 'supply' &&
              (old.unitPrice.amountCents !== item.unitPrice.amountCents ||
                old.unitPrice.currency !== item.unitPrice.currency)
              ? [{ key: item.key, sku: item.sku, from: old.unitPrice, to: item.unitPrice }]
              : [];
          });
          throw new AppError(
            'price_changed',
            `Prices changed since they were added: ${lines.map((l) => l.key).join(', ') || 'see the cart'}. The cart has the new prices; check out again to accept them.`,
            { extra: { lines, cart: cartView(principal.userId, after) } },
          );
        }
      }
      return replyWithOutcome(reply, outcome, {
        status: 201,
        location: `/api/orders/${orderId}`,
        body: { orderId, total: cartTotal(before.state.items) },
      });
    },
  );
}
