// The key access tokens are signed with: JWT_SECRET when set, else one generated once and kept in
// the database, so that every gateway replica signs and accepts the same tokens, across restarts,
// with nothing to configure.
import { randomBytes } from 'node:crypto';
import type pg from 'pg';

const KEY_BYTES = 64;

export async function loadSigningKey(pool: pg.Pool, configured: string | undefined): Promise<Uint8Array> {
  if (configured !== undefined) return new TextEncoder().encode(configured);
  const client = await pool.connect();
  try {
    // Replicas starting together: one creates the table, one key wins, all read that one.
    await client.query('SELECT pg_advisory_lock(hashtext($1))', ['auth.signing_keys']);
    try {
      await client.query('CREATE SCHEMA IF NOT EXISTS auth');
      await client.query(`CREATE TABLE IF NOT EXISTS auth.signing_keys (
        name text PRIMARY KEY,
        key bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now())`);
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', ['auth.signing_keys']);
    }
    await client.query(
      `INSERT INTO auth.signing_keys (name, key) VALUES ('access-tokens', $1) ON CONFLICT (name) DO NOTHING`,
      [randomBytes(KEY_BYTES)],
    );
    const { rows } = await client.query<{ key: Buffer }>(
      `SELECT key FROM auth.signing_keys WHERE name = 'access-tokens'`,
    );
    return new Uint8Array(rows[0]!.key);
  } finally {
    client.release();
  }
}
