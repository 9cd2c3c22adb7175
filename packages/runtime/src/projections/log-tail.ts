// The newest stretch of the global log, read once for all the live projections of a process. Each
// live projection used to read the log itself on every new position, filtered to its own events:
// with a dozen projections, one appended event cost a dozen reads, most of them finding nothing.
// Now one reader fetches what is new (unfiltered, in position order) and every projection takes
// its own events from memory; a projection further behind than the tail reaches reads the store.
import type { EventStore, LogFilter, ReadAllResult, RecordedEvent } from '@optic-mart/eventstore';

/** Events kept by default: far more than live projections are ever behind by. */
const DEFAULT_CAPACITY = 20_000;
/** Events per fetch (the store's largest page). */
const FETCH = 10_000;

export class LogTail {
  readonly #store: EventStore;
  readonly #capacity: number;
  /** Every event at a position in (#start, #end] is held, in position order; -1: nothing held. */
  #events: RecordedEvent[] = [];
  #start = -1;
  #end = -1;
  #head = 0;
  #fetching: Promise<void> | null = null;

  constructor(store: EventStore, options: { capacity?: number } = {}) {
    this.#store = store;
    this.#capacity = Math.max(FETCH, options.capacity ?? DEFAULT_CAPACITY);
    // An erased subject's data may be in memory, decrypted: start again from the store.
    store.notifier.on('erased', this.#onErased);
  }

  readonly #onErased = (): void => this.clear();

  /** Stops following erasures (the store outlives its projector). */
  close(): void {
    this.#store.notifier.off('erased', this.#onErased);
    this.clear();
  }

  /** Forgets everything held; the next read starts the tail again where it asks. */
  clear(): void {
    this.#events = [];
    this.#start = -1;
    this.#end = -1;
    this.#fetching = null;
  }

  /**
   * Like `EventStore.readAll` with a filter: up to `limit` matching events after `after`, the
   * checkpoint to resume from and the head. Null when `after` is older than what the tail holds:
   * read the store instead.
   */
  async read(after: number, limit: number, filter: LogFilter): Promise<ReadAllResult | null> {
    if (this.#start < 0) {
      // Empty (new, or cleared): the reader anchors the tail at its checkpoint.
      this.#start = after;
      this.#end = after;
    }
    if (after < this.#start) return null;
    // A reader that has everything held asks for what is new (one fetch, shared by the readers
    // that ask meanwhile). One with events left takes those first: fetching ahead of it would
    // only push the oldest events out from under the slower readers.
    if (after >= this.#end) {
      await (this.#fetching ??= this.#fetch().finally(() => (this.#fetching = null)));
      if (this.#start < 0) return null; // cleared meanwhile
    }
    if (after < this.#start || after > this.#end) return null;
    const prefix = filter.category !== undefined ? `${filter.category}-` : null;
    const types = filter.types && filter.types.length > 0 ? new Set(filter.types) : null;
    const events: RecordedEvent[] = [];
    let checkpoint = this.#end;
    for (let i = this.#firstAfter(after); i < this.#events.length; i++) {
      const e = this.#events[i]!;
      if (prefix !== null && !e.streamId.startsWith(prefix)) continue;
      if (types !== null && !types.has(e.type)) continue;
      events.push(e);
      if (events.length === limit) {
        checkpoint = e.position ?? checkpoint;
        break;
      }
    }
    return { events, checkpoint, head: Math.max(this.#head, checkpoint) };
  }

  /** The index of the first event held after `position`. */
  #firstAfter(position: number): number {
    let lo = 0;
    let hi = this.#events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#events[mid]!.position ?? 0) <= position) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  async #fetch(): Promise<void> {
    const from = this.#end;
    const page = await this.#store.readAll({ after: from, limit: FETCH });
    if (this.#end !== from) return; // cleared meanwhile
    this.#head = Math.max(this.#head, page.head);
    for (const e of page.events) this.#events.push(e);
    this.#end = page.checkpoint;
    const excess = this.#events.length - this.#capacity;
    if (excess > 0) {
      this.#start = this.#events[excess - 1]!.position ?? this.#start;
      this.#events = this.#events.slice(excess);
    }
  }
}
