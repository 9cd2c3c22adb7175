// The projector (DESIGN.md §1): runs document projections against the event store. Each
// projection is run by one replica at a time, the one holding its session advisory lock on a
// dedicated connection (its live batches run on that connection, so a replica that dies loses the
// lock and its open batch together); replicas split the projections evenly and take over those of
// a replica that dies. A projection whose declared version differs from its live build's, or that
// is asked to, is rebuilt beside the live build from position 0 in large batches, with its
// documents kept in memory, and swapped in once it has caught up: the views move to the new build
// in one transaction, so queries never fail nor see a half-built read model.
import { randomInt } from 'node:crypto';
import pg from 'pg';
import type { EventStore } from '@optic-mart/eventstore';
import type { KeyValueStore } from '@optic-mart/messaging';
import { AppError, counter, gauge, type Logger, type MetricsRegistry } from '@optic-mart/platform';
import { BuildRunner, IDLE_CHECKPOINT_MS, LostBuildError, type StepResult } from './build.js';
import { LogTail } from './log-tail.js';
import { publishNotices } from './notices.js';
import {
  BUILD_COLUMNS,
  MEMBER_LOCK_CLASS,
  OWNER_LOCK_CLASS,
  buildIndexesSql,
  buildTablesSql,
  dropBuildTables,
  migrateProjections,
  pointViewsSql,
  readBuilds,
  toBuildRow,
  validateProjection,
  type AnyProjection,
  type BuildRow,
} from './schema.js';

export interface ProjectorOptions {
  readonly store: EventStore;
  /** For the dedicated connections that hold the locks (one per projection run here, one for membership). */
  readonly connectionString: string;
  readonly projections: readonly AnyProjection[];
  /** Where notices are published after each batch (`read-notices`); none: recorded only. */
  readonly kv?: KeyValueStore;
  readonly logger?: Logger;
  readonly metrics?: MetricsRegistry;
  /** How often a replica looks for projections to take (and for pause, rebuild requests). Default 1000 ms. */
  readonly contendEveryMs?: number;
  /** Events per live batch (doubled per batch while behind, up to 10×). Default 1000. */
  readonly batchSize?: number;
  /** Events per rebuild batch (one transaction). Default 100,000. */
  readonly rebuildBatchSize?: number;
  /** A rebuild is swapped in once it is this close to the head. Default 5,000 events. */
  readonly swapWithinEvents?: number;
  /** Safety net for a lost notification: read again after this long idle. Default 30 s. */
  readonly idleRecheckMs?: number;
}

export interface BuildStatus {
  readonly build: number;
  readonly version: number;
  readonly position: number;
  readonly events: number;
  readonly updatedAt: string;
}

export interface ProjectionStatus {
  readonly name: string;
  /** The version the code declares. */
  readonly version: number;
  readonly paused: boolean;
  /** Whether this replica runs it. */
  readonly runHere: boolean;
  /** The PostgreSQL backend pid of the connection holding its lock (the running replica's), if any. */
  readonly ownerPid: number | null;
  readonly live: BuildStatus | null;
  /** A rebuild in progress. */
  readonly building: BuildStatus | null;
  /** The event store's last position. */
  readonly head: number;
  /** Events the live build is behind the head (all of them while there is no live build). */
  readonly lagEvents: number;
  /** Age of the oldest event the live build has not applied; 0 when caught up. */
  readonly lagMs: number;
  /** The last batch failure of this replica's runner, if the last attempt failed. */
  readonly lastError: string | null;
}

export interface Projector {
  /** Every projection's state (from the database: any replica answers for all). */
  status(): Promise<ProjectionStatus[]>;
  /** Stops applying to the projection (stored: every replica obeys); no batch commits after it returns. */
  pause(name: string): Promise<ProjectionStatus>;
  resume(name: string): Promise<ProjectionStatus>;
  /** Asks for a rebuild beside the live build (one at a time per projection); returns its build number. */
  rebuild(name: string): Promise<number>;
  /** The projections this replica runs now. */
  running(): string[];
  stop(): Promise<void>;
}

