// Login throttling (issue 5): a sliding window of attempts per username and per client address,
// kept on the key-value port so every gateway replica counts the same attempts. An attempt counts
// from before the password is checked (so parallel guesses count too) until the window passes;
// a successful login takes its own attempt back, so a user who logs in often is never throttled.
import { randomUUID } from 'node:crypto';
import type { KeyValueStore } from '@optic-mart/messaging';
import { AppError } from '@optic-mart/platform';

export interface LoginLimits {
  /** Attempts per username within the window. */
  readonly maxPerUser: number;
  /** Attempts per client address within the window. */
  readonly maxPerAddress: number;
  readonly windowMs: number;
}

/** An attempt under way: settle it once the password was checked. */
export interface LoginAttempt {
  /** The password was right: the attempt no longer counts. */
  succeeded(): Promise<void>;
}

export class LoginLimiter {
  readonly #kv: KeyValueStore;
  readonly limits: LoginLimits;

  constructor(kv: KeyValueStore, limits: LoginLimits) {
    this.#kv = kv;
    this.limits = limits;
  }

  /** How many logins an hour one username may try (the Petstore's X-Rate-Limit). */
  get perHour(): number {
    return Math.max(1, Math.floor((this.limits.maxPerUser * 3_600_000) / this.limits.windowMs));
  }

  /**
   * Counts an attempt for the username and the address; 429 too_many_requests, with Retry-After
   * set to when the next one will be taken, when either is over its limit (that refused attempt
   * does not count: it checks no password, so it teaches an attacker nothing).
   */
  async attempt(username: string, address: string): Promise<LoginAttempt> {
    const { windowMs } = this.limits;
    const member = randomUUID();
    const groups = [
      { group: `login-attempts/user/${username}`, max: this.limits.maxPerUser },
      { group: `login-attempts/address/${address}`, max: this.limits.maxPerAddress },
    ];
    const expires = Date.now() + windowMs;
    await Promise.all(
      groups.map((g) => this.#kv.setMember(g.group, member, String(expires), { ttlMs: windowMs })),
    );
    const release = () =>
      Promise.all(groups.map((g) => this.#kv.deleteMember(g.group, member))).then(() => undefined);
    let waitMs = 0;
    for (const { group, max } of groups) {
      const members = await this.#kv.members(group);
      if (members.size <= max) continue;
      // The others' expiries, oldest first: the next attempt is taken once enough have passed
      // that fewer than `max` remain.
      members.delete(member);
      const expiries = [...members.values()].map(Number).sort((a, b) => a - b);
      const freeAt = expiries[expiries.length - max] ?? Date.now() + windowMs;
      waitMs = Math.max(waitMs, freeAt - Date.now());
    }
    if (waitMs > 0) {
      await release();
      throw new AppError('too_many_requests', 'Too many login attempts; wait a moment and try again.', {
        extra: { retryAfter: Math.max(1, Math.ceil(waitMs / 1000)) },
      });
    }
    return { succeeded: release };
  }
}
