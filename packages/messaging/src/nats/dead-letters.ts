import { randomUUID } from 'node:crypto';
import type { JetStreamClient, JetStreamManager, JsMsg, StoredMsg } from 'nats';
import { AppError } from '@optic-mart/platform';
import type { FailureInfo } from '../delivery.js';
import type { DeadLetter, DeadLetters } from '../ports.js';
import { isNoMessage, isStreamNotFound } from './jetstream.js';
import type { DeadKind, NatsNames } from './names.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/u;

export interface DeadLetterContext {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly names: NatsNames;
  /** Creates the dead-letter stream if it is missing. */
  readonly ensureDeadStream: () => Promise<void>;
}

/**
 * Stores a dead letter on the dead-letter stream, one subject per letter so it can be found by id.
 * The message id is the failed message's stream position: if this process dies after storing the
 * letter and before acking the original, the redelivered original is dead-lettered again within
 * the duplicate window and JetStream drops the second letter.
 */
export async function publishDeadLetter(
  ctx: DeadLetterContext,
  kind: DeadKind,
  target: string,
  original: JsMsg,
  message: unknown,
  error: FailureInfo,
  attempts: number,
): Promise<void> {
  await ctx.ensureDeadStream();
  const letter: DeadLetter<unknown> = {
    id: randomUUID(),
    message,
    error,
    attempts,
    deadAt: new Date().toISOString(),
  };
  await ctx.js.publish(ctx.names.deadSubject(kind, target, letter.id), JSON.stringify(letter), {
    msgID: `dead:${original.info.stream}:${original.seq}`,
  });
}

/** Lists and replays the dead letters of one context or group. */
export class NatsDeadLetters<Message> implements DeadLetters<Message> {
  readonly #ctx: DeadLetterContext;
  readonly #kind: DeadKind;
  readonly #target: string;
  readonly #republish: (message: Message, msgId: string) => Promise<void>;

  constructor(
    ctx: DeadLetterContext,
    kind: DeadKind,
    target: string,
    republish: (message: Message, msgId: string) => Promise<void>,
  ) {
    this.#ctx = ctx;
    this.#kind = kind;
    this.#target = target;
    this.#republish = republish;
  }

  async list(options: { limit?: number } = {}): Promise<DeadLetter<Message>[]> {
    const limit = options.limit ?? 100;
    const filter = this.#ctx.names.deadFilter(this.#kind, this.#target);
    const letters: DeadLetter<Message>[] = [];
    let seq = 1;
    while (letters.length < limit) {
      // The next message on this target's subjects at or after `seq`: oldest first, no consumer needed.
      const stored = await this.#get({ seq, next_by_subj: filter });
      if (!stored) break;
      letters.push(stored.json<DeadLetter<Message>>());
      seq = stored.seq + 1;
    }
    return letters;
  }

  async replay(id: string): Promise<void> {
    const stored = UUID.test(id)
      ? await this.#get({ last_by_subj: this.#ctx.names.deadSubject(this.#kind, this.#target, id) })
      : null;
    if (!stored) throw new AppError('not_found', `No dead letter ${id} for ${this.#target}.`);
    const letter = stored.json<DeadLetter<Message>>();
    // A fresh message id: the original's is still inside the duplicate window, so reusing it would
    // be dropped. Derived from the letter, so two replays of the same letter enqueue it once.
    await this.#republish(letter.message, `replay:${id}`);
    await this.#ctx.jsm.streams.deleteMessage(this.#ctx.names.deadStream, stored.seq, false);
  }

  async #get(
    query: { seq: number; next_by_subj: string } | { last_by_subj: string },
  ): Promise<StoredMsg | null> {
    try {
      // `next_by_subj` is a server feature (2.9+) the client's MsgRequest type does not list; it
      // passes the request through as it is.
      return await this.#ctx.jsm.streams.getMessage(this.#ctx.names.deadStream, query);
    } catch (err) {
      if (isNoMessage(err) || isStreamNotFound(err)) return null;
      throw err;
    }
  }
}
