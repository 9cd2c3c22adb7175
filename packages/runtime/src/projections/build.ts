// Applying events to one build of a projection: a batch's documents are loaded (or taken from the
// in-memory cache of a rebuild), `apply` runs in memory, and the changed documents, the counters'
// deltas, the notices and the checkpoint are written in one statement (so one transaction).
import type pg from 'pg';
import type { EventStore, LogFilter, ReadAllResult, RecordedEvent } from '@optic-mart/eventstore';
import type { KeyValueStore } from '@optic-mart/messaging';
import type { Logger } from '@optic-mart/platform';
import { insertNoticesSql, noticeRows, publishNotices, type Notice } from './notices.js';
import type { LogTail } from './log-tail.js';
import type { ProjectedEvent } from './projection.js';
import {
  buildTable,
  counterTable,
  counterTables,
  quote,
  sqlType,
  tableColumns,
  type AnyProjection,
  type BuildRow,
} from './schema.js';

/** The build's row changed under us: another replica runs it now (or it was retired). */
export class LostBuildError extends Error {
  override name = 'LostBuildError';
}

export interface StepOptions {
  /** Read at most this many events (across pages) before writing them in one transaction. */
  readonly maxEvents: number;
  /** Never go past this position (the swap brings two builds to the same one). */
  readonly upTo?: number;
  /** Live build: check `paused` in the transaction, record and publish notices. */
  readonly live: boolean;
  readonly kv?: KeyValueStore | undefined;
}

export interface StepResult {
  /** Events read and handled (documents may be unchanged). */
  readonly handled: number;
  readonly from: number;
  readonly to: number;
  /** The log's head when read: `to >= head` means caught up. */
  readonly head: number;
  /** The live build was paused: nothing was written. */
  readonly paused: boolean;
}

interface Touched {
  before: unknown;
  after: unknown;
  position: number;
  recordedAt: Date;
}

/** Documents kept in memory during a rebuild, at most this many (then it loads per batch). */
const CACHE_LIMIT = 2_000_000;
/** Events per read of the log (the store's largest page). */
const PAGE = 10_000;
/**
 * A live build that reads past events none of which are its own moves its checkpoint in memory
 * (and announces it), and writes it at most this often: a dozen projections need not each commit
 * a transaction for every event of someone else's. Well under the gateway's read-your-writes wait,
 * which reads the written checkpoint when an announcement was lost.
 */
export const IDLE_CHECKPOINT_MS = 500;
/**
 * Such a move is announced at most this often (the last one at the end of the interval): one
 * event of someone else's need not cost a message per projection to every gateway and stream
 * process. What a write of this projection's own changes is announced at once.
 */
export const PASSING_ANNOUNCE_MS = 50;

/** One build of one projection, as its owner applies events to it. */
export class BuildRunner {
  readonly projection: AnyProjection;
  readonly build: number;
  readonly version: number;
  /** Applied up to here: the written checkpoint, or past it over events not this projection's. */
  #position: number;
  /** The checkpoint as written in projection.builds (what the next write compares and sets). */
  #written: number;
  #writtenAt = performance.now();
  /** Announced up to here (each announcement starts where the last one ended). */
  #announced: number;
  #announcedAt = 0;
  #announceLater: NodeJS.Timeout | null = null;
  #events: number;
  /** id → document (null: absent), when caching; `complete`: every document is in it. */
  #cache: Map<string, unknown> | null;
  #complete: boolean;
  #columns: [string, { type: string; value: (doc: never) => unknown }][] = [];
  #counters: [string, (doc: never) => string | null][] = [];
  #prepared = false;
  readonly #store: EventStore;
  readonly #tail: LogTail | undefined;
  readonly #logger: Logger | undefined;

  constructor(options: {
    projection: AnyProjection;
    row: BuildRow;
    store: EventStore;
    /** Keep documents in memory between batches (a rebuild). */
    cache: boolean;
    /** Where live batches read the log (shared by the process's live builds); else the store. */
    tail?: LogTail | undefined;
    logger?: Logger | undefined;
  }) {
    this.projection = options.projection;
    this.build = options.row.build;
    this.version = options.row.version;
    this.#position = options.row.position;
    this.#written = options.row.position;
    this.#announced = options.row.position;
    this.#events = options.row.events;
    this.#store = options.store;
    this.#tail = options.tail;
    this.#logger = options.logger;
    this.#cache = options.cache ? new Map() : null;
    // A build from position 0 starts empty: whatever is not in the cache does not exist.
    this.#complete = options.cache && options.row.position === 0 && options.row.events === 0;
  }

