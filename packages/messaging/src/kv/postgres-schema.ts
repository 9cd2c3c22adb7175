import type pg from 'pg';

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

/** Serialises the DDL between processes of this store starting at once. */
const SCHEMA_LOCK = 'optic-mart:messaging.kv';

/**
 * Creates the tables when missing. IF NOT EXISTS alone is not enough: two sessions running it at
 * once can both decide to create and one fails on a unique violation, hence the advisory lock.
 * The `messaging` schema is shared with the PostgreSQL queue and bus, whose set-up takes its own
 * lock, so a duplicate-schema error from that race is retried (the schema then exists).
 */
export async function ensureKeyValueSchema(pool: pg.Pool): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [SCHEMA_LOCK]);
      await client.query(DDL);
      await client.query('COMMIT');
      return;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (attempt >= 3 || !isDuplicateObject(err)) throw err;
    } finally {
      client.release();
    }
  }
}

function isDuplicateObject(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
  // unique_violation (catalog race), duplicate_schema, duplicate_table
  return code === '23505' || code === '42P06' || code === '42P07';
}
