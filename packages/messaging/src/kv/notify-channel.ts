import { createHash } from 'node:crypto';

/**
 * The NOTIFY channel for a channel name. LISTEN takes an identifier of at most 63 bytes, while
 * our channel names are arbitrary strings (`replies/<gateway id>`, live-update topics …): keep a
 * readable, sanitised head for `pg_listening_channels()` and let a hash of the whole name keep
 * distinct names apart (lower-casing and truncation alone would merge some).
 */
export function notifyChannel(name: string): string {
  const head = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .slice(0, 32);
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 16);
  return `kv_${head}_${hash}`;
}

/**
 * The largest message sent inside the NOTIFY payload itself, in UTF-8 bytes. PostgreSQL rejects
 * payloads of 8000 bytes or more; bigger messages go through `messaging.kv_messages` and the
 * payload carries only the row id. The margin covers the one-character marker.
 */
export const MAX_INLINE_BYTES = 7900;

const INLINE = '=';
const STORED = '#';

/** A NOTIFY payload that carries the message itself. */
export const inlinePayload = (message: string): string => INLINE + message;

/** A NOTIFY payload that points at the `messaging.kv_messages` row holding the message (SQL). */
export const storedPayloadSql = (idColumn: string): string => `'${STORED}' || ${idColumn}`;

/** What a received NOTIFY payload carries. */
export type DecodedPayload = { readonly message: string } | { readonly storedId: string } | null;

/** Reads a payload written by `inlinePayload` or `storedPayloadSql`; null for anything else. */
export function decodePayload(payload: string): DecodedPayload {
  if (payload.startsWith(INLINE)) return { message: payload.slice(1) };
  if (payload.startsWith(STORED) && /^\d+$/.test(payload.slice(1))) return { storedId: payload.slice(1) };
  return null;
}
