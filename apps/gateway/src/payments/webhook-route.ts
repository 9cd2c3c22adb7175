// POST /api/payments/webhook: the payment provider's results. The signature is checked on the raw
// body before anything else (so this route parses JSON itself); a good event becomes the payments
// context's RecordProviderResult, with a command id derived from the provider's event id, so a
// retried webhook is applied once. 2xx acknowledges (the provider stops retrying); a payment not
// known yet is 404, so that the provider tries again later.
import type { FastifyRequest } from 'fastify';
import type {} from '@fastify/swagger';
import { AppError, isErrorCode, type HttpServer } from '@optic-mart/platform';
import { uuidV5 } from '@optic-mart/runtime';
import type { CommandDispatcher } from '@optic-mart/messaging';
import { idSchema } from '@optic-mart/catalog';
import {
  WEBHOOK_SIGNATURE_HEADER,
  paymentStreamId,
  providerResultOfWebhook,
  verifyWebhookSignature,
  type ProviderWebhookEvent,
} from '@optic-mart/payments';

export interface PaymentWebhookOptions {
  readonly dispatcher: CommandDispatcher;
  /** Unset: every webhook is refused with 401 (the gateway cannot tell a real one). */
  readonly webhookSecret: string | undefined;
  readonly webhookToleranceSeconds: number;
}

/** Command ids of webhook results: a v5 UUID of the provider's event id (never change it). */
const WEBHOOK_COMMAND_NAMESPACE = '5b0c3f5e-8f0e-4f55-9a57-3f1b9a0e7d21';

const WEBHOOK_BODY_LIMIT = 64 * 1024;
const idPattern = new RegExp(idSchema.pattern);

function parseEvent(raw: Buffer): ProviderWebhookEvent {
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new AppError('bad_request', 'The webhook body is not valid JSON.');
  }
  const event = value as Partial<ProviderWebhookEvent> | null;
  const bad = (field: string, message: string) =>
    new AppError('validation_failed', `Invalid field: ${field}.`, { errors: [{ field, message }] });
  if (typeof event !== 'object' || event === null) throw bad('body', 'must be an object');
  if (typeof event.id !== 'string' || event.id.length === 0 || event.id.length > 200) {
    throw bad('body.id', 'must be the provider’s event id');
  }
  if (typeof event.type !== 'string') throw bad('body.type', 'must be a string');
  const data = event.data;
  if (typeof data !== 'object' || data === null) throw bad('body.data', 'must be an object');
  if (typeof data.paymentId !== 'string' || data.paymentId.length === 0)
    throw bad('body.data.paymentId', 'is required');
  if (
    typeof data.reference !== 'string' ||
    data.reference.length > idSchema.maxLength ||
    !idPattern.test(data.reference)
  ) {
    throw bad('body.data.reference', 'must be an order id');
  }
  if (!Number.isSafeInteger(data.amount) || data.amount < 0) throw bad('body.data.amount', 'must be cents');
  return event as ProviderWebhookEvent;
}

export function registerPaymentWebhook(app: HttpServer, options: PaymentWebhookOptions): void {
  const { dispatcher, webhookSecret, webhookToleranceSeconds } = options;
  // Its own scope: JSON bodies reach this route as raw bytes, which is what was signed.
  void app.register(async (scope) => {
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser(
      'application/json',
      { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT },
      (_request, body, done) => done(null, body),
    );
    scope.post(
      '/api/payments/webhook',
      {
        bodyLimit: WEBHOOK_BODY_LIMIT,
        schema: {
          tags: ['payments'],
          summary: 'The payment provider’s signed results (X-Optic-Signature); 2xx acknowledges',
        },
      },
      async (request: FastifyRequest, reply) => {
        // With no secret nothing can be verified, so nothing is trusted.
        if (webhookSecret === undefined) {
          throw new AppError(
            'webhook_signature_invalid',
            'No webhook secret is configured (PSP_WEBHOOK_SECRET).',
            {
              extra: { reason: 'not_configured' },
            },
          );
        }
        const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const header = request.headers[WEBHOOK_SIGNATURE_HEADER];
        const verified = verifyWebhookSignature(
          raw,
          typeof header === 'string' ? header : undefined,
          webhookSecret,
          webhookToleranceSeconds,
        );
        if (!verified.ok) {
          throw new AppError('webhook_signature_invalid', `The webhook signature is ${verified.reason}.`, {
            extra: { reason: verified.reason },
          });
        }
        const event = parseEvent(raw);
        const result = providerResultOfWebhook(event);
        if (result === null)
          return reply.code(200).send({ received: true, recorded: false, reason: 'unhandled type' });
        const { orderId, ...data } = result;
        const outcome = await dispatcher.dispatch({
          context: 'payments',
          type: 'RecordProviderResult',
          aggregateId: paymentStreamId(orderId),
          data,
          commandId: uuidV5(event.id, WEBHOOK_COMMAND_NAMESPACE),
          metadata: { correlationId: request.id },
        });
        // Enqueued but not applied yet: the queue keeps it, so this counts as received.
        if (outcome.kind === 'pending')
          return reply.code(202).send({ received: true, commandId: outcome.commandId });
        const { status } = outcome;
        if (status.status === 'failed') {
          const code = isErrorCode(status.error.code) ? status.error.code : 'internal';
          // Not known yet (the saga records the request first): the provider will try again.
          if (code === 'payment_not_found') throw new AppError(code, status.error.detail);
          // A result this payment cannot take (e.g. a capture after a void) will not change on retry.
          request.log.warn(
            { eventId: event.id, code, detail: status.error.detail },
            'payment webhook not recorded',
          );
          return reply.code(200).send({ received: true, recorded: false, code });
        }
        return reply.code(200).send({ received: true, recorded: true });
      },
    );
  });
}
