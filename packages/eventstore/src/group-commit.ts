import type pg from 'pg';

/** One single-stream append, encoded as the append functions take it. */
export interface QueuedAppend {
  readonly streamId: string;
  /** The version tag as the SQL functions take it: the first new version, 0 any, -1 no stream. */
  readonly expected: number;
  readonly ids: readonly string[];
  readonly types: readonly string[];
  readonly data: readonly unknown[];
  readonly metadata: readonly unknown[];
  readonly schemaVersions: readonly number[];
}

/** What became of one append of a batch. */
export type BatchOutcome =
  | { readonly status: 'ok'; readonly version: number; readonly position: number }
  /** Written and committed, but its position is still to be stamped (`eventstore.locate`). */
  | { readonly status: 'unstamped'; readonly version: number; readonly seqs: readonly string[] }
  | { readonly status: 'stream_deleted' }
  /** Nothing of it was written; `eventstore.append_outcome` tells why (a lost race, a retry …). */
  | { readonly status: 'conflict' };

interface Waiting {
  readonly append: QueuedAppend;
  readonly resolve: (outcome: BatchOutcome) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Batches in flight per process: one, so that the appends made while it is written gather into the
 * next. (Two were measured too: the second only waits for the sequencer lock, as the batches of
 * all processes are written one at a time, and the batches came out smaller: 8 writers 62–88% of
 * plain instead of 84–95%.)
 */
const MAX_IN_FLIGHT = 1;
/** A batch closes at this many events (the append that crosses it still goes in whole). */
const MAX_BATCH_EVENTS = 2_000;

/**
 * An append alone, as one statement (a PL/pgSQL call costs about as much again as this whole
 * statement): only when the sequencer lock is free at once, and only when everything goes the
 * common way (the version tag follows on, the ids are new, the seqs extend the newest run). Any
 * other case writes nothing and goes to `append_batch`, except one: the statement's snapshot is
 * taken before the lock, so if another batch committed in between, the run cannot be extended and
 * the events are committed without a position, to be stamped as `appendMany`'s are (`unstamped`).
 * A reused event id or a version taken meanwhile fails the statement (unique violation): nothing
 * of it is written.
 */
const ALONE_SQL = `
WITH l AS MATERIALIZED (
  SELECT pg_try_advisory_xact_lock(7245301, 1) AS locked, pg_current_xact_id() AS xid
), c AS MATERIALIZED (
  SELECT l.locked AND v.first = v.cur + 1
           AND NOT coalesce((SELECT st.deleted_at IS NOT NULL FROM eventstore.streams st WHERE st.stream_id = $1), false)
           AS ok,
         l.locked, v.first
    FROM l CROSS JOIN LATERAL (
      SELECT cur.v AS cur, CASE WHEN $2 > 0 THEN $2 WHEN $2 = -1 THEN 1 ELSE cur.v + 1 END AS first
        FROM (SELECT coalesce(max(e.version), 0) AS v FROM eventstore.events e WHERE e.stream_id = $1) cur
    ) v
), ins AS (
  INSERT INTO eventstore.events AS e (seq, stream_id, version, id, type, schema_version, data, metadata)
  SELECT nextval('eventstore.event_seq'), $1, c.first + u.ord - 1, u.id, u.type, u.sv,
         $5::jsonb -> (u.ord::int - 1), coalesce($6::jsonb -> (u.ord::int - 1), '{}')
    FROM c CROSS JOIN LATERAL (
      SELECT * FROM unnest($3::uuid[], $4::text[], $7::int[]) WITH ORDINALITY AS x(id, type, sv, ord)
       ORDER BY x.ord
    ) u
   WHERE c.ok
  RETURNING e.seq
), s AS (
  SELECT min(ins.seq) AS lo, max(ins.seq) AS hi, count(*) AS n, array_agg(ins.seq ORDER BY ins.seq) AS seqs FROM ins
), grown AS (
  UPDATE eventstore.runs r SET position_end = r.position_end + s.n, seq_end = s.hi
    FROM s
   WHERE s.n > 0 AND s.hi - s.lo + 1 = s.n AND r.seq_end = s.lo - 1
     AND r.position_end = (SELECT max(t.position_end) FROM eventstore.runs t)
  RETURNING r.position_end
)
SELECT c.ok, c.locked, c.first + s.n - 1 AS version, g.position_end AS "position",
       CASE WHEN g.position_end IS NULL THEN s.seqs END AS seqs
  FROM c CROSS JOIN s LEFT JOIN grown g ON true`;

/**
 * After an append alone found the sequencer lock held (another process is writing), appends alone
 * go the batch way for this long: it waits for the lock instead of costing a second round trip.
 */
const CONTENDED_MS = 100;

const BATCH_SQL =
  'SELECT status, version, "position" FROM eventstore.append_batch($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)';

/**
 * Listeners (subscriptions, projectors, relays: every process that follows the log) are told the
 * new end of the log after the batches commit, in a transaction of its own, at most this often per
 * appending process: each notification wakes every one of them. (Not in the batch's transaction:
 * a NOTIFY holds PostgreSQL's one notification lock from before the commit until after its flush,
 * and every other NOTIFY of the system, such as the PostgreSQL transport's wakes and the read
 * models' notices, would wait behind each batch's flush.)
 */
const NOTIFY_INTERVAL_MS = 5;

/**
 * Group commit for single-stream appends: the appends a process makes while its previous batch
 * is being written go to PostgreSQL together, as one call of `eventstore.append_batch`, in one
 * transaction that holds the sequencer lock, checks and writes each append on its own and stamps
 * their positions before it commits. Under load, one commit (and one flush of the WAL) serves many
 * appends; an append made alone goes at once, in a batch of one.
 *
 * Two appends of one stream never share a batch, nor run in two batches at once: the later one
 * waits for the earlier one's batch, so one process's appends to a stream are written in the order
 * they were made.
 */
export class GroupCommit {
  readonly #pool: pg.Pool;
  readonly #queue: Waiting[] = [];
  /** Streams in a batch under way. */
  readonly #busy = new Set<string>();
  #inFlight = 0;
  /** Until then an append alone goes as a batch: the lock was found held by another process. */
  #contendedUntil = 0;
  /** When this process last told the listeners the end of the log (performance.now()). */
  #notifiedAt = -Infinity;
  /** The highest position written since then without a notification; 0 when none. */
  #unannounced = 0;
  #trailing: NodeJS.Timeout | null = null;

