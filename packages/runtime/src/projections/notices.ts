// Notices: "read model X changed at position p, for topics T". The projector records them in the
// batch's transaction (so one is never sent for a change that did not commit), publishes the batch
// after commit, and every stream process receives them live and fills any gap from the table (so a
// publish lost with a crashed projector is still delivered).
import type pg from 'pg';
import type { KeyValueStore } from '@optic-mart/messaging';
import type { Logger } from '@optic-mart/platform';

/** The pub/sub channel batches of notices travel on (one message per applied batch). */
export const NOTICES_CHANNEL = 'read-notices';

/** One handled event that changed a read model, with the topics to tell. */
export interface Notice {
  /** The event's global position. */
  readonly position: number;
  readonly topics: readonly string[];
}

export interface ProjectionNotice extends Notice {
  readonly projection: string;
}

/** What the projector publishes after a batch commits: its checkpoint went from `from` to `to`. */
export interface NoticeBatch {
  readonly projection: string;
  readonly from: number;
  readonly to: number;
  /** The batch's notices; null when there were too many to inline (receivers read the table). */
  readonly notices: readonly Notice[] | null;
}

/** Anything that runs a query: a pool, a pool client or a client. */
export type Queryable = Pick<pg.Pool, 'query'>;

/**
 * The table, for the projector's migration (or `ensureNoticesSchema`). Idempotent. Rows are
 * written only by `insertNoticesSql` (a projector's batch, or `recordNotices`) and removed only by
 * `pruneNotices`.
 */
export const NOTICES_DDL = `
CREATE SCHEMA IF NOT EXISTS projection;
CREATE TABLE IF NOT EXISTS projection.notices (
  projection text NOT NULL,
  position bigint NOT NULL,
  topics text[] NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (projection, position)
);
CREATE INDEX IF NOT EXISTS notices_recorded_at ON projection.notices (recorded_at);
-- Per projection, the last position pruned: a client resuming from before it may have missed some.
CREATE TABLE IF NOT EXISTS projection.notice_prunes (
  projection text PRIMARY KEY,
  pruned_through bigint NOT NULL
);
`;

// Any fixed key: it only serialises concurrent first starts (CREATE … IF NOT EXISTS races).
/** The one lock for all projection DDL (this file's and schema.ts's, which embeds NOTICES_DDL). */
export const PROJECTION_DDL_LOCK = [7245303, 0] as const;

