import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { Logger } from '@optic-mart/platform';

/** NOTIFY channels: the payload is the context of a command enqueued or rescheduled. */
export const COMMANDS_CHANNEL = 'messaging_commands';
/** NOTIFY channel: '' after a publish (every group), or a group name (work for that group only). */
export const BUS_CHANNEL = 'messaging_bus';

const MAX_RETRY_MS = 5_000;

/**
 * One dedicated LISTEN connection per transport (a pooled connection would lose its LISTEN when
 * returned). It wakes idle consumers; it is re-opened with backoff when it drops, and then
 * `reconnected` wakes everyone, so a lost notification costs latency, never a message.
 */
export class QueueListener extends EventEmitter<{ command: [string]; bus: [string]; reconnected: [] }> {
  readonly #config: pg.ClientConfig;
  readonly #logger: Logger | undefined;
  #client: pg.Client | null = null;
  #closed = false;
  #retryMs = 100;
  #timer: NodeJS.Timeout | null = null;

  constructor(config: pg.ClientConfig, logger: Logger | undefined) {
    super();
    this.setMaxListeners(0);
    this.#config = config;
    this.#logger = logger;
  }

  /** Resolves once LISTEN is in place; the first connection's failure is the caller's. */
  async start(): Promise<void> {
    await this.#connect();
  }

  async #connect(): Promise<void> {
    const client = new pg.Client(this.#config);
    client.on('notification', (msg) => {
      if (msg.channel === COMMANDS_CHANNEL) this.emit('command', msg.payload ?? '');
      else if (msg.channel === BUS_CHANNEL) this.emit('bus', msg.payload ?? '');
    });
    // Without an error listener pg throws: a database restart would crash the process.
    client.on('error', (err) => this.#logger?.warn({ err }, 'messaging LISTEN connection failed'));
    client.on('end', () => {
      if (this.#client === client) this.#client = null;
      if (!this.#closed) this.#scheduleReconnect();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${COMMANDS_CHANNEL}; LISTEN ${BUS_CHANNEL}`);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.#closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.#client = client;
    this.#retryMs = 100;
  }

  #scheduleReconnect(): void {
    if (this.#timer) return;
    const delay = this.#retryMs;
    this.#retryMs = Math.min(this.#retryMs * 2, MAX_RETRY_MS);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (this.#closed) return;
      this.#connect().then(
        () => {
          this.#logger?.info('messaging LISTEN connection restored');
          this.emit('reconnected');
        },
        (err: unknown) => {
          this.#logger?.warn({ err }, 'messaging LISTEN reconnect failed');
          this.#scheduleReconnect();
        },
      );
    }, delay);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const client = this.#client;
    this.#client = null;
    await client?.end().catch(() => undefined);
  }
}
