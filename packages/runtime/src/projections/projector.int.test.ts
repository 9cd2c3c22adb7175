// The projector against a real PostgreSQL: live batches with their checkpoint in one transaction
// (a failure mid-batch applies nothing and is retried), notices, pause and resume, and a rebuild
// swapped in while queries on the view keep answering.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { EventStore } from '@optic-mart/eventstore';
import { createPostgresKeyValueStore, type KeyValueStore } from '@optic-mart/messaging';
import { createLogger } from '@optic-mart/platform';
import { createTestDatabase, sleep, type TestDatabase, waitUntil as waitFor } from '@optic-mart/testkit';
import { NOTICES_CHANNEL, parseNoticeBatch, type NoticeBatch } from './notices.js';
import type { DocumentProjection } from './projection.js';
import { startProjector, type Projector, type ProjectorOptions } from './projector.js';

interface Tally {
  readonly stream: string;
  readonly count: number;
  readonly last: number;
  readonly parity: string;
}

/** Counts each stream's events: a repeated event makes count > last, a missed one count < last. */
function tallies(name: string, version = 1, category = 'tally'): DocumentProjection<Tally> {
  return {
    name,
    version,
    category,
    events: ['Counted'],
    documentId: (e) => e.streamId,
    apply: (doc, e) => {
      const count = (doc?.count ?? 0) + 1;
      return { stream: e.streamId, count, last: e.version, parity: count % 2 === 0 ? 'even' : 'odd' };
    },
    columns: {
      count: { type: 'bigint', value: (d) => d.count, index: 'btree' },
      parity: { type: 'text', value: (d) => d.parity },
      ...(version > 1 ? { v2: { type: 'text' as const, value: (d: Tally) => `v2-${d.stream}` } } : {}),
    },
    counters: { parity: (d) => d.parity },
    topics: (id) => [name, `${name}/${id}`],
  };
}

let db: TestDatabase;
let store: EventStore;
let sql: pg.Pool;
let kv: KeyValueStore;
const logger = createLogger({
  name: 'projector-test',
  level: process.env.TEST_LOG_LEVEL === 'info' ? 'info' : 'error',
});
const running = new Set<Projector>();

/** Waits up to 90 s by default: builds under load are slow on a 2-core CI box. */
const waitUntil = (what: string, check: () => Promise<boolean> | boolean, timeoutMs = 90_000) =>
  waitFor(what, check, timeoutMs);

async function start(projections: DocumentProjection<Tally>[], extra: Partial<ProjectorOptions> = {}) {
  const projector = await startProjector({
    store,
    connectionString: db.url,
    projections,
    kv,
    logger,
    contendEveryMs: 100,
    ...extra,
  });
  running.add(projector);
  return projector;
}

async function stop(projector: Projector) {
  running.delete(projector);
  await projector.stop();
}

async function appendCounted(category: string, streams: number, perStream: number): Promise<number> {
  let last = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(streams, 4) }, async () => {
      while (next < streams) {
        next++;
        const events = Array.from({ length: perStream }, (_, i) => ({ type: 'Counted', data: { i } }));
        const r = await store.append(`${category}-${randomUUID()}`, events, { expectedVersion: 1 });
        last = Math.max(last, r.position);
      }
    }),
  );
  return last;
}

/** Every stream of the category, with its event count, from the store itself. */
async function expected(category: string): Promise<Map<string, number>> {
  const { rows } = await sql.query<{ stream_id: string; n: string }>(
    `SELECT stream_id, count(*) AS n FROM eventstore.events WHERE stream_id LIKE $1 GROUP BY 1`,
    [`${category}-%`],
  );
  return new Map(rows.map((r) => [r.stream_id, Number(r.n)]));
}

async function assertMatches(view: string, category: string): Promise<number> {
  const want = await expected(category);
  const { rows } = await sql.query<{ id: string; doc: Tally; count: string }>(
    `SELECT id, doc, count FROM read.${view}`,
  );
  const got = new Map(rows.map((r) => [r.id, r.doc]));
  assert.equal(got.size, want.size, 'one document per stream');
  for (const [stream, n] of want) {
    const doc = got.get(stream);
    assert.ok(doc, `a document for ${stream}`);
    assert.equal(doc.count, n, `${stream}: each event applied once`);
    assert.equal(doc.last, n);
  }
  const counters = await sql.query<{ key: string; count: string }>(
    `SELECT key, count FROM read.${view}_by_parity WHERE count <> 0 ORDER BY key`,
  );
  const byParity = new Map<string, number>();
  for (const n of want.values()) {
    const k = n % 2 === 0 ? 'even' : 'odd';
    byParity.set(k, (byParity.get(k) ?? 0) + 1);
  }
  assert.deepEqual(
    Object.fromEntries(counters.rows.map((r) => [r.key, Number(r.count)])),
    Object.fromEntries([...byParity].sort()),
    'counters follow the documents',
  );
  return want.size;
}