  readonly #notifyIntervalMs: number;

  constructor(pool: pg.Pool, notifyIntervalMs = NOTIFY_INTERVAL_MS) {
    this.#pool = pool;
    this.#notifyIntervalMs = notifyIntervalMs;
  }

  append(append: QueuedAppend): Promise<BatchOutcome> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ append, resolve, reject });
      this.#flush();
    });
  }

  #flush(): void {
    while (this.#inFlight < MAX_IN_FLIGHT) {
      const batch = this.#take();
      if (batch.length === 0) return;
      this.#inFlight++;
      void this.#write(batch).finally(() => {
        for (const w of batch) this.#busy.delete(w.append.streamId);
        this.#inFlight--;
        // Not at once: the appenders just answered make their next appends in the microtasks that
        // run first, and those should go in the next batch rather than wait for the one after.
        setImmediate(() => this.#flush());
      });
    }
  }

  /** The next batch: queued appends in order, skipping streams already in a batch. */
  #take(): Waiting[] {
    const batch: Waiting[] = [];
    let events = 0;
    for (let i = 0; i < this.#queue.length && events < MAX_BATCH_EVENTS;) {
      const w = this.#queue[i]!;
      if (this.#busy.has(w.append.streamId)) {
        i++;
        continue;
      }
      this.#busy.add(w.append.streamId);
      this.#queue.splice(i, 1);
      batch.push(w);
      events += w.append.ids.length;
    }
    return batch;
  }

  async #write(batch: readonly Waiting[]): Promise<void> {
    let outcomes: BatchOutcome[];
    try {
      outcomes = await this.#send(batch.map((w) => w.append));
    } catch (err) {
      // PostgreSQL refused the batch, so none of it was written: one bad append must not fail the
      // others, so each goes again on its own. (An error without a code, such as a lost
      // connection, leaves the commit unknown: those are failed as they are.)
      if (batch.length > 1 && typeof (err as { code?: unknown }).code === 'string') {
        await Promise.all(batch.map((w) => this.#write([w])));
      } else {
        for (const w of batch) w.reject(err);
      }
      return;
    }
    for (const [i, w] of batch.entries()) w.resolve(outcomes[i]!);
  }

  async #send(appends: readonly QueuedAppend[]): Promise<BatchOutcome[]> {
    let outcomes: BatchOutcome[] | null = null;
    if (appends.length === 1 && performance.now() >= this.#contendedUntil) {
      const alone = await this.#alone(appends[0]!);
      if (alone) outcomes = [alone];
    }
    outcomes ??= await this.#batch(appends);
    let written = 0;
    for (const o of outcomes) if (o.status === 'ok') written = Math.max(written, o.position);
    if (written > 0) this.#notLaterThan(written);
    return outcomes;
  }

  /** A position written (committed): listeners are told at once, or when the interval is over. */
  #notLaterThan(position: number): void {
    this.#unannounced = Math.max(this.#unannounced, position);
    this.#trailing ??= setTimeout(
      () => {
        this.#trailing = null;
        void this.#announce();
      },
      Math.max(0, this.#notifiedAt + this.#notifyIntervalMs - performance.now()),
    );
  }

  async #announce(): Promise<void> {
    const position = this.#unannounced;
    if (position === 0) return;
    this.#notifiedAt = performance.now();
    this.#unannounced = 0;
    // A lost notification only delays listeners until their next one (or their idle check).
    await this.#pool
      .query("SELECT pg_notify('eventstore_positions', $1)", [String(position)])
      .catch(() => undefined);
  }

  /** Sends the notification still due, if any (before the pool closes). */
  async close(): Promise<void> {
    if (this.#trailing) clearTimeout(this.#trailing);
    this.#trailing = null;
    await this.#announce();
  }

  /** The append alone by the one-statement way, or null when it wrote nothing (then: a batch). */
  async #alone(append: QueuedAppend): Promise<BatchOutcome | null> {
    let row;
    try {
      ({
        rows: [row],
      } = await this.#pool.query<{
        ok: boolean;
        locked: boolean;
        version: string | null;
        position: string | null;
        seqs: string[] | null;
      }>({
        name: 'eventstore-append-alone',
        text: ALONE_SQL,
        values: [
          append.streamId,
          append.expected,
          append.ids,
          append.types,
          JSON.stringify(append.data),
          JSON.stringify(append.metadata),
          append.schemaVersions,
        ],
      }));
    } catch (err) {
      if ((err as { code?: unknown }).code === '23505') return null; // unique violation: nothing written
      throw err;
    }
    if (row && !row.locked) this.#contendedUntil = performance.now() + CONTENDED_MS;
    if (!row?.ok) return null;
    const version = Number(row.version);
    if (row.position !== null) return { status: 'ok', version, position: Number(row.position) };
    // Written, but the newest run could not be extended: the seqs (only then sent) are to be stamped.
    return { status: 'unstamped', version, seqs: row.seqs ?? [] };
  }

  async #batch(appends: readonly QueuedAppend[]): Promise<BatchOutcome[]> {
    const owners: number[] = [];
    const offsets: number[] = [];
    const ids: string[] = [];
    const types: string[] = [];
    const data: unknown[] = [];
    const metadata: unknown[] = [];
    const schemaVersions: number[] = [];
    for (const [a, append] of appends.entries()) {
      for (let k = 0; k < append.ids.length; k++) {
        owners.push(a + 1);
        offsets.push(k);
        ids.push(append.ids[k]!);
        types.push(append.types[k]!);
        data.push(append.data[k]);
        metadata.push(append.metadata[k]);
        schemaVersions.push(append.schemaVersions[k]!);
      }
    }
    const { rows } = await this.#pool.query<{
      status: string[];
      version: (string | null)[];
      position: (string | null)[];
    }>({
      name: 'eventstore-append-batch',
      text: BATCH_SQL,
      values: [
        appends.map((a) => a.streamId),
        appends.map((a) => a.expected),
        appends.map((a) => a.ids.length),
        owners,
        offsets,
        ids,
        types,
        JSON.stringify(data),
        JSON.stringify(metadata),
        schemaVersions,
      ],
    });
    const row = rows[0]!;
    return appends.map((_, i): BatchOutcome => {
      const status = row.status[i];
      switch (status) {
        case 'ok':
          return { status, version: Number(row.version[i]), position: Number(row.position[i]) };
        case 'stream_deleted':
        case 'conflict':
          return { status };
        default:
          throw new Error(`unexpected append status ${String(status)}`);
      }
    });
  }
}
