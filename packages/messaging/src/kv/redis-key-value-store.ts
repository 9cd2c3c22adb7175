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

/** Redis server time in milliseconds (scripts may call TIME since Redis 5's effects replication). */
const NOW = `local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)`;

/** Drops expired members: KEYS[1] expiries (sorted set), KEYS[2] values (hash). */
const PRUNE = `local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for i = 1, #gone, 1000 do
  local part = {unpack(gone, i, math.min(i + 999, #gone))}
  redis.call('ZREM', KEYS[1], unpack(part))
  redis.call('HDEL', KEYS[2], unpack(part))
end`;

/** ARGV: member, value, ttl ms. Both keys expire with their longest-lived member. */
const SET_MEMBER = `${NOW}
${PRUNE}
local ttl = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
for _, key in ipairs(KEYS) do
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
end`;

/** Returns member, value, member, value … of the live members. */
const MEMBERS = `${NOW}
${PRUNE}
local live = redis.call('ZRANGE', KEYS[1], 0, -1)
local out = {}
for i = 1, #live, 1000 do
  local part = {unpack(live, i, math.min(i + 999, #live))}
  local values = redis.call('HMGET', KEYS[2], unpack(part))
  for j = 1, #part do
    out[#out + 1] = part[j]
    out[#out + 1] = values[j]
  end
end
return out`;

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
    // Auto-pipelining sends the commands of concurrent callers issued in one tick as one write:
    // under load (many commands in flight) fewer round trips and system calls.
    this.#client = new Redis(options.url, {
      lazyConnect: true,
      connectionName: this.#name,
      enableAutoPipelining: true,
    });
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

  async set(key: string, value: string, options?: { ttlMs?: number; durable?: boolean }): Promise<void> {
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

  // A group is two keys: a sorted set of its members by expiry time and a hash of their values.
  // Scripts keep them consistent and use the server's clock, so processes' clocks do not matter.
  async setMember(group: string, member: string, value: string, options: { ttlMs: number }): Promise<void> {
    const ttl = ttlMillis(options.ttlMs);
    if (ttl === undefined) throw new RangeError('a member needs a ttlMs');
    await this.#client.eval(SET_MEMBER, 2, ...this.#groupKeys(group), member, value, ttl);
  }

  async deleteMember(group: string, member: string): Promise<void> {
    const [expiries, values] = this.#groupKeys(group);
    await this.#client.multi().zrem(expiries, member).hdel(values, member).exec();
  }

  async members(group: string): Promise<Map<string, string>> {
    const reply = (await this.#client.eval(MEMBERS, 2, ...this.#groupKeys(group))) as (string | null)[];
    const found = new Map<string, string>();
    for (let i = 0; i + 1 < reply.length; i += 2) {
      const value = reply[i + 1];
      if (value !== null && value !== undefined) found.set(reply[i]!, value);
    }
    return found;
  }

  #groupKeys(group: string): [string, string] {
    // A hash tag keeps both keys on one slot of a Redis Cluster.
    return [`${this.#prefix}members:{${group}}:expiries`, `${this.#prefix}members:{${group}}:values`];
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
