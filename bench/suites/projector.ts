import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { EventStore } from '@optic-mart/eventstore';
import { startProjector, type DocumentProjection, type Projector } from '@optic-mart/runtime';
import * as fmt from '../lib/format.js';
import type { Suite, SuiteContext } from '../lib/suite.js';

/** Pets per event: the log holds STREAMS pets, each with events / STREAMS events. */
const STREAMS = 10_000;

interface BenchPet {
  readonly id: string;
  readonly name: string;
  readonly status: string;
  readonly tags: readonly string[];
  readonly version: number;
}

/** A read model shaped like the catalog's pets: a document per pet, status and tags columns, counts by status. */
const benchPets: DocumentProjection<BenchPet> = {
  name: 'bench_pets',
  version: 1,
  category: 'bpet',
  events: ['BenchPetCreated', 'BenchPetUpdated'],
  documentId: (e) => e.streamId,
  apply: (doc, e) => {
    const data = e.data as { name: string; status: string; tags: string[] };
    return { ...(doc ?? {}), id: e.streamId, ...data, version: e.version };
  },
  columns: {
    status: { type: 'text', value: (d) => d.status, index: 'btree' },
    tags: { type: 'text[]', value: (d) => d.tags, index: 'gin' },
    name: { type: 'text', value: (d) => d.name },
  },
  counters: { status: (d) => d.status },
  topics: (id) => ['bench_pets', `bench_pets/${id}`],
};

export const projectorSuite: Suite = {
  name: 'projector',
  title: 'Projector (@optic-mart/runtime projections)',
  baseline: 'plain SQL',
  baselineDescription:
    'the same read model computed inside PostgreSQL by one statement: `CREATE TABLE … AS SELECT DISTINCT ON ' +
    '(stream_id) …` over the events (last event per pet, its status and tags), its primary key and the ' +
    'same indexes, and the counts by status: no JSON leaves the server, no application logic.',
  run,
};

async function run(ctx: SuiteContext): Promise<void> {
  const url = ctx.databaseUrl;
  const total = Math.max(STREAMS, Math.round(ctx.settings.events / STREAMS) * STREAMS);
  const setup = new EventStore({ connectionString: url, poolSize: 2, sweepIntervalMs: 0 });
  await setup.start(); // the schema
  await setup.close();
  const sql = new pg.Pool({ connectionString: url, max: 2 });
  try {
    let t0 = performance.now();
    const base = await bulkEvents(sql, total);
    ctx.progress(
      `${fmt.count(total)} events inserted with bulk SQL in ${fmt.seconds((performance.now() - t0) / 1000)}`,
    );
    await sql.query('VACUUM ANALYZE eventstore.events, eventstore.runs');

    const plain = await plainBuild(sql, base);
    ctx.progress(`plain SQL built the read model in ${fmt.seconds(plain)}`);

    const store = new EventStore({ connectionString: url, poolSize: 5, sweepIntervalMs: 0 });
    await store.start();
    let projector: Projector | undefined;
    try {
      t0 = performance.now();
      projector = await startProjector({
        store,
        connectionString: url,
        projections: [benchPets],
        contendEveryMs: 100,
      });
      await until(async () => (await state(projector!)).live !== null);
      const rebuild = (performance.now() - t0) / 1000;
      const live = (await state(projector)).live!;
      ctx.progress(`projector rebuilt ${fmt.count(live.position)} events in ${fmt.seconds(rebuild)}`);
      ctx.record({
        operation: `rebuild ${fmt.count(total)} events (${fmt.count(STREAMS)} pets)`,
        ours: { value: rebuild, unit: 's', note: `${fmt.count(total / rebuild)} events/s` },
        baseline: { value: plain, unit: 's', note: `${fmt.count(total / plain)} events/s` },
        lowerIsBetter: true,
      });
      await checkReadModel(sql, ctx);

      // Live: the projection paused while a backlog is appended, then resumed: the live path
      // (batches of 1,000, documents loaded per batch, notices recorded) catching up.
      const backlog = Math.min(200_000, Math.max(20_000, Math.round(total / 10)));
      await projector.pause('bench_pets');
      const head = await bulkEvents(sql, backlog, base);
      t0 = performance.now();
      await projector.resume('bench_pets');
      await until(async () => ((await state(projector!)).live?.position ?? 0) >= head);
      const seconds = (performance.now() - t0) / 1000;
      ctx.progress(`live path applied ${fmt.count(backlog)} events in ${fmt.seconds(seconds)}`);
      ctx.record({
        operation: `live batches: catch up ${fmt.count(backlog)} events`,
        ours: { value: backlog / seconds, unit: 'events/s', note: fmt.seconds(seconds) },
      });

      // A rebuild on request beside the live build, swapped in (what a version change does).
      t0 = performance.now();
      const build = await projector.rebuild('bench_pets');
      await until(async () => (await state(projector!)).live?.build === build);
      const again = (performance.now() - t0) / 1000;
      ctx.record({
        operation: `rebuild beside the live build and swap, ${fmt.count(head)} events`,
        ours: { value: again, unit: 's', note: `${fmt.count(head / again)} events/s` },
      });
      await checkReadModel(sql, ctx);
      ctx.note(
        `events: ${fmt.count(STREAMS)} pets with ${fmt.count(total / STREAMS)} events each, inserted with bulk SQL ` +
          `(one run for the sequencer); the read model has a document, status, tags (gin) and name per pet, and ` +
          `counts by status. The live row counts from resume (the paused loop looks again every 500 ms).`,
      );
    } finally {
      await projector?.stop();
      await store.close();
    }
  } finally {
    await sql.end();
  }
}

