import pg from 'pg';
import type { Logger } from '@optic-mart/platform';
import type { KeyValueStore } from '../ports.js';
import { ChannelHandlers, type MessageHandler } from './channel-handlers.js';
import {
  decodePayload,
  inlinePayload,
  MAX_INLINE_BYTES,
  notifyChannel,
  storedPayloadSql,
} from './notify-channel.js';
import { NO_FLUSH_WAIT } from '../postgres/no-flush-wait.js';
import { PostgresListener } from './postgres-listener.js';
import { ensureKeyValueSchema } from './postgres-schema.js';
import { ttlMillis } from './ttl.js';

export interface PostgresKeyValueStoreOptions {
  readonly connectionString: string;
  /** Prepended to every key and channel, so deployments (or tests) sharing a database stay apart. */
  readonly keyPrefix?: string;
  /** The connections' `application_name` (`<name>` and `<name>:listen` in pg_stat_activity). */
  readonly name?: string;
  /** Default 10. */
  readonly poolSize?: number;
  /** A pool to use instead of one of its own (shared with the PostgreSQL transport); not ended on close. */
  readonly pool?: pg.Pool;
  /** How often expired keys and old large-message rows are deleted. Default 30 s. */
  readonly sweepIntervalMs?: number;
  /** How long a large message's row outlives its NOTIFY (listeners fetch it at once). Default 60 s. */
  readonly messageRetentionMs?: number;
  readonly logger?: Logger;
}

/** Rows the sweeper deletes per statement (short statements, short row locks) … */
const SWEEP_BATCH = 1000;
/** … and statements per sweep, so a backlog is worked off over several sweeps, not all at once. */
const SWEEP_MAX_BATCHES = 10;

const LIVE = '(expires_at IS NULL OR expires_at > now())';
// NULL ttl → NULL expires_at: the key never expires.
const EXPIRES_AT = "now() + $3::float8 * interval '1 millisecond'";

const SQL = {
  get: `SELECT value FROM messaging.kv WHERE key = $1 AND ${LIVE}`,
  set: `INSERT INTO messaging.kv (key, value, expires_at) VALUES ($1, $2, ${EXPIRES_AT})
        ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at`,
  // The same, committed without waiting for the disk.
  setNotDurable: `INSERT INTO messaging.kv (key, value, expires_at)
        SELECT $1, $2, ${EXPIRES_AT} FROM ${NO_FLUSH_WAIT}
        ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at`,
  // One statement, so racing callers serialise on the key's index entry: the first inserts (or
  // takes over an expired row); the others find a live row and their WHERE turns the update into
  // a no-op that returns nothing.
  setIfAbsent: `INSERT INTO messaging.kv AS kv (key, value, expires_at) VALUES ($1, $2, ${EXPIRES_AT})
        ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at
        WHERE kv.expires_at <= now()
        RETURNING 1`,
  delete: 'DELETE FROM messaging.kv WHERE key = $1',
  members: `SELECT key, value FROM messaging.kv WHERE key LIKE $1 ESCAPE '\\' AND ${LIVE}`,
  publish: 'SELECT pg_notify($1, $2)',
  // The row commits with the NOTIFY, so a listener woken by it always finds the row.
  publishStored: `WITH m AS (INSERT INTO messaging.kv_messages (payload) VALUES ($2) RETURNING id)
        SELECT pg_notify($1, ${storedPayloadSql('m.id')}) FROM m`,
  storedMessage: 'SELECT payload FROM messaging.kv_messages WHERE id = $1',
  // SKIP LOCKED: sweepers of several processes split the work instead of queueing on each other.
  sweepKeys: `DELETE FROM messaging.kv WHERE key IN (
        SELECT key FROM messaging.kv WHERE expires_at <= now() LIMIT ${SWEEP_BATCH} FOR UPDATE SKIP LOCKED)`,
  sweepMessages: `DELETE FROM messaging.kv_messages WHERE id IN (
        SELECT id FROM messaging.kv_messages WHERE created_at < now() - $1::float8 * interval '1 millisecond'
        LIMIT ${SWEEP_BATCH} FOR UPDATE SKIP LOCKED)`,
} as const;

/** LIKE treats `%`, `_` and the escape character specially; a prefix must match only itself. */
const escapeLike = (text: string): string => text.replace(/[\\%_]/g, '\\$&');
const memberKey = (group: string, member: string): string => {
  if (group.includes('\u0001') || member.includes('\u0001')) {
    throw new RangeError('group and member names cannot contain U+0001');
  }
  return `members:${group}\u0001${member}`;
};

