import type { Consumer as NatsConsumer, ConsumerMessages, JetStreamClient, JsMsg } from 'nats';
import type { Logger } from '@optic-mart/platform';
import { deliver, type FailureInfo, type ResolvedConsumeOptions } from '../delivery.js';
import type { MessagingHooks } from '../hooks.js';
import type { Consumer } from '../ports.js';

/** What the worker does with a raw message before the handler sees it. */
export type Decoded<Message> =
  | { readonly kind: 'message'; readonly message: Message }
  /** Not for this consumer (a bus type filter, another group's replay): acked unhandled. */
  | { readonly kind: 'skip' };

export interface PullWorkerOptions<Message> {
  readonly js: JetStreamClient;
  readonly stream: string;
  readonly durable: string;
  readonly ackWaitMs: number;
  /** How long one pull request waits on the server for a message. */
  readonly pullExpiresMs: number;
  readonly consume: ResolvedConsumeOptions<Message>;
  /** Throws on a payload that is not a message (it is then dead-lettered as it is). */
  readonly decode: (msg: JsMsg) => Decoded<Message>;
  /** Stores the dead letter durably; the worker acks the original only after this resolved. */
  readonly deadLetter: (
    msg: JsMsg,
    message: unknown,
    failure: FailureInfo,
    attempts: number,
  ) => Promise<void>;
  /** Re-creates the stream and consumer after a pull failed (someone deleted them, the server lost them). */
  readonly repair: () => Promise<void>;
  readonly report: { readonly port: 'commands' | 'events'; readonly target: string };
  readonly hooks: MessagingHooks | undefined;
  readonly logger: Logger | undefined;
}

const RETRY_PULL_MS = 1_000;

/**
 * Pulls from one durable consumer with `concurrency` slots. Each slot asks the server for exactly
 * one message and only when it is free, so a worker never holds a message it has no room for
 * (other workers of the context get it instead), and in-flight messages never exceed the bound.
 */
export class PullWorker<Message> implements Consumer {
  readonly #options: PullWorkerOptions<Message>;
  readonly #requests = new Set<ConsumerMessages>();
  #consumer: NatsConsumer | null = null;
  #stopping = false;
  #abandoned = false;
  #slots: Promise<void>[] = [];
  #stopped: Promise<void> | null = null;

  constructor(options: PullWorkerOptions<Message>) {
    this.#options = options;
  }

  async start(): Promise<void> {
    this.#consumer = await this.#options.js.consumers.get(this.#options.stream, this.#options.durable);
    this.#slots = Array.from({ length: this.#options.consume.concurrency }, () => this.#slot());
  }

  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    this.#stopping = true;
    // Withdraw the waiting pull requests. The server drops a request whose inbox has no listener,
    // so a message published from now on goes to another worker at once.
    for (const request of this.#requests) request.stop();
    await Promise.all(this.#slots);
  }

  /** Stops at once without settling anything in flight: the server redelivers after ack-wait (a simulated crash). */
  abandon(): void {
    this.#abandoned = true;
    this.#stopping = true;
    for (const request of this.#requests) request.stop();
  }

  async #slot(): Promise<void> {
    while (!this.#stopping) {
      let msg: JsMsg | null;
      try {
        msg = await this.#pullOne();
      } catch (err) {
        if (this.#stopping) break;
        this.#options.logger?.warn({ err, stream: this.#options.stream }, 'pull failed; retrying');
        await new Promise((r) => setTimeout(r, RETRY_PULL_MS));
        await this.#options.repair().catch((repairErr: unknown) => {
          this.#options.logger?.warn({ err: repairErr }, 'could not re-create the stream or consumer');
        });
        continue;
      }
      // A message that arrived as stop() began was taken before it: it is handled, and stop waits for it.
      if (msg) await this.#handle(msg);
    }
  }

  async #pullOne(): Promise<JsMsg | null> {
    if (!this.#consumer) throw new Error('pull worker not started');
    const request = await this.#consumer.fetch({ max_messages: 1, expires: this.#options.pullExpiresMs });
    this.#requests.add(request);
    if (this.#stopping) request.stop();
    try {
      for await (const msg of request) return msg;
      return null;
    } finally {
      this.#requests.delete(request);
    }
  }

  async #handle(msg: JsMsg): Promise<void> {
    const attempt = msg.info.redeliveryCount;
    let decoded: Decoded<Message>;
    try {
      decoded = this.#options.decode(msg);
    } catch (err) {
      const raw = msg.string();
      const failure = { code: 'bad_request', detail: `undecodable message: ${String(err)}` };
      this.#options.logger?.error(
        { subject: msg.subject, seq: msg.seq },
        'undecodable message; dead-lettering',
      );
      await this.#options
        .deadLetter(msg, raw, failure, attempt)
        .then(() => this.#ack(msg))
        .catch((dlErr: unknown) => this.#options.logger?.error({ err: dlErr }, 'dead-lettering failed'));
      return;
    }
    if (decoded.kind === 'skip') {
      msg.ack();
      return;
    }
    // Tell the server the handler is still working, so a slow handler is not redelivered while it runs.
    const keepAlive = setInterval(
      () => {
        if (this.#abandoned) return;
        try {
          msg.working();
        } catch {
          // The connection is down: the message will be redelivered after ack-wait anyway.
        }
      },
      Math.max(100, Math.floor(this.#options.ackWaitMs / 3)),
    );
    const started = performance.now();
    // A crashed process settles nothing: an abandoned worker drops every settlement.
    const alive = (): void => {
      if (this.#abandoned) throw new Error('consumer abandoned');
    };
    try {
      const outcome = await deliver(
        decoded.message,
        attempt,
        this.#options.consume,
        {
          ack: async () => {
            alive();
            await this.#ack(msg);
          },
          retry: async (delayMs) => {
            alive();
            msg.nak(delayMs);
          },
          deadLetter: async (failure, attempts) => {
            alive();
            await this.#options.deadLetter(msg, decoded.message, failure, attempts);
            await this.#ack(msg);
          },
        },
        this.#options.logger,
      );
      this.#options.hooks?.delivered?.({
        ...this.#options.report,
        outcome,
        attempt,
        durationMs: performance.now() - started,
      });
    } finally {
      clearInterval(keepAlive);
    }
  }

  async #ack(msg: JsMsg): Promise<void> {
    // Wait for the server's confirmation: stop() then means "every handled message is acked".
    if (!(await msg.ackAck())) throw new Error(`ack of ${msg.subject} #${msg.seq} was not confirmed`);
  }
}
