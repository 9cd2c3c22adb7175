// The worker's command path (DESIGN.md §3): drop a command applied already, load the aggregate
// (snapshot + later events), decide, append with the version tag, retry from the load when
// another writer took that version, reply.
import { setTimeout as sleep } from 'node:timers/promises';
import type { EventStore, NewEvent, RecordedEvent } from '@optic-mart/eventstore';
import { AppError, isAppError, isErrorCode, type ErrorCode, type Logger } from '@optic-mart/platform';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { isDomainError, type DomainError, type Decider, type Message } from './decider.js';
import { eventIdFor } from './event-ids.js';

/**
 * The command as the handler reads it. Messaging's `CommandEnvelope` is one (declared here by
 * shape, so that the runtime does not depend on a transport).
 */
export interface CommandInput {
  /** Unique per command; the ids of the events it produces are derived from it. */
  readonly commandId: string;
  readonly type: string;
  /** The stream it addresses, e.g. `pet-42` (a route may map it). */
  readonly aggregateId: string;
  readonly data: unknown;
  /** When set, the aggregate must be at exactly this version (If-Match), else version_mismatch. */
  readonly expectedVersion?: number;
  readonly metadata: {
    readonly correlationId: string;
    readonly causationId?: string;
    readonly userId?: string;
  };
}

/** The part of the event store the handler uses (an in-memory fake can stand in for unit tests). */
export type CommandStore = Pick<
  EventStore,
  'aggregate' | 'append' | 'findEvent' | 'readStream' | 'saveSnapshot' | 'stampPending'
>;

/** When and how a route snapshots its aggregates. */
export interface SnapshotOptions {
  /** Snapshot type: a snapshot of another type is ignored on load. Default `state`. */
  readonly type?: string;
  /** Bump it whenever the State's shape changes: older snapshots are then ignored. Default 1. */
  readonly schemaVersion?: number;
  /** Snapshot after an append that crosses a multiple of this many events. Default 100. */
  readonly every?: number;
}

/** How one command type is handled: which decider, on which stream. */
export interface CommandRoute<Command extends Message, Event extends Message, State> {
  readonly decider: Decider<Command, Event, State>;
  /** The stream the command addresses. Default: its `aggregateId`. May throw a DomainError. */
  streamId?(command: CommandInput): string;
  /** The decider's command from the envelope. Default `{ type, data }`. May throw a DomainError. */
  toCommand?(command: CommandInput): Command;
  /**
   * The events to append for the decided ones, one each, to set a schemaVersion or mark personal
   * data. Their ids and metadata are the handler's (it merges in any metadata given here).
   */
  toStreamEvents?(events: readonly Event[], command: CommandInput): NewEvent[];
  /** Snapshots (default: every 100 events); `false` turns them off. */
  readonly snapshot?: SnapshotOptions | false;
}

/** Routes by command type; routes of different deciders live in one table. */
export type CommandRoutes = Readonly<Record<string, CommandRoute<Message, Message, unknown>>>;

/** An error as reported to the client: a code of the platform table and its detail. */
export interface CommandError {
  readonly code: ErrorCode;
  readonly detail: string;
  readonly extra?: Readonly<Record<string, unknown>>;
}

/** The outcome of a command; `duplicate` means it had been applied already and this is that result. */
export type CommandResult =
  | {
      readonly ok: true;
      readonly streamId: string;
      /** The stream's version after the command. */
      readonly version: number;
      /** Global position of the command's last event (of the stream's last one when it had none). */
      readonly position: number;
      /** How many events the command produced. */
      readonly events: number;
      readonly duplicate: boolean;
    }
  | { readonly ok: false; readonly error: CommandError };

export interface CommandHandlerOptions {
  readonly store: CommandStore;
  readonly routes: CommandRoutes;
  readonly logger?: Logger;
  /** Retries after a version conflict. */
  readonly retry?: BackoffOptions;
}

/** Handles one command. Resolves with the outcome to reply; throws what a redelivery may fix. */
export type CommandHandler = (command: CommandInput) => Promise<CommandResult>;

const DEFAULT_SNAPSHOT_EVERY = 100;
const APPLIED_PAGE = 100;

