import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { connect as connectNats } from 'nats';
import pg from 'pg';
import { createPetSchema } from '@optic-mart/catalog';
import { connectMessagingFrom, type KeyValueStore } from '@optic-mart/messaging';
import { NOTICES_CHANNEL, parseNoticeBatch } from '@optic-mart/runtime';
import { createHttpServer, createLogger, createMetricsRegistry, type HttpServer } from '@optic-mart/platform';
import { buildGatewayApp } from '../../apps/gateway/src/app.js';
import { loginAs } from '../../apps/gateway/src/auth/test-support.js';
import { loadGatewayConfig } from '../../apps/gateway/src/config.js';
import { adminQuery } from '../lib/database.js';
import * as fmt from '../lib/format.js';
import { HttpClient } from '../lib/http-client.js';
import { runTimed, type LoadResult } from '../lib/load.js';
import { petData } from '../lib/pet-events.js';
import type { Comparison } from '../lib/report.js';
import { Samples } from '../lib/stats.js';
import type { Suite, SuiteContext } from '../lib/suite.js';

/** Issue 3: at least half the plain CRUD route's commands/s, with p99 under 50 ms. */
const THROUGHPUT_GOAL = 0.5;
const P99_LIMIT_MS = 50;
const CLIENTS = Number(process.env.BENCH_GATEWAY_CLIENTS ?? 32);
/** The gateway's default GATEWAY_POOL_SIZE; the baseline's pool gets as many connections. */
const POOL_SIZE = 20;
/** Long enough that every request gets its final answer (201), never a 202 "still running". */
const REPLY_TIMEOUT_MS = 10_000;
const WORKER_READY_TIMEOUT_MS = 60_000;
const WORKER_STOP_TIMEOUT_MS = 15_000;

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WORKER_MAIN = fileURLToPath(new URL('../../apps/worker/src/main.ts', import.meta.url));
const PROJECTOR_MAIN = fileURLToPath(new URL('../../apps/projector/src/main.ts', import.meta.url));
/** Issue 4: the read model reflects a write within 100 ms (p99) while the commands run. */
const LAG_P99_LIMIT_MS = 100;
/** How long the projector may take to catch up with what earlier suites left in the store. */
const PROJECTOR_READY_TIMEOUT_MS = 300_000;
/** After the timed phase, how long writes still unapplied are waited for. */
const LAG_DRAIN_MS = 10_000;

interface Transport {
  readonly name: string;
  readonly env: Record<string, string>;
}

export const gatewaySuite: Suite = {
  name: 'gateway',
  title: 'Commands through the gateway (apps/gateway → queue → apps/worker → event store → reply)',
  baseline: 'plain CRUD',
  baselineDescription:
    'a plain Fastify app (`createHttpServer` from @optic-mart/platform, so the same HTTP stack, logging ' +
    'and metrics hooks) with `POST /api/pets` validating the same body schema (`createPetSchema`) and ' +
    `inserting one row (id, name, tags jsonb) into a plain table through a pg.Pool of ${POOL_SIZE}, ` +
    `answering 201 with the id; the same ${CLIENTS} HTTP clients (node:http, keep-alive), measured just before ` +
    'each transport.',
  run,
};

