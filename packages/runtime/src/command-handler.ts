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
  'aggregate' | 'append' | 'appendMany' | 'findEvent' | 'readStream' | 'saveSnapshot' | 'stampPending'
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

/** An aggregate a multi-stream command loads before it decides (snapshot + later events). */
export interface AggregateLoad<State = unknown> {
  readonly streamId: string;
  /** How its events fold into its state (a decider, or only these two of one). */
  readonly decider: Pick<Decider<never, Message, State>, 'initialState' | 'evolve'>;
  /**
   * The snapshots of its stream, as its own route keeps them (same type and schemaVersion, so that
   * every writer of the stream reads and writes the same ones). Default as CommandRoute's.
   */
  readonly snapshot?: SnapshotOptions | false;
}

/** An aggregate as loaded: its state and the version it is at (0 for none). */
export interface LoadedAggregate<State = unknown> {
  readonly state: State;
  readonly version: number;
}

/** One decision of a multi-stream command: a command for one aggregate's decider. */
export interface AggregateStep<
  Command extends Message = Message,
  Event extends Message = Message,
  State = unknown,
> extends AggregateLoad<State> {
  readonly decider: Decider<Command, Event, State>;
  readonly command: Command;
  /** As CommandRoute's: the events to append for the decided ones, one each. */
  toStreamEvents?(events: readonly Event[], command: CommandInput): NewEvent[];
}

/** Erases a step's types, so that steps of different deciders fit in one list. */
export const aggregateStep = <Command extends Message, Event extends Message, State>(
  step: AggregateStep<Command, Event, State>,
): AggregateStep => step;

/**
 * A command that decides on several aggregates and appends to all of them atomically
 * (`EventStore.appendMany`): e.g. PlaceOrder = OrderPlaced on the order + PetReserved on the pet.
 * The handler loads the `reads`, asks for the `steps` (one per aggregate), loads the steps'
 * aggregates it has not loaded yet, runs each decider and appends everything in one transaction,
 * each stream with its version tag; when any stream moved on meanwhile it starts again from the
 * loads. A step on a stream that was read keeps that load (so the version tag also covers what
 * `steps` saw of it); it must then use the same evolve.
 */
export interface MultiStreamRoute {
  readonly kind: 'multi';
  /** Aggregates whose state the steps depend on (e.g. a product's price, the order's lines). */
  reads?(command: CommandInput): readonly AggregateLoad[];
  /**
   * The decisions, at most one per stream. The first step's stream is the command's own: the
   * result's streamId and version (and `expectedVersion`, when the command has one) are its.
   * May throw a DomainError.
   */
  steps(command: CommandInput, loaded: ReadonlyMap<string, LoadedAggregate>): readonly AggregateStep[];
}

/** Whether a route is a multi-stream one. */
export const isMultiStreamRoute = (route: AnyCommandRoute): route is MultiStreamRoute =>
  (route as { kind?: unknown }).kind === 'multi';

/** A route of either kind. */
export type AnyCommandRoute = CommandRoute<Message, Message, unknown> | MultiStreamRoute;

/** Routes by command type; routes of different deciders live in one table. */
export type CommandRoutes = Readonly<Record<string, AnyCommandRoute>>;

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
      /** A multi-stream command: each stream it appended to, with its version and last position. */
      readonly streams?: readonly StreamOutcome[];
    }
  | { readonly ok: false; readonly error: CommandError };

