// Crash safety (issue 3) with real processes: a worker SIGKILLed with 1,000 commands in flight, or
// under live load, loses and duplicates no accepted command; two workers of one context share its
// commands; a relay SIGKILLed mid-stream hands over without losing or repeating an event. Once on
// NATS JetStream + Redis, once on PostgreSQL alone.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { EventStore } from '@optic-mart/eventstore';
import { connectMessaging, type BusEvent, type Messaging } from '@optic-mart/messaging';
import { createLogger, createMetricsRegistry, type HttpServer } from '@optic-mart/platform';
import { createTestDatabase, sleep, type TestDatabase, freePort, waitUntil } from '@optic-mart/testkit';
import { buildGatewayApp } from '../../gateway/src/app.js';
import type { Auth } from '../../gateway/src/auth/index.js';
import { loginAs, type TestLogin } from '../../gateway/src/auth/test-support.js';
import { loadGatewayConfig } from '../../gateway/src/config.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const LEASE_MS = 2_000;

const transports = [
  {
    name: 'NATS JetStream + Redis',
    env: {
      NATS_URL: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    } as Record<string, string>,
  },
  { name: 'PostgreSQL alone', env: {} as Record<string, string> },
];

/** A role as a real child process, its stdout kept (JSON log lines). */
interface Child {
  readonly proc: ChildProcess;
  readonly out: string[];
  readonly exited: Promise<void>;
}

function spawnRole(script: string, args: string[], env: Record<string, string>): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: string[] = [];
  let partial = '';
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    out.push(...lines);
  });
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    process.stderr.write(`[${script} ${proc.pid}] ${chunk}`);
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return { proc, out, exited };
}

async function kill(child: Child, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  child.proc.kill(signal);
  await child.exited;
}

