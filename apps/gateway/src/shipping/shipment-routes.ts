// The native shipping API. A shipment is created for a paid order (by the fulfillment saga through
// the queue, or by a seller here), shipped and delivered by sellers and admins — each of those
// atomically with the order's OrderShipped / OrderDelivered. Reads come from the `shipments` read
// model: an order's owner and staff see its shipment; anyone else gets 404, as for none.
import type {} from '@fastify/swagger';
import { AppError, type HttpServer } from '@optic-mart/platform';
import type { CommandDispatcher } from '@optic-mart/messaging';
import type { ReadModels } from '@optic-mart/runtime';
import { shippingAddressSchema, type ShippingAddress } from '@optic-mart/ordering';
import { shipmentStreamId, shipmentsProjection, type ShipmentView } from '@optic-mart/shipping';
import { mayAct, onlyRoles, requireRole, requireUser } from '../auth/index.js';
import { replyWithOutcome, sendCommand } from '../command-reply.js';
import { orderParams } from '../ordering/order-routes.js';
import { afterOnlyQuery, readAfter, readAfterHeaders, type ReadAfter } from '../read-support.js';

const SHIPMENTS = shipmentsProjection.name;

export interface ShipmentRouteOptions {
  readonly dispatcher: CommandDispatcher;
  readonly readModels: ReadModels;
  /** How long a query naming a position waits for the read model before 503 read_model_behind. */
  readonly readWaitMs: number;
}

const createBody = {
  type: 'object',
  additionalProperties: false,
  properties: { address: shippingAddressSchema },
} as const;

export function registerShipmentRoutes(app: HttpServer, options: ShipmentRouteOptions): void {
  const { dispatcher, readModels, readWaitMs } = options;
  const users = onlyRoles();
  const sellers = onlyRoles('seller');

  app.get<ReadAfter & { Params: { orderId: string } }>(
    '/api/orders/:orderId/shipment',
    {
      schema: {
        tags: ['shipping'],
        summary: 'An order’s shipment: tracking number, status, history (its owner, sellers, admins)',
        params: orderParams,
        querystring: afterOnlyQuery,
        headers: readAfterHeaders,
      },
      preValidation: users,
    },
    async (request, reply) => {
      const principal = requireUser(request);
      await readAfter(readModels, SHIPMENTS, request, readWaitMs);
      const { orderId } = request.params;
      const shipment = await readModels.get<ShipmentView>(SHIPMENTS, orderId);
      if (shipment === null || !mayAct(principal, shipment.userId, 'seller')) {
        throw new AppError('shipment_not_found', `Order ${orderId} has no shipment.`);
      }
      reply.header('ETag', `"${shipment.version}"`);
      return shipment;
    },
  );

  app.post<{ Params: { orderId: string }; Body: { address?: ShippingAddress } }>(
    '/api/shipments/:orderId',
    {
      schema: {
        tags: ['shipping'],
        summary:
          'Create a paid order’s shipment, to the order’s address unless another is given (sellers); 422 shipping_unavailable where the shop does not ship',
        params: orderParams,
        body: createBody,
      },
      preValidation: sellers,
    },
    async (request, reply) => {
      const principal = requireRole(request, 'seller');
      const { orderId } = request.params;
      const outcome = await sendCommand(dispatcher, request, principal, {
        context: 'shipping',
        type: 'CreateShipment',
        aggregateId: shipmentStreamId(orderId),
        data: { orderId, ...(request.body?.address && { address: request.body.address }) },
      });
      return replyWithOutcome(reply, outcome, {
        status: 201,
        location: `/api/orders/${orderId}/shipment`,
        body: { orderId },
      });
    },
  );

  const transition = (path: string, type: string, summary: string) =>
    app.post<{ Params: { orderId: string } }>(
      `/api/shipments/:orderId/${path}`,
      { schema: { tags: ['shipping'], summary, params: orderParams }, preValidation: sellers },
      async (request, reply) => {
        const principal = requireRole(request, 'seller');
        const { orderId } = request.params;
        const outcome = await sendCommand(dispatcher, request, principal, {
          context: 'shipping',
          type,
          aggregateId: shipmentStreamId(orderId),
          data: { orderId },
        });
        return replyWithOutcome(reply, outcome, {
          status: 200,
          location: `/api/orders/${orderId}/shipment`,
          body: { orderId },
        });
      },
    );
  transition(
    'shipped',
    'MarkShipmentShipped',
    'Mark a shipment shipped: the order is shipped with it (sellers)',
  );
  transition(
    'delivered',
    'MarkShipmentDelivered',
    'Mark a shipped shipment delivered: the order is delivered, complete (sellers)',
  );
}
