// The User aggregate (identity): one per `user-<username>` stream. The username is the key (the
// Petstore's), the integer id is minted by the gateway; a command never carries a password, only
// its hash. A deleted user's username may be registered again, by a new person with a new id.
import { DomainError, type Decider } from '@optic-mart/runtime';

declare const brand: unique symbol;
type Branded<T, Brand extends string> = T & { readonly [brand]: Brand };

export type UserId = Branded<string, 'UserId'>;
export type Username = Branded<string, 'Username'>;
export const UserId = (value: string): UserId => value as UserId;
export const Username = (value: string): Username => value as Username;

export const userRoles = ['customer', 'seller', 'admin'] as const;
export type UserRole = (typeof userRoles)[number];

/** The Petstore User's profile: what UpdateUser replaces (an omitted field becomes null). */
export interface UserProfile {
  readonly firstName: string | null;
  readonly lastName: string | null;
  readonly email: string | null;
  readonly phone: string | null;
  readonly userStatus: number | null;
}

/**
 * The fields of the events that are one person's personal data: the store keeps them encrypted
 * under the user's own key, so deleting the user erases them everywhere (crypto-shredding).
 */
export const personalFields = ['firstName', 'lastName', 'email', 'phone', 'passwordHash'] as const;

export type ProfileInput = { readonly [K in keyof UserProfile]?: UserProfile[K] };

export interface RegisterUserInput extends ProfileInput {
  readonly userId: UserId;
  readonly username: Username;
  /** Default customer; who may ask for more is decided at the gateway. */
  readonly role?: UserRole;
  /** An argon2 hash; without one the user cannot log in. */
  readonly passwordHash?: string | null;
}

export interface UpdateUserInput extends ProfileInput {
  /** The user addressed (from the stream). */
  readonly username: Username;
  /** The username the request body named, if any: it must be the user's own. */
  readonly requestedUsername?: string;
  /** A new password's hash; omitted: the password stays. */
  readonly passwordHash?: string;
}

export type UserCommand =
  | { readonly type: 'RegisterUser'; readonly data: RegisterUserInput }
  | { readonly type: 'UpdateUser'; readonly data: UpdateUserInput }
  | {
      readonly type: 'ChangeUserRole';
      readonly data: { readonly username: Username; readonly role: UserRole };
    }
  | { readonly type: 'DeleteUser'; readonly data: { readonly username: Username } };

export type UserCommandType = UserCommand['type'];

interface UserRef {
  readonly userId: UserId;
  readonly username: Username;
}

export type UserRegisteredData = UserRef &
  UserProfile & { readonly role: UserRole; readonly passwordHash: string | null };
export type UserUpdatedData = UserRef & UserProfile;

export type UserEvent =
  | { readonly type: 'UserRegistered'; readonly data: UserRegisteredData }
  | { readonly type: 'UserUpdated'; readonly data: UserUpdatedData }
  | {
      readonly type: 'UserPasswordChanged';
      readonly data: UserRef & { readonly passwordHash: string | null };
    }
  | {
      readonly type: 'UserRoleChanged';
      readonly data: UserRef & { readonly role: UserRole; readonly previousRole: UserRole };
    }
  | { readonly type: 'UserDeleted'; readonly data: UserRef };

export type UserEventType = UserEvent['type'];

export interface User extends UserProfile {
  readonly kind: 'registered';
  readonly userId: UserId;
  readonly username: Username;
  readonly role: UserRole;
  /** Null when the user has none, or once their personal data was erased. */
  readonly passwordHash: string | null;
}

export type UserState =
  | { readonly kind: 'none' }
  | { readonly kind: 'deleted'; readonly userId: UserId; readonly username: Username }
  | User;

/** Every code the user decider throws; each is a line of the platform's error table. */
export const userErrorCodes = ['user_already_exists', 'user_not_found', 'username_immutable'] as const;
export type UserErrorCode = (typeof userErrorCodes)[number];

const fail = (code: UserErrorCode, detail: string, extra?: Record<string, unknown>) =>
  new DomainError(code, detail, extra);

const profileOf = (input: ProfileInput): UserProfile => ({
  firstName: input.firstName ?? null,
  lastName: input.lastName ?? null,
  email: input.email ?? null,
  phone: input.phone ?? null,
  userStatus: input.userStatus ?? null,
});

const sameProfile = (a: UserProfile, b: UserProfile): boolean =>
  a.firstName === b.firstName &&
  a.lastName === b.lastName &&
  a.email === b.email &&
  a.phone === b.phone &&
  a.userStatus === b.userStatus;

function registered(state: UserState, username: Username): User {
  if (state.kind !== 'registered') throw fail('user_not_found', `user ${username} does not exist`);
  return state;
}

export function decide(command: UserCommand, state: UserState): UserEvent[] {
  switch (command.type) {
    case 'RegisterUser': {
      const { userId, username } = command.data;
      if (state.kind === 'registered') throw fail('user_already_exists', `user ${username} exists`);
      return [
        {
          type: 'UserRegistered',
          data: {
            userId,
            username,
            role: command.data.role ?? 'customer',
            ...profileOf(command.data),
            passwordHash: command.data.passwordHash ?? null,
          },
        },
      ];
    }
    case 'UpdateUser': {
      const user = registered(state, command.data.username);
      const { requestedUsername } = command.data;
      if (requestedUsername !== undefined && requestedUsername !== user.username) {
        throw fail('username_immutable', `the username of ${user.username} cannot change`, {
          username: user.username,
        });
      }
      const ref = { userId: user.userId, username: user.username };
      const next = profileOf(command.data);
      const events: UserEvent[] = [];
      if (!sameProfile(user, next)) events.push({ type: 'UserUpdated', data: { ...ref, ...next } });
      const { passwordHash } = command.data;
      if (passwordHash !== undefined && passwordHash !== user.passwordHash) {
        events.push({ type: 'UserPasswordChanged', data: { ...ref, passwordHash } });
      }
      return events;
    }
    case 'ChangeUserRole': {
      const user = registered(state, command.data.username);
      const { role } = command.data;
      if (role === user.role) return [];
      return [
        {
          type: 'UserRoleChanged',
          data: { userId: user.userId, username: user.username, role, previousRole: user.role },
        },
      ];
    }
    case 'DeleteUser': {
      const user = registered(state, command.data.username);
      return [{ type: 'UserDeleted', data: { userId: user.userId, username: user.username } }];
    }
    default: {
      const unknown: never = command;
      throw new Error(`unknown command ${JSON.stringify(unknown)}`);
    }
  }
}

export function evolve(state: UserState, event: UserEvent): UserState {
  switch (event.type) {
    case 'UserRegistered': {
      const { userId, username, role, passwordHash } = event.data;
      return { kind: 'registered', userId, username, role, ...profileOf(event.data), passwordHash };
    }
    case 'UserUpdated':
      return state.kind === 'registered' ? { ...state, ...profileOf(event.data) } : state;
    case 'UserPasswordChanged':
      return state.kind === 'registered' ? { ...state, passwordHash: event.data.passwordHash } : state;
    case 'UserRoleChanged':
      return state.kind === 'registered' ? { ...state, role: event.data.role } : state;
    case 'UserDeleted':
      return { kind: 'deleted', userId: event.data.userId, username: event.data.username };
    default: {
      // An event type this build does not know yet (a newer writer): it changes nothing here.
      const _unknown: never = event;
      return state;
    }
  }
}

export const initialState = (): UserState => ({ kind: 'none' });

export const userDecider: Decider<UserCommand, UserEvent, UserState> = { decide, evolve, initialState };
