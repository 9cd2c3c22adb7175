import { baseConfigSchema, duration, int, loadConfig, port, url, type Env } from '@optic-mart/platform';
import { z } from 'zod';

const schema = baseConfigSchema.extend({
  DATABASE_URL: z.string({ error: 'required: the PostgreSQL URL of the event store' }).url(),
  GATEWAY_HOST: z.string().default('127.0.0.1'),
  GATEWAY_PORT: port(8080),
  GATEWAY_POOL_SIZE: int({ default: 20, min: 1, max: 500 }),
  /** How long a request waits for its command's reply before answering 202 with a status URL. */
  GATEWAY_REPLY_TIMEOUT_MS: duration(2000),
  /** Waiting commands per context above which the gateway sheds load with 503. */
  GATEWAY_MAX_QUEUE_DEPTH: int({ default: 10_000, min: 1 }),
  GATEWAY_RETRY_AFTER_SECONDS: int({ default: 2, min: 1, max: 3600 }),
  /** How long a response is kept for its Idempotency-Key. */
  GATEWAY_IDEMPOTENCY_TTL_MS: duration(24 * 3600_000),
  /** The stream service `/api/stream` is proxied to. */
  STREAM_URL: url({ protocols: ['http:', 'https:'] }).default('http://127.0.0.1:8082'),
  /** How long a query that names a position (`?after=`, X-Read-After) waits for the read model. */
  GATEWAY_READ_WAIT_MS: duration(2000),
  /**
   * The key access tokens are signed with (at least 32 characters, the same on every replica).
   * Unset: one is generated once and kept in the database.
   */
  JWT_SECRET: z.string().min(32, { error: 'must be at least 32 characters' }).optional(),
  /** How long an access token (and its session) lasts. */
  JWT_TTL_SECONDS: int({ default: 3600, min: 60, max: 30 * 24 * 3600 }),
  /** The payment provider's API (payments, helper E). */
  PSP_URL: url({ protocols: ['http:', 'https:'] }).default('http://127.0.0.1:8090'),
  /** How long one call to the payment provider may take. */
  PSP_TIMEOUT_MS: duration(5000),
  /**
   * The key the provider signs webhooks with (the provider's PSP_WEBHOOK_SECRET). `npm start`
   * generates one, kept in DATA_DIR/psp-webhook-secret. Unset: webhooks are refused (401).
   */
  PSP_WEBHOOK_SECRET: z.string().min(16, { error: 'must be at least 16 characters' }).optional(),
  /** How old a webhook's signed timestamp may be. */
  PSP_WEBHOOK_TOLERANCE_SECONDS: int({ default: 300, min: 1, max: 3600 }),
  /** The largest pet photo an upload may carry, in bytes (larger: 413). */
  PHOTO_MAX_BYTES: int({ default: 5 * 1024 * 1024, min: 1024, max: 100 * 1024 * 1024 }),
  /** Login attempts one username may make per LOGIN_WINDOW_MS (a sliding window); then 429. */
  LOGIN_MAX_ATTEMPTS_PER_USER: int({ default: 5, min: 1, max: 10_000 }),
  /** Login attempts one client address may make per LOGIN_WINDOW_MS; then 429. */
  LOGIN_MAX_ATTEMPTS_PER_ADDRESS: int({ default: 20, min: 1, max: 100_000 }),
  LOGIN_WINDOW_MS: duration(60_000),
  /**
   * The admin account the first start creates (both or neither). `npm start` generates them when
   * unset, keeps them in ./data/admin.json, and passes them here.
   */
  ADMIN_USERNAME: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, { error: 'must be 1 to 64 letters, digits, . _ or -' })
    .optional(),
  ADMIN_PASSWORD: z
    .string()
    .min(8, { error: 'must be at least 8 characters' })
    .max(128, { error: 'must be at most 128 characters' })
    .optional(),
});

export type GatewayConfig = ReturnType<typeof loadGatewayConfig>;

export function loadGatewayConfig(env?: Env) {
  return loadConfig(schema, env);
}
