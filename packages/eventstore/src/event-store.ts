import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { AppError, type Logger } from '@optic-mart/platform';
import { AggregateLoader } from './aggregate-loader.js';
import { GroupCommit } from './group-commit.js';
import { migrate } from './migrate.js';
import { ERASURES_CHANNEL, Notifier } from './notifier.js';
import { PersonalDataVault, decryptFields, encryptFields } from './personal-data.js';
import { UpcasterRegistry, type Upcaster } from './upcasters.js';
import type {
  AppendOptions,
  AppendResult,
  EventMetadata,
  ExpectedVersion,
  NewEvent,
  PersonalData,
  ReadAllOptions,
  ReadAllResult,
  ReadStreamOptions,
  RecordedEvent,
  Snapshot,
  StreamAppend,
  StreamMetadata,
} from './types.js';

export interface EventStoreOptions {
  /** PostgreSQL connection string (or pass `pool`). */
  readonly connectionString?: string;
  readonly pool?: pg.Pool;
  /** Pool size when the store makes its own pool. */
  readonly poolSize?: number;
  readonly logger?: Logger;
  readonly upcasters?: readonly Upcaster[];
  /** Apply the schema on start (default true). */
  readonly migrate?: boolean;
  /**
   * How often to stamp events whose writer died between its commit and its stamp (default 1000 ms;
   * 0 turns it off). Any later append stamps them too; this covers a store that goes quiet.
   */
  readonly sweepIntervalMs?: number;
  /**
   * How often at most this store tells the processes that follow the log (LISTEN) where it ends now
   * (default 5 ms): appends made within the interval share one notification.
   */
  readonly notifyIntervalMs?: number;
}

/** Largest number of events one append may carry. */
export const MAX_EVENTS_PER_APPEND = 10_000;
/** Largest number of streams one `appendMany` may write. */
export const MAX_STREAMS_PER_APPEND = 100;
/** Stream ids are opaque strings up to this length; the category is the part before the first '-'. */
export const MAX_STREAM_ID_LENGTH = 200;
const MAX_READ = 10_000;
/**
 * Locate calls in flight per process. Two keep the sequencer busy: while one commits its stamp,
 * the next already waits for the lock with the appenders that arrived meanwhile.
 */
const MAX_LOCATES = 2;

/** Events as the append function takes them: one array per column. */
interface EncodedEvents {
  readonly ids: string[];
  readonly types: string[];
  readonly data: unknown[];
  readonly metadata: EventMetadata[];
  readonly schemaVersions: number[];
}

/** What `eventstore.append` answers (and `eventstore.append_outcome`, without seqs). */
interface AppendRow {
  status: string;
  version: string | null;
  position: string | null;
  seqs: string[] | null;
}

const APPEND_SQL =
  'SELECT status, version, "position", seqs FROM eventstore.append($1, $2, $3, $4, $5, $6, $7)';

interface EventRow {
  position: string | null;
  stream_id: string;
  version: string;
  id: string;
  type: string;
  schema_version: number;
  data: unknown;
  metadata: EventMetadata;
  /** recorded_at in milliseconds since the epoch: a number parses far faster than a timestamp's text. */
  recorded_ms: number;
}

const EVENT_COLUMNS = `e.stream_id, e.version, e.id, e.type, e.schema_version, e.data, e.metadata,
  date_part('epoch', e.recorded_at) * 1000 AS recorded_ms`;

/**
 * The event store on PostgreSQL: append with version tags, read streams and the global log in
 * commit-safe order, subscribe, snapshots, upcasting, stream metadata, soft delete and erasure of
 * personal data. See the package README for how the global order is kept.
 */
/**
 * The position of the last event in the global log (0 when it is empty), read on any connection to
 * the store's database: readers that hold no EventStore (read models) use it.
 */
export async function readHeadPosition(db: Pick<pg.Pool, 'query'>): Promise<number> {
  const { rows } = await db.query<{ p: string | null }>(
    'SELECT position_end AS p FROM eventstore.runs ORDER BY position_end DESC LIMIT 1',
  );
  return Number(rows[0]?.p ?? 0);
}

export class EventStore {
  readonly pool: pg.Pool;
  readonly notifier: Notifier;
  readonly #ownsPool: boolean;
  readonly #logger: Logger | undefined;
  readonly #upcasters: UpcasterRegistry;
  readonly #vault: PersonalDataVault;
  readonly #migrate: boolean;
  readonly #sweepIntervalMs: number;
  #sweeper: NodeJS.Timeout | null = null;
  readonly #waiting = new Map<
    string,
    { resolve: (position: number) => void; reject: (err: unknown) => void }[]
  >();
  #locating = 0;
  readonly #groupCommit: GroupCommit;
  readonly #loader: AggregateLoader<EventRow>;
  #started: Promise<void> | null = null;

