// What the identity routes (native and Petstore) share: users read straight from the event store
// (a login, and a user reading their own profile right after changing it, must see the latest),
// commands sent to the identity workers, and sessions and tokens from ../auth.
import { randomInt } from 'node:crypto';
import type { EventStore } from '@optic-mart/eventstore';
import { AppError, isErrorCode, type Logger } from '@optic-mart/platform';
import {
  initialUserState,
  isUsername,
  userDecider,
  userStreamId,
  type ProfileInput,
  type User,
  type UserEvent,
  type UserProfile,
  type UserRole,
  type UserState,
} from '@optic-mart/identity';
import type { Auth, Principal } from '../auth/index.js';
import type { CommandDispatcher, Outcome } from '@optic-mart/messaging';
import type { LoginLimiter } from './login-limiter.js';
import { hashPassword, verifyPassword } from './passwords.js';

const CONTEXT = 'identity';

/** Names the native API keeps for itself (`/api/users/me`). */
const reservedUsernames = new Set(['me']);

/** A user as the API shows it: never the password or its hash. */
export interface UserDto extends UserProfile {
  readonly id: string;
  readonly username: string;
  readonly role: UserRole;
  /** The user stream's version (the ETag). */
  readonly version: number;
}

export interface FoundUser {
  readonly user: User;
  readonly version: number;
}

/** The profile and credentials a client sends to register or update a user. */
export interface UserInput extends ProfileInput {
  readonly username?: string;
  readonly password?: string;
}

export interface LoggedIn {
  readonly principal: Principal;
  readonly token: string;
  readonly expiresAt: Date;
}

/** A new user's id: a random integer (the Petstore's ids are integers), as text. */
export const newUserId = (): string => String(randomInt(1, 2 ** 48 - 1));

export const toUserDto = ({ user, version }: FoundUser): UserDto => ({
  id: user.userId,
  username: user.username,
  role: user.role,
  firstName: user.firstName,
  lastName: user.lastName,
  email: user.email,
  phone: user.phone,
  userStatus: user.userStatus,
  version,
});

const profileOf = (input: ProfileInput): ProfileInput =>
  Object.fromEntries(
    (['firstName', 'lastName', 'email', 'phone', 'userStatus'] as const)
      .filter((k) => input[k] !== undefined && input[k] !== null)
      .map((k) => [k, input[k]]),
  );

/** A command's outcome, or its refusal thrown as the AppError it names. */
export function settled(outcome: Outcome): Outcome {
  if (outcome.kind === 'completed' && outcome.status.status === 'failed') {
    const { error } = outcome.status;
    const code = isErrorCode(error.code) ? error.code : 'internal';
    throw new AppError(code, error.detail, error.extra ? { extra: error.extra } : {});
  }
  return outcome;
}

/** How many events a completed command appended (0 for a pending one). */
const eventsOf = (outcome: Outcome): number =>
  outcome.kind === 'completed' && outcome.status.status === 'succeeded'
    ? Number((outcome.status.result as { events?: number }).events ?? 0)
    : 0;

export interface IdentityServiceOptions {
  readonly store: EventStore;
  readonly dispatcher: CommandDispatcher;
  readonly auth: Auth;
  readonly limiter: LoginLimiter;
  readonly logger: Logger;
}

export class IdentityService {
  readonly #store: EventStore;
  readonly #dispatcher: CommandDispatcher;
  readonly #auth: Auth;
  readonly limiter: LoginLimiter;
  readonly #logger: Logger;

  constructor(options: IdentityServiceOptions) {
    this.#store = options.store;
    this.#dispatcher = options.dispatcher;
    this.#auth = options.auth;
    this.limiter = options.limiter;
    this.#logger = options.logger;
  }

  get tokens() {
    return this.#auth.tokens;
  }

