// The native inventory API: stock levels per SKU (anyone; which orders hold it, staff only) and
// restocking (sellers, admins).
import type {} from '@fastify/swagger';
import type { HttpServer } from '@optic-mart/platform';
import { skuSchema } from '@optic-mart/catalog';
import { restockSchema, stockProjection, stockStreamId, type StockView } from '@optic-mart/inventory';
import { onlyRoles, requireRole } from '../auth/index.js';
import { replyWithOutcome, sendCommand } from '../command-reply.js';
import { afterOnlyQuery, readAfter, readAfterHeaders, type ReadAfter } from '../read-support.js';
import { isStaff, type OrderRouteOptions } from './order-routes.js';

const STOCK = stockProjection.name;

const skuParams = {
  type: 'object',
  additionalProperties: false,
  required: ['sku'],
  properties: { sku: skuSchema },
} as const;

const sellers = onlyRoles('seller');

export function registerStockRoutes(app: HttpServer, options: OrderRouteOptions): void {
  const { dispatcher, readModels, readWaitMs } = options;

  app.get<ReadAfter & { Params: { sku: string } }>(
    '/api/stock/:sku',
    {
      schema: {
        tags: ['inventory'],
        summary: 'Stock of a SKU: on hand, reserved by orders, available (0 for one never stocked)',
        params: skuParams,
        querystring: afterOnlyQuery,
        headers: readAfterHeaders,
      },
    },
    async (request, reply) => {
      await readAfter(readModels, STOCK, request, readWaitMs);
      const { sku } = request.params;
      const stock: StockView = (await readModels.get<StockView>(STOCK, sku)) ?? {
        sku,
        onHand: 0,
        reserved: 0,
        available: 0,
        reservations: {},
        version: 0,
      };
      reply.header('ETag', `"${stock.version}"`);
      // Which orders hold the stock is the shop's business, not the shoppers'.
      const staff = request.principal !== null && isStaff(request.principal);
      const { reservations: _reservations, ...levels } = stock;
      return staff ? stock : levels;
    },
  );

  app.post<{ Params: { sku: string }; Body: { quantity: number } }>(
    '/api/stock/:sku/restock',
    {
      schema: {
        tags: ['inventory'],
        summary: 'Add units of a SKU to the stock (sellers)',
        params: skuParams,
        body: restockSchema,
      },
      preValidation: sellers,
    },
    async (request, reply) => {
      const principal = requireRole(request, 'seller');
      const { sku } = request.params;
      const outcome = await sendCommand(dispatcher, request, principal, {
        context: 'inventory',
        type: 'Restock',
        aggregateId: stockStreamId(sku),
        data: request.body,
      });
      return replyWithOutcome(reply, outcome, { status: 200, location: `/api/stock/${sku}`, body: { sku } });
    },
  );
}
