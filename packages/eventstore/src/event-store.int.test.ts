// The event store's conformance suite, against a real PostgreSQL (one database for this file).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { AppError } from '@optic-mart/platform';
import { createTestDatabase, sleep, type TestDatabase } from '@optic-mart/testkit';
import { EventStore } from './event-store.js';
import { subscribe } from './subscription.js';
import type { RecordedEvent } from './types.js';

let db: TestDatabase;
let store: EventStore;

before(async () => {
  db = await createTestDatabase('eventstore');
  store = new EventStore({ connectionString: db.url, poolSize: 40 });
  await store.start();
});

after(async () => {
  await store.close();
  await db.drop();
});

const ev = (type: string, data: unknown = {}) => ({ type, data });
const stream = (category = 'test') => `${category}-${randomUUID()}`;

async function rejects(p: Promise<unknown>, code: string): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof AppError, `expected AppError ${code}, got ${String(err)}`);
    assert.equal(err.code, code);
    return err;
  }
  assert.fail(`expected ${code}`);
}

describe('append and read a stream', () => {
  it('gives the first event version 1 and each later one previous + 1, with metadata and positions', async () => {
    const id = stream();
    const r1 = await store.append(
      id,
      [
        {
          type: 'PetCreated',
          data: { name: 'Rex' },
          metadata: { commandId: 'c1', correlationId: 'k1', userId: 'u1' },
        },
      ],
      { expectedVersion: 1 },
    );
    assert.equal(r1.version, 1);
    const r2 = await store.append(id, [ev('PetRenamed', { name: 'Max' }), ev('PetTagged', { tag: 'dog' })], {
      expectedVersion: 2,
    });
    assert.equal(r2.version, 3);
    assert.ok(r2.position >= r1.position + 2);
    const events = await store.readStream(id);
    assert.deepEqual(
      events.map((e) => [e.version, e.type]),
      [
        [1, 'PetCreated'],
        [2, 'PetRenamed'],
        [3, 'PetTagged'],
      ],
    );
    assert.equal(events[0]!.metadata.commandId, 'c1');
    assert.equal(events[0]!.metadata.correlationId, 'k1');
    assert.deepEqual(events[0]!.data, { name: 'Rex' });
    assert.equal(events[0]!.position, r1.position);
    assert.equal(events[2]!.position, r2.position);
    assert.ok(events[0]!.recordedAt instanceof Date);
    const { rows: stored } = await store.pool.query<{ at: Date }>(
      'SELECT recorded_at AS at FROM eventstore.events WHERE id = $1',
      [events[0]!.id],
    );
    assert.equal(
      events[0]!.recordedAt.getTime(),
      stored[0]!.at.getTime(),
      'the recorded time, to the millisecond',
    );
    assert.match(events[0]!.id, /^[0-9a-f-]{36}$/);
    const backwards = await store.readStream(id, { direction: 'backwards', limit: 2 });
    assert.deepEqual(
      backwards.map((e) => e.version),
      [3, 2],
    );
    const fromTwo = await store.readStream(id, { from: 2, limit: 1 });
    assert.deepEqual(
      fromTwo.map((e) => e.version),
      [2],
    );
  });

  it('rejects a wrong version tag whole and reports the current version', async () => {
    const id = stream();
    await rejects(store.append(id, [ev('A')], { expectedVersion: 2 }), 'wrong_version');
    await store.append(id, [ev('A'), ev('B')], { expectedVersion: 1 });
    const err = await rejects(
      store.append(id, [ev('C'), ev('D'), ev('E')], { expectedVersion: 2 }),
      'wrong_version',
    );
    assert.equal(err.extra?.currentVersion, 2);
    assert.equal((await store.readStream(id)).length, 2);
  });

  it("supports 'any' and 'no_stream'", async () => {
    const id = stream();
    await store.append(id, [ev('A')], { expectedVersion: 'no_stream' });
    await rejects(store.append(id, [ev('B')], { expectedVersion: 'no_stream' }), 'wrong_version');
    const r = await store.append(id, [ev('B')], { expectedVersion: 'any' });
    assert.equal(r.version, 2);
  });

  it('answers stream_not_found for a stream with no events', async () => {
    await rejects(store.readStream(stream()), 'stream_not_found');
  });

  it('validates its input', async () => {
    await rejects(store.append('', [ev('A')], { expectedVersion: 1 }), 'validation_failed');
    await rejects(store.append(stream(), [], { expectedVersion: 1 }), 'validation_failed');
    await rejects(store.append(stream(), [ev('A')], { expectedVersion: 0 }), 'validation_failed');
    await rejects(
      store.append(stream(), [{ type: '', data: {} }], { expectedVersion: 1 }),
      'validation_failed',
    );
    await rejects(
      store.append(stream(), [{ id: 'nope', type: 'A', data: {} }], { expectedVersion: 1 }),
      'validation_failed',
    );
  });
});

