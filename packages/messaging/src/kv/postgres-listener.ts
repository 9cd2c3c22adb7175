import pg from 'pg';
import type { Logger } from '@optic-mart/platform';

export interface PostgresListenerOptions {
  readonly clientConfig: pg.ClientConfig;
  readonly onNotification: (channel: string, payload: string) => void;
  readonly logger?: Logger;
}

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5_000;

/** `LISTEN` takes an identifier, never a parameter. */
const identifier = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/**
 * One dedicated LISTEN connection for all of a store's channels (a pooled connection would
 * drop its LISTENs when returned). It connects on the first `listen`; when it drops later it
 * is re-opened in the background with backoff and LISTENs again to every channel, so a lost
 * connection costs only the notifications sent while it was down.
 */
export class PostgresListener {
  readonly #options: PostgresListenerOptions;
  /** The channels that should be listened to, on whichever connection is current. */
  readonly #channels = new Set<string>();
  /** The current connection, with every channel listened to; null while (re)connecting. */
  #client: pg.Client | null = null;
  #connecting: Promise<pg.Client> | null = null;
  /** Connections that failed: never handed out again, even before their 'end' arrives. */
  readonly #lost = new WeakSet<pg.Client>();
  #connectedOnce = false;
  #closed = false;
  #retryMs = FIRST_RETRY_MS;
  #retry: { timer: NodeJS.Timeout; wake: () => void } | null = null;

  constructor(options: PostgresListenerOptions) {
    this.#options = options;
  }

  /** Resolves once notifications on the channel reach `onNotification`. */
  async listen(channel: string): Promise<void> {
    this.#channels.add(channel);
    for (;;) {
      const client = await this.#connection();
      // Unlistened meanwhile: nothing to do (a reconnect already left it out).
      if (!this.#channels.has(channel)) return;
      try {
        await client.query(`LISTEN ${identifier(channel)}`);
        return;
      } catch (err) {
        // The connection died under us: its replacement LISTENs to every channel, ours included,
        // so wait for it. Any other failure is the caller's.
        if (this.#closed || !this.#lost.has(client)) throw err;
      }
    }
  }

  /** Stops notifications on the channel. */
  async unlisten(channel: string): Promise<void> {
    this.#channels.delete(channel);
    // Without a connection there is nothing to undo: the next one will not LISTEN to it.
    await this.#client?.query(`UNLISTEN ${identifier(channel)}`).catch(() => undefined);
  }

  #connection(): Promise<pg.Client> {
    if (this.#closed) return Promise.reject(new Error('key-value store is closed'));
    if (this.#client) return Promise.resolve(this.#client);
    if (!this.#connecting) {
      // The first connection fails fast to its caller; once we have been connected, a drop is
      // an outage to ride out, and callers wait for the reconnect.
      const connecting = this.#connectedOnce ? this.#reconnect() : this.#connect();
      this.#connecting = connecting;
      connecting.then(
        () => (this.#connecting = null),
        () => (this.#connecting = null),
      );
    }
    return this.#connecting;
  }

  async #connect(): Promise<pg.Client> {
    const client = new pg.Client(this.#options.clientConfig);
    client.on('notification', (msg) => this.#options.onNotification(msg.channel, msg.payload ?? ''));
    // Without a listener pg throws the error: a server restart would crash the process.
    client.on('error', (err) => {
      this.#options.logger?.warn({ err }, 'key-value LISTEN connection failed');
      this.#lose(client);
    });
    client.on('end', () => this.#lose(client));
    try {
      await client.connect();
      const channels = [...this.#channels];
      if (channels.length > 0) await client.query(channels.map((c) => `LISTEN ${identifier(c)}`).join('; '));
      if (this.#closed) throw new Error('key-value store is closed');
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    this.#client = client;
    this.#connectedOnce = true;
    this.#retryMs = FIRST_RETRY_MS;
    return client;
  }

  /** Drops a failed connection and, unless closing, starts replacing it at once. */
  #lose(client: pg.Client): void {
    this.#lost.add(client);
    if (this.#client !== client) return;
    this.#client = null;
    client.end().catch(() => undefined);
    if (!this.#closed) this.#connection().catch(() => undefined);
  }

  async #reconnect(): Promise<pg.Client> {
    for (;;) {
      await this.#sleep(this.#retryMs);
      this.#retryMs = Math.min(this.#retryMs * 2, MAX_RETRY_MS);
      if (this.#closed) throw new Error('key-value store is closed');
      try {
        const client = await this.#connect();
        this.#options.logger?.info({ channels: this.#channels.size }, 'key-value LISTEN connection restored');
        return client;
      } catch (err) {
        if (this.#closed) throw err;
        this.#options.logger?.warn({ err }, 'key-value LISTEN reconnect failed');
      }
    }
  }

  /** A backoff that `close` can cut short, so no timer outlives the store. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#retry = null;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#retry = { timer, wake };
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#channels.clear();
    this.#retry?.wake();
    const client = this.#client;
    this.#client = null;
    await this.#connecting?.catch(() => undefined);
    await client?.end().catch(() => undefined);
  }
}
