// The handler's logic against an in-memory store, where races can be staged exactly.
// command-handler.int.test.ts runs the same path against PostgreSQL.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type {
  AppendOptions,
  AppendResult,
  NewEvent,
  RecordedEvent,
  Snapshot,
  StreamAppend,
} from '@optic-mart/eventstore';
import { AppError } from '@optic-mart/platform';
import {
  aggregateStep,
  createCommandHandler,
  crossesMultiple,
  type CommandInput,
  type CommandRoutes,
  type CommandStore,
  type MultiStreamRoute,
} from './command-handler.js';
import { DomainError } from './decider.js';
import { eventIdFor } from './event-ids.js';
import { tagDecider, type TagState } from './test-decider.js';

class MemoryStore implements CommandStore {
  readonly streams = new Map<string, RecordedEvent[]>();
  readonly snapshots = new Map<string, Snapshot>();
  position = 0;
  loads = 0;
  /** Runs before each load / append: a place to stage a concurrent writer or a failure. */
  beforeLoad: (() => Promise<void>) | null = null;
  beforeAppend: (() => Promise<void>) | null = null;

  async aggregate<State, Event extends RecordedEvent = RecordedEvent>(
    streamId: string,
    options: {
      initialState: () => State;
      evolve: (state: State, event: Event) => State;
      snapshot?: { type: string; schemaVersion: number };
    },
  ): Promise<{ state: State; version: number; eventsRead: number }> {
    this.loads++;
    await this.beforeLoad?.();
    let state = options.initialState();
    let version = 0;
    const snap = this.snapshots.get(streamId);
    if (options.snapshot && snap?.type === options.snapshot.type) {
      state = structuredClone(snap.state) as State;
      version = snap.version;
    }
    const later = (this.streams.get(streamId) ?? []).filter((e) => e.version > version);
    for (const e of later) {
      state = options.evolve(state, e as Event);
      version = e.version;
    }
    return { state, version, eventsRead: later.length };
  }

