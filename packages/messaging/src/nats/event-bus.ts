import type { JsMsg } from 'nats';
import { resolveConsumeOptions } from '../delivery.js';
import type { BusEvent, Consumer, DeadLetters, EventBus, SubscribeOptions } from '../ports.js';
import type { NatsContext } from './context.js';
import { NatsDeadLetters, publishDeadLetter } from './dead-letters.js';
import { ensureConsumer, ensureStream } from './jetstream.js';
import { PullWorker, type Decoded } from './pull-worker.js';

/**
 * The domain-events bus on JetStream: one stream (limits retention, so every group reads the same
 * events) and one durable pull consumer per group.
 *
 * Per group, `max_ack_pending` is the subscribers' concurrency: with 1, the server hands out the
 * next event only once the previous one is acked — including while it waits out a retry backoff —
 * so publish order holds across all members of the group, not just within one process.
 *
 * Type filters are applied by the subscriber (an event of another type is acked unhandled): one
 * consumer filter can name a single subject on the servers we support (NATS 2.9; several filter
 * subjects need 2.10), and the group must also see the dead letters replayed to it.
 */
export class NatsEventBus implements EventBus {
  readonly #ctx: NatsContext;
  readonly #workers = new Set<PullWorker<BusEvent>>();

  constructor(ctx: NatsContext) {
    this.#ctx = ctx;
  }

  /** The event stream; created at transport start so a group created before the first publish sees it. */
  ensureStream(): Promise<void> {
    const { names, settings, jsm } = this.#ctx;
    return this.#ctx.ensureOnce(names.eventStream, () =>
      ensureStream(jsm, {
        name: names.eventStream,
        subjects: [names.eventFilter],
        retention: 'limits',
        duplicateWindowMs: settings.duplicateWindowMs,
        maxAgeMs: settings.eventRetentionMs,
      }),
    );
  }

  /**
   * One at a time, each awaiting its PubAck: a pipelined batch whose middle publish timed out
   * could have its later events stored first, and the relay's retry would then break the order.
   * The event id is the message id, so a relay republishing after a crash is de-duplicated.
   */
  async publish(events: readonly BusEvent[]): Promise<void> {
    await this.ensureStream();
    for (const event of events) {
      const ack = await this.#ctx.js.publish(
        this.#ctx.names.eventSubject(event.type),
        JSON.stringify(event),
        {
          msgID: event.id,
        },
      );
      if (ack.duplicate) this.#ctx.logger?.debug({ eventId: event.id }, 'duplicate event dropped');
    }
  }

  /**
   * The group's consumer starts at the end of the stream when first created (DeliverPolicy New):
   * the group receives what is published after that, and, being durable, resumes where it stopped.
   */
  async subscribe(group: string, options: SubscribeOptions): Promise<Consumer> {
    const consume = resolveConsumeOptions(options);
    const ctx = this.#ctx;
    const ensure = async (): Promise<void> => {
      await this.ensureStream();
      await ensureConsumer(ctx.jsm, {
        stream: ctx.names.eventStream,
        durable: ctx.names.groupConsumer(group),
        ackWaitMs: ctx.settings.ackWaitMs,
        maxAckPending: consume.concurrency,
        deliverPolicy: 'new',
        filterSubject: ctx.names.eventFilter,
      });
    };
    await ensure();
    const types = options.types ? new Set(options.types) : null;
    const ownReplays = ctx.names.replaySubject(group);
    const decode = (msg: JsMsg): Decoded<BusEvent> => {
      if (msg.subject.startsWith(ctx.names.replayPrefix)) {
        // A replayed dead letter is for its group only, and was of a type the group takes.
        return msg.subject === ownReplays
          ? { kind: 'message', message: msg.json<BusEvent>() }
          : { kind: 'skip' };
      }
      const event = msg.json<BusEvent>();
      return types && !types.has(event.type) ? { kind: 'skip' } : { kind: 'message', message: event };
    };
    const worker: PullWorker<BusEvent> = new PullWorker<BusEvent>({
      js: ctx.js,
      stream: ctx.names.eventStream,
      durable: ctx.names.groupConsumer(group),
      ackWaitMs: ctx.settings.ackWaitMs,
      pullExpiresMs: ctx.settings.pullExpiresMs,
      consume,
      decode,
      deadLetter: (msg, message, failure, attempts) =>
        publishDeadLetter(ctx, 'events', group, msg, message, failure, attempts),
      repair: async () => {
        ctx.forget(ctx.names.eventStream);
        await ensure();
      },
      report: { port: 'events', target: group },
      hooks: ctx.hooks,
      logger: ctx.logger?.child({ group }),
    });
    await worker.start();
    this.#workers.add(worker);
    return {
      stop: async () => {
        await worker.stop();
        this.#workers.delete(worker);
      },
    };
  }

  deadLetters(group: string): DeadLetters<BusEvent> {
    const ctx = this.#ctx;
    return new NatsDeadLetters<BusEvent>(ctx, 'events', group, async (event, msgID) => {
      await this.ensureStream();
      await ctx.js.publish(ctx.names.replaySubject(group), JSON.stringify(event), { msgID });
    });
  }

  /** Stops every subscription started here, after their in-flight events settled. The connection stays open. */
  async close(): Promise<void> {
    await Promise.all([...this.#workers].map((w) => w.stop()));
    this.#workers.clear();
  }

  /** Drops every subscription without settling anything (a simulated crash). */
  abandon(): void {
    for (const w of this.#workers) w.abandon();
    this.#workers.clear();
  }
}
