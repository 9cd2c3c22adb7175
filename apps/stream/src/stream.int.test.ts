// The stream service over real HTTP, with two instances sharing the notices feed, once with Redis
// pub/sub and once on PostgreSQL alone. Notices are fed as the projector does: recorded in a
// transaction, published after commit (or, to play a crashed publisher, not published at all).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { KeyValueStore } from '@optic-mart/messaging';
import { createLogger, createMetricsRegistry, type MetricsRegistry } from '@optic-mart/platform';
import { ensureNoticesSchema, publishNotices, pruneNotices, recordNotices } from '@optic-mart/runtime';
import { createTestDatabase, sleep, type TestDatabase } from '@optic-mart/testkit';
import { loadStreamConfig } from './config.js';
import { connectKeyValueStore } from './main.js';
import { buildStreamApp, type StreamApp } from './stream-app.js';
import { connectSse, type ReceivedNotice, type SseConnection } from './test-support.js';

const transports = [
  { name: 'Redis', env: { REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' } },
  { name: 'PostgreSQL alone', env: {} as Record<string, string> },
];

interface Instance {
  readonly stream: StreamApp;
  readonly kv: KeyValueStore;
  readonly metrics: MetricsRegistry;
  readonly url: string;
}

interface Produced {
  readonly projection: string;
  readonly position: number;
  readonly topics: readonly string[];
}

/** What a client following `topics` must receive of `produced`, in order. */
function expectedFor(produced: readonly Produced[], topics: readonly string[]): ReceivedNotice[] {
  const wanted = new Set(topics);
  return produced.flatMap((n) =>
    n.topics
      .filter((t) => wanted.has(t))
      .map((topic) => ({ topic, projection: n.projection, position: n.position })),
  );
}

/** Notices of one projection in position order (the only order the stream promises). */
const ofProjection = (notices: readonly ReceivedNotice[], projection: string) =>
  notices.filter((n) => n.projection === projection);

function assertSameNotices(
  actual: readonly ReceivedNotice[],
  expected: readonly ReceivedNotice[],
  who: string,
) {
  const projections = new Set([...actual, ...expected].map((n) => n.projection));
  for (const projection of projections) {
    assert.deepEqual(
      ofProjection(actual, projection),
      ofProjection(expected, projection),
      `${who}: ${projection}`,
    );
  }
  assert.equal(actual.length, expected.length, who);
}

for (const transport of transports) {
  describe(`the stream service on ${transport.name}`, () => {
    let db: TestDatabase;
    let pool: pg.Pool;
    let publisher: KeyValueStore;
    const instances: Instance[] = [];
    const prefix = `s${randomUUID().slice(0, 8)}`;
    const checkpoints = new Map<string, number>();
    let nextPosition = 1;
    const open: SseConnection[] = [];

    const connect = async (
      instance: Instance,
      topics: readonly string[],
      headers: Record<string, string> = {},
    ) => {
      const sse = await connectSse(
        instance.url,
        `/stream?topics=${topics.map(encodeURIComponent).join(',')}`,
        headers,
      );
      open.push(sse);
      return sse;
    };

    /** One projector batch: notices recorded in its transaction, then (unless lost) published. */
    const produce = async (
      projection: string,
      topicLists: readonly (readonly string[])[],
      options: { publish?: boolean } = {},
    ): Promise<Produced[]> => {
      const from = checkpoints.get(projection) ?? 0;
      const notices = topicLists.map((topics) => ({ position: nextPosition++, topics }));
      // The checkpoint passes events that changed nothing, as the projector's does.
      const to = nextPosition++;
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await recordNotices(client, projection, notices);
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      checkpoints.set(projection, to);
      if (options.publish ?? true) await publishNotices(publisher, { projection, from, to, notices });
      return notices.map((n) => ({ projection, ...n }));
    };

    const metric = async (instance: Instance, name: string, label = ''): Promise<number> => {
      const text = await instance.metrics.metrics();
      const line = text.split('\n').find((l) => l.startsWith(name) && l.includes(label));
      return line === undefined ? 0 : Number(line.split(' ').at(-1));
    };

    before(async () => {
      db = await createTestDatabase('stream');
      pool = new pg.Pool({ connectionString: db.url, max: 2 });
      await ensureNoticesSchema(pool);
      const env = {
        DATABASE_URL: db.url,
        MESSAGING_PREFIX: prefix,
        LOG_LEVEL: 'warn',
        STREAM_POOL_SIZE: '3',
        STREAM_CATCH_UP_MS: '500',
        STREAM_HEARTBEAT_MS: '1000',
        STREAM_CLIENT_BUFFER_BYTES: String(256 * 1024),
        ...transport.env,
      };
      const config = loadStreamConfig(env);
      publisher = await connectKeyValueStore(config);
      for (let i = 0; i < 2; i++) {
        const kv = await connectKeyValueStore(config);
        const metrics = createMetricsRegistry({ service: `stream-test-${i}`, defaultMetrics: false });
        const stream = await buildStreamApp({
          config,
          kv,
          metrics,
          logger: createLogger({ name: `stream-test-${i}`, level: 'warn' }),
        });
        const url = await stream.app.listen({ host: '127.0.0.1', port: 0 });
        instances.push({ stream, kv, metrics, url });
      }
    });

    after(async () => {
      for (const sse of open) sse.close();
      for (const instance of instances) {
        await instance.stream.app.close();
        await instance.kv.close();
      }
      await publisher.close();
      // Closed connections can take a moment to leave: dropping the database under one would end
      // it with an error nobody listens to any more.
      await waitForNoOtherConnections(pool);
      await pool.end();
      await db.drop();
    });

    it('refuses a malformed topic with 400 and a forbidden one with 403, as problem+json', async () => {
      const [a] = instances;
      const get = (query: string, headers: Record<string, string> = {}) =>
        fetch(`${a!.url}/stream?${query}`, { headers });
      const bad = await get('topics=pets,pet/1');
      assert.equal(bad.status, 400);
      assert.match(bad.headers.get('content-type') ?? '', /^application\/problem\+json/);
      assert.match(((await bad.json()) as { detail: string }).detail, /"pet\/1"/);
      assert.equal((await get('topics=pets/..%2Fx')).status, 400);
      assert.equal((await get('')).status, 400);
      const anonymousOrder = await get('topics=pets,orders/o1');
      assert.equal(anonymousOrder.status, 403);
      const problem = (await anonymousOrder.json()) as { code: string; detail: string };
      assert.equal(problem.code, 'forbidden');
      assert.match(problem.detail, /orders\/o1/);
      assert.equal((await get('topics=users/u1/orders', { 'x-optic-principal': 'u2' })).status, 403);
      const badCursor = await get('topics=pets', { 'last-event-id': 'pets:abc' });
      assert.equal(badCursor.status, 400);
      // Allowed ones open a stream.
      const own = await connect(a!, ['users/u1/orders', 'orders/o1'], { 'x-optic-principal': 'u1' });
      assert.equal(own.status, 200);
      assert.match(String(own.headers['content-type']), /^text\/event-stream/);
      await own.ready;
      own.close();
    });

    it('1,000 clients on two instances each get every notice for their topics and none for others, lost publishes included', async () => {
      const groups: { topics: string[]; principal?: string }[] = [
        { topics: ['pets'] },
        ...Array.from({ length: 10 }, (_, k) => ({ topics: [`pets/p${k}`] })),
        { topics: ['inventory'] },
        { topics: ['pets/p1', 'inventory'] },
        { topics: ['orders/o1'], principal: 'u1' },
        { topics: ['users/u1/orders'], principal: 'u1' },
        { topics: ['stock'] },
      ];
      const clients: { sse: SseConnection; topics: string[] }[] = [];
      const started = Date.now();
      for (let chunk = 0; chunk < 1000; chunk += 100) {
        await Promise.all(
          Array.from({ length: 100 }, async (_, j) => {
            const i = chunk + j;
            const group = groups[i % groups.length]!;
            const sse = await connect(
              instances[i % 2]!,
              group.topics,
              group.principal ? { 'x-optic-principal': group.principal } : {},
            );
            assert.equal(sse.status, 200);
            await sse.ready;
            clients.push({ sse, topics: group.topics });
          }),
        );
      }
      const connectedMs = Date.now() - started;
      assert.equal(instances[0]!.stream.clientCount() + instances[1]!.stream.clientCount(), 1000);

      const produced: Produced[] = [];
      const producing = Date.now();
      for (let batch = 0; batch < 60; batch++) {
        // Every seventh publish is lost: the next batch of that projection shows the gap.
        const publish = batch % 7 !== 3;
        const k = batch % 10;
        if (batch % 3 === 0) {
          produced.push(
            ...(await produce(
              'pets',
              [
                ['pets', `pets/p${k}`],
                ['pets', `pets/p${(k + 1) % 10}`],
              ],
              { publish },
            )),
          );
        } else if (batch % 3 === 1) {
          produced.push(...(await produce('inventory', [['inventory']], { publish })));
        } else {
          const order = batch % 2 === 0 ? ['orders/o1', 'users/u1/orders'] : ['orders/o2', 'users/u2/orders'];
          produced.push(...(await produce('orders', [order], { publish })));
        }
      }
      // The last batch's publish lost, and no batch after it: only the feeds' catch-up finds it.
      produced.push(...(await produce('pets', [['pets', 'pets/p3']], { publish: false })));

      await Promise.all(
        clients.map(({ sse, topics }) => sse.waitFor(expectedFor(produced, topics).length, 30_000)),
      );
      const deliveredMs = Date.now() - producing;
      // One more, timed alone: commit + publish to the last of the clients that follow it.
      const timed = Date.now();
      produced.push(...(await produce('pets', [['pets', 'inventory', 'pets/p1']])));
      await Promise.all(
        clients.map(({ sse, topics }) => sse.waitFor(expectedFor(produced, topics).length, 10_000)),
      );
      const oneMs = Date.now() - timed;
      await sleep(300); // anything extra would show up now
      let events = 0;
      for (const [i, { sse, topics }] of clients.entries()) {
        assertSameNotices(sse.notices, expectedFor(produced, topics), `client ${i} (${topics.join(',')})`);
        events += sse.notices.length;
      }
      assert.equal(
        clients.filter((c) => c.topics[0] === 'stock').every((c) => c.sse.notices.length === 0),
        true,
      );
      // Both instances served (fan-out through the shared channel).
      for (const instance of instances) assert.ok((await metric(instance, 'stream_notices_sent_total')) > 0);
      console.log(
        `[stream ${transport.name}] 1000 clients connected in ${connectedMs} ms; ${produced.length} notices ` +
          `(${events} events) all delivered ${deliveredMs} ms after the first was produced; a single notice ` +
          `reached its ${clients.filter((c) => c.topics.some((t) => ['pets', 'inventory', 'pets/p1'].includes(t))).length} clients in ${oneMs} ms`,
      );
      for (const { sse } of clients) sse.close();
      await waitUntil(() => instances.every((i) => i.stream.clientCount() === 0));
    });

    it('clients reconnecting with Last-Event-ID while notices keep coming miss none and get none twice', async () => {
      const followers = Array.from({ length: 20 }, (_, i) => ({
        topics: i % 2 === 0 ? ['pets'] : ['pets/p1', 'orders/o1'],
        headers: principalHeader(i % 2 === 0 ? undefined : 'u1'),
        received: [] as ReceivedNotice[],
        connections: 0,
      }));
      // Everyone is live before the first notice: what they must get is then exactly what follows.
      const first = await Promise.all(
        followers.map(async (f, i) => {
          const sse = await connect(instances[i % 2]!, f.topics, f.headers);
          await sse.ready;
          return sse;
        }),
      );
      let producing = true;
      const produced: Produced[] = [];
      const producer = (async () => {
        for (let batch = 0; batch < 120; batch++) {
          const publish = batch % 10 !== 5; // some publishes lost
          const k = batch % 4;
          if (batch % 2 === 0) {
            produced.push(
              ...(await produce(
                'pets',
                [
                  ['pets', `pets/p${k}`],
                  ['pets', 'pets/p1'],
                ].slice(0, 1 + (batch % 3 === 0 ? 1 : 0)),
                {
                  publish,
                },
              )),
            );
          } else {
            produced.push(...(await produce('orders', [['orders/o1', 'users/u1/orders']], { publish })));
          }
          await sleep(5);
        }
        producing = false;
      })();
      await Promise.all(
        followers.map(async (f, i) => {
          let sse = first[i]!;
          let round = 0;
          for (;;) {
            f.connections++;
            if (!producing) break;
            await sleep(10 + ((i * 7 + round * 13) % 40));
            sse.close();
            await sse.closed;
            f.received.push(...sse.notices);
            round++;
            // Alternate instances: the cursor is the same everywhere.
            sse = await connect(instances[(i + round) % 2]!, f.topics, {
              ...f.headers,
              'last-event-id': sse.lastEventId(),
            });
            assert.equal(sse.status, 200);
          }
          await producer;
          const expected = expectedFor(produced, f.topics);
          await sse.waitFor(expected.length - f.received.length, 20_000).catch(() => undefined);
          await sleep(200);
          f.received.push(...sse.notices);
          sse.close();
        }),
      );
      await producer;
      let reconnects = 0;
      for (const [i, f] of followers.entries()) {
        assertSameNotices(f.received, expectedFor(produced, f.topics), `follower ${i}`);
        reconnects += f.connections - 1;
      }
      console.log(
        `[stream ${transport.name}] ${followers.length} followers reconnected ${reconnects} times during ` +
          `${produced.length} notices (every tenth publish lost): no gap, no duplicate`,
      );
    });

    it('replays a notice whose publish was lost to a client resuming after it', async () => {
      const [a, b] = instances;
      const sse = await connect(a!, ['pets/lost']);
      await sse.ready;
      const seen = await produce('pets', [['pets/lost']]);
      await sse.waitFor(1);
      sse.close();
      const cursor = sse.lastEventId();
      const lost = await produce('pets', [['pets/lost']], { publish: false });
      // Resumed on the other instance, most likely before its catch-up found the lost one.
      const resumed = await connect(b!, ['pets/lost'], { 'last-event-id': cursor });
      await resumed.ready;
      await resumed.waitFor(1);
      assert.deepEqual(resumed.notices, [
        { topic: 'pets/lost', projection: 'pets', position: lost[0]!.position },
      ]);
      assert.notEqual(seen[0]!.position, lost[0]!.position);
      await sleep(1200); // past a catch-up: the feed finds it too, and must not send it again
      assert.equal(resumed.notices.length, 1);
      resumed.close();
    });

    it('tells a client resuming from before pruned notices to reload (reset), then goes on', async () => {
      const [a, b] = instances;
      const sse = await connect(a!, ['pets/pruned']);
      await sse.ready;
      await produce('pets', [['pets/pruned']]);
      await sse.waitFor(1);
      sse.close();
      await produce('pets', [['pets/pruned']]);
      await pool.query(`UPDATE projection.notices SET recorded_at = now() - interval '2 days'`);
      assert.ok((await pruneNotices(pool, { olderThanMs: 24 * 3600_000 })) > 0);
      const resumed = await connect(b!, ['pets/pruned'], { 'last-event-id': sse.lastEventId() });
      await resumed.ready;
      assert.deepEqual(resumed.resets, [{ projection: 'pets', prunedThrough: checkpoints.get('pets')! - 1 }]);
      assert.equal(resumed.notices.length, 0);
      const next = await produce('pets', [['pets/pruned']]);
      await resumed.waitFor(1);
      assert.deepEqual(resumed.notices, [
        { topic: 'pets/pruned', projection: 'pets', position: next[0]!.position },
      ]);
      resumed.close();
    });

    it('drops a client that stops reading, while another on the same topic keeps receiving', async () => {
      const [a] = instances;
      const topic = `pets/${'s'.repeat(190)}`;
      const fast = await connect(a!, [topic]);
      const slow = await connect(a!, [topic]);
      await Promise.all([fast.ready, slow.ready]);
      slow.pause();
      const droppedBefore = await metric(a!, 'stream_clients_dropped_total', 'reason="slow"');
      let sent = 0;
      let batches = 0;
      while (a!.stream.clientCount() === 2 && batches < 400) {
        await produce(
          'pets',
          Array.from({ length: 200 }, () => [topic]),
        );
        sent += 200;
        batches++;
        await fast.waitFor(sent, 10_000);
      }
      assert.equal(a!.stream.clientCount(), 1, 'the slow client was dropped');
      assert.equal(await metric(a!, 'stream_clients_dropped_total', 'reason="slow"'), droppedBefore + 1);
      // The fast one goes on.
      await produce('pets', [[topic]]);
      sent += 1;
      await fast.waitFor(sent);
      assert.equal(fast.notices.length, sent);
      slow.resume();
      await slow.closed;
      assert.ok(slow.notices.length < sent, 'the slow client did not get everything');
      console.log(
        `[stream ${transport.name}] slow client dropped after ${sent} notices (~${Math.round((sent * 330) / 1024)} KiB); ` +
          `it had read ${slow.notices.length}; the fast one got all ${fast.notices.length}`,
      );
      fast.close();
    });

    it('sends heartbeats and serves /healthz, /readyz and /metrics', async () => {
      const [a] = instances;
      const res = await fetch(`${a!.url}/stream?topics=inventory`);
      const reader = res.body!.getReader() as ReadableStreamDefaultReader<Uint8Array>;
      const decoder = new TextDecoder();
      let text = '';
      const deadline = Date.now() + 3000;
      while (!text.includes(': heartbeat') && Date.now() < deadline) {
        const { value } = await reader.read();
        text += decoder.decode(value);
      }
      assert.match(text, /: heartbeat\n\n/);
      await reader.cancel();
      assert.equal((await fetch(`${a!.url}/healthz`)).status, 200);
      assert.equal((await fetch(`${a!.url}/readyz`)).status, 200);
      const metrics = await (await fetch(`${a!.url}/metrics`)).text();
      assert.match(metrics, /stream_clients/);
      assert.match(metrics, /stream_notices_sent_total/);
      assert.match(metrics, /stream_clients_dropped_total/);
    });
  });
}

function principalHeader(principal: string | undefined): Record<string, string> {
  return principal === undefined ? {} : { 'x-optic-principal': principal };
}

async function waitForNoOtherConnections(pool: pg.Pool): Promise<void> {
  const deadline = Date.now() + 3000;
  for (;;) {
    const { rows } = await pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
    );
    if (rows[0]!.n <= 1 || Date.now() > deadline) return; // the pool's other connection may remain
    await sleep(50);
  }
}

async function waitUntil(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(20);
  }
}
