// The native orders API. Writes are the ordering context's commands, sent on behalf of the
// request's user: placing an order reserves its pets and stock in the same atomic append, so of
// many orders for one pet exactly one is placed (the others: 409 pet_not_available). Reads come
// from the `orders` read model. A customer sees and cancels only their own orders (anyone else's
// is 404, as if it did not exist); sellers and admins see all of them, approve and deliver.
import { randomInt } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
// Its types give route schemas the OpenAPI `tags` and `summary`.
import type {} from '@fastify/swagger';
import { AppError, type HttpServer } from '@optic-mart/platform';
import type { ReadModels } from '@optic-mart/runtime';
import { idSchema } from '@optic-mart/catalog';
import {
  orderStatusSchema,
  orderStreamId,
  ordersProjection,
  placeOrderSchema,
  type OrderStatus,
  type OrderView,
  type PlaceOrderBody,
} from '@optic-mart/ordering';
import { mayAct, onlyRoles, requireRole, requireUser, type Principal } from '../auth/index.js';
import { replyWithOutcome, sendCommand } from '../command-reply.js';
import type { CommandDispatcher, Outcome } from '@optic-mart/messaging';
import {
  afterOnlyQuery,
  etagMatches,
  pagingProperties,
  readAfter,
  type ReadAfter,
  readAfterHeaders,
  sortBy,
  withCursorField,
} from '../read-support.js';

const ORDERS = ordersProjection.name;

/** A new order's id: a random integer (the Petstore API's ids are integers), as text. */
export const newOrderId = (): string => String(randomInt(1, 2 ** 48 - 1));

export const orderParams = {
  type: 'object',
  additionalProperties: false,
  required: ['orderId'],
  properties: { orderId: idSchema },
} as const;

// API sort names → read model columns.
const sortColumns: Readonly<Record<string, string>> = { placedAt: 'placed_at', id: 'id' };
const sorts = Object.keys(sortColumns).flatMap((s) => [s, `-${s}`]);

const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status: orderStatusSchema,
    userId: { type: 'string', minLength: 1, maxLength: 16, pattern: '^[1-9][0-9]{0,15}$' },
    sort: { type: 'string', enum: sorts, default: '-placedAt' },
    ...pagingProperties,
  },
} as const;

export interface OrderRouteOptions {
  readonly dispatcher: CommandDispatcher;
  readonly readModels: ReadModels;
  /** How long a query naming a position waits for the read model before 503 read_model_behind. */
  readonly readWaitMs: number;
}

/** Whether the principal is staff: sellers and admins see and manage every order. */
export const isStaff = (principal: Principal): boolean => principal.role !== 'customer';

/** The order as its owner or staff may see it; anyone else gets 404, as for no order at all. */
export function visibleOrder(principal: Principal, order: OrderView | null, orderId: string): OrderView {
  if (order === null || !mayAct(principal, order.userId, 'seller')) {
    throw new AppError('order_not_found', `There is no order ${orderId}.`);
  }
  return order;
}

/** Sends an ordering command on behalf of the principal, honouring If-Match. */
export function sendOrderCommand(
  dispatcher: CommandDispatcher,
  request: FastifyRequest,
  principal: Principal,
  command: { type: string; orderId: string; data: unknown },
): Promise<Outcome> {
  return sendCommand(dispatcher, request, principal, {
    context: 'ordering',
    type: command.type,
    aggregateId: orderStreamId(command.orderId),
    data: command.data,
  });
}