/** Creates `projection.notices` when missing; safe to call from every process at start. */
export async function ensureNoticesSchema(pool: pg.Pool): Promise<void> {
  // Usually all there: then no lock. (`CREATE INDEX IF NOT EXISTS` takes a share lock on the table
  // even when the index exists, which would wait for, and hold up, the projector's batches.)
  const { rows } = await pool.query<{ ok: boolean }>(
    `SELECT to_regclass('projection.notices_recorded_at') IS NOT NULL
        AND to_regclass('projection.notice_prunes') IS NOT NULL AS ok`,
  );
  if (rows[0]?.ok === true) return;
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', [...PROJECTION_DDL_LOCK]);
    await client.query(NOTICES_DDL);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/**
 * Records a batch's notices in the caller's transaction (call it before COMMIT, with the client
 * that writes the checkpoint). Notices without topics are skipped; two for one position are merged;
 * a position recorded before (a batch applied again after a crash) is left as it was.
 */
export async function recordNotices(
  client: pg.ClientBase,
  projection: string,
  notices: readonly Notice[],
): Promise<void> {
  const rows = noticeRows(notices);
  if (rows.length === 0) return;
  await client.query(insertNoticesSql('$1', '$2'), [projection, JSON.stringify(rows)]);
}

/** A batch's notices as rows of `projection.notices`: one per position, topics merged, none empty. */
export function noticeRows(notices: readonly Notice[]): { position: number; topics: string[] }[] {
  const byPosition = new Map<number, Set<string>>();
  for (const notice of notices) {
    if (notice.topics.length === 0) continue;
    let topics = byPosition.get(notice.position);
    if (topics === undefined) byPosition.set(notice.position, (topics = new Set()));
    for (const topic of notice.topics) topics.add(topic);
  }
  return [...byPosition].map(([position, topics]) => ({ position, topics: [...topics] }));
}

/**
 * The statement that inserts `noticeRows` (a JSON parameter, `rows`) for the projection named by
 * parameter `projection`, only `where` the caller's condition holds (a SQL boolean expression).
 */
export function insertNoticesSql(projection: string, rows: string, where = 'true'): string {
  return `INSERT INTO projection.notices (projection, position, topics)
     SELECT ${projection}, n.position, ARRAY(SELECT jsonb_array_elements_text(n.topics))
       FROM jsonb_to_recordset(${rows}::jsonb) AS n(position bigint, topics jsonb)
      WHERE ${where}
     ON CONFLICT (projection, position) DO NOTHING`;
}

/** Above this many notices a batch is published without them: receivers read them from the table. */
export const MAX_INLINE_NOTICES = 500;

/**
 * Publishes a committed batch on `read-notices` (call it after COMMIT). Publish every batch, even
 * one without notices: waiters for a position (read-your-writes) are woken by it. Not durable: a
 * lost publish is made up by receivers from the table.
 */
export async function publishNotices(
  kv: KeyValueStore,
  batch: { projection: string; from: number; to: number; notices: readonly Notice[] },
): Promise<void> {
  const notices =
    batch.notices.length > MAX_INLINE_NOTICES
      ? null
      : batch.notices
          .filter((n) => n.topics.length > 0)
          .map((n) => ({ position: n.position, topics: n.topics }));
  const message: NoticeBatch = { projection: batch.projection, from: batch.from, to: batch.to, notices };
  await kv.publish(NOTICES_CHANNEL, JSON.stringify(message));
}

/** Parses a `read-notices` message; null when it is not one. */
export function parseNoticeBatch(message: string): NoticeBatch | null {
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  if (typeof v.projection !== 'string' || typeof v.from !== 'number' || typeof v.to !== 'number') {
    return null;
  }
  if (v.notices === null) return { projection: v.projection, from: v.from, to: v.to, notices: null };
  if (!Array.isArray(v.notices)) return null;
  const notices: Notice[] = [];
  for (const n of v.notices as unknown[]) {
    const item = n as { position?: unknown; topics?: unknown };
    if (typeof item.position !== 'number' || !Array.isArray(item.topics)) return null;
    notices.push({ position: item.position, topics: item.topics.map(String) });
  }
  return { projection: v.projection, from: v.from, to: v.to, notices };
}

export interface ReadNoticesOptions {
  readonly projection: string;
  /** Notices after this position. */
  readonly after: number;
  /** And at or before this one, when given. */
  readonly upTo?: number;
  /** Only notices sharing a topic with these (all when omitted). */
  readonly topics?: readonly string[];
  readonly limit: number;
}

/** A projection's recorded notices after a position, in position order. */
export async function readNotices(db: Queryable, options: ReadNoticesOptions): Promise<ProjectionNotice[]> {
  const result = await db.query<{ position: string; topics: string[] }>(
    `SELECT position, topics FROM projection.notices
      WHERE projection = $1 AND position > $2
        AND ($3::bigint IS NULL OR position <= $3)
        AND ($4::text[] IS NULL OR topics && $4)
      ORDER BY position LIMIT $5`,
    [options.projection, options.after, options.upTo ?? null, options.topics ?? null, options.limit],
  );
  return result.rows.map((row) => ({
    projection: options.projection,
    position: Number(row.position),
    topics: row.topics,
  }));
}

/** The last recorded notice's position of every projection that has any. */
export async function noticeHeads(db: Queryable): Promise<Map<string, number>> {
  // A loose index scan over the primary key: one probe per projection, not a scan of the table.
  const result = await db.query<{ projection: string; head: string }>(
    `WITH RECURSIVE p AS (
       (SELECT projection FROM projection.notices ORDER BY projection LIMIT 1)
       UNION ALL
       SELECT (SELECT n.projection FROM projection.notices n
                WHERE n.projection > p.projection ORDER BY n.projection LIMIT 1)
         FROM p WHERE p.projection IS NOT NULL
     )
     SELECT p.projection,
            (SELECT max(n.position) FROM projection.notices n WHERE n.projection = p.projection) AS head
       FROM p WHERE p.projection IS NOT NULL`,
  );
  return new Map(result.rows.map((row) => [row.projection, Number(row.head)]));
}

/**
 * Deletes notices recorded more than `olderThanMs` ago, a bounded chunk per statement so no long
 * lock is held, and remembers per projection the last position pruned (`prunedThrough`). Returns
 * how many went.
 */
export async function pruneNotices(
  db: Queryable,
  options: { olderThanMs: number; chunk?: number },
): Promise<number> {
  const chunk = options.chunk ?? 10_000;
  let total = 0;
  for (;;) {
    // A projection's notices commit in position order, so the oldest are the lowest positions:
    // everything after the mark is still there.
    const result = await db.query<{ n: number }>(
      `WITH gone AS (
         DELETE FROM projection.notices WHERE ctid = ANY(ARRAY(
           SELECT ctid FROM projection.notices
            WHERE recorded_at < now() - make_interval(secs => $1::double precision / 1000)
            LIMIT $2))
         RETURNING projection, position
       ), marked AS (
         INSERT INTO projection.notice_prunes (projection, pruned_through)
         SELECT projection, max(position) FROM gone GROUP BY projection
         ON CONFLICT (projection) DO UPDATE
           SET pruned_through = GREATEST(notice_prunes.pruned_through, EXCLUDED.pruned_through)
         RETURNING 1
       )
       SELECT count(*)::int AS n FROM gone`,
      [options.olderThanMs, chunk],
    );
    const deleted = result.rows[0]?.n ?? 0;
    total += deleted;
    if (deleted < chunk) return total;
  }
}

/** Per projection, the last position pruned: a cursor before it may have missed notices. */
export async function prunedThrough(db: Queryable): Promise<Map<string, number>> {
  const result = await db.query<{ projection: string; pruned_through: string }>(
    'SELECT projection, pruned_through FROM projection.notice_prunes',
  );
  return new Map(result.rows.map((row) => [row.projection, Number(row.pruned_through)]));
}

/** What a feed hands its listeners: a projection's notices in (previous `to`, `to`], in order. */
export interface NoticeDelivery {
  readonly projection: string;
  readonly to: number;
  readonly notices: readonly ProjectionNotice[];
}

export type NoticeListener = (delivery: NoticeDelivery) => void;

export interface NoticeFeedOptions {
  readonly pool: pg.Pool;
  readonly kv: KeyValueStore;
  readonly logger?: Logger;
  /** Safety net for a lost last publish (no later batch shows the gap): read the table this often. Default 5 s; 0 turns it off. */
  readonly catchUpIntervalMs?: number;
  /** Rows per read when filling a gap. Default 1000. */
  readonly pageSize?: number;
}

/**
 * A process's live view of every projection's notices: receives the published batches and hands
 * each listener every notice exactly once, in position order per projection, with no gap — when a
 * batch's `from` is beyond the last `to` seen (a publish was lost), the gap is read from the table
 * first. Listeners are called synchronously; they must not block.
 */
export class NoticeFeed {
  readonly #pool: pg.Pool;
  readonly #kv: KeyValueStore;
  readonly #logger: Logger | undefined;
  readonly #catchUpMs: number;
  readonly #pageSize: number;
  /** Per projection: every notice at or before this position has been handed out. */
  readonly #heads = new Map<string, number>();
  readonly #listeners = new Set<NoticeListener>();
  /** Batches and catch-ups run one at a time, in arrival order. */
  #chain: Promise<void> = Promise.resolve();
  #unsubscribe: (() => Promise<void>) | null = null;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(options: NoticeFeedOptions) {
    this.#pool = options.pool;
    this.#kv = options.kv;
    this.#logger = options.logger;
    this.#catchUpMs = options.catchUpIntervalMs ?? 5_000;
    this.#pageSize = options.pageSize ?? 1_000;
  }

  /** Subscribes, then takes the table's heads as its starting point (batches arriving meanwhile wait). */
  async start(): Promise<void> {
    let loaded!: () => void;
    const heads = new Promise<void>((resolve) => (loaded = resolve));
    this.#chain = heads;
    this.#unsubscribe = await this.#kv.subscribe(NOTICES_CHANNEL, (message) => {
      const batch = parseNoticeBatch(message);
      if (batch === null) {
        this.#logger?.warn({ message: message.slice(0, 200) }, 'ignoring a malformed notice batch');
        return;
      }
      void this.#enqueue(() => this.#receive(batch));
    });
    try {
      // A projection whose notices were all pruned still has a position: new clients start there.
      for (const [projection, mark] of await prunedThrough(this.#pool)) this.#heads.set(projection, mark);
      for (const [projection, head] of await noticeHeads(this.#pool)) {
        if (head > (this.#heads.get(projection) ?? 0)) this.#heads.set(projection, head);
      }
    } finally {
      loaded();
    }
    if (this.#catchUpMs > 0) {
      this.#timer = setInterval(() => void this.#enqueue(() => this.#catchUp()), this.#catchUpMs);
      this.#timer.unref();
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    await this.#unsubscribe?.();
    await this.#chain;
    this.#listeners.clear();
  }

  /** Every notice handed out after this call reaches the listener; returns the removal function. */
  listen(listener: NoticeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Per projection, the position up to which notices have been handed out (a new client's start). */
  heads(): Map<string, number> {
    return new Map(this.#heads);
  }

  /** Reads the table now (what the periodic catch-up does); resolves when done. */
  catchUp(): Promise<void> {
    return this.#enqueue(() => this.#catchUp());
  }

  #enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.#chain.then(async () => {
      if (this.#stopped) return;
      try {
        await task();
      } catch (err) {
        // Nothing moved: the next batch sees the gap, or the next catch-up reads it.
        this.#logger?.warn({ err }, 'notice feed could not read the notices table');
      }
    });
    this.#chain = run;
    return run;
  }

  async #receive(batch: NoticeBatch): Promise<void> {
    const head = this.#heads.get(batch.projection) ?? 0;
    if (batch.to <= head) return; // late or repeated: already handed out
    if (batch.notices === null || batch.from > head) {
      await this.#readTable(batch.projection, head, batch.to);
      return;
    }
    const notices = batch.notices
      .filter((n) => n.position > head && n.position <= batch.to)
      .sort((a, b) => a.position - b.position)
      .map((n) => ({ projection: batch.projection, position: n.position, topics: n.topics }));
    this.#deliver({ projection: batch.projection, to: batch.to, notices });
  }

  /** Reads and hands out (after, upTo] in pages. */
  async #readTable(projection: string, after: number, upTo?: number): Promise<void> {
    let from = after;
    for (;;) {
      const page = await readNotices(this.#pool, {
        projection,
        after: from,
        limit: this.#pageSize,
        ...(upTo !== undefined ? { upTo } : {}),
      });
      const full = page.length === this.#pageSize;
      const last = page.at(-1)?.position ?? from;
      const to = full || upTo === undefined ? last : upTo;
      if (to > from) this.#deliver({ projection, to, notices: page });
      from = to;
      if (!full) return;
    }
  }

  async #catchUp(): Promise<void> {
    const known = await noticeHeads(this.#pool);
    for (const [projection, tableHead] of known) {
      const head = this.#heads.get(projection) ?? 0;
      if (tableHead > head) await this.#readTable(projection, head);
    }
  }

  #deliver(delivery: NoticeDelivery): void {
    const head = this.#heads.get(delivery.projection) ?? 0;
    if (delivery.to <= head) return;
    this.#heads.set(delivery.projection, delivery.to);
    for (const listener of this.#listeners) {
      try {
        listener(delivery);
      } catch (err) {
        this.#logger?.error({ err }, 'notice listener threw');
      }
    }
  }
}
