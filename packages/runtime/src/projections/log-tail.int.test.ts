import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { EventStore, type LogFilter, type ReadAllResult } from '@optic-mart/eventstore';
import { createTestDatabase, waitUntil, type TestDatabase } from '@optic-mart/testkit';
import { LogTail } from './log-tail.js';

describe('LogTail', () => {
  let db: TestDatabase;
  let store: EventStore;

  before(async () => {
    db = await createTestDatabase('log_tail');
    store = new EventStore({ connectionString: db.url, poolSize: 4, sweepIntervalMs: 0 });
    await store.start();
  });

  after(async () => {
    await store.close();
    await db.drop();
  });

  const append = (category: string, type: string, n: number) =>
    Promise.all(
      Array.from({ length: n }, (_, i) =>
        store.append(`${category}-${randomUUID()}`, [{ type, data: { i } }], { expectedVersion: 1 }),
      ),
    );

  const ids = (r: ReadAllResult | null) => r?.events.map((e) => `${e.position}:${e.streamId}`);

  /** Reads through the tail until caught up, as a live projection does, page by page. */
  async function drain(tail: LogTail, from: number, filter: LogFilter, limit: number) {
    const seen: string[] = [];
    let checkpoint = from;
    for (;;) {
      const page = await tail.read(checkpoint, limit, filter);
      assert.ok(page, `the tail serves a reader at ${checkpoint}`);
      seen.push(...ids(page)!);
      assert.ok(page.checkpoint >= checkpoint);
      if (page.checkpoint === checkpoint && page.checkpoint >= page.head) return { seen, checkpoint };
      checkpoint = page.checkpoint;
    }
  }

  it('gives each filter what the store gives it, in pages, from one shared read', async () => {
    const start = await store.headPosition();
    const tail = new LogTail(store);
    assert.deepEqual(ids(await tail.read(start, 10, {})), []);
    await append('pet', 'PetCreated', 40);
    await append('order', 'OrderPlaced', 25);
    await append('pet', 'PetSold', 15);
    const filters: LogFilter[] = [
      {},
      { category: 'pet' },
      { types: ['OrderPlaced', 'PetSold'] },
      { category: 'pet', types: ['PetSold'] },
      { category: 'nothing' },
    ];
    for (const filter of filters) {
      const expected: string[] = [];
      let checkpoint = start;
      for (;;) {
        const page = await store.readAll({ after: checkpoint, limit: 1000, ...filter });
        expected.push(...ids(page)!);
        if (page.checkpoint >= page.head) break;
        checkpoint = page.checkpoint;
      }
      const { seen, checkpoint: end } = await drain(tail, start, filter, 7);
      assert.deepEqual(seen, expected, JSON.stringify(filter));
      assert.equal(end, await store.headPosition(), 'the checkpoint passes what did not match');
    }
  });

  it('follows new appends, and leaves a reader older than it holds to the store', async () => {
    const tail = new LogTail(store, { capacity: 10_000 });
    const start = await store.headPosition();
    await drain(tail, start, {}, 100);
    await append('pet', 'PetCreated', 5);
    await waitUntil('the append announced', () => store.notifier.lastPosition >= start + 5);
    const page = await tail.read(start, 100, { category: 'pet' });
    assert.equal(page?.events.length, 5);
    assert.equal(page?.checkpoint, start + 5);
    assert.equal(await tail.read(start - 1, 100, {}), null, 'before what it holds');
  });

  it('forgets what it holds when a subject is erased', async () => {
    const listeners = store.notifier.listenerCount('erased');
    const tail = new LogTail(store);
    const start = await store.headPosition();
    const subjectId = `user-${randomUUID()}`;
    await store.append(
      `user-${randomUUID()}`,
      [
        {
          type: 'UserRegistered',
          data: { email: 'ann@example.com' },
          personalData: { subjectId, fields: ['email'] },
        },
      ],
      { expectedVersion: 1 },
    );
    const before = await tail.read(start, 10, { category: 'user' });
    assert.deepEqual(before?.events[0]?.data, { email: 'ann@example.com' });
    await store.eraseSubject(subjectId);
    await waitUntil('the tail forgets the erased email', async () => {
      const again = await tail.read(start, 10, { category: 'user' });
      return again !== null && (again.events[0]?.data as { email: unknown }).email === null;
    });
    tail.close();
    assert.equal(store.notifier.listenerCount('erased'), listeners, 'a closed tail stops following erasures');
  });
});
