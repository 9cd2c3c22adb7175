// The event store's REST API over real HTTP, against a real PostgreSQL.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createLogger, createMetricsRegistry, type HttpServer } from '@optic-mart/platform';
import type { EventStore } from '@optic-mart/eventstore';
import { createTestDatabase, type TestDatabase } from '@optic-mart/testkit';
import { buildEventStoreApp } from './app.js';
import { loadEventStoreConfig } from './config.js';

let db: TestDatabase;
let app: HttpServer;
let store: EventStore;
let base: string;

before(async () => {
  db = await createTestDatabase('eventstore_api');
  const config = loadEventStoreConfig({ DATABASE_URL: db.url, LOG_LEVEL: 'warn' });
  ({ app, store } = await buildEventStoreApp({
    config,
    logger: createLogger({ name: 'eventstore-test', level: 'warn' }),
    metrics: createMetricsRegistry({ service: 'eventstore-test' }),
  }));
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});

after(async () => {
  await app.close();
  await store.close();
  await db.drop();
});

const post = (path: string, body: unknown, raw = false) =>
  fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: raw ? (body as string) : JSON.stringify(body),
  });

async function problem(res: Response, status: number, code: string) {
  assert.equal(res.status, status);
  assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
  const body = (await res.json()) as Record<string, unknown>;
  assert.equal(body.code, code);
  assert.equal(body.status, status);
  assert.equal(typeof body.title, 'string');
  assert.equal(typeof body.detail, 'string');
  return body;
}

describe('POST /streams/{streamId}', () => {
  it('answers 201 for a new stream with version 1, and 400 wrong_version when the same request comes again', async () => {
    const id = `pet-${randomUUID()}`;
    const req = { version: 1, events: [{ type: 'PetCreated', data: { name: 'Rex' } }] };
    const res = await post(`/streams/${id}`, req);
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('location'), `/streams/${id}`);
    const body = (await res.json()) as { streamId: string; version: number; position: number };
    assert.equal(body.streamId, id);
    assert.equal(body.version, 1);
    assert.ok(Number.isInteger(body.position) && body.position > 0);

    const again = await post(`/streams/${id}`, req);
    const p = await problem(again, 400, 'wrong_version');
    assert.equal(p.currentVersion, 1);
  });

  it('returns the first result when an append with the same event ids is retried', async () => {
    const id = `pet-${randomUUID()}`;
    const req = { version: 1, events: [{ id: randomUUID(), type: 'PetCreated', data: {} }] };
    const first: unknown = await (await post(`/streams/${id}`, req)).json();
    const res = await post(`/streams/${id}`, req);
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(await res.json(), first);
  });

  it('names the bad field of a malformed body and writes nothing', async () => {
    const id = `pet-${randomUUID()}`;
    const cases: [unknown, string][] = [
      [{ events: [{ type: 'A', data: {} }] }, 'version'],
      [{ version: 0, events: [{ type: 'A', data: {} }] }, 'version'],
      [{ version: 1, events: [] }, 'events'],
      [{ version: 1, events: [{ data: {} }] }, 'type'],
      [{ version: 1, events: [{ type: 'A' }] }, 'data'],
      [{ version: 1, events: [{ id: 'not-a-uuid', type: 'A', data: {} }] }, 'id'],
      [{ version: 1, events: [{ type: 'A', data: {} }], extra: true }, 'extra'],
      [{ version: 'latest', events: [{ type: 'A', data: {} }] }, 'version'],
    ];
    for (const [body, field] of cases) {
      const p = await problem(await post(`/streams/${id}`, body), 400, 'validation_failed');
      const named = JSON.stringify(p.errors ?? []) + String(p.detail);
      assert.ok(named.includes(field), `${JSON.stringify(body)} should name ${field}: ${named}`);
    }
    await problem(await post(`/streams/${id}`, '{"version": 1, "events": [', true), 400, 'bad_request');
    await problem(await fetch(`${base}/streams/${id}`), 404, 'stream_not_found');
  });
});

