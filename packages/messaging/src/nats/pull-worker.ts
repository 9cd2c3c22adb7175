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
 * Pulls from one durable consumer with `concurrency` slots. It asks the server only for as many
 * messages as it has free slots not already asked for, so a worker never holds a message it has no
 * room for (other workers of the context get it instead), and in-flight messages never exceed the
 * bound. Slots that free up together (a batch of commands answered at once) are asked for in one
 * pull request: each request costs a subscription, a request and an unsubscription on the wire.
 */
export class PullWorker<Message> implements Consumer {
  readonly #options: PullWorkerOptions<Message>;
  readonly #requests = new Set<ConsumerMessages>();
  /** Messages being handled. */
  readonly #handling = new Set<Promise<void>>();
  /** Pull requests under way (each until its messages came or it expired). */
  readonly #pulls = new Set<Promise<void>>();
  #consumer: NatsConsumer | null = null;
  #stopping = false;
  #abandoned = false;
  /** Slots asked for in pull requests under way and not yet filled. */
  #asked = 0;
  #pullScheduled = false;
  /** While a pull failed: no new request until the retry. */
  #backingOff = false;
  #stopped: Promise<void> | null = null;

  constructor(options: PullWorkerOptions<Message>) {
    this.#options = options;
  }

  async start(): Promise<void> {
    this.#consumer = await this.#options.js.consumers.get(this.#options.stream, this.#options.durable);
    this.#pull();
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
    while (this.#pulls.size > 0 || this.#handling.size > 0) {
      await Promise.all([...this.#pulls, ...this.#handling]);
    }
  }

  /** Stops at once without settling anything in flight: the server redelivers after ack-wait (a simulated crash). */
  abandon(): void {
    this.#abandoned = true;
    this.#stopping = true;
    for (const request of this.#requests) request.stop();
  }

  /** Asks for the free slots, after the current tick (so that slots freed together go in one request). */
  #schedulePull(): void {
    if (this.#pullScheduled) return;
    this.#pullScheduled = true;
    setImmediate(() => {
      this.#pullScheduled = false;
      this.#pull();
    });
  }

  #pull(): void {
    if (this.#stopping || this.#backingOff) return;
    const want = this.#options.consume.concurrency - this.#handling.size - this.#asked;
    if (want <= 0) return;
    this.#asked += want;
    const pull = this.#pullMany(want);
    this.#pulls.add(pull);
    void pull.finally(() => {
      this.#pulls.delete(pull);
      this.#schedulePull();
    });
  }

  async #pullMany(want: number): Promise<void> {
    let open = want;
    try {
      if (!this.#consumer) throw new Error('pull worker not started');
      const request = await this.#consumer.fetch({
        max_messages: want,
        expires: this.#options.pullExpiresMs,
      });
      this.#requests.add(request);
      if (this.#stopping) request.stop();
      try {
        for await (const msg of request) {
          open--;
          this.#asked--;
          // A message that arrived as stop() began was taken before it: it is handled, and stop waits for it.
          const handling = this.#handle(msg).catch((err: unknown) => {
            // Not settled: the server redelivers it after ack-wait.
            this.#options.logger?.error(
              { err, subject: msg.subject, seq: msg.seq },
              'handling a message failed',
            );
          });
          this.#handling.add(handling);
          void handling.finally(() => {
            this.#handling.delete(handling);
            this.#schedulePull();
          });
          if (open === 0) break;
        }
      } finally {
        this.#requests.delete(request);
      }
    } catch (err) {
      if (this.#stopping) return;
      this.#options.logger?.warn({ err, stream: this.#options.stream }, 'pull failed; retrying');
      this.#backingOff = true;
      await new Promise((r) => setTimeout(r, RETRY_PULL_MS));
      await this.#options.repair().catch((repairErr: unknown) => {
        this.#options.logger?.warn({ err: repairErr }, 'could not re-create the stream or consumer');
      });
      this.#backingOff = false;
    } finally {
      this.#asked -= open;
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