/** One replica's hold on one projection. */
interface Held {
  readonly projection: AnyProjection;
  readonly client: pg.Client;
  readonly controller: AbortController;
  readonly mutex: Semaphore;
  live: BuildRunner | null;
  building: BuildRunner | null;
  paused: boolean;
  lost: boolean;
  lastError: string | null;
  readonly loops: Promise<void>[];
}

/** At most `n` holders at a time, served in order of arrival. */
class Semaphore {
  #free: number;
  readonly #queue: (() => void)[] = [];
  constructor(n: number) {
    this.#free = n;
  }
  async lock(): Promise<() => void> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#queue.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#queue.shift();
      if (next) next();
      else this.#free++;
    };
  }
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });

const describe = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Starts running `projections`; resolves once the tables exist (projections are taken in the background). */
export async function startProjector(options: ProjectorOptions): Promise<Projector> {
  const { store, logger } = options;
  const pool = store.pool;
  // A rebuild step holds a pool connection while it reads the log through the same pool: with as
  // many steps as connections, every step would wait for a read that waits for a connection. So
  // steps take one of fewer slots than the pool has connections, and reads always find one.
  const poolSize = (pool as unknown as { options: { max?: number } }).options.max ?? 10;
  const stepSlots = new Semaphore(Math.max(1, poolSize - 1));
  const contendEveryMs = options.contendEveryMs ?? 1000;
  const batchSize = options.batchSize ?? 1000;
  const rebuildBatchSize = options.rebuildBatchSize ?? 100_000;
  const swapWithin = options.swapWithinEvents ?? 5_000;
  const idleMs = options.idleRecheckMs ?? 30_000;
  const byName = new Map<string, AnyProjection>();
  for (const p of options.projections) {
    validateProjection(p);
    if (byName.has(p.name)) throw new Error(`two projections are named ${p.name}`);
    byName.set(p.name, p);
  }
  const names = [...byName.keys()];
  await store.start();
  await migrateProjections(pool);

  const held = new Map<string, Held>();
  // The live builds' reads of the log: one for all of them.
  const tail = new LogTail(store);
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let member: pg.Client | null = null;
  // Where this replica starts looking, so that replicas starting together reach for different ones.
  const offset = randomInt(0, Math.max(1, names.length));

  const applied = options.metrics
    ? counter(options.metrics, {
        name: 'projection_events_applied_total',
        help: 'Events applied by this replica, per projection',
        labelNames: ['projection'],
      })
    : null;
  const failures = options.metrics
    ? counter(options.metrics, {
        name: 'projection_batch_failures_total',
        help: 'Batches that failed (and were retried), per projection',
        labelNames: ['projection'],
      })
    : null;
  if (options.metrics) {
    gauge(options.metrics, {
      name: 'projection_running',
      help: '1 for each projection this replica runs',
      labelNames: ['projection'],
      collect() {
        this.reset();
        for (const name of held.keys()) this.set({ projection: name }, 1);
      },
    });
    gauge(options.metrics, {
      name: 'projection_checkpoint',
      help: 'Position the live build has applied, per projection run here',
      labelNames: ['projection'],
      collect() {
        this.reset();
        for (const [name, h] of held) if (h.live) this.set({ projection: name }, h.live.position);
      },
    });
    gauge(options.metrics, {
      name: 'projection_lag_events',
      help: 'Events committed to the store but not yet applied by the live build, per projection run here',
      labelNames: ['projection'],
      collect() {
        this.reset();
        const head = store.notifier.lastPosition;
        for (const [name, h] of held) {
          this.set({ projection: name }, Math.max(0, head - (h.live?.position ?? 0)));
        }
      },
    });
    gauge(options.metrics, {
      name: 'projection_lag_seconds',
      help: 'Age of the oldest event not yet applied by the live build (0 when caught up), per projection run here',
      labelNames: ['projection'],
      async collect() {
        this.reset();
        for (const [name, h] of held)
          this.set({ projection: name }, (await lagMs(h.live?.position ?? 0)) / 1000);
      },
    });
    gauge(options.metrics, {
      name: 'projection_rebuild_position',
      help: 'Position a rebuild in progress has reached, per projection run here',
      labelNames: ['projection'],
      collect() {
        this.reset();
        for (const [name, h] of held) if (h.building) this.set({ projection: name }, h.building.position);
      },
    });
  }

  /** How old the first event after `position` is (0 when there is none). */
  async function lagMs(position: number): Promise<number> {
    if (store.notifier.lastPosition <= position) return 0;
    const page = await store.readAll({ after: position, limit: 1 }).catch(() => null);
    const first = page?.events[0];
    return first ? Math.max(0, Date.now() - first.recordedAt.getTime()) : 0;
  }

  // ── builds ───────────────────────────────────────────────────────────────

  /** The build in progress for `projection`, made (row and tables) when there is none. */
  async function ensureBuilding(projection: AnyProjection): Promise<BuildRow> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO projection.projections (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`,
        [projection.name],
      );
      await client.query('SELECT 1 FROM projection.projections WHERE name = $1 FOR UPDATE', [
        projection.name,
      ]);
      const existing = await client.query<Parameters<typeof toBuildRow>[0]>(
        `SELECT ${BUILD_COLUMNS} FROM projection.builds WHERE name = $1 AND status = 'building'`,
        [projection.name],
      );
      let row = existing.rows[0] ? toBuildRow(existing.rows[0]) : null;
      if (row && row.version !== projection.version) {
        // Made by other code: this version's build replaces it.
        await client.query(
          `UPDATE projection.builds SET status = 'retired', updated_at = now() WHERE name = $1 AND build = $2`,
          [projection.name, row.build],
        );
        await dropBuildTables(client, projection.name, row.build);
        row = null;
      }
      if (!row) {
        const made = await client.query<Parameters<typeof toBuildRow>[0]>(
          `INSERT INTO projection.builds (name, build, version, status)
           SELECT $1, coalesce(max(build), 0) + 1, $2, 'building' FROM projection.builds WHERE name = $1
           RETURNING ${BUILD_COLUMNS}`,
          [projection.name, projection.version],
        );
        row = toBuildRow(made.rows[0]!);
      }
      await client.query(buildTablesSql(projection, row.build));
      await client.query('COMMIT');
      return row;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  // ── running a held projection ────────────────────────────────────────────

  async function liveLoop(h: Held): Promise<void> {
    const name = h.projection.name;
    let attempt = 0;
    let size = batchSize;
    while (!h.controller.signal.aborted) {
      const live = h.live;
      if (!live) {
        await sleep(contendEveryMs, h.controller.signal);
        continue;
      }
      let result: StepResult | null = null;
      const release = await h.mutex.lock();
      try {
        if (h.live === live && !h.controller.signal.aborted) {
          result = await live.step(h.client, { live: true, maxEvents: size, kv: options.kv });
          // Behind (a backlog after a pause or an outage): larger batches, up to 10× the size.
          size = result.to < result.head ? Math.min(size * 2, batchSize * 10) : batchSize;
          applied?.inc({ projection: name }, result.handled);
          attempt = 0;
          h.lastError = null;
        }
      } catch (err) {
        attempt++;
        h.lastError = describe(err);
        failures?.inc({ projection: name });
        logger?.warn(
          { err, projection: name, build: live.build, attempt },
          'projection batch failed; retrying',
        );
        if (err instanceof LostBuildError) lose(h, 'its build moved on');
      } finally {
        release();
      }
      if (h.controller.signal.aborted) break;
      if (result === null) {
        if (attempt > 0) await sleep(Math.min(50 * 2 ** attempt, 5_000), h.controller.signal);
        continue;
      }
      if (result.paused) {
        h.paused = true;
        await sleep(Math.min(contendEveryMs, 500), h.controller.signal);
      } else if (result.to >= result.head) {
        h.paused = false;
        // A checkpoint moved in memory only is written within IDLE_CHECKPOINT_MS, events or not.
        const wakeMs = live.unwritten ? Math.min(idleMs, IDLE_CHECKPOINT_MS) : idleMs;
        await store.notifier.waitForPositionAbove(result.to, wakeMs, h.controller.signal);
      }
    }
  }

  async function buildLoop(h: Held, b: BuildRunner): Promise<void> {
    const name = h.projection.name;
    let attempt = 0;
    const started = Date.now();
    const startedAt = b.position;
    logger?.info(
      { projection: name, build: b.build, version: b.version, from: b.position },
      'rebuild started',
    );
    while (!h.controller.signal.aborted && h.building === b) {
      if (h.paused) {
        await sleep(Math.min(contendEveryMs, 500), h.controller.signal);
        continue;
      }
      try {
        let result: StepResult;
        const slot = await stepSlots.lock();
        try {
          const client = await pool.connect();
          try {
            result = await b.step(client, { live: false, maxEvents: rebuildBatchSize });
          } finally {
            client.release();
          }
        } finally {
          slot();
        }
        attempt = 0;
        if (result.to >= result.head - swapWithin) {
          const swapped = await swap(h, b);
          if (swapped) {
            const seconds = (Date.now() - started) / 1000;
            logger?.info(
              {
                projection: name,
                build: b.build,
                position: b.position,
                events: b.position - startedAt,
                seconds,
              },
              'rebuild caught up and swapped in',
            );
            return;
          }
          await sleep(Math.min(contendEveryMs, 500), h.controller.signal);
        }
      } catch (err) {
        attempt++;
        h.lastError = describe(err);
        failures?.inc({ projection: name });
        logger?.warn({ err, projection: name, build: b.build, attempt }, 'rebuild batch failed; retrying');
        if (err instanceof LostBuildError) return lose(h, 'its build moved on');
        await sleep(Math.min(50 * 2 ** attempt, 5_000), h.controller.signal);
      }
    }
  }

  /** Brings the live build and `b` to one position and swaps `b` in. False when paused meanwhile. */
  async function swap(h: Held, b: BuildRunner): Promise<boolean> {
    const p = h.projection;
    await pool.query(buildIndexesSql(p, b.build));
    const release = await h.mutex.lock();
    const old = h.live;
    try {
      if (h.controller.signal.aborted || h.building !== b) return false;
      const target = Math.max(b.position, old?.position ?? 0, await store.headPosition());
      // Written, not only applied: the swap compares the live build's written checkpoint.
      while (old && old.written < target) {
        const r = await old.step(h.client, {
          live: true,
          maxEvents: batchSize,
          upTo: target,
          kv: options.kv,
        });
        if (r.paused) return false;
      }
      const slot = await stepSlots.lock();
      try {
        const client = await pool.connect();
        try {
          while (b.position < target)
            await b.step(client, { live: false, maxEvents: rebuildBatchSize, upTo: target });
        } finally {
          client.release();
        }
      } finally {
        slot();
      }
      await h.client.query('BEGIN');
      try {
        if (old) {
          const retired = await h.client.query(
            `UPDATE projection.builds SET status = 'retired', updated_at = now()
              WHERE name = $1 AND build = $2 AND status = 'live' AND position = $3`,
            [p.name, old.build, target],
          );
          if (retired.rowCount !== 1)
            throw new LostBuildError(`live build ${old.build} of ${p.name} moved on`);
        }
        const promoted = await h.client.query(
          `UPDATE projection.builds SET status = 'live', live_at = now(), updated_at = now()
            WHERE name = $1 AND build = $2 AND status = 'building' AND position = $3`,
          [p.name, b.build, target],
        );
        if (promoted.rowCount !== 1) throw new LostBuildError(`build ${b.build} of ${p.name} moved on`);
        await h.client.query(pointViewsSql(p, b.build));
        await h.client.query('COMMIT');
      } catch (err) {
        await h.client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
      b.dropCache();
      h.live = b;
      h.building = null;
    } finally {
      release();
    }
    if (old) {
      await dropBuildTables(pool, p.name, old.build).catch((err: unknown) =>
        logger?.warn({ err, projection: p.name, build: old.build }, 'could not drop a retired build'),
      );
    } else if (options.kv) {
      // The first build: wake whoever waits for a position (nothing was announced before).
      await publishNotices(options.kv, { projection: p.name, from: 0, to: b.position, notices: [] }).catch(
        () => undefined,
      );
    }
    return true;
  }

  function startBuild(h: Held, row: BuildRow): void {
    const b = new BuildRunner({ projection: h.projection, row, store, cache: true, tail, logger });
    h.building = b;
    h.loops.push(buildLoop(h, b));
  }

  /** Takes `name` if its lock is free; false when another replica holds it. */
  async function take(projection: AnyProjection): Promise<boolean> {
    const client = new pg.Client({
      connectionString: options.connectionString,
      application_name: 'optic-projector',
    });
    client.on('error', (err) =>
      logger?.warn({ err, projection: projection.name }, 'projection connection failed'),
    );
    await client.connect();
    const locked = await client
      .query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [
        OWNER_LOCK_CLASS,
        projection.name,
      ])
      .catch(async (err: unknown) => {
        await client.end().catch(() => undefined);
        throw err;
      });
    if (!locked.rows[0]?.ok || stopped) {
      await client.end();
      return false;
    }
    const h: Held = {
      projection,
      client,
      controller: new AbortController(),
      mutex: new Semaphore(1),
      live: null,
      building: null,
      paused: false,
      lost: false,
      lastError: null,
      loops: [],
    };
    held.set(projection.name, h);
    // Losing the connection loses the lock: stop at once, another replica takes over.
    client.once('end', () => lose(h, 'its connection closed'));
    try {
      await client.query(
        `INSERT INTO projection.projections (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`,
        [projection.name],
      );
      const builds = await readBuilds(client, [projection.name]);
      const live = builds.find((b) => b.status === 'live');
      let building = builds.find((b) => b.status === 'building') ?? null;
      if (building?.version !== projection.version) building = null;
      if (!building && (!live || live.version !== projection.version))
        building = await ensureBuilding(projection);
      else if (building) building = await ensureBuilding(projection); // its tables, if a crash left them unmade
      const paused = await client.query<{ paused: boolean }>(
        'SELECT paused FROM projection.projections WHERE name = $1',
        [projection.name],
      );
      h.paused = paused.rows[0]?.paused ?? false;
      if (live) {
        h.live = new BuildRunner({ projection, row: live, store, cache: false, tail, logger });
        await h.live.prepare(client);
      }
      h.loops.push(liveLoop(h));
      if (building) startBuild(h, building);
      logger?.info(
        { projection: projection.name, live: live?.build ?? null, building: building?.build ?? null },
        'running projection',
      );
      return true;
    } catch (err) {
      await release(h);
      throw err;
    }
  }

  function lose(h: Held, reason: string): void {
    if (h.lost) return;
    h.lost = true;
    logger?.warn({ projection: h.projection.name, reason }, 'stopped running projection');
    void release(h);
  }

  async function release(h: Held): Promise<void> {
    h.lost = true;
    h.controller.abort();
    if (held.get(h.projection.name) === h) held.delete(h.projection.name);
    await Promise.allSettled(h.loops);
    await h.client.end().catch(() => undefined);
  }

  // ── sharing the projections between replicas ─────────────────────────────

  async function replicas(): Promise<number> {
    const { rows } = await pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM pg_locks
        WHERE locktype = 'advisory' AND classid = $1::int::oid AND objsubid = 2 AND granted
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      [MEMBER_LOCK_CLASS],
    );
    return Math.max(1, Number(rows[0]?.n ?? 1));
  }

  async function join(): Promise<void> {
    if (member) return;
    const client = new pg.Client({
      connectionString: options.connectionString,
      application_name: 'optic-projector',
    });
    client.on('error', (err) => logger?.warn({ err }, 'projector membership connection failed'));
    await client.connect();
    for (;;) {
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [
        MEMBER_LOCK_CLASS,
        randomInt(1, 2 ** 31 - 1),
      ]);
      if (rows[0]?.ok) break;
    }
    member = client;
    client.once('end', () => {
      if (member === client) member = null;
    });
  }

  async function contend(): Promise<void> {
    if (stopped || names.length === 0) return;
    await join();
    const share = Math.ceil(names.length / (await replicas()));
    // More than our share (a replica joined): hand one over per round.
    if (held.size > share) {
      const last = [...held.values()].at(-1)!;
      logger?.info(
        { projection: last.projection.name, share },
        'handing a projection over to another replica',
      );
      await release(last);
    }
    for (let i = 0; i < names.length && held.size < share && !stopped; i++) {
      const name = names[(offset + i) % names.length]!;
      if (held.has(name)) continue;
      await take(byName.get(name)!);
    }
    // Pause flags and rebuild requests made through any replica.
    if (held.size === 0) return;
    const { rows } = await pool.query<{ name: string; paused: boolean; building: number | null }>(
      `SELECT p.name, p.paused, b.build AS building FROM projection.projections p
         LEFT JOIN projection.builds b ON b.name = p.name AND b.status = 'building'
        WHERE p.name = ANY($1)`,
      [[...held.keys()]],
    );
    for (const row of rows) {
      const h = held.get(row.name);
      if (!h || h.lost) continue;
      h.paused = row.paused;
      // (A build at or below the live one was just swapped in: this row was read before.)
      if (row.building !== null && h.building === null && row.building > (h.live?.build ?? 0)) {
        startBuild(h, await ensureBuilding(h.projection));
      }
    }
  }

  const loop = (): void => {
    contend()
      .catch((err: unknown) => logger?.warn({ err }, 'projector could not contend for projections'))
      .finally(() => {
        if (!stopped) timer = setTimeout(loop, contendEveryMs);
      });
  };
  loop();

  // ── the admin side (any replica answers for all) ─────────────────────────

  const known = (name: string): AnyProjection => {
    const p = byName.get(name);
    if (!p)
      throw new AppError('not_found', `there is no projection ${name}`, { extra: { projections: names } });
    return p;
  };

  async function status(): Promise<ProjectionStatus[]> {
    const head = await store.headPosition();
    const builds = await readBuilds(pool, names);
    const { rows } = await pool.query<{ name: string; paused: boolean; pid: number | null }>(
      `SELECT n.name, coalesce(p.paused, false) AS paused,
              (SELECT l.pid FROM pg_locks l
                WHERE l.locktype = 'advisory' AND l.classid = $2::int::oid AND l.objsubid = 2 AND l.granted
                  AND l.objid = (hashtext(n.name)::bigint & 4294967295)::oid
                  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                LIMIT 1) AS pid
         FROM unnest($1::text[]) AS n(name)
         LEFT JOIN projection.projections p ON p.name = n.name`,
      [names, OWNER_LOCK_CLASS],
    );
    // A live build run here may have passed others' events in memory beyond its written checkpoint.
    const applied = (b: BuildRow): number => {
      const live = held.get(b.name)?.live;
      return live?.build === b.build ? Math.max(b.position, live.position) : b.position;
    };
    const info = (b: BuildRow | undefined): BuildStatus | null =>
      b
        ? {
            build: b.build,
            version: b.version,
            position: applied(b),
            events: b.events,
            updatedAt: b.updatedAt.toISOString(),
          }
        : null;
    return Promise.all(
      rows.map(async (row) => {
        const live = builds.find((b) => b.name === row.name && b.status === 'live');
        const building = builds.find((b) => b.name === row.name && b.status === 'building');
        const position = live ? applied(live) : 0;
        return {
          name: row.name,
          version: byName.get(row.name)!.version,
          paused: row.paused,
          runHere: held.has(row.name),
          ownerPid: row.pid,
          live: info(live),
          building: info(building),
          head,
          lagEvents: Math.max(0, head - position),
          lagMs: head > position ? await lagMs(position) : 0,
          lastError: held.get(row.name)?.lastError ?? null,
        };
      }),
    );
  }

  async function statusOf(name: string): Promise<ProjectionStatus> {
    return (await status()).find((s) => s.name === name)!;
  }

  async function setPaused(name: string, paused: boolean): Promise<ProjectionStatus> {
    known(name);
    await pool.query(
      `INSERT INTO projection.projections (name, paused) VALUES ($1, $2)
       ON CONFLICT (name) DO UPDATE SET paused = EXCLUDED.paused, updated_at = now()`,
      [name, paused],
    );
    const h = held.get(name);
    if (h) h.paused = paused;
    logger?.info({ projection: name }, paused ? 'projection paused' : 'projection resumed');
    return statusOf(name);
  }

  return {
    status,
    pause: (name) => setPaused(name, true),
    resume: (name) => setPaused(name, false),
    async rebuild(name) {
      const row = await ensureBuilding(known(name));
      logger?.info({ projection: name, build: row.build }, 'rebuild requested');
      return row.build;
    },
    running: () => [...held.keys()],
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await Promise.allSettled([...held.values()].map((h) => release(h)));
      tail.close();
      const m = member;
      member = null;
      await m?.end().catch(() => undefined);
    },
  };
}
