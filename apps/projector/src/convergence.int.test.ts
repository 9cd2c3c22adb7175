// Issue 4, "what it must show" (1): a random mix of over 10,000 pet commands through the real
// gateway, queue and worker while the projector runs live; then drain, rebuild the read model from
// the event store, and compare the live read model with the rebuild row by row (documents, columns
// and counters) — and both with the events folded again here, independently of the projector.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { EventStore } from '@optic-mart/eventstore';
import { connectMessaging, type CommandDispatcher, type Messaging } from '@optic-mart/messaging';
import { createLogger, createMetricsRegistry, type HttpServer } from '@optic-mart/platform';
import { startProjector, type Projector, type ReadModels } from '@optic-mart/runtime';
import { petStreamId, petStatuses, petsProjection, type PetView } from '@optic-mart/catalog';
import { createTestDatabase, type TestDatabase } from '@optic-mart/testkit';
import { start as startWorker } from '../../worker/src/main.js';
import { buildGatewayApp } from '../../gateway/src/app.js';
import type { Auth } from '../../gateway/src/auth/index.js';
import { loginAs, type TestLogin } from '../../gateway/src/auth/test-support.js';
import { loadGatewayConfig } from '../../gateway/src/config.js';

const COMMANDS = Number(process.env.CONVERGENCE_COMMANDS ?? 10_000);
// NATS JetStream + Redis, as in production (the PostgreSQL transport is covered by the gateway's tests).
const transport = {
  NATS_URL: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
  REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
};
const CLIENTS = 48;
/** After this share of successful writes, the client reads its write back (read-your-writes). */
const READ_BACK = 0.1;

