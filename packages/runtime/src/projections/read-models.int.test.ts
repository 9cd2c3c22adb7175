// ReadModels against a real PostgreSQL: the views of a live build, filters, keyset paging,
// counters, and read-your-writes woken by the notices channel.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { createPostgresKeyValueStore, type KeyValueStore } from '@optic-mart/messaging';
import { isAppError } from '@optic-mart/platform';
import { createTestDatabase, type TestDatabase } from '@optic-mart/testkit';
import type { DocumentProjection } from './projection.js';
import { NOTICES_CHANNEL } from './notices.js';
import { ReadModels } from './read-models.js';
import { buildTablesSql, migrateProjections, pointViewsSql } from './schema.js';

interface Item {
  readonly id: string;
  readonly name: string | null;
  readonly colour: string;
  readonly tags: string[];
}

const items: DocumentProjection<Item> = {
  name: 'items',
  version: 1,
  events: ['ItemChanged'],
  documentId: (e) => e.streamId,
  apply: (_doc, e) => e.data as Item,
  columns: {
    colour: { type: 'text', value: (d) => d.colour, index: 'btree' },
    tags: { type: 'text[]', value: (d) => d.tags, index: 'gin' },
    name: { type: 'text', value: (d) => d.name },
  },
  counters: { colour: (d) => d.colour },
};

let db: TestDatabase;
let pool: pg.Pool;
let kv: KeyValueStore;
let readModels: ReadModels;

// The tables of a live build (build 2) behind the views, and a building build 3 beside it, laid
// out by the projector's own DDL.
async function createReadModel(): Promise<void> {
  await migrateProjections(pool);
  await pool.query(`${buildTablesSql(items, 2)}; ${pointViewsSql(items, 2)}`);
  await pool.query(
    `INSERT INTO projection.builds (name, build, version, status, position)
     VALUES ('items', 2, 1, 'live', 100), ('items', 3, 2, 'building', 5000)`,
  );
  const docs: Item[] = Array.from({ length: 25 }, (_, i) => ({
    id: `i${String(i).padStart(2, '0')}`,
    // Every fifth has no name: sorting by name must page through nulls too.
    name: i % 5 === 0 ? null : `name ${String(24 - i).padStart(2, '0')}`,
    colour: ['red', 'green', 'blue'][i % 3]!,
    tags: i % 2 === 0 ? ['even', `t${i}`] : [`t${i}`],
  }));
  await pool.query(
    `INSERT INTO read.items__2 (id, doc, position, updated_at, colour, tags, name)
     SELECT d->>'id', d, 1, now(), d->>'colour', ARRAY(SELECT jsonb_array_elements_text(d->'tags')), d->>'name'
       FROM jsonb_array_elements($1::jsonb) d`,
    [JSON.stringify(docs)],
  );
  await pool.query(
    `INSERT INTO read.items_by_colour__2 SELECT colour, count(*) FROM read.items__2 GROUP BY colour
     UNION ALL SELECT 'purple', 0`,
  );
}

before(async () => {
  db = await createTestDatabase('read_models');
  pool = new pg.Pool({ connectionString: db.url, max: 3 });
  kv = await createPostgresKeyValueStore({ connectionString: db.url, keyPrefix: `${randomUUID()}:` });
  readModels = new ReadModels({ pool, kv, projections: [items] });
});

after(async () => {
  await readModels.close();
  await kv.close();
  await pool.end();
  await db.drop();
});

/** Every page of a find, following nextCursor. */
async function allPages(sort?: string, limit = 4, where?: Record<string, string>) {
  const ids: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await readModels.find<Item>('items', {
      limit,
      ...(sort !== undefined ? { sort } : {}),
      ...(where ? { where } : {}),
      ...(cursor !== undefined ? { cursor } : {}),
    });
    ids.push(...page.items.map((d) => d.id));
    cursor = page.nextCursor ?? undefined;
    pages++;
    assert.ok(pages < 100, 'paging ends');
  } while (cursor !== undefined);
  return ids;
}

const errorField = async (promise: Promise<unknown>): Promise<string | undefined> => {
  try {
    await promise;
  } catch (err) {
    assert.ok(isAppError(err), String(err));
    assert.equal(err.code, 'validation_failed');
    return err.errors?.[0]?.field;
  }
  assert.fail('expected a validation error');
};

