import type pg from 'pg';

/** One lock for every DDL of the `messaging` schema, so its parts never race each other. */
const SCHEMA_LOCK = 'optic-mart:messaging';

/**
 * Applies idempotent DDL (CREATE … IF NOT EXISTS, CREATE OR REPLACE) in one transaction under an
 * advisory lock: IF NOT EXISTS alone is not enough, since two sessions running it at once can both
 * decide to create and one fails on a catalog unique violation. A duplicate-object error from a
 * session that does not take the lock (an older version of this code) is retried.
 */
export async function applyMessagingDdl(pool: pg.Pool, ddl: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [SCHEMA_LOCK]);
      await client.query(ddl);
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
  // unique_violation (catalog race), duplicate_schema, duplicate_table, duplicate_object
  return code === '23505' || code === '42P06' || code === '42P07' || code === '42710';
}
