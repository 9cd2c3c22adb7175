import type { Logger } from '@optic-mart/platform';
import type { Consumer } from '../ports.js';
import { Wakeup } from '../wakeup.js';

export interface ClaimLoopOptions<Item> {
  readonly concurrency: number;
  /** Claims (leases) up to `limit` items that are available now. */
  readonly claim: (limit: number) => Promise<Item[]>;
  /** Milliseconds until the earliest item not available now becomes so (a retry or an expiring lease). */
  readonly nextDueMs: () => Promise<number | null>;
  /** Runs and settles one item; must not throw. */
  readonly handle: (item: Item) => Promise<void>;
  /** The slow safety re-check, for a notification lost with a dropped LISTEN connection. */
  readonly safetyCheckMs: number;
  readonly logger: Logger | undefined;
}

const CLAIM_ERROR_PAUSE_MS = 1_000;
const MIN_WAIT_MS = 10;

/**
 * Claims work only into free slots and otherwise sleeps until woken: by a NOTIFY (`wake`), by a
 * slot freeing up, by the earliest delayed retry or lease expiry falling due, or by the safety
 * re-check. No tight polling loop.
 */
export class ClaimLoop<Item> implements Consumer {
  readonly #options: ClaimLoopOptions<Item>;
  readonly #wakeup = new Wakeup();
  readonly #inFlight = new Set<Promise<void>>();
  #stopping = false;
  #abandoned = false;
  #loop: Promise<void> | null = null;

  constructor(options: ClaimLoopOptions<Item>) {
    this.#options = options;
  }

  /** True once abandoned: settlements must do nothing, as if the process had died. */
  get abandoned(): boolean {
    return this.#abandoned;
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  wake(): void {
    this.#wakeup.wake();
  }

  /** Stops claiming and resolves once every claimed item has been handled and settled. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wakeup.wake();
    await this.#loop;
  }

  /** Stops at once; in-flight items are left to their leases (a simulated crash). */
  abandon(): void {
    this.#abandoned = true;
    this.#stopping = true;
    this.#wakeup.wake();
  }

  async #run(): Promise<void> {
    const { concurrency, safetyCheckMs, logger } = this.#options;
    while (!this.#stopping) {
      const free = concurrency - this.#inFlight.size;
      if (free <= 0) {
        await this.#wakeup.wait(safetyCheckMs);
        continue;
      }
      let items: Item[];
      try {
        items = await this.#options.claim(free);
      } catch (err) {
        if (this.#stopping) break;
        logger?.warn({ err }, 'claim failed; retrying');
        await this.#wakeup.wait(CLAIM_ERROR_PAUSE_MS);
        continue;
      }
      // Claimed before stop() was called: handled, and stop() waits for them. Abandoned: left to their leases.
      if (this.#abandoned) break;
      for (const item of items) this.#track(item);
      if (items.length === free) continue;
      let dueMs: number | null = null;
      try {
        dueMs = await this.#options.nextDueMs();
      } catch (err) {
        logger?.debug({ err }, 'could not read the next due time');
      }
      // The floor keeps a due time that is already past (clock skew with the server) from spinning.
      await this.#wakeup.wait(Math.max(MIN_WAIT_MS, Math.min(dueMs ?? safetyCheckMs, safetyCheckMs)));
    }
    if (!this.#abandoned) await Promise.all(this.#inFlight);
  }

  #track(item: Item): void {
    const task: Promise<void> = this.#options
      .handle(item)
      .catch((err: unknown) => this.#options.logger?.error({ err }, 'delivery failed unexpectedly'))
      .finally(() => {
        this.#inFlight.delete(task);
        this.#wakeup.wake();
      });
    this.#inFlight.add(task);
  }
}
