// Helpers the conformance suites share.
import { randomUUID } from 'node:crypto';
import type { BusEvent, CommandEnvelope, CommandQueue, EventBus } from '../ports.js';

/** One transport instance, as one process would have it (its own connections). */
export interface TransportUnderTest {
  readonly commands: CommandQueue;
  readonly events: EventBus;
  close(): Promise<void>;
  /** Dies like a killed process: settles nothing in flight, renews no lease, closes its connections. */
  abandon(): Promise<void>;
}

/** Opens a fresh instance; every call must behave like another process on the same servers. */
export type TransportFactory = () => Promise<TransportUnderTest>;

export interface ConformanceOptions {
  /** The transport's ack-wait / lease in these tests: how long a crashed consumer keeps a message. */
  readonly redeliveryMs: number;
}

/** A unique name, so tests sharing a server (and a stream prefix) never see each other's messages. */
export const unique = (label: string): string => `${label}-${randomUUID().slice(0, 8)}`;

export function command(context: string, data: unknown = {}, type = 'DoThing'): CommandEnvelope {
  const commandId = randomUUID();
  return {
    commandId,
    context,
    type,
    aggregateId: `thing-${commandId.slice(0, 8)}`,
    data,
    metadata: { correlationId: randomUUID(), issuedAt: new Date().toISOString() },
  };
}

let position = 0;
export function busEvent(type: string, data: unknown = {}): BusEvent {
  position += 1;
  return {
    id: randomUUID(),
    streamId: `thing-${position}`,
    type,
    version: 1,
    position,
    schemaVersion: 1,
    data,
    metadata: { correlationId: randomUUID() },
    recordedAt: new Date().toISOString(),
  };
}

/** Resolves once `predicate` holds, checking every 20 ms; fails with `what` after `timeoutMs`. */
export async function waitFor(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await sleep(20);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A promise opened from outside: holds a handler until the test lets it go. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** Tracks the instances a test opens and closes them after it. */
export class Instances {
  readonly #open: TransportUnderTest[] = [];
  readonly #factory: TransportFactory;

  constructor(factory: TransportFactory) {
    this.#factory = factory;
  }

  async open(): Promise<TransportUnderTest> {
    const instance = await this.#factory();
    this.#open.push(instance);
    return instance;
  }

  async closeAll(): Promise<void> {
    const all = this.#open.splice(0);
    await Promise.all(all.map((i) => i.close()));
  }
}