/** Runs `task` for each index with at most `limit` at once. */
async function pool(count: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

for (const transport of transports) {
  describe(`crash safety on ${transport.name}`, () => {
    let db: TestDatabase;
    let messaging: Messaging;
    let app: HttpServer;
    let base: string;
    let sql: pg.Pool;
    const children = new Set<Child>();
    const prefix = `c${randomUUID().slice(0, 8)}`;
    let env: Record<string, string>;

    const startWorker = (logLevel = 'warn', heartbeatMs = 200): Child => {
      const child = spawnRole('apps/worker/src/main.ts', ['--context', 'catalog'], {
        ...env,
        LOG_LEVEL: logLevel,
        WORKER_HEARTBEAT_MS: String(heartbeatMs),
        WORKER_LEASE_MS: String(LEASE_MS),
        WORKER_POOL_SIZE: '8',
      });
      children.add(child);
      return child;
    };

    const liveWorkers = async (): Promise<string[]> => {
      const found = await messaging.kv.members('workers/catalog');
      return [...found.values()].map((v) => (JSON.parse(v) as { workerId: string }).workerId);
    };

    let auth: Auth;
    let seller: TestLogin;
    const json = (method: string, path: string, body?: unknown) =>
      fetch(base + path, {
        method,
        headers: {
          ...seller.headers,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });

    before(async () => {
      db = await createTestDatabase('crash');
      env = { DATABASE_URL: db.url, MESSAGING_PREFIX: prefix, ...transport.env };
      messaging = await connectMessaging({
        databaseUrl: db.url,
        prefix,
        ...(env.NATS_URL ? { natsUrl: env.NATS_URL } : {}),
        ...(env.REDIS_URL ? { redisUrl: env.REDIS_URL } : {}),
      });
      ({ app, auth } = await buildGatewayApp({
        config: loadGatewayConfig({
          ...env,
          LOG_LEVEL: 'warn',
          GATEWAY_REPLY_TIMEOUT_MS: '500',
          GATEWAY_POOL_SIZE: '5',
        }),
        messaging,
        logger: createLogger({ name: 'gateway-test', level: 'error' }),
        metrics: createMetricsRegistry({ service: 'gateway-crash-test' }),
      }));
      base = await app.listen({ host: '127.0.0.1', port: 0 });
      seller = await loginAs(auth, 'seller');
      sql = new pg.Pool({ connectionString: db.url, max: 4 });
    });

    after(async () => {
      await Promise.allSettled([...children].map((c) => kill(c)));
      await app?.close();
      await messaging?.close();
      await sql?.end();
      await db?.drop();
    });

    /** PetUpdated events carrying a tag of this run, counted per tag. */
    const appliedTags = async (run: string): Promise<Map<string, number>> => {
      const { rows } = await sql.query<{ tag: string; n: string }>(
        `SELECT t->>'name' AS tag, count(*) AS n
           FROM eventstore.events, jsonb_array_elements(data->'tags') t
          WHERE type = 'PetUpdated' AND t->>'name' LIKE $1
          GROUP BY 1`,
        [`${run}-%`],
      );
      return new Map(rows.map((r) => [r.tag, Number(r.n)]));
    };

    const createPets = async (count: number): Promise<string[]> => {
      const pets: string[] = [];
      await pool(count, 16, async (i) => {
        const res = await json('POST', '/api/pets', { name: `Pet ${i}` });
        assert.equal(res.status, 201);
        pets.push(((await res.json()) as { id: string }).id);
      });
      return pets;
    };

    const waitForStatus = async (location: string): Promise<string> => {
      let status = 'pending';
      const deadline = Date.now() + 60_000;
      while (status === 'pending' && Date.now() < deadline) {
        status = ((await (await fetch(base + location)).json()) as { status: string }).status;
        if (status === 'pending') await sleep(100);
      }
      return status;
    };

    it('SIGKILLs a worker with 1,000 commands in flight and starts another: each applied exactly once', async () => {
      // A long heartbeat keeps the paused worker registered, so the gateway accepts all 1,000.
      const first = startWorker('warn', 5_000);
      await waitUntil('the first worker to register', async () => (await liveWorkers()).length === 1);
      const pets = await createPets(50);

      // Pause the worker, then send 1,000 commands at once: each is accepted (202) and waits.
      first.proc.kill('SIGSTOP');
      const run = randomUUID().slice(0, 8);
      const total = 1000;
      const answers = await Promise.all(
        Array.from({ length: total }, async (_, i) => {
          const tag = `${run}-${i}`;
          const res = await json('PUT', `/api/pets/${pets[i % pets.length]!}`, {
            name: `Pet ${i % pets.length}`,
            tags: [{ name: tag }],
          });
          const detail = res.status === 202 ? '' : ((await res.json()) as { detail?: string }).detail;
          return { tag, status: res.status, detail, location: String(res.headers.get('location')) };
        }),
      );
      const refused = answers.filter((a) => a.status !== 202);
      assert.deepEqual(
        refused.slice(0, 3).map((a) => `${a.status} ${a.detail}`),
        [],
        `all 202 (${refused.length} were not)`,
      );
      const queued = await messaging.commands.depth('catalog');

      // Let it work, and kill it as soon as it has applied a few: it dies holding commands.
      first.proc.kill('SIGCONT');
      await waitUntil(
        'the first worker to apply some',
        async () => (await appliedTags(run)).size >= 20,
        30_000,
      );
      await kill(first);
      const appliedAtKill = (await appliedTags(run)).size;
      const inFlight = total - appliedAtKill;
      assert.ok(inFlight >= total / 2, `most commands still in flight at the kill (${inFlight})`);

      startWorker('warn');
      const ends = await Promise.all(answers.map((a) => waitForStatus(a.location)));
      assert.deepEqual(
        ends.filter((s) => s !== 'succeeded'),
        [],
        'every accepted command ends succeeded',
      );

      const counts = await appliedTags(run);
      const lost = answers.filter((a) => !counts.has(a.tag)).map((a) => a.tag);
      assert.deepEqual(lost, [], 'no accepted command is lost');
      const twice = [...counts].filter(([, n]) => n !== 1);
      assert.deepEqual(twice, [], 'no command applied twice');
      const dupes = await sql.query(
        `SELECT metadata->>'commandId' AS id, count(*) FROM eventstore.events
          GROUP BY 1 HAVING count(*) > 1`,
      );
      assert.deepEqual(dupes.rows, [], 'one event per command id');
      console.log(
        `[${transport.name}] 1,000 accepted (202), ${queued} waiting in the queue; worker killed ` +
          `after applying ${appliedAtKill}, so ${inFlight} in flight; the new worker applied the ` +
          `rest: ${counts.size} applied once each, none lost, none twice`,
      );
      for (const c of children) await kill(c, 'SIGTERM');
      await waitUntil('the workers to deregister', async () => (await liveWorkers()).length === 0, 30_000);
    });

    it('SIGKILLs a worker under a live load of 1,000 commands and starts another: every 200/202 is applied once', async () => {
      const first = startWorker();
      await waitUntil('the first worker to register', async () => (await liveWorkers()).length === 1);

      const pets = await createPets(50);

      const run = randomUUID().slice(0, 8);
      const total = 1000;
      const killAfter = 300;
      let sent = 0;
      let restarted: Promise<Child> | null = null;
      const statuses = new Map<number, number>();
      const accepted: string[] = [];
      const pending: { tag: string; location: string }[] = [];
      await pool(total, 64, async (i) => {
        sent++;
        if (sent === killAfter) {
          restarted = (async () => {
            await kill(first);
            return startWorker('debug');
          })();
        }
        const tag = `${run}-${i}`;
        const res = await json('PUT', `/api/pets/${pets[i % pets.length]!}`, {
          name: `Pet ${i % pets.length}`,
          tags: [{ name: tag }],
        });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status === 200 || res.status === 202) accepted.push(tag);
        if (res.status === 202) pending.push({ tag, location: String(res.headers.get('location')) });
        await res.body?.cancel();
      });
      const replacement = await (restarted as Promise<Child> | null);
      assert.ok(replacement, 'the worker was killed and replaced');

      const unexpected = [...statuses.keys()].filter((s) => ![200, 202, 503].includes(s));
      assert.deepEqual(unexpected, [], `only 200, 202 and 503: ${JSON.stringify([...statuses])}`);
      assert.ok(accepted.length > killAfter / 2, 'most commands were accepted');

      // Every 202 ends succeeded (the new worker takes what the dead one held once its lease runs out).
      await Promise.all(
        pending.map(async ({ tag, location }) => {
          assert.equal(await waitForStatus(location), 'succeeded', `command for ${tag} at ${location}`);
        }),
      );

      // Exactly once, by content: each accepted tag is in one PetUpdated event; no command twice.
      const counts = await appliedTags(run);
      const lost = accepted.filter((tag) => !counts.has(tag));
      assert.deepEqual(lost, [], 'no accepted command is lost');
      const twice = [...counts].filter(([, n]) => n !== 1);
      assert.deepEqual(twice, [], 'no command applied twice');
      const dupes = await sql.query(
        `SELECT metadata->>'commandId' AS id, count(*) FROM eventstore.events
          GROUP BY 1 HAVING count(*) > 1`,
      );
      assert.deepEqual(dupes.rows, [], 'one event per command id');
      // Evidence that the kill caught commands in flight: the replacement logged applying some on a
      // second attempt. Reported, not asserted: its log lines may still sit in its stdout buffer.
      const redeliveredLines = () =>
        replacement.out.filter((l) => {
          if (!l.includes('"command applied"')) return false;
          return ((JSON.parse(l) as { attempt?: number }).attempt ?? 1) > 1;
        }).length;
      await waitUntil('a redelivery in the log', () => redeliveredLines() > 0, 3_000).catch(() => undefined);
      const redelivered = redeliveredLines();
      console.log(
        `[${transport.name}] sent ${total}: ${JSON.stringify(Object.fromEntries(statuses))}; ` +
          `accepted ${accepted.length}, of them 202 ${pending.length}; applied ${counts.size}; ` +
          `redelivered to the new worker ${redelivered} ` +
          `(503s were not accepted; ${counts.size - accepted.length} of them applied anyway)`,
      );
    });

    it('shares one context between two workers: both handle commands', async () => {
      for (const c of children) await kill(c, 'SIGTERM');
      await waitUntil('the old workers to deregister', async () => (await liveWorkers()).length === 0);
      const a = startWorker('debug');
      const b = startWorker('debug');
      await waitUntil('both workers to register', async () => (await liveWorkers()).length === 2);
      const created: number[] = [];
      await pool(200, 64, async (i) => {
        const res = await json('POST', '/api/pets', { name: `Shared ${i}` });
        created.push(res.status);
        await res.body?.cancel();
      });
      assert.ok(
        created.every((s) => s === 201 || s === 202),
        String(created.filter((s) => s !== 201)),
      );
      await waitUntil('every command to be applied', () => applied(a) + applied(b) >= 200, 20_000);
      console.log(`[${transport.name}] two workers applied ${applied(a)} and ${applied(b)} of 200`);
      assert.ok(applied(a) > 0 && applied(b) > 0, 'both workers took commands');
      assert.equal(applied(a) + applied(b), 200);
    });

    it('SIGKILLs the relay mid-stream and restarts it: the bus group sees every event exactly once', async () => {
      const seen: BusEvent[] = [];
      const consumer = await messaging.events.subscribe(`audit-${randomUUID().slice(0, 8)}`, {
        concurrency: 1,
        handler: async (e) => {
          seen.push(e);
        },
      });
      const store = new EventStore({ connectionString: db.url, poolSize: 2, sweepIntervalMs: 0 });
      await store.start();
      try {
        const startEventStore = async (): Promise<Child> => {
          const child = spawnRole('apps/eventstore/src/main.ts', [], {
            ...env,
            LOG_LEVEL: 'info',
            EVENTSTORE_PORT: String(await freePort()),
            EVENTSTORE_POOL_SIZE: '5',
          });
          children.add(child);
          return child;
        };
        const leading = (child: Child) => child.out.some((l) => l.includes('relay leading'));
        const first = await startEventStore();
        await waitUntil('the relay to lead', () => leading(first));

        let appending = true;
        let appended = 0;
        const writer = (async () => {
          while (appending) {
            await store.append(`relay-crash-${randomUUID()}`, [{ type: 'Happened', data: { n: appended } }], {
              expectedVersion: 1,
            });
            appended++;
            await sleep(2);
          }
        })();
        await waitUntil('some relayed events', () => seen.some((e) => e.streamId.startsWith('relay-crash-')));
        await sleep(500);
        await kill(first);
        const killedAt = appended;
        const second = await startEventStore();
        await waitUntil('the second relay to lead', () => leading(second));
        await sleep(500);
        appending = false;
        await writer;

        const { rows } = await sql.query<{ id: string }>('SELECT id FROM eventstore.events');
        const all = new Set(rows.map((r) => r.id));
        await waitUntil('every event on the bus', () => seen.length >= all.size, 20_000);
        await sleep(500);
        const ids = seen.map((e) => e.id);
        assert.equal(new Set(ids).size, ids.length, 'no event twice');
        assert.equal(ids.length, all.size, 'every event once');
        assert.ok(ids.every((id) => all.has(id)));
        console.log(
          `[${transport.name}] relay: ${appended} appended (${killedAt} before the kill), ` +
            `${all.size} events in the store, ${seen.length} seen on the bus, none twice`,
        );
      } finally {
        await consumer.stop();
        await store.close();
      }
    });
  });
}

/** How many commands a worker child logged as applied (LOG_LEVEL=debug). */
function applied(child: Child): number {
  return child.out.filter((l) => l.includes('"command applied"')).length;
}
