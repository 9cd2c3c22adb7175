// Payments in the native API (helper E, issue 6): the provider's webhook, an order's payment, and
// refunds on request.
import type { HttpServer } from '@optic-mart/platform';
import type { AnyProjection } from '@optic-mart/runtime';
import { paymentsProjection } from '@optic-mart/payments';
import { registerPaymentRoutes, type PaymentRouteOptions } from './payment-routes.js';
import { registerPaymentWebhook, type PaymentWebhookOptions } from './webhook-route.js';

export type { PaymentRouteOptions } from './payment-routes.js';
export type { PaymentWebhookOptions } from './webhook-route.js';

/** The read models these routes query: the gateway's ReadModels must list them. */
export const paymentsProjections: readonly AnyProjection[] = [paymentsProjection];

/** Registers POST /api/payments/webhook, GET /api/orders/{id}/payment, POST /api/payments/{orderId}/refund. */
export function registerPayments(
  app: HttpServer,
  options: PaymentRouteOptions & PaymentWebhookOptions,
): void {
  registerPaymentWebhook(app, options);
  registerPaymentRoutes(app, options);
}
