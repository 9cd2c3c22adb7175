import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { EventStore } from '@optic-mart/eventstore';
import * as fmt from '../lib/format.js';
import { rate, runCounted, runTimed, type LoadResult } from '../lib/load.js';
import { payloadBytes, petEvents } from '../lib/pet-events.js';
import type { Comparison, Measurement } from '../lib/report.js';
import { Samples } from '../lib/stats.js';
import type { Suite, SuiteContext } from '../lib/suite.js';
import { PlainEventTable } from './plain-event-table.js';

const APPEND_GOAL = 0.8;
const READ_GOAL = 0.7;
const SINGLE_WRITERS = [1, 8, 32] as const;
const BATCH_WRITERS = 8;
const BATCH_SIZE = 100;
const READ_PAGE = 1_000;
const READ_WARMUP_PAGES = 20;

export const eventStoreSuite: Suite = {
  name: 'eventstore',
  title: 'Event store (@optic-mart/eventstore)',
  baseline: 'plain SQL',
  baselineDescription:
    'the same table shape, plain INSERT/SELECT: `plain.events` created `(LIKE eventstore.events INCLUDING ALL)` ' +
    'with its own sequence, in the same database, written with autocommit INSERTs (no version check, no global ' +
    'order) and read with `WHERE seq > $1 ORDER BY seq LIMIT 1000`; the same event data, pools of the same size, ' +
    'plain measured just before ours in each phase.',
  run,
};

async function run(ctx: SuiteContext): Promise<void> {
  const url = ctx.databaseUrl;
  const total = Math.max(BATCH_SIZE, Math.round(ctx.settings.events / BATCH_SIZE) * BATCH_SIZE);
  const bytes = payloadBytes();
  ctx.note(
    `event data: a pet (name, category, tags, price in cents, photo), ${bytes.data} bytes of JSON on average; ` +
      `metadata (command, correlation and user ids) ${bytes.metadata} bytes.`,
  );

  const setup = new EventStore({ connectionString: url, poolSize: 2, sweepIntervalMs: 0 });
  await setup.start(); // applies the schema, which the plain table copies
  await setup.close();
  await PlainEventTable.create(url);

  // The log is filled first, so that the appends below are measured on a table of realistic size.
  // Their rows come first in the report all the same; fill and read are recorded at the end.
  const deferred: Comparison[] = [];
  try {
    deferred.push(await fill(ctx, total));
    await vacuum(url);
    deferred.push(await readAll(ctx, total));
    for (const writers of SINGLE_WRITERS) ctx.record(await singleAppends(ctx, writers));
    ctx.record(await batchAppends(ctx));
  } finally {
    for (const row of deferred) ctx.record(row);
  }
  await describeTables(ctx);
}

// ── phases ─────────────────────────────────────────────────────────────────

async function singleAppends(ctx: SuiteContext, writers: number): Promise<Comparison> {
  const operation = `append 1 event, ${writers} writer${writers === 1 ? '' : 's'}`;
  const timed = {
    concurrency: writers,
    warmupSeconds: ctx.settings.warmupSeconds,
    seconds: ctx.settings.phaseSeconds,
  };
  const plain = await withPlain(ctx, writers, (table) =>
    runTimed({
      ...timed,
      worker: (w) => {
        const stream = `pet-single${writers}-${w}`;
        let version = 0;
        return (n) => table.insertOne(stream, ++version, petEvents(n, 1)[0]!);
      },
    }),
  );
  const ours = await withStore(ctx, writers, (store) =>
    runTimed({
      ...timed,
      worker: (w) => {
        const stream = `pet-single${writers}-${w}`;
        let version = 0;
        return (n) => store.append(stream, petEvents(n, 1), { expectedVersion: ++version });
      },
    }),
  );
  return done(ctx, operation, ours, plain, 'appends/s', 1, APPEND_GOAL);
}

