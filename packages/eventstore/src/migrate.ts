import { readdir, readFile } from 'node:fs/promises';
import type { Pool } from 'pg';

const schemaDir = new URL('./schema/', import.meta.url);
/** Serialises schema changes between processes starting at the same time. */
const MIGRATION_LOCK = [7245301, 0] as const;
/** CREATE OR REPLACE definitions applied after the migrations on every start. */
const FUNCTIONS_FILE = 'functions.sql';

/**
 * Brings the event store's schema up to date: applies each `schema/NNN-*.sql` not applied yet, in
 * order, each in its own transaction, then (re)defines the functions in `schema/functions.sql`,
 * all under an advisory lock so that concurrent starts are safe.
 */
export async function migrate(pool: Pool): Promise<string[]> {
  const files = (await readdir(schemaDir)).filter((f) => /^\d{3}-.*\.sql$/.test(f)).sort();
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1, $2)', [...MIGRATION_LOCK]);
    const { rows } = await client.query<{ exists: boolean }>(
      "SELECT to_regclass('eventstore.schema_migrations') IS NOT NULL AS exists",
    );
    const done = new Set<string>();
    if (rows[0]?.exists) {
      const r = await client.query<{ name: string }>('SELECT name FROM eventstore.schema_migrations');
      for (const row of r.rows) done.add(row.name);
    }
    for (const file of files) {
      if (done.has(file)) continue;
      const sql = await readFile(new URL(file, schemaDir), 'utf8');
      await client.query('BEGIN');
      try {
        await client.query(sql);
        await client.query('INSERT INTO eventstore.schema_migrations (name) VALUES ($1)', [file]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
      applied.push(file);
    }
    // The functions are replaced on every start, so they always match this version of the code.
    await client.query(await readFile(new URL(FUNCTIONS_FILE, schemaDir), 'utf8'));
  } finally {
    await client.query('SELECT pg_advisory_unlock($1, $2)', [...MIGRATION_LOCK]).catch(() => undefined);
    client.release();
  }
  return applied;
}
