// The PostgreSQL key-value store against a real PostgreSQL (a database of its own for this file).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { createTestDatabase, sleep, type TestDatabase } from '@optic-mart/testkit';
import type { KeyValueStore } from '../ports.js';
import { runKeyValueConformance } from './key-value-conformance.js';
import { createPostgresKeyValueStore } from './postgres-key-value-store.js';

let db: TestDatabase;
/** application_name per store, so a test can find its LISTEN connection in pg_stat_activity. */
const names = new WeakMap<KeyValueStore, string>();

before(async () => {
  db = await createTestDatabase('messaging_kv');
});

after(async () => {
  await db.drop();
});

async function query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

runKeyValueConformance(
  'postgres',
  async (options) => {
    const name = `kv-test-${randomUUID().slice(0, 8)}`;
    const store = await createPostgresKeyValueStore({
      connectionString: db.url,
      keyPrefix: options?.namespace ? `${options.namespace}:` : '',
      name,
    });
    names.set(store, name);
    return store;
  },
  {
    async dropSubscriberConnection(store) {
      const rows = await query<{ killed: boolean }>(
        'SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE application_name = $1',
        [`${names.get(store)}:listen`],
      );
      if (!rows.some((r) => r.killed)) throw new Error('no LISTEN connection to kill');
    },
  },
);

describe('postgres key-value store specifics', () => {
  it('creates its tables once when many processes start at the same time', async () => {
    const fresh = await createTestDatabase('messaging_kv_fresh');
    try {
      const stores = await Promise.all(
        Array.from({ length: 4 }, () => createPostgresKeyValueStore({ connectionString: fresh.url })),
      );
      await stores[0]!.set('k', 'v');
      assert.equal(await stores[3]!.get('k'), 'v');
      await Promise.all(stores.map((s) => s.close()));
    } finally {
      await fresh.drop();
    }
  });

  it('sweeps expired keys and old large-message rows out of the tables in the background', async () => {
    const prefix = `sweep-${randomUUID()}:`;
    const store = await createPostgresKeyValueStore({
      connectionString: db.url,
      keyPrefix: prefix,
      sweepIntervalMs: 50,
      messageRetentionMs: 50,
    });
    try {
      await store.set('expiring', 'v', { ttlMs: 50 });
      await store.set('staying', 'v', { ttlMs: 60_000 });
      await store.publish('big', 'x'.repeat(10_000));
      const count = async (): Promise<{ keys: number; messages: number }> => {
        const [row] = await query<{ keys: number; messages: number }>(
          `SELECT (SELECT count(*)::int FROM messaging.kv WHERE key LIKE $1 || '%') AS keys,
                  (SELECT count(*)::int FROM messaging.kv_messages) AS messages`,
          [prefix],
        );
        return row!;
      };
      const deadline = Date.now() + 10_000;
      let now = await count();
      while (now.keys !== 1 || now.messages !== 0) {
        assert.ok(Date.now() < deadline, `not swept: ${JSON.stringify(now)}`);
        await sleep(50);
        now = await count();
      }
      assert.equal(await store.get('staying'), 'v');
    } finally {
      await store.close();
    }
  });

  it('lets scan use the primary-key index (a prefix is a range of the C-collated key)', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      // The test table is tiny, so forbid the sequential scan the planner would rightly prefer.
      await client.query('SET enable_seqscan = off');
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT key, value FROM messaging.kv WHERE key LIKE 'workers/catalog/%' ESCAPE '\\'`,
      );
      const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
      assert.match(plan, /Index Scan (using|on) kv_pkey/);
      assert.match(plan, /Index Cond: .*key >= 'workers\/catalog\/'/);
    } finally {
      await client.end();
    }
  });
});