const state = async (projector: Projector) =>
  (await projector.status()).find((s) => s.name === 'bench_pets')!;

async function until(check: () => Promise<boolean>, timeoutMs = 30 * 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('the projector did not get there in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Appends `count` events after position `after` straight into the store's tables: seqs and
 * positions one run, versions following on per pet. Returns the new head.
 */
async function bulkEvents(sql: pg.Pool, count: number, after = 0): Promise<number> {
  for (let from = after + 1; from <= after + count; from += 250_000) {
    const to = Math.min(after + count, from + 249_999);
    await sql.query(
      `INSERT INTO eventstore.events (seq, stream_id, version, id, type, data, metadata)
       SELECT g, 'bpet-' || (g % $3), (g - 1) / $3 + 1, gen_random_uuid(),
              CASE WHEN g <= $3 THEN 'BenchPetCreated' ELSE 'BenchPetUpdated' END,
              jsonb_build_object('name', 'pet ' || (g % $3), 'status', (ARRAY['available','pending','sold'])[g % 3 + 1],
                                 'tags', jsonb_build_array('t' || (g % 7), 'u' || (g % 11))),
              '{"commandId":"bench"}'
         FROM generate_series($1::bigint, $2::bigint) g`,
      [from, to, STREAMS],
    );
  }
  const head = after + count;
  await sql.query(`INSERT INTO eventstore.runs (position_end, seq_start, seq_end) VALUES ($1, $2, $1)`, [
    head,
    after + 1,
  ]);
  await sql.query(`SELECT setval('eventstore.event_seq', $1)`, [head]);
  await sql.query(`SELECT pg_notify('eventstore_positions', $1)`, [String(head)]);
  return head;
}

/** The same read model by one SQL statement per table; returns its seconds. */
async function plainBuild(sql: pg.Pool, head: number): Promise<number> {
  const t0 = performance.now();
  await sql.query(`CREATE SCHEMA IF NOT EXISTS plain`);
  await sql.query(
    `CREATE TABLE plain.pets AS
     SELECT DISTINCT ON (stream_id) stream_id AS id, data || jsonb_build_object('id', stream_id, 'version', version) AS doc,
            seq AS position, recorded_at AS updated_at, data->>'status' AS status,
            ARRAY(SELECT jsonb_array_elements_text(data->'tags')) AS tags, data->>'name' AS name
       FROM eventstore.events WHERE starts_with(stream_id, 'bpet-') AND seq <= $1
      ORDER BY stream_id, seq DESC`,
    [head],
  );
  await sql.query(`ALTER TABLE plain.pets ADD PRIMARY KEY (id)`);
  await sql.query(`CREATE INDEX ON plain.pets (status)`);
  await sql.query(`CREATE INDEX ON plain.pets USING gin (tags)`);
  await sql.query(
    `CREATE TABLE plain.pets_by_status AS SELECT status AS key, count(*) AS count FROM plain.pets GROUP BY 1`,
  );
  return (performance.now() - t0) / 1000;
}

/** The projector's read model agrees with the events: one document per pet at its last version. */
async function checkReadModel(sql: pg.Pool, ctx: SuiteContext): Promise<void> {
  const { rows } = await sql.query<{ docs: string; wrong: string; counted: string }>(
    `SELECT (SELECT count(*) FROM read.bench_pets) AS docs,
            (SELECT count(*) FROM read.bench_pets p
               WHERE (p.doc->>'version')::bigint <> (SELECT max(version) FROM eventstore.events e WHERE e.stream_id = p.id)
            ) AS wrong,
            (SELECT sum(count) FROM read.bench_pets_by_status) AS counted`,
  );
  const r = rows[0]!;
  if (Number(r.docs) !== STREAMS || Number(r.wrong) !== 0 || Number(r.counted) !== STREAMS) {
    throw new Error(`the read model is wrong: ${JSON.stringify(r)}`);
  }
  ctx.progress(`read model checked: ${fmt.count(STREAMS)} pets at their last version, counts add up`);
}
