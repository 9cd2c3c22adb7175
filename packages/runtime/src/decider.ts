// The decider (Emmett's shape) and the error a decider throws. Domain code imports this file's
// exports, so it must stay pure: no I/O, no platform, no node:* imports.

/** A command or an event: a discriminated union member `{ type, data }`. */
export interface Message<Type extends string = string, Data = unknown> {
  readonly type: Type;
  readonly data: Data;
}

/**
 * An aggregate's behaviour as three pure functions: `decide` turns a command and the current
 * state into new events (or throws a DomainError), `evolve` folds one event into the state, and
 * `initialState` is the state before the first event. State must survive a JSON round trip,
 * since it is snapshotted as JSON. The functions use no `this`, so they can be passed around.
 */
export interface Decider<Command extends Message, Event extends Message, State> {
  decide(this: void, command: Command, state: State): Event[];
  evolve(this: void, state: State, event: Event): State;
  initialState(this: void): State;
}

/**
 * A business rule refused a command. `code` must be a code of the platform's error table: the
 * command handler reports it to the client with that code's status. Never retried.
 */
export class DomainError<Code extends string = string> extends Error {
  override name = 'DomainError';
  readonly code: Code;
  /** Safe to show to the client. */
  readonly detail: string;
  /** Extension members for the problem body, e.g. `{ reservedBy: 'order-7' }`. */
  readonly extra: Readonly<Record<string, unknown>> | undefined;

  constructor(code: Code, detail: string, extra?: Readonly<Record<string, unknown>>) {
    super(detail);
    this.code = code;
    this.detail = detail;
    this.extra = extra;
  }
}

/** Whether a value is a DomainError. */
export function isDomainError(value: unknown): value is DomainError {
  return value instanceof DomainError;
}
