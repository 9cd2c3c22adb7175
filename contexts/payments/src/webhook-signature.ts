// Webhook signatures (the provider's X-Optic-Signature: `t=<unix seconds>,v1=<hex HMAC-SHA256 of
// "<t>.<raw body>">`). The timestamp is signed with the body, so an old message cannot be given a
// fresh time; the tolerance bounds how long a captured message can be replayed at all, and
// within it RecordProviderResult is idempotent on the provider's event id.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header a provider sends its webhooks with. */
export const WEBHOOK_SIGNATURE_HEADER = 'x-optic-signature';

/** Why a signature was refused. */
export type WebhookSignatureFailure = 'malformed' | 'mismatch' | 'stale';

/** The outcome of verifyWebhookSignature: the signed time, or why it failed. */
export type WebhookSignatureResult =
  | { readonly ok: true; readonly timestamp: number }
  | { readonly ok: false; readonly reason: WebhookSignatureFailure };

/** Signs a raw body as the provider does: the value of X-Optic-Signature (for tests and tools). */
export function signWebhookBody(rawBody: string | Buffer, secret: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.`).update(rawBody).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

/**
 * Verifies a webhook on its raw bytes (before any parsing: re-serialized JSON would not match):
 * the header's v1 HMAC (any of several, for secret rotation) must match, compared in constant
 * time, and its timestamp must be within `toleranceSeconds` of `now` (unix seconds).
 */
export function verifyWebhookSignature(
  rawBody: string | Buffer,
  header: string | undefined,
  secret: string,
  toleranceSeconds: number,
  now: number = Math.floor(Date.now() / 1000),
): WebhookSignatureResult {
  if (header === undefined || header.length > 2000) return { ok: false, reason: 'malformed' };
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const [name, value = ''] = part.trim().split('=', 2);
    if (name === 't' && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if (name === 'v1' && /^[0-9a-f]{64}$/.test(value)) signatures.push(value);
  }
  if (timestamp === undefined || signatures.length === 0) return { ok: false, reason: 'malformed' };
  const expected = Buffer.from(
    signWebhookBody(rawBody, secret, timestamp).slice(`t=${timestamp},v1=`.length),
    'hex',
  );
  const matches = signatures.some((s) => timingSafeEqual(Buffer.from(s, 'hex'), expected));
  if (!matches) return { ok: false, reason: 'mismatch' };
  if (Math.abs(now - timestamp) > toleranceSeconds) return { ok: false, reason: 'stale' };
  return { ok: true, timestamp };
}
