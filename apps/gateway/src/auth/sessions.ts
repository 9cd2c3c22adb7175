// Sessions on the key-value port (Redis, or PostgreSQL without it): a login opens one, logout
// closes it, deleting a user or changing their role closes all of theirs. A token counts only while
// its session is open, on every gateway replica at once.
import { randomUUID } from 'node:crypto';
import type { KeyValueStore } from '@optic-mart/messaging';
import type { Principal } from './principal.js';

const group = (userId: string): string => `sessions/${userId}`;

export class SessionStore {
  readonly #kv: KeyValueStore;
  readonly #ttlMs: number;

  /** `ttlMs`: how long a session lasts (the tokens' lifetime). */
  constructor(kv: KeyValueStore, options: { ttlMs: number }) {
    this.#kv = kv;
    this.#ttlMs = options.ttlMs;
  }

  /** Opens a session for the user; the principal to issue a token for. */
  async open(user: Omit<Principal, 'sessionId'>): Promise<Principal> {
    const sessionId = randomUUID();
    await this.#kv.setMember(
      group(user.userId),
      sessionId,
      JSON.stringify({ role: user.role, openedAt: new Date().toISOString() }),
      { ttlMs: this.#ttlMs },
    );
    return { ...user, sessionId };
  }

  async isOpen(principal: Principal): Promise<boolean> {
    return (await this.#kv.members(group(principal.userId))).has(principal.sessionId);
  }

  async close(principal: Principal): Promise<void> {
    await this.#kv.deleteMember(group(principal.userId), principal.sessionId);
  }

  /** Closes every session of the user: their tokens stop working everywhere. */
  async closeAll(userId: string): Promise<number> {
    const open = await this.#kv.members(group(userId));
    await Promise.all([...open.keys()].map((sid) => this.#kv.deleteMember(group(userId), sid)));
    return open.size;
  }
}
