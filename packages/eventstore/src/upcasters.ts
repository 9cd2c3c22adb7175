import type { RecordedEvent } from './types.js';

/** Raises one event type's data from schema version `fromVersion` to `fromVersion + 1`. */
export interface Upcaster {
  readonly type: string;
  readonly fromVersion: number;
  upcast(data: unknown, event: RecordedEvent): unknown;
}

/** The registered upcasters, chained so that reads always return an event type's newest shape. */
export class UpcasterRegistry {
  readonly #byKey = new Map<string, Upcaster>();

  constructor(upcasters: readonly Upcaster[] = []) {
    for (const u of upcasters) this.register(u);
  }

  /** Adds one step; a second step for the same (type, version) is a programming error. */
  register(upcaster: Upcaster): void {
    const key = `${upcaster.type}@${upcaster.fromVersion}`;
    if (this.#byKey.has(key)) throw new Error(`an upcaster for ${key} is already registered`);
    this.#byKey.set(key, upcaster);
  }

  /** The event with every step applied that applies, from its stored version upwards. */
  apply(event: RecordedEvent): RecordedEvent {
    let current = event;
    for (;;) {
      const step = this.#byKey.get(`${current.type}@${current.schemaVersion}`);
      if (!step) return current;
      current = {
        ...current,
        data: step.upcast(current.data, current),
        schemaVersion: current.schemaVersion + 1,
      };
    }
  }
}