  get position(): number {
    return this.#position;
  }

  get events(): number {
    return this.#events;
  }

  /** Stop caching (the build went live: its batches are small, and memory is bounded). */
  dropCache(): void {
    this.#cache = null;
    this.#complete = false;
  }

  /** The columns and counters this build's tables have (an older build may lack some declared since). */
  async prepare(db: Pick<pg.Pool, 'query'>): Promise<void> {
    if (this.#prepared) return;
    const columns = await tableColumns(db, this.projection.name, this.build);
    const counters = await counterTables(db, this.projection, this.build);
    this.#columns = Object.entries(this.projection.columns ?? {})
      .filter(([c]) => columns.has(c))
      .map(([c, def]) => [c, { type: sqlType(def.type), value: def.value as (doc: never) => unknown }]);
    this.#counters = Object.entries(this.projection.counters ?? {})
      .filter(([c]) => counters.has(c))
      .map(([c, f]) => [c, f as (doc: never) => string | null]);
    this.#prepared = true;
  }

  /** The checkpoint as written (`position` may be ahead, over events not this projection's). */
  get written(): number {
    return this.#written;
  }

  /** The checkpoint is ahead of the written one (over events not this projection's). */
  get unwritten(): boolean {
    return this.#position > this.#written;
  }

  /** Reads what follows the checkpoint and applies it in one transaction on `client`. */
  async step(client: pg.ClientBase, options: StepOptions): Promise<StepResult> {
    await this.prepare(client);
    const from = this.#position;
    const { events, checkpoint, head } = await this.#read(options);
    const to = Math.max(checkpoint, from);
    const writeDue =
      !options.live ||
      events.length > 0 ||
      options.upTo !== undefined || // a swap compares the written checkpoints
      performance.now() - this.#writtenAt >= IDLE_CHECKPOINT_MS;
    if (!writeDue || to <= this.#written) {
      // Nothing of this projection's: the checkpoint moves in memory, written later.
      if (to > from) {
        this.#position = to;
        await this.#announcePassing(options);
      }
      return { handled: 0, from, to, head, paused: false };
    }
    const result = await this.#write(client, events, this.#written, to, options);
    if (result === 'paused') {
      this.#position = this.#written;
      return { handled: 0, from, to: this.#written, head, paused: true };
    }
    this.#position = to;
    this.#written = to;
    this.#writtenAt = performance.now();
    this.#events += events.length;
    await this.#announce(options, to, result);
    return { handled: events.length, from, to, head, paused: false };
  }

  /** Announces the checkpoint moved in memory: now, or at the end of the current interval. */
  async #announcePassing(options: StepOptions): Promise<void> {
    if (!options.live || !options.kv || this.#announceLater) return;
    const waitMs = this.#announcedAt + PASSING_ANNOUNCE_MS - performance.now();
    if (waitMs <= 0) return this.#announce(options, this.#position, []);
    this.#announceLater = setTimeout(() => {
      this.#announceLater = null;
      void this.#announce(options, this.#position, []);
    }, waitMs);
    this.#announceLater.unref();
  }

  /**
   * Publishes that the build reached `to` (after the batch committed), from where the last
   * announcement ended: not durable, and not needed to be (a receiver that misses one reads the
   * gap from the table).
   */
  async #announce(options: StepOptions, to: number, notices: readonly Notice[]): Promise<void> {
    if (!options.live || !options.kv || to <= this.#announced) return;
    const from = this.#announced;
    this.#announced = to;
    this.#announcedAt = performance.now();
    await publishNotices(options.kv, { projection: this.projection.name, from, to, notices }).catch(
      (err: unknown) => this.#logger?.warn({ err }, 'could not publish notices'),
    );
  }

  async #read(options: StepOptions): Promise<{ events: RecordedEvent[]; checkpoint: number; head: number }> {
    const filter: LogFilter = {
      ...(this.projection.category !== undefined ? { category: this.projection.category } : {}),
      types: this.projection.events,
    };
    const events: RecordedEvent[] = [];
    let checkpoint = this.#position;
    let head = checkpoint;
    const upTo = options.upTo ?? Infinity;
    while (events.length < options.maxEvents && checkpoint < upTo) {
      const size = Math.min(PAGE, options.maxEvents - events.length);
      const page =
        (options.live ? await this.#tail?.read(checkpoint, size, filter) : null) ??
        (await this.#page(checkpoint, size, filter));
      head = page.head;
      // A rebuild reads the next page while this batch is applied and written.
      if (this.#cache && page.checkpoint < page.head && options.upTo === undefined) {
        this.#prefetch(page.checkpoint, filter);
      }
      let last = page.checkpoint;
      for (const e of page.events) {
        if ((e.position ?? 0) > upTo) {
          last = upTo;
          break;
        }
        events.push(e);
      }
      last = Math.min(last, upTo);
      if (last <= checkpoint) break;
      checkpoint = last;
      if (checkpoint >= page.head) break;
    }
    return { events, checkpoint, head };
  }

  #next: { after: number; page: Promise<ReadAllResult> } | null = null;

  #prefetch(after: number, filter: LogFilter): void {
    const page = this.#store.readAll({ after, limit: PAGE, ...filter });
    page.catch(() => undefined); // reported when used
    this.#next = { after, page };
  }

