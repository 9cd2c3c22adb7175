// Access tokens: JWTs signed with HS256 (jose). A token names its user, role and session; the
// session must still be open for the token to count (sessions.ts), so logout takes effect at once.
import { webcrypto } from 'node:crypto';
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

/** Tokens verified recently, remembered so that a client's next request costs no signature check. */
const VERIFIED_CACHE_SIZE = 10_000;

export class TokenService {
  readonly #key: Uint8Array;
  readonly #ttlSeconds: number;
  /** The key imported once (jose would import raw bytes again on every call). */
  #cryptoKey: Promise<webcrypto.CryptoKey> | null = null;
  /**
   * Token → what it says and when it expires. The same string always verifies the same way, so
   * only the expiry is checked again; the session is checked per request all the same (sessions.ts).
   */
  readonly #verified = new Map<string, { principal: Principal; expiresAtMs: number }>();

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
      .sign(await this.#importedKey());
    return { token, expiresAt };
  }

  /** The principal a token names; 401 when it is expired, tampered with, or not one of ours. */
  async verify(token: string): Promise<Principal> {
    const known = this.#verified.get(token);
    if (known) {
      if (Date.now() < known.expiresAtMs) return known.principal;
      this.#verified.delete(token);
      throw new AppError('unauthorized', 'The access token has expired; log in again.');
    }
    return this.#verifySignature(token);
  }

  #importedKey(): Promise<webcrypto.CryptoKey> {
    this.#cryptoKey ??= webcrypto.subtle.importKey(
      'raw',
      this.#key,
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign', 'verify'],
    );
    return this.#cryptoKey;
  }

  async #verifySignature(token: string): Promise<Principal> {
    try {
      const { payload } = await jwtVerify(token, await this.#importedKey(), {
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: [ALGORITHM],
        requiredClaims: ['sub', 'exp', 'iat'],
      });
      const { sub, name, role, sid } = payload;
      if (typeof sub !== 'string' || typeof name !== 'string' || typeof sid !== 'string' || !isRole(role)) {
        throw new AppError('unauthorized', 'The access token is not valid.');
      }
      const principal: Principal = { userId: sub, username: name, role, sessionId: sid };
      if (this.#verified.size >= VERIFIED_CACHE_SIZE) {
        // Forget the oldest (a Map keeps insertion order).
        this.#verified.delete(this.#verified.keys().next().value!);
      }
      this.#verified.set(token, { principal, expiresAtMs: payload.exp! * 1000 });
      return principal;
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) {
        throw new AppError('unauthorized', 'The access token has expired; log in again.');
      }
      if (err instanceof AppError) throw err;
      throw new AppError('unauthorized', 'The access token is not valid.');
    }
  }
}
