// Given / When / Then for deciders, with node:test and node:assert:
//   given(petDecider, [created]).when(reserve).then([reserved]);
//   given(petDecider, []).when(reserve).thenThrows('pet_not_found');
import assert from 'node:assert/strict';
import { DomainError, type Decider, type Message } from './decider.js';

/** The "when" step: a command against the state the given events produce. */
export interface When<Command extends Message, Event extends Message> {
  when(command: Command): Then<Event>;
}

/** The "then" step: what decide must return, or the DomainError code it must throw. */
export interface Then<Event extends Message> {
  /** Asserts the decided events (deep, strict equality); `[]` asserts that nothing happens. */
  then(expected: readonly Event[]): void;
  /** Asserts a DomainError with this code (and a detail matching `detail`, when given); returns it. */
  thenThrows(code: string, detail?: RegExp): DomainError;
}

/**
 * Starts a decider test from past events. The state they fold into must survive a JSON round
 * trip unchanged (no undefined members, Dates, Maps or class instances), since the command
 * handler snapshots it as JSON: a state that does not would load differently from a snapshot.
 */
export function given<Command extends Message, Event extends Message, State>(
  decider: Decider<Command, Event, State>,
  events: readonly Event[] = [],
): When<Command, Event> {
  return {
    when(command) {
      const state = events.reduce((s, e) => decider.evolve(s, e), decider.initialState());
      assert.deepStrictEqual(
        JSON.parse(JSON.stringify(state)) as unknown,
        state,
        'the state must survive a JSON round trip (it is snapshotted as JSON)',
      );
      return {
        then(expected) {
          assert.deepStrictEqual(decider.decide(command, state), expected);
        },
        thenThrows(code, detail) {
          let thrown: unknown;
          let decided: Event[] | undefined;
          try {
            decided = decider.decide(command, state);
          } catch (err) {
            thrown = err;
          }
          if (decided) assert.fail(`expected DomainError ${code}, got events ${JSON.stringify(decided)}`);
          assert.ok(thrown instanceof DomainError, `expected DomainError ${code}, got ${String(thrown)}`);
          assert.equal(thrown.code, code);
          if (detail) assert.match(thrown.detail, detail);
          return thrown;
        },
      };
    },
  };
}
