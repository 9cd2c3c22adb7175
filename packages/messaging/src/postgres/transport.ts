import pg from 'pg';
import type { Logger } from '@optic-mart/platform';
import type { MessagingHooks } from '../hooks.js';
import type { MessagingTransport } from '../ports.js';
import { PostgresCommandQueue } from './command-queue.js';
import type { PostgresContext, PostgresSettings } from './context.js';
import { PostgresEventBus } from './event-bus.js';
import { QueueListener } from './listener.js';
import { schedulePruning } from './maintenance.js';
import { ensureQueueSchema } from './schema.js';

export interface PostgresTransportOptions extends Partial<PostgresSettings> {
  /** Used to open a pool (and the LISTEN connection) unless `pool` is given. */
  readonly connectionString?: string;
  /** A pool to use; the caller keeps ownership (close does not end it). */
  readonly pool?: pg.Pool;
  /** Size of the pool this transport opens. Default 10. */
  readonly poolSize?: number;
  readonly logger?: Logger;
  readonly hooks?: MessagingHooks;
}

/** The command queue and the events bus on PostgreSQL alone (the embedded default). */
export class PostgresTransport implements MessagingTransport {
  readonly commands: PostgresCommandQueue;
  readonly events: PostgresEventBus;
  readonly #ctx: PostgresContext;
  readonly #ownsPool: boolean;
  readonly #stopPruning: () => void;
  #closed: Promise<void> | null = null;

  constructor(ctx: PostgresContext, ownsPool: boolean) {
    this.#ctx = ctx;
    this.#ownsPool = ownsPool;
    this.commands = new PostgresCommandQueue(ctx);
    this.events = new PostgresEventBus(ctx);
    this.#stopPruning = schedulePruning(ctx.pool, ctx.settings, ctx.logger);
  }

  /** Stops every consumer (in-flight messages settle first), then closes its connections. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#stopPruning();
      await Promise.all([this.commands.close(), this.events.close()]);
      await this.#ctx.listener.close();
      if (this.#ownsPool) await this.#ctx.pool.end();
    })();
    return this.#closed;
  }

  /**
   * Test support: behaves like a killed process — settles nothing and renews no lease, so the
   * leases of in-flight messages run out and other consumers take them.
   */
  async abandon(): Promise<void> {
    this.#stopPruning();
    this.commands.abandon();
    this.events.abandon();
    this.#closed ??= (async () => {
      await this.#ctx.listener.close();
      if (this.#ownsPool) await this.#ctx.pool.end();
    })();
    await this.#closed;
  }
}

const DEFAULTS: PostgresSettings = {
  leaseMs: 30_000,
  safetyCheckMs: 5_000,
  duplicateWindowMs: 120_000,
  eventRetentionMs: 7 * 24 * 3600_000,
  maintenanceMs: 60_000,
};

/**
 * Opens the PostgreSQL transport: creates the `messaging` tables if needed (under an advisory
 * lock, so processes may start together) and the LISTEN connection that wakes idle consumers.
 */
export async function createPostgresTransport(options: PostgresTransportOptions): Promise<PostgresTransport> {
  if (!options.pool && !options.connectionString) {
    throw new TypeError('createPostgresTransport needs a connectionString or a pool');
  }
  const settings: PostgresSettings = {
    leaseMs: options.leaseMs ?? DEFAULTS.leaseMs,
    safetyCheckMs: options.safetyCheckMs ?? DEFAULTS.safetyCheckMs,
    duplicateWindowMs: options.duplicateWindowMs ?? DEFAULTS.duplicateWindowMs,
    eventRetentionMs: options.eventRetentionMs ?? DEFAULTS.eventRetentionMs,
    maintenanceMs: options.maintenanceMs ?? DEFAULTS.maintenanceMs,
  };
  const logger = options.logger?.child({ component: 'messaging', transport: 'postgres' });
  const ownsPool = options.pool === undefined;
  const pool =
    options.pool ?? new pg.Pool({ connectionString: options.connectionString, max: options.poolSize ?? 10 });
  // An idle pooled connection that the server drops emits 'error' on the pool: without a listener
  // that would crash the process.
  if (ownsPool) pool.on('error', (err) => logger?.warn({ err }, 'idle messaging connection failed'));
  const listener = new QueueListener(
    options.connectionString ? { connectionString: options.connectionString } : pool.options,
    logger,
  );
  try {
    await ensureQueueSchema(pool);
    await listener.start();
  } catch (err) {
    await listener.close();
    if (ownsPool) await pool.end();
    throw err;
  }
  return new PostgresTransport({ pool, listener, settings, logger, hooks: options.hooks }, ownsPool);
}
