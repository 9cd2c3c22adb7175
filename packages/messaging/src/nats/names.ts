/**
 * Subject and stream names. Contexts, groups and event types become subject tokens, where `.`,
 * `*`, `>` and whitespace mean something, so they are escaped; the escape is injective (`_` only
 * ever starts one) so two different names never share a stream or a consumer.
 */
export function subjectToken(value: string): string {
  if (value.length === 0) throw new RangeError('a name used as a subject token must not be empty');
  return value.replace(/[^A-Za-z0-9-]/gu, (ch) =>
    [...Buffer.from(ch, 'utf8')].map((b) => `_${b.toString(16).padStart(2, '0')}`).join(''),
  );
}

/** One subject token: the prefix is the first token of every subject. */
const PREFIX = /^[A-Za-z0-9_-]+$/u;

/** Every stream, subject and consumer name one transport uses, under its prefix. */
export class NatsNames {
  readonly prefix: string;
  /**
   * The prefix as stream names start with it: escaped, so its first raw `_` is the separator and
   * no prefix's streams can be mistaken for another's (`a` + context `x` vs prefix `a_commands`).
   */
  readonly #streamPrefix: string;

  constructor(prefix: string) {
    if (!PREFIX.test(prefix))
      throw new RangeError(`NATS prefix must match ${String(PREFIX)}, got "${prefix}"`);
    this.prefix = prefix;
    this.#streamPrefix = subjectToken(prefix);
  }

  /** The work-queue stream of a context. */
  commandStream(context: string): string {
    return `${this.#streamPrefix}_commands_${subjectToken(context)}`;
  }

  commandSubject(context: string): string {
    return `${this.prefix}.commands.${subjectToken(context)}`;
  }

  /** The one durable pull consumer all workers of a context share. */
  readonly commandConsumer = 'workers';

  get eventStream(): string {
    return `${this.#streamPrefix}_events`;
  }

  /** Everything on the event stream: events by type, and dead letters replayed to one group. */
  get eventFilter(): string {
    return `${this.prefix}.events.>`;
  }

  eventSubject(type: string): string {
    return `${this.prefix}.events.type.${subjectToken(type)}`;
  }

  /** A dead letter replayed to one group travels on the event stream, on a subject only that group handles. */
  replaySubject(group: string): string {
    return `${this.replayPrefix}${subjectToken(group)}`;
  }

  /** What every replay subject starts with. */
  get replayPrefix(): string {
    return `${this.prefix}.events.replay.`;
  }

  groupConsumer(group: string): string {
    return subjectToken(group);
  }

  get deadStream(): string {
    return `${this.#streamPrefix}_dead`;
  }

  deadSubject(kind: DeadKind, target: string, id: string): string {
    return `${this.prefix}.dead.${kind}.${subjectToken(target)}.${id}`;
  }

  deadFilter(kind: DeadKind, target: string): string {
    return `${this.prefix}.dead.${kind}.${subjectToken(target)}.*`;
  }
}

export type DeadKind = 'commands' | 'events';