describe('concurrency', () => {
  it('lets exactly one of 32 concurrent writers win each version, and writes nothing of the losers', async () => {
    const id = stream('race');
    const rounds = 15;
    let wins = 0;
    let losses = 0;
    for (let version = 1; version <= rounds * 3; version += 3) {
      const results = await Promise.allSettled(
        Array.from({ length: 32 }, (_, w) =>
          store.append(id, [ev('A', { w }), ev('B', { w }), ev('C', { w })], { expectedVersion: version }),
        ),
      );
      const ok = results.filter((r) => r.status === 'fulfilled');
      const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      assert.equal(ok.length, 1, `version ${version}: exactly one winner`);
      for (const f of failed) {
        assert.ok(f.reason instanceof AppError);
        assert.equal(f.reason.code, 'wrong_version');
      }
      wins += ok.length;
      losses += failed.length;
    }
    assert.equal(wins, rounds);
    assert.equal(losses, rounds * 31);
    const events = await store.readStream(id);
    assert.equal(events.length, rounds * 3);
    assert.deepEqual(
      events.map((e) => e.version),
      Array.from({ length: rounds * 3 }, (_, i) => i + 1),
    );
    // Each winner's three events are together: one writer's A, B, C.
    for (let i = 0; i < events.length; i += 3) {
      const writers = new Set(events.slice(i, i + 3).map((e) => (e.data as { w: number }).w));
      assert.equal(writers.size, 1);
    }
  });
});

describe('idempotent event ids', () => {
  it('treats a repeated append as a no-op that returns the first result', async () => {
    const id = stream();
    const events = [
      { id: randomUUID(), type: 'A', data: {} },
      { id: randomUUID(), type: 'B', data: {} },
    ];
    const first = await store.append(id, events, { expectedVersion: 1 });
    const again = await store.append(id, events, { expectedVersion: 1 });
    assert.equal(again.duplicate, true);
    assert.equal(again.version, first.version);
    assert.equal(again.position, first.position);
    const anyAgain = await store.append(id, events, { expectedVersion: 'any' });
    assert.equal(anyAgain.duplicate, true);
    assert.equal((await store.readStream(id)).length, 2);
  });

  it('refuses an append that reuses only some stored ids', async () => {
    const id = stream();
    const a = { id: randomUUID(), type: 'A', data: {} };
    await store.append(id, [a], { expectedVersion: 1 });
    await rejects(store.append(id, [a, ev('B')], { expectedVersion: 1 }), 'event_id_conflict');
    assert.equal((await store.readStream(id)).length, 1);
  });

  it('finds a stored event by its id (findEvent), with its stream, version and position', async () => {
    const id = stream();
    const eventId = randomUUID();
    await store.append(id, [ev('A')], { expectedVersion: 1 });
    const r = await store.append(
      id,
      [{ id: eventId.toUpperCase(), type: 'B', data: { n: 2 }, metadata: { commandId: 'c1' } }],
      { expectedVersion: 2 },
    );
    const found = await store.findEvent(eventId);
    assert.ok(found);
    assert.equal(found.id, eventId);
    assert.equal(found.streamId, id);
    assert.equal(found.type, 'B');
    assert.deepEqual(found.data, { n: 2 });
    assert.equal(found.metadata.commandId, 'c1');
    assert.equal(found.version, 2);
    assert.equal(found.position, r.position);
    assert.equal(await store.findEvent(randomUUID()), null);
    await rejects(store.findEvent('not-a-uuid'), 'validation_failed');
  });
});

