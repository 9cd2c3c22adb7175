// Group commit: the single-stream appends one process makes at the same time are written together
// (eventstore.append_batch), each on its own terms. Against a real PostgreSQL.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { AppError } from '@optic-mart/platform';
import { createTestDatabase, type TestDatabase } from '@optic-mart/testkit';
import { EventStore } from './event-store.js';
import type { AppendResult, RecordedEvent } from './types.js';

let db: TestDatabase;
let store: EventStore;

before(async () => {
  db = await createTestDatabase('group_commit');
  store = new EventStore({ connectionString: db.url, poolSize: 10 });
  await store.start();
});

after(async () => {
  await store.close();
  await db.drop();
});

const ev = (type: string, data: unknown = {}) => ({ id: randomUUID(), type, data });
const stream = () => `gc-${randomUUID()}`;

/** Settles every promise; a rejection is kept as its AppError code (or the error itself). */
async function outcomes(promises: Promise<AppendResult>[]): Promise<(AppendResult | string | Error)[]> {
  const settled = await Promise.allSettled(promises);
  return settled.map((s) => {
    if (s.status === 'fulfilled') return s.value;
    return s.reason instanceof AppError ? s.reason.code : (s.reason as Error);
  });
}

async function wholeLog(): Promise<RecordedEvent[]> {
  const all: RecordedEvent[] = [];
  let after = 0;
  for (;;) {
    const page = await store.readAll({ after, limit: 1000 });
    all.push(...page.events);
    if (page.events.length === 0) return all;
    after = page.checkpoint;
  }
}

