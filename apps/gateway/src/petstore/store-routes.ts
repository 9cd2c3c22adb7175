// The Petstore's store operations on the ordering context: placeOrder (one pet per order, reserved
// atomically with the order: of many orders for one pet exactly one is placed), getOrderById,
// deleteOrder (cancels the order and frees its pet) and getInventory (pets per status). A write
// answers once the read model reflects it, so a Petstore client reads its own writes next.
import type { FastifyInstance } from 'fastify';
import { AppError } from '@optic-mart/platform';
import { petStatuses, petsProjection } from '@optic-mart/catalog';
import { ordersProjection, type OrderStatus, type OrderView } from '@optic-mart/ordering';
import { onlyRoles, requireUser } from '../auth/index.js';
import { appliedPosition } from '../command-reply.js';
import { reachPosition } from '../read-support.js';
import { isStaff, newOrderId, sendOrderCommand, visibleOrder } from '../ordering/order-routes.js';
import { petstoreIdParam, petstoreSchemas } from './contract.js';
import type { PetstoreDeps } from './deps.js';
import { sendPetstore } from './negotiate.js';

const ORDERS = ordersProjection.name;
const PETS = petsProjection.name;

/** An order as the contract shapes it. */
export interface PetstoreOrder {
  id: number;
  petId?: number;
  quantity: number;
  shipDate?: string;
  status: PetstoreOrderStatus;
  complete: boolean;
}

/** The contract's order statuses: placed, approved, delivered. */
type PetstoreOrderStatus = Extract<OrderStatus, 'placed' | 'approved' | 'delivered'>;

/**
 * Issue 6's statuses as the contract knows them: paid is still placed (not approved yet), shipped
 * is still approved (not delivered yet).
 */
const petstoreStatus: Readonly<Record<Exclude<OrderStatus, 'cancelled'>, PetstoreOrderStatus>> = {
  placed: 'placed',
  paid: 'placed',
  approved: 'approved',
  shipped: 'approved',
  delivered: 'delivered',
};

interface PetstoreOrderBody {
  id?: number;
  petId?: number;
  quantity?: number;
  shipDate?: string;
  status?: string;
  complete?: boolean;
}

const isPetstoreId = (id: string): boolean =>
  /^[1-9]\d{0,15}$/.test(id) && Number(id) <= Number.MAX_SAFE_INTEGER;

/**
 * The contract's view of an order: its (first) pet and how many items it has. A cancelled order is
 * a deleted one in Petstore terms: null, answered 404.
 */
export function toPetstoreOrder(order: OrderView): PetstoreOrder | null {
  if (order.status === 'cancelled' || !isPetstoreId(order.id)) return null;
  const pet = order.lines.find((l) => l.kind === 'pet');
  return {
    id: Number(order.id),
    ...(pet && isPetstoreId(pet.petId) ? { petId: Number(pet.petId) } : {}),
    quantity: order.lines.reduce((n, l) => n + l.quantity, 0),
    ...(order.shipDate ? { shipDate: order.shipDate } : {}),
    status: petstoreStatus[order.status],
    complete: order.status === 'delivered',
  };
}

const orderIdParams = {
  type: 'object',
  additionalProperties: false,
  required: ['orderId'],
  properties: { orderId: petstoreIdParam },
} as const;

const users = onlyRoles();

/** A 422 naming one field of the body, as the contract's "Validation exception". */
const invalidField = (field: string, message: string) =>
  new AppError('validation_exception', `Invalid field: body.${field} ${message}.`, {
    errors: [{ field: `body.${field}`, message }],
  });

export function registerPetstoreStoreRoutes(v3: FastifyInstance, deps: PetstoreDeps): void {
  const { dispatcher, readModels, readWaitMs } = deps;

  // Placing and deleting an order change its pet too: a Petstore client, which has no way to ask
  // for its own writes, must find both the order and the pet as its write left them.
  const caughtUp = async (position: number): Promise<void> => {
    await Promise.all([ORDERS, PETS].map((name) => reachPosition(readModels, name, position, readWaitMs)));
  };

  const notFound = (orderId: string) => new AppError('order_not_found', `There is no order ${orderId}.`);

  // placeOrder: one pet (quantity 1); a client's id (1 … 2^53 - 1) is honoured, one that exists is
  // refused (409); none, or 0, and one is minted. The order starts placed, whatever status it names.
  v3.post<{ Body: PetstoreOrderBody }>(
    '/store/order',
    {
      config: { operationId: 'placeOrder', petstoreBody: 'Order' },
      preValidation: users,
      schema: { body: petstoreSchemas.Order },
    },
    async (request, reply) => {
      const principal = requireUser(request);
      const { id, petId, quantity, shipDate } = request.body;
      if (petId === undefined) throw invalidField('petId', 'is required');
      if (quantity !== undefined && quantity !== 1)
        throw invalidField('quantity', 'must be 1: a pet is one of a kind');
      const orderId = id ? String(id) : newOrderId();
      const outcome = await sendOrderCommand(dispatcher, request, principal, {
        type: 'PlaceOrder',
        orderId,
        data: { lines: [{ petId: String(petId) }], ...(shipDate ? { shipDate } : {}), source: 'petstore' },
      });
      await caughtUp(appliedPosition(outcome));
      const order = await readModels.get<OrderView>(ORDERS, orderId);
      const shaped = order && toPetstoreOrder(order);
      if (!shaped) throw notFound(orderId);
      return sendPetstore(request, reply, 'Order', shaped);
    },
  );

  v3.get<{ Params: { orderId: number } }>(
    '/store/order/:orderId',
    {
      config: { operationId: 'getOrderById' },
      preValidation: users,
      schema: { params: orderIdParams },
    },
    async (request, reply) => {
      const principal = requireUser(request);
      const orderId = String(request.params.orderId);
      const order = visibleOrder(principal, await readModels.get<OrderView>(ORDERS, orderId), orderId);
      const shaped = toPetstoreOrder(order);
      if (!shaped) throw notFound(orderId);
      return sendPetstore(request, reply, 'Order', shaped);
    },
  );

  // deleteOrder: cancels a placed order (its owner, sellers, admins) and frees its pet. A cancelled
  // order is a deleted one: deleting it again is 404, as for one that never was.
  v3.delete<{ Params: { orderId: number } }>(
    '/store/order/:orderId',
    {
      config: { operationId: 'deleteOrder' },
      preValidation: users,
      schema: { params: orderIdParams },
    },
    async (request, reply) => {
      const principal = requireUser(request);
      const orderId = String(request.params.orderId);
      const outcome = await sendOrderCommand(dispatcher, request, principal, {
        type: 'CancelOrder',
        orderId,
        data: { asStaff: isStaff(principal) },
      });
      let position: number;
      try {
        position = appliedPosition(outcome);
      } catch (err) {
        if (
          err instanceof AppError &&
          err.code === 'invalid_status_transition' &&
          err.extra?.from === 'cancelled'
        ) {
          throw notFound(orderId);
        }
        throw err;
      }
      await caughtUp(position);
      return reply.code(200).send();
    },
  );

  // getInventory: how many pets have each status, every status listed (0 when none has it).
  v3.get('/store/inventory', { config: { operationId: 'getInventory' } }, async (_request, reply) => {
    const counts = await readModels.counts(PETS, 'status');
    return reply
      .type('application/json; charset=utf-8')
      .send(JSON.stringify(Object.fromEntries(petStatuses.map((s) => [s, counts[s] ?? 0]))));
  });
}