async function batchAppends(ctx: SuiteContext): Promise<Comparison> {
  const operation = `append ${BATCH_SIZE} events, ${BATCH_WRITERS} writers`;
  const timed = {
    concurrency: BATCH_WRITERS,
    warmupSeconds: ctx.settings.warmupSeconds,
    seconds: ctx.settings.phaseSeconds,
  };
  const plain = await withPlain(ctx, BATCH_WRITERS, (table) =>
    runTimed({
      ...timed,
      worker: (w) => {
        const stream = `pet-batch-${w}`;
        let version = 1;
        return async (n) => {
          await table.insertBatch(stream, version, petEvents(n * BATCH_SIZE, BATCH_SIZE));
          version += BATCH_SIZE;
        };
      },
    }),
  );
  const ours = await withStore(ctx, BATCH_WRITERS, (store) =>
    runTimed({
      ...timed,
      worker: (w) => {
        const stream = `pet-batch-${w}`;
        let version = 1;
        return async (n) => {
          await store.append(stream, petEvents(n * BATCH_SIZE, BATCH_SIZE), { expectedVersion: version });
          version += BATCH_SIZE;
        };
      },
    }),
  );
  return done(ctx, operation, ours, plain, 'events/s', BATCH_SIZE, APPEND_GOAL);
}

/** Fills both logs with `total` events: 8 writers, 100-event batches, a stream per batch. */
async function fill(ctx: SuiteContext, total: number): Promise<Comparison> {
  const operation = `fill ${fmt.count(total)} events, ${BATCH_WRITERS} writers × ${BATCH_SIZE}`;
  const counted = { concurrency: BATCH_WRITERS, operations: total / BATCH_SIZE };
  const batch = (n: number) => petEvents(n * BATCH_SIZE, BATCH_SIZE);
  const plain = await withPlain(ctx, BATCH_WRITERS, (table) =>
    runCounted({ ...counted, worker: () => (n) => table.insertBatch(`pet-fill-${n}`, 1, batch(n)) }),
  );
  const ours = await withStore(ctx, BATCH_WRITERS, (store) =>
    runCounted({
      ...counted,
      worker: () => (n) => store.append(`pet-fill-${n}`, batch(n), { expectedVersion: 1 }),
    }),
  );
  const measure = (r: LoadResult): Measurement => ({
    ...perSecond(r, 'events/s', BATCH_SIZE),
    note: fmt.seconds(r.seconds),
  });
  ctx.progress(
    `${operation}: optic-mart ${fmt.seconds(ours.seconds)}, plain SQL ${fmt.seconds(plain.seconds)}`,
  );
  return { operation, ours: measure(ours), baseline: measure(plain) };
}

/** Reads each whole log from the start in pages of 1,000 (one reader). */
async function readAll(ctx: SuiteContext, total: number): Promise<Comparison> {
  const operation = `read all ${fmt.count(total)}, pages of ${fmt.count(READ_PAGE)}`;
  const plain = await withPlain(ctx, 1, async (table) => {
    await readPages(READ_WARMUP_PAGES, 0, (after) => table.readPage(after, READ_PAGE));
    return readPages(Infinity, total, (after) => table.readPage(after, READ_PAGE));
  });
  const ours = await withStore(ctx, 1, async (store) => {
    const page = async (after: number) => {
      const r = await store.readAll({ after, limit: READ_PAGE });
      return { count: r.events.length, last: r.checkpoint };
    };
    await readPages(READ_WARMUP_PAGES, 0, page);
    return readPages(Infinity, total, page);
  });
  const measure = (r: LoadResult): Measurement => ({
    value: r.operations / r.seconds,
    unit: 'events/s',
    latency: r.latency,
    note: fmt.seconds(r.seconds),
  });
  ctx.progress(
    `${operation}: optic-mart ${fmt.count(ours.operations / ours.seconds)} events/s, ` +
      `plain SQL ${fmt.count(plain.operations / plain.seconds)} events/s`,
  );
  return { operation, ours: measure(ours), baseline: measure(plain), goal: READ_GOAL };
}

/**
 * Pages through a log from the start until a page comes back empty (or `pages` pages were read).
 * `operations` of the result counts events; its latency is per page. Throws when `expected` events
 * (when given) did not all come back: a fast read that loses events is no result.
 */
