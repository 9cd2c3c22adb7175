// Orders and inventory in the native API (orders: order-routes.ts; stock: stock-routes.ts). The
// Petstore's store operations are in ../petstore/store-routes.ts.
import type { HttpServer } from '@optic-mart/platform';
import type { AnyProjection } from '@optic-mart/runtime';
import { stockProjection } from '@optic-mart/inventory';
import { ordersProjection } from '@optic-mart/ordering';
import { registerOrderRoutes, type OrderRouteOptions } from './order-routes.js';
import { registerStockRoutes } from './stock-routes.js';

export type { OrderRouteOptions } from './order-routes.js';

/** The read models these routes query: the gateway's ReadModels must list them. */
export const orderingProjections: readonly AnyProjection[] = [ordersProjection, stockProjection];

export function registerOrdering(app: HttpServer, options: OrderRouteOptions): void {
  registerOrderRoutes(app, options);
  registerStockRoutes(app, options);
}