describe('the global log', () => {
  it('delivers every event of 16 concurrent writers exactly once, in order, while a transaction is held open mid-append', async () => {
    const writers = 16;
    const appendsPerWriter = 640;
    const batch = 10;
    const total = writers * appendsPerWriter * batch; // 102,400
    const start = await store.headPosition();
    const seen: RecordedEvent[] = [];
    const sub = subscribe(store, {
      after: start,
      batchSize: 5000,
      handler: async (events) => {
        seen.push(...events);
      },
    });

    // A raw transaction appends and then stays open: its seq is taken, its event not yet visible.
    const held = new pg.Client({ connectionString: db.url });
    await held.connect();
    const heldStream = stream('held');
    await held.query('BEGIN');
    await held.query(
      `SELECT * FROM eventstore.append($1, 1, ARRAY[$2::uuid], ARRAY['Held'], '[{}]', '[{}]', ARRAY[1])`,
      [heldStream, randomUUID()],
    );

    let seenWhileHeld = 0;
    const writing = Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        const id = stream('log');
        for (let i = 0; i < appendsPerWriter; i++) {
          await store.append(
            id,
            Array.from({ length: batch }, (_, j) => ev('Logged', { w, n: i * batch + j })),
            { expectedVersion: i * batch + 1 },
          );
          if (w === 0 && i === appendsPerWriter / 2) {
            seenWhileHeld = seen.length;
            await held.query('COMMIT');
          }
        }
      }),
    );
    await writing;
    await held.end();
    const deadline = Date.now() + 30_000;
    while (seen.length < total + 1 && Date.now() < deadline) await sleep(50);
    await sub.stop();

    assert.ok(
      seenWhileHeld > 1000,
      `the reader kept going while a transaction was open (${seenWhileHeld} seen)`,
    );
    assert.equal(seen.length, total + 1, 'every event once');
    const ids = new Set(seen.map((e) => e.id));
    assert.equal(ids.size, seen.length, 'no event twice');
    for (let i = 0; i < seen.length; i++)
      assert.equal(seen[i]!.position, start + i + 1, 'contiguous positions');
    assert.ok(
      seen.some((e) => e.streamId === heldStream),
      'the late commit is delivered',
    );
    const lastVersion = new Map<string, number>();
    for (const e of seen) {
      assert.equal(e.version, (lastVersion.get(e.streamId) ?? 0) + 1, 'stream order inside the global order');
      lastVersion.set(e.streamId, e.version);
    }
  });

  it('reads a category and event types, moving the checkpoint past what does not match', async () => {
    const cat = `cat${randomUUID().slice(0, 8)}`;
    const before = await store.headPosition();
    await store.append(`${cat}-1`, [ev('X'), ev('Y')], { expectedVersion: 1 });
    await store.append(stream('other'), [ev('X')], { expectedVersion: 1 });
    await store.append(`${cat}-2`, [ev('Y')], { expectedVersion: 1 });
    const byCategory = await store.readAll({ after: before, category: cat });
    assert.deepEqual(
      byCategory.events.map((e) => [e.streamId, e.type]),
      [
        [`${cat}-1`, 'X'],
        [`${cat}-1`, 'Y'],
        [`${cat}-2`, 'Y'],
      ],
    );
    assert.equal(byCategory.checkpoint, byCategory.head);
    const byType = await store.readAll({ after: before, types: ['Y'] });
    assert.equal(byType.events.length, 2);
    const page = await store.readAll({ after: before, limit: 2 });
    assert.equal(page.events.length, 2);
    assert.equal(page.checkpoint, before + 2);
  });

  it('resumes a subscription from its checkpoint without a gap or a repeat', async () => {
    const cat = `sub${randomUUID().slice(0, 8)}`;
    const before = await store.headPosition();
    for (let i = 0; i < 5; i++) await store.append(`${cat}-${i}`, [ev('S', { i })], { expectedVersion: 1 });
    const got: number[] = [];
    const first = subscribe(store, {
      after: before,
      category: cat,
      batchSize: 2,
      handler: async (events) => {
        for (const e of events) got.push((e.data as { i: number }).i);
      },
    });
    while (got.length < 5) await sleep(10);
    await first.stop();
    const checkpoint = first.checkpoint;
    for (let i = 5; i < 10; i++) await store.append(`${cat}-${i}`, [ev('S', { i })], { expectedVersion: 1 });
    const second = subscribe(store, {
      after: checkpoint,
      category: cat,
      handler: async (events) => {
        for (const e of events) got.push((e.data as { i: number }).i);
      },
    });
    // Live: an event appended after the subscription caught up arrives by notification.
    while (got.length < 10) await sleep(10);
    await store.append(`${cat}-10`, [ev('S', { i: 10 })], { expectedVersion: 1 });
    while (got.length < 11) await sleep(10);
    await second.stop();
    assert.deepEqual(got, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('stamps a committed event whose writer never did', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const id = stream('orphan');
    // Wrapped in a transaction, append leaves the stamping to others (as after a crash at commit).
    await client.query('BEGIN');
    const { rows } = await client.query<{ position: string | null }>(
      `SELECT "position" FROM eventstore.append($1, 1, ARRAY[$2::uuid], ARRAY['Orphan'], '[{}]', '[{}]', ARRAY[1])`,
      [id, randomUUID()],
    );
    await client.query('COMMIT');
    await client.end();
    assert.equal(rows[0]!.position, null);
    const deadline = Date.now() + 5000;
    let events = await store.readStream(id);
    while (events[0]!.position === null && Date.now() < deadline) {
      await sleep(50);
      events = await store.readStream(id);
    }
    assert.notEqual(events[0]!.position, null, 'the sweeper stamped it');
  });

  it('forgets the gaps of rolled-back appends, also when every append stamps in its own batch', async () => {
    const gaps = async () =>
      Number((await store.pool.query<{ n: string }>('SELECT count(*) AS n FROM eventstore.gaps')).rows[0]!.n);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    // Seqs taken and never committed: the sequencer sees holes below the next appends' seqs.
    for (let i = 0; i < 20; i++) {
      await client.query('BEGIN');
      await client.query(
        `SELECT eventstore.append($1, 1, ARRAY[$2::uuid], ARRAY['RolledBack'], '[{}]', '[{}]', ARRAY[1])`,
        [stream('rollback'), randomUUID()],
      );
      await client.query('ROLLBACK');
    }
    await client.end();
    // One appender at a time: each append is a batch of one, which stamps before it commits.
    const id = stream('after-rollback');
    let seen = 0;
    for (let v = 1; v <= 5; v++) {
      const r = await store.append(id, [ev('AfterRollback')], { expectedVersion: v });
      assert.equal(r.position, (await store.readStream(id)).at(-1)!.position);
      seen = Math.max(seen, await gaps());
    }
    assert.ok(seen > 0, 'the rolled-back seqs were gaps for a while');
    // The sweeper vouches for their horizons; a later stamp forgets them.
    const deadline = Date.now() + 10_000;
    while ((await gaps()) > 0 && Date.now() < deadline) {
      await store.append(id, [ev('AfterRollback')], { expectedVersion: 'any' });
      await sleep(200);
    }
    assert.equal(await gaps(), 0, 'and are forgotten once no transaction can fill them');
  });
});

