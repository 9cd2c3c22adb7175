// Access tokens: JWTs signed with HS256 (jose). A token names its user, role and session; the
// session must still be open for the token to count (sessions.ts), so logout takes effect at once.
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import { AppError } from '@optic-mart/platform';
import { roles, type Principal, type Role } from './principal.js';

const ISSUER = 'optic-mart';
const AUDIENCE = 'optic-mart-api';
const ALGORITHM = 'HS256';

export interface IssuedToken {
  readonly token: string;
  /** When the token stops working (it may stop earlier: logout closes its session). */
  readonly expiresAt: Date;
}

const isRole = (value: unknown): value is Role => roles.includes(value as Role);

export class TokenService {
  readonly #key: Uint8Array;
  readonly #ttlSeconds: number;

  /** `key`: at least 32 bytes, the same for every gateway replica. */
  constructor(options: { key: Uint8Array; ttlSeconds: number }) {
    if (options.key.length < 32) throw new Error('the token signing key needs at least 32 bytes');
    this.#key = options.key;
    this.#ttlSeconds = options.ttlSeconds;
  }

  get ttlSeconds(): number {
    return this.#ttlSeconds;
  }

  async issue(principal: Principal): Promise<IssuedToken> {
    const now = Math.floor(Date.now() / 1000);
    const expiresAt = new Date((now + this.#ttlSeconds) * 1000);
    const token = await new SignJWT({
      name: principal.username,
      role: principal.role,
      sid: principal.sessionId,
    })
      .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
      .setSubject(principal.userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(now + this.#ttlSeconds)
      .sign(this.#key);
    return { token, expiresAt };
  }

  /** The principal a token names; 401 when it is expired, tampered with, or not one of ours. */
  async verify(token: string): Promise<Principal> {
    try {
      const { payload } = await jwtVerify(token, this.#key, {
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: [ALGORITHM],
        requiredClaims: ['sub', 'exp', 'iat'],
      });
      const { sub, name, role, sid } = payload;
      if (typeof sub !== 'string' || typeof name !== 'string' || typeof sid !== 'string' || !isRole(role)) {
        throw new AppError('unauthorized', 'The access token is not valid.');
      }
      return { userId: sub, username: name, role, sessionId: sid };
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) {
        throw new AppError('unauthorized', 'The access token has expired; log in again.');
      }
      if (err instanceof AppError) throw err;
      throw new AppError('unauthorized', 'The access token is not valid.');
    }
  }
}
