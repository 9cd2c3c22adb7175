import { Events, connect, type NatsConnection } from 'nats';
import type { Logger } from '@optic-mart/platform';
import type { MessagingHooks } from '../hooks.js';
import type { MessagingTransport } from '../ports.js';
import { NatsCommandQueue } from './command-queue.js';
import { NatsContext, type NatsSettings } from './context.js';
import { NatsEventBus } from './event-bus.js';
import { NatsNames } from './names.js';

export interface NatsTransportOptions extends Partial<NatsSettings> {
  /** Server URL(s), e.g. `nats://127.0.0.1:4222`; ignored when `connection` is given. */
  readonly url?: string | string[];
  /** Starts every stream and subject name, so deployments (and test files) sharing a server stay apart. */
  readonly prefix: string;
  /** An open connection to use instead of opening one; the caller keeps ownership (close does not drain it). */
  readonly connection?: NatsConnection;
  /** The connection name the server shows (monitoring), e.g. `worker-catalog`. */
  readonly name?: string;
  readonly logger?: Logger;
  readonly hooks?: MessagingHooks;
}

/** The command queue and the events bus over one NATS connection. */
export class NatsTransport implements MessagingTransport {
  readonly commands: NatsCommandQueue;
  readonly events: NatsEventBus;
  readonly #ctx: NatsContext;
  readonly #owned: boolean;
  #closed: Promise<void> | null = null;

  constructor(ctx: NatsContext, owned: boolean) {
    this.#ctx = ctx;
    this.#owned = owned;
    this.commands = new NatsCommandQueue(ctx);
    this.events = new NatsEventBus(ctx);
  }

  /** Stops every consumer (in-flight messages settle first), then drains the connection if it opened it. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await Promise.all([this.commands.close(), this.events.close()]);
      const { nc } = this.#ctx;
      // A connection the server closed for good cannot drain; there is nothing left to flush.
      if (nc.isClosed()) return;
      if (this.#owned) await nc.drain();
      else await nc.flush();
    })();
    return this.#closed;
  }

  /**
   * Test support: behaves like a killed process — drops the connection without acking, nacking or
   * draining anything, so the server redelivers in-flight messages to others after ack-wait.
   */
  async abandon(): Promise<void> {
    this.commands.abandon();
    this.events.abandon();
    this.#closed ??= this.#ctx.nc.close();
    await this.#closed;
  }
}

const DEFAULTS: NatsSettings = {
  ackWaitMs: 30_000,
  pullExpiresMs: 30_000,
  duplicateWindowMs: 120_000,
  eventRetentionMs: 7 * 24 * 3600_000,
  publishTimeoutMs: 5_000,
};

/**
 * Connects to NATS JetStream and returns the command queue and the events bus. The connection
 * reconnects forever (with jitter); publishes made while it is down fail after `publishTimeoutMs`,
 * so a caller answers 503 rather than hanging, and pulls resume on reconnect.
 */
export async function createNatsTransport(options: NatsTransportOptions): Promise<NatsTransport> {
  const names = new NatsNames(options.prefix);
  const settings: NatsSettings = {
    ackWaitMs: options.ackWaitMs ?? DEFAULTS.ackWaitMs,
    pullExpiresMs: options.pullExpiresMs ?? DEFAULTS.pullExpiresMs,
    duplicateWindowMs: options.duplicateWindowMs ?? DEFAULTS.duplicateWindowMs,
    eventRetentionMs: options.eventRetentionMs ?? DEFAULTS.eventRetentionMs,
    publishTimeoutMs: options.publishTimeoutMs ?? DEFAULTS.publishTimeoutMs,
  };
  const logger = options.logger?.child({ component: 'messaging', transport: 'nats' });
  const owned = options.connection === undefined;
  const nc =
    options.connection ??
    (await connect({
      servers: options.url ?? 'nats://127.0.0.1:4222',
      ...(options.name ? { name: options.name } : {}),
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      reconnectJitter: 250,
    }));
  if (owned) watchStatus(nc, logger);
  try {
    const jsm = await nc.jetstreamManager();
    const ctx = new NatsContext(nc, jsm, names, settings, logger, options.hooks);
    const transport = new NatsTransport(ctx, owned);
    await Promise.all([transport.events.ensureStream(), ctx.ensureDeadStream()]);
    return transport;
  } catch (err) {
    if (owned) await nc.close();
    throw err;
  }
}

function watchStatus(nc: NatsConnection, logger: Logger | undefined): void {
  void (async () => {
    for await (const status of nc.status()) {
      const data = typeof status.data === 'object' ? JSON.stringify(status.data) : String(status.data);
      if (status.type === Events.Disconnect || status.type === Events.Error) {
        logger?.warn({ status: status.type, data }, 'NATS connection problem');
      } else if (status.type === Events.Reconnect) {
        logger?.info({ server: data }, 'NATS reconnected');
      }
    }
  })();
}
