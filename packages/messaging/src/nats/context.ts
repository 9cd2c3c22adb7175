import type { JetStreamClient, JetStreamManager, NatsConnection } from 'nats';
import type { Logger } from '@optic-mart/platform';
import type { MessagingHooks } from '../hooks.js';
import { ensureStream } from './jetstream.js';
import type { NatsNames } from './names.js';

/** Settings shared by the command queue and the bus of one NATS transport. */
export interface NatsSettings {
  /** How long the server waits for an ack before redelivering to another consumer. */
  readonly ackWaitMs: number;
  /** How long one pull request waits on the server when the queue is empty. */
  readonly pullExpiresMs: number;
  /** JetStream's duplicate window: a repeated command or event id within it is dropped. */
  readonly duplicateWindowMs: number;
  /** How long the event stream keeps events. */
  readonly eventRetentionMs: number;
  /** Publish acknowledgement timeout. */
  readonly publishTimeoutMs: number;
}

/** What the NATS command queue and event bus share: one connection, the names, the settings. */
export class NatsContext {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly names: NatsNames;
  readonly settings: NatsSettings;
  readonly logger: Logger | undefined;
  readonly hooks: MessagingHooks | undefined;
  readonly #ensured = new Map<string, Promise<void>>();

  constructor(
    nc: NatsConnection,
    jsm: JetStreamManager,
    names: NatsNames,
    settings: NatsSettings,
    logger: Logger | undefined,
    hooks: MessagingHooks | undefined,
  ) {
    this.nc = nc;
    this.js = nc.jetstream({ timeout: settings.publishTimeoutMs });
    this.jsm = jsm;
    this.names = names;
    this.settings = settings;
    this.logger = logger;
    this.hooks = hooks;
  }

  /** Creates the stream once per process (a failed attempt is retried on the next call). */
  ensureOnce(name: string, create: () => Promise<void>): Promise<void> {
    let pending = this.#ensured.get(name);
    if (!pending) {
      pending = create().catch((err: unknown) => {
        this.#ensured.delete(name);
        throw err;
      });
      this.#ensured.set(name, pending);
    }
    return pending;
  }

  /** Forgets that a stream exists, after the server said it does not. */
  forget(name: string): void {
    this.#ensured.delete(name);
  }

  ensureDeadStream(): Promise<void> {
    const name = this.names.deadStream;
    return this.ensureOnce(name, () =>
      ensureStream(this.jsm, {
        name,
        subjects: [`${this.names.prefix}.dead.>`],
        retention: 'limits',
        duplicateWindowMs: this.settings.duplicateWindowMs,
      }),
    );
  }
}