describe('group commit', () => {
  it('writes each append of a batch on its own terms: the failures change nothing of the others', async () => {
    const existing = stream();
    await store.append(existing, [ev('A'), ev('B')], { expectedVersion: 1 });
    const deleted = stream();
    await store.append(deleted, [ev('A')], { expectedVersion: 1 });
    await store.deleteStream(deleted);
    const retried = stream();
    const first = [ev('A'), ev('B')];
    const firstResult = await store.append(retried, first, { expectedVersion: 1 });
    const owner = stream();
    const taken = ev('Taken');
    await store.append(owner, [taken], { expectedVersion: 1 });

    // Made in one tick: the first goes at once, all the others share the next batch.
    const fresh = Array.from({ length: 6 }, () => stream());
    const reusing = stream();
    const results = await outcomes([
      store.append(stream(), [ev('Lead')], { expectedVersion: 1 }),
      store.append(fresh[0]!, [ev('A')], { expectedVersion: 1 }),
      store.append(existing, [ev('C')], { expectedVersion: 2 }), // wrong: the next is 3
      store.append(fresh[1]!, [ev('A'), ev('B'), ev('C')], { expectedVersion: 'no_stream' }),
      store.append(reusing, [ev('Mine'), taken], { expectedVersion: 1 }), // one id is owner's
      store.append(fresh[2]!, [ev('A')], { expectedVersion: 'any' }),
      store.append(deleted, [ev('B')], { expectedVersion: 2 }),
      store.append(retried, first, { expectedVersion: 1 }), // a retry of an append that was written
      store.append(fresh[3]!, [ev('A')], { expectedVersion: 1 }),
      store.append(existing, [ev('C')], { expectedVersion: 'no_stream' }),
      store.append(fresh[4]!, [ev('A'), ev('B')], { expectedVersion: 1 }),
      store.append(fresh[5]!, [ev('A')], { expectedVersion: 2 }), // wrong: the stream is new
    ]);

    const ok = (r: AppendResult | string | Error): AppendResult => {
      if (typeof r === 'string') assert.fail(`expected a result, got ${r}`);
      if (r instanceof Error) throw r;
      return r;
    };
    assert.equal(ok(results[1]!).version, 1);
    assert.equal(results[2], 'wrong_version');
    assert.equal(ok(results[3]!).version, 3);
    assert.equal(results[4], 'event_id_conflict');
    assert.equal(ok(results[5]!).version, 1);
    assert.equal(results[6], 'stream_deleted');
    const retry = ok(results[7]!);
    assert.deepEqual(retry, { ...firstResult, duplicate: true });
    assert.equal(ok(results[8]!).version, 1);
    assert.equal(results[9], 'wrong_version');
    assert.equal(ok(results[10]!).version, 2);
    assert.equal(results[11], 'wrong_version');

    // Nothing of a refused append was written; the written ones have their positions in the log.
    assert.equal(await store.streamExists(reusing), false);
    assert.equal(await store.streamExists(fresh[5]!), false);
    assert.deepEqual(
      (await store.readStream(existing)).map((e) => e.type),
      ['A', 'B'],
    );
    const log = await wholeLog();
    assert.deepEqual(
      log.map((e) => e.position),
      log.map((_, i) => i + 1),
      'positions run 1, 2, 3 … with no gap',
    );
    const byPosition = new Map(log.map((e) => [e.position, e]));
    for (const [i, r] of results.entries()) {
      if (typeof r !== 'object' || r instanceof Error || i === 7) continue;
      const last = byPosition.get(r.position);
      assert.equal(last?.streamId, r.streamId, `append ${i}: its position is its last event's`);
      assert.equal(last?.version, r.version);
    }
  });

  it('keeps one process’s appends to a stream in the order they were made', async () => {
    const id = stream();
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => store.append(id, [ev(`E${i}`)], { expectedVersion: 'any' })),
    );
    assert.deepEqual(
      results.map((r) => r.version),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
    assert.deepEqual(
      (await store.readStream(id)).map((e) => e.type),
      ['E0', 'E1', 'E2', 'E3', 'E4', 'E5', 'E6', 'E7'],
    );
  });

  it('writes the rest of a batch PostgreSQL refuses, failing only the append it cannot store', async () => {
    const ids = Array.from({ length: 5 }, () => stream());
    const results = await outcomes([
      store.append(stream(), [ev('Lead')], { expectedVersion: 1 }),
      store.append(ids[0]!, [ev('A')], { expectedVersion: 1 }),
      store.append(ids[1]!, [ev('A', { name: 'nul \u0000 inside' })], { expectedVersion: 1 }),
      store.append(ids[2]!, [ev('A')], { expectedVersion: 1 }),
      store.append(ids[3]!, [ev('A')], { expectedVersion: 1 }),
    ]);
    assert.equal(results[2], 'validation_failed');
    for (const i of [1, 3, 4]) assert.equal((results[i] as AppendResult).version, 1);
    assert.equal(await store.streamExists(ids[1]!), false);
  });

  it('gives every event of many concurrent appends and multi-stream appends one position, in order', async () => {
    const before = (await wholeLog()).length;
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 40; i++) {
      writes.push(store.append(stream(), [ev('One'), ev('Two')], { expectedVersion: 1 }));
      // appendMany takes its seqs outside the batches' lock: the batches must stamp around them.
      if (i % 4 === 0) {
        writes.push(
          store.appendMany([
            { streamId: stream(), events: [ev('Many')], expectedVersion: 1 },
            { streamId: stream(), events: [ev('Many')], expectedVersion: 1 },
          ]),
        );
      }
    }
    await Promise.all(writes);
    const log = await wholeLog();
    assert.equal(log.length, before + 40 * 2 + 10 * 2);
    assert.deepEqual(
      log.map((e) => e.position),
      log.map((_, i) => i + 1),
    );
    assert.equal(new Set(log.map((e) => e.id)).size, log.length);
  });

  it('gives an append alone its position also when its seqs cannot extend the newest run', async () => {
    // A transaction holds a seq below the next append's (as appendMany's do while they run).
    const held = new pg.Client({ connectionString: db.url });
    await held.connect();
    try {
      await held.query('BEGIN');
      await held.query(
        `SELECT eventstore.append($1, 1, ARRAY[$2::uuid], ARRAY['Held'], '[{}]', '[{}]', ARRAY[1])`,
        [stream(), randomUUID()],
      );
      const id = stream();
      const r = await store.append(id, [ev('Alone')], { expectedVersion: 1 });
      const [stored] = await store.readStream(id);
      assert.equal(stored!.position, r.position, 'stamped past the held seq, with its position returned');
      await held.query('COMMIT');
    } finally {
      await held.end();
    }
    await store.stampPending();
    const log = await wholeLog();
    assert.deepEqual(
      log.map((e) => e.position),
      log.map((_, i) => i + 1),
    );
    assert.ok(
      log.some((e) => e.type === 'Held'),
      'the held event got the next position once committed',
    );
  });

  it('tells the processes that follow the log where it ends, also after appends that went without a notification', async () => {
    // A long interval: after the first append's notification, the others go without one.
    const quiet = new EventStore({ connectionString: db.url, poolSize: 2, notifyIntervalMs: 300 });
    await quiet.start();
    const listener = new pg.Client({ connectionString: db.url });
    await listener.connect();
    const heard: number[] = [];
    listener.on('notification', (n) => {
      if (n.channel === 'eventstore_positions') heard.push(Number(n.payload));
    });
    await listener.query('LISTEN eventstore_positions');
    try {
      let last = 0;
      for (let i = 0; i < 10; i++)
        last = (await quiet.append(stream(), [ev('Quiet')], { expectedVersion: 1 })).position;
      const deadline = Date.now() + 5_000;
      while (!heard.includes(last) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.ok(
        heard.includes(last),
        `the end of the log (${last}) was announced; heard ${heard.join(', ')}`,
      );
      assert.ok(heard.length < 10, `appends within the interval share a notification; heard ${heard.length}`);
    } finally {
      await listener.end();
      await quiet.close();
    }
  });
});
