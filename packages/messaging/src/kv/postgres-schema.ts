import type pg from 'pg';
import { applyMessagingDdl } from '../postgres-ddl.js';

/**
 * `COLLATE "C"` on the key: byte order lets the primary-key index serve `scan`'s left-anchored
 * LIKE, which a locale collation cannot. `kv_messages` carries publish payloads too big for NOTIFY.
 */
const DDL = `
  CREATE SCHEMA IF NOT EXISTS messaging;
  CREATE TABLE IF NOT EXISTS messaging.kv (
    key text COLLATE "C" PRIMARY KEY,
    value text NOT NULL,
    expires_at timestamptz
  );
  CREATE INDEX IF NOT EXISTS kv_expires_at ON messaging.kv (expires_at) WHERE expires_at IS NOT NULL;
  CREATE TABLE IF NOT EXISTS messaging.kv_messages (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payload text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
  );
  CREATE INDEX IF NOT EXISTS kv_messages_created_at ON messaging.kv_messages (created_at);
`;

/** Creates or updates these tables (and functions) when missing. */
export async function ensureKeyValueSchema(pool: pg.Pool): Promise<void> {
  await applyMessagingDdl(pool, DDL);
}
