import { Redis } from 'ioredis';
import type { Logger } from '@optic-mart/platform';
import type { KeyValueStore } from '../ports.js';
import { ChannelHandlers, type MessageHandler } from './channel-handlers.js';
import { ttlMillis } from './ttl.js';

export interface RedisKeyValueStoreOptions {
  /** `redis://[user:password@]host:port[/db]`. */
  readonly url: string;
  /** Prepended to every key and channel, so deployments (or test files) sharing a server stay apart. */
  readonly keyPrefix?: string;
  /** Names the connections on the server (`CLIENT LIST`): `<name>` and `<name>:sub`. */
  readonly name?: string;
  readonly logger?: Logger;
}

/** Keys SCAN asks for per round trip, and keys per MGET. */
const BATCH = 500;

/** SCAN MATCH takes a glob: a prefix like `a*b` must match only itself, not `aXYb`. */
const escapeGlob = (text: string): string => text.replace(/[*?[\]\\]/g, '\\$&');

class RedisKeyValueStore implements KeyValueStore {
  readonly #client: Redis;
  #subscriber: Redis | null = null;
  readonly #prefix: string;
  readonly #name: string;
  readonly #logger: Logger | undefined;
  readonly #handlers: ChannelHandlers;
  /** Per channel, the SUBSCRIBE in flight: a second subscriber must not resolve before it lands. */
  readonly #subscribing = new Map<string, Promise<unknown>>();
  #closed: Promise<void> | null = null;

  constructor(options: RedisKeyValueStoreOptions) {
    this.#prefix = options.keyPrefix ?? '';
    this.#name = options.name ?? 'optic-mart-kv';
    this.#logger = options.logger;
    this.#handlers = new ChannelHandlers(options.logger);
    this.#client = new Redis(options.url, { lazyConnect: true, connectionName: this.#name });
    this.#client.on('error', (err) => this.#logger?.warn({ err }, 'redis key-value connection failed'));
  }

  async connect(): Promise<void> {
    // ioredis rejects connect() with a bare "Connection is closed"; the reason comes as an event.
    let reason: unknown;
    const onError = (err: unknown): void => {
      reason ??= err;
    };
    this.#client.on('error', onError);
    try {
      await this.#client.connect();
    } catch (err) {
      // Fail fast at start-up instead of retrying in the background behind the caller's back.
      this.#client.disconnect();
      throw reason ?? err;
    } finally {
      this.#client.off('error', onError);
    }
  }

  async get(key: string): Promise<string | null> {
    return this.#client.get(this.#prefix + key);
  }

  async set(key: string, value: string, options?: { ttlMs?: number }): Promise<void> {
    const ttl = ttlMillis(options?.ttlMs);
    // A plain SET also clears an earlier TTL, as PostgreSQL's upsert does: one semantics for both.
    if (ttl === undefined) await this.#client.set(this.#prefix + key, value);
    else await this.#client.set(this.#prefix + key, value, 'PX', ttl);
  }

  async setIfAbsent(key: string, value: string, options?: { ttlMs?: number }): Promise<boolean> {
    const ttl = ttlMillis(options?.ttlMs);
    const reply =
      ttl === undefined
        ? await this.#client.set(this.#prefix + key, value, 'NX')
        : await this.#client.set(this.#prefix + key, value, 'PX', ttl, 'NX');
    return reply === 'OK';
  }

  async delete(key: string): Promise<void> {
    await this.#client.del(this.#prefix + key);
  }