describe('reading', () => {
  it('reads a stream in order, pages it, and 404s a missing one', async () => {
    const id = `order-${randomUUID()}`;
    await post(`/streams/${id}`, {
      version: 1,
      events: [
        { type: 'OrderPlaced', data: { n: 1 }, metadata: { correlationId: 'c-1' } },
        { type: 'OrderPaid', data: { n: 2 } },
        { type: 'OrderShipped', data: { n: 3 } },
      ],
    });
    const res = await fetch(`${base}/streams/${id}?from=2&limit=1`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as {
      version: number;
      events: { version: number; type: string; position: number }[];
    };
    assert.equal(body.version, 3);
    assert.deepEqual(
      body.events.map((e) => [e.version, e.type]),
      [[2, 'OrderPaid']],
    );
    const all = (await (await fetch(`${base}/streams/${id}`)).json()) as { events: { metadata: unknown }[] };
    assert.deepEqual(all.events[0]!.metadata, { correlationId: 'c-1' });
    await problem(await fetch(`${base}/streams/${id}?limit=0`), 400, 'validation_failed');
  });

  it('reads the global log after a checkpoint', async () => {
    const head = (await (await fetch(`${base}/events?after=0&limit=1`)).json()) as { head: number };
    const id = `log-${randomUUID()}`;
    await post(`/streams/${id}`, {
      version: 1,
      events: [
        { type: 'A', data: {} },
        { type: 'B', data: {} },
      ],
    });
    const page = (await (await fetch(`${base}/events?after=${head.head}&limit=10`)).json()) as {
      events: { position: number; type: string }[];
      checkpoint: number;
    };
    assert.deepEqual(
      page.events.map((e) => e.type),
      ['A', 'B'],
    );
    assert.equal(page.checkpoint, head.head + 2);
    assert.deepEqual(
      page.events.map((e) => e.position),
      [head.head + 1, head.head + 2],
    );
  });
});

/** Reads SSE messages from a response body until `count` arrived. */
async function readSse(res: Response, count: number): Promise<{ id: number; data: { type: string } }[]> {
  const decoder = new TextDecoder();
  const out: { id: number; data: { type: string } }[] = [];
  let buffer = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let cut: number;
    while ((cut = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const id = /^id: (\d+)$/m.exec(block);
      const data = /^data: (.*)$/m.exec(block);
      if (id && data) out.push({ id: Number(id[1]), data: JSON.parse(data[1]!) as { type: string } });
    }
    if (out.length >= count) break;
  }
  return out;
}

describe('GET /events/live', () => {
  it('pushes new events as server-sent events and resumes with Last-Event-ID', async () => {
    const cat = `live${randomUUID().slice(0, 8)}`;
    const controller = new AbortController();
    const res = await fetch(`${base}/events/live?category=${cat}`, { signal: controller.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const reading = readSse(res, 3);
    for (let i = 0; i < 3; i++)
      await post(`/streams/${cat}-${i}`, { version: 1, events: [{ type: `E${i}`, data: {} }] });
    const first = await reading;
    assert.deepEqual(
      first.map((m) => m.data.type),
      ['E0', 'E1', 'E2'],
    );
    controller.abort();

    // Two more while disconnected, then resume from the first message's id.
    for (let i = 3; i < 5; i++)
      await post(`/streams/${cat}-${i}`, { version: 1, events: [{ type: `E${i}`, data: {} }] });
    const resumed = await fetch(`${base}/events/live?category=${cat}`, {
      headers: { 'last-event-id': String(first[0]!.id) },
    });
    const rest = await readSse(resumed, 4);
    assert.deepEqual(
      rest.map((m) => m.data.type),
      ['E1', 'E2', 'E3', 'E4'],
    );
    assert.ok(rest.every((m, i) => i === 0 || m.id > rest[i - 1]!.id));
  });
});

describe('operations', () => {
  it('serves health, readiness and metrics', async () => {
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /eventstore_appends_total\{[^}]*outcome="ok"/);
    assert.match(metrics, /eventstore_head_position/);
  });
});
