import { headers as natsHeaders, type JsMsg } from 'nats';
import { resolveConsumeOptions } from '../delivery.js';
import type { CommandEnvelope, CommandQueue, ConsumeOptions, Consumer, DeadLetters } from '../ports.js';
import type { NatsContext } from './context.js';
import { NatsDeadLetters, publishDeadLetter } from './dead-letters.js';
import { ensureConsumer, ensureStream, isNoResponders, isStreamNotFound } from './jetstream.js';
import { PullWorker } from './pull-worker.js';

/**
 * The command queue on JetStream: one work-queue stream per context (a message is removed once a
 * worker acks it), and one durable pull consumer per context that every worker of it shares.
 */
export class NatsCommandQueue implements CommandQueue {
  readonly #ctx: NatsContext;
  readonly #workers = new Set<PullWorker<CommandEnvelope>>();

  constructor(ctx: NatsContext) {
    this.#ctx = ctx;
  }

  /** Resolves once JetStream stored it (the PubAck); the commandId is the message id, so a repeat is dropped. */
  async send(command: CommandEnvelope): Promise<{ duplicate: boolean }> {
    await this.#ensureStream(command.context);
    const h = natsHeaders();
    // Traces cross the queue in the headers, as well as in the envelope.
    if (command.metadata.traceparent) h.set('traceparent', command.metadata.traceparent);
    try {
      return await this.#publish(command, command.commandId, h);
    } catch (err) {
      // No stream answered (deleted since we created it): create it again and send once more.
      if (!isNoResponders(err)) throw err;
      this.#ctx.forget(this.#ctx.names.commandStream(command.context));
      await this.#ensureStream(command.context);
      return await this.#publish(command, command.commandId, h);
    }
  }

  async #publish(
    command: CommandEnvelope,
    msgID: string,
    headers = natsHeaders(),
  ): Promise<{ duplicate: boolean }> {
    const subject = this.#ctx.names.commandSubject(command.context);
    const ack = await this.#ctx.js.publish(subject, JSON.stringify(command), { msgID, headers });
    if (ack.duplicate)
      this.#ctx.logger?.debug({ commandId: command.commandId, msgID }, 'duplicate command dropped');
    return { duplicate: ack.duplicate };
  }

  /** Messages in the context's stream: waiting, in flight, or waiting for a retry (acked ones are gone). */
  async depth(context: string): Promise<number> {
    try {
      const info = await this.#ctx.jsm.streams.info(this.#ctx.names.commandStream(context));
      return info.state.messages;
    } catch (err) {
      if (isStreamNotFound(err)) return 0;
      throw err;
    }
  }

  async consume(context: string, options: ConsumeOptions<CommandEnvelope>): Promise<Consumer> {
    const consume = resolveConsumeOptions(options);
    const ctx = this.#ctx;
    await this.#ensureConsumer(context);
    const worker: PullWorker<CommandEnvelope> = new PullWorker<CommandEnvelope>({
      js: ctx.js,
      stream: ctx.names.commandStream(context),
      durable: ctx.names.commandConsumer,
      ackWaitMs: ctx.settings.ackWaitMs,
      pullExpiresMs: ctx.settings.pullExpiresMs,
      consume,
      decode: (msg: JsMsg) => ({ kind: 'message', message: msg.json<CommandEnvelope>() }),
      deadLetter: (msg, message, failure, attempts) =>
        publishDeadLetter(ctx, 'commands', context, msg, message, failure, attempts),
      repair: async () => {
        ctx.forget(ctx.names.commandStream(context));
        await this.#ensureConsumer(context);
      },
      report: { port: 'commands', target: context },
      hooks: ctx.hooks,
      logger: ctx.logger?.child({ context }),
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

  deadLetters(context: string): DeadLetters<CommandEnvelope> {
    const ctx = this.#ctx;
    return new NatsDeadLetters<CommandEnvelope>(ctx, 'commands', context, async (command, msgId) => {
      await this.#ensureStream(command.context);
      await this.#publish(command, msgId);
    });
  }

  /** Stops every consumer started here, after their in-flight commands settled. The connection stays open. */
  async close(): Promise<void> {
    await Promise.all([...this.#workers].map((w) => w.stop()));
    this.#workers.clear();
  }

  /** Drops every consumer without settling anything (a simulated crash). */
  abandon(): void {
    for (const w of this.#workers) w.abandon();
    this.#workers.clear();
  }

  #ensureStream(context: string): Promise<void> {
    const { names, settings, jsm } = this.#ctx;
    const name = names.commandStream(context);
    return this.#ctx.ensureOnce(name, () =>
      ensureStream(jsm, {
        name,
        subjects: [names.commandSubject(context)],
        retention: 'workqueue',
        duplicateWindowMs: settings.duplicateWindowMs,
      }),
    );
  }

  async #ensureConsumer(context: string): Promise<void> {
    await this.#ensureStream(context);
    await ensureConsumer(this.#ctx.jsm, {
      stream: this.#ctx.names.commandStream(context),
      durable: this.#ctx.names.commandConsumer,
      ackWaitMs: this.#ctx.settings.ackWaitMs,
      // Each worker bounds itself by pulling only into free slots; the server need not.
      maxAckPending: -1,
      deliverPolicy: 'all',
    });
  }
}
