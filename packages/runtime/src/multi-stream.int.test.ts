// Multi-stream commands against a real PostgreSQL event store: one atomic append per command.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { EventStore } from '@optic-mart/eventstore';
import { createTestDatabase, type TestDatabase } from '@optic-mart/testkit';
import {
  aggregateStep,
  createCommandHandler,
  type CommandHandler,
  type CommandInput,
  type MultiStreamRoute,
} from './command-handler.js';
import { eventIdFor } from './event-ids.js';
import { tagDecider } from './test-decider.js';

let db: TestDatabase;
let store: EventStore;
let handle: CommandHandler;

// Claim: registers a new pet on its own stream and tags a shared one `claimed` (refused once it is).
const claim: MultiStreamRoute = {
  kind: 'multi',
  steps: (c) => {
    const { shared, name } = c.data as { shared: string; name: string };
    return [
      aggregateStep({
        streamId: c.aggregateId,
        decider: tagDecider,
        command: { type: 'Register', data: { name } },
      }),
      aggregateStep({
        streamId: shared,
        decider: tagDecider,
        command: { type: 'TagPet', data: { tag: 'claimed' } },
      }),
    ];
  },
};

before(async () => {
  db = await createTestDatabase('runtime_multi');
  store = new EventStore({ connectionString: db.url, poolSize: 30 });
  await store.start();
  const route = { decider: tagDecider };
  handle = createCommandHandler({
    store,
    routes: { Register: route, Claim: claim },
    retry: { maxAttempts: 20, baseDelayMs: 5, maxDelayMs: 100 },
  });
});

after(async () => {
  await store.close();
  await db.drop();
});

const command = (aggregateId: string, type: string, data: unknown): CommandInput => ({
  commandId: randomUUID(),
  type,
  aggregateId,
  data,
  metadata: { correlationId: randomUUID(), userId: '7' },
});

describe('multi-stream commands on PostgreSQL', () => {
  it('lets exactly one of 30 concurrent claims on a shared aggregate commit; the others write nothing', async () => {
    const shared = `pet-${randomUUID()}`;
    assert.equal((await handle(command(shared, 'Register', { name: 'Rex' }))).ok, true);
    const claims = Array.from({ length: 30 }, (_, i) =>
      command(`order-${randomUUID()}`, 'Claim', { shared, name: `claim ${i}` }),
    );
    const results = await Promise.all(claims.map((c) => handle(c)));
    const won = results.flatMap((r, i) => (r.ok ? [i] : []));
    assert.equal(won.length, 1, JSON.stringify(results.filter((r) => r.ok)));
    for (const r of results) if (!r.ok) assert.equal(r.error.code, 'conflict');
    const winner = results[won[0]!]!;
    assert.ok(winner.ok);
    assert.equal(winner.streamId, claims[won[0]!]!.aggregateId);
    assert.equal(winner.streams?.length, 2);
    const sharedEvents = await store.readStream(shared);
    assert.deepEqual(
      sharedEvents.map((e) => e.type),
      ['Registered', 'Tagged'],
    );
    assert.equal(sharedEvents[1]!.id, eventIdFor(claims[won[0]!]!.commandId, 1));
    assert.equal(winner.position, Math.max(...(winner.streams ?? []).map((s) => s.position)));
    for (const [i, c] of claims.entries()) {
      assert.equal(await store.streamExists(c.aggregateId), i === won[0]);
    }
  });

  it('applies a command once when two deliveries race, and answers both with the same result', async () => {
    const shared = `pet-${randomUUID()}`;
    await handle(command(shared, 'Register', { name: 'Rex' }));
    const c = command(`order-${randomUUID()}`, 'Claim', { shared, name: 'twice' });
    const [a, b] = await Promise.all([handle(c), handle(c)]);
    assert.ok(a.ok && b.ok, JSON.stringify([a, b]));
    assert.equal(a.position, b.position);
    assert.deepEqual(a.streams, b.streams);
    assert.equal([a.duplicate, b.duplicate].filter(Boolean).length, 1);
    assert.equal((await store.readStream(shared)).length, 2);
    const again = await handle(c);
    assert.deepEqual(again, { ...a, duplicate: true });
  });
});
