import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { createPostgresKeyValueStore, type KeyValueStore } from '@optic-mart/messaging';
import { createTestDatabase, sleep, type TestDatabase } from '@optic-mart/testkit';
import {
  MAX_INLINE_NOTICES,
  NoticeFeed,
  ensureNoticesSchema,
  noticeHeads,
  publishNotices,
  pruneNotices,
  prunedThrough,
  readNotices,
  recordNotices,
  type Notice,
  type NoticeDelivery,
} from './notices.js';

describe('notices', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let kv: KeyValueStore;

  before(async () => {
    db = await createTestDatabase('notices');
    pool = new pg.Pool({ connectionString: db.url, max: 3 });
    await Promise.all([ensureNoticesSchema(pool), ensureNoticesSchema(pool)]); // racing first starts
    kv = await createPostgresKeyValueStore({ connectionString: db.url, keyPrefix: 'n:', poolSize: 1 });
  });

  after(async () => {
    await kv.close();
    await pool.end();
    await db.drop();
  });

  const record = async (projection: string, notices: readonly Notice[], commit = true) => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await recordNotices(client, projection, notices);
      await client.query(commit ? 'COMMIT' : 'ROLLBACK');
    } finally {
      client.release();
    }
  };

  it('records in the caller transaction: merged per position, empty skipped, a repeat left alone', async () => {
    await record('a', [{ position: 5, topics: ['x'] }], false);
    assert.deepEqual(await readNotices(pool, { projection: 'a', after: 0, limit: 10 }), []);
    await record('a', [
      { position: 5, topics: ['x', 'y'] },
      { position: 5, topics: ['y', 'z'] },
      { position: 6, topics: [] },
      { position: 8, topics: ['z'] },
    ]);
    await record('a', [{ position: 8, topics: ['other'] }]);
    assert.deepEqual(await readNotices(pool, { projection: 'a', after: 0, limit: 10 }), [
      { projection: 'a', position: 5, topics: ['x', 'y', 'z'] },
      { projection: 'a', position: 8, topics: ['z'] },
    ]);
    const positions = async (options: { after: number; upTo?: number; topics?: string[]; limit: number }) =>
      (await readNotices(pool, { projection: 'a', ...options })).map((n) => n.position);
    assert.deepEqual(await positions({ after: 5, limit: 10 }), [8]);
    assert.deepEqual(await positions({ after: 0, upTo: 7, limit: 10 }), [5]);
    assert.deepEqual(await positions({ after: 0, topics: ['x'], limit: 10 }), [5]);
    assert.deepEqual(await positions({ after: 0, limit: 1 }), [5]);
    assert.deepEqual(await noticeHeads(pool), new Map([['a', 8]]));
  });

  it('prunes what is older than the retention, and only that', async () => {
    await record('old', [
      { position: 1, topics: ['t'] },
      { position: 2, topics: ['t'] },
      { position: 3, topics: ['t'] },
    ]);
    await pool.query(
      `UPDATE projection.notices SET recorded_at = now() - interval '2 days' WHERE projection = 'old' AND position < 3`,
    );
    assert.equal(await pruneNotices(pool, { olderThanMs: 24 * 3600_000, chunk: 1 }), 2);
    assert.equal((await prunedThrough(pool)).get('old'), 2);
    assert.deepEqual(
      (await readNotices(pool, { projection: 'old', after: 0, limit: 10 })).map((n) => n.position),
      [3],
    );
  });

  it('a feed hands out every notice once and in order: live, gaps read from the table, late batches ignored', async () => {
    const feed = new NoticeFeed({ pool, kv, catchUpIntervalMs: 300 });
    await feed.start();
    assert.equal(feed.heads().get('a'), 8);
    const got: NoticeDelivery[] = [];
    feed.listen((d) => got.push(d));
    const positions = () =>
      got.filter((d) => d.projection === 'f').flatMap((d) => d.notices.map((n) => n.position));
    const until = async (condition: () => boolean) => {
      const deadline = Date.now() + 5000;
      while (!condition()) {
        assert.ok(Date.now() < deadline, `timed out with ${JSON.stringify(positions())}`);
        await sleep(10);
      }
    };

    const batch = async (from: number, to: number, notices: Notice[], publish = true) => {
      await record('f', notices);
      if (publish) await publishNotices(kv, { projection: 'f', from, to, notices });
    };
    await batch(0, 11, [{ position: 10, topics: ['t'] }]);
    await until(() => positions().length === 1);
    await batch(11, 21, [{ position: 20, topics: ['t'] }], false); // publish lost
    await batch(21, 31, [{ position: 30, topics: ['t'] }]); // shows the gap
    await until(() => positions().length === 3);
    assert.deepEqual(positions(), [10, 20, 30]);
    // A repeated (or late) publish changes nothing.
    await publishNotices(kv, {
      projection: 'f',
      from: 11,
      to: 21,
      notices: [{ position: 20, topics: ['t'] }],
    });
    // Too many to inline: published without them, read from the table.
    const many = Array.from({ length: MAX_INLINE_NOTICES + 1 }, (_, i) => ({
      position: 100 + i,
      topics: ['t'],
    }));
    await batch(31, 1000, many);
    await until(() => positions().length === 3 + many.length);
    // The last publish lost with nothing after it: the periodic catch-up finds it.
    await batch(1000, 1101, [{ position: 1100, topics: ['t'] }], false);
    await until(() => positions().at(-1) === 1100);
    await sleep(400);
    const all = positions();
    assert.equal(new Set(all).size, all.length, 'no notice twice');
    assert.deepEqual(
      all,
      [...all].sort((x, y) => x - y),
    );
    assert.equal(all.length, 3 + many.length + 1);
    await feed.stop();
  });
});
