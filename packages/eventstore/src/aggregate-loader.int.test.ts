// Aggregate loads asked for together are read together (one statement); each must come back as if
// read alone. Against a real PostgreSQL.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { AppError } from '@optic-mart/platform';
import { createTestDatabase, type TestDatabase } from '@optic-mart/testkit';
import { EventStore } from './event-store.js';

let db: TestDatabase;
let store: EventStore;

before(async () => {
  db = await createTestDatabase('aggregate_loader');
  store = new EventStore({ connectionString: db.url, poolSize: 4 });
  await store.start();
});

after(async () => {
  await store.close();
  await db.drop();
});

const stream = () => `counter-${randomUUID()}`;
const add = (n: number) => ({ type: 'Added', data: { n } });
const counter = {
  initialState: () => ({ total: 0, seen: 0 }),
  evolve: (s: { total: number; seen: number }, e: { data: unknown }) => ({
    total: s.total + (e.data as { n: number }).n,
    seen: s.seen + 1,
  }),
};
const snapshot = { type: 'counter', schemaVersion: 1 };

describe('aggregate loads made together', () => {
  it('each come back as if read alone: events, snapshots, deleted and missing streams', async () => {
    const plain = stream();
    await store.append(plain, [add(1), add(2), add(3)], { expectedVersion: 1 });
    const snapped = stream();
    await store.append(snapped, [add(10), add(20)], { expectedVersion: 1 });
    await store.saveSnapshot({ streamId: snapped, version: 2, ...snapshot, state: { total: 30, seen: 0 } });
    await store.append(snapped, [add(5)], { expectedVersion: 3 });
    const deleted = stream();
    await store.append(deleted, [add(1)], { expectedVersion: 1 });
    await store.deleteStream(deleted);
    const missing = stream();

    // Asked for in one tick: the first goes at once, the others share the next statement.
    const settled = await Promise.allSettled([
      store.aggregate(stream(), counter),
      store.aggregate(plain, counter),
      store.aggregate(snapped, { ...counter, snapshot }),
      store.aggregate(deleted, counter),
      store.aggregate(missing, counter),
      store.aggregate(snapped, counter), // no snapshot asked for: every event
      store.aggregate(snapped, { ...counter, snapshot: { type: 'counter', schemaVersion: 2 } }), // another shape
    ]);
    const value = (i: number) => {
      const s = settled[i]!;
      if (s.status === 'rejected') throw s.reason;
      return s.value;
    };
    assert.deepEqual(value(1), { state: { total: 6, seen: 3 }, version: 3, eventsRead: 3 });
    assert.deepEqual(value(2), { state: { total: 35, seen: 1 }, version: 3, eventsRead: 1 });
    const refused = settled[3];
    assert.ok(refused.status === 'rejected' && refused.reason instanceof AppError);
    assert.equal(refused.reason.code, 'stream_deleted');
    assert.deepEqual(value(4), { state: { total: 0, seen: 0 }, version: 0, eventsRead: 0 });
    assert.deepEqual(value(5), { state: { total: 35, seen: 3 }, version: 3, eventsRead: 3 });
    assert.deepEqual(value(6), { state: { total: 35, seen: 3 }, version: 3, eventsRead: 3 });
  });

  it('gives many concurrent loads of many streams each its own stream’s state', async () => {
    const streams = Array.from({ length: 40 }, () => stream());
    await Promise.all(streams.map((id, i) => store.append(id, [add(i), add(i)], { expectedVersion: 1 })));
    const loaded = await Promise.all(streams.map((id) => store.aggregate(id, counter)));
    assert.deepEqual(
      loaded.map((l) => l.state.total),
      streams.map((_, i) => 2 * i),
    );
  });
});
