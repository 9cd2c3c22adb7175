// Shipping in the native API (shipment-routes.ts).
import type { HttpServer } from '@optic-mart/platform';
import type { AnyProjection } from '@optic-mart/runtime';
import { shipmentsProjection } from '@optic-mart/shipping';
import { registerShipmentRoutes, type ShipmentRouteOptions } from './shipment-routes.js';

export type { ShipmentRouteOptions } from './shipment-routes.js';

/** The read models these routes query: the gateway's ReadModels must list them. */
export const shippingProjections: readonly AnyProjection[] = [shipmentsProjection];

/** Registers GET /api/orders/{id}/shipment and POST /api/shipments/{orderId}[/shipped|/delivered]. */
export function registerShipping(app: HttpServer, options: ShipmentRouteOptions): void {
  registerShipmentRoutes(app, options);
}