  #page(after: number, limit: number, filter: LogFilter): Promise<ReadAllResult> {
    const next = this.#next;
    this.#next = null;
    if (next?.after === after) return next.page;
    return this.#store.readAll({ after, limit, ...filter });
  }

  /**
   * Applies `events` in memory and writes the result (documents, counters, notices and the checkpoint)
   * in ONE statement, which is its own transaction: a live batch costs the log read, the load of the
   * documents it needs and this write, instead of a round trip per part. Returns the notices, or
   * 'paused' when the live build is paused (nothing written).
   */
  async #write(
    client: pg.ClientBase,
    events: readonly RecordedEvent[],
    from: number,
    to: number,
    options: StepOptions,
  ): Promise<Notice[] | 'paused'> {
    const p = this.projection;
    const table = buildTable(p.name, this.build);
    const ids: (string | null)[] = events.map((e) => p.documentId(e as ProjectedEvent));

    try {
      // Documents this batch needs that are not in memory. Read before the write, outside it: only
      // this build's owner writes its table, and the write's compare-and-set of the checkpoint fails
      // (writing nothing) if anyone else has moved the build on meanwhile.
      const missing = new Set<string>();
      if (!this.#complete) {
        for (const id of ids) if (id !== null && !(this.#cache?.has(id) ?? false)) missing.add(id);
      }
      const loaded = new Map<string, unknown>();
      if (missing.size > 0) {
        const { rows } = await client.query<{ id: string; doc: unknown }>(
          `SELECT id, doc FROM ${table} WHERE id = ANY($1)`,
          [[...missing]],
        );
        for (const r of rows) loaded.set(r.id, r.doc);
      }
      const current = (id: string): unknown => {
        if (loaded.has(id)) return loaded.get(id);
        return this.#cache?.get(id) ?? null;
      };

      const touched = new Map<string, Touched>();
      const notices: Notice[] = [];
      const topics = options.live ? p.topics : undefined;
      for (let i = 0; i < events.length; i++) {
        const id = ids[i];
        if (id === null || id === undefined) continue;
        const event = events[i]! as ProjectedEvent;
        let entry = touched.get(id);
        if (entry === undefined) {
          const doc = current(id);
          entry = { before: doc, after: doc, position: event.position, recordedAt: event.recordedAt };
          touched.set(id, entry);
        }
        const previous = entry.after;
        const next: unknown = p.apply(previous, event) ?? null;
        if (next === previous) continue;
        if (topics && JSON.stringify(next) !== JSON.stringify(previous)) {
          const list = topics(id, previous, next);
          if (list.length > 0) notices.push({ position: event.position, topics: list });
        }
        entry.after = next;
        entry.position = event.position;
        entry.recordedAt = event.recordedAt;
      }

      const { rows } = await client.query<{ paused: boolean; moved: boolean }>(
        this.#batchStatement(table, touched, options.live ? noticeRows(notices) : [], {
          name: p.name,
          build: this.build,
          from,
          to,
          events: events.length,
          live: options.live,
        }),
      );
      if (rows[0]?.paused) return 'paused';
      if (!rows[0]?.moved) {
        throw new LostBuildError(`build ${this.build} of ${p.name} moved on without this process`);
      }

      if (this.#cache) {
        for (const [id, entry] of touched) this.#cache.set(id, entry.after);
        if (this.#cache.size > CACHE_LIMIT) this.dropCache();
      }
      return notices;
    } catch (err) {
      // What the cache holds may no longer match the table: start over from the table.
      if (this.#cache) {
        this.#cache.clear();
        this.#complete = false;
      }
      throw err;
    }
  }

  /**
   * The batch's one statement. `cas` moves the checkpoint from `from` to `to` (when the build is
   * still ours, and for a live build only when not paused: `FOR SHARE` makes a pause that committed
   * first win, and one that comes later wait for this batch); every other part writes only when
   * `cas` did, so a lost build or a pause writes nothing. Returns one row (paused, moved).
   */
  #batchStatement(
    table: string,
    touched: ReadonlyMap<string, Touched>,
    notices: readonly { position: number; topics: string[] }[],
    batch: { name: string; build: number; from: number; to: number; events: number; live: boolean },
  ): pg.QueryConfig {
    const values: unknown[] = [batch.name, batch.build, batch.to, batch.events, batch.from];
    const param = (value: unknown): string => `$${values.push(value)}`;
    const moved = 'EXISTS (SELECT FROM cas)';
    const parts = [
      batch.live
        ? `gate AS (SELECT paused FROM projection.projections WHERE name = $1 FOR SHARE)`
        : `gate AS (SELECT false AS paused)`,
      `cas AS (
         UPDATE projection.builds SET position = $3, events = events + $4, updated_at = now()
          WHERE name = $1 AND build = $2 AND position = $5 AND status = ${param(batch.live ? 'live' : 'building')}
            AND NOT coalesce((SELECT paused FROM gate), false)
         RETURNING 1)`,
    ];

    const upserts: Record<string, unknown>[] = [];
    const deletes: string[] = [];
    for (const [id, t] of touched) {
      if (t.after === t.before) continue;
      if (t.after === null) {
        if (t.before !== null) deletes.push(id);
        continue;
      }
      const row: Record<string, unknown> = {
        id,
        doc: t.after,
        position: t.position,
        updated_at: t.recordedAt.toISOString(),
      };
      for (const [column, def] of this.#columns) row[column] = def.value(t.after as never) ?? null;
      upserts.push(row);
    }
    if (deletes.length > 0) {
      parts.push(`deleted AS (DELETE FROM ${table} WHERE id = ANY(${param(deletes)}::text[]) AND ${moved})`);
    }
    if (upserts.length > 0) {
      const columns = ['id', 'doc', 'position', 'updated_at', ...this.#columns.map(([c]) => c)];
      const types = ['text', 'jsonb', 'bigint', 'timestamptz', ...this.#columns.map(([, d]) => d.type)];
      const list = columns.map(quote).join(', ');
      const record = columns.map((c, i) => `${quote(c)} ${types[i]!}`).join(', ');
      const set = columns
        .slice(1)
        .map((c) => `${quote(c)} = EXCLUDED.${quote(c)}`)
        .join(', ');
      parts.push(`upserted AS (
         INSERT INTO ${table} (${list})
         SELECT ${list} FROM jsonb_to_recordset(${param(JSON.stringify(upserts))}::jsonb) AS r(${record})
          WHERE ${moved}
         ON CONFLICT (id) DO UPDATE SET ${set})`);
    }
    this.#counters.forEach(([counter, key], n) => {
      const deltas = new Map<string, number>();
      for (const t of touched.values()) {
        if (t.after === t.before) continue;
        const before = t.before === null ? null : key(t.before as never);
        const after = t.after === null ? null : key(t.after as never);
        if (before === after) continue;
        if (before !== null) deltas.set(before, (deltas.get(before) ?? 0) - 1);
        if (after !== null) deltas.set(after, (deltas.get(after) ?? 0) + 1);
      }
      const changed = [...deltas].filter(([, d]) => d !== 0);
      if (changed.length === 0) return;
      const counters = counterTable(this.projection.name, counter, this.build);
      parts.push(`counted${n} AS (
         INSERT INTO ${counters} AS c (key, count)
         SELECT k, d FROM unnest(${param(changed.map(([k]) => k))}::text[], ${param(changed.map(([, d]) => d))}::bigint[]) AS x(k, d)
          WHERE ${moved}
         ON CONFLICT (key) DO UPDATE SET count = c.count + EXCLUDED.count)`);
    });
    if (notices.length > 0) {
      parts.push(`noticed AS (${insertNoticesSql('$1', param(JSON.stringify(notices)), moved)})`);
    }
    // The batch's commit need not wait for the disk: a read model is derived from events that are
    // durable already, and the WAL is flushed in order, so a batch lost in a crash is one after
    // which nothing durable depends on it (its checkpoint is lost with it, and it is applied again,
    // to the same result). Waiting would put every batch in the queue for the WAL flush beside the
    // appends that must wait (two flushes per command instead of one).
    return {
      text: `WITH ${parts.join(',\n')}
        SELECT coalesce((SELECT paused FROM gate), false) AS paused, ${moved} AS moved,
               set_config('synchronous_commit', 'off', true) AS commit_mode`,
      values,
    };
  }
}