  /** The user's state and stream version, from the event store. */
  async load(username: string): Promise<{ state: UserState; version: number }> {
    const { state, version } = await this.#store.aggregate<UserState>(userStreamId(username), {
      initialState: initialUserState,
      evolve: (s, e) => userDecider.evolve(s, { type: e.type, data: e.data } as UserEvent),
    });
    return { state, version };
  }

  /** The registered user of that name, or null (also for a name that cannot be one). */
  async find(username: string): Promise<FoundUser | null> {
    if (!isUsername(username)) return null;
    const { state, version } = await this.load(username);
    return state.kind === 'registered' ? { user: state, version } : null;
  }

  /**
   * The user, when `principal` may see them: themselves, or anyone for an admin. Anybody else's
   * account answers 404 exactly like a missing one, so nobody learns which usernames exist.
   */
  async visible(principal: Principal, username: string): Promise<FoundUser> {
    const self = principal.username === username;
    if (!self && principal.role !== 'admin') throw notFound(username);
    const found = await this.find(username);
    if (found === null || (self && principal.role !== 'admin' && found.user.userId !== principal.userId)) {
      throw notFound(username);
    }
    return found;
  }

  /**
   * Registers a user: a customer, unless an admin asks for another role. The password is hashed
   * here; the command carries the hash. Refused with 409 user_already_exists for a taken name.
   */
  async register(
    actor: Principal | null,
    input: UserInput & { readonly username: string; readonly role?: UserRole },
    correlationId: string,
  ): Promise<{ userId: string; outcome: Outcome }> {
    const role = input.role ?? 'customer';
    if (role !== 'customer') {
      if (actor === null)
        throw new AppError('unauthorized', `Only an admin may register a ${role}; log in first.`);
      if (actor.role !== 'admin') throw new AppError('forbidden', `Only an admin may register a ${role}.`);
    }
    if (reservedUsernames.has(input.username)) {
      throw new AppError('validation_failed', `The username ${input.username} is reserved.`, {
        errors: [{ field: 'body.username', message: 'is reserved' }],
      });
    }
    return this.#register(actor, { ...input, role }, correlationId);
  }

  /**
   * Registers the first admin (bootstrap.ts): only while the stream `user-<username>` does not
   * exist at all, so replicas starting together, and later starts, register it once; a refusal
   * (version_mismatch, user_already_exists) means it exists.
   */
  async registerFirstAdmin(
    username: string,
    password: string,
    correlationId: string,
  ): Promise<{ userId: string; outcome: Outcome }> {
    return this.#register(null, { username, password, role: 'admin' }, correlationId, 0);
  }

  async #register(
    actor: Principal | null,
    input: UserInput & { readonly username: string; readonly role: UserRole },
    correlationId: string,
    expectedVersion?: number,
  ): Promise<{ userId: string; outcome: Outcome }> {
    const userId = newUserId();
    const data = {
      userId,
      role: input.role,
      ...profileOf(input),
      ...(input.password !== undefined && { passwordHash: await hashPassword(input.password) }),
    };
    const outcome = await this.#dispatcher.dispatch({
      context: CONTEXT,
      type: 'RegisterUser',
      aggregateId: userStreamId(input.username),
      data,
      ...(expectedVersion !== undefined && { expectedVersion }),
      // The new user is the one the events are about (and who asked, unless an admin did).
      metadata: { correlationId, userId: actor?.userId ?? userId },
    });
    return { userId, outcome: settled(outcome) };
  }

  /**
   * Replaces a user's profile (self or admin); a password, when given and different, is stored as
   * a new hash. The username may be repeated in the body but never changed (400).
   */
  async update(
    actor: Principal,
    username: string,
    input: UserInput,
    correlationId: string,
    expectedVersion?: number,
  ): Promise<Outcome> {
    const { user } = await this.visible(actor, username);
    let passwordHash: string | undefined;
    // The same password again changes nothing (a Petstore PUT sends the whole user each time).
    if (input.password !== undefined && !(await verifyPassword(user.passwordHash, input.password))) {
      passwordHash = await hashPassword(input.password);
    }
    const data = {
      ...profileOf(input),
      ...(input.username !== undefined && { username: input.username }),
      ...(passwordHash !== undefined && { passwordHash }),
    };
    return settled(await this.#send('UpdateUser', username, data, actor, correlationId, expectedVersion));
  }

  /** An admin changes a user's role; the user's sessions end, so their tokens' role is never stale. */
  async changeRole(
    actor: Principal,
    username: string,
    role: UserRole,
    correlationId: string,
  ): Promise<Outcome> {
    const { user } = await this.visible(actor, username);
    const outcome = settled(await this.#send('ChangeUserRole', username, { role }, actor, correlationId));
    if (outcome.kind === 'pending' || eventsOf(outcome) > 0) await this.#auth.sessions.closeAll(user.userId);
    return outcome;
  }

  /**
   * Deletes a user (self or admin): their sessions end, their personal data is erased from the
   * event store (crypto-shredding: names, email, phone and password hash read as null from then
   * on, everywhere), then the UserDeleted event is appended. Erasing first means that once this
   * answers, even 202, nothing personal is readable, and a retry after a failure erases again.
   */
  async remove(actor: Principal, username: string, correlationId: string): Promise<Outcome> {
    const { user } = await this.visible(actor, username);
    await this.#auth.sessions.closeAll(user.userId);
    const erased = await this.#store.eraseSubject(user.userId);
    this.#logger.info(
      { userId: user.userId, events: erased.events },
      'personal data of a deleted user erased',
    );
    return settled(await this.#send('DeleteUser', username, {}, actor, correlationId));
  }

  /**
   * Checks a username and password; a session and its token when they match, null when not. An
   * unknown user and a wrong password cost the same (see passwords.ts) and answer the same. 429
   * when the username or the address is over its login limit.
   */
  async login(username: string, password: string, address: string): Promise<LoggedIn | null> {
    const attempt = await this.limiter.attempt(username, address);
    const found = await this.find(username);
    const ok = await verifyPassword(found?.user.passwordHash ?? null, password);
    if (!ok || found === null) return null;
    await attempt.succeeded();
    const { userId, role } = found.user;
    const principal = await this.#auth.sessions.open({ userId, username: found.user.username, role });
    const { token, expiresAt } = await this.#auth.tokens.issue(principal);
    return { principal, token, expiresAt };
  }

  /** Ends the principal's session: its tokens stop working on every replica. */
  async logout(principal: Principal): Promise<void> {
    await this.#auth.sessions.close(principal);
  }

  /** Sends a user command to the identity workers and waits (a bounded time) for its outcome. */
  #send(
    type: string,
    username: string,
    data: Record<string, unknown>,
    actor: Principal | null,
    correlationId: string,
    expectedVersion?: number,
  ): Promise<Outcome> {
    return this.#dispatcher.dispatch({
      context: CONTEXT,
      type,
      aggregateId: userStreamId(username),
      data,
      ...(expectedVersion !== undefined && { expectedVersion }),
      metadata: { correlationId, ...(actor !== null && { userId: actor.userId }) },
    });
  }
}

export const notFound = (username: string): AppError =>
  new AppError('user_not_found', `There is no user ${username}.`);
