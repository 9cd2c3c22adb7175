// The data of the payments context's commands, as JSON Schemas: the gateway and the saga send
// them, and the worker checks every command with the same ones (the order id is the stream's).
import { currencies, type JsonSchema } from '@optic-mart/catalog';
import { providerResultKinds, type PaymentCommandType } from './domain/payment.js';

const cents = { type: 'integer', minimum: 1, maximum: 100_000_000_000 } as const;
const token = { type: 'string', minLength: 1, maxLength: 200, pattern: '^[\\x21-\\x7e]+$' } as const;
const reason = { type: 'string', minLength: 1, maxLength: 100, pattern: '^[a-z][a-z0-9_]*$' } as const;

/** An amount: cents and an ISO 4217 currency the shop sells in. */
export const amountSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['amountCents', 'currency'],
  properties: { amountCents: cents, currency: { type: 'string', enum: currencies } },
} as const;

/** RequestPayment {amount, userId?}: the order's payment is requested (before the provider is called). */
export const requestPaymentSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['amount'],
  properties: { amount: amountSchema, userId: { type: 'string', minLength: 1, maxLength: 100 } },
} as const;

/** RecordProviderResult {kind, providerPaymentId, eventId?, amountCents?, refundId?, reason?}. */
export const recordProviderResultSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['kind'],
  properties: {
    kind: { type: 'string', enum: providerResultKinds },
    providerPaymentId: token,
    eventId: token,
    amountCents: cents,
    refundId: token,
    reason,
  },
} as const;

/** RefundPayment {idempotencyKey, amountCents?, reason?}: a refund is asked for (then sent to the provider). */
export const refundPaymentSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['idempotencyKey'],
  properties: { idempotencyKey: token, amountCents: cents, reason },
} as const;

/** The data schema of each payment command, by command type. */
export const paymentCommandSchemas = {
  RequestPayment: requestPaymentSchema,
  RecordProviderResult: recordProviderResultSchema,
  RefundPayment: refundPaymentSchema,
} as const satisfies Record<PaymentCommandType, JsonSchema>;
