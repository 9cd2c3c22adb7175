// For tests and benchmarks only: an access token for a made-up user of a given role, without going
// through registration and login (their own tests cover those).
import { randomInt } from 'node:crypto';
import pg from 'pg';
import type { KeyValueStore } from '@optic-mart/messaging';
import type { Auth } from './index.js';
import type { Principal, Role } from './principal.js';
import { SessionStore } from './sessions.js';
import { loadSigningKey } from './signing-key.js';
import { TokenService } from './tokens.js';

export interface TestLogin {
  readonly principal: Principal;
  readonly token: string;
  /** `{ authorization: 'Bearer …' }`, to spread into request headers. */
  readonly headers: { readonly authorization: string };
}

/** Logs a new user of `role` in on a gateway built in this process (buildGatewayApp's `auth`). */
export async function loginAs(
  auth: Auth,
  role: Role,
  userId = String(randomInt(1, 2 ** 48 - 1)),
): Promise<TestLogin> {
  const principal = await auth.sessions.open({ userId, username: `${role}-${userId}`, role });
  const { token } = await auth.tokens.issue(principal);
  return { principal, token, headers: { authorization: `Bearer ${token}` } };
}

/**
 * Logs a new user of `role` in on gateways running in other processes: the token is signed with the
 * key they keep in the database and its session opened on the key-value store they use.
 */
export async function loginOnDatabase(
  options: { databaseUrl: string; kv: KeyValueStore; jwtSecret?: string; ttlSeconds?: number },
  role: Role,
): Promise<TestLogin> {
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 1 });
  try {
    const key = await loadSigningKey(pool, options.jwtSecret);
    const ttlSeconds = options.ttlSeconds ?? 3600;
    return await loginAs(
      {
        tokens: new TokenService({ key, ttlSeconds }),
        sessions: new SessionStore(options.kv, { ttlMs: ttlSeconds * 1000 }),
      },
      role,
    );
  } finally {
    await pool.end();
  }
}
