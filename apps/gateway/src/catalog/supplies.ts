// The catalog's supplies in the native API: products (product-routes.ts) and their reviews
// (review-routes.ts). Pets: pet-routes.ts and pet-queries.ts.
import type { HttpServer } from '@optic-mart/platform';
import { registerProductRoutes } from './product-routes.js';
import { registerReviewRoutes, type ReviewRouteOptions } from './review-routes.js';

export function registerSupplyRoutes(app: HttpServer, options: ReviewRouteOptions): void {
  registerProductRoutes(app, options);
  registerReviewRoutes(app, options);
}
