import type { KeyValueStore } from './ports.js';

/** What became of a command, as the gateway's status URL tells it. */
export type CommandStatus =
  | {
      readonly status: 'pending';
      readonly commandId: string;
      readonly context: string;
      readonly acceptedAt: string;
    }
  | {
      readonly status: 'succeeded';
      readonly commandId: string;
      readonly context: string;
      readonly result: Readonly<Record<string, unknown>>;
      readonly completedAt: string;
    }
  | {
      readonly status: 'failed';
      readonly commandId: string;
      readonly context: string;
      readonly error: {
        readonly code: string;
        readonly detail: string;
        readonly extra?: Record<string, unknown>;
      };
      readonly completedAt: string;
    };

const KEY = (commandId: string) => `commands/${commandId}`;
/** A reply channel per gateway process. */
export const replyChannel = (gatewayId: string) => `replies/${gatewayId}`;

/**
 * Command outcomes: kept in the key-value store for `GET /api/commands/{id}`, and published on
 * the issuing gateway's reply channel so the request waiting for it answers at once.
 */
export class CommandStatusStore {
  readonly #kv: KeyValueStore;
  readonly #ttlMs: number;

  constructor(kv: KeyValueStore, options: { ttlMs?: number } = {}) {
    this.#kv = kv;
    this.#ttlMs = options.ttlMs ?? 24 * 3600_000;
  }

  /**
   * Records a command as pending unless its outcome is recorded already; false when it is (the
   * worker was faster).
   */
  async accepted(commandId: string, context: string): Promise<boolean> {
    const status: CommandStatus = {
      status: 'pending',
      commandId,
      context,
      acceptedAt: new Date().toISOString(),
    };
    // Never overwrite an outcome a fast worker already wrote.
    return this.#kv.setIfAbsent(KEY(commandId), JSON.stringify(status), { ttlMs: this.#ttlMs });
  }

  /** Records the outcome and tells the waiting gateway (if any). */
  async completed(status: Exclude<CommandStatus, { status: 'pending' }>, replyTo?: string): Promise<void> {
    const json = JSON.stringify(status);
    // Both at once: the waiting gateway answers from the reply; the record serves the status URL.
    // Not durable: it is written before the command's acknowledgement, so if a crash loses it, the
    // acknowledgement is lost too, and the redelivered command (applied once) writes it again.
    await Promise.all([
      this.#kv.set(KEY(status.commandId), json, { ttlMs: this.#ttlMs, durable: false }),
      replyTo ? this.#kv.publish(replyTo, json) : undefined,
    ]);
  }

  async get(commandId: string): Promise<CommandStatus | null> {
    const raw = await this.#kv.get(KEY(commandId));
    return raw === null ? null : (JSON.parse(raw) as CommandStatus);
  }
}