  constructor(options: EventStoreOptions) {
    if (!options.pool && !options.connectionString)
      throw new Error('EventStore needs a pool or a connectionString');
    this.#ownsPool = !options.pool;
    this.pool =
      options.pool ??
      new pg.Pool({
        connectionString: options.connectionString,
        max: options.poolSize ?? 20,
        // The store's queries are short; JIT compiling one (on a poor row estimate) costs far more
        // than running it, and while the sequencer lock is held it stalls every appender.
        options: '-c jit=off',
      });
    this.pool.on('error', (err) => this.#logger?.warn({ err }, 'idle event store connection failed'));
    this.#logger = options.logger;
    this.#upcasters = new UpcasterRegistry(options.upcasters);
    this.#vault = new PersonalDataVault(this.pool);
    this.#groupCommit = new GroupCommit(this.pool, options.notifyIntervalMs);
    this.#loader = new AggregateLoader(this.pool, EVENT_COLUMNS, MAX_READ);
    this.#migrate = options.migrate ?? true;
    this.#sweepIntervalMs = options.sweepIntervalMs ?? 1000;
    const poolOptions = (this.pool as unknown as { options: pg.ClientConfig }).options;
    this.notifier = new Notifier({ ...poolOptions }, options.logger);
    this.notifier.on('erased', (subjectId) => this.#vault.forget(subjectId));
  }

  /** Applies the schema (unless disabled) and opens the notification connection. Idempotent. */
  start(): Promise<void> {
    this.#started ??= (async () => {
      if (this.#migrate) await migrate(this.pool);
      await this.notifier.start();
      const { rows } = await this.pool.query<{ p: string }>('SELECT eventstore.stamp() AS p');
      this.notifier.lastPosition = Math.max(this.notifier.lastPosition, Number(rows[0]?.p ?? 0));
      if (this.#sweepIntervalMs > 0) {
        this.#sweeper = setInterval(() => {
          this.stampPending().catch((err: unknown) =>
            this.#logger?.warn({ err }, 'event store sweep failed'),
          );
        }, this.#sweepIntervalMs);
        this.#sweeper.unref();
      }
    })();
    return this.#started;
  }

  /** Registers an upcaster after construction. */
  registerUpcaster(upcaster: Upcaster): void {
    this.#upcasters.register(upcaster);
  }

