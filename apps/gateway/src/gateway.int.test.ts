// The command path over real HTTP: gateway → command queue → worker → event store → reply,
// once on NATS JetStream + Redis and once on PostgreSQL alone.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { WorkerRegistry, connectMessaging, type Messaging } from '@optic-mart/messaging';
import { createLogger, createMetricsRegistry, type HttpServer } from '@optic-mart/platform';
import { createTestDatabase, type TestDatabase } from '@optic-mart/testkit';
import { start as startWorker } from '../../worker/src/main.js';
import { buildGatewayApp } from './app.js';
import { loadGatewayConfig } from './config.js';

const transports = [
  {
    name: 'NATS JetStream + Redis',
    env: {
      NATS_URL: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    },
  },
  { name: 'PostgreSQL alone', env: {} as Record<string, string> },
];

for (const transport of transports) {
  describe(`the command path on ${transport.name}`, () => {
    let db: TestDatabase;
    let messaging: Messaging;
    let app: HttpServer;
    let base: string;
    let worker: { stop(): Promise<void> } | null = null;
    const prefix = `t${randomUUID().slice(0, 8)}`;
    let env: Record<string, string>;

    const startCatalogWorker = async () => {
      worker = await startWorker({ ...env, LOG_LEVEL: 'warn', WORKER_HEARTBEAT_MS: '200' }, [
        '--context',
        'catalog',
      ]);
    };

    before(async () => {
      db = await createTestDatabase('gateway');
      env = { DATABASE_URL: db.url, MESSAGING_PREFIX: prefix, ...transport.env };
      const config = loadGatewayConfig({ ...env, LOG_LEVEL: 'warn', GATEWAY_REPLY_TIMEOUT_MS: '3000' });
      messaging = await connectMessaging({
        databaseUrl: db.url,
        prefix,
        ...(env.NATS_URL ? { natsUrl: env.NATS_URL } : {}),
        ...(env.REDIS_URL ? { redisUrl: env.REDIS_URL } : {}),
      });
      ({ app } = await buildGatewayApp({
        config,
        messaging,
        logger: createLogger({ name: 'gateway-test', level: 'warn' }),
        metrics: createMetricsRegistry({ service: 'gateway-test' }),
      }));
      base = await app.listen({ host: '127.0.0.1', port: 0 });
    });

    after(async () => {
      await worker?.stop();
      await app.close();
      await messaging.close();
      await db.drop();
    });

    const json = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
      fetch(base + path, {
        method,
        headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });

    it('answers 503 with Retry-After and enqueues nothing when no worker serves the context', async () => {
      const res = await json('POST', '/api/pets', { name: 'Rex' });
      assert.equal(res.status, 503);
      assert.ok(Number(res.headers.get('retry-after')) > 0);
      assert.equal(((await res.json()) as { code: string }).code, 'service_unavailable');
      assert.equal(await messaging.commands.depth('catalog'), 0);
    });

    it('creates a pet: 201 with Location, id and version, then reads it with its ETag', async () => {
      await startCatalogWorker();
      const res = await json('POST', '/api/pets', { name: 'Rex', tags: [{ name: 'dog' }] });
      assert.equal(res.status, 201);
      const body = (await res.json()) as { id: string; version: number };
      assert.equal(res.headers.get('location'), `/api/pets/${body.id}`);
      assert.equal(body.version, 1);
      const get = await fetch(`${base}/api/pets/${body.id}`);
      assert.equal(get.status, 200);
      assert.equal(get.headers.get('etag'), '"1"');
      const pet = (await get.json()) as { name: string; status: string };
      assert.equal(pet.name, 'Rex');
      assert.equal(pet.status, 'available');
    });

    it('refuses bad input with 400 naming the field, and enqueues nothing', async () => {
      const before = await messaging.commands.depth('catalog');
      const res = await json('POST', '/api/pets', { name: '', status: 'lost', extra: 1 });
      assert.equal(res.status, 400);
      const problem = (await res.json()) as { code: string; errors: { field: string }[] };
      assert.equal(problem.code, 'validation_failed');
      const fields = problem.errors.map((e) => e.field).join(' ');
      assert.match(fields, /name/);
      assert.match(fields, /status/);
      assert.equal(await messaging.commands.depth('catalog'), before);
    });

    it('maps a domain rejection to its 4xx problem, and a stale If-Match to 412', async () => {
      const created = (await (await json('POST', '/api/pets', { name: 'Max' })).json()) as { id: string };
      const stale = await json('PUT', `/api/pets/${created.id}`, { name: 'Maxi' }, { 'if-match': '"7"' });
      assert.equal(stale.status, 412);
      assert.equal(((await stale.json()) as { code: string }).code, 'version_mismatch');
      const missing = await json('DELETE', `/api/pets/${randomUUID()}`);
      assert.equal(missing.status, 404);
      assert.equal(((await missing.json()) as { code: string }).code, 'pet_not_found');
    });

    it('returns the first response for a repeated Idempotency-Key and changes nothing', async () => {
      const key = randomUUID();
      const first = await json('POST', '/api/pets', { name: 'Once' }, { 'idempotency-key': key });
      const again = await json('POST', '/api/pets', { name: 'Once' }, { 'idempotency-key': key });
      assert.equal(first.status, 201);
      assert.equal(again.status, 201);
      assert.equal(again.headers.get('idempotent-replayed'), 'true');
      assert.deepEqual(await again.json(), await first.json());
      const reused = await json('POST', '/api/pets', { name: 'Other' }, { 'idempotency-key': key });
      assert.equal(reused.status, 422);
    });

    it('answers 202 with a status URL when the reply is slow, and the status URL tells the outcome', async () => {
      // A second gateway that waits no time at all for replies.
      const impatient = await buildGatewayApp({
        config: loadGatewayConfig({ ...env, LOG_LEVEL: 'warn', GATEWAY_REPLY_TIMEOUT_MS: '0' }),
        messaging,
        logger: createLogger({ name: 'gateway-test', level: 'warn' }),
        metrics: createMetricsRegistry({ service: 'gateway-test-2' }),
      });
      try {
        const res = await impatient.app.inject({
          method: 'POST',
          url: '/api/pets',
          payload: { name: 'Slowpoke' },
        });
        assert.equal(res.statusCode, 202);
        const location = String(res.headers.location);
        assert.match(location, /^\/api\/commands\/[0-9a-f-]{36}$/);
        let status: { status: string; result?: { version: number } } = { status: 'pending' };
        for (let i = 0; i < 100 && status.status === 'pending'; i++) {
          await new Promise((r) => setTimeout(r, 50));
          status = (await (await fetch(base + location)).json()) as typeof status;
        }
        assert.equal(status.status, 'succeeded');
        assert.equal(status.result?.version, 1);
        assert.equal((await fetch(`${base}/api/commands/${randomUUID()}`)).status, 404);
      } finally {
        await impatient.app.close();
      }
    });

    it('sheds load with 503 when the context queue is over its bound', async () => {
      // A gateway allowing one waiting command, and a context whose only "worker" takes nothing.
      const context = 'catalog';
      const shedding = await buildGatewayApp({
        config: loadGatewayConfig({
          ...env,
          LOG_LEVEL: 'warn',
          GATEWAY_REPLY_TIMEOUT_MS: '0',
          GATEWAY_MAX_QUEUE_DEPTH: '1',
        }),
        messaging,
        logger: createLogger({ name: 'gateway-test', level: 'warn' }),
        metrics: createMetricsRegistry({ service: 'gateway-test-3' }),
      });
      await worker?.stop();
      worker = null;
      const idle = await new WorkerRegistry(messaging.kv).register(
        { workerId: 'idle', contexts: [context], pid: 0, host: 'test', startedAt: new Date().toISOString() },
        () => 0,
      );
      try {
        const first = await shedding.app.inject({
          method: 'POST',
          url: '/api/pets',
          payload: { name: 'Queued' },
        });
        assert.equal(first.statusCode, 202);
        assert.equal(await messaging.commands.depth(context), 1);
        await new Promise((r) => setTimeout(r, 250)); // past the gateway's depth cache
        const shed = await shedding.app.inject({
          method: 'POST',
          url: '/api/pets',
          payload: { name: 'Shed' },
        });
        assert.equal(shed.statusCode, 503);
        assert.ok(Number(shed.headers['retry-after']) > 0);
        assert.equal(await messaging.commands.depth(context), 1, 'the refused command was not enqueued');
      } finally {
        await idle();
        await shedding.app.close();
        await startCatalogWorker(); // takes the queued command; later tests need a worker
      }
    });

    it('applies 20 concurrent updates of one pet without losing one', async () => {
      const created = (await (await json('POST', '/api/pets', { name: 'Busy' })).json()) as { id: string };
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          json('PUT', `/api/pets/${created.id}`, { name: `Busy ${i}`, tags: [{ name: `t${i}` }] }),
        ),
      );
      assert.ok(results.every((r) => r.status === 200));
      const versions = await Promise.all(
        results.map(async (r) => ((await r.json()) as { version: number }).version),
      );
      assert.deepEqual(
        [...versions].sort((a, b) => a - b),
        Array.from({ length: 20 }, (_, i) => i + 2),
      );
      const pet = (await (await fetch(`${base}/api/pets/${created.id}`)).json()) as { version: number };
      assert.equal(pet.version, 21);
    });
  });
}
