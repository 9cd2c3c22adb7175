// Queries over the projections' read models, for the gateway: one view per read model (the live
// build), filtered on its declared columns, and read-your-writes (wait until a projection has
// applied a given position).
import type pg from 'pg';
import { readHeadPosition } from '@optic-mart/eventstore';
import type { KeyValueStore } from '@optic-mart/messaging';
import { AppError, type Logger } from '@optic-mart/platform';
import { NOTICES_CHANNEL, parseNoticeBatch } from './notices.js';
import type { ColumnType } from './projection.js';
import { counterView, quote, readModelView, type AnyProjection } from './schema.js';

/** One filter of `find`: equality on a scalar column, or "the array column holds this value". */
export type FilterValue = string | number | boolean | { readonly contains: string | number };

export interface FindOptions {
  /** Column → filter, all of them must hold. Only declared columns (and `id`) can be filtered. */
  readonly where?: Readonly<Record<string, FilterValue>>;
  /** A declared scalar column, `id`, `position` or `updated_at`; `-name` sorts descending. Default `id`. */
  readonly sort?: string;
  /** Page size, 1 … 500; default 50. */
  readonly limit?: number;
  /** The `nextCursor` of the previous page (with the same filters and sort). */
  readonly cursor?: string;
}

export interface Page<Doc> {
  readonly items: Doc[];
  /** Pass it back as `cursor` for the next page; null on the last page. */
  readonly nextCursor: string | null;
}

export interface ReadModelsOptions {
  readonly pool: pg.Pool;
  readonly kv: KeyValueStore;
  /** The projections whose read models can be queried (their declared columns are the filters). */
  readonly projections: readonly AnyProjection[];
  readonly logger?: Logger;
}

/** Thrown by `find` for a bad cursor, filter or sort; `field` names the option. */
const invalid = (field: string, message: string) =>
  new AppError('validation_failed', `${field} ${message}`, { errors: [{ field, message }] });

const MAX_LIMIT = 500;
const DEFAULT_LIMIT = 50;
const builtInColumns: Readonly<Record<string, ColumnType>> = {
  id: 'text',
  position: 'bigint',
  updated_at: 'timestamptz',
};

interface Cursor {
  /** The sort it was made for. */
  readonly s: string;
  /** The last row's sort value (as text; null for a null column), and id. */
  readonly v: string | null;
  readonly i: string;
}

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

function decodeCursor(text: string, sort: string): Cursor {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw invalid('cursor', 'is not a cursor this API gave out');
  }
  const c = value as Partial<Cursor> | null;
  if (
    typeof c !== 'object' ||
    c === null ||
    typeof c.s !== 'string' ||
    typeof c.i !== 'string' ||
    !(typeof c.v === 'string' || c.v === null)
  ) {
    throw invalid('cursor', 'is not a cursor this API gave out');
  }
  if (c.s !== sort) throw invalid('cursor', `was made for sort ${c.s}, not ${sort}`);
  return { s: c.s, v: c.v, i: c.i };
}

interface Waiter {
  readonly position: number;
  readonly resolve: () => void;
}

/** PostgreSQL: the relation does not exist (the projector has not made the read model yet). */
const isUndefinedTable = (err: unknown): boolean => (err as { code?: unknown } | null)?.code === '42P01';

/**
 * The read side's query helper. Reads only the views `read."<name>"` and
 * `read."<name>_by_<counter>"`, which always point at the live build, so a rebuild never shows
 * here; `waitForPosition` gives read-your-writes.
 */
export class ReadModels {
  readonly #pool: pg.Pool;
  readonly #kv: KeyValueStore;
  readonly #logger: Logger | undefined;
  readonly #columns = new Map<string, Readonly<Record<string, ColumnType>>>();
  readonly #counters = new Map<string, ReadonlySet<string>>();
  /** The highest position each projection was announced to have reached. */
  readonly #reached = new Map<string, number>();
  readonly #waiters = new Map<string, Set<Waiter>>();
  #subscription: Promise<() => Promise<void>> | null = null;
  #closed = false;

