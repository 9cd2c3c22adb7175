import type pg from 'pg';

/** One aggregate to load: its stream and the snapshot shape that may stand in for its first events. */
export interface AggregateLoad {
  readonly streamId: string;
  readonly snapshotType: string | null;
  readonly snapshotSchemaVersion: number | null;
}

/** What PostgreSQL holds for one load: the matching snapshot, whether deleted, the later events. */
export interface LoadedRows<Row> {
  readonly snapshot: { version: string; state: unknown } | null;
  readonly deleted: boolean;
  /** In version order, at most `limit` of them. */
  readonly events: Row[];
}

interface Waiting<Row> {
  readonly load: AggregateLoad;
  readonly resolve: (rows: LoadedRows<Row>) => void;
  readonly reject: (err: unknown) => void;
}

/** A batch closes at this many loads. */
const MAX_BATCH = 200;

/**
 * Loads aggregates the way group commit writes them: the loads a process asks for while its
 * previous batch of loads is being read go to PostgreSQL together, as one statement, so under load
 * a worker pays one round trip for many commands' aggregates instead of one each. A load asked
 * for alone goes at once.
 */
export class AggregateLoader<Row> {
  readonly #pool: pg.Pool;
  readonly #sql: string;
  readonly #limit: number;
  readonly #queue: Waiting<Row>[] = [];
  #inFlight = false;

  /**
   * `columns`: the event columns to select, from `eventstore.events e` (and `r`, the run of each
   * event, for its position); `limit`: events per aggregate at most.
   */
  constructor(pool: pg.Pool, columns: string, limit: number) {
    this.#pool = pool;
    this.#limit = limit;
    this.#sql = `SELECT q.i, s.snapshot, s.deleted, e.*
      FROM unnest($1::text[], $2::text[], $3::int[]) WITH ORDINALITY AS q(stream_id, snapshot_type, snapshot_schema, i)
      CROSS JOIN LATERAL (SELECT
          (SELECT jsonb_build_object('version', sn.version, 'state', sn.state) FROM eventstore.snapshots sn
            WHERE sn.stream_id = q.stream_id AND sn.type = q.snapshot_type AND sn.schema_version = q.snapshot_schema) AS snapshot,
          (SELECT st.deleted_at IS NOT NULL FROM eventstore.streams st WHERE st.stream_id = q.stream_id) AS deleted) s
      LEFT JOIN LATERAL (
        SELECT CASE WHEN r.seq_end >= e.seq THEN r.position_end - (r.seq_end - e.seq) END AS position, ${columns}
        FROM eventstore.events e
        LEFT JOIN LATERAL (
          SELECT position_end, seq_end FROM eventstore.runs WHERE seq_start <= e.seq ORDER BY seq_start DESC LIMIT 1
        ) r ON true
        WHERE e.stream_id = q.stream_id AND e.version > coalesce((s.snapshot ->> 'version')::bigint, 0)
        ORDER BY e.version
        LIMIT $4
      ) e ON true
      ORDER BY q.i, e.version`;
  }

  load(load: AggregateLoad): Promise<LoadedRows<Row>> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ load, resolve, reject });
      if (!this.#inFlight) this.#next();
    });
  }

  #next(): void {
    const batch = this.#queue.splice(0, MAX_BATCH);
    if (batch.length === 0) return;
    this.#inFlight = true;
    void this.#read(batch).finally(() => {
      this.#inFlight = false;
      // Not at once: the loads asked for in the microtasks that run first join the next batch.
      setImmediate(() => {
        if (!this.#inFlight) this.#next();
      });
    });
  }

  async #read(batch: readonly Waiting<Row>[]): Promise<void> {
    let rows: (Row & {
      i: string;
      snapshot: LoadedRows<Row>['snapshot'];
      deleted: boolean | null;
      id: unknown;
    })[];
    try {
      ({ rows } = await this.#pool.query({
        name: 'eventstore-aggregates',
        text: this.#sql,
        values: [
          batch.map((w) => w.load.streamId),
          batch.map((w) => w.load.snapshotType),
          batch.map((w) => w.load.snapshotSchemaVersion),
          this.#limit,
        ],
      }));
    } catch (err) {
      for (const w of batch) w.reject(err);
      return;
    }
    const loaded = batch.map(
      (): { snapshot: LoadedRows<Row>['snapshot']; deleted: boolean; events: Row[] } => ({
        snapshot: null,
        deleted: false,
        events: [],
      }),
    );
    for (const row of rows) {
      const into = loaded[Number(row.i) - 1]!;
      into.snapshot = row.snapshot;
      into.deleted = row.deleted === true;
      if (row.id != null) into.events.push(row);
    }
    for (const [k, w] of batch.entries()) w.resolve(loaded[k]!);
  }
}
