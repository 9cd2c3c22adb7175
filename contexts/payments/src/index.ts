// The public surface of @optic-mart/payments.

/** The Payment aggregate (`payment-<orderId>`): decider, statuses, commands, events, error codes. */
export { paymentDecider, paymentErrorCodes, paymentStatuses, providerResultKinds } from './domain/payment.js';
/** Types of the Payment aggregate's commands, events and state. */
export type {
  Payment,
  PaymentAmount,
  PaymentCommand,
  PaymentCommandType,
  PaymentErrorCode,
  PaymentEvent,
  PaymentEventType,
  PaymentState,
  PaymentStatus,
  ProviderResultKind,
  RecordProviderResultData,
  RefundPaymentData,
  RequestPaymentData,
} from './domain/payment.js';
/** JSON Schemas of the commands' data (the worker validates with them; the gateway may too). */
export {
  amountSchema,
  paymentCommandSchemas,
  recordProviderResultSchema,
  refundPaymentSchema,
  requestPaymentSchema,
} from './commands.js';
/** Command routes for the worker (context `payments`), and the payment stream ids. */
export { paymentOrderIdOf, paymentSnapshot, paymentStreamId, paymentsCommandRoutes } from './routes.js';
/** The `payments` read model. */
export { paymentsProjection } from './projections/payments.js';
/** A payment as the read model and the API show it. */
export type { PaymentHistoryEntry, PaymentView } from './projections/payments.js';
/** The payment provider's HTTP client and its typed outcomes. */
export {
  PaymentDeclinedError,
  PaymentProviderClient,
  PaymentProviderError,
  ProviderRejectedError,
  ProviderTimeoutError,
  ProviderUnavailableError,
} from './provider-client.js';
/** Types of what the provider client sends and returns. */
export type {
  AuthorizeInput,
  PaymentProviderClientOptions,
  ProviderHistoryEntry,
  ProviderPayment,
  ProviderRefund,
} from './provider-client.js';
/** Webhook signature checks (X-Optic-Signature), and signing for tests and tools. */
export {
  WEBHOOK_SIGNATURE_HEADER,
  signWebhookBody,
  verifyWebhookSignature,
  type WebhookSignatureFailure,
  type WebhookSignatureResult,
} from './webhook-signature.js';
/** A provider webhook's body, and how it maps to RecordProviderResult. */
export { providerResultOfWebhook, type ProviderWebhookEvent } from './webhook-event.js';
