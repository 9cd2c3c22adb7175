// Multi-stream atomic appends (EventStore.appendMany), against a real PostgreSQL.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { AppError } from '@optic-mart/platform';
import { createTestDatabase, type TestDatabase } from '@optic-mart/testkit';
import { EventStore } from './event-store.js';
import type { StreamAppend } from './types.js';

let db: TestDatabase;
let store: EventStore;

before(async () => {
  db = await createTestDatabase('append_many');
  store = new EventStore({ connectionString: db.url, poolSize: 30 });
  await store.start();
});

after(async () => {
  await store.close();
  await db.drop();
});

const ev = (type: string, data: unknown = {}) => ({ id: randomUUID(), type, data });
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

const eventsOf = async (streamId: string) =>
  (await store.streamExists(streamId)) ? store.readStream(streamId) : [];

describe('appendMany', () => {
  it('appends to several streams in one go and returns each stream’s version and position, in input order', async () => {
    const pet = stream('pet');
    await store.append(pet, [ev('PetCreated')], { expectedVersion: 1 });
    const order = stream('order');
    const stock = stream('stock');
    const results = await store.appendMany([
      { streamId: order, events: [ev('OrderPlaced', { n: 1 })], expectedVersion: 1 },
      { streamId: pet, events: [ev('PetReserved')], expectedVersion: 2 },
      { streamId: stock, events: [ev('StockRestocked'), ev('StockReserved')], expectedVersion: 'no_stream' },
    ]);
    assert.deepEqual(
      results.map((r) => [r.streamId, r.version, r.duplicate]),
      [
        [order, 1, false],
        [pet, 2, false],
        [stock, 2, false],
      ],
    );
    const positions = results.map((r) => r.position);
    assert.equal(new Set(positions).size, 3);
    for (const r of results) {
      const events = await store.readStream(r.streamId);
      assert.equal(events.at(-1)!.version, r.version);
      assert.equal(events.at(-1)!.position, r.position);
    }
    // The four events are stamped after commit, contiguous in the global log.
    const log = await store.readAll({ after: Math.max(...positions) - 4, limit: 4 });
    assert.deepEqual(
      log.events.map((e) => e.type).sort(),
      ['OrderPlaced', 'PetReserved', 'StockReserved', 'StockRestocked'].sort(),
    );
  });

  it('writes nothing when the version tag of any one stream is wrong, and names that stream', async () => {
    const pet = stream('pet');
    await store.append(pet, [ev('PetCreated'), ev('PetUpdated')], { expectedVersion: 1 });
    const order = stream('order');
    const stock = stream('stock');
    const err = await rejects(
      store.appendMany([
        { streamId: order, events: [ev('OrderPlaced')], expectedVersion: 1 },
        { streamId: stock, events: [ev('StockReserved')], expectedVersion: 1 },
        { streamId: pet, events: [ev('PetReserved')], expectedVersion: 2 },
      ]),
      'wrong_version',
    );
    assert.deepEqual(err.extra, { streamId: pet, currentVersion: 2 });
    assert.deepEqual(await eventsOf(order), []);
    assert.deepEqual(await eventsOf(stock), []);
    assert.equal((await store.readStream(pet)).length, 2);
    // 'no_stream' on a stream that exists is a wrong tag too.
    const exists = await rejects(
      store.appendMany([
        { streamId: order, events: [ev('OrderPlaced')], expectedVersion: 'no_stream' },
        { streamId: pet, events: [ev('PetReserved')], expectedVersion: 'no_stream' },
      ]),
      'wrong_version',
    );
    assert.deepEqual(exists.extra, { streamId: pet, currentVersion: 2 });
    assert.deepEqual(await eventsOf(order), []);
  });

  it('writes nothing when one stream is deleted', async () => {
    const pet = stream('pet');
    await store.append(pet, [ev('PetCreated')], { expectedVersion: 1 });
    await store.deleteStream(pet);
    const order = stream('order');
    await rejects(
      store.appendMany([
        { streamId: order, events: [ev('OrderPlaced')], expectedVersion: 1 },
        { streamId: pet, events: [ev('PetReserved')], expectedVersion: 2 },
      ]),
      'stream_deleted',
    );
    assert.deepEqual(await eventsOf(order), []);
  });

  it('refuses text PostgreSQL cannot store (U+0000) as bad input, writing nothing', async () => {
    const order = stream('order');
    const pet = stream('pet');
    await rejects(
      store.appendMany([
        { streamId: order, events: [ev('OrderPlaced')], expectedVersion: 1 },
        { streamId: pet, events: [ev('PetReserved', { note: 'nul \u0000 inside' })], expectedVersion: 1 },
      ]),
      'validation_failed',
    );
    assert.deepEqual(await eventsOf(order), []);
    assert.deepEqual(await eventsOf(pet), []);
  });

  it('returns the first results for a retry with the same event ids, and refuses a partial reuse', async () => {
    const a = stream('order');
    const b = stream('pet');
    const appends: StreamAppend[] = [
      { streamId: a, events: [ev('OrderPlaced'), ev('OrderNoted')], expectedVersion: 1 },
      { streamId: b, events: [ev('PetReserved')], expectedVersion: 'any' },
    ];
    const first = await store.appendMany(appends);
    const again = await store.appendMany(appends);
    assert.deepEqual(
      again.map(({ streamId, version, position, duplicate }) => ({ streamId, version, position, duplicate })),
      first.map((r) => ({ ...r, duplicate: true })),
    );
    assert.equal((await store.readStream(a)).length, 2);
    assert.equal((await store.readStream(b)).length, 1);
    // The same ids on one stream, new ones on another: not a retry.
    const c = stream('stock');
    await rejects(
      store.appendMany([appends[0]!, { streamId: c, events: [ev('StockReserved')], expectedVersion: 1 }]),
      'event_id_conflict',
    );
    assert.deepEqual(await eventsOf(c), []);
  });

  it('lets exactly one of 24 concurrent multi-stream appends on a shared stream win; the losers write nothing', async () => {
    const pet = stream('pet');
    await store.append(pet, [ev('PetCreated')], { expectedVersion: 1 });
    const orders = Array.from({ length: 24 }, () => stream('order'));
    const results = await Promise.allSettled(
      orders.map((order, w) =>
        store.appendMany([
          { streamId: order, events: [ev('OrderPlaced', { w })], expectedVersion: 1 },
          { streamId: pet, events: [ev('PetReserved', { w })], expectedVersion: 2 },
        ]),
      ),
    );
    const won = results.flatMap((r, w) => (r.status === 'fulfilled' ? [w] : []));
    assert.equal(won.length, 1, 'exactly one winner');
    for (const r of results) {
      if (r.status === 'rejected') {
        assert.ok(r.reason instanceof AppError, String(r.reason));
        assert.equal(r.reason.code, 'wrong_version');
        assert.equal((r.reason.extra as { streamId: string }).streamId, pet);
      }
    }
    const petEvents = await store.readStream(pet);
    assert.equal(petEvents.length, 2);
    assert.equal((petEvents[1]!.data as { w: number }).w, won[0]);
    for (const [w, order] of orders.entries()) {
      assert.equal((await eventsOf(order)).length, w === won[0] ? 1 : 0);
    }
  });

  it('does not deadlock when concurrent appends name shared streams in opposite orders', async () => {
    const x = stream('x');
    const y = stream('y');
    const rounds = await Promise.allSettled(
      Array.from({ length: 16 }, (_, w) =>
        store.appendMany(
          w % 2 === 0
            ? [
                { streamId: x, events: [ev('A', { w })], expectedVersion: 1 },
                { streamId: y, events: [ev('A', { w })], expectedVersion: 1 },
              ]
            : [
                { streamId: y, events: [ev('A', { w })], expectedVersion: 1 },
                { streamId: x, events: [ev('A', { w })], expectedVersion: 1 },
              ],
        ),
      ),
    );
    assert.equal(rounds.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of rounds) {
      if (r.status === 'rejected') assert.equal((r.reason as AppError).code, 'wrong_version');
    }
    const [ex, ey] = [await store.readStream(x), await store.readStream(y)];
    assert.deepEqual(ex[0]!.data, ey[0]!.data);
  });

  it('validates its input', async () => {
    await rejects(store.appendMany([]), 'validation_failed');
    const s = stream();
    await rejects(
      store.appendMany([
        { streamId: s, events: [ev('A')], expectedVersion: 1 },
        { streamId: s, events: [ev('B')], expectedVersion: 2 },
      ]),
      'validation_failed',
    );
    await rejects(store.appendMany([{ streamId: s, events: [], expectedVersion: 1 }]), 'validation_failed');
    const shared = ev('A');
    await rejects(
      store.appendMany([
        { streamId: s, events: [shared], expectedVersion: 1 },
        { streamId: stream(), events: [shared], expectedVersion: 1 },
      ]),
      'validation_failed',
    );
    const bad = await rejects(
      store.appendMany([
        { streamId: s, events: [ev('A')], expectedVersion: 1 },
        { streamId: stream(), events: [{ type: '', data: {} }], expectedVersion: 1 },
      ]),
      'validation_failed',
    );
    assert.equal(bad.errors?.[0]?.field, 'appends[1].events[0].type');
    assert.equal(await store.streamExists(s), false);
  });
});