describe('snapshots', () => {
  it('loads the snapshot plus only the later events', async () => {
    const id = stream('counter');
    for (let v = 1; v <= 10; v++) await store.append(id, [ev('Added', { n: v })], { expectedVersion: v });
    const evolve = (s: { total: number }, e: RecordedEvent) => ({
      total: s.total + (e.data as { n: number }).n,
    });
    const full = await store.aggregate(id, { initialState: () => ({ total: 0 }), evolve });
    assert.deepEqual(full, { state: { total: 55 }, version: 10, eventsRead: 10 });
    await store.saveSnapshot({
      streamId: id,
      version: 8,
      type: 'counter',
      schemaVersion: 1,
      state: { total: 36 },
    });
    // An older snapshot never replaces a newer one.
    await store.saveSnapshot({
      streamId: id,
      version: 3,
      type: 'counter',
      schemaVersion: 1,
      state: { total: 6 },
    });
    const fast = await store.aggregate(id, {
      initialState: () => ({ total: 0 }),
      evolve,
      snapshot: { type: 'counter', schemaVersion: 1 },
    });
    assert.deepEqual(fast, { state: { total: 55 }, version: 10, eventsRead: 2 });
    // A snapshot of another shape is ignored, not trusted.
    const other = await store.aggregate(id, {
      initialState: () => ({ total: 0 }),
      evolve,
      snapshot: { type: 'counter', schemaVersion: 2 },
    });
    assert.equal(other.eventsRead, 10);
  });
});

