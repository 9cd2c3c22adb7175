// The payment provider's settings (a stand-in for an external PSP): where it keeps its ledger,
// where it sends webhooks, and how badly it behaves (latency, declines, errors, async answers).
import { baseConfigSchema, duration, int, loadConfig, port, url, type Env } from '@optic-mart/platform';
import { z } from 'zod';

const rate = (name: string) =>
  z.coerce
    .number({ error: `${name}: expected a number between 0 and 1` })
    .min(0, { error: 'expected a number between 0 and 1' })
    .max(1, { error: 'expected a number between 0 and 1' })
    .default(0);

/** `PSP_LATENCY_MS`: `min-max` milliseconds (or one number) added before every API answer. */
const latency = z
  .string()
  .default('0')
  .transform((raw, ctx) => {
    const match = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(raw);
    const min = Number(match?.[1]);
    const max = match?.[2] === undefined ? min : Number(match[2]);
    if (match === null || max < min || max > 600_000) {
      ctx.addIssue({
        code: 'custom',
        message: 'expected min-max milliseconds, e.g. 20-200 (at most 600000)',
      });
      return z.NEVER;
    }
    return { min, max };
  });

const schema = baseConfigSchema.extend({
  DATABASE_URL: z.string({ error: 'required: the PostgreSQL URL (the ledger is schema psp)' }).url(),
  PAYMENT_PROVIDER_HOST: z.string().default('127.0.0.1'),
  PAYMENT_PROVIDER_PORT: port(8090),
  PAYMENT_PROVIDER_POOL_SIZE: int({ default: 10, min: 2, max: 200 }),
  /** Where results are POSTed (the gateway's POST /api/payments/webhook). */
  PSP_WEBHOOK_URL: url({ protocols: ['http:', 'https:'] }).default(
    'http://127.0.0.1:8080/api/payments/webhook',
  ),
  /** The HMAC-SHA256 key of X-Optic-Signature, shared with the receiver. Unset: no webhooks are sent. */
  PSP_WEBHOOK_SECRET: z.string().min(16, { error: 'must be at least 16 characters' }).optional(),
  PSP_LATENCY_MS: latency,
  /** Share of new payments declined. */
  PSP_DECLINE_RATE: rate('PSP_DECLINE_RATE'),
  /** Share of API calls answered 500 before anything is done. */
  PSP_ERROR_RATE: rate('PSP_ERROR_RATE'),
  /** Share of new payments answered `pending`, their result sent by webhook only. */
  PSP_ASYNC_RATE: rate('PSP_ASYNC_RATE'),
  /** How long a pending payment takes to settle. */
  PSP_ASYNC_DELAY_MS: duration(500),
  /** First webhook retry delay; it doubles per failed attempt up to PSP_WEBHOOK_MAX_DELAY_MS. */
  PSP_WEBHOOK_RETRY_MS: duration(500),
  PSP_WEBHOOK_MAX_DELAY_MS: duration(60_000),
  /** How long one webhook delivery may take before it counts as failed. */
  PSP_WEBHOOK_TIMEOUT_MS: duration(5_000),
  /** How often due webhooks and pending payments are looked for. */
  PSP_POLL_MS: duration(100),
});

export type PaymentProviderConfig = ReturnType<typeof loadPaymentProviderConfig>;

/** Reads the provider's configuration; a ConfigError names every bad variable. */
export function loadPaymentProviderConfig(env?: Env) {
  return loadConfig(schema, env);
}