describe('ReadModels', () => {
  it('answers 503 service_unavailable before the projector made the read model', async () => {
    await assert.rejects(readModels.get('items', 'i01'), (err: unknown) => {
      assert.ok(isAppError(err));
      assert.equal(err.code, 'service_unavailable');
      return true;
    });
    assert.equal(await readModels.checkpoint('items'), 0);
    await createReadModel();
  });

  it('gets a document by id from the live build, null when absent', async () => {
    const doc = await readModels.get<Item>('items', 'i03');
    assert.deepEqual(doc, { id: 'i03', name: 'name 21', colour: 'red', tags: ['t3'] });
    assert.equal(await readModels.get('items', 'nope'), null);
  });

  it('filters on scalar columns and on array contains, together', async () => {
    const red = await readModels.find<Item>('items', { where: { colour: 'red' } });
    assert.deepEqual(
      red.items.map((d) => d.id),
      ['i00', 'i03', 'i06', 'i09', 'i12', 'i15', 'i18', 'i21', 'i24'],
    );
    assert.equal(red.nextCursor, null);
    const redAndEven = await readModels.find<Item>('items', {
      where: { colour: 'red', tags: { contains: 'even' } },
    });
    assert.deepEqual(
      redAndEven.items.map((d) => d.id),
      ['i00', 'i06', 'i12', 'i18', 'i24'],
    );
    const bare = await readModels.find<Item>('items', { where: { tags: 't7' } });
    assert.deepEqual(
      bare.items.map((d) => d.id),
      ['i07'],
    );
    assert.deepEqual((await readModels.find('items', { where: { colour: 'teal' } })).items, []);
  });

  it('pages through everything once, in order, for every sort (nulls last both ways)', async () => {
    const byId = Array.from({ length: 25 }, (_, i) => `i${String(i).padStart(2, '0')}`);
    assert.deepEqual(await allPages(), byId);
    assert.deepEqual(await allPages('-id', 7), [...byId].reverse());
    const named = byId.filter((_, i) => i % 5 !== 0);
    const unnamed = byId.filter((_, i) => i % 5 === 0);
    // Names run backwards against ids.
    assert.deepEqual(await allPages('name', 3), [...[...named].reverse(), ...unnamed]);
    assert.deepEqual(await allPages('-name', 4), [...named, ...[...unnamed].reverse()]);
    assert.deepEqual(await allPages('colour', 2, { tags: 'even' }), [
      ...['i02', 'i08', 'i14', 'i20'],
      ...['i04', 'i10', 'i16', 'i22'],
      ...['i00', 'i06', 'i12', 'i18', 'i24'],
    ]);
  });

  it('refuses a bad filter, sort, limit or cursor, naming it', async () => {
    assert.equal(await errorField(readModels.find('items', { where: { size: 'L' } })), 'size');
    assert.equal(
      await errorField(readModels.find('items', { where: { colour: { contains: 'x' } } })),
      'colour',
    );
    assert.equal(await errorField(readModels.find('items', { sort: 'tags' })), 'sort');
    assert.equal(await errorField(readModels.find('items', { sort: 'doc' })), 'sort');
    assert.equal(await errorField(readModels.find('items', { limit: 0 })), 'limit');
    assert.equal(await errorField(readModels.find('items', { limit: 501 })), 'limit');
    assert.equal(await errorField(readModels.find('items', { cursor: 'garbage' })), 'cursor');
    const page = await readModels.find('items', { limit: 2, sort: 'name' });
    assert.ok(page.nextCursor);
    assert.equal(
      await errorField(readModels.find('items', { cursor: page.nextCursor, sort: 'id' })),
      'cursor',
    );
  });

  it('counts by a counter, leaving out keys at zero', async () => {
    assert.deepEqual(await readModels.counts('items', 'colour'), { red: 9, green: 8, blue: 8 });
  });

  it("reads the live build's checkpoint, not a building one's", async () => {
    assert.equal(await readModels.checkpoint('items'), 100);
    assert.equal(await readModels.waitForPosition('items', 100, 0), true);
    assert.equal(await readModels.waitForPosition('items', 101, 50), false);
  });

  it('wakes a waiter with the notice of the batch that reached its position', async () => {
    const started = Date.now();
    const waiting = readModels.waitForPosition('items', 150, 10_000);
    await new Promise((r) => setTimeout(r, 100));
    // A notice of another projection, then one short of the position: still waiting.
    await kv.publish(NOTICES_CHANNEL, JSON.stringify({ projection: 'other', from: 0, to: 999, notices: [] }));
    await kv.publish(
      NOTICES_CHANNEL,
      JSON.stringify({ projection: 'items', from: 100, to: 120, notices: [] }),
    );
    await new Promise((r) => setTimeout(r, 100));
    let settled = false;
    void waiting.then(() => (settled = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(settled, false);
    await kv.publish(
      NOTICES_CHANNEL,
      JSON.stringify({ projection: 'items', from: 120, to: 160, notices: [] }),
    );
    assert.equal(await waiting, true);
    assert.ok(Date.now() - started < 5_000, 'woken by the notice, not the timeout');
  });

  it('still answers right when the notice was lost: the checkpoint is read when it gives up', async () => {
    const waiting = readModels.waitForPosition('items', 300, 400);
    await new Promise((r) => setTimeout(r, 100)); // past its first read of the checkpoint
    await pool.query(`UPDATE projection.builds SET position = 300 WHERE name = 'items' AND status = 'live'`);
    assert.equal(await waiting, true);
  });

  it('sees a swap: the views and the checkpoint follow the new live build', async () => {
    await pool.query(`
      BEGIN;
      ${buildTablesSql(items, 3)};
      INSERT INTO read.items__3 SELECT * FROM read.items__2 WHERE colour = 'blue';
      INSERT INTO read.items_by_colour__3 VALUES ('blue', 8);
      ${pointViewsSql(items, 3)};
      UPDATE projection.builds SET status = 'retired' WHERE name = 'items' AND build = 2;
      UPDATE projection.builds SET status = 'live' WHERE name = 'items' AND build = 3;
      COMMIT;`);
    assert.deepEqual(await readModels.counts('items', 'colour'), { blue: 8 });
    assert.equal((await readModels.find('items', { limit: 500 })).items.length, 8);
    assert.equal(await readModels.checkpoint('items'), 5000);
  });
});
