import type { Logger } from '@optic-mart/platform';
import type { EventStore } from './event-store.js';
import type { LogFilter, RecordedEvent } from './types.js';

export interface SubscribeOptions extends LogFilter {
  /** Deliver events after this position (a checkpoint the subscriber stored). */
  readonly after: number;
  readonly batchSize?: number;
  /**
   * Handles a batch; the subscription moves on only when it resolves, so storing `checkpoint` in
   * the same transaction as the handler's effects gives exactly-once processing.
   */
  readonly handler: (events: readonly RecordedEvent[], checkpoint: number) => Promise<void>;
  /** Told about each failure; the batch is retried with backoff (never skipped). */
  readonly onError?: (err: unknown, attempt: number) => void;
  readonly logger?: Logger;
  /** Safety net for a lost notification: read again after this long idle. Default 30 s. */
  readonly idleRecheckMs?: number;
}

export interface Subscription {
  /** The last position handled (or passed over by the filter). */
  readonly checkpoint: number;
  /** Resolves when the subscription has stopped. */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

/**
 * A live subscription to the global log or a category: catches up from its checkpoint in batches,
 * then waits for the sequencer's notifications (push, not polling) and reads what is new.
 */
export function subscribe(store: EventStore, options: SubscribeOptions): Subscription {
  const controller = new AbortController();
  const batchSize = options.batchSize ?? 500;
  const idleMs = options.idleRecheckMs ?? 30_000;
  let checkpoint = options.after;
  const filter: LogFilter = {
    ...(options.category !== undefined ? { category: options.category } : {}),
    ...(options.types !== undefined ? { types: options.types } : {}),
  };

  const run = async (): Promise<void> => {
    await store.notifier.start();
    let attempt = 0;
    while (!controller.signal.aborted) {
      try {
        const page = await store.readAll({ after: checkpoint, limit: batchSize, ...filter });
        if (controller.signal.aborted) break;
        if (page.events.length > 0) await options.handler(page.events, page.checkpoint);
        checkpoint = page.checkpoint;
        attempt = 0;
        if (checkpoint >= page.head) {
          await store.notifier.waitForPositionAbove(checkpoint, idleMs, controller.signal);
        }
      } catch (err) {
        attempt++;
        options.onError?.(err, attempt);
        options.logger?.warn({ err, attempt, checkpoint }, 'subscription batch failed; retrying');
        await sleep(Math.min(50 * 2 ** attempt, 5_000), controller.signal);
      }
    }
  };

  const done = run();
  return {
    get checkpoint() {
      return checkpoint;
    },
    done,
    async stop() {
      controller.abort();
      await done;
    },
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