  async append(streamId: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult> {
    await this.beforeAppend?.();
    return this.appendNow(streamId, events, options);
  }

  /** An append without the hook (for the staged other writer). */
  appendNow(streamId: string, events: readonly NewEvent[], options: AppendOptions): AppendResult {
    const stream = this.streams.get(streamId) ?? [];
    const stored = events.filter((e) => e.id !== undefined && this.#find(e.id));
    if (stored.length === events.length) {
      const last = this.#find(events.at(-1)!.id!)!;
      return { streamId, version: last.version, position: last.position!, duplicate: true };
    }
    if (stored.length > 0) throw new AppError('event_id_conflict', 'some ids are stored');
    if (options.expectedVersion !== stream.length + 1) {
      throw new AppError('wrong_version', 'wrong version', { extra: { currentVersion: stream.length } });
    }
    for (const e of events) {
      stream.push({
        id: e.id ?? crypto.randomUUID(),
        streamId,
        type: e.type,
        data: structuredClone(e.data),
        metadata: e.metadata ?? {},
        schemaVersion: e.schemaVersion ?? 1,
        version: stream.length + 1,
        position: ++this.position,
        recordedAt: new Date(),
      });
    }
    this.streams.set(streamId, stream);
    return { streamId, version: stream.length, position: this.position, duplicate: false };
  }

  /** All or nothing, as the store's appendMany: every tag is checked before anything is written. */
  async appendMany(appends: readonly StreamAppend[]): Promise<AppendResult[]> {
    await this.beforeAppend?.();
    const ids = appends.flatMap((a) => a.events.map((e) => e.id ?? ''));
    const stored = ids.filter((id) => this.#find(id));
    if (stored.length === ids.length) {
      return appends.map(({ streamId, events }) => {
        const last = this.#find(events.at(-1)!.id!)!;
        return { streamId, version: last.version, position: last.position!, duplicate: true };
      });
    }
    if (stored.length > 0) throw new AppError('event_id_conflict', 'some ids are stored');
    for (const { streamId, expectedVersion } of appends) {
      const currentVersion = this.streams.get(streamId)?.length ?? 0;
      if (expectedVersion !== currentVersion + 1) {
        throw new AppError('wrong_version', 'wrong version', { extra: { streamId, currentVersion } });
      }
    }
    return appends.map(({ streamId, events, expectedVersion }) =>
      this.appendNow(streamId, events, { expectedVersion }),
    );
  }

  async findEvent(id: string): Promise<RecordedEvent | null> {
    return this.#find(id) ?? null;
  }

  async readStream(
    streamId: string,
    options: { from?: number; limit?: number; direction?: 'forwards' | 'backwards' } = {},
  ): Promise<RecordedEvent[]> {
    const stream = this.streams.get(streamId);
    if (!stream) throw new AppError('stream_not_found', streamId);
    if (options.direction === 'backwards') return stream.slice(-(options.limit ?? stream.length)).reverse();
    return stream.filter((e) => e.version >= (options.from ?? 1)).slice(0, options.limit);
  }

  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    this.snapshots.set(snapshot.streamId, structuredClone(snapshot));
  }

  async stampPending(): Promise<number> {
    return this.position;
  }

  #find(id: string): RecordedEvent | undefined {
    for (const stream of this.streams.values()) {
      const e = stream.find((x) => x.id === id);
      if (e) return e;
    }
    return undefined;
  }
}

const route = { decider: tagDecider, snapshot: { type: 'tags', every: 3 } };
const routes: CommandRoutes = { Register: route, TagPet: route, TagMany: route, Touch: route, Fail: route };

let n = 0;
function command(type: string, data: unknown, extra: Partial<CommandInput> = {}): CommandInput {
  return {
    commandId: `cmd-${++n}`,
    type,
    aggregateId: 'pet-1',
    data,
    metadata: { correlationId: 'corr-1', userId: 'user-1' },
    ...extra,
  };
}

function setup(retry = { maxAttempts: 4, baseDelayMs: 0 }) {
  const store = new MemoryStore();
  const handle = createCommandHandler({ store, routes, retry });
  return { store, handle };
}

/** Appends as another writer would, between this handler's load and its append. */
function otherWriter(store: MemoryStore, tag: string): void {
  const version = store.streams.get('pet-1')?.length ?? 0;
  store.appendNow('pet-1', [{ id: crypto.randomUUID(), type: 'Tagged', data: { tag } }], {
    expectedVersion: version + 1,
  });
}

describe('createCommandHandler', () => {
  it('appends the decided events with ids derived from the command id and its metadata', async () => {
    const { store, handle } = setup();
    const c = command('Register', { name: 'Rex' });
    const r = await handle(c);
    assert.deepEqual(r, {
      ok: true,
      streamId: 'pet-1',
      version: 1,
      position: 1,
      events: 1,
      duplicate: false,
    });
    const [e] = store.streams.get('pet-1')!;
    assert.equal(e?.id, eventIdFor(c.commandId, 0));
    assert.deepEqual(e?.metadata, {
      commandId: c.commandId,
      correlationId: 'corr-1',
      causationId: c.commandId,
      userId: 'user-1',
    });
  });

  it('answers a repeated command with its first result and appends nothing', async () => {
    const { store, handle } = setup();
    await handle(command('Register', { name: 'Rex' }));
    const c = command('TagMany', { tags: ['a', 'b'] });
    const first = await handle(c);
    await handle(command('TagPet', { tag: 'c' }));
    const again = await handle(c);
    assert.deepEqual(again, { ...first, duplicate: true });
    assert.deepEqual(again, {
      ok: true,
      streamId: 'pet-1',
      version: 3,
      position: 3,
      events: 2,
      duplicate: true,
    });
    assert.equal(store.streams.get('pet-1')?.length, 4);
  });

  it('answers with the first result when another delivery commits between the check and the load', async () => {
    const { store, handle } = setup();
    const c = command('Register', { name: 'Rex' });
    let raced = false;
    store.beforeLoad = async () => {
      if (raced) return;
      raced = true;
      await handle(c); // the other delivery, complete before this one loads
    };
    const r = await handle(c);
    // This delivery decided against a registered pet ("already registered") and looked again.
    assert.deepEqual(r, { ok: true, streamId: 'pet-1', version: 1, position: 1, events: 1, duplicate: true });
    assert.equal(store.streams.get('pet-1')?.length, 1);
  });

  it('answers with the first result when another delivery appends between the load and the append', async () => {
    const { store, handle } = setup();
    await handle(command('Register', { name: 'Rex' }));
    const c = command('TagPet', { tag: 'a' });
    let raced = false;
    store.beforeAppend = async () => {
      if (raced) return;
      raced = true;
      store.beforeAppend = null;
      await handle(c);
    };
    const r = await handle(c);
    assert.equal(r.ok && r.duplicate, true);
    assert.deepEqual(
      store.streams.get('pet-1')?.map((e) => e.type),
      ['Registered', 'Tagged'],
    );
  });

  it('reloads and decides again when another writer took the version', async () => {
    const { store, handle } = setup();
    await handle(command('Register', { name: 'Rex' }));
    let conflicts = 2;
    store.beforeAppend = async () => {
      if (conflicts > 0) otherWriter(store, `other-${conflicts--}`);
    };
    store.loads = 0;
    const r = await handle(command('TagPet', { tag: 'mine' }));
    assert.deepEqual(r, {
      ok: true,
      streamId: 'pet-1',
      version: 4,
      position: 4,
      events: 1,
      duplicate: false,
    });
    assert.equal(store.loads, 3);
    assert.deepEqual(
      store.streams.get('pet-1')?.map((e) => e.data),
      [{ name: 'Rex' }, { tag: 'other-2' }, { tag: 'other-1' }, { tag: 'mine' }],
    );
  });

  it('throws a retryable concurrency_conflict when the conflicts outlast the attempts', async () => {
    const { store, handle } = setup({ maxAttempts: 4, baseDelayMs: 1 });
    await handle(command('Register', { name: 'Rex' }));
    let k = 0;
    store.beforeAppend = async () => otherWriter(store, `other-${k++}`);
    store.loads = 0;
    await assert.rejects(handle(command('TagPet', { tag: 'mine' })), (err) => {
      assert.ok(err instanceof AppError);
      assert.equal(err.code, 'concurrency_conflict');
      assert.equal(err.retryable, true);
      return true;
    });
    assert.equal(store.loads, 4);
    assert.equal(
      store.streams.get('pet-1')?.some((e) => (e.data as { tag?: string }).tag === 'mine'),
      false,
    );
  });

  it('refuses a stale expectedVersion with version_mismatch, also when a writer gets in after the load', async () => {
    const { store, handle } = setup();
    await handle(command('Register', { name: 'Rex' }));
    const stale = await handle(command('TagPet', { tag: 'a' }, { expectedVersion: 0 }));
    assert.deepEqual(stale, {
      ok: false,
      error: {
        code: 'version_mismatch',
        detail: 'pet-1 is at version 1, not the expected 0',
        extra: { streamId: 'pet-1', expectedVersion: 0, currentVersion: 1 },
      },
    });
    store.beforeAppend = async () => {
      store.beforeAppend = null;
      otherWriter(store, 'other');
    };
    store.loads = 0;
    const raced = await handle(command('TagPet', { tag: 'a' }, { expectedVersion: 1 }));
    assert.equal(!raced.ok && raced.error.code, 'version_mismatch');
    assert.equal(store.loads, 2);
    const fresh = await handle(command('TagPet', { tag: 'a' }, { expectedVersion: 2 }));
    assert.equal(fresh.ok, true);
  });

  it('reports a DomainError as ok: false with its code, and appends nothing', async () => {
    const { store, handle } = setup();
    const r = await handle(command('TagPet', { tag: 'a' }));
    assert.deepEqual(r, { ok: false, error: { code: 'not_found', detail: 'not registered' } });
    await handle(command('Register', { name: 'Rex' }));
    await handle(command('TagPet', { tag: 'a' }));
    const again = await handle(command('TagPet', { tag: 'a' }));
    assert.deepEqual(again, {
      ok: false,
      error: { code: 'conflict', detail: 'already tagged a', extra: { tag: 'a' } },
    });
    assert.equal(store.streams.get('pet-1')?.length, 2);
  });

  it('throws for a domain error code the error table lacks (a bug: dead-letter it)', async () => {
    const { handle } = setup();
    await assert.rejects(handle(command('Fail', { code: 'no_such_code' })), /not in the error table/);
  });

  it('throws infrastructure failures so the queue retries them', async () => {
    const { store, handle } = setup();
    store.beforeLoad = async () => {
      throw new Error('connection reset');
    };
    await assert.rejects(handle(command('Register', { name: 'Rex' })), /connection reset/);
  });

  it('reports a 4xx refusal of the store (stream_deleted) as ok: false', async () => {
    const { store, handle } = setup();
    store.beforeAppend = async () => {
      throw new AppError('stream_deleted', 'stream pet-1 was deleted');
    };
    const r = await handle(command('Register', { name: 'Rex' }));
    assert.deepEqual(r, { ok: false, error: { code: 'stream_deleted', detail: 'stream pet-1 was deleted' } });
  });

  it('answers a command that decides nothing with the current version, appending nothing', async () => {
    const { store, handle } = setup();
    const empty = await handle(command('Touch', {}));
    assert.deepEqual(empty, {
      ok: true,
      streamId: 'pet-1',
      version: 0,
      position: 0,
      events: 0,
      duplicate: false,
    });
    await handle(command('Register', { name: 'Rex' }));
    await handle(command('TagPet', { tag: 'a' }));
    const r = await handle(command('Touch', {}));
    assert.deepEqual(r, {
      ok: true,
      streamId: 'pet-1',
      version: 2,
      position: 2,
      events: 0,
      duplicate: false,
    });
    assert.equal(store.streams.get('pet-1')?.length, 2);
  });

  it('answers an unknown command type with bad_request', async () => {
    const { handle } = setup();
    const r = await handle(command('FeedPet', {}));
    assert.equal(!r.ok && r.error.code, 'bad_request');
    const proto = await handle(command('toString', {}));
    assert.equal(!proto.ok && proto.error.code, 'bad_request');
  });

  it('maps the envelope through the route (stream id, command) and reports its DomainErrors', async () => {
    const store = new MemoryStore();
    const handle = createCommandHandler({
      store,
      routes: {
        Register: {
          decider: tagDecider,
          streamId: (c) => {
            if (!c.aggregateId.startsWith('pet-')) throw new DomainError('validation_failed', 'not a pet');
            return c.aggregateId.toUpperCase();
          },
          toCommand: (c) => ({ type: 'Register', data: { name: `${String(c.data)}!` } }),
          toStreamEvents: (events) => events.map((e) => ({ ...e, schemaVersion: 2, metadata: { extra: 1 } })),
        },
      },
    });
    const r = await handle(command('Register', 'Rex'));
    assert.equal(r.ok && r.streamId, 'PET-1');
    const [e] = store.streams.get('PET-1')!;
    assert.deepEqual(e?.data, { name: 'Rex!' });
    assert.equal(e?.schemaVersion, 2);
    assert.equal(e?.metadata.extra, 1);
    assert.equal(e?.metadata.causationId, e?.metadata.commandId);
    const bad = await handle(command('Register', 'Rex', { aggregateId: 'order-1' }));
    assert.deepEqual(bad, { ok: false, error: { code: 'validation_failed', detail: 'not a pet' } });
  });

  it('snapshots after an append that crosses a multiple of `every`, and loads from it', async () => {
    const { store, handle } = setup();
    await handle(command('Register', { name: 'Rex' })); // version 1
    await handle(command('TagPet', { tag: 'a' })); // 2
    assert.equal(store.snapshots.size, 0);
    await handle(command('TagMany', { tags: ['b', 'c'] })); // 4: crosses 3
    assert.deepEqual(store.snapshots.get('pet-1'), {
      streamId: 'pet-1',
      version: 4,
      type: 'tags',
      schemaVersion: 1,
      state: { name: 'Rex', tags: ['a', 'b', 'c'] },
    });
    // A tag only the snapshot knows proves the load starts from it.
    store.snapshots.set('pet-1', {
      ...store.snapshots.get('pet-1')!,
      state: { name: 'Rex', tags: ['planted'] },
    });
    const r = await handle(command('TagPet', { tag: 'planted' }));
    assert.equal(!r.ok && r.error.code, 'conflict');
  });

  it('takes no snapshots when the route says snapshot: false', async () => {
    const store = new MemoryStore();
    const handle = createCommandHandler({
      store,
      routes: { TagMany: { decider: tagDecider, snapshot: false } },
    });
    store.appendNow('pet-1', [{ type: 'Registered', data: { name: 'Rex' } }], { expectedVersion: 1 });
    await handle(command('TagMany', { tags: Array.from({ length: 150 }, (_, i) => `t${i}`) }));
    assert.equal(store.snapshots.size, 0);
  });
});

describe('crossesMultiple', () => {
  it('is true when an append passes a multiple of every', () => {
    assert.equal(crossesMultiple(0, 99, 100), false);
    assert.equal(crossesMultiple(99, 100, 100), true);
    assert.equal(crossesMultiple(100, 101, 100), false);
    assert.equal(crossesMultiple(98, 250, 100), true);
    assert.equal(crossesMultiple(0, 5, 0), false);
  });
});

describe('multi-stream commands', () => {
  // TagBoth tags pet-1 and pet-2 in one atomic append; CopyTags (reads pet-1) tags pet-2 with
  // pet-1's tags and registers pet-1's name on it.
  const tagBoth: MultiStreamRoute = {
    kind: 'multi',
    steps: (c) => {
      const { tag } = c.data as { tag: string };
      return ['pet-1', 'pet-2'].map((streamId) =>
        aggregateStep({ streamId, decider: tagDecider, command: { type: 'TagPet', data: { tag } } }),
      );
    },
  };
  const copyTags: MultiStreamRoute = {
    kind: 'multi',
    reads: () => [{ streamId: 'pet-1', decider: tagDecider }],
    steps: (_c, loaded) => {
      const source = loaded.get('pet-1')!.state as TagState;
      if (source.name === null) throw new DomainError('not_found', 'pet-1 is not registered');
      return [
        aggregateStep({
          streamId: 'pet-2',
          decider: tagDecider,
          command: { type: 'TagMany', data: { tags: [...source.tags] } },
        }),
        aggregateStep({
          streamId: 'pet-1',
          decider: tagDecider,
          command: { type: 'TagPet', data: { tag: 'copied' } },
        }),
      ];
    },
  };
  const multiRoutes: CommandRoutes = { ...routes, TagBoth: tagBoth, CopyTags: copyTags };

  function setupMulti(retry = { maxAttempts: 4, baseDelayMs: 0 }) {
    const store = new MemoryStore();
    for (const streamId of ['pet-1', 'pet-2']) {
      store.appendNow(streamId, [{ id: crypto.randomUUID(), type: 'Registered', data: { name: streamId } }], {
        expectedVersion: 1,
      });
    }
    return { store, handle: createCommandHandler({ store, routes: multiRoutes, retry }) };
  }

  it('appends to every stream at once, with event ids derived from the command id across its streams', async () => {
    const { store, handle } = setupMulti();
    const c = command('TagBoth', { tag: 'a' });
    const r = await handle(c);
    assert.deepEqual(r, {
      ok: true,
      streamId: 'pet-1',
      version: 2,
      position: 4,
      events: 2,
      duplicate: false,
      streams: [
        { streamId: 'pet-1', version: 2, position: 3 },
        { streamId: 'pet-2', version: 2, position: 4 },
      ],
    });
    assert.equal(store.streams.get('pet-1')![1]!.id, eventIdFor(c.commandId, 0));
    assert.equal(store.streams.get('pet-2')![1]!.id, eventIdFor(c.commandId, 1));
    assert.deepEqual(store.streams.get('pet-2')![1]!.metadata, {
      commandId: c.commandId,
      correlationId: 'corr-1',
      causationId: c.commandId,
      userId: 'user-1',
    });
  });

  it('answers a repeated command with its first result and appends nothing', async () => {
    const { store, handle } = setupMulti();
    const c = command('TagBoth', { tag: 'a' });
    const first = await handle(c);
    await handle(command('TagBoth', { tag: 'b' }));
    const again = await handle(c);
    assert.deepEqual(again, { ...first, duplicate: true });
    assert.equal(store.streams.get('pet-1')!.length, 3);
  });

  it('appends nothing anywhere when one decider refuses', async () => {
    const { store, handle } = setupMulti();
    store.appendNow('pet-2', [{ id: crypto.randomUUID(), type: 'Tagged', data: { tag: 'a' } }], {
      expectedVersion: 2,
    });
    const r = await handle(command('TagBoth', { tag: 'a' }));
    assert.deepEqual(r, {
      ok: false,
      error: { code: 'conflict', detail: 'already tagged a', extra: { tag: 'a' } },
    });
    assert.equal(store.streams.get('pet-1')!.length, 1);
  });

  it('decides again from fresh loads when another writer moves any one of the streams', async () => {
    const { store, handle } = setupMulti();
    let raced = false;
    store.beforeAppend = async () => {
      if (raced) return;
      raced = true;
      store.appendNow('pet-2', [{ id: crypto.randomUUID(), type: 'Tagged', data: { tag: 'x' } }], {
        expectedVersion: 2,
      });
    };
    const r = await handle(command('TagBoth', { tag: 'a' }));
    assert.equal(r.ok, true);
    assert.deepEqual(
      store.streams.get('pet-2')!.map((e) => e.type),
      ['Registered', 'Tagged', 'Tagged'],
    );
    assert.equal(store.streams.get('pet-1')!.length, 2);
    // Once the other writer took the very tag, the retry's decision is the refusal.
    raced = false;
    store.beforeAppend = async () => {
      if (raced) return;
      raced = true;
      store.appendNow('pet-2', [{ id: crypto.randomUUID(), type: 'Tagged', data: { tag: 'b' } }], {
        expectedVersion: 4,
      });
    };
    const refused = await handle(command('TagBoth', { tag: 'b' }));
    assert.equal(!refused.ok && refused.error.code, 'conflict');
    assert.equal(store.streams.get('pet-1')!.length, 2);
  });

  it('throws the retryable concurrency_conflict when conflicts outlast the retries', async () => {
    const { store, handle } = setupMulti({ maxAttempts: 3, baseDelayMs: 0 });
    let n = 0;
    store.beforeAppend = async () => {
      store.appendNow('pet-2', [{ id: crypto.randomUUID(), type: 'Tagged', data: { tag: `x${n++}` } }], {
        expectedVersion: store.streams.get('pet-2')!.length + 1,
      });
    };
    await assert.rejects(handle(command('TagBoth', { tag: 'a' })), (err: unknown) => {
      assert.ok(err instanceof AppError);
      assert.equal(err.code, 'concurrency_conflict');
      assert.equal(err.retryable, true);
      assert.equal(err.extra?.streamId, 'pet-2');
      return true;
    });
    assert.equal(store.streams.get('pet-1')!.length, 1);
  });

  it('decides from what it read, and a step on a stream it read keeps that load', async () => {
    const { store, handle } = setupMulti();
    await handle(command('TagPet', { tag: 'a' }, { aggregateId: 'pet-1' }));
    await handle(command('TagPet', { tag: 'b' }, { aggregateId: 'pet-1' }));
    store.loads = 0;
    const r = await handle(command('CopyTags', {}));
    assert.equal(r.ok && r.streamId, 'pet-2');
    assert.equal(store.loads, 2, 'pet-1 once (read and step), pet-2 once');
    assert.deepEqual(
      store.streams.get('pet-2')!.map((e) => e.data),
      [{ name: 'pet-2' }, { tag: 'a' }, { tag: 'b' }],
    );
    assert.deepEqual(store.streams.get('pet-1')!.at(-1)!.data, { tag: 'copied' });
    const empty = new MemoryStore();
    const refused = await createCommandHandler({ store: empty, routes: multiRoutes })(
      command('CopyTags', {}),
    );
    assert.deepEqual(refused, { ok: false, error: { code: 'not_found', detail: 'pet-1 is not registered' } });
  });

  it('checks expectedVersion against the first step’s stream', async () => {
    const { handle } = setupMulti();
    const r = await handle(command('TagBoth', { tag: 'a' }, { expectedVersion: 5 }));
    assert.deepEqual(r, {
      ok: false,
      error: {
        code: 'version_mismatch',
        detail: 'pet-1 is at version 1, not the expected 5',
        extra: { streamId: 'pet-1', expectedVersion: 5, currentVersion: 1 },
      },
    });
    assert.equal((await handle(command('TagBoth', { tag: 'a' }, { expectedVersion: 1 }))).ok, true);
  });
});