  /**
   * Appends events to one stream atomically. The version tag must be the stream's current version
   * + 1 (seed 000); on a mismatch nothing is written and `wrong_version` reports the current
   * version. An append whose event ids are all stored already returns the first result.
   */
  async append(streamId: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult> {
    validateStreamId(streamId);
    if (events.length === 0) throw new AppError('validation_failed', 'an append needs at least one event');
    if (events.length > MAX_EVENTS_PER_APPEND) {
      throw new AppError('payload_too_large', `an append carries at most ${MAX_EVENTS_PER_APPEND} events`);
    }
    const expected = encodeExpectedVersion(options.expectedVersion);
    const { ids, types, data, metadata, schemaVersions } = await this.#encode(events);

    const outcome = await this.#groupCommit
      .append({ streamId, expected, ids, types, data, metadata, schemaVersions })
      .catch(rethrowRefusedText);
    if (outcome.status === 'ok') {
      return { streamId, version: outcome.version, position: outcome.position, duplicate: false };
    }
    if (outcome.status === 'unstamped') {
      const position = await this.#locate(outcome.seqs);
      return { streamId, version: outcome.version, position, duplicate: false };
    }
    let row: AppendRow = { status: outcome.status, version: null, position: null, seqs: null };
    if (outcome.status === 'conflict') {
      // Another append won the race for this version (or the ids exist): nothing was written.
      const r = await this.pool.query<AppendRow>(
        'SELECT status, version, "position", NULL::bigint[] AS seqs FROM eventstore.append_outcome($1, $2)',
        [streamId, ids],
      );
      row = r.rows[0]!;
    }
    switch (row.status) {
      case 'duplicate':
        return { streamId, version: Number(row.version), position: Number(row.position), duplicate: true };
      case 'wrong_version': {
        const currentVersion = Number(row.version);
        throw new AppError(
          'wrong_version',
          `stream ${streamId} is at version ${currentVersion}, so the next version tag is ${currentVersion + 1}`,
          { extra: { streamId, currentVersion } },
        );
      }
      case 'stream_deleted':
        throw new AppError('stream_deleted', `stream ${streamId} was deleted`, { extra: { streamId } });
      case 'event_id_conflict':
        throw new AppError('event_id_conflict', 'some of these event ids are already stored', {
          extra: { streamId },
        });
      default:
        throw new Error(`unexpected append status ${row.status}`);
    }
  }

  /**
   * Appends to several streams in one transaction: all of it or nothing. Each stream's version tag
   * is checked as `append` checks it, so a mismatch on any stream writes nothing and reports that
   * stream's `wrong_version`; of concurrent multi-stream appends sharing a stream at the same tag,
   * exactly one is written. Positions are stamped after commit, as for every append (README,
   * invariant 2). A retry whose event ids are all stored returns the first results (`duplicate`).
   * Results come in the order of `appends`.
   */
  async appendMany(appends: readonly StreamAppend[]): Promise<AppendResult[]> {
    if (appends.length === 0) {
      throw new AppError('validation_failed', 'appendMany needs at least one stream');
    }
    if (appends.length > MAX_STREAMS_PER_APPEND) {
      throw new AppError('payload_too_large', `appendMany takes at most ${MAX_STREAMS_PER_APPEND} streams`);
    }
    const prepared: { streamId: string; expected: number; encoded: EncodedEvents }[] = [];
    const streams = new Set<string>();
    const allIds = new Set<string>();
    let total = 0;
    for (const [k, { streamId, events, expectedVersion }] of appends.entries()) {
      validateStreamId(streamId);
      if (streams.has(streamId)) {
        throw new AppError('validation_failed', `stream ${streamId} appears twice in one appendMany`, {
          errors: [{ field: `appends[${k}].streamId`, message: 'must differ from the other streams' }],
        });
      }
      streams.add(streamId);
      if (events.length === 0) {
        throw new AppError('validation_failed', `appends[${k}] needs at least one event`, {
          errors: [{ field: `appends[${k}].events`, message: 'needs at least one event' }],
        });
      }
      total += events.length;
      if (total > MAX_EVENTS_PER_APPEND) {
        throw new AppError('payload_too_large', `an append carries at most ${MAX_EVENTS_PER_APPEND} events`);
      }
      const expected = encodeExpectedVersion(expectedVersion);
      const encoded = await this.#encode(events, `appends[${k}].events`);
      for (const id of encoded.ids) allIds.add(id);
      prepared.push({ streamId, expected, encoded });
    }
    if (allIds.size !== total) {
      throw new AppError('validation_failed', 'event ids within one append must differ');
    }
    // One lock order for every multi-stream append: two that share streams then wait for each
    // other on the (stream_id, version) index instead of deadlocking.
    const ordered = [...prepared].sort((a, b) =>
      a.streamId < b.streamId ? -1 : a.streamId > b.streamId ? 1 : 0,
    );

    const rows = new Map<string, AppendRow>();
    let committed = false;
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      try {
        for (const { streamId, expected, encoded } of ordered) {
          // Stamped after the commit (#locate): the sequencer lock held across the remaining
          // statements would hold up every other appender.
          const r = await client.query<AppendRow>({
            name: 'eventstore-append',
            text: APPEND_SQL,
            values: [
              streamId,
              expected,
              encoded.ids,
              encoded.types,
              JSON.stringify(encoded.data),
              JSON.stringify(encoded.metadata),
              encoded.schemaVersions,
            ],
          });
          const row = r.rows[0]!;
          rows.set(streamId, row);
          // Stop at once: whatever else is wrong is asked outside this transaction (below), which
          // must not go on inserting while it may hold the sequencer lock (a duplicate's outcome
          // can stamp).
          if (row.status !== 'ok') break;
        }
        if (rows.size === ordered.length && [...rows.values()].every((r) => r.status === 'ok')) {
          await client.query('COMMIT');
          committed = true;
        } else {
          await client.query('ROLLBACK');
        }
      } catch (err) {
        await client.query('ROLLBACK').catch((rollbackErr: unknown) => {
          broken = rollbackErr as Error;
        });
        // Another append won the race for a version (or wrote these ids): nothing was written.
        if ((err as { code?: string }).code !== 'OM409') rethrowRefusedText(err);
      }
    } catch (err) {
      broken ??= err as Error;
      throw err;
    } finally {
      client.release(broken);
    }

    if (committed) {
      const positions = await Promise.all(
        ordered.map(({ streamId }) => this.#locate(rows.get(streamId)!.seqs ?? [])),
      );
      const byStream = new Map(ordered.map(({ streamId }, i) => [streamId, positions[i]!]));
      return prepared.map(({ streamId }) => ({
        streamId,
        version: Number(rows.get(streamId)!.version),
        position: byStream.get(streamId)!,
        duplicate: false,
      }));
    }
    const deleted = [...rows].find(([, row]) => row.status === 'stream_deleted');
    if (deleted) {
      throw new AppError('stream_deleted', `stream ${deleted[0]} was deleted`, {
        extra: { streamId: deleted[0] },
      });
    }
    // Nothing was written: why not, for every stream, as it is now (a lost race, a retry …).
    const outcomes = await Promise.all(
      ordered.map(({ streamId, encoded }) =>
        this.pool.query<AppendRow>(
          'SELECT status, version, "position", NULL::bigint[] AS seqs FROM eventstore.append_outcome($1, $2)',
          [streamId, encoded.ids],
        ),
      ),
    );
    const now = new Map(ordered.map(({ streamId }, i) => [streamId, outcomes[i]!.rows[0]!]));
    return this.#manyOutcome(prepared, now);
  }

  /** The answer to a multi-stream append that wrote nothing: the first results, or why not. */
  #manyOutcome(
    prepared: readonly { streamId: string; expected: number }[],
    rows: ReadonlyMap<string, AppendRow>,
  ): AppendResult[] {
    const statuses = prepared.map(({ streamId }) => rows.get(streamId)?.status);
    if (statuses.every((s) => s === 'duplicate')) {
      return prepared.map(({ streamId }) => {
        const row = rows.get(streamId)!;
        return { streamId, version: Number(row.version), position: Number(row.position), duplicate: true };
      });
    }
    const wrong = prepared.filter(({ streamId }) => rows.get(streamId)?.status === 'wrong_version');
    // After a lost race every stream reports its current version: name one that really moved on.
    const moved =
      wrong.find(({ streamId, expected }) => {
        const first = expected === -1 ? 1 : expected;
        return first > 0 && Number(rows.get(streamId)!.version) + 1 !== first;
      }) ?? wrong[0];
    if (moved && !statuses.includes('duplicate') && !statuses.includes('event_id_conflict')) {
      const currentVersion = Number(rows.get(moved.streamId)!.version);
      throw new AppError(
        'wrong_version',
        `stream ${moved.streamId} is at version ${currentVersion}, so the next version tag is ${currentVersion + 1}`,
        { extra: { streamId: moved.streamId, currentVersion } },
      );
    }
    // Some of the ids are stored and some are not: not a retry of one append.
    throw new AppError('event_id_conflict', 'some of these event ids are already stored', {
      extra: { streamIds: prepared.map((p) => p.streamId) },
    });
  }