const liveOf = async (projector: Projector, name: string) =>
  (await projector.status()).find((s) => s.name === name)!;

before(async () => {
  db = await createTestDatabase('projector');
  store = new EventStore({ connectionString: db.url, poolSize: 4, sweepIntervalMs: 0 });
  await store.start();
  sql = new pg.Pool({ connectionString: db.url, max: 3 });
  kv = await createPostgresKeyValueStore({ connectionString: db.url, keyPrefix: `${randomUUID()}:` });
});

after(async () => {
  for (const p of running) await p.stop();
  await kv?.close();
  await sql?.end();
  await store?.close();
  await db?.drop();
});

describe('projector', { timeout: 900_000 }, () => {
  it('applies events live, with counters, notices and a checkpoint past unrelated events', async () => {
    const batches: NoticeBatch[] = [];
    const unsubscribe = await kv.subscribe(NOTICES_CHANNEL, (m) => {
      const b = parseNoticeBatch(m);
      if (b?.projection === 'live_a') batches.push(b);
    });
    const projector = await start([tallies('live_a', 1, 'la')]);
    await waitUntil(
      'the first build to go live',
      async () => (await liveOf(projector, 'live_a')).live !== null,
    );
    const last = await appendCounted('la', 30, 3);
    await store.append(`other-${randomUUID()}`, [{ type: 'Unrelated', data: {} }], { expectedVersion: 1 });
    const head = await store.headPosition();
    await waitUntil('the checkpoint to pass the unrelated event', async () => {
      return ((await liveOf(projector, 'live_a')).live?.position ?? 0) >= head;
    });
    assert.ok(head > last);
    assert.equal(await assertMatches('live_a', 'la'), 30);
    const notices = await sql.query<{ n: string }>(
      `SELECT count(*) AS n FROM projection.notices WHERE projection = 'live_a'`,
    );
    assert.equal(Number(notices.rows[0]!.n), 90, 'a notice per event that changed a document');
    await waitUntil('the last batch published', () => batches.some((b) => b.to >= head));
    const status = await liveOf(projector, 'live_a');
    assert.equal(status.runHere, true);
    assert.equal(status.lagEvents, 0);
    await unsubscribe();
    await stop(projector);
  });

  it('passes events that are not its own in memory, announced at once, and writes that checkpoint only every so often', async () => {
    const batches: NoticeBatch[] = [];
    const unsubscribe = await kv.subscribe(NOTICES_CHANNEL, (m) => {
      const b = parseNoticeBatch(m);
      if (b?.projection === 'idle_a') batches.push(b);
    });
    const projector = await start([tallies('idle_a', 1, 'ia')]);
    await waitUntil(
      'the first build to go live',
      async () => (await liveOf(projector, 'idle_a')).live !== null,
    );
    const written = async () =>
      (
        await sql.query<{ position: string }>(
          `SELECT position FROM projection.builds WHERE name = 'idle_a' AND status = 'live'`,
        )
      ).rows[0]!.position;
    const seen = new Set<string>([await written()]);
    // Someone else's events, one at a time for about a second: each is announced as passed …
    for (let i = 0; i < 25; i++) {
      const r = await store.append(`else-${randomUUID()}`, [{ type: 'Unrelated', data: {} }], {
        expectedVersion: 1,
      });
      await waitUntil('the event announced as passed', () => batches.some((b) => b.to >= r.position), 5_000);
      seen.add(await written());
      await sleep(40);
    }
    // … but the checkpoint is written a few times, not once per event, and catches up when idle.
    assert.ok(seen.size <= 5, `the checkpoint was written ${seen.size - 1} times for 25 events`);
    const head = await store.headPosition();
    await waitUntil(
      'the written checkpoint to reach the head',
      async () => Number(await written()) >= head,
      5_000,
    );
    // An event of its own is written (and announced) with the checkpoint, at once.
    const own = await appendCounted('ia', 1, 1);
    await waitUntil('its own event applied', async () => Number(await written()) >= own, 5_000);
    assert.equal(await assertMatches('idle_a', 'ia'), 1);
    await unsubscribe();
    await stop(projector);
  });

  it('swaps a rebuild in while the live build has passed others’ events in memory only', async () => {
    const warnings: string[] = [];
    const projector = await start([tallies('swap_mem', 1, 'sw')], {
      logger: createLogger({
        name: 'projector-test',
        level: 'warn',
        destination: { write: (line: string) => warnings.push(line) },
      }),
    });
    await waitUntil(
      'the first build to go live',
      async () => (await liveOf(projector, 'swap_mem')).live !== null,
    );
    await appendCounted('sw', 6, 2);
    // Someone else's events: the live build passes them in memory, its written checkpoint stays.
    for (let i = 0; i < 5; i++) {
      await store.append(`else-${randomUUID()}`, [{ type: 'Unrelated', data: {} }], { expectedVersion: 1 });
    }
    const head = await store.headPosition();
    await waitUntil(
      'the live build to pass them',
      async () => ((await liveOf(projector, 'swap_mem')).live?.position ?? 0) >= head,
    );
    const first = (await liveOf(projector, 'swap_mem')).live!;
    const build = await projector.rebuild('swap_mem');
    await waitUntil(
      'the rebuild to be swapped in',
      async () => (await liveOf(projector, 'swap_mem')).live?.build === build,
      30_000,
    );
    assert.equal(build, first.build + 1);
    assert.equal(await assertMatches('swap_mem', 'sw'), 6);
    assert.deepEqual(warnings, [], 'the swap went through the first time');
    await stop(projector);
  });

  it('applies a batch and its checkpoint atomically: a failure mid-batch applies nothing and is retried', async () => {
    // The checkpoint's UPDATE fails while the flag is set: after the documents, counters and notices
    // of the batch were written in its transaction.
    await sql.query(`CREATE TABLE IF NOT EXISTS public.fail_flag (on_ boolean NOT NULL);
      INSERT INTO public.fail_flag VALUES (false);
      CREATE OR REPLACE FUNCTION public.fail_checkpoint() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.name = 'atomic' AND NEW.status = 'live' AND (SELECT on_ FROM public.fail_flag) THEN
          RAISE EXCEPTION 'injected failure after the batch''s writes';
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER fail_checkpoint BEFORE UPDATE ON projection.builds
        FOR EACH ROW EXECUTE FUNCTION public.fail_checkpoint();`);
    const projector = await start([tallies('atomic', 1, 'at')]);
    await appendCounted('at', 10, 2);
    await waitUntil('the first build to catch up', async () => {
      const s = await liveOf(projector, 'atomic');
      return s.live !== null && s.lagEvents === 0;
    });
    const before = await liveOf(projector, 'atomic');
    await sql.query('UPDATE public.fail_flag SET on_ = true');
    await appendCounted('at', 20, 2);
    await waitUntil(
      'a few failed attempts',
      async () => (await liveOf(projector, 'atomic')).lastError !== null,
    );
    await sleep(500);
    const during = await liveOf(projector, 'atomic');
    assert.match(during.lastError ?? '', /injected failure/);
    assert.equal(during.live?.position, before.live?.position, 'the checkpoint did not move');
    const docs = await sql.query<{ n: string }>('SELECT count(*) AS n FROM read.atomic');
    assert.equal(Number(docs.rows[0]!.n), 10, 'no document of the failing batch is visible');
    const notices = await sql.query<{ n: string }>(
      `SELECT count(*) AS n FROM projection.notices WHERE projection = 'atomic' AND position > $1`,
      [before.live?.position],
    );
    assert.equal(Number(notices.rows[0]!.n), 0, 'no notice of the failing batch');
    await sql.query('UPDATE public.fail_flag SET on_ = false');
    const head = await store.headPosition();
    await waitUntil('the retried batch to commit', async () => {
      return ((await liveOf(projector, 'atomic')).live?.position ?? 0) >= head;
    });
    assert.equal(await assertMatches('atomic', 'at'), 30);
    assert.equal((await liveOf(projector, 'atomic')).lastError, null);
    await sql.query('DROP TRIGGER fail_checkpoint ON projection.builds');
    await stop(projector);
  });

  it('rebuilds more projections at once than its pool has connections, without starving itself', async () => {
    await appendCounted('starve', 40, 50);
    // Two connections, four projections to build: each build step holds a connection while it
    // reads the log through the same pool.
    const small = new EventStore({ connectionString: db.url, poolSize: 2, sweepIntervalMs: 0 });
    await small.start();
    const names = ['starve_a', 'starve_b', 'starve_c', 'starve_d'];
    const projector = await start(
      names.map((n) => tallies(n, 1, 'starve')),
      { store: small, rebuildBatchSize: 200 },
    );
    try {
      const head = await store.headPosition();
      await waitUntil(
        'every build to catch up and go live',
        async () => (await projector.status()).every((p) => (p.live?.position ?? 0) >= head),
        60_000,
      );
      for (const n of names) await assertMatches(n, 'starve');
    } finally {
      await stop(projector);
      await small.close();
    }
  });

  it('pauses (no batch commits after pause returns) and resumes', async () => {
    const projector = await start([tallies('pausing', 1, 'pa')]);
    await appendCounted('pa', 5, 1);
    await waitUntil('caught up', async () => {
      const s = await liveOf(projector, 'pausing');
      return s.live !== null && s.lagEvents === 0;
    });
    const paused = await projector.pause('pausing');
    assert.equal(paused.paused, true);
    const at = paused.live!.position;
    await appendCounted('pa', 20, 1);
    await sleep(1_000);
    const still = await liveOf(projector, 'pausing');
    assert.equal(still.live?.position, at, 'nothing applied while paused');
    assert.ok(still.lagEvents >= 20, `lag shows (${still.lagEvents} events)`);
    const docs = await sql.query<{ n: string }>('SELECT count(*) AS n FROM read.pausing');
    assert.equal(Number(docs.rows[0]!.n), 5);
    await projector.resume('pausing');
    const head = await store.headPosition();
    await waitUntil('caught up after resume', async () => {
      return ((await liveOf(projector, 'pausing')).live?.position ?? 0) >= head;
    });
    assert.equal(await assertMatches('pausing', 'pa'), 25);
    await stop(projector);
  });

  it('rebuilds beside the live build and swaps it in while queries keep answering', async () => {
    await appendCounted('rb', 2_000, 10);
    let projector = await start([tallies('rebuilt', 1, 'rb')], { rebuildBatchSize: 5_000 });
    await waitUntil(
      'the first build to go live',
      async () => (await liveOf(projector, 'rebuilt')).live !== null,
    );
    const first = (await liveOf(projector, 'rebuilt')).live!;

    // Readers on the view the whole time, and writers appending meanwhile.
    let reading = true;
    let queries = 0;
    const problems: string[] = [];
    const readers = Array.from({ length: 3 }, async () => {
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        while (reading) {
          try {
            const r = await client.query<{ n: string; c: string }>(
              `SELECT count(*) AS n, (SELECT sum(count) FROM read.rebuilt_by_parity) AS c FROM read.rebuilt`,
            );
            queries++;
            if (Number(r.rows[0]!.n) < 2_000) problems.push(`a partial answer: ${r.rows[0]!.n} documents`);
          } catch (err) {
            problems.push(String(err));
          }
        }
      } finally {
        await client.end();
      }
    });
    let writing = true;
    const writer = (async () => {
      while (writing) {
        await appendCounted('rb', 1, 2);
        await sleep(5);
      }
    })();

    try {
      const build = await projector.rebuild('rebuilt');
      assert.equal(build, first.build + 1);
      await waitUntil(
        'the rebuild to be swapped in',
        async () => (await liveOf(projector, 'rebuilt')).live?.build === build,
        // Generous: readers and writers load the machine the whole time (a slow CI box).
        240_000,
      );
      // A version change on start rebuilds too (with a column added).
      await stop(projector);
      projector = await start([tallies('rebuilt', 2, 'rb')], { rebuildBatchSize: 5_000 });
      await waitUntil(
        'the new version to be swapped in',
        async () => (await liveOf(projector, 'rebuilt')).live?.version === 2,
        // Generous: readers and writers load the machine the whole time (a slow CI box).
        240_000,
      );
    } finally {
      writing = false;
      await writer;
      await sleep(200);
      reading = false;
      await Promise.all(readers);
    }
    assert.deepEqual(problems.slice(0, 5), [], 'queries never failed nor saw a partial read model');
    assert.ok(queries > 20, `queries ran throughout (${queries})`);
    const head = await store.headPosition();
    await waitUntil(
      'caught up',
      async () => ((await liveOf(projector, 'rebuilt')).live?.position ?? 0) >= head,
    );
    const n = await assertMatches('rebuilt', 'rb');
    const v2 = await sql.query<{ n: string }>(
      `SELECT count(*) AS n FROM read.rebuilt WHERE v2 = 'v2-' || id`,
    );
    assert.equal(Number(v2.rows[0]!.n), n, 'the new column is filled');
    const tables = await sql.query<{ tablename: string }>(
      `SELECT tablename FROM pg_tables WHERE schemaname = 'read' AND tablename LIKE 'rebuilt%' ORDER BY 1`,
    );
    const live = (await liveOf(projector, 'rebuilt')).live!;
    assert.deepEqual(
      tables.rows.map((r) => r.tablename),
      [`rebuilt__${live.build}`, `rebuilt_by_parity__${live.build}`],
      'retired builds were dropped',
    );
    console.log(`rebuild: ${n} streams, ${queries} queries during two rebuilds, none failed or partial`);
    await stop(projector);
  });
});
