// Applying events to one build of a projection: a batch's documents are loaded (or taken from the
// in-memory cache of a rebuild), `apply` runs in memory, and the changed documents, the counters'
// deltas, the notices and the checkpoint are written in one transaction.
import type pg from 'pg';
import type { EventStore, LogFilter, ReadAllResult, RecordedEvent } from '@optic-mart/eventstore';
import type { KeyValueStore } from '@optic-mart/messaging';
import type { Logger } from '@optic-mart/platform';
import { publishNotices, recordNotices, type Notice } from './notices.js';
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

/** One build of one projection, as its owner applies events to it. */
export class BuildRunner {
  readonly projection: AnyProjection;
  readonly build: number;
  readonly version: number;
  #position: number;
  #events: number;
  /** id → document (null: absent), when caching; `complete`: every document is in it. */
  #cache: Map<string, unknown> | null;
  #complete: boolean;
  #columns: [string, { type: string; value: (doc: never) => unknown }][] = [];
  #counters: [string, (doc: never) => string | null][] = [];
  #prepared = false;
  readonly #store: EventStore;
  readonly #logger: Logger | undefined;

  constructor(options: {
    projection: AnyProjection;
    row: BuildRow;
    store: EventStore;
    /** Keep documents in memory between batches (a rebuild). */
    cache: boolean;
    logger?: Logger | undefined;
  }) {
    this.projection = options.projection;
    this.build = options.row.build;
    this.version = options.row.version;
    this.#position = options.row.position;
    this.#events = options.row.events;
    this.#store = options.store;
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

  /** Reads what follows the checkpoint and applies it in one transaction on `client`. */
  async step(client: pg.ClientBase, options: StepOptions): Promise<StepResult> {
    await this.prepare(client);
    const from = this.#position;
    const { events, checkpoint, head } = await this.#read(options);
    if (checkpoint <= from) return { handled: 0, from, to: from, head, paused: false };
    const result = await this.#write(client, events, from, checkpoint, options);
    if (result === 'paused') return { handled: 0, from, to: from, head, paused: true };
    this.#position = checkpoint;
    this.#events += events.length;
    if (options.live && options.kv) {
      // Not durable, and not needed to be: a receiver that misses it reads the gap from the table.
      await publishNotices(options.kv, {
        projection: this.projection.name,
        from,
        to: checkpoint,
        notices: result,
      }).catch((err: unknown) => this.#logger?.warn({ err }, 'could not publish notices'));
    }
    return { handled: events.length, from, to: checkpoint, head, paused: false };
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
      const page = await this.#page(checkpoint, Math.min(PAGE, options.maxEvents - events.length), filter);
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

  /** Applies and writes; returns the notices, or 'paused' when the live build is paused. */
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

    // Documents this batch needs that are not in memory.
    const missing = new Set<string>();
    if (!this.#complete) {
      for (const id of ids) if (id !== null && !(this.#cache?.has(id) ?? false)) missing.add(id);
    }

    await client.query('BEGIN');
    try {
      if (options.live) {
        // A pause that committed before this row lock is obeyed; one after waits for this batch.
        const paused = await client.query<{ paused: boolean }>(
          'SELECT paused FROM projection.projections WHERE name = $1 FOR SHARE',
          [p.name],
        );
        if (paused.rows[0]?.paused) {
          await client.query('ROLLBACK');
          return 'paused';
        }
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

      await this.#writeDocuments(client, table, touched);
      await this.#writeCounters(client, touched);
      if (options.live) await recordNotices(client, p.name, notices);
      const cas = await client.query(
        `UPDATE projection.builds SET position = $3, events = events + $4, updated_at = now()
          WHERE name = $1 AND build = $2 AND position = $5 AND status = $6`,
        [p.name, this.build, to, events.length, from, options.live ? 'live' : 'building'],
      );
      if (cas.rowCount !== 1) {
        throw new LostBuildError(`build ${this.build} of ${p.name} moved on without this process`);
      }
      await client.query('COMMIT');

      if (this.#cache) {
        for (const [id, entry] of touched) this.#cache.set(id, entry.after);
        if (this.#cache.size > CACHE_LIMIT) this.dropCache();
      }
      return notices;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      // What the cache holds may no longer match the table: start over from the table.
      if (this.#cache) {
        this.#cache.clear();
        this.#complete = false;
      }
      throw err;
    }
  }

  async #writeDocuments(client: pg.ClientBase, table: string, touched: ReadonlyMap<string, Touched>) {
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
    if (deletes.length > 0) await client.query(`DELETE FROM ${table} WHERE id = ANY($1)`, [deletes]);
    if (upserts.length === 0) return;
    const columns = ['id', 'doc', 'position', 'updated_at', ...this.#columns.map(([c]) => c)];
    const types = ['text', 'jsonb', 'bigint', 'timestamptz', ...this.#columns.map(([, d]) => d.type)];
    const list = columns.map(quote).join(', ');
    const record = columns.map((c, i) => `${quote(c)} ${types[i]!}`).join(', ');
    const set = columns
      .slice(1)
      .map((c) => `${quote(c)} = EXCLUDED.${quote(c)}`)
      .join(', ');
    // One statement per chunk (a JSON parameter is at most 1 GB; chunks keep it far below).
    for (let i = 0; i < upserts.length; i += 20_000) {
      await client.query(
        `INSERT INTO ${table} (${list})
         SELECT ${list} FROM jsonb_to_recordset($1::jsonb) AS r(${record})
         ON CONFLICT (id) DO UPDATE SET ${set}`,
        [JSON.stringify(upserts.slice(i, i + 20_000))],
      );
    }
  }

  async #writeCounters(client: pg.ClientBase, touched: ReadonlyMap<string, Touched>) {
    for (const [counter, key] of this.#counters) {
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
      if (changed.length === 0) continue;
      const table = counterTable(this.projection.name, counter, this.build);
      await client.query(
        `INSERT INTO ${table} AS c (key, count) SELECT * FROM unnest($1::text[], $2::bigint[])
         ON CONFLICT (key) DO UPDATE SET count = c.count + EXCLUDED.count`,
        [changed.map(([k]) => k), changed.map(([, d]) => d)],
      );
    }
  }
}
