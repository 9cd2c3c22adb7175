import { randomUUID } from 'node:crypto';
import { AppError, type Logger } from '@optic-mart/platform';
import { CommandStatusStore, replyChannel, type CommandStatus } from './command-status.js';
import type { CommandEnvelope, CommandQueue, KeyValueStore } from './ports.js';
import { WorkerRegistry } from './worker-registry.js';

export interface DispatcherOptions {
  readonly commands: CommandQueue;
  readonly kv: KeyValueStore;
  readonly logger: Logger;
  /** How long a request waits for the worker's reply before it answers 202. */
  readonly replyTimeoutMs: number;
  /** Commands waiting per context above which new ones are refused (load shedding). */
  readonly maxQueueDepth: number;
  /** What 503 answers tell clients to wait, in seconds. */
  readonly retryAfterSeconds: number;
}

/** A command's outcome: succeeded or failed. */
type Done = Exclude<CommandStatus, { status: 'pending' }>;

export type Outcome =
  | { readonly kind: 'completed'; readonly status: Done }
  | { readonly kind: 'pending'; readonly commandId: string };

/**
 * The "service manager" (seed 000) used by the gateway and the fulfillment saga: checks that a live worker serves the context and
 * that its queue is not overloaded, enqueues the command, and waits a bounded time for the reply
 * on this gateway's own channel.
 */
export class CommandDispatcher {
  readonly gatewayId = randomUUID();
  readonly registry: WorkerRegistry;
  readonly statuses: CommandStatusStore;
  readonly #options: DispatcherOptions;
  /** Requests waiting for a command's reply, by command id (two requests may send one command). */
  readonly #waiting = new Map<string, Set<(status: Done) => void>>();
  readonly #depthCache = new Map<string, { at: number; depth: number }>();
  #unsubscribe: (() => Promise<void>) | null = null;

  constructor(options: DispatcherOptions) {
    this.#options = options;
    this.registry = new WorkerRegistry(options.kv);
    this.statuses = new CommandStatusStore(options.kv);
  }

  async start(): Promise<void> {
    this.#unsubscribe = await this.#options.kv.subscribe(replyChannel(this.gatewayId), (message) => {
      try {
        const status = JSON.parse(message) as Done;
        for (const resolve of this.#waiting.get(status.commandId) ?? []) resolve(status);
      } catch (err) {
        this.#options.logger.warn({ err }, 'unreadable command reply');
      }
    });
  }

  async stop(): Promise<void> {
    await this.#unsubscribe?.();
  }

  /**
   * Sends a command and waits for its outcome (or answers pending after the reply timeout). A
   * caller that may repeat a command (the fulfillment saga after a restart) passes its own
   * deterministic `commandId`: the worker then applies it once however often it is sent.
   */
  async dispatch(
    command: Omit<CommandEnvelope, 'commandId' | 'metadata'> & {
      commandId?: string;
      metadata: Omit<CommandEnvelope['metadata'], 'issuedAt' | 'replyTo'>;
    },
  ): Promise<Outcome> {
    const { context } = command;
    const workers = await this.registry.workers(context);
    if (workers.length === 0) {
      throw new AppError('service_unavailable', `No worker serves ${context} right now; try again later.`, {
        extra: { retryAfter: this.#options.retryAfterSeconds, context },
      });
    }
    if ((await this.#depth(context)) >= this.#options.maxQueueDepth) {
      throw new AppError('service_unavailable', `The ${context} queue is full; try again later.`, {
        extra: { retryAfter: this.#options.retryAfterSeconds, context },
      });
    }
    const envelope: CommandEnvelope = {
      ...command,
      commandId: command.commandId ?? randomUUID(),
      metadata: {
        ...command.metadata,
        issuedAt: new Date().toISOString(),
        replyTo: replyChannel(this.gatewayId),
      },
    };
    const { commandId } = envelope;
    let resolveReply!: (status: Done) => void;
    const reply = new Promise<Done>((resolve) => (resolveReply = resolve));
    const waiters = this.#waiting.get(commandId) ?? new Set<(status: Done) => void>();
    this.#waiting.set(commandId, waiters);
    waiters.add(resolveReply);
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new AbortController();
    try {
      let sent: { duplicate: boolean };
      try {
        sent = await this.#options.commands.send(envelope);
      } catch (err) {
        // Not accepted, so nothing happened: the client may simply try again.
        this.#options.logger.warn({ err, commandId }, 'command not enqueued');
        throw new AppError(
          'service_unavailable',
          `The ${context} queue did not take the command; try again.`,
          {
            extra: { retryAfter: this.#options.retryAfterSeconds, context },
            cause: err,
          },
        );
      }
      const timeout = new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), this.#options.replyTimeoutMs);
      });
      // A repeat of a command the queue holds already (a retried webhook, a saga resending after a
      // restart) is dropped, and its reply goes to whoever sent it first: its outcome is read from
      // the status records instead.
      const status = await Promise.race(
        sent.duplicate ? [reply, timeout, this.#recorded(commandId, gaveUp.signal)] : [reply, timeout],
      );
      if (status) return { kind: 'completed', status };
      return await this.#pending(commandId, context);
    } finally {
      clearTimeout(timer);
      gaveUp.abort();
      waiters.delete(resolveReply);
      if (waiters.size === 0) this.#waiting.delete(commandId);
    }
  }

  /** Resolves with the command's recorded outcome once there is one (polled until `signal`). */
  async #recorded(commandId: string, signal: AbortSignal): Promise<Done | null> {
    for (let delayMs = 10; !signal.aborted; delayMs = Math.min(delayMs * 2, 250)) {
      const status = await this.statuses.get(commandId).catch(() => null);
      if (status && status.status !== 'pending') return status;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
    return null;
  }

  /**
   * The reply is late: record the command as pending for its status URL. Only now, so that a
   * command answered in time costs no status write here (the worker records every outcome).
   */
  async #pending(commandId: string, context: string): Promise<Outcome> {
    try {
      if (!(await this.statuses.accepted(commandId, context))) {
        const status = await this.statuses.get(commandId);
        if (status && status.status !== 'pending') return { kind: 'completed', status };
      }
    } catch (err) {
      // The command is enqueued all the same; its status appears once the worker records it.
      this.#options.logger.warn({ err, commandId }, 'could not record the command as pending');
    }
    return { kind: 'pending', commandId };
  }

  async #depth(context: string): Promise<number> {
    const hit = this.#depthCache.get(context);
    if (hit && Date.now() - hit.at < 200) return hit.depth;
    const depth = await this.#options.commands.depth(context);
    this.#depthCache.set(context, { at: Date.now(), depth });
    return depth;
  }
}
