// Authentication and authorization at the gateway: who is asking (authenticate.ts, tokens.ts,
// sessions.ts) and what they may do (policy.ts).
import type pg from 'pg';
import type { KeyValueStore } from '@optic-mart/messaging';
import type { HttpServer } from '@optic-mart/platform';
import { registerAuthentication } from './authenticate.js';
import { SessionStore } from './sessions.js';
import { loadSigningKey } from './signing-key.js';
import { TokenService } from './tokens.js';

export { mayAct, onlyRoles, requireRole, requireUser } from './policy.js';
export { roles, type Principal, type Role } from './principal.js';
export { SessionStore } from './sessions.js';
export { TokenService, type IssuedToken } from './tokens.js';

export interface Auth {
  readonly tokens: TokenService;
  readonly sessions: SessionStore;
}

/** Sets up tokens and sessions and authenticates every request of `app`. */
export async function registerAuth(
  app: HttpServer,
  options: { pool: pg.Pool; kv: KeyValueStore; jwtSecret: string | undefined; tokenTtlSeconds: number },
): Promise<Auth> {
  const key = await loadSigningKey(options.pool, options.jwtSecret);
  const tokens = new TokenService({ key, ttlSeconds: options.tokenTtlSeconds });
  const sessions = new SessionStore(options.kv, { ttlMs: options.tokenTtlSeconds * 1000 });
  registerAuthentication(app, { tokens, sessions });
  return { tokens, sessions };
}