  /** Validates events and encodes them as the append function's arrays (encrypting personal data). */
  async #encode(events: readonly NewEvent[], field = 'events'): Promise<EncodedEvents> {
    const ids: string[] = [];
    const types: string[] = [];
    const data: unknown[] = [];
    const metadata: EventMetadata[] = [];
    const schemaVersions: number[] = [];
    for (const [i, event] of events.entries()) {
      if (typeof event.type !== 'string' || event.type.length === 0 || event.type.length > 200) {
        throw new AppError('validation_failed', `${field}[${i}].type must be a non-empty string`, {
          errors: [
            { field: `${field}[${i}].type`, message: 'must be a non-empty string of at most 200 characters' },
          ],
        });
      }
      if (event.data === undefined) {
        throw new AppError('validation_failed', `${field}[${i}].data is required`, {
          errors: [{ field: `${field}[${i}].data`, message: 'is required' }],
        });
      }
      const id = event.id ?? randomUUID();
      if (!UUID.test(id)) {
        throw new AppError('validation_failed', `${field}[${i}].id must be a UUID`, {
          errors: [{ field: `${field}[${i}].id`, message: 'must be a UUID' }],
        });
      }
      ids.push(id.toLowerCase());
      types.push(event.type);
      schemaVersions.push(event.schemaVersion ?? 1);
      if (event.personalData) {
        const pd = validatePersonalData(event.personalData, i);
        const key = await this.#vault.keyForWriting(pd.subjectId);
        data.push(encryptFields(event.data, pd.fields, key));
        metadata.push({
          ...event.metadata,
          personalData: { subjectId: pd.subjectId, fields: [...pd.fields] },
        });
      } else {
        data.push(event.data);
        metadata.push(event.metadata ?? {});
      }
    }
    if (new Set(ids).size !== ids.length) {
      throw new AppError('validation_failed', 'event ids within one append must differ');
    }
    return { ids, types, data, metadata, schemaVersions };
  }

  /**
   * Appended while another transaction held the sequencer lock: the events are committed and get
   * their position at the next stamp. All of this process's waiting appenders share one
   * `eventstore.locate` call (it waits for the lock, stamps, and returns every position), and the
   * appenders that arrive meanwhile share the next one.
   */
  #locate(seqs: readonly string[]): Promise<number> {
    const maxSeq = seqs.reduce((m, s) => (BigInt(s) > BigInt(m) ? s : m), seqs[0] ?? '0');
    return new Promise((resolve, reject) => {
      const waiters = this.#waiting.get(maxSeq) ?? [];
      waiters.push({ resolve, reject });
      this.#waiting.set(maxSeq, waiters);
      if (this.#locating < MAX_LOCATES) void this.#locateWaiting();
    });
  }

  async #locateWaiting(): Promise<void> {
    this.#locating++;
    try {
      while (this.#waiting.size > 0) {
        const batch = new Map(this.#waiting);
        this.#waiting.clear();
        try {
          const { rows } = await this.pool.query<{ seq: string; position: string | null }>({
            name: 'eventstore-locate',
            text: 'SELECT seq, "position" FROM eventstore.locate($1)',
            values: [[...batch.keys()]],
          });
          for (const row of rows) {
            const waiters = batch.get(row.seq);
            if (!waiters) continue;
            batch.delete(row.seq);
            // Committed events are always visible to the stamp, so every seq has its position now.
            if (row.position === null)
              for (const w of waiters) w.reject(new Error(`seq ${row.seq} was not stamped`));
            else for (const w of waiters) w.resolve(Number(row.position));
          }
          for (const [seq, waiters] of batch)
            this.#waiting.set(seq, [...(this.#waiting.get(seq) ?? []), ...waiters]);
        } catch (err) {
          for (const waiters of batch.values()) for (const w of waiters) w.reject(err);
        }
      }
    } finally {
      this.#locating--;
    }
  }

  /** Reads a stream in version order (or backwards). Throws stream_not_found / stream_deleted. */
  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    validateStreamId(streamId);
    const limit = clampLimit(options.limit ?? MAX_READ);
    const backwards = options.direction === 'backwards';
    const from = options.from ?? (backwards ? Number.MAX_SAFE_INTEGER : 1);
    // Deletion is read in the same statement (a one-row init plan): every command's load comes here.
    const { rows } = await this.pool.query<EventRow & { deleted: boolean | null }>(
      `SELECT CASE WHEN r.seq_end >= e.seq THEN r.position_end - (r.seq_end - e.seq) END AS position, ${EVENT_COLUMNS},
              (SELECT s.deleted_at IS NOT NULL FROM eventstore.streams s WHERE s.stream_id = $1) AS deleted
       FROM eventstore.events e
       LEFT JOIN LATERAL (
         SELECT position_end, seq_end FROM eventstore.runs WHERE seq_start <= e.seq ORDER BY seq_start DESC LIMIT 1
       ) r ON true
       WHERE e.stream_id = $1 AND ${backwards ? 'e.version <= $2' : 'e.version >= $2'}
       ORDER BY e.version ${backwards ? 'DESC' : 'ASC'}
       LIMIT $3`,
      [streamId, from, limit],
    );
    // With no rows the page says nothing about the stream: one look tells deleted from missing.
    const deleted =
      rows.length > 0 ? rows[0]!.deleted === true : (await this.getStreamMetadata(streamId))?.deleted;
    if (deleted)
      throw new AppError('stream_deleted', `stream ${streamId} was deleted`, { extra: { streamId } });
    if (rows.length === 0 && !(await this.streamExists(streamId))) {
      throw new AppError('stream_not_found', `stream ${streamId} does not exist`, { extra: { streamId } });
    }
    return this.#toEvents(rows);
  }

  /** The stream's current version (0 when it has no events). */
  async streamVersion(streamId: string): Promise<number> {
    const { rows } = await this.pool.query<{ v: string | null }>(
      'SELECT max(version) AS v FROM eventstore.events WHERE stream_id = $1',
      [streamId],
    );
    return Number(rows[0]?.v ?? 0);
  }

  async streamExists(streamId: string): Promise<boolean> {
    const { rows } = await this.pool.query('SELECT 1 FROM eventstore.events WHERE stream_id = $1 LIMIT 1', [
      streamId,
    ]);
    return rows.length > 0;
  }

  /**
   * The stored event with this id, or null. A command handler that derives event ids from the
   * command id asks this to learn whether the command was applied already, with no table of its own.
   */
  async findEvent(id: string): Promise<RecordedEvent | null> {
    if (typeof id !== 'string' || !UUID.test(id)) {
      throw new AppError('validation_failed', 'an event id must be a UUID', {
        errors: [{ field: 'id', message: 'must be a UUID' }],
      });
    }
    const { rows } = await this.pool.query<EventRow>(
      `SELECT CASE WHEN r.seq_end >= e.seq THEN r.position_end - (r.seq_end - e.seq) END AS position, ${EVENT_COLUMNS}
       FROM eventstore.events e
       LEFT JOIN LATERAL (
         SELECT position_end, seq_end FROM eventstore.runs WHERE seq_start <= e.seq ORDER BY seq_start DESC LIMIT 1
       ) r ON true
       WHERE e.id = $1`,
      [id.toLowerCase()],
    );
    const [event] = await this.#toEvents(rows);
    return event ?? null;
  }

  /**
   * Reads the global log after a position, in position order: every committed event exactly once,
   * never skipping one that committed late. With a category or types, the checkpoint also moves
   * past events that did not match.
   */
  async readAll(options: ReadAllOptions = {}): Promise<ReadAllResult> {
    const after = Math.max(0, Math.trunc(options.after ?? 0));
    const limit = clampLimit(options.limit ?? 1000);
    const filtered =
      options.category !== undefined || (options.types !== undefined && options.types.length > 0);
    if (!filtered) return this.#readAllUnfiltered(after, limit);
    // A filtered read scans a window of positions after `after`, up to the head, and returns what
    // matches in it; the head, the window and the page come from one statement, so one snapshot:
    // the checkpoint moves only over positions that snapshot could see (stamped later: next read;
    // no run of that snapshot ends beyond its head, so the scan needs no bound but the window's).
    const conditions: string[] = [];
    const params: unknown[] = [after, Math.min(limit * 10, 100_000)];
    if (options.category !== undefined) {
      params.push(`${options.category}-`);
      conditions.push(`starts_with(e.stream_id, $${params.length})`);
    }
    if (options.types && options.types.length > 0) {
      params.push(options.types);
      conditions.push(`e.type = ANY ($${params.length})`);
    }
    const { rows } = await this.pool.query<Partial<EventRow> & { head: string; win: string }>(
      `WITH w AS (
         SELECT h.head, greatest(0, least($2, h.head - $1)) AS win
           FROM (SELECT coalesce((SELECT position_end FROM eventstore.runs ORDER BY position_end DESC LIMIT 1), 0) AS head) h
       ),
       r AS (
         SELECT position_end, seq_start, seq_end FROM eventstore.runs
         WHERE position_end > $1 ORDER BY position_end LIMIT $2
       ),
       page AS (
         SELECT r.position_end - (r.seq_end - e.seq) AS position, ${EVENT_COLUMNS}
         FROM r CROSS JOIN LATERAL (
           SELECT * FROM eventstore.events e
           WHERE e.seq BETWEEN greatest(r.seq_start, r.seq_end - r.position_end + $1 + 1)
                           AND least(r.seq_end, r.seq_end - r.position_end + $1 + $2)
           AND ${conditions.join(' AND ')}
         ) e
         ORDER BY 1
         LIMIT ${limit}
       )
       SELECT w.head, w.win, page.* FROM w LEFT JOIN page ON true ORDER BY page.position`,
      params,
    );
    const head = Number(rows[0]?.head ?? 0);
    const window = Number(rows[0]?.win ?? 0);
    if (head > this.notifier.lastPosition) this.notifier.lastPosition = head;
    const found = rows.filter((r): r is EventRow & typeof r => r.id != null);
    // A full page ends at its last event; a short one read the whole window.
    const checkpoint = Math.max(
      found.length === limit ? Number(found[found.length - 1]!.position) : after + window,
      after,
    );
    return { events: await this.#toEvents(found), checkpoint, head: Math.max(head, checkpoint) };
  }

  /** A page of the whole log: the page and the head in one statement (readers page through millions). */
  async #readAllUnfiltered(after: number, limit: number): Promise<ReadAllResult> {
    const { rows } = await this.pool.query<EventRow & { head: string }>({
      name: 'eventstore-read-all',
      text: `WITH r AS (
         SELECT position_end, seq_start, seq_end FROM eventstore.runs
         WHERE position_end > $1 ORDER BY position_end LIMIT $2
       )
       SELECT r.position_end - (r.seq_end - e.seq) AS position, ${EVENT_COLUMNS},
              (SELECT position_end FROM eventstore.runs ORDER BY position_end DESC LIMIT 1) AS head
       FROM r CROSS JOIN LATERAL (
         SELECT * FROM eventstore.events e
         WHERE e.seq BETWEEN greatest(r.seq_start, r.seq_end - r.position_end + $1 + 1)
                         AND least(r.seq_end, r.seq_end - r.position_end + $1 + $2)
       ) e`,
      values: [after, limit],
    });
    if (rows.length === 0)
      return { events: [], checkpoint: after, head: Math.max(await this.headPosition(), after) };
    // Runs in position order, each scanned in seq order: the rows come in position order, so they are
    // only checked here rather than sorted by PostgreSQL (a sort of the whole page before its first
    // row); sorted only if a plan ever returns them otherwise.
    inPositionOrder(rows);
    const checkpoint = Math.max(Number(rows[rows.length - 1]!.position), after);
    const head = Number(rows[0]!.head);
    if (head > this.notifier.lastPosition) this.notifier.lastPosition = head;
    return { events: await this.#toEvents(rows), checkpoint, head: Math.max(head, checkpoint) };
  }

  /** The last position stamped so far. */
  async headPosition(): Promise<number> {
    const head = await readHeadPosition(this.pool);
    if (head > this.notifier.lastPosition) this.notifier.lastPosition = head;
    return head;
  }

  /** Stamps whatever committed events still lack a position (a writer died between its commit and its stamp). */
  async stampPending(): Promise<number> {
    const { rows } = await this.pool.query<{ pending: boolean }>('SELECT eventstore.sweep_due() AS pending');
    if (!rows[0]?.pending) return this.headPosition();
    const r = await this.pool.query<{ p: string }>('SELECT eventstore.stamp() AS p');
    return Number(r.rows[0]?.p ?? 0);
  }

  // ── snapshots ────────────────────────────────────────────────────────────

  /** Saves an aggregate's state at a version; an older snapshot never replaces a newer one. */
  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    validateStreamId(snapshot.streamId);
    await this.pool.query(
      `INSERT INTO eventstore.snapshots (stream_id, version, type, schema_version, state)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (stream_id) DO UPDATE SET version = EXCLUDED.version, type = EXCLUDED.type,
         schema_version = EXCLUDED.schema_version, state = EXCLUDED.state, recorded_at = now()
       WHERE eventstore.snapshots.version < EXCLUDED.version`,
      [
        snapshot.streamId,
        snapshot.version,
        snapshot.type,
        snapshot.schemaVersion,
        JSON.stringify(snapshot.state),
      ],
    );
  }

  async loadSnapshot<State>(streamId: string): Promise<Snapshot<State> | null> {
    const { rows } = await this.pool.query<{
      version: string;
      type: string;
      schema_version: number;
      state: State;
    }>('SELECT version, type, schema_version, state FROM eventstore.snapshots WHERE stream_id = $1', [
      streamId,
    ]);
    const row = rows[0];
    return row
      ? {
          streamId,
          version: Number(row.version),
          type: row.type,
          schemaVersion: row.schema_version,
          state: row.state,
        }
      : null;
  }

  /**
   * Loads an aggregate: its latest snapshot (when its type and schema version match) plus only the
   * events after it, folded with `evolve`.
   */
  async aggregate<State, Event extends RecordedEvent = RecordedEvent>(
    streamId: string,
    options: {
      initialState: () => State;
      evolve: (state: State, event: Event) => State;
      snapshot?: { type: string; schemaVersion: number };
    },
  ): Promise<{ state: State; version: number; eventsRead: number }> {
    validateStreamId(streamId);
    // Every command loads its aggregate: the matching snapshot, the events after it and whether the
    // stream is deleted come in one round trip, shared with the other loads asked for meanwhile.
    const loaded = await this.#loader.load({
      streamId,
      snapshotType: options.snapshot?.type ?? null,
      snapshotSchemaVersion: options.snapshot?.schemaVersion ?? null,
    });
    if (loaded.deleted)
      throw new AppError('stream_deleted', `stream ${streamId} was deleted`, { extra: { streamId } });
    let state = loaded.snapshot ? (loaded.snapshot.state as State) : options.initialState();
    let version = loaded.snapshot ? Number(loaded.snapshot.version) : 0;
    let eventsRead = 0;
    let events = await this.#toEvents(loaded.events);
    for (;;) {
      for (const e of events) {
        state = options.evolve(state, e as Event);
        version = e.version;
      }
      eventsRead += events.length;
      if (events.length < MAX_READ) break;
      // A stream longer than one page (rare with snapshots): the rest page by page.
      events = await this.readStream(streamId, { from: version + 1, limit: MAX_READ }).catch(
        (err: unknown) => {
          if (err instanceof AppError && err.code === 'stream_not_found') return [];
          throw err;
        },
      );
    }
    return { state, version, eventsRead };
  }

  // ── stream metadata, soft delete ─────────────────────────────────────────

  async setStreamMetadata(streamId: string, metadata: Record<string, unknown>): Promise<void> {
    validateStreamId(streamId);
    await this.pool.query(
      `INSERT INTO eventstore.streams (stream_id, metadata) VALUES ($1, $2)
       ON CONFLICT (stream_id) DO UPDATE SET metadata = EXCLUDED.metadata`,
      [streamId, JSON.stringify(metadata)],
    );
  }

  async getStreamMetadata(streamId: string): Promise<StreamMetadata | null> {
    const { rows } = await this.pool.query<{ metadata: Record<string, unknown>; deleted_at: Date | null }>(
      'SELECT metadata, deleted_at FROM eventstore.streams WHERE stream_id = $1',
      [streamId],
    );
    const row = rows[0];
    return row ? { streamId, metadata: row.metadata, deleted: row.deleted_at !== null } : null;
  }

  /**
   * Soft delete: the stream's events stay in the global log (history is immutable) but the stream
   * reads as deleted and takes no more appends; its snapshot goes.
   */
  async deleteStream(streamId: string): Promise<void> {
    validateStreamId(streamId);
    if (!(await this.streamExists(streamId))) {
      throw new AppError('stream_not_found', `stream ${streamId} does not exist`, { extra: { streamId } });
    }
    await this.pool.query(
      `WITH s AS (
         INSERT INTO eventstore.streams (stream_id, deleted_at) VALUES ($1, now())
         ON CONFLICT (stream_id) DO UPDATE SET deleted_at = coalesce(eventstore.streams.deleted_at, now())
       )
       DELETE FROM eventstore.snapshots WHERE stream_id = $1`,
      [streamId],
    );
  }

  // ── personal data ────────────────────────────────────────────────────────

  /**
   * Erases one person's personal data: their key is destroyed, so every field written under it
   * reads as null from now on, in every process (they are told by NOTIFY); snapshots of the streams
   * that held it are dropped, since they may contain it in clear. New personal data for the subject
   * is refused.
   */
  async eraseSubject(subjectId: string): Promise<{ events: number }> {
    if (typeof subjectId !== 'string' || subjectId.length === 0) {
      throw new AppError('validation_failed', 'subjectId must be a non-empty string');
    }
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(
        'INSERT INTO eventstore.erased_subjects (subject_id) VALUES ($1) ON CONFLICT DO NOTHING',
        [subjectId],
      );
      await client.query('DELETE FROM eventstore.subject_keys WHERE subject_id = $1', [subjectId]);
      const { rows } = await client.query<{ n: string }>(
        `WITH streams AS (
           SELECT DISTINCT stream_id FROM eventstore.events
           WHERE metadata ? 'personalData' AND metadata #>> '{personalData,subjectId}' = $1
         ), gone AS (DELETE FROM eventstore.snapshots WHERE stream_id IN (SELECT stream_id FROM streams))
         SELECT count(*) AS n FROM eventstore.events
         WHERE metadata ? 'personalData' AND metadata #>> '{personalData,subjectId}' = $1`,
        [subjectId],
      );
      await client.query('SELECT pg_notify($1, $2)', [ERASURES_CHANNEL, subjectId]);
      await client.query('COMMIT');
      this.#vault.forget(subjectId);
      return { events: Number(rows[0]?.n ?? 0) };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    if (this.#sweeper) clearInterval(this.#sweeper);
    await this.#started?.catch(() => undefined);
    await this.#groupCommit.close();
    await this.notifier.close();
    if (this.#ownsPool) await this.pool.end();
  }

  async #toEvents(rows: readonly EventRow[]): Promise<RecordedEvent[]> {
    const subjects = new Set<string>();
    for (const r of rows) {
      const pd = r.metadata.personalData as PersonalData | undefined;
      if (pd?.subjectId) subjects.add(pd.subjectId);
    }
    const keys = subjects.size > 0 ? await this.#vault.keysForReading(subjects) : null;
    return rows.map((r) => {
      let data = r.data;
      let erased: boolean | undefined;
      const pd = r.metadata.personalData as PersonalData | undefined;
      if (pd?.subjectId && keys) {
        const key = keys.get(pd.subjectId) ?? null;
        data = decryptFields(data, pd.fields, key);
        if (!key) erased = true;
      }
      const event: RecordedEvent = {
        id: r.id,
        streamId: r.stream_id,
        type: r.type,
        data,
        metadata: r.metadata,
        schemaVersion: r.schema_version,
        version: Number(r.version),
        position: r.position === null ? null : Number(r.position),
        recordedAt: new Date(r.recorded_ms),
        ...(erased ? { erased } : {}),
      };
      return this.#upcasters.apply(event);
    });
  }
}

