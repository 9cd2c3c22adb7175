import type { Logger } from '@optic-mart/platform';

/** A subscriber's callback; `KeyValueStore.subscribe` takes one per call. */
export type MessageHandler = (message: string) => void;

/**
 * The handlers of one store's subscriptions, per channel. Both stores keep one server-side
 * subscription per channel however many handlers share it, so they need to know when a channel
 * gains its first handler (subscribe on the server) or loses its last (unsubscribe).
 */
export class ChannelHandlers {
  readonly #handlers = new Map<string, Set<MessageHandler>>();
  readonly #logger: Logger | undefined;

  constructor(logger?: Logger) {
    this.#logger = logger;
  }

  /** Adds a handler; true when it is the channel's first. */
  add(channel: string, handler: MessageHandler): boolean {
    let set = this.#handlers.get(channel);
    const first = set === undefined;
    if (!set) this.#handlers.set(channel, (set = new Set()));
    set.add(handler);
    return first;
  }

  /** Removes a handler; true when it was the channel's last. */
  remove(channel: string, handler: MessageHandler): boolean {
    const set = this.#handlers.get(channel);
    if (!set?.delete(handler)) return false;
    if (set.size > 0) return false;
    this.#handlers.delete(channel);
    return true;
  }

  has(channel: string): boolean {
    return this.#handlers.has(channel);
  }

  channels(): string[] {
    return [...this.#handlers.keys()];
  }

  clear(): void {
    this.#handlers.clear();
  }

  /** Calls every handler of the channel; one that throws is logged and does not stop the others. */
  dispatch(channel: string, message: string): void {
    const set = this.#handlers.get(channel);
    if (!set) return;
    // A copy: a handler may unsubscribe itself (or another) while we iterate.
    for (const handler of [...set]) {
      try {
        handler(message);
      } catch (err) {
        this.#logger?.error({ err, channel }, 'key-value subscriber failed on a message');
      }
    }
  }
}