/** Whether an append that moved a stream from version `from` to `to` crossed a multiple of `every`. */
export function crossesMultiple(from: number, to: number, every: number): boolean {
  return every > 0 && Math.floor(to / every) > Math.floor(from / every);
}

/**
 * Creates the handler a worker calls for each command. Outcomes:
 * - ok: the events were appended (or, `duplicate`, had been by an earlier delivery: each command
 *   id is applied once, by event ids derived from it);
 * - `{ ok: false }`: a refusal that a redelivery cannot change — a DomainError, version_mismatch
 *   for a stale `expectedVersion`, or a 4xx the store answered (e.g. stream_deleted);
 * - thrown: infrastructure failures, and `concurrency_conflict` (retryable) once the version
 *   conflicts outlast the retries, so the queue redelivers or dead-letters the command.
 */
export function createCommandHandler(options: CommandHandlerOptions): CommandHandler {
  const { store, routes, logger } = options;
  const maxAttempts = options.retry?.maxAttempts ?? 10;

  /** The first result of a command whose first event is stored, or null when it was not applied. */
  async function applied(streamId: string, commandId: string): Promise<CommandResult | null> {
    const first = await store.findEvent(eventIdFor(commandId, 0));
    if (!first) return null;
    if (first.streamId !== streamId) {
      return failure('event_id_conflict', `command ${commandId} was applied to another stream`, {
        streamId: first.streamId,
      });
    }
    // The command's events are consecutive (one append), and their ids tell them apart.
    let last = first;
    let count = 1;
    for (let from = first.version + 1; ; from += APPLIED_PAGE) {
      const page = await store.readStream(streamId, { from, limit: APPLIED_PAGE });
      const mine = page.findIndex((e, i) => e.id !== eventIdFor(commandId, count + i));
      const taken = mine === -1 ? page : page.slice(0, mine);
      last = taken.at(-1) ?? last;
      count += taken.length;
      if (mine !== -1 || page.length < APPLIED_PAGE) break;
    }
    const position = await positionOf(last);
    return { ok: true, streamId, version: last.version, position, events: count, duplicate: true };
  }

  /** An event's position; one committed a moment ago may still wait for the sequencer's stamp. */
  async function positionOf(event: RecordedEvent): Promise<number> {
    if (event.position !== null) return event.position;
    await store.stampPending();
    const again = await store.findEvent(event.id);
    if (again?.position == null) throw new Error(`event ${event.id} has no position yet`);
    return again.position;
  }

  /** The position of the stream's last event (0 for a stream with none). */
  async function lastPosition(streamId: string, version: number): Promise<number> {
    if (version === 0) return 0;
    const [last] = await store.readStream(streamId, { direction: 'backwards', limit: 1 });
    return last ? positionOf(last) : 0;
  }

  async function attempt(
    route: CommandRoute<Message, Message, unknown>,
    command: CommandInput,
    domainCommand: Message,
    streamId: string,
  ): Promise<CommandResult> {
    const { decider } = route;
    const done = await applied(streamId, command.commandId);
    if (done) return done;

    const snapshot = snapshotPolicy(route);
    const loaded = await store.aggregate(streamId, {
      initialState: () => decider.initialState(),
      evolve: (state, event) => decider.evolve(state, { type: event.type, data: event.data }),
      ...(snapshot && { snapshot: { type: snapshot.type, schemaVersion: snapshot.schemaVersion } }),
    });
    if (command.expectedVersion !== undefined && loaded.version !== command.expectedVersion) {
      return failure(
        'version_mismatch',
        `${streamId} is at version ${loaded.version}, not the expected ${command.expectedVersion}`,
        { streamId, expectedVersion: command.expectedVersion, currentVersion: loaded.version },
      );
    }

    let events: Message[];
    try {
      events = decider.decide(domainCommand, loaded.state);
    } catch (err) {
      // An earlier delivery may have committed between the check above and the load, and this
      // one then sees its effect (e.g. "already exists"): answer with that first result instead.
      if (isDomainError(err)) return (await applied(streamId, command.commandId)) ?? fromDomain(err);
      throw err;
    }
    if (events.length === 0) {
      const done = await applied(streamId, command.commandId);
      if (done) return done;
      const position = await lastPosition(streamId, loaded.version);
      return { ok: true, streamId, version: loaded.version, position, events: 0, duplicate: false };
    }

    const base: readonly NewEvent[] =
      route.toStreamEvents?.(events, command) ?? events.map((e) => ({ type: e.type, data: e.data }));
    if (base.length !== events.length) throw new Error('toStreamEvents must return one event per event');
    const { correlationId, userId } = command.metadata;
    const toAppend: NewEvent[] = base.map((e, i) => ({
      ...e,
      id: eventIdFor(command.commandId, i),
      metadata: {
        ...e.metadata,
        commandId: command.commandId,
        correlationId,
        causationId: command.commandId,
        ...(userId !== undefined && { userId }),
      },
    }));

    let appended;
    try {
      appended = await store.append(streamId, toAppend, { expectedVersion: loaded.version + 1 });
    } catch (err) {
      // A concurrent delivery of this command appended a different number of events.
      if (isAppError(err) && err.code === 'event_id_conflict') {
        const done = await applied(streamId, command.commandId);
        if (done) return done;
      }
      throw err;
    }
    if (appended.duplicate) {
      // The store found every id stored: a concurrent delivery of this command won the race.
      const done = await applied(streamId, command.commandId);
      if (!done)
        throw new Error(`the store reported ${command.commandId} applied, but its events are not there`);
      return done;
    }

    if (snapshot && crossesMultiple(loaded.version, appended.version, snapshot.every)) {
      const state = events.reduce((s, e) => decider.evolve(s, e), loaded.state);
      const { type, schemaVersion } = snapshot;
      // A failed snapshot costs only a longer load later: log it, keep the command's success.
      await store
        .saveSnapshot({ streamId, version: appended.version, type, schemaVersion, state })
        .catch((err: unknown) => logger?.warn({ err, streamId }, 'snapshot failed'));
    }
    return {
      ok: true,
      streamId,
      version: appended.version,
      position: appended.position,
      events: events.length,
      duplicate: false,
    };
  }

  return async function handle(command) {
    const route = Object.hasOwn(routes, command.type) ? routes[command.type] : undefined;
    if (!route) return failure('bad_request', `no handler for command type ${command.type}`);
    let streamId: string;
    let domainCommand: Message;
    try {
      streamId = route.streamId?.(command) ?? command.aggregateId;
      domainCommand = route.toCommand?.(command) ?? { type: command.type, data: command.data };
    } catch (err) {
      if (isDomainError(err)) return fromDomain(err);
      throw err;
    }

    for (let n = 1; ; n++) {
      try {
        return await attempt(route, command, domainCommand, streamId);
      } catch (err) {
        if (isAppError(err) && err.code === 'wrong_version') {
          if (n >= maxAttempts) {
            logger?.warn(
              { streamId, commandId: command.commandId, attempts: n },
              'version conflicts outlasted the retries',
            );
            throw new AppError(
              'concurrency_conflict',
              `${streamId} kept changing while ${command.type} was decided; try again`,
              { extra: { streamId, attempts: n }, cause: err },
            );
          }
          logger?.debug(
            { streamId, commandId: command.commandId, attempt: n },
            'version conflict; deciding again',
          );
          await sleep(backoffDelay(n, options.retry));
          continue;
        }
        // A store refusal that a redelivery cannot change (stream_deleted, validation_failed …).
        if (isAppError(err) && !err.retryable && err.status >= 400 && err.status < 500) {
          return failure(err.code, err.detail, err.extra);
        }
        throw err;
      }
    }
  };
}

function snapshotPolicy(route: CommandRoute<Message, Message, unknown>): Required<SnapshotOptions> | null {
  if (route.snapshot === false) return null;
  return {
    type: route.snapshot?.type ?? 'state',
    schemaVersion: route.snapshot?.schemaVersion ?? 1,
    every: route.snapshot?.every ?? DEFAULT_SNAPSHOT_EVERY,
  };
}

function failure(code: ErrorCode, detail: string, extra?: Readonly<Record<string, unknown>>): CommandResult {
  return { ok: false, error: { code, detail, ...(extra !== undefined && { extra }) } };
}

function fromDomain(err: DomainError): CommandResult {
  // A code missing from the table is a bug in the context: fail loudly (dead-letter), not as a 4xx.
  if (!isErrorCode(err.code)) throw new Error(`domain error code ${err.code} is not in the error table`);
  return failure(err.code, err.detail, err.extra);
}
