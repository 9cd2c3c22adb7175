import pg from 'pg';
import type { Logger } from '@optic-mart/platform';
import { createPostgresKeyValueStore } from './kv/postgres-key-value-store.js';
import { createRedisKeyValueStore } from './kv/redis-key-value-store.js';
import { createNatsTransport } from './nats/index.js';
import { createPostgresTransport } from './postgres/index.js';
import type { CommandQueue, EventBus, KeyValueStore } from './ports.js';

/** Connections of the pool the PostgreSQL queues and key-value store share (each had 10 of its own). */
const SHARED_POOL_SIZE = 12;

/** Every messaging port a process needs, on the transports the configuration names. */
export interface Messaging {
  readonly commands: CommandQueue;
  readonly events: EventBus;
  readonly kv: KeyValueStore;
  /** Which transports are in use, for logs: e.g. `nats+redis` or `postgres`. */
  readonly transport: string;
  close(): Promise<void>;
}

export interface ConnectMessagingOptions {
  /** PostgreSQL: the embedded default for whatever NATS or Redis do not carry. */
  readonly databaseUrl: string;
  /** With it, the command queue and the events bus run on NATS JetStream. */
  readonly natsUrl?: string | undefined;
  /** With it, idempotency keys, the worker registry and replies run on Redis. */
  readonly redisUrl?: string | undefined;
  /** Namespaces streams, subjects, keys and channels, so deployments sharing servers stay apart. */
  readonly prefix: string;
  readonly logger?: Logger | undefined;
  /**
   * How long a consumer holds a message without settling or renewing it before it is redelivered
   * (PostgreSQL lease, JetStream ack-wait): a crashed worker's commands return after it. Default 30 s.
   */
  readonly leaseMs?: number | undefined;
}

/** The settings every role reads for messaging (the platform's base configuration has them). */
export interface MessagingSettings {
  readonly DATABASE_URL: string;
  readonly NATS_URL?: string | undefined;
  readonly REDIS_URL?: string | undefined;
  readonly MESSAGING_PREFIX: string;
}

/** connectMessaging with a role's configuration. */
export function connectMessagingFrom(
  config: MessagingSettings,
  logger?: Logger,
  options: Pick<ConnectMessagingOptions, 'leaseMs'> = {},
): Promise<Messaging> {
  return connectMessaging({
    databaseUrl: config.DATABASE_URL,
    natsUrl: config.NATS_URL,
    redisUrl: config.REDIS_URL,
    prefix: config.MESSAGING_PREFIX,
    logger,
    leaseMs: options.leaseMs,
  });
}

/**
 * Connects the ports (DESIGN.md §4): NATS JetStream for commands and events when `natsUrl` is
 * set, Redis for key-value and fan-out when `redisUrl` is set, PostgreSQL for the rest.
 */
export async function connectMessaging(options: ConnectMessagingOptions): Promise<Messaging> {
  const { logger } = options;
  // With neither NATS nor Redis, the queues and the key-value store share one pool: every role
  // holds these connections, and a default server allows 100 in all.
  const shared =
    !options.natsUrl && !options.redisUrl
      ? new pg.Pool({
          connectionString: options.databaseUrl,
          max: SHARED_POOL_SIZE,
          application_name: 'optic-mart-messaging',
        })
      : undefined;
  shared?.on('error', (err) => logger?.warn({ err }, 'idle messaging connection failed'));
  try {
    return await connectOn(options, shared);
  } catch (err) {
    await shared?.end();
    throw err;
  }
}

async function connectOn(options: ConnectMessagingOptions, shared: pg.Pool | undefined): Promise<Messaging> {
  const { logger, prefix, leaseMs } = options;
  const queues = options.natsUrl
    ? await createNatsTransport({
        url: options.natsUrl,
        prefix,
        ...(logger ? { logger } : {}),
        ...(leaseMs !== undefined ? { ackWaitMs: leaseMs } : {}),
      })
    : await createPostgresTransport({
        connectionString: options.databaseUrl,
        ...(shared ? { pool: shared } : {}),
        ...(logger ? { logger } : {}),
        ...(leaseMs !== undefined ? { leaseMs } : {}),
      });
  const kv = options.redisUrl
    ? await createRedisKeyValueStore({
        url: options.redisUrl,
        keyPrefix: `${prefix}:`,
        ...(logger ? { logger } : {}),
      })
    : await createPostgresKeyValueStore({
        connectionString: options.databaseUrl,
        ...(shared ? { pool: shared } : {}),
        keyPrefix: `${prefix}:`,
        ...(logger ? { logger } : {}),
      });
  return {
    commands: queues.commands,
    events: queues.events,
    kv,
    transport: `${options.natsUrl ? 'nats' : 'postgres'}+${options.redisUrl ? 'redis' : 'postgres'}`,
    async close() {
      await Promise.allSettled([queues.close(), kv.close()]);
      await shared?.end();
    },
  };
}