class PostgresKeyValueStore implements KeyValueStore {
  readonly #pool: pg.Pool;
  readonly #ownsPool: boolean;
  readonly #prefix: string;
  readonly #logger: Logger | undefined;
  /** Handlers per NOTIFY channel (the mapped name: that is what notifications carry). */
  readonly #handlers: ChannelHandlers;
  readonly #listener: PostgresListener;
  /** Per channel, the LISTEN in flight: a second subscriber must not resolve before it lands. */
  readonly #listening = new Map<string, Promise<void>>();
  /**
   * Deliveries in arrival order: a large message must be fetched before it is handed over, and
   * a small one published after it must not overtake it.
   */
  #deliveries: Promise<void> = Promise.resolve();
  readonly #sweepIntervalMs: number;
  readonly #messageRetentionMs: number;
  #sweepTimer: NodeJS.Timeout | null = null;
  #sweeping: Promise<void> | null = null;
  #closed: Promise<void> | null = null;

  constructor(options: PostgresKeyValueStoreOptions) {
    const name = options.name ?? 'optic-mart-kv';
    this.#prefix = options.keyPrefix ?? '';
    this.#logger = options.logger;
    this.#sweepIntervalMs = options.sweepIntervalMs ?? 30_000;
    this.#messageRetentionMs = options.messageRetentionMs ?? 60_000;
    this.#handlers = new ChannelHandlers(options.logger);
    this.#ownsPool = options.pool === undefined;
    this.#pool =
      options.pool ??
      new pg.Pool({
        connectionString: options.connectionString,
        max: options.poolSize ?? 10,
        application_name: name,
      });
    // An idle pooled connection that fails emits here; unheard, it would crash the process.
    if (this.#ownsPool)
      this.#pool.on('error', (err) => this.#logger?.warn({ err }, 'key-value pool connection failed'));
    this.#listener = new PostgresListener({
      // keepAlive: the LISTEN connection idles for long stretches; a silently dropped one must be
      // noticed (and re-opened) rather than wait forever for notifications that cannot come.
      clientConfig: {
        connectionString: options.connectionString,
        application_name: `${name}:listen`,
        keepAlive: true,
      },
      onNotification: (channel, payload) => this.#onNotification(channel, payload),
      logger: options.logger,
    });
  }

  async start(): Promise<void> {
    try {
      await ensureKeyValueSchema(this.#pool);
    } catch (err) {
      await this.#pool.end().catch(() => undefined);
      throw err;
    }
    this.#sweepTimer = setInterval(() => this.#sweep(), this.#sweepIntervalMs);
    // The sweep is housekeeping: it must not keep a process alive that is otherwise done.
    this.#sweepTimer.unref();
  }

  async get(key: string): Promise<string | null> {
    const { rows } = await this.#pool.query<{ value: string }>(SQL.get, [this.#prefix + key]);
    return rows[0]?.value ?? null;
  }

  async set(key: string, value: string, options?: { ttlMs?: number; durable?: boolean }): Promise<void> {
    await this.#pool.query(options?.durable === false ? SQL.setNotDurable : SQL.set, [
      this.#prefix + key,
      value,
      ttlMillis(options?.ttlMs) ?? null,
    ]);
  }

  async setIfAbsent(key: string, value: string, options?: { ttlMs?: number }): Promise<boolean> {
    const ttl = ttlMillis(options?.ttlMs) ?? null;
    const { rowCount } = await this.#pool.query(SQL.setIfAbsent, [this.#prefix + key, value, ttl]);
    return rowCount === 1;
  }

  async delete(key: string): Promise<void> {
    await this.#pool.query(SQL.delete, [this.#prefix + key]);
  }

  // A member is the key `members:<group>\u0001<member>`: a group's rows are one range of the
  // primary key (COLLATE "C"), read with a left-anchored LIKE.
  async setMember(group: string, member: string, value: string, options: { ttlMs: number }): Promise<void> {
    await this.set(memberKey(group, member), value, options);
  }

  async deleteMember(group: string, member: string): Promise<void> {
    await this.delete(memberKey(group, member));
  }

  async members(group: string): Promise<Map<string, string>> {
    const start = this.#prefix + memberKey(group, '');
    const pattern = `${escapeLike(start)}%`;
    const { rows } = await this.#pool.query<{ key: string; value: string }>(SQL.members, [pattern]);
    return new Map(rows.map((r) => [r.key.slice(start.length), r.value]));
  }

  async publish(channel: string, message: string): Promise<void> {
    const target = notifyChannel(this.#prefix + channel);
    if (Buffer.byteLength(message, 'utf8') <= MAX_INLINE_BYTES) {
      await this.#pool.query(SQL.publish, [target, inlinePayload(message)]);
    } else {
      await this.#pool.query(SQL.publishStored, [target, message]);
    }
  }

  async subscribe(channel: string, handler: MessageHandler): Promise<() => Promise<void>> {
    if (this.#closed) throw new Error('key-value store is closed');
    const target = notifyChannel(this.#prefix + channel);
    // A wrapper per call: the same function subscribed twice is two subscriptions.
    const subscription: MessageHandler = (message) => handler(message);
    if (this.#handlers.add(target, subscription)) {
      const listening = this.#listener.listen(target);
      this.#listening.set(target, listening);
      try {
        await listening;
      } catch (err) {
        if (this.#handlers.remove(target, subscription)) await this.#listener.unlisten(target);
        throw err;
      } finally {
        if (this.#listening.get(target) === listening) this.#listening.delete(target);
      }
    } else {
      try {
        await this.#listening.get(target);
      } catch (err) {
        // The first subscriber's failure is ours too; the last one out cleans up.
        if (this.#handlers.remove(target, subscription)) await this.#listener.unlisten(target);
        throw err;
      }
    }
    let subscribed = true;
    return async () => {
      if (!subscribed) return;
      subscribed = false;
      if (this.#handlers.remove(target, subscription) && !this.#closed) await this.#listener.unlisten(target);
    };
  }

  #onNotification(channel: string, payload: string): void {
    // Not ours (any more): skip, and do not fetch a large message nobody will read.
    if (!this.#handlers.has(channel)) return;
    const decoded = decodePayload(payload);
    if (decoded === null) {
      this.#logger?.warn({ channel }, 'key-value notification with an unknown payload ignored');
      return;
    }
    // Fetch now (in parallel with earlier fetches), hand over in order.
    const message =
      'message' in decoded ? Promise.resolve(decoded.message) : this.#storedMessage(decoded.storedId);
    this.#deliveries = this.#deliveries
      .then(() => message)
      .then((m) => {
        if (m !== null) this.#handlers.dispatch(channel, m);
      });
  }

  async #storedMessage(id: string): Promise<string | null> {
    try {
      const { rows } = await this.#pool.query<{ payload: string }>(SQL.storedMessage, [id]);
      if (rows[0]) return rows[0].payload;
      this.#logger?.warn({ id }, 'large key-value message already swept; not delivered');
    } catch (err) {
      if (!this.#closed) this.#logger?.warn({ err, id }, 'large key-value message could not be read');
    }
    return null;
  }

  #sweep(): void {
    if (this.#sweeping || this.#closed) return;
    this.#sweeping = (async () => {
      try {
        const batches = async (sql: string, params: unknown[] = []): Promise<void> => {
          for (let i = 0; i < SWEEP_MAX_BATCHES && !this.#closed; i++) {
            const { rowCount } = await this.#pool.query(sql, params);
            if ((rowCount ?? 0) < SWEEP_BATCH) return;
          }
        };
        await batches(SQL.sweepKeys);
        await batches(SQL.sweepMessages, [this.#messageRetentionMs]);
      } catch (err) {
        this.#logger?.warn({ err }, 'key-value sweep failed; the next one retries');
      } finally {
        this.#sweeping = null;
      }
    })();
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      if (this.#sweepTimer) clearInterval(this.#sweepTimer);
      this.#handlers.clear();
      await this.#listener.close();
      await this.#sweeping;
      await this.#deliveries;
      if (this.#ownsPool) await this.#pool.end();
    })();
    return this.#closed;
  }
}

/**
 * The key-value store on PostgreSQL (the embedded default): a `messaging.kv` table whose reads
 * ignore expired rows (swept in the background), `setIfAbsent` as one atomic upsert, publish/
 * subscribe by NOTIFY/LISTEN (messages too big for a NOTIFY travel through a table row).
 * Resolves once the tables exist.
 */
export async function createPostgresKeyValueStore(
  options: PostgresKeyValueStoreOptions,
): Promise<KeyValueStore> {
  const store = new PostgresKeyValueStore(options);
  await store.start();
  return store;
}
