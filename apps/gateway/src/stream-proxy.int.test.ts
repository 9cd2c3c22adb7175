// GET /api/stream through the gateway to a real stream service (PostgreSQL alone).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { connectMessaging, type KeyValueStore, type Messaging } from '@optic-mart/messaging';
import { createHttpServer, createLogger, createMetricsRegistry, type HttpServer } from '@optic-mart/platform';
import { ensureNoticesSchema, publishNotices, recordNotices } from '@optic-mart/runtime';
import { createTestDatabase, sleep, type TestDatabase } from '@optic-mart/testkit';
import { loadStreamConfig } from '../../stream/src/config.js';
import { connectKeyValueStore } from '../../stream/src/main.js';
import { buildStreamApp, type StreamApp } from '../../stream/src/stream-app.js';
import { connectSse } from '../../stream/src/test-support.js';
import { buildGatewayApp } from './app.js';
import type { Auth } from './auth/index.js';
import { loginAs } from './auth/test-support.js';
import { loadGatewayConfig } from './config.js';
import { registerStreamProxy } from './stream-proxy.js';

describe('the gateway proxies /api/stream to the stream service', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let messaging: Messaging;
  let streamKv: KeyValueStore;
  let stream: StreamApp;
  let gateway: HttpServer;
  let auth: Auth;
  let base: string;
  let streamBase: string;
  let checkpoint = 0;
  let position = 0;
  const prefix = `p${randomUUID().slice(0, 8)}`;

  const produce = async (topics: string[], publish = true) => {
    const from = checkpoint;
    const notice = { position: ++position, topics };
    checkpoint = ++position;
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await recordNotices(client, 'pets', [notice]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    if (publish)
      await publishNotices(messaging.kv, { projection: 'pets', from, to: checkpoint, notices: [notice] });
    return notice.position;
  };

  before(async () => {
    db = await createTestDatabase('streamproxy');
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
    await ensureNoticesSchema(pool);
    const streamConfig = loadStreamConfig({
      DATABASE_URL: db.url,
      MESSAGING_PREFIX: prefix,
      LOG_LEVEL: 'warn',
      STREAM_POOL_SIZE: '2',
    });
    streamKv = await connectKeyValueStore(streamConfig);
    stream = await buildStreamApp({
      config: streamConfig,
      kv: streamKv,
      logger: createLogger({ name: 'stream-test', level: 'warn' }),
      metrics: createMetricsRegistry({ service: 'stream-test', defaultMetrics: false }),
    });
    const streamUrl = await stream.app.listen({ host: '127.0.0.1', port: 0 });
    streamBase = streamUrl;
    messaging = await connectMessaging({ databaseUrl: db.url, prefix });
    ({ app: gateway, auth } = await buildGatewayApp({
      config: loadGatewayConfig({
        DATABASE_URL: db.url,
        MESSAGING_PREFIX: prefix,
        LOG_LEVEL: 'warn',
        GATEWAY_POOL_SIZE: '2',
        STREAM_URL: streamUrl,
      }),
      messaging,
      logger: createLogger({ name: 'gateway-test', level: 'warn' }),
      metrics: createMetricsRegistry({ service: 'gateway-test', defaultMetrics: false }),
    }));
    base = await gateway.listen({ host: '127.0.0.1', port: 0 });
  });

  after(async () => {
    await gateway.close();
    await stream.app.close().catch(() => undefined);
    await streamKv.close();
    await messaging.close();
    await pool.end();
    await db.drop();
  });

  it('streams notices, and resumes with Last-Event-ID through the proxy without gap or repeat', async () => {
    const sse = await connectSse(base, '/api/stream?topics=pets/1');
    assert.equal(sse.status, 200);
    assert.match(String(sse.headers['content-type']), /^text\/event-stream/);
    await sse.ready;
    const first = [await produce(['pets', 'pets/1']), await produce(['pets/2']), await produce(['pets/1'])];
    await sse.waitFor(2);
    assert.deepEqual(
      sse.notices.map((n) => n.position),
      [first[0], first[2]],
    );
    sse.close();
    const missed = [await produce(['pets/1']), await produce(['pets/1'], false)];
    const resumed = await connectSse(base, '/api/stream?topics=pets/1', {
      'last-event-id': sse.lastEventId(),
    });
    await resumed.ready;
    await resumed.waitFor(2);
    const live = await produce(['pets/1']);
    await resumed.waitFor(3);
    await sleep(100);
    assert.deepEqual(
      resumed.notices.map((n) => n.position),
      [...missed, live],
    );
    resumed.close();
    // The client went away: the proxy ended its upstream stream, so the service forgets it.
    const deadline = Date.now() + 3000;
    while (stream.clientCount() > 0 && Date.now() < deadline) await sleep(20);
    assert.equal(stream.clientCount(), 0);
  });

  it('never passes on a client-sent x-optic-principal, and passes problems through', async () => {
    const claimed = await fetch(`${base}/api/stream?topics=users/u1/orders`, {
      headers: { 'x-optic-principal': 'u1' },
    });
    assert.equal(claimed.status, 403);
    assert.match(claimed.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.equal(((await claimed.json()) as { code: string }).code, 'forbidden');
    const bad = await fetch(`${base}/api/stream?topics=nope`);
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { detail: string }).detail, /nope/);
  });

  it("tells the stream service who is signed in: their own orders' topics, not another's", async () => {
    const customer = await loginAs(auth, 'customer');
    const own = await fetch(`${base}/api/stream?topics=users/${customer.principal.userId}/orders`, {
      headers: customer.headers,
    });
    assert.equal(own.status, 200);
    await own.body?.cancel();
    const other = await fetch(`${base}/api/stream?topics=users/somebody-else/orders`, {
      headers: customer.headers,
    });
    assert.equal(other.status, 403);
    const seller = await loginAs(auth, 'seller');
    const staff = await fetch(`${base}/api/stream?topics=users/somebody-else/orders`, {
      headers: seller.headers,
    });
    assert.equal(staff.status, 200);
    await staff.body?.cancel();
  });

  it(
    'ends open streams when the gateway closes, instead of waiting for them',
    { timeout: 5000 },
    async () => {
      const second = createHttpServer({
        logger: createLogger({ name: 'gateway-test-2', level: 'warn' }),
        metrics: createMetricsRegistry({ service: 'gateway-test-2', defaultMetrics: false }),
      });
      registerStreamProxy(second, { streamUrl: streamBase });
      const url = await second.listen({ host: '127.0.0.1', port: 0 });
      const sse = await connectSse(url, '/api/stream?topics=pets');
      await sse.ready;
      const started = Date.now();
      await second.close();
      await sse.closed;
      assert.ok(Date.now() - started < 2000, 'closed at once');
    },
  );

  it('answers 503 problem+json with Retry-After when the stream service is down', async () => {
    await stream.app.close();
    const res = await fetch(`${base}/api/stream?topics=pets`);
    assert.equal(res.status, 503);
    assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.ok(Number(res.headers.get('retry-after')) > 0);
    assert.equal(((await res.json()) as { code: string }).code, 'service_unavailable');
  });
});