/**
 * PostgreSQL's jsonb cannot hold the character U+0000 (SQLSTATE 22P05), which JSON can: an event
 * carrying it is bad input, not a failure of the store.
 */
function rethrowRefusedText(err: unknown): never {
  if ((err as { code?: unknown }).code === '22P05') {
    throw new AppError('validation_failed', 'event data and metadata may not contain the character U+0000', {
      errors: [{ field: 'events', message: 'contains the character U+0000, which cannot be stored' }],
    });
  }
  throw err;
}

/** Sorts rows by position unless they are in position order already (the usual case: one pass). */
function inPositionOrder(rows: { position: string | null }[]): void {
  for (let i = 1; i < rows.length; i++) {
    if (Number(rows[i]!.position) < Number(rows[i - 1]!.position)) {
      rows.sort((a, b) => Number(a.position) - Number(b.position));
      return;
    }
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function validateStreamId(streamId: string): void {
  if (typeof streamId !== 'string' || streamId.length === 0 || streamId.length > MAX_STREAM_ID_LENGTH) {
    throw new AppError('validation_failed', `stream id must be 1 to ${MAX_STREAM_ID_LENGTH} characters`, {
      errors: [{ field: 'streamId', message: `must be 1 to ${MAX_STREAM_ID_LENGTH} characters` }],
    });
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(streamId)) {
    throw new AppError('validation_failed', 'stream id must not contain control characters', {
      errors: [{ field: 'streamId', message: 'must not contain control characters' }],
    });
  }
}

function validatePersonalData(pd: PersonalData, i: number): PersonalData {
  if (typeof pd.subjectId !== 'string' || pd.subjectId.length === 0 || !Array.isArray(pd.fields)) {
    throw new AppError('validation_failed', `events[${i}].personalData needs a subjectId and fields`, {
      errors: [{ field: `events[${i}].personalData`, message: 'needs a subjectId and a list of fields' }],
    });
  }
  return pd;
}

function encodeExpectedVersion(expected: ExpectedVersion): number {
  if (expected === 'any') return 0;
  if (expected === 'no_stream') return -1;
  if (!Number.isSafeInteger(expected) || expected < 1) {
    throw new AppError('validation_failed', 'the version tag must be an integer of at least 1', {
      errors: [{ field: 'version', message: 'must be an integer of at least 1 (1 for a new stream)' }],
    });
  }
  return expected;
}

function clampLimit(limit: number): number {
  if (!Number.isFinite(limit) || limit < 1) return 1;
  return Math.min(Math.trunc(limit), MAX_READ);
}
