// The command handler against a real PostgreSQL event store (one database for this file).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { EventStore } from '@optic-mart/eventstore';
import { createTestDatabase, type TestDatabase } from '@optic-mart/testkit';
import { createCommandHandler, type CommandHandler, type CommandInput } from './command-handler.js';
import { eventIdFor } from './event-ids.js';
import { tagDecider, type TagState } from './test-decider.js';

let db: TestDatabase;
let store: EventStore;
let handle: CommandHandler;

before(async () => {
  db = await createTestDatabase('runtime');
  store = new EventStore({ connectionString: db.url, poolSize: 30 });
  await store.start();
  const route = { decider: tagDecider, snapshot: { type: 'tags', every: 5 } };
  handle = createCommandHandler({
    store,
    routes: { Register: route, TagPet: route, TagMany: route, Touch: route },
  });
});

after(async () => {
  await store.close();
  await db.drop();
});

const pet = () => `pet-${randomUUID()}`;

function command(
  aggregateId: string,
  type: string,
  data: unknown,
  extra: Partial<CommandInput> = {},
): CommandInput {
  return {
    commandId: randomUUID(),
    type,
    aggregateId,
    data,
    metadata: { correlationId: randomUUID(), userId: 'user-1' },
    ...extra,
  };
}

async function ok(p: Promise<unknown>): Promise<void> {
  const r = await p;
  assert.equal((r as { ok: boolean }).ok, true, JSON.stringify(r));
}

describe('command handler on PostgreSQL', () => {
  it('applies a command once per command id, however often it is delivered', async () => {
    const id = pet();
    const register = command(id, 'Register', { name: 'Rex' });
    const first = await handle(register);
    assert.deepEqual(first, {
      ok: true,
      streamId: id,
      version: 1,
      position: first.ok && first.position,
      events: 1,
      duplicate: false,
    });
    await ok(handle(command(id, 'TagPet', { tag: 'a' })));
    // Redelivered after later commands: the check comes before deciding ("already registered").
    assert.deepEqual(await handle(register), { ...first, duplicate: true });

    // Three concurrent deliveries of one command: one writes, the others get its result.
    const tagMany = command(id, 'TagMany', { tags: ['b', 'c'] });
    const results = await Promise.all([handle(tagMany), handle(tagMany), handle(tagMany)]);
    for (const r of results) assert.ok(r.ok && r.version === 4 && r.events === 2, JSON.stringify(r));
    assert.equal(results.filter((r) => r.ok && !r.duplicate).length, 1);
    const events = await store.readStream(id);
    assert.deepEqual(
      events.map((e) => e.type),
      ['Registered', 'Tagged', 'Tagged', 'Tagged'],
    );
    // Ids derived from the command id, and the metadata of DESIGN.md §6.
    const [, , b, c] = events;
    assert.equal(b?.id, eventIdFor(tagMany.commandId, 0));
    assert.equal(c?.id, eventIdFor(tagMany.commandId, 1));
    assert.deepEqual(b?.metadata, {
      commandId: tagMany.commandId,
      correlationId: tagMany.metadata.correlationId,
      causationId: tagMany.commandId,
      userId: 'user-1',
    });
  });

  it('loses no update when 20 commands hit one aggregate at once', async () => {
    const id = pet();
    await ok(handle(command(id, 'Register', { name: 'Rex' })));
    const tags = Array.from({ length: 20 }, (_, i) => `tag-${i}`);
    const results = await Promise.all(tags.map((tag) => handle(command(id, 'TagPet', { tag }))));
    for (const r of results) assert.ok(r.ok && !r.duplicate && r.events === 1, JSON.stringify(r));
    const versions = results.map((r) => (r.ok ? r.version : 0)).sort((x, y) => x - y);
    assert.deepEqual(
      versions,
      tags.map((_, i) => i + 2),
    );
    const { state, version } = await store.aggregate<TagState>(id, {
      initialState: tagDecider.initialState,
      evolve: (s, e) => tagDecider.evolve(s, e as Parameters<typeof tagDecider.evolve>[1]),
    });
    assert.equal(version, 21);
    assert.deepEqual([...state.tags].sort(), [...tags].sort());
  });

  it('refuses a stale expectedVersion with version_mismatch and writes nothing', async () => {
    const id = pet();
    await ok(handle(command(id, 'Register', { name: 'Rex' })));
    await ok(handle(command(id, 'TagPet', { tag: 'a' }, { expectedVersion: 1 })));
    const r = await handle(command(id, 'TagPet', { tag: 'b' }, { expectedVersion: 1 }));
    assert.deepEqual(r, {
      ok: false,
      error: {
        code: 'version_mismatch',
        detail: `${id} is at version 2, not the expected 1`,
        extra: { streamId: id, expectedVersion: 1, currentVersion: 2 },
      },
    });
    assert.equal(await store.streamVersion(id), 2);
  });

  it('reports a domain error as ok: false with its code and writes nothing', async () => {
    const id = pet();
    assert.deepEqual(await handle(command(id, 'TagPet', { tag: 'a' })), {
      ok: false,
      error: { code: 'not_found', detail: 'not registered' },
    });
    assert.equal(await store.streamExists(id), false);
  });

  it('answers a command that decides nothing with the current version and position', async () => {
    const id = pet();
    const registered = await handle(command(id, 'Register', { name: 'Rex' }));
    const r = await handle(command(id, 'Touch', {}));
    assert.ok(registered.ok);
    assert.deepEqual(r, {
      ok: true,
      streamId: id,
      version: 1,
      position: registered.position,
      events: 0,
      duplicate: false,
    });
  });

  it('takes a snapshot every N events and loads from it', async () => {
    const id = pet();
    await ok(handle(command(id, 'Register', { name: 'Rex' })));
    for (const tag of ['a', 'b', 'c']) await ok(handle(command(id, 'TagPet', { tag })));
    assert.equal(await store.loadSnapshot(id), null); // version 4: no multiple of 5 crossed yet
    await ok(handle(command(id, 'TagMany', { tags: ['d', 'e'] }))); // version 6
    assert.deepEqual(await store.loadSnapshot(id), {
      streamId: id,
      version: 6,
      type: 'tags',
      schemaVersion: 1,
      state: { name: 'Rex', tags: ['a', 'b', 'c', 'd', 'e'] },
    });
    // A tag that only the snapshot holds proves the next load starts from the snapshot.
    await store.pool.query(
      `UPDATE eventstore.snapshots SET state = '{"name":"Rex","tags":["planted"]}' WHERE stream_id = $1`,
      [id],
    );
    const r = await handle(command(id, 'TagPet', { tag: 'planted' }));
    assert.deepEqual(r, {
      ok: false,
      error: { code: 'conflict', detail: 'already tagged planted', extra: { tag: 'planted' } },
    });
    const fine = await handle(command(id, 'TagPet', { tag: 'a' })); // the events say "a"; the snapshot does not
    assert.equal(fine.ok && fine.version, 7);
  });
});
