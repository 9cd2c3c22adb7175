// The cart in the native API (cart-routes.ts). GET /api/cart reads the aggregate from the event
// store, so the cart needs no read model.
import type { HttpServer } from '@optic-mart/platform';
import { registerCartRoutes, type CartRouteOptions } from './cart-routes.js';

export type { CartRouteOptions, CartView } from './cart-routes.js';
export { loadCart } from './cart-routes.js';

/** Registers /api/cart and /api/cart/items, /api/cart/checkout. */
export function registerCart(app: HttpServer, options: CartRouteOptions): void {
  registerCartRoutes(app, options);
}
