// The command path over real HTTP: gateway → command queue → worker → event store → reply,
// once on NATS JetStream + Redis and once on PostgreSQL alone; and the queries, from the read
// models a projector running in-process keeps.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import { EventStore } from '@optic-mart/eventstore';
import { CommandDispatcher, WorkerRegistry, connectMessaging, type Messaging } from '@optic-mart/messaging';
import { createLogger, createMetricsRegistry, type HttpServer } from '@optic-mart/platform';
import { startProjector, type Projector } from '@optic-mart/runtime';
import { petStreamId, petsProjection } from '@optic-mart/catalog';
import { createTestDatabase, type TestDatabase } from '@optic-mart/testkit';
import { start as startWorker } from '../../worker/src/main.js';
import { buildGatewayApp } from './app.js';
import { loginAs, type TestLogin } from './auth/test-support.js';
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
    let seller: TestLogin;
    let worker: { stop(): Promise<void> } | null = null;
    let projectorStore: EventStore;
    let projector: Projector;
    const prefix = `t${randomUUID().slice(0, 8)}`;
    let env: Record<string, string>;

    const startCatalogWorker = async () => {
      worker = await startWorker({ ...env, LOG_LEVEL: 'warn', WORKER_HEARTBEAT_MS: '1000' }, [
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
      let auth;
      ({ app, auth } = await buildGatewayApp({
        config,
        messaging,
        logger: createLogger({ name: 'gateway-test', level: 'warn' }),
        metrics: createMetricsRegistry({ service: 'gateway-test' }),
      }));
      base = await app.listen({ host: '127.0.0.1', port: 0 });
      // Pets are the catalog's: a seller writes them (any gateway of this database accepts the token).
      seller = await loginAs(auth, 'seller');
      projectorStore = new EventStore({ connectionString: db.url, poolSize: 3, sweepIntervalMs: 0 });
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
      await projector.stop();
      await projectorStore.close();
      await worker?.stop();
      await app.close();
      await messaging.close();
      await db.drop();
    });

    const json = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
      fetch(base + path, {
        method,
        headers: {
          ...seller.headers,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });

    it('answers 503 with Retry-After and enqueues nothing when no worker serves the context', async () => {
      const res = await json('POST', '/api/pets', { name: 'Rex' });
      assert.equal(res.status, 503);
      assert.ok(Number(res.headers.get('retry-after')) > 0);
      assert.equal(((await res.json()) as { code: string }).code, 'service_unavailable');
      assert.equal(await messaging.commands.depth('catalog'), 0);
    });

    it('creates a pet: 201 with Location, id, version and position, then reads its write with its ETag', async () => {
      await startCatalogWorker();
      const res = await json('POST', '/api/pets', { name: 'Rex', tags: [{ name: 'dog' }] });
      assert.equal(res.status, 201);
      const body = (await res.json()) as { id: string; version: number; position: number };
      assert.equal(res.headers.get('location'), `/api/pets/${body.id}`);
      assert.equal(body.version, 1);
      assert.ok(body.position > 0);
      const get = await fetch(`${base}/api/pets/${body.id}?after=${body.position}`);
      assert.equal(get.status, 200);
      assert.equal(get.headers.get('etag'), '"1"');
      const pet = (await get.json()) as { name: string; status: string; version: number };
      assert.equal(pet.name, 'Rex');
      assert.equal(pet.status, 'available');
      assert.equal(pet.version, 1);
      const again = await fetch(`${base}/api/pets/${body.id}`, { headers: { 'if-none-match': '"1"' } });
      assert.equal(again.status, 304);
      assert.equal(again.headers.get('etag'), '"1"');
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

    it('answers a command sent again under its id with the first outcome at once, in flight or done', async () => {
      // A retried webhook, a saga resending after a restart: the queue drops the repeat, and the
      // reply goes to the first sender only; the repeat must not wait out the reply timeout.
      // Two gateways' dispatchers, each waiting far longer for a reply than the test allows.
      const [dispatcher, other] = Array.from(
        { length: 2 },
        () =>
          new CommandDispatcher({
            commands: messaging.commands,
            kv: messaging.kv,
            logger: createLogger({ name: 'dispatcher-test', level: 'warn' }),
            replyTimeoutMs: 20_000,
            maxQueueDepth: 10_000,
            retryAfterSeconds: 1,
          }),
      ) as [CommandDispatcher, CommandDispatcher];
      await Promise.all([dispatcher.start(), other.start()]);
      try {
        const commandId = randomUUID();
        const command = {
          context: 'catalog',
          type: 'CreatePet',
          aggregateId: petStreamId(String(randomInt(1, 2 ** 48 - 1))),
          data: { name: 'Repeated' },
          commandId,
          metadata: { correlationId: commandId, userId: seller.principal.userId },
        };
        const started = performance.now();
        // Twice at once from one gateway, once from another while the first is in flight …
        const outcomes = await Promise.all([
          dispatcher.dispatch(command),
          dispatcher.dispatch(command),
          other.dispatch(command),
        ]);
        // … and once more after it is done.
        outcomes.push(await other.dispatch(command));
        const elapsed = performance.now() - started;
        assert.ok(elapsed < 5_000, `the repeats took ${Math.round(elapsed)} ms`);
        for (const outcome of outcomes) {
          assert.equal(outcome.kind, 'completed');
          assert.deepEqual(outcome, outcomes[0]);
        }
        assert.equal(outcomes[0].kind === 'completed' && outcomes[0].status.status, 'succeeded');
      } finally {
        await dispatcher.stop();
        await other.stop();
      }
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
          headers: seller.headers,
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
          headers: seller.headers,
          payload: { name: 'Queued' },
        });
        assert.equal(first.statusCode, 202);
        assert.equal(await messaging.commands.depth(context), 1);
        await new Promise((r) => setTimeout(r, 250)); // past the gateway's depth cache
        const shed = await shedding.app.inject({
          method: 'POST',
          url: '/api/pets',
          headers: seller.headers,
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
      const bodies = await Promise.all(
        results.map(async (r) => (await r.json()) as { version: number; position: number }),
      );
      const versions = bodies.map((b) => b.version);
      assert.deepEqual(
        [...versions].sort((a, b) => a - b),
        Array.from({ length: 20 }, (_, i) => i + 2),
      );
      const positions = bodies.map((b) => b.position);
      const pet = (await (
        await fetch(`${base}/api/pets/${created.id}`, {
          headers: { 'x-read-after': String(Math.max(...positions)) },
        })
      ).json()) as { version: number };
      assert.equal(pet.version, 21);
    });

    const create = async (body: Record<string, unknown>) => {
      const res = await json('POST', '/api/pets', body);
      assert.equal(res.status, 201);
      return (await res.json()) as { id: string; position: number };
    };

    it('lists pets from the read model: by status and tag, sorted, paged with a cursor', async () => {
      const tag = `q${randomUUID().slice(0, 8)}`;
      let last = 0;
      for (const [name, status] of [
        ['Eve', 'available'],
        ['Bob', 'sold'],
        ['Dan', 'available'],
        ['Ann', 'available'],
        ['Cid', 'sold'],
      ]) {
        last = (await create({ name, status, tags: [{ name: tag }, { name: 'common' }] })).position;
      }
      const names = async (query: string) => {
        const res = await fetch(`${base}/api/pets?tag=${tag}&after=${last}&${query}`);
        assert.equal(res.status, 200);
        const page = (await res.json()) as { items: { name: string }[]; nextCursor: string | null };
        return { names: page.items.map((p) => p.name), next: page.nextCursor };
      };
      assert.deepEqual((await names('sort=name')).names, ['Ann', 'Bob', 'Cid', 'Dan', 'Eve']);
      assert.deepEqual((await names('sort=-name&status=sold')).names, ['Cid', 'Bob']);
      const first = await names('sort=name&limit=2');
      assert.deepEqual(first.names, ['Ann', 'Bob']);
      assert.ok(first.next);
      const second = await names(`sort=name&limit=2&cursor=${first.next}`);
      assert.deepEqual(second.names, ['Cid', 'Dan']);
      const third = await names(`sort=name&limit=2&cursor=${second.next}`);
      assert.deepEqual(third, { names: ['Eve'], next: null });
    });

    it('counts the inventory by status, every status present, and follows a write', async () => {
      const inventory = async (after: number) => {
        const res = await fetch(`${base}/api/inventory?after=${after}`);
        assert.equal(res.status, 200);
        return (await res.json()) as Record<string, number>;
      };
      const { position } = await create({ name: 'Counted' });
      const before = await inventory(position);
      assert.deepEqual(Object.keys(before).sort(), ['available', 'pending', 'sold']);
      const sold = await create({ name: 'Sold', status: 'sold' });
      const after = await inventory(sold.position);
      assert.deepEqual(after, { ...before, sold: before.sold! + 1 });
    });

    it('answers 404 for a pet that does not exist, or that its reader deleted', async () => {
      const missing = await fetch(`${base}/api/pets/nope${randomUUID().slice(0, 8)}`);
      assert.equal(missing.status, 404);
      assert.equal(((await missing.json()) as { code: string }).code, 'pet_not_found');
      const { id, position } = await create({ name: 'Gone' });
      assert.equal((await fetch(`${base}/api/pets/${id}?after=${position}`)).status, 200);
      const deleted = (await (await json('DELETE', `/api/pets/${id}`)).json()) as { position: number };
      const res = await fetch(`${base}/api/pets/${id}`, {
        headers: { 'x-read-after': String(deleted.position) },
      });
      assert.equal(res.status, 404);
    });

    it('refuses bad query parameters with 400 naming the parameter', async () => {
      const field = async (path: string, headers: Record<string, string> = {}) => {
        const res = await fetch(base + path, { headers });
        assert.equal(res.status, 400, path);
        const problem = (await res.json()) as { code: string; errors: { field: string }[] };
        assert.equal(problem.code, 'validation_failed');
        return problem.errors.map((e) => e.field).join(' ');
      };
      assert.match(await field('/api/pets?status=lost'), /query\.status/);
      assert.match(await field('/api/pets?limit=0'), /query\.limit/);
      assert.match(await field('/api/pets?limit=many'), /query\.limit/);
      assert.match(await field('/api/pets?sort=tags'), /query\.sort/);
      assert.match(await field('/api/pets?colour=red'), /query\.colour/);
      assert.match(await field('/api/pets?cursor=garbage'), /query\.cursor/);
      assert.match(await field('/api/pets?after=-1'), /query\.after/);
      assert.match(await field('/api/inventory?after=soon'), /query\.after/);
      assert.match(await field('/api/pets/1', { 'x-read-after': 'x' }), /x-read-after/);
    });

    it('answers 400 naming `after` to a position no write ever had (beyond the end of the log)', async () => {
      const res = await fetch(`${base}/api/pets?after=${Number.MAX_SAFE_INTEGER}`);
      assert.equal(res.status, 400);
      const problem = (await res.json()) as { code: string; errors: { field: string }[] };
      assert.equal(problem.code, 'validation_failed');
      assert.equal(problem.errors[0]?.field, 'query.after');
    });

    it('answers 503 read_model_behind with Retry-After rather than a stale read, then the write once applied', async () => {
      const impatient = await buildGatewayApp({
        config: loadGatewayConfig({ ...env, LOG_LEVEL: 'warn', GATEWAY_READ_WAIT_MS: '200' }),
        messaging,
        logger: createLogger({ name: 'gateway-test', level: 'warn' }),
        metrics: createMetricsRegistry({ service: 'gateway-test-4' }),
      });
      try {
        await projector.pause('pets');
        const { id, position } = await create({ name: 'Unseen' });
        for (const url of [
          `/api/pets/${id}?after=${position}`,
          `/api/pets?after=${position}`,
          `/api/inventory?after=${position}`,
        ]) {
          const res = await impatient.app.inject({ method: 'GET', url });
          assert.equal(res.statusCode, 503, url);
          assert.ok(Number(res.headers['retry-after']) > 0);
          assert.equal(res.json<{ code: string }>().code, 'read_model_behind');
        }
        // Without a position the read model answers as it is: the pet is not there yet.
        assert.equal((await impatient.app.inject({ method: 'GET', url: `/api/pets/${id}` })).statusCode, 404);
        await projector.resume('pets');
        const seen = await fetch(`${base}/api/pets/${id}?after=${position}`);
        assert.equal(seen.status, 200);
      } finally {
        await projector.resume('pets');
        await impatient.app.close();
      }
    });
  });
}
