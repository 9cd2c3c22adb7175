// Authentication over real HTTP, with sessions on each key-value transport (Redis; PostgreSQL alone)
// and the signing key kept in a real database.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { connectMessaging, type Messaging } from '@optic-mart/messaging';
import { createHttpServer, createLogger, createMetricsRegistry, type HttpServer } from '@optic-mart/platform';
import { createTestDatabase, type TestDatabase } from '@optic-mart/testkit';
import { registerAuth, requireRole, type Auth } from './index.js';

const transports = [
  { name: 'Redis', redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
  { name: 'PostgreSQL alone', redisUrl: undefined },
];

for (const transport of transports) {
  describe(`authentication with sessions on ${transport.name}`, () => {
    let db: TestDatabase;
    let pool: pg.Pool;
    let messaging: Messaging;
    let app: HttpServer;
    let auth: Auth;
    let base: string;

    const build = async (): Promise<{ app: HttpServer; auth: Auth }> => {
      const server = createHttpServer({
        logger: createLogger({ name: 'auth-test', level: 'silent' }),
        metrics: createMetricsRegistry({ service: 'auth-test' }),
      });
      const built = await registerAuth(server, {
        pool,
        kv: messaging.kv,
        jwtSecret: undefined,
        tokenTtlSeconds: 600,
      });
      server.get('/whoami', async (request) => ({ principal: request.principal }));
      server.get('/catalog-admin', async (request) => requireRole(request, 'seller'));
      return { app: server, auth: built };
    };

    const get = (path: string, headers: Record<string, string> = {}) => fetch(`${base}${path}`, { headers });
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
    const login = async (role: 'customer' | 'seller' | 'admin', userId = '7') => {
      const principal = await auth.sessions.open({ userId, username: `user${userId}`, role });
      return { principal, token: (await auth.tokens.issue(principal)).token };
    };

    before(async () => {
      db = await createTestDatabase('auth');
      pool = new pg.Pool({ connectionString: db.url, max: 3 });
      messaging = await connectMessaging({
        databaseUrl: db.url,
        prefix: `t${randomUUID().slice(0, 8)}`,
        ...(transport.redisUrl ? { redisUrl: transport.redisUrl } : {}),
      });
      ({ app, auth } = await build());
      base = await app.listen({ host: '127.0.0.1', port: 0 });
    });

    after(async () => {
      await app.close();
      await messaging.close();
      await pool.end();
      await db.drop();
    });

    it('leaves a request without credentials anonymous', async () => {
      const res = await get('/whoami');
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { principal: null });
    });

    it('knows the user of a bearer token, and of the same token in the Petstore api_key header', async () => {
      const { principal, token } = await login('customer');
      for (const headers of [bearer(token), { api_key: token }]) {
        const res = await get('/whoami', headers);
        assert.equal(res.status, 200);
        assert.deepEqual(await res.json(), { principal });
      }
    });

    it('answers 401 problem+json with WWW-Authenticate to a tampered, foreign or malformed credential', async () => {
      const { token } = await login('customer');
      const tampered = `${token.slice(0, -3)}${token.endsWith('AAA') ? 'BBB' : 'AAA'}`;
      for (const headers of [
        bearer(tampered),
        bearer('x.y.z'),
        { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
        { authorization: 'Bearer' },
        { api_key: '' },
      ]) {
        const res = await get('/whoami', headers);
        assert.equal(res.status, 401, JSON.stringify(headers));
        assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
        assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer /);
        const problem = (await res.json()) as { code: string };
        assert.equal(problem.code, 'unauthorized');
      }
    });

    it('stops accepting a token once its session is closed (logout), on every replica', async () => {
      const other = await build();
      const otherBase = await other.app.listen({ host: '127.0.0.1', port: 0 });
      try {
        const { principal, token } = await login('customer', '8');
        assert.equal((await fetch(`${otherBase}/whoami`, { headers: bearer(token) })).status, 200);
        await auth.sessions.close(principal);
        assert.equal((await get('/whoami', bearer(token))).status, 401);
        // The second replica read the same signing key from the database, and sees the logout too.
        assert.equal((await fetch(`${otherBase}/whoami`, { headers: bearer(token) })).status, 401);
      } finally {
        await other.app.close();
      }
    });

    it('closes every session of a user at once (deletion, role change)', async () => {
      const first = await login('seller', '9');
      const second = await login('seller', '9');
      const unrelated = await login('seller', '10');
      assert.equal(await auth.sessions.closeAll('9'), 2);
      assert.equal((await get('/whoami', bearer(first.token))).status, 401);
      assert.equal((await get('/whoami', bearer(second.token))).status, 401);
      assert.equal((await get('/whoami', bearer(unrelated.token))).status, 200);
    });

    it('applies the policy on top: anonymous 401, customer 403, seller and admin through', async () => {
      assert.equal((await get('/catalog-admin')).status, 401);
      assert.equal((await get('/catalog-admin', bearer((await login('customer', '11')).token))).status, 403);
      assert.equal((await get('/catalog-admin', bearer((await login('seller', '12')).token))).status, 200);
      assert.equal((await get('/catalog-admin', bearer((await login('admin', '13')).token))).status, 200);
    });
  });
}
