// An order's payment (GET /api/orders/{id}/payment: its owner, sellers, admins; anyone else 404)
// and refunds on request (POST /api/payments/{orderId}/refund: sellers, admins). A refund is
// recorded as asked for (RefundPayment: the payment checks it is refundable), sent to the provider
// with an idempotency key, and its result recorded (RecordProviderResult) — the provider's webhook
// for it is then a duplicate, applied once.
import { randomUUID } from 'node:crypto';
import type {} from '@fastify/swagger';
import { AppError, isErrorCode, type HttpServer } from '@optic-mart/platform';
import { uuidV5, type ReadModels } from '@optic-mart/runtime';
import type { CommandDispatcher } from '@optic-mart/messaging';
import { ordersProjection, type OrderView } from '@optic-mart/ordering';
import {
  PaymentProviderClient,
  PaymentProviderError,
  ProviderRejectedError,
  paymentStreamId,
  paymentsProjection,
  type PaymentView,
} from '@optic-mart/payments';
import { onlyRoles, requireRole, requireUser } from '../auth/index.js';
import { appliedPosition, sendCommand } from '../command-reply.js';
import { orderParams, visibleOrder } from '../ordering/order-routes.js';
import { afterOnlyQuery, etagMatches, readAfter, readAfterHeaders, type ReadAfter } from '../read-support.js';

export interface PaymentRouteOptions {
  readonly dispatcher: CommandDispatcher;
  readonly readModels: ReadModels;
  readonly readWaitMs: number;
  /** The payment provider's API. */
  readonly pspUrl: string;
  readonly pspTimeoutMs: number;
}

const PAYMENTS = paymentsProjection.name;
const ORDERS = ordersProjection.name;
/** Command ids of refund results: a v5 UUID of the provider idempotency key (never change it). */
const REFUND_COMMAND_NAMESPACE = '0e6f3c1a-6a43-4c55-8f0b-6d1f7f2b9c84';

const refundBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    amountCents: { type: 'integer', minimum: 1, maximum: 100_000_000_000 },
    reason: { type: 'string', minLength: 1, maxLength: 100, pattern: '^[a-z][a-z0-9_]*$' },
  },
} as const;

/** The provider's refusal or failure as this API's problem. */
function providerProblem(err: PaymentProviderError): AppError {
  if (err instanceof ProviderRejectedError) {
    return new AppError(isErrorCode(err.code) && err.status < 500 ? err.code : 'conflict', err.detail);
  }
  if (err.kind === 'timeout')
    return new AppError('timeout', 'The payment provider did not answer; try again.', {
      extra: { retryAfter: 2 },
    });
  return new AppError('service_unavailable', 'The payment provider is unavailable; try again.', {
    extra: { retryAfter: 2 },
  });
}

export function registerPaymentRoutes(app: HttpServer, options: PaymentRouteOptions): void {
  const { dispatcher, readModels, readWaitMs } = options;
  const provider = new PaymentProviderClient({ baseUrl: options.pspUrl, timeoutMs: options.pspTimeoutMs });

  app.get<ReadAfter & { Params: { orderId: string } }>(
    '/api/orders/:orderId/payment',
    {
      schema: {
        tags: ['payments'],
        summary: 'An order’s payment and its history (its owner, sellers, admins)',
        params: orderParams,
        querystring: afterOnlyQuery,
        headers: readAfterHeaders,
      },
      preValidation: onlyRoles(),
    },
    async (request, reply) => {
      const principal = requireUser(request);
      await readAfter(readModels, PAYMENTS, request, readWaitMs);
      const { orderId } = request.params;
      visibleOrder(principal, await readModels.get<OrderView>(ORDERS, orderId), orderId);
      const payment = await readModels.get<PaymentView>(PAYMENTS, orderId);
      if (payment === null) throw new AppError('payment_not_found', `Order ${orderId} has no payment yet.`);
      const etag = `"${payment.version}"`;
      reply.header('ETag', etag);
      if (etagMatches(request.headers['if-none-match'], etag)) return reply.code(304).send();
      return payment;
    },
  );

  app.post<{ Params: { orderId: string }; Body: { amountCents?: number; reason?: string } | undefined }>(
    '/api/payments/:orderId/refund',
    {
      schema: {
        tags: ['payments'],
        summary: 'Refund (part of) a captured payment through the provider (sellers, admins)',
        params: orderParams,
        body: refundBody,
      },
      preValidation: onlyRoles('seller'),
    },
    async (request, reply) => {
      const principal = requireRole(request, 'seller');
      const { orderId } = request.params;
      const payment = await readModels.get<PaymentView>(PAYMENTS, orderId);
      if (payment === null) throw new AppError('payment_not_found', `Order ${orderId} has no payment.`);
      if (payment.providerPaymentId === null) {
        throw new AppError('payment_invalid_state', `The payment of order ${orderId} is ${payment.status}.`);
      }
      const amountCents = request.body?.amountCents ?? payment.capturedCents - payment.refundedCents;
      if (amountCents < 1)
        throw new AppError('payment_invalid_state', `Nothing of order ${orderId} is left to refund.`);
      // The client's Idempotency-Key (the gateway replays a repeat) makes the provider's key, so a
      // retry after a failure refunds once.
      const clientKey = request.headers['idempotency-key'];
      const providerKey = `${orderId}:refund:${typeof clientKey === 'string' ? clientKey : randomUUID()}`;
      appliedPosition(
        await sendCommand(dispatcher, request, principal, {
          context: 'payments',
          type: 'RefundPayment',
          aggregateId: paymentStreamId(orderId),
          data: {
            idempotencyKey: providerKey,
            amountCents,
            ...(request.body?.reason !== undefined && { reason: request.body.reason }),
          },
        }),
      );
      let refund;
      try {
        refund = await provider.refund(payment.providerPaymentId, amountCents, providerKey);
      } catch (err) {
        if (err instanceof PaymentProviderError) throw providerProblem(err);
        throw err;
      }
      const position = appliedPosition(
        await dispatcher.dispatch({
          context: 'payments',
          type: 'RecordProviderResult',
          aggregateId: paymentStreamId(orderId),
          commandId: uuidV5(providerKey, REFUND_COMMAND_NAMESPACE),
          data: {
            kind: 'refunded',
            providerPaymentId: payment.providerPaymentId,
            refundId: refund.id,
            amountCents: refund.amount,
          },
          metadata: { correlationId: request.id, userId: principal.userId },
        }),
      );
      return reply.code(201).header('Location', `/api/orders/${orderId}/payment`).send({
        orderId,
        refundId: refund.id,
        amountCents: refund.amount,
        status: refund.payment.status,
        position,
      });
    },
  );
}