/** Where one stream of a multi-stream command ended. */
export interface StreamOutcome {
  readonly streamId: string;
  readonly version: number;
  readonly position: number;
}

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
/** Most events one multi-stream command may produce (the store's limit per append). */
const MAX_EVENTS_PER_COMMAND = 10_000;

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
    // No look for an earlier delivery first: the events' ids derive from the command id, so a
    // repeat cannot be appended twice, and every path below that a repeat can take (a refusal,
    // nothing to do, a stale version tag, ids found stored) asks `applied` before it answers.
    const snapshot = snapshotPolicy(route);
    let loaded;
    try {
      loaded = await store.aggregate(streamId, {
        initialState: () => decider.initialState(),
        evolve: (state, event) => decider.evolve(state, { type: event.type, data: event.data }),
        ...(snapshot && { snapshot: { type: snapshot.type, schemaVersion: snapshot.schemaVersion } }),
      });
    } catch (err) {
      // Deleted since an earlier delivery of this command was applied: answer with its result.
      if (isAppError(err) && err.code === 'stream_deleted') {
        const done = await applied(streamId, command.commandId).catch(() => null);
        if (done) return done;
      }
      throw err;
    }
    if (command.expectedVersion !== undefined && loaded.version !== command.expectedVersion) {
      const done = await applied(streamId, command.commandId);
      if (done) return done;
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
    const toAppend = withCommandIds(base, command, 0);

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

  // ── multi-stream commands ────────────────────────────────────────────────

  /**
   * The first result of a multi-stream command whose first event is stored, or null. Its events
   * were one atomic append, so either all are stored or none; they are found by their ids.
   */
  async function appliedMany(commandId: string): Promise<CommandResult | null> {
    const first = await store.findEvent(eventIdFor(commandId, 0));
    if (!first) return null;
    const lastByStream = new Map<string, RecordedEvent>([[first.streamId, first]]);
    let count = 1;
    for (; count < MAX_EVENTS_PER_COMMAND; count++) {
      const event = await store.findEvent(eventIdFor(commandId, count));
      if (!event) break;
      const seen = lastByStream.get(event.streamId);
      if (!seen || seen.version < event.version) lastByStream.set(event.streamId, event);
    }
    const streams: StreamOutcome[] = [];
    for (const [streamId, last] of lastByStream) {
      streams.push({ streamId, version: last.version, position: await positionOf(last) });
    }
    const primary = streams[0]!;
    const position = Math.max(...streams.map((s) => s.position));
    return { ...primary, ok: true, position, events: count, duplicate: true, streams };
  }

  async function attemptMany(route: MultiStreamRoute, command: CommandInput): Promise<CommandResult> {
    const done = await appliedMany(command.commandId);
    if (done) return done;

    const loaded = new Map<string, LoadedAggregate>();
    const load = async (spec: AggregateLoad): Promise<void> => {
      const snapshot = snapshotPolicy(spec);
      const { state, version } = await store.aggregate(spec.streamId, {
        initialState: () => spec.decider.initialState(),
        evolve: (state, event) => spec.decider.evolve(state, { type: event.type, data: event.data }),
        ...(snapshot && { snapshot: { type: snapshot.type, schemaVersion: snapshot.schemaVersion } }),
      });
      loaded.set(spec.streamId, { state, version });
    };

    let steps: readonly AggregateStep[];
    const decided: { step: AggregateStep; from: LoadedAggregate; events: Message[] }[] = [];
    try {
      const reads = route.reads?.(command) ?? [];
      const unique = [...new Map(reads.map((r) => [r.streamId, r])).values()];
      await Promise.all(unique.map(load));
      steps = route.steps(command, loaded);
      if (steps.length === 0) throw new Error(`${command.type} decided on no aggregate`);
      if (new Set(steps.map((s) => s.streamId)).size !== steps.length) {
        throw new Error(`${command.type} named one stream in two steps`);
      }
      await Promise.all(steps.filter((s) => !loaded.has(s.streamId)).map(load));
      const primary = loaded.get(steps[0]!.streamId)!;
      if (command.expectedVersion !== undefined && primary.version !== command.expectedVersion) {
        return failure(
          'version_mismatch',
          `${steps[0]!.streamId} is at version ${primary.version}, not the expected ${command.expectedVersion}`,
          {
            streamId: steps[0]!.streamId,
            expectedVersion: command.expectedVersion,
            currentVersion: primary.version,
          },
        );
      }
      for (const step of steps) {
        const from = loaded.get(step.streamId)!;
        decided.push({ step, from, events: step.decider.decide(step.command, from.state) });
      }
    } catch (err) {
      // As for one stream: an earlier delivery may have committed since the check above.
      if (isDomainError(err)) return (await appliedMany(command.commandId)) ?? fromDomain(err);
      throw err;
    }

    const primaryStream = steps[0]!.streamId;
    const writes = decided.filter((d) => d.events.length > 0);
    if (writes.length === 0) {
      const again = await appliedMany(command.commandId);
      if (again) return again;
      const { version } = loaded.get(primaryStream)!;
      const position = await lastPosition(primaryStream, version);
      return {
        ok: true,
        streamId: primaryStream,
        version,
        position,
        events: 0,
        duplicate: false,
        streams: [],
      };
    }

    let index = 0;
    const appends = writes.map(({ step, from, events }) => {
      const base: readonly NewEvent[] =
        step.toStreamEvents?.(events, command) ?? events.map((e) => ({ type: e.type, data: e.data }));
      if (base.length !== events.length) throw new Error('toStreamEvents must return one event per event');
      const stamped = withCommandIds(base, command, index);
      index += stamped.length;
      return { streamId: step.streamId, events: stamped, expectedVersion: from.version + 1 };
    });

    let results;
    try {
      results = await store.appendMany(appends);
    } catch (err) {
      // A concurrent delivery of this command decided differently (e.g. on other states).
      if (isAppError(err) && err.code === 'event_id_conflict') {
        const again = await appliedMany(command.commandId);
        if (again) return again;
      }
      throw err;
    }
    if (results.every((r) => r.duplicate)) {
      const again = await appliedMany(command.commandId);
      if (!again)
        throw new Error(`the store reported ${command.commandId} applied, but its events are not there`);
      return again;
    }

    for (const [i, { step, from, events }] of writes.entries()) {
      const snapshot = snapshotPolicy(step);
      const appended = results[i]!;
      if (snapshot && crossesMultiple(from.version, appended.version, snapshot.every)) {
        const state = events.reduce((s, e) => step.decider.evolve(s, e), from.state);
        const { type, schemaVersion } = snapshot;
        await store
          .saveSnapshot({ streamId: step.streamId, version: appended.version, type, schemaVersion, state })
          .catch((err: unknown) => logger?.warn({ err, streamId: step.streamId }, 'snapshot failed'));
      }
    }
    const streams: StreamOutcome[] = results.map(({ streamId, version, position }) => ({
      streamId,
      version,
      position,
    }));
    const own = streams.find((s) => s.streamId === primaryStream);
    return {
      ok: true,
      streamId: primaryStream,
      version: own?.version ?? loaded.get(primaryStream)!.version,
      position: Math.max(...streams.map((s) => s.position)),
      events: index,
      duplicate: false,
      streams,
    };
  }

  /** Runs attempts until one is not refused for a version conflict (then waits, jittered). */
  async function retrying(
    command: CommandInput,
    streamId: string,
    attemptOnce: () => Promise<CommandResult>,
  ): Promise<CommandResult> {
    for (let n = 1; ; n++) {
      try {
        return await attemptOnce();
      } catch (err) {
        if (isAppError(err) && err.code === 'wrong_version') {
          const conflicted = (err.extra?.streamId as string | undefined) ?? streamId;
          if (n >= maxAttempts) {
            logger?.warn(
              { streamId: conflicted, commandId: command.commandId, attempts: n },
              'version conflicts outlasted the retries',
            );
            throw new AppError(
              'concurrency_conflict',
              `${conflicted} kept changing while ${command.type} was decided; try again`,
              { extra: { streamId: conflicted, attempts: n }, cause: err },
            );
          }
          logger?.debug(
            { streamId: conflicted, commandId: command.commandId, attempt: n },
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
  }

  return async function handle(command) {
    const route = Object.hasOwn(routes, command.type) ? routes[command.type] : undefined;
    if (!route) return failure('bad_request', `no handler for command type ${command.type}`);
    if (isMultiStreamRoute(route)) {
      return retrying(command, command.aggregateId, () => attemptMany(route, command));
    }
    let streamId: string;
    let domainCommand: Message;
    try {
      streamId = route.streamId?.(command) ?? command.aggregateId;
      domainCommand = route.toCommand?.(command) ?? { type: command.type, data: command.data };
    } catch (err) {
      if (isDomainError(err)) return fromDomain(err);
      throw err;
    }
    return retrying(command, streamId, () => attempt(route, command, domainCommand, streamId));
  };
}

function snapshotPolicy(route: {
  readonly snapshot?: SnapshotOptions | false | undefined;
}): Required<SnapshotOptions> | null {
  if (route.snapshot === false) return null;
  return {
    type: route.snapshot?.type ?? 'state',
    schemaVersion: route.snapshot?.schemaVersion ?? 1,
    every: route.snapshot?.every ?? DEFAULT_SNAPSHOT_EVERY,
  };
}

/**
 * The command's ids and metadata on its events: the `index`-th event the command produces (from
 * 0, across all its streams) gets the id derived from the command id and that index.
 */
function withCommandIds(events: readonly NewEvent[], command: CommandInput, first: number): NewEvent[] {
  const { correlationId, userId } = command.metadata;
  return events.map((e, i) => ({
    ...e,
    id: eventIdFor(command.commandId, first + i),
    metadata: {
      ...e.metadata,
      commandId: command.commandId,
      correlationId,
      causationId: command.commandId,
      ...(userId !== undefined && { userId }),
    },
  }));
}

function failure(code: ErrorCode, detail: string, extra?: Readonly<Record<string, unknown>>): CommandResult {
  return { ok: false, error: { code, detail, ...(extra !== undefined && { extra }) } };
}

function fromDomain(err: DomainError): CommandResult {
  // A code missing from the table is a bug in the context: fail loudly (dead-letter), not as a 4xx.
  if (!isErrorCode(err.code)) throw new Error(`domain error code ${err.code} is not in the error table`);
  return failure(err.code, err.detail, err.extra);
}
