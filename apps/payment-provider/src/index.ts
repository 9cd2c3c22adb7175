// The payment provider as a library: other apps' tests (the payments context, the saga) start a
// real one in-process with start({ DATABASE_URL, PAYMENT_PROVIDER_PORT, PSP_* … }).
/** Starts a provider (listening, background loops running); `stop()` ends it. */
export { start } from './main.js';
/** The X-Optic-Signature value of a webhook body (as the provider signs it). */
export { signatureHeader } from './webhooks.js';
/** The provider's configuration, as loaded from the environment. */
export type { PaymentProviderConfig } from './config.js';
