import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { Logger } from '@optic-mart/platform';

export const POSITIONS_CHANNEL = 'eventstore_positions';
export const ERASURES_CHANNEL = 'eventstore_erasures';

/**
 * One LISTEN connection per store: the sequencer's NOTIFY after each stamp wakes subscriptions
 * and appenders waiting for their position, so nothing polls. The connection is re-opened with
 * backoff when it drops; waiters then wake on their fallback timers, so a lost notification
 * costs latency, never an event.
 */
export class Notifier extends EventEmitter<{ position: [number]; erased: [string]; reconnected: [] }> {
  readonly #connectionString: string | undefined;
  readonly #clientConfig: pg.ClientConfig;
  readonly #logger: Logger | undefined;
  #client: pg.Client | null = null;
  #closed = false;
  #started: Promise<void> | null = null;
  #retryMs = 100;
  lastPosition = 0;

  constructor(clientConfig: pg.ClientConfig, logger?: Logger) {
    super();
    this.setMaxListeners(0);
    this.#clientConfig = clientConfig;
    this.#connectionString = clientConfig.connectionString;
    this.#logger = logger;
  }

  /** Connects (once); resolves when LISTEN is in place. */
  start(): Promise<void> {
    this.#started ??= this.#connect();
    return this.#started;
  }

  async #connect(): Promise<void> {
    const client = new pg.Client(this.#clientConfig);
    client.on('notification', (msg) => {
      if (msg.channel === POSITIONS_CHANNEL) {
        const position = Number(msg.payload);
        if (position > this.lastPosition) this.lastPosition = position;
        this.emit('position', position);
      } else if (msg.channel === ERASURES_CHANNEL && msg.payload) {
        this.emit('erased', msg.payload);
      }
    });
    client.on('error', (err) => {
      this.#logger?.warn({ err }, 'event store notification connection failed');
    });
    client.on('end', () => {
      if (this.#client === client) this.#client = null;
      if (!this.#closed) this.#scheduleReconnect();
    });
    await client.connect();
    await client.query(`LISTEN ${POSITIONS_CHANNEL}; LISTEN ${ERASURES_CHANNEL}`);
    this.#client = client;
    this.#retryMs = 100;
  }

  #scheduleReconnect(): void {
    const delay = this.#retryMs;
    this.#retryMs = Math.min(this.#retryMs * 2, 5_000);
    setTimeout(() => {
      if (this.#closed) return;
      this.#connect().then(
        () => {
          this.#logger?.info(
            { target: this.#connectionString ? 'database' : 'default' },
            'event store notifications reconnected',
          );
          this.emit('reconnected');
        },
        (err: unknown) => {
          this.#logger?.warn({ err }, 'event store notifications reconnect failed');
          this.#scheduleReconnect();
        },
      );
    }, delay).unref();
  }

  /** Resolves once the log is known to reach past `position`, or after `timeoutMs`. */
  waitForPositionAbove(position: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.lastPosition > position || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.off('position', onPosition);
        this.off('reconnected', done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const onPosition = (p: number): void => {
        if (p > position) done();
      };
      const timer = setTimeout(done, timeoutMs);
      this.on('position', onPosition);
      this.on('reconnected', done);
      signal?.addEventListener('abort', done);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const client = this.#client;
    this.#client = null;
    if (client) await client.end().catch(() => undefined);
  }
}