// Seeded, so a failure can be replayed: CONVERGENCE_SEED=<n> npm test -- apps/projector
const seed = Number(process.env.CONVERGENCE_SEED ?? Date.now() % 1_000_000);
function mulberry32(a: number): () => number {
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = mulberry32(seed);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const percentile = (sorted: readonly number[], p: number) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

interface Row {
  id: string;
  doc: PetView;
  position: string;
  status: string | null;
  tags: string[] | null;
  name: string | null;
  category: string | null;
}

describe('pets read model convergence', { timeout: 600_000 }, () => {
  let db: TestDatabase;
  let messaging: Messaging;
  let app: HttpServer;
  let dispatcher: CommandDispatcher;
  let store: EventStore;
  let projectorStore: EventStore;
  let projector: Projector;
  let readModels: ReadModels;
  let worker: { stop(): Promise<void> } | undefined;
  let base: string;
  let seller: TestLogin;

  before(async () => {
    db = await createTestDatabase('convergence');
    const prefix = `c${randomUUID().slice(0, 8)}`;
    const env = { DATABASE_URL: db.url, MESSAGING_PREFIX: prefix, LOG_LEVEL: 'warn', ...transport };
    messaging = await connectMessaging({
      databaseUrl: db.url,
      prefix,
      natsUrl: transport.NATS_URL,
      redisUrl: transport.REDIS_URL,
    });
    let auth: Auth;
    ({ app, dispatcher, store, readModels, auth } = await buildGatewayApp({
      config: loadGatewayConfig({
        ...env,
        GATEWAY_POOL_SIZE: '5',
        GATEWAY_REPLY_TIMEOUT_MS: '30000',
        GATEWAY_MAX_QUEUE_DEPTH: '100000',
        // The read-backs must see their write: wait as long as it takes under this load.
        GATEWAY_READ_WAIT_MS: '20000',
      }),
      messaging,
      logger: createLogger({ name: 'gateway-test', level: 'warn' }),
      metrics: createMetricsRegistry({ service: 'convergence-gateway' }),
    }));
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    seller = await loginAs(auth, 'seller');
    worker = await startWorker({ ...env, WORKER_POOL_SIZE: '5', WORKER_CONCURRENCY: '32' }, [
      '--context',
      'catalog',
    ]);
    projectorStore = new EventStore({ connectionString: db.url, poolSize: 4, sweepIntervalMs: 0 });
    projector = await startProjector({
      store: projectorStore,
      connectionString: db.url,
      projections: [petsProjection],
      kv: messaging.kv,
      logger: createLogger({ name: 'projector-test', level: 'warn' }),
      contendEveryMs: 200,
    });
  });

  after(async () => {
    await projector?.stop();
    await worker?.stop();
    await app?.close();
    await projectorStore?.close();
    await messaging?.close();
    await db?.drop();
  });

  it(`equals its rebuild after ${COMMANDS.toLocaleString('en')} random commands (seed ${seed})`, async () => {
    const pets: string[] = [];
    const reservedBy = new Map<string, string>();
    const outcomes = new Map<string, number>();
    const readWaits: number[] = [];
    let readBacks = 0;
    const count = (key: string) => outcomes.set(key, (outcomes.get(key) ?? 0) + 1);

    const http = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(base + path, {
        method,
        headers: {
          ...seller.headers,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const details = () => ({
      name: `pet ${Math.floor(random() * 1000)}`,
      ...(random() < 0.7 ? { category: { name: pick(['dogs', 'cats', 'fish', 'birds']) } } : {}),
      tags: Array.from({ length: Math.floor(random() * 3) }, () => ({
        name: pick(['a', 'b', 'c', 'd', 'e']),
      })),
    });
    const orderCommand = async (type: string, petId: string, orderId: string) => {
      const outcome = await dispatcher.dispatch({
        context: 'catalog',
        type,
        aggregateId: petStreamId(petId),
        data: { orderId },
        metadata: { correlationId: randomUUID() },
      });
      assert.equal(outcome.kind, 'completed', `${type} answered in time`);
      if (outcome.kind !== 'completed') return { status: 0, body: {} };
      const s = outcome.status;
      return s.status === 'succeeded'
        ? { status: 200, body: s.result as Record<string, unknown> }
        : { status: 409, body: { code: s.error.code } };
    };

    /** One random command; returns the pet and the reply when it wrote something. */
    const one = async (): Promise<{ petId: string; position: number; deleted: boolean } | null> => {
      const r = random();
      if (pets.length < 20 || r < 0.2) {
        const res = await http('POST', '/api/pets', {
          ...details(),
          ...(random() < 0.1 ? { status: 'sold' } : {}),
        });
        count(`CreatePet ${res.status}`);
        assert.equal(res.status, 201, JSON.stringify(res.body));
        const id = String(res.body.id);
        pets.push(id);
        return { petId: id, position: Number(res.body.position), deleted: false };
      }
      const petId = pick(pets);
      let type: string;
      let res: { status: number; body: Record<string, unknown> };
      if (r < 0.45) {
        type = 'UpdatePet';
        const status = random() < 0.15 ? { status: pick(['available', 'sold']) } : {};
        res = await http('PUT', `/api/pets/${petId}`, { ...details(), ...status });
      } else if (r < 0.5) {
        type = 'DeletePet';
        res = await http('DELETE', `/api/pets/${petId}`);
      } else if (r < 0.7) {
        type = 'ReservePet';
        const orderId = `order-${randomUUID().slice(0, 8)}`;
        res = await orderCommand(type, petId, orderId);
        if (res.status === 200) reservedBy.set(petId, orderId);
      } else {
        type = r < 0.85 ? 'ReleasePet' : 'MarkPetSold';
        const orderId = random() < 0.85 ? (reservedBy.get(petId) ?? 'order-none') : 'order-wrong';
        res = await orderCommand(type, petId, orderId);
      }
      count(`${type} ${res.status}${res.status >= 400 ? ` ${String(res.body.code)}` : ''}`);
      assert.ok([200, 404, 409].includes(res.status), `${type}: ${res.status} ${JSON.stringify(res.body)}`);
      return res.status === 200
        ? { petId, position: Number(res.body.position), deleted: type === 'DeletePet' }
        : null;
    };

    /** Read-your-writes under load: the read names the write's position and must show it. */
    const readBack = async (write: { petId: string; position: number; deleted: boolean }) => {
      const started = performance.now();
      const res = await fetch(`${base}/api/pets/${write.petId}?after=${write.position}`);
      readWaits.push(performance.now() - started);
      readBacks++;
      if (write.deleted) assert.equal(res.status, 404, 'a deleted pet is gone for its deleter');
      else {
        // Another client may have deleted it since; anything else must be at least this write.
        assert.ok([200, 404].includes(res.status), `read-back ${res.status}`);
      }
      await res.body?.cancel();
    };

    for (let i = 0; (await dispatcher.registry.workers('catalog')).length === 0; i++) {
      assert.ok(i < 600, 'the worker started');
      await new Promise((r) => setTimeout(r, 100));
    }
    const started = performance.now();
    let issued = 0;
    let failed = false;
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        try {
          while (issued < COMMANDS && !failed) {
            issued++;
            const write = await one();
            if (write && random() < READ_BACK) await readBack(write);
          }
        } catch (err) {
          failed = true; // the other clients stop too: the first failure is the report
          throw err;
        }
      }),
    );
    const commandSeconds = (performance.now() - started) / 1000;

    // Drain: the live read model reaches the store's head.
    const head = await store.headPosition();
    const drainStarted = performance.now();
    assert.equal(await readModels.waitForPosition('pets', head, 60_000), true, 'the projector drained');
    const drainMs = performance.now() - drainStarted;

    const readModel = async () => {
      const { rows } = await store.pool.query<Row>(
        'SELECT id, doc, position::text, status, tags, name, category FROM read.pets ORDER BY id',
      );
      const { rows: counters } = await store.pool.query<{ key: string; count: string }>(
        'SELECT key, count::text FROM read.pets_by_status WHERE count <> 0 ORDER BY key',
      );
      return { rows, counters };
    };
    const live = await readModel();
    const [liveStatus] = (await projector.status()).filter((s) => s.name === 'pets');
    assert.ok(liveStatus?.live, 'pets has a live build');

    // Rebuild beside the live build from position 0, and wait for the swap.
    const rebuildStarted = performance.now();
    const build = await projector.rebuild('pets');
    for (;;) {
      const [s] = (await projector.status()).filter((p) => p.name === 'pets');
      if (s?.live?.build === build) break;
      assert.ok(performance.now() - rebuildStarted < 60_000, 'the rebuild was swapped in');
      await new Promise((r) => setTimeout(r, 50));
    }
    const rebuildMs = performance.now() - rebuildStarted;
    const rebuilt = await readModel();

    // The events folded again here, with the projection's own apply (a third, independent witness).
    const expected = new Map<string, PetView>();
    for (let after = 0; ;) {
      const page = await store.readAll({ after, limit: 5000, category: 'pet' });
      for (const e of page.events) {
        const event = { ...e, position: e.position ?? 0 };
        const id = petsProjection.documentId(event);
        if (id === null || !petsProjection.events.includes(e.type)) continue;
        const doc = petsProjection.apply(expected.get(id) ?? null, event);
        if (doc === null) expected.delete(id);
        else expected.set(id, doc);
      }
      if (page.checkpoint >= page.head || page.events.length === 0) break;
      after = page.checkpoint;
    }

    // Row by row: the same ids, documents, columns, positions of their last change, and counters.
    assert.equal(rebuilt.rows.length, live.rows.length, 'as many rows');
    for (let i = 0; i < live.rows.length; i++) {
      assert.deepStrictEqual(rebuilt.rows[i], live.rows[i], `row ${i} (pet ${live.rows[i]!.id})`);
    }
    assert.deepStrictEqual(rebuilt.counters, live.counters, 'counters');
    assert.deepStrictEqual(
      live.rows.map((r) => r.doc),
      [...expected.keys()].sort().map((id) => JSON.parse(JSON.stringify(expected.get(id))) as PetView),
      'the documents the events fold into',
    );
    const byStatus = Object.fromEntries(petStatuses.map((s) => [s, 0]));
    for (const doc of expected.values()) byStatus[doc.status]!++;
    assert.deepEqual(
      Object.fromEntries(live.counters.map((c) => [c.key, Number(c.count)])),
      Object.fromEntries(Object.entries(byStatus).filter(([, n]) => n > 0)),
    );
    // The API's inventory agrees.
    assert.deepEqual(await (await fetch(`${base}/api/inventory`)).json(), byStatus);

    // Sanity: the mix exercised every command, successes and refusals both.
    for (const type of ['CreatePet', 'UpdatePet', 'DeletePet', 'ReservePet', 'ReleasePet', 'MarkPetSold']) {
      assert.ok(
        [...outcomes.keys()].some((k) => k.startsWith(`${type} 20`)),
        `some ${type} succeeded`,
      );
    }
    assert.ok(
      [...outcomes.keys()].some((k) => / 409 /.test(k)),
      'some commands were refused',
    );
    assert.ok(issued >= COMMANDS);

    const sorted = [...readWaits].sort((a, b) => a - b);
    console.log(
      JSON.stringify({
        seed,
        commands: issued,
        commandsPerSecond: Math.round(issued / commandSeconds),
        events: head,
        pets: live.rows.length,
        counters: Object.fromEntries(live.counters.map((c) => [c.key, Number(c.count)])),
        drainMs: Math.round(drainMs),
        rebuildMs: Math.round(rebuildMs),
        readBacks,
        readBackMs: { p50: Math.round(percentile(sorted, 0.5)), p99: Math.round(percentile(sorted, 0.99)) },
        outcomes: Object.fromEntries([...outcomes].sort()),
      }),
    );
  });
});