export function registerOrderRoutes(app: HttpServer, options: OrderRouteOptions): void {
  const { dispatcher, readModels, readWaitMs } = options;
  const users = onlyRoles();
  const sellers = onlyRoles('seller');

  app.post<{ Body: PlaceOrderBody }>(
    '/api/orders',
    {
      schema: {
        tags: ['orders'],
        summary: 'Place an order of pets and supplies: reserves them all, or nothing (409)',
        body: placeOrderSchema,
      },
      preValidation: users,
    },
    async (request, reply) => {
      const principal = requireUser(request);
      const orderId = newOrderId();
      const outcome = await sendOrderCommand(dispatcher, request, principal, {
        type: 'PlaceOrder',
        orderId,
        data: request.body,
      });
      return replyWithOutcome(reply, outcome, {
        status: 201,
        location: `/api/orders/${orderId}`,
        body: { id: orderId },
      });
    },
  );

  app.get<
    ReadAfter & {
      Querystring: { status?: OrderStatus; userId?: string; sort: string; limit?: number; cursor?: string };
    }
  >(
    '/api/orders',
    {
      schema: {
        tags: ['orders'],
        summary: 'Orders: a customer’s own, or (sellers, admins) everyone’s; filter by status',
        querystring: listQuery,
        headers: readAfterHeaders,
      },
      preValidation: users,
    },
    async (request) => {
      const principal = requireUser(request);
      await readAfter(readModels, ORDERS, request, readWaitMs);
      const { status, userId, sort, limit, cursor } = request.query;
      // A customer's list is their own, whatever userId they name.
      const owner = isStaff(principal) ? userId : principal.userId;
      const page = await withCursorField(() =>
        readModels.find<OrderView>(ORDERS, {
          where: { ...(owner ? { user_id: owner } : {}), ...(status ? { status } : {}) },
          sort: sortBy(sort, sortColumns, 'placed_at'),
          ...(limit ? { limit } : {}),
          ...(cursor ? { cursor } : {}),
        }),
      );
      return { items: page.items, nextCursor: page.nextCursor };
    },
  );

  app.get<ReadAfter & { Params: { orderId: string } }>(
    '/api/orders/:orderId',
    {
      schema: {
        tags: ['orders'],
        summary: 'One order (ETag: its version); another customer’s is 404',
        params: orderParams,
        querystring: afterOnlyQuery,
        headers: readAfterHeaders,
      },
      preValidation: users,
    },
    async (request, reply) => {
      const principal = requireUser(request);
      await readAfter(readModels, ORDERS, request, readWaitMs);
      const { orderId } = request.params;
      const order = visibleOrder(principal, await readModels.get<OrderView>(ORDERS, orderId), orderId);
      const etag = `"${order.version}"`;
      reply.header('ETag', etag);
      if (etagMatches(request.headers['if-none-match'], etag)) return reply.code(304).send();
      return order;
    },
  );

  const transition = (path: string, type: string, summary: string) =>
    app.post<{ Params: { orderId: string } }>(
      `/api/orders/:orderId/${path}`,
      { schema: { tags: ['orders'], summary, params: orderParams }, preValidation: sellers },
      async (request, reply) => {
        const principal = requireRole(request, 'seller');
        const { orderId } = request.params;
        const outcome = await sendOrderCommand(dispatcher, request, principal, { type, orderId, data: {} });
        return replyWithOutcome(reply, outcome, {
          status: 200,
          location: `/api/orders/${orderId}`,
          body: { id: orderId },
        });
      },
    );
  transition(
    'approve',
    'ApproveOrder',
    'Approve a placed order: its pets are sold, its stock leaves (sellers)',
  );
  transition('deliver', 'DeliverOrder', 'Mark an approved order delivered (sellers)');

  app.delete<{ Params: { orderId: string } }>(
    '/api/orders/:orderId',
    {
      schema: {
        tags: ['orders'],
        summary: 'Cancel a placed order (its owner, sellers, admins): its pets and stock are released',
        params: orderParams,
      },
      preValidation: users,
    },
    async (request, reply) => {
      const principal = requireUser(request);
      const { orderId } = request.params;
      // The order decides whether this user may cancel it (its owner, or staff), on its own state.
      const outcome = await sendOrderCommand(dispatcher, request, principal, {
        type: 'CancelOrder',
        orderId,
        data: { asStaff: isStaff(principal) },
      });
      return replyWithOutcome(reply, outcome, {
        status: 200,
        location: `/api/orders/${orderId}`,
        body: { id: orderId },
      });
    },
  );
}