async function run(ctx: SuiteContext): Promise<void> {
  const transports: Transport[] = [
    { name: 'PostgreSQL transport', env: {} },
    {
      name: 'NATS + Redis',
      env: {
        NATS_URL: process.env.NATS_URL || 'nats://127.0.0.1:4222',
        REDIS_URL: process.env.REDIS_URL || 'redis://127.0.0.1:6379',
      },
    },
  ];
  await createPlainTable(ctx.databaseUrl);
  ctx.note(
    `load: ${CLIENTS} clients, each POSTing /api/pets {name, tags} back to back over a keep-alive socket of its own (node:http) (CreatePet, a new pet each ` +
      `time); throughput and latency count 201 answers only. The gateway runs in this process ` +
      `(GATEWAY_REPLY_TIMEOUT_MS ${REPLY_TIMEOUT_MS}, pool ${POOL_SIZE}); ONE catalog worker runs as a child ` +
      `process (\`node --import tsx apps/worker/src/main.ts --context catalog\`, default WORKER_CONCURRENCY ` +
      `and WORKER_POOL_SIZE); the load generator shares the gateway's process and event loop.`,
  );
  ctx.note(
    `projection lag: ONE projector runs as a child process too (\`apps/projector/src/main.ts\`, the pets ` +
      `read model) while the gateway's commands run; for every 201 of the timed phase, the time from the ` +
      `client receiving the reply (with its position) until the projector's notice for a batch reaching that ` +
      `position arrives on \`read-notices\` (0 when it had arrived before the reply): how long a ` +
      `read-your-writes query would wait.`,
  );
  for (const transport of transports) {
    const baseline = await withPlainCrud(ctx, (url) => httpLoad(ctx, url));
    const lag = new LagMeter();
    const ours = await withGateway(ctx, transport, async (url, kv, auth) => {
      await lag.listen(kv);
      const result = await httpLoad(ctx, url, lag, auth);
      await lag.drain(LAG_DRAIN_MS);
      return result;
    });
    ctx.record(compare(ctx, transport, ours, baseline));
    ctx.record(lagRow(ctx, transport, lag));
  }
}

// ── projection lag ─────────────────────────────────────────────────────────

/**
 * How long after a command's reply the pets read model has applied its event: each created pet's
 * position waits for the first `read-notices` batch of the pets projection whose `to` reaches it.
 */
class LagMeter {
  readonly samples = new Samples();
  /** Writes not applied yet, by ascending position. */
  readonly #pending: { position: number; at: number }[] = [];
  #reached = 0;
  #measuring = false;
  #unsubscribe: (() => Promise<void>) | null = null;

  async listen(kv: KeyValueStore): Promise<void> {
    this.#unsubscribe = await kv.subscribe(NOTICES_CHANNEL, (message) => {
      const batch = parseNoticeBatch(message);
      if (batch?.projection !== 'pets' || batch.to <= this.#reached) return;
      this.#reached = batch.to;
      const now = performance.now();
      let applied = 0;
      while (applied < this.#pending.length && this.#pending[applied]!.position <= batch.to) {
        if (this.#measuring) this.samples.add(now - this.#pending[applied]!.at);
        applied++;
      }
      this.#pending.splice(0, applied);
    });
  }

  set measuring(on: boolean) {
    this.#measuring = on;
  }

