import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SignJWT, UnsecuredJWT } from 'jose';
import { isAppError } from '@optic-mart/platform';
import type { Principal } from './principal.js';
import { TokenService } from './tokens.js';

const key = randomBytes(64);
const tokens = new TokenService({ key, ttlSeconds: 3600 });
const alice: Principal = { userId: '17', username: 'alice', role: 'customer', sessionId: 's-1' };

async function refused(token: string, detail: RegExp): Promise<void> {
  await assert.rejects(tokens.verify(token), (err) => {
    assert.ok(isAppError(err));
    assert.equal(err.code, 'unauthorized');
    assert.match(err.detail, detail);
    return true;
  });
}

describe('TokenService', () => {
  it('verifies the tokens it issues, naming user, role and session', async () => {
    const { token, expiresAt } = await tokens.issue(alice);
    assert.deepEqual(await tokens.verify(token), alice);
    const inAnHour = Date.now() + 3600_000;
    assert.ok(Math.abs(expiresAt.getTime() - inAnHour) < 2000);
  });

  it('refuses an expired token', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({ name: 'alice', role: 'customer', sid: 's-1' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('17')
      .setIssuer('optic-mart')
      .setAudience('optic-mart-api')
      .setIssuedAt(now - 7200)
      .setExpirationTime(now - 3600)
      .sign(key);
    await refused(expired, /expired/);
  });

  it('refuses a token it verified before once it has expired (a remembered token is not trusted past its expiry)', async () => {
    const shortLived = new TokenService({ key, ttlSeconds: 1 });
    const { token } = await shortLived.issue(alice);
    assert.deepEqual(await shortLived.verify(token), alice);
    assert.deepEqual(await shortLived.verify(token), alice, 'again, now from memory');
    await new Promise((resolve) => setTimeout(resolve, 2100));
    await assert.rejects(shortLived.verify(token), (err) => isAppError(err) && /expired/.test(err.detail));
  });

  it('refuses a token whose claims were changed (a customer making itself admin)', async () => {
    const { token } = await tokens.issue(alice);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url');
    await refused(`${header}.${forged}.${signature}`, /not valid/);
  });

  it('refuses tokens signed with another key, unsigned ones, and garbage', async () => {
    const other = new TokenService({ key: randomBytes(64), ttlSeconds: 3600 });
    await refused((await other.issue(alice)).token, /not valid/);
    const unsigned = new UnsecuredJWT({ name: 'alice', role: 'admin', sid: 's-1' })
      .setSubject('17')
      .setIssuer('optic-mart')
      .setAudience('optic-mart-api')
      .setIssuedAt()
      .setExpirationTime('1h')
      .encode();
    await refused(unsigned, /not valid/);
    await refused('not-a-token', /not valid/);
  });

  it('refuses a token with a role it does not know', async () => {
    const now = Math.floor(Date.now() / 1000);
    const odd = await new SignJWT({ name: 'alice', role: 'root', sid: 's-1' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('17')
      .setIssuer('optic-mart')
      .setAudience('optic-mart-api')
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .sign(key);
    await refused(odd, /not valid/);
  });

  it('needs a key of at least 32 bytes', () => {
    assert.throws(() => new TokenService({ key: randomBytes(16), ttlSeconds: 60 }), /32 bytes/);
  });
});