describe('upcasting', () => {
  it('returns the newest shape of old events', async () => {
    const upcasting = new EventStore({
      connectionString: db.url,
      migrate: false,
      sweepIntervalMs: 0,
      upcasters: [
        {
          type: 'PriceSet',
          fromVersion: 1,
          upcast: (d) => ({ cents: Math.round((d as { price: number }).price * 100) }),
        },
        { type: 'PriceSet', fromVersion: 2, upcast: (d) => ({ ...(d as object), currency: 'EUR' }) },
      ],
    });
    await upcasting.start();
    try {
      const id = stream('price');
      await upcasting.append(id, [{ type: 'PriceSet', data: { price: 12.5 }, schemaVersion: 1 }], {
        expectedVersion: 1,
      });
      await upcasting.append(id, [{ type: 'PriceSet', data: { cents: 99 }, schemaVersion: 2 }], {
        expectedVersion: 2,
      });
      await upcasting.append(
        id,
        [{ type: 'PriceSet', data: { cents: 5, currency: 'USD' }, schemaVersion: 3 }],
        {
          expectedVersion: 3,
        },
      );
      const events = await upcasting.readStream(id);
      assert.deepEqual(
        events.map((e) => [e.schemaVersion, e.data]),
        [
          [3, { cents: 1250, currency: 'EUR' }],
          [3, { cents: 99, currency: 'EUR' }],
          [3, { cents: 5, currency: 'USD' }],
        ],
      );
      // The stored events are unchanged.
      const raw = await store.readStream(id);
      assert.deepEqual(raw[0]!.data, { price: 12.5 });
    } finally {
      await upcasting.close();
    }
  });
});

describe('stream metadata and soft delete', () => {
  it('keeps metadata and hides a deleted stream from reads and appends, not from the log', async () => {
    const id = stream();
    const r = await store.append(id, [ev('A')], { expectedVersion: 1 });
    await store.setStreamMetadata(id, { owner: 'team-a' });
    assert.deepEqual((await store.getStreamMetadata(id))?.metadata, { owner: 'team-a' });
    await store.saveSnapshot({ streamId: id, version: 1, type: 't', schemaVersion: 1, state: {} });
    await store.deleteStream(id);
    assert.equal((await store.getStreamMetadata(id))?.deleted, true);
    await rejects(store.readStream(id), 'stream_deleted');
    await rejects(store.append(id, [ev('B')], { expectedVersion: 2 }), 'stream_deleted');
    assert.equal(await store.loadSnapshot(id), null);
    const log = await store.readAll({ after: r.position - 1, limit: 1 });
    assert.equal(log.events[0]?.streamId, id);
    await rejects(store.deleteStream(stream()), 'stream_not_found');
  });
});

describe('erasure of personal data', () => {
  it('makes the store return nothing of an erased person', async () => {
    const subjectId = `user-${randomUUID()}`;
    const id = stream('user');
    const r = await store.append(
      id,
      [
        {
          type: 'UserRegistered',
          data: { username: 'ann', email: 'ann@example.com', address: { city: 'Oslo' } },
          personalData: { subjectId, fields: ['email', 'address'] },
        },
      ],
      { expectedVersion: 1 },
    );
    const clear = await store.readStream(id);
    assert.deepEqual(clear[0]!.data, {
      username: 'ann',
      email: 'ann@example.com',
      address: { city: 'Oslo' },
    });
    const raw = await store.pool.query<{ t: string }>(
      'SELECT data::text AS t FROM eventstore.events WHERE stream_id = $1',
      [id],
    );
    assert.ok(!raw.rows[0]!.t.includes('ann@example.com'), 'stored encrypted');
    await store.saveSnapshot({
      streamId: id,
      version: 1,
      type: 'user',
      schemaVersion: 1,
      state: { email: 'ann@example.com' },
    });

    const erased = await store.eraseSubject(subjectId);
    assert.equal(erased.events, 1);
    const after = await store.readStream(id);
    assert.deepEqual(after[0]!.data, { username: 'ann', email: null, address: null });
    assert.equal(after[0]!.erased, true);
    const log = await store.readAll({ after: r.position - 1, limit: 1 });
    assert.deepEqual(log.events[0]!.data, { username: 'ann', email: null, address: null });
    assert.equal(await store.loadSnapshot(id), null);
    // Another process's cache learns of it too.
    const other = new EventStore({ connectionString: db.url, migrate: false, sweepIntervalMs: 0 });
    await other.start();
    try {
      assert.equal(((await other.readStream(id))[0]!.data as { email: unknown }).email, null);
    } finally {
      await other.close();
    }
    await rejects(
      store.append(
        id,
        [{ type: 'EmailChanged', data: { email: 'x@y.z' }, personalData: { subjectId, fields: ['email'] } }],
        {
          expectedVersion: 2,
        },
      ),
      'subject_erased',
    );
  });
});