  constructor(options: ReadModelsOptions) {
    this.#pool = options.pool;
    this.#kv = options.kv;
    this.#logger = options.logger;
    for (const p of options.projections) {
      const declared = Object.fromEntries(Object.entries(p.columns ?? {}).map(([name, c]) => [name, c.type]));
      this.#columns.set(p.name, { ...declared, ...builtInColumns });
      this.#counters.set(p.name, new Set(Object.keys(p.counters ?? {})));
    }
  }

  /** The document `id` of read model `name`, or null when there is none. */
  async get<Doc>(name: string, id: string): Promise<Doc | null> {
    this.#columnsOf(name);
    const { rows } = await this.#query<{ doc: Doc }>(
      name,
      `SELECT doc FROM ${readModelView(name)} WHERE id = $1`,
      [id],
    );
    return rows[0]?.doc ?? null;
  }

  /**
   * A page of documents matching every filter, in `sort` order (ties broken by id), paged with
   * an opaque keyset cursor: a page is as fast at the end of the list as at its start, and rows
   * written between pages neither repeat nor shift the next page.
   */
  async find<Doc>(name: string, options: FindOptions = {}): Promise<Page<Doc>> {
    const columns = this.#columnsOf(name);
    const params: unknown[] = [];
    const param = (value: unknown, type: ColumnType): string => {
      params.push(value);
      return `$${params.length}::${type}`;
    };
    const conditions: string[] = [];
    for (const [column, filter] of Object.entries(options.where ?? {})) {
      const type = columns[column];
      if (type === undefined) throw invalid(column, `is not a column of ${name}`);
      if (type === 'text[]') {
        const value = typeof filter === 'object' ? filter.contains : filter;
        conditions.push(`${quote(column)} @> ARRAY[${param(String(value), 'text')}]`);
      } else {
        if (typeof filter === 'object') throw invalid(column, 'is not an array column');
        conditions.push(`${quote(column)} = ${param(String(filter), type)}`);
      }
    }

    const sort = options.sort ?? 'id';
    const descending = sort.startsWith('-');
    const sortColumn = descending ? sort.slice(1) : sort;
    const sortType = columns[sortColumn];
    if (sortType === undefined || sortType === 'text[]') {
      throw invalid('sort', `must be one of ${this.#sortable(name).join(', ')} (or one of them after -)`);
    }
    const limit = options.limit ?? DEFAULT_LIMIT;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw invalid('limit', `must be an integer from 1 to ${MAX_LIMIT}`);
    }

    const col = quote(sortColumn);
    const direction = descending ? 'DESC' : 'ASC';
    const after = descending ? '<' : '>';
    if (options.cursor !== undefined) {
      const cursor = decodeCursor(options.cursor, sort);
      const id = param(cursor.i, 'text');
      if (sortColumn === 'id') conditions.push(`id ${after} ${id}`);
      else if (cursor.v === null) conditions.push(`(${col} IS NULL AND id ${after} ${id})`);
      else {
        // Nulls sort last in both directions, so every null row comes after a non-null one.
        const v = param(cursor.v, sortType);
        conditions.push(`(${col} ${after} ${v} OR (${col} = ${v} AND id ${after} ${id}) OR ${col} IS NULL)`);
      }
    }
    const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
    const order = sortColumn === 'id' ? `id ${direction}` : `${col} ${direction} NULLS LAST, id ${direction}`;
    const { rows } = await this.#query<{ id: string; doc: Doc; sort_value: string | null }>(
      name,
      `SELECT id, doc, ${col}::text AS sort_value FROM ${readModelView(name)} ${where}
        ORDER BY ${order} LIMIT ${limit + 1}`,
      params,
    );
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map((r) => r.doc),
      nextCursor:
        rows.length > limit && last ? encodeCursor({ s: sort, v: last.sort_value, i: last.id }) : null,
    };
  }

  /** How many documents have each key of a counter (keys with none may be absent). */
  async counts(name: string, counter: string): Promise<Record<string, number>> {
    if (!this.#counters.get(name)?.has(counter)) throw new Error(`${name} declares no counter ${counter}`);
    const { rows } = await this.#query<{ key: string; count: string }>(
      name,
      `SELECT key, count FROM ${counterView(name, counter)} WHERE count <> 0`,
      [],
    );
    return Object.fromEntries(rows.map((r) => [r.key, Number(r.count)]));
  }

  /** The live build's checkpoint: the last position the read model reflects (0 before any). */
  async checkpoint(name: string): Promise<number> {
    try {
      const { rows } = await this.#pool.query<{ position: string }>(
        `SELECT position FROM projection.builds WHERE name = $1 AND status = 'live'`,
        [name],
      );
      const position = Number(rows[0]?.position ?? 0);
      this.#reach(name, position);
      return position;
    } catch (err) {
      if (isUndefinedTable(err)) return 0;
      throw err;
    }
  }

  /**
   * Resolves true once read model `name` reflects every event up to `position` (its live build's
   * checkpoint ≥ position), false if that takes more than `timeoutMs`. Woken by the projector's
   * notices, with a read of the checkpoint when it starts and when it gives up, so a notice lost
   * on the way (pub/sub is not durable) costs time, never a wrong answer.
   */
  async waitForPosition(name: string, position: number, timeoutMs: number): Promise<boolean> {
    if ((this.#reached.get(name) ?? -1) >= position) return true;
    await this.#listen();
    let waiter: Waiter | undefined;
    const reached = new Promise<void>((resolve) => {
      waiter = { position, resolve };
    });
    const waiters = this.#waiters.get(name) ?? new Set<Waiter>();
    this.#waiters.set(name, waiters);
    waiters.add(waiter!);
    let timer: NodeJS.Timeout | undefined;
    try {
      // Registered first: a notice arriving while the checkpoint is read still wakes it.
      if ((await this.checkpoint(name)) >= position) return true;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), Math.max(0, timeoutMs));
      });
      if ((await Promise.race([reached, timedOut])) !== 'timeout') return true;
      return (await this.checkpoint(name)) >= position;
    } finally {
      clearTimeout(timer);
      waiters.delete(waiter!);
    }
  }

  /** The position of the last event in the log: a position beyond it was never written. */
  logHead(): Promise<number> {
    return readHeadPosition(this.#pool);
  }

  /** Stops listening for notices; waits in progress end at their timeout. */
  async close(): Promise<void> {
    this.#closed = true;
    const subscription = this.#subscription;
    this.#subscription = null;
    if (subscription) await (await subscription.catch(() => null))?.();
  }

  #listen(): Promise<() => Promise<void>> {
    if (this.#closed) return Promise.reject(new Error('ReadModels is closed'));
    this.#subscription ??= this.#kv
      .subscribe(NOTICES_CHANNEL, (message) => {
        // Every applied batch is published, with or without notices: `to` is the new checkpoint.
        const batch = parseNoticeBatch(message);
        if (batch) this.#reach(batch.projection, batch.to);
      })
      .catch((err: unknown) => {
        this.#subscription = null; // the next wait tries again
        throw err;
      });
    return this.#subscription;
  }

  #reach(name: string, position: number): void {
    if (position > (this.#reached.get(name) ?? -1)) this.#reached.set(name, position);
    for (const w of this.#waiters.get(name) ?? []) if (w.position <= position) w.resolve();
  }

  #columnsOf(name: string): Readonly<Record<string, ColumnType>> {
    const columns = this.#columns.get(name);
    if (!columns) throw new Error(`no read model ${name} (its projection was not given to ReadModels)`);
    return columns;
  }

  #sortable(name: string): string[] {
    return Object.entries(this.#columnsOf(name))
      .filter(([, type]) => type !== 'text[]')
      .map(([column]) => column);
  }

  async #query<Row extends pg.QueryResultRow>(
    name: string,
    sql: string,
    params: unknown[],
  ): Promise<pg.QueryResult<Row>> {
    try {
      return await this.#pool.query<Row>(sql, params);
    } catch (err) {
      if (!isUndefinedTable(err)) throw err;
      this.#logger?.warn({ readModel: name }, 'read model not built yet');
      throw new AppError('service_unavailable', `The read model ${name} is not built yet.`, {
        extra: { retryAfter: 1 },
      });
    }
  }
}