  /** A command's reply arrived with this position. */
  written(position: number): void {
    if (!this.#measuring) return;
    if (position <= this.#reached) {
      this.samples.add(0);
      return;
    }
    // Replies arrive nearly in position order: insert from the end.
    let i = this.#pending.length;
    while (i > 0 && this.#pending[i - 1]!.position > position) i--;
    this.#pending.splice(i, 0, { position, at: performance.now() });
  }

  /** Waits (up to `ms`) for the writes of the timed phase still unapplied, then stops listening. */
  async drain(ms: number): Promise<void> {
    const deadline = performance.now() + ms;
    while (this.#pending.length > 0 && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    this.#measuring = false;
    await this.#unsubscribe?.();
  }

  /** Writes the read model had not applied when the drain gave up. */
  get unapplied(): number {
    return this.#pending.length;
  }
}

function lagRow(ctx: SuiteContext, transport: Transport, lag: LagMeter): Comparison {
  const latency = lag.samples.summary();
  const ok = latency.count > 0 && latency.p99 < LAG_P99_LIMIT_MS && lag.unapplied === 0;
  const operation = `projection lag, pets read model (${transport.name}), while the commands run`;
  ctx.note(
    `${transport.name}: projection lag over ${fmt.count(latency.count)} writes: p50 ${fmt.ms(latency.p50)} ms, ` +
      `p99 ${fmt.ms(latency.p99)} ms (${ok ? 'under' : 'NOT under'} the ${LAG_P99_LIMIT_MS} ms goal), max ` +
      `${fmt.ms(latency.max)} ms` +
      (lag.unapplied > 0 ? `; ${fmt.count(lag.unapplied)} writes NOT applied within ${LAG_DRAIN_MS} ms` : ''),
  );
  ctx.progress(`${operation}: p50 ${fmt.ms(latency.p50)} / p99 ${fmt.ms(latency.p99)} ms`);
  return {
    operation,
    ours: {
      value: latency.p99,
      unit: 'ms lag (p99)',
      latency,
      note: `p99 ${ok ? '<' : '≥'} ${LAG_P99_LIMIT_MS} ms: ${ok ? 'ok' : 'OVER GOAL'}`,
    },
    lowerIsBetter: true,
  };
}

// ── load ───────────────────────────────────────────────────────────────────

/** Request bodies made once: the clients should spend their CPU on requests, not on payloads. */
const BODIES = Array.from({ length: 1024 }, (_, n) => {
  const pet = petData(n);
  return JSON.stringify({ name: pet.name, tags: pet.tags });
});

interface HttpResult {
  /** 201 answers of the measured part, and their latency. */
  readonly load: LoadResult;
  /** Other answers of the measured part, by status (or by error for failed requests). */
  readonly others: ReadonlyMap<string, number>;
}

/**
 * `CLIENTS` clients POSTing pets to `baseUrl`: a warm-up, then a timed phase counting only 201s
 * (each reply's position goes to `lag`, when given).
 */
async function httpLoad(
  ctx: SuiteContext,
  baseUrl: string,
  lag?: LagMeter,
  auth: Readonly<Record<string, string>> = {},
): Promise<HttpResult> {
  const client = new HttpClient(baseUrl, CLIENTS);
  const post = async (n: number): Promise<string> => {
    try {
      const res = await client.post('/api/pets', BODIES[n % BODIES.length]!, auth);
      if (lag && res.status === 201) lag.written((JSON.parse(res.body) as { position: number }).position);
      return String(res.status);
    } catch (err) {
      return `error ${(err as { code?: string }).code ?? (err as Error).name}`;
    }
  };
  try {
    if (ctx.settings.warmupSeconds > 0) {
      await runTimed({
        concurrency: CLIENTS,
        warmupSeconds: 0,
        seconds: ctx.settings.warmupSeconds,
        worker: () => post,
      });
    }
    const created = new Samples();
    const others = new Map<string, number>();
    if (lag) lag.measuring = true;
    const timed = await runTimed({
      concurrency: CLIENTS,
      warmupSeconds: 0,
      seconds: ctx.settings.phaseSeconds,
      worker: () => async (n) => {
        const t0 = performance.now();
        const status = await post(n);
        if (status === '201') created.add(performance.now() - t0);
        else others.set(status, (others.get(status) ?? 0) + 1);
      },
    });
    return {
      load: { operations: created.count, seconds: timed.seconds, latency: created.summary() },
      others,
    };
  } finally {
    client.close();
  }
}

function compare(ctx: SuiteContext, transport: Transport, ours: HttpResult, plain: HttpResult): Comparison {
  const operation = `command through gateway (${transport.name}), ${CLIENTS} clients`;
  const p99 = ours.load.latency.p99;
  const p99Ok = ours.load.operations > 0 && p99 < P99_LIMIT_MS;
  const row: Comparison = {
    operation,
    ours: {
      value: ours.load.operations / ours.load.seconds,
      unit: 'commands/s',
      latency: ours.load.latency,
      note: `p99 ${p99Ok ? '<' : '≥'} ${P99_LIMIT_MS} ms: ${p99Ok ? 'ok' : 'OVER LIMIT'}`,
    },
    baseline: {
      value: plain.load.operations / plain.load.seconds,
      unit: 'inserts/s',
      latency: plain.load.latency,
    },
    goal: THROUGHPUT_GOAL,
  };
  const describe = (r: HttpResult) =>
    r.others.size === 0
      ? 'no non-201 answers'
      : `non-201: ${[...r.others].map(([status, n]) => `${fmt.count(n)} × ${status}`).join(', ')}`;
  ctx.note(
    `${transport.name}: ${fmt.count(ours.load.operations)} pets created in ${fmt.seconds(ours.load.seconds)}, ` +
      `p99 ${fmt.ms(p99)} ms (${p99Ok ? 'under' : 'NOT under'} the ${P99_LIMIT_MS} ms limit), max ` +
      `${fmt.ms(ours.load.latency.max)} ms, ${describe(ours)}; its baseline: ` +
      `${fmt.count(plain.load.operations)} rows, p99 ${fmt.ms(plain.load.latency.p99)} ms, ${describe(plain)}.`,
  );
  ctx.progress(
    `${operation}: optic-mart ${fmt.count(row.ours.value)} commands/s (p50 ${fmt.ms(ours.load.latency.p50)} / ` +
      `p99 ${fmt.ms(p99)} ms), plain CRUD ${fmt.count(row.baseline!.value)} inserts/s ` +
      `(p50 ${fmt.ms(plain.load.latency.p50)} / p99 ${fmt.ms(plain.load.latency.p99)} ms)`,
  );
  return row;
}

// ── the baseline: a plain CRUD route ───────────────────────────────────────

async function createPlainTable(url: string): Promise<void> {
  await adminQuery(
    url,
    `CREATE SCHEMA IF NOT EXISTS plain_crud;
     CREATE TABLE plain_crud.pets (id text PRIMARY KEY, name text NOT NULL, tags jsonb NOT NULL)`,
  );
}

async function withPlainCrud<T>(ctx: SuiteContext, phase: (baseUrl: string) => Promise<T>): Promise<T> {
  await checkpoint(ctx.databaseUrl);
  const pool = new pg.Pool({ connectionString: ctx.databaseUrl, max: POOL_SIZE });
  pool.on('error', () => undefined); // an idle connection closed by DROP DATABASE at the end
  const app: HttpServer = createHttpServer({
    logger: createLogger({ name: 'bench-crud', level: 'warn', destination: process.stderr }),
    metrics: createMetricsRegistry({ service: 'bench-crud' }),
  });
  app.post<{ Body: { name: string; tags?: unknown[] } }>(
    '/api/pets',
    { schema: { body: createPetSchema } },
    async (request, reply) => {
      const id = String(randomInt(1, 2 ** 48 - 1));
      await pool.query('INSERT INTO plain_crud.pets (id, name, tags) VALUES ($1, $2, $3)', [
        id,
        request.body.name,
        JSON.stringify(request.body.tags ?? []),
      ]);
      return reply.code(201).header('location', `/api/pets/${id}`).send({ id });
    },
  );
  try {
    const baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
    return await phase(baseUrl);
  } finally {
    await app.close();
    await pool.end();
  }
}

// ── ours: gateway in this process, one worker as a child process ───────────

async function withGateway<T>(
  ctx: SuiteContext,
  transport: Transport,
  phase: (baseUrl: string, kv: KeyValueStore, auth: Readonly<Record<string, string>>) => Promise<T>,
): Promise<T> {
  await checkpoint(ctx.databaseUrl);
  const prefix = `bench${randomBytes(4).toString('hex')}`;
  const env: Record<string, string> = {
    DATABASE_URL: ctx.databaseUrl,
    MESSAGING_PREFIX: prefix,
    LOG_LEVEL: 'warn',
    ...transport.env,
  };
  const config = loadGatewayConfig({
    ...env,
    GATEWAY_REPLY_TIMEOUT_MS: String(REPLY_TIMEOUT_MS),
    GATEWAY_POOL_SIZE: String(POOL_SIZE),
  });
  const logger = createLogger({ name: 'bench-gateway', level: 'warn', destination: process.stderr });
  const messaging = await connectMessagingFrom(config, logger);
  let worker: ChildProcess | undefined;
  let projector: ChildProcess | undefined;
  let app: HttpServer | undefined;
  try {
    let store, auth;
    ({ app, store, auth } = await buildGatewayApp({
      config,
      messaging,
      logger,
      metrics: createMetricsRegistry({ service: 'bench-gateway' }),
    }));
    const baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
    worker = startWorker(env);
    projector = startChild(PROJECTOR_MAIN, [], { ...env, PROJECTOR_PORT: String(await freePort()) });
    // Pets are the catalog's: a seller creates them (logged in once, as a shop's back office would).
    const seller = (await loginAs(auth, 'seller')).headers;
    await untilServed(baseUrl, worker, seller);
    await untilProjected(store, projector);
    ctx.progress(
      `${transport.name}: gateway at ${baseUrl}, worker pid ${worker.pid} serving catalog, ` +
        `projector pid ${projector.pid} caught up`,
    );
    return await phase(baseUrl, messaging.kv, seller);
  } finally {
    // The worker goes first (it finishes what it holds), then the gateway and its connections.
    if (worker) await stopWorker(worker);
    if (projector) await stopWorker(projector);
    await app?.close();
    await messaging.close();
    await forgetPrefix(transport, prefix).catch((err: unknown) =>
      ctx.progress(`could not remove the ${prefix} streams and keys: ${String(err)}`),
    );
  }
}

function startWorker(env: Record<string, string>): ChildProcess {
  return startChild(WORKER_MAIN, ['--context', 'catalog'], env);
}

function startChild(main: string, args: readonly string[], env: Record<string, string>): ChildProcess {
  // BENCH_CHILD_NODE_ARGS: extra node flags for the children, e.g. `--cpu-prof --cpu-prof-dir=prof`.
  const nodeArgs = (process.env.BENCH_CHILD_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', main, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    // Its logs (warnings and worse) go to our stderr: stdout is the report's.
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  child.stdout?.pipe(process.stderr);
  return child;
}

/** Waits until the gateway has a worker for the catalog: a pet is created (503 until then). */
async function untilServed(
  baseUrl: string,
  worker: ChildProcess,
  auth: Readonly<Record<string, string>>,
): Promise<void> {
  const deadline = performance.now() + WORKER_READY_TIMEOUT_MS;
  let last = '';
  while (performance.now() < deadline) {
    if (worker.exitCode !== null || worker.signalCode !== null)
      throw new Error(`the worker exited (${worker.exitCode ?? worker.signalCode}) before serving`);
    try {
      const res = await fetch(`${baseUrl}/api/pets`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: BODIES[0]!,
      });
      last = `${res.status} ${await res.text()}`;
      if (res.status === 201) return;
    } catch (err) {
      last = String(err);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`no worker served the catalog within ${WORKER_READY_TIMEOUT_MS} ms; last answer: ${last}`);
}

/** A port free right now (for the projector's admin API, which the bench does not use). */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  return typeof address === 'object' && address !== null ? address.port : 0;
}

/** Waits until the projector's live pets build has applied everything in the store. */
async function untilProjected(
  store: { headPosition(): Promise<number>; pool: pg.Pool },
  projector: ChildProcess,
): Promise<void> {
  const deadline = performance.now() + PROJECTOR_READY_TIMEOUT_MS;
  while (performance.now() < deadline) {
    if (projector.exitCode !== null || projector.signalCode !== null)
      throw new Error(
        `the projector exited (${projector.exitCode ?? projector.signalCode}) before catching up`,
      );
    const head = await store.headPosition();
    const { rows } = await store.pool
      .query<{ position: string }>(
        `SELECT position FROM projection.builds WHERE name = 'pets' AND status = 'live'`,
      )
      .catch(() => ({ rows: [] as { position: string }[] }));
    if (rows[0] && Number(rows[0].position) >= head) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the projector did not catch up within ${PROJECTOR_READY_TIMEOUT_MS} ms`);
}

async function stopWorker(worker: ChildProcess): Promise<void> {
  if (worker.exitCode !== null || worker.signalCode !== null) return;
  const exited = once(worker, 'exit');
  worker.kill('SIGTERM');
  const timer = setTimeout(() => worker.kill('SIGKILL'), WORKER_STOP_TIMEOUT_MS);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Removes a run's JetStream streams and Redis keys from the shared servers (best effort). */
async function forgetPrefix(transport: Transport, prefix: string): Promise<void> {
  const { NATS_URL, REDIS_URL } = transport.env;
  if (NATS_URL) {
    const nc = await connectNats({ servers: NATS_URL });
    try {
      const jsm = await nc.jetstreamManager();
      for (const info of await jsm.streams.list().next()) {
        if (info.config.name.startsWith(`${prefix}_`)) await jsm.streams.delete(info.config.name);
      }
    } finally {
      await nc.close();
    }
  }
  if (REDIS_URL) {
    const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 2 });
    try {
      await redis.connect();
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        if (keys.length > 0) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    } finally {
      redis.disconnect();
    }
  }
}

// ── helpers ────────────────────────────────────────────────────────────────

/** Starts each phase with dirty buffers written out, so that a checkpoint falls on neither side. */
async function checkpoint(url: string): Promise<void> {
  await adminQuery(url, 'CHECKPOINT').catch(() => undefined); // needs superuser or pg_checkpoint: best effort
}
