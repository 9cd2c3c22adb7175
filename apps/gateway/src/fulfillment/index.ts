// The fulfillment saga's state and history at the gateway: GET /api/orders/{id}/fulfillment, from
// the `fulfillments` read model the projector keeps. The order's owner, sellers and admins see it;
// anyone else gets 404, as for an order that does not exist.
import type {} from '@fastify/swagger';
import { AppError, type HttpServer } from '@optic-mart/platform';
import type { AnyProjection, ReadModels } from '@optic-mart/runtime';
import { fulfillmentsProjection, type FulfillmentView } from '@optic-mart/app-saga';
import { mayAct, onlyRoles, requireUser } from '../auth/index.js';
import { orderParams } from '../ordering/order-routes.js';
import { afterOnlyQuery, etagMatches, readAfter, readAfterHeaders, type ReadAfter } from '../read-support.js';

const FULFILLMENTS = fulfillmentsProjection.name;

/** The read models these routes query: the gateway's ReadModels must list them. */
export const fulfillmentProjections: readonly AnyProjection[] = [fulfillmentsProjection];

export interface FulfillmentRouteOptions {
  readonly readModels: ReadModels;
  readonly readWaitMs: number;
}

export function registerFulfillment(app: HttpServer, options: FulfillmentRouteOptions): void {
  const { readModels, readWaitMs } = options;
  app.get<ReadAfter & { Params: { orderId: string } }>(
    '/api/orders/:orderId/fulfillment',
    {
      schema: {
        tags: ['orders'],
        summary: 'The fulfillment saga of a checkout’s order: its state and history (ETag: its version)',
        params: orderParams,
        querystring: afterOnlyQuery,
        headers: readAfterHeaders,
      },
      preValidation: onlyRoles(),
    },
    async (request, reply) => {
      const principal = requireUser(request);
      await readAfter(readModels, FULFILLMENTS, request, readWaitMs);
      const { orderId } = request.params;
      const view = await readModels.get<FulfillmentView>(FULFILLMENTS, orderId);
      if (view === null || !mayAct(principal, view.userId, 'seller')) {
        throw new AppError('order_not_found', `There is no fulfillment for order ${orderId}.`);
      }
      const etag = `"${view.version}"`;
      reply.header('ETag', etag);
      if (etagMatches(request.headers['if-none-match'], etag)) return reply.code(304).send();
      return view;
    },
  );
}
