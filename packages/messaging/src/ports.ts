/**
 * The messaging ports (DESIGN.md §4): a command queue, a domain-events bus, and a key-value
 * store with publish/subscribe. Each has exactly two implementations — NATS JetStream (or Redis)
 * for production, PostgreSQL as the embedded default — and one conformance suite both pass.
 */

/** A command on its way from the gateway to a worker of its context. */
export interface CommandEnvelope<Data = unknown> {
  /** Unique per command (uuid); the queue and the worker drop repeats of it. */
  readonly commandId: string;
  /** The bounded context whose workers handle it, e.g. `catalog`. */
  readonly context: string;
  /** Imperative name, e.g. `ReservePet`. */
  readonly type: string;
  /** The aggregate (stream) it addresses, e.g. `pet-42`. */
  readonly aggregateId: string;
  readonly data: Data;
  /** When set, the aggregate must be at this version (an `If-Match` from the client). */
  readonly expectedVersion?: number;
  readonly metadata: CommandMetadata;
}

export interface CommandMetadata {
  readonly correlationId: string;
  readonly causationId?: string;
  readonly userId?: string;
  /** W3C trace context, so traces cross the queue. */
  readonly traceparent?: string;
  /** ISO time the gateway issued it. */
  readonly issuedAt: string;
  /** The pub/sub channel the issuing gateway listens on for the reply. */
  readonly replyTo?: string;
}

/** How one delivery of a message went; the consumer decides ack / retry / dead-letter from it. */
export interface Delivery {
  /** 1 for the first delivery, 2 for the first redelivery … */
  readonly attempt: number;
}

export interface ConsumeOptions<Message> {
  /** Runs with at most this many messages in flight: a worker pulls only when it has room. */
  readonly concurrency: number;
  /**
   * Resolves: the message is acknowledged (never before). Throws: it is redelivered after a
   * backoff, unless it is an AppError whose code is not retryable, or the attempts reach
   * `maxDeliveries`: then it is dead-lettered. (Any other error is taken for infrastructure
   * trouble, which a redelivery may fix.) A delivery past `maxDeliveries` (earlier ones crashed their process
   * or lost their lease) is dead-lettered without running the handler.
   */
  readonly handler: (message: Message, delivery: Delivery) => Promise<void>;
  /** Default 5. */
  readonly maxDeliveries?: number;
  /** First redelivery delay, doubled per attempt (with jitter). Default 200 ms. */
  readonly backoffMs?: number;
}

export interface Consumer {
  /** Stops pulling, waits for the messages in flight to finish (and be acked or nacked). */
  stop(): Promise<void>;
}

export interface DeadLetter<Message> {
  readonly id: string;
  readonly message: Message;
  readonly error: { readonly code: string; readonly detail: string };
  readonly attempts: number;
  readonly deadAt: string;
}

export interface DeadLetters<Message> {
  list(options?: { limit?: number }): Promise<DeadLetter<Message>[]>;
  /** Puts a dead letter back on its queue (or bus group) and removes it from the list. */
  replay(id: string): Promise<void>;
}

/** A work queue per context: each command goes to exactly one worker. */
export interface CommandQueue {
  /**
   * Durably enqueues; resolves once accepted. A repeated commandId (within the queue's duplicate
   * window) is dropped, not enqueued twice: `duplicate` says so, and its reply goes to the first
   * sender only.
   */
  send(command: CommandEnvelope): Promise<{ readonly duplicate: boolean }>;
  /**
   * Commands of a context accepted and not yet done — waiting, in flight, or waiting out a retry
   * backoff (for load shedding).
   */
  depth(context: string): Promise<number>;
  consume(context: string, options: ConsumeOptions<CommandEnvelope>): Promise<Consumer>;
  deadLetters(context: string): DeadLetters<CommandEnvelope>;
  close(): Promise<void>;
}

/** A domain event as it travels on the bus (the event store's recorded event, serialisable). */
export interface BusEvent {
  readonly id: string;
  readonly streamId: string;
  readonly type: string;
  readonly version: number;
  readonly position: number;
  readonly schemaVersion: number;
  readonly data: unknown;
  readonly metadata: Record<string, unknown>;
  readonly recordedAt: string;
}

export interface SubscribeOptions extends ConsumeOptions<BusEvent> {
  /** Only these event types (all when omitted). */
  readonly types?: readonly string[];
}

/**
 * The domain-events bus: every event published reaches every subscriber group once (one member
 * of the group handles it), in publish order per group when concurrency is 1.
 */
export interface EventBus {
  /** Publishes in order; a repeated event id is dropped, so a relay may republish after a crash. */
  publish(events: readonly BusEvent[]): Promise<void>;
  /**
   * A durable group: it receives events published after it was first created, and resumes where it
   * stopped. `concurrency` bounds the group's events in flight across all its members (so 1 keeps
   * publish order across members too); give every member of a group the same value.
   */
  subscribe(group: string, options: SubscribeOptions): Promise<Consumer>;
  deadLetters(group: string): DeadLetters<BusEvent>;
  close(): Promise<void>;
}

/** One transport's command queue and bus, sharing its connections. */
export interface MessagingTransport {
  readonly commands: CommandQueue;
  readonly events: EventBus;
  /** Stops every consumer (their in-flight messages settle first), then closes the connections. */
  close(): Promise<void>;
}

/** Key-value with expiry and publish/subscribe (idempotency keys, worker registry, replies, live fan-out). */
export interface KeyValueStore {
  get(key: string): Promise<string | null>;
  /**
   * Sets the value; `ttlMs` makes it expire. `durable: false` lets the write be lost if the store's
   * server crashes right after it (PostgreSQL then does not wait for its disk; Redis keeps nothing
   * on disk in any case): for records that are written again if lost, such as a command's outcome
   * before its queue acknowledgement.
   */
  set(key: string, value: string, options?: { ttlMs?: number; durable?: boolean }): Promise<void>;
  /** Sets only when the key is absent; true when this call set it (the first of racing callers). */
  setIfAbsent(key: string, value: string, options?: { ttlMs?: number }): Promise<boolean>;
  delete(key: string): Promise<void>;
  /**
   * Sets a member of a group (a registry: the live workers of a context), which expires after
   * `ttlMs` unless set again.
   */
  setMember(group: string, member: string, value: string, options: { ttlMs: number }): Promise<void>;
  deleteMember(group: string, member: string): Promise<void>;
  /** The group's live members with their values; costs the group's size, never the store's. */
  members(group: string): Promise<Map<string, string>>;
  /** Delivers to every current subscriber of the channel, in every process; not durable. */
  publish(channel: string, message: string): Promise<void>;
  /** Resolves once the subscription is in place; returns the unsubscribe function. */
  subscribe(channel: string, handler: (message: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
