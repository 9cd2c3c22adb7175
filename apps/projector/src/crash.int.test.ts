// The projector as real processes: SIGKILLed mid-batch while events are appended and restarted,
// no event is applied twice and none is missed; two replicas split the projections, and when one
// is SIGKILLed the other takes its projections over.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { EventStore } from '@optic-mart/eventstore';
import type { ProjectionStatus } from '@optic-mart/runtime';
import { createTestDatabase, sleep, type TestDatabase, freePort, waitUntil } from '@optic-mart/testkit';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const FIXTURE = 'apps/projector/src/test-fixture.ts';

interface Child {
  readonly proc: ChildProcess;
  readonly url: string;
  readonly exited: Promise<void>;
}

describe('projector processes', { timeout: 400_000 }, () => {
  let db: TestDatabase;
  let store: EventStore;
  let sql: pg.Pool;
  const children = new Set<Child>();
  const prefix = `p${randomUUID().slice(0, 8)}`;

  async function spawnProjector(projections: string[], category: string): Promise<Child> {
    const port = await freePort();
    const proc = spawn(
      process.execPath,
      ['--import', 'tsx', FIXTURE, '--projections', projections.join(','), '--category', category],
      {
        cwd: root,
        env: {
          ...process.env,
          DATABASE_URL: db.url,
          MESSAGING_PREFIX: prefix,
          LOG_LEVEL: process.env.PROJECTOR_TEST_LOGS ? 'info' : 'warn',
          PROJECTOR_PORT: String(port),
          PROJECTOR_POOL_SIZE: '3',
          PROJECTOR_CONTEND_MS: '200',
          PROJECTOR_BATCH_SIZE: '200',
        },
        stdio: ['ignore', process.env.PROJECTOR_TEST_LOGS ? 'inherit' : 'ignore', 'pipe'],
      },
    );
    proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      process.stderr.write(`[projector ${proc.pid}] ${chunk}`);
    });
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    const child = { proc, url: `http://127.0.0.1:${port}`, exited };
    children.add(child);
    await waitUntil(
      'the projector to answer',
      async () => {
        const res = await fetch(`${child.url}/healthz`).catch(() => null);
        return res?.ok ?? false;
      },
      90_000,
    );
    return child;
  }

  async function kill(child: Child): Promise<void> {
    if (child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill('SIGKILL');
    await child.exited;
    children.delete(child);
  }

  const statusOf = async (child: Child): Promise<ProjectionStatus[]> => {
    const res = await fetch(`${child.url}/projections`);
    assert.equal(res.status, 200);
    return ((await res.json()) as { projections: ProjectionStatus[] }).projections;
  };

  const livePosition = async (name: string): Promise<number> => {
    const { rows } = await sql.query<{ position: string }>(
      `SELECT position FROM projection.builds WHERE name = $1 AND status = 'live'`,
      [name],
    );
    return Number(rows[0]?.position ?? -1);
  };

  /** Compares a tally read model with the store: every stream, each event applied exactly once. */
  async function assertExact(name: string, category: string): Promise<number> {
    const want = await sql.query<{ stream_id: string; n: string }>(
      `SELECT stream_id, count(*) AS n FROM eventstore.events WHERE stream_id LIKE $1 GROUP BY 1`,
      [`${category}-%`],
    );
    const got = await sql.query<{ id: string; count: number; last: number }>(
      `SELECT id, (doc->>'count')::int AS count, (doc->>'last')::int AS last FROM read.${name}`,
    );
    const docs = new Map(got.rows.map((r) => [r.id, r]));
    const twice: string[] = [];
    const missed: string[] = [];
    for (const { stream_id, n } of want.rows) {
      const doc = docs.get(stream_id);
      if (!doc || doc.count < Number(n)) missed.push(stream_id);
      else if (doc.count > Number(n)) twice.push(stream_id);
    }
    if (twice.length + missed.length > 0) {
      const detail = await sql.query(
        `SELECT e.stream_id, e.version, e.seq, eventstore.position_of(e.seq) AS position, e.recorded_at
           FROM eventstore.events e WHERE e.stream_id = ANY($1) ORDER BY 1, 2`,
        [[...twice, ...missed]],
      );
      console.log(
        JSON.stringify({ docs: [...twice, ...missed].map((id) => docs.get(id)), events: detail.rows }),
      );
    }
    assert.deepEqual(twice, [], `${name}: no event applied twice`);
    assert.deepEqual(missed, [], `${name}: no event missed`);
    assert.equal(docs.size, want.rows.length);
    const counter = await sql.query<{ count: string }>(`SELECT count FROM read.${name}_by_all`);
    assert.equal(Number(counter.rows[0]?.count), want.rows.length, `${name}: the counter`);
    return want.rows.reduce((sum, r) => sum + Number(r.n), 0);
  }

  /** Appends 1-event batches to a set of streams until stopped. */
  function writer(category: string, streams: number) {
    let running = true;
    let appended = 0;
    const ids = Array.from({ length: streams }, () => `${category}-${randomUUID()}`);
    const versions = new Map<string, number>();
    // Four writers, each with its own streams (so that its version tags are right).
    const done = Promise.all(
      Array.from({ length: 4 }, async (_, w) => {
        for (let n = 0; running; n++) {
          const id = ids[(n * 4 + w) % ids.length]!;
          const version = versions.get(id) ?? 0;
          const events = [
            { id: randomUUID(), type: 'Counted', data: {} },
            { id: randomUUID(), type: 'Counted', data: {} },
          ];
          await store.append(id, events, { expectedVersion: version + 1 });
          versions.set(id, version + 2);
          appended += 2;
          await sleep(2);
        }
      }),
    );
    return {
      get appended() {
        return appended;
      },
      async stop() {
        running = false;
        await done;
      },
    };
  }

  before(async () => {
    db = await createTestDatabase('projector_crash');
    store = new EventStore({ connectionString: db.url, poolSize: 4, sweepIntervalMs: 0 });
    await store.start();
    sql = new pg.Pool({ connectionString: db.url, max: 3 });
  });

  after(async () => {
    await Promise.allSettled([...children].map((c) => kill(c)));
    await sql?.end();
    await store?.close();
    await db?.drop();
  });

  it('SIGKILLed mid-batch while events are appended, then restarted: none applied twice, none missed', async () => {
    const w = writer('kill', 300);
    let child = await spawnProjector(['killed'], 'kill');
    let midBatch = 0;
    const kills = 3;
    for (let k = 0; k < kills; k++) {
      await waitUntil('the projection to apply some', async () => (await livePosition('killed')) > 0);
      await sleep(300);
      // Kill while its lock connection is inside a batch's transaction.
      const [status] = await statusOf(child);
      const owner = status!.ownerPid;
      let inBatch = false;
      const deadline = Date.now() + 2_000;
      while (!inBatch && Date.now() < deadline) {
        const { rows } = await sql.query<{ state: string }>(
          'SELECT state FROM pg_stat_activity WHERE pid = $1',
          [owner],
        );
        inBatch = rows[0]?.state === 'idle in transaction' || rows[0]?.state === 'active';
      }
      await kill(child);
      if (inBatch) midBatch++;
      child = await spawnProjector(['killed'], 'kill');
    }
    await sleep(500);
    await w.stop();
    const head = await store.headPosition();
    await waitUntil(
      'the last projector to catch up',
      async () => (await livePosition('killed')) >= head,
      90_000,
    );
    const events = await assertExact('killed', 'kill');
    console.log(
      `projector SIGKILLed ${kills} times (${midBatch} of them inside a batch's transaction) while ` +
        `${w.appended} events were appended: ${events} events in the store, each applied exactly once`,
    );
    await kill(child);
  });

  it('two replicas split the projections; one SIGKILLed, the other takes them over', async () => {
    const names = ['split_a', 'split_b', 'split_c', 'split_d'];
    const w = writer('split', 100);
    const a = await spawnProjector(names, 'split');
    const b = await spawnProjector(names, 'split');
    const runHere = async (child: Child) =>
      (await statusOf(child)).filter((s) => s.runHere).map((s) => s.name);
    await waitUntil('each replica to run two', async () => {
      const [ra, rb] = [await runHere(a), await runHere(b)];
      return ra.length === 2 && rb.length === 2;
    });
    const [ra, rb] = [await runHere(a), await runHere(b)];
    assert.deepEqual([...ra, ...rb].sort(), names, 'between them they run every projection once');
    await sleep(500);
    const killedAt = Date.now();
    await kill(a);
    await waitUntil('the survivor to run all four', async () => (await runHere(b)).length === 4, 60_000);
    const takeoverMs = Date.now() - killedAt;
    await sleep(300);
    await w.stop();
    const head = await store.headPosition();
    for (const name of names) {
      await waitUntil(`${name} to catch up`, async () => (await livePosition(name)) >= head, 90_000);
    }
    let events = 0;
    for (const name of names) events = await assertExact(name, 'split');
    console.log(
      `two replicas ran ${ra.join(', ')} and ${rb.join(', ')}; after a SIGKILL the survivor ran all ` +
        `four within ${takeoverMs} ms; ${events} events, each applied exactly once by each projection`,
    );
    await kill(b);
  });
});