async function readPages(
  pages: number,
  expected: number,
  page: (after: number) => Promise<{ count: number; last: number }>,
): Promise<LoadResult> {
  const samples = new Samples();
  let after = 0;
  let events = 0;
  const start = performance.now();
  for (let i = 0; i < pages; i++) {
    const t0 = performance.now();
    const r = await page(after);
    if (r.count === 0) break;
    samples.add(performance.now() - t0);
    events += r.count;
    after = r.last;
  }
  const seconds = (performance.now() - start) / 1000;
  if (expected > 0 && events !== expected)
    throw new Error(`read ${events} events where ${expected} were written`);
  return { operations: events, seconds, latency: samples.summary() };
}

// ── helpers ────────────────────────────────────────────────────────────────

/** Runs a phase on the plain table through a pool of concurrency + 4 connections. */
async function withPlain(
  ctx: SuiteContext,
  concurrency: number,
  phase: (table: PlainEventTable) => Promise<LoadResult>,
): Promise<LoadResult> {
  await checkpoint(ctx.databaseUrl);
  const table = new PlainEventTable(ctx.databaseUrl, concurrency + 4);
  try {
    return await phase(table);
  } finally {
    await table.close();
  }
}

/** Runs a phase on an EventStore of its own, its pool sized concurrency + 4 (as production would). */
async function withStore(
  ctx: SuiteContext,
  concurrency: number,
  phase: (store: EventStore) => Promise<LoadResult>,
): Promise<LoadResult> {
  await checkpoint(ctx.databaseUrl);
  const store = new EventStore({ connectionString: ctx.databaseUrl, poolSize: concurrency + 4 });
  try {
    await store.start();
    return await phase(store);
  } finally {
    await store.close();
  }
}

function perSecond(r: LoadResult, unit: string, perOperation: number): Measurement {
  return { value: rate(r, perOperation), unit, latency: r.latency };
}

function done(
  ctx: SuiteContext,
  operation: string,
  ours: LoadResult,
  plain: LoadResult,
  unit: string,
  perOperation: number,
  goal: number,
): Comparison {
  const row: Comparison = {
    operation,
    ours: perSecond(ours, unit, perOperation),
    baseline: perSecond(plain, unit, perOperation),
    goal,
  };
  ctx.progress(
    `${operation}: optic-mart ${fmt.count(row.ours.value)} ${unit}, plain SQL ${fmt.count(row.baseline!.value)} ${unit}`,
  );
  return row;
}

/** Starts each phase with dirty buffers written out, so that a checkpoint falls on neither side. */
async function checkpoint(url: string): Promise<void> {
  await query(url, 'CHECKPOINT').catch(() => undefined); // needs superuser or pg_checkpoint: best effort
}

/** After the fill: hint bits set and statistics gathered on both sides alike, as autovacuum would. */
async function vacuum(url: string): Promise<void> {
  await query(url, 'VACUUM ANALYZE eventstore.events, eventstore.runs, plain.events');
}

async function describeTables(ctx: SuiteContext): Promise<void> {
  const { rows } = await query<{
    ours: string;
    ours_n: string;
    plain: string;
    plain_n: string;
    runs: string;
    gaps: string;
  }>(
    ctx.databaseUrl,
    `SELECT pg_size_pretty(pg_total_relation_size('eventstore.events') + pg_total_relation_size('eventstore.runs')) AS ours,
            (SELECT count(*) FROM eventstore.events) AS ours_n,
            pg_size_pretty(pg_total_relation_size('plain.events')) AS plain,
            (SELECT count(*) FROM plain.events) AS plain_n,
            (SELECT count(*) FROM eventstore.runs) AS runs,
            (SELECT count(*) FROM eventstore.gaps) AS gaps`,
  );
  const r = rows[0]!;
  ctx.note(
    `at the end: optic-mart ${fmt.count(Number(r.ours_n))} events in ${r.ours} (events and runs), ` +
      `plain SQL ${fmt.count(Number(r.plain_n))} events in ${r.plain}; the sequencer stamped them in ` +
      `${fmt.count(Number(r.runs))} runs, with ${fmt.count(Number(r.gaps))} gaps open.`,
  );
}

async function query<Row extends pg.QueryResultRow = pg.QueryResultRow>(
  url: string,
  sql: string,
): Promise<pg.QueryResult<Row>> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await client.query<Row>(sql);
  } finally {
    await client.end().catch(() => undefined);
  }
}