  async scan(prefix: string): Promise<Map<string, string>> {
    const match = `${escapeGlob(this.#prefix + prefix)}*`;
    // SCAN may return a key more than once (when the table is rehashed meanwhile).
    const keys = new Set<string>();
    let cursor = '0';
    do {
      const [next, batch] = await this.#client.scan(cursor, 'MATCH', match, 'COUNT', BATCH);
      for (const key of batch) keys.add(key);
      cursor = next;
    } while (cursor !== '0');
    const all = [...keys];
    const found = new Map<string, string>();
    for (let i = 0; i < all.length; i += BATCH) {
      const chunk = all.slice(i, i + BATCH);
      const values = await this.#client.mget(chunk);
      chunk.forEach((key, j) => {
        const value = values[j];
        // Null: the key expired or was deleted between SCAN and MGET.
        if (value !== null && value !== undefined) found.set(key.slice(this.#prefix.length), value);
      });
    }
    return found;
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.#client.publish(this.#prefix + channel, message);
  }

  async subscribe(channel: string, handler: MessageHandler): Promise<() => Promise<void>> {
    if (this.#closed) throw new Error('key-value store is closed');
    const name = this.#prefix + channel;
    const subscriber = this.#subscriberConnection();
    // A wrapper per call: the same function subscribed twice is two subscriptions.
    const subscription: MessageHandler = (message) => handler(message);
    if (this.#handlers.add(name, subscription)) {
      const subscribing = subscriber.subscribe(name);
      this.#subscribing.set(name, subscribing);
      try {
        await subscribing;
      } catch (err) {
        await this.#unsubscribeFailed(name, subscription);
        throw err;
      } finally {
        if (this.#subscribing.get(name) === subscribing) this.#subscribing.delete(name);
      }
    } else {
      try {
        await this.#subscribing.get(name);
      } catch (err) {
        // The first subscriber's failure is ours too.
        await this.#unsubscribeFailed(name, subscription);
        throw err;
      }
    }
    let subscribed = true;
    return async () => {
      if (!subscribed) return;
      subscribed = false;
      if (this.#handlers.remove(name, subscription) && !this.#closed) await subscriber.unsubscribe(name);
    };
  }

  /** Forgets a subscription that failed; the last one out also drops the server-side state. */
  async #unsubscribeFailed(name: string, subscription: MessageHandler): Promise<void> {
    if (this.#handlers.remove(name, subscription))
      await this.#subscriber?.unsubscribe(name).catch(() => undefined);
  }

  /**
   * One connection for all subscriptions: a connection in subscriber mode can run no other
   * command, and one per channel would cost a server connection per live resource.
   */
  #subscriberConnection(): Redis {
    if (this.#subscriber) return this.#subscriber;
    // autoResubscribe (ioredis' default, made explicit): after a reconnect the new connection
    // subscribes to every channel the old one had, so a dropped connection loses only the
    // messages published while it was down (pub/sub is not durable anyway).
    const subscriber = this.#client.duplicate({
      lazyConnect: false,
      connectionName: `${this.#name}:sub`,
      autoResubscribe: true,
    });
    subscriber.on('error', (err) => this.#logger?.warn({ err }, 'redis subscriber connection failed'));
    subscriber.on('message', (channel: string, message: string) => this.#handlers.dispatch(channel, message));
    this.#subscriber = subscriber;
    return subscriber;
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#handlers.clear();
      const connections = this.#subscriber ? [this.#client, this.#subscriber] : [this.#client];
      await Promise.all(connections.map(quit));
    })();
    return this.#closed;
  }
}

/** QUIT waits for replies still due; a connection that is down is just dropped (QUIT would queue). */
async function quit(client: Redis): Promise<void> {
  if (client.status === 'ready') {
    await client.quit().catch(() => client.disconnect());
  } else {
    client.disconnect();
  }
}

/**
 * The key-value store on Redis (production): expiry by `PX`, `setIfAbsent` by `SET NX PX`
 * (atomic on the server), `scan` by `SCAN MATCH` + `MGET`, publish/subscribe by Redis pub/sub on
 * one dedicated subscriber connection. Resolves once connected; rejects when Redis does not answer.
 */
export async function createRedisKeyValueStore(options: RedisKeyValueStoreOptions): Promise<KeyValueStore> {
  const store = new RedisKeyValueStore(options);
  await store.connect();
  return store;
}
