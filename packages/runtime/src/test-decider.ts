// A small decider for the runtime's own tests (not exported): a pet that is registered, then tagged.
import { DomainError, type Decider } from './decider.js';

export type TagCommand =
  | { type: 'Register'; data: { name: string } }
  | { type: 'TagPet'; data: { tag: string } }
  | { type: 'TagMany'; data: { tags: string[] } }
  | { type: 'Touch'; data: Record<string, never> }
  | { type: 'Fail'; data: { code: string } };

export type TagEvent =
  { type: 'Registered'; data: { name: string } } | { type: 'Tagged'; data: { tag: string } };

export interface TagState {
  readonly name: string | null;
  readonly tags: readonly string[];
}

function tag(state: TagState, tag: string): TagEvent {
  if (state.name === null) throw new DomainError('not_found', 'not registered');
  if (state.tags.includes(tag)) throw new DomainError('conflict', `already tagged ${tag}`, { tag });
  return { type: 'Tagged', data: { tag } };
}

export const tagDecider: Decider<TagCommand, TagEvent, TagState> = {
  initialState: () => ({ name: null, tags: [] }),
  decide(command, state) {
    switch (command.type) {
      case 'Register':
        if (state.name !== null) throw new DomainError('conflict', 'already registered');
        return [{ type: 'Registered', data: { name: command.data.name } }];
      case 'TagPet':
        return [tag(state, command.data.tag)];
      case 'TagMany':
        return command.data.tags.map((t) => tag(state, t));
      case 'Touch':
        return [];
      case 'Fail':
        throw new DomainError(command.data.code, 'told to fail');
      default: {
        const unknown: never = command;
        throw new Error(`unknown command ${JSON.stringify(unknown)}`);
      }
    }
  },
  evolve(state, event) {
    switch (event.type) {
      case 'Registered':
        return { ...state, name: event.data.name };
      case 'Tagged':
        return { ...state, tags: [...state.tags, event.data.tag] };
      default:
        return state;
    }
  },
};
