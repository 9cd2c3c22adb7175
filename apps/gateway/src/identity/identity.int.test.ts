// Users and sessions end to end: gateway → command queue → identity worker → event store, on a real
// PostgreSQL (messaging on PostgreSQL alone), with the users projection kept by an in-process
// projector. Also the Petstore user operations, through the gateway's /api/v3 adapter.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { EventStore } from '@optic-mart/eventstore';
import { connectMessaging, type Messaging } from '@optic-mart/messaging';
import { createLogger, createMetricsRegistry, type HttpServer } from '@optic-mart/platform';
import { startProjector, type Projector } from '@optic-mart/runtime';
import { usersProjection } from '@optic-mart/identity';
import { createTestDatabase, sleep, type TestDatabase } from '@optic-mart/testkit';
import { start as startWorker } from '../../../worker/src/main.js';
import { buildGatewayApp } from '../app.js';
import { loadGatewayConfig } from '../config.js';
import { loadSigningKey } from '../auth/signing-key.js';
import { TokenService } from '../auth/tokens.js';
import { createResponseValidator } from '../petstore/contract.js';
import type { Identity } from './index.js';

const ADMIN = { username: 'root', password: 'correct horse battery staple' };
const PETSTORE = '/api/v3';

type Built = Awaited<ReturnType<typeof buildGatewayApp>>;

describe('identity: users and sessions', () => {
  let db: TestDatabase;
  let messaging: Messaging;
  let gateway: Built;
  let app: HttpServer;
  let identity: Identity;
  let worker: { stop(): Promise<void> } | null = null;
  let projectorStore: EventStore;
  let projector: Projector;
  let env: Record<string, string>;
  const others: Built[] = [];
  const logger = createLogger({ name: 'identity-test', level: 'silent' });

  const build = async (extra: Record<string, string> = {}): Promise<Built> => {
    const built = await buildGatewayApp({
      config: loadGatewayConfig({ ...env, LOG_LEVEL: 'silent', GATEWAY_REPLY_TIMEOUT_MS: '5000', ...extra }),
      messaging,
      logger,
      metrics: createMetricsRegistry({ service: `identity-test-${randomUUID()}` }),
    });
    return built;
  };

  before(async () => {
    db = await createTestDatabase('identity');
    env = { DATABASE_URL: db.url, MESSAGING_PREFIX: `t${randomUUID().slice(0, 8)}` };
    messaging = await connectMessaging({ databaseUrl: db.url, prefix: env.MESSAGING_PREFIX! });
    // No identity worker yet: the admin bootstrap has to wait for one.
    gateway = await build({
      ADMIN_USERNAME: ADMIN.username,
      ADMIN_PASSWORD: ADMIN.password,
      LOGIN_MAX_ATTEMPTS_PER_ADDRESS: '1000',
      LOGIN_MAX_ATTEMPTS_PER_USER: '1000',
    });
    ({ app, identity } = gateway);
    await app.ready();
    projectorStore = new EventStore({ connectionString: db.url, poolSize: 3, sweepIntervalMs: 0 });
    projector = await startProjector({
      store: projectorStore,
      connectionString: db.url,
      projections: [usersProjection],
      kv: messaging.kv,
      logger,
      contendEveryMs: 200,
    });
  });

  after(async () => {
    for (const other of others) await other.app.close();
    await projector?.stop();
    await projectorStore?.close();
    await worker?.stop();
    await app?.close();
    await messaging?.close();
    await db?.drop();
  });

  const call = async (
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    url: string,
    options: {
      body?: unknown;
      token?: string;
      headers?: Record<string, string>;
      on?: HttpServer;
      remoteAddress?: string;
    } = {},
  ) => {
    const res = await (options.on ?? app).inject({
      method,
      url,
      ...(options.remoteAddress !== undefined && { remoteAddress: options.remoteAddress }),
      headers: {
        ...(options.token !== undefined && { authorization: `Bearer ${options.token}` }),
        ...options.headers,
      },
      ...(options.body !== undefined && { payload: options.body as Record<string, unknown> }),
    });
    return {
      status: res.statusCode,
      headers: res.headers,
      text: res.body,
      json: () => res.json<Record<string, unknown>>(),
    };
  };

  const register = async (
    username: string,
    password = 'pass-word-1',
    extra: Record<string, unknown> = {},
  ) => {
    const res = await call('POST', '/api/users', { body: { username, password, ...extra } });
    assert.equal(res.status, 201, res.text);
    return res.json();
  };

  const login = async (username: string, password = 'pass-word-1', on?: HttpServer) => {
    // Logins on `on` (the throttled gateway) come from an address of their own.
    const res = await call('POST', '/api/sessions', {
      body: { username, password },
      ...(on && { on, remoteAddress: '10.0.0.7' }),
    });
    return { status: res.status, body: res.json(), headers: res.headers };
  };

  const tokenOf = async (username: string, password = 'pass-word-1') => {
    const res = await login(username, password);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.token as string;
  };

  it('creates the admin from ADMIN_USERNAME / ADMIN_PASSWORD once an identity worker is live, once', async () => {
    // Nothing yet: the bootstrap keeps trying while no worker serves identity.
    await sleep(300);
    assert.equal((await identity.service.load(ADMIN.username)).version, 0);
    worker = await startWorker({ ...env, LOG_LEVEL: 'silent', WORKER_HEARTBEAT_MS: '1000' }, [
      '--context',
      'identity',
    ]);
    assert.equal(await identity.adminReady, 'created');

    // A second replica starting (or a restart) finds it and creates nothing.
    const replica = await build({ ADMIN_USERNAME: ADMIN.username, ADMIN_PASSWORD: 'another password!' });
    others.push(replica);
    await replica.app.ready();
    assert.equal(await replica.identity.adminReady, 'exists');
    const events = await gateway.store.readStream(`user-${ADMIN.username}`);
    assert.deepEqual(
      events.map((e) => e.type),
      ['UserRegistered'],
    );

    const session = await login(ADMIN.username, ADMIN.password);
    assert.equal(session.status, 201);
    assert.equal((session.body.user as { role: string }).role, 'admin');
    assert.equal((await login(ADMIN.username, 'another password!')).status, 401);
  });

  it('registers, logs in, shows the user themselves, and logs out', async () => {
    const created = await register('alice', 'alice-secret', {
      firstName: 'Alice',
      email: 'alice@example.com',
      phone: '+44 20 7946 0000',
    });
    assert.match(String(created.id), /^[1-9][0-9]*$/);
    assert.equal(created.role, 'customer');
    assert.equal(created.version, 1);

    const session = await login('alice', 'alice-secret');
    assert.equal(session.status, 201);
    assert.equal(session.headers['cache-control'], 'no-store');
    const token = session.body.token as string;
    assert.ok(Date.parse(String(session.body.expiresAt)) > Date.now());

    const me = await call('GET', '/api/users/me', { token });
    assert.equal(me.status, 200);
    const body = me.json();
    assert.equal(body.id, created.id);
    assert.equal(body.username, 'alice');
    assert.equal(body.email, 'alice@example.com');
    assert.equal(body.role, 'customer');
    assert.doesNotMatch(me.text, /password|argon2|alice-secret/i);

    assert.equal((await call('GET', '/api/users/alice', { token })).status, 200);
    const out = await call('DELETE', '/api/sessions/current', { token });
    assert.equal(out.status, 204);
    const after = await call('GET', '/api/users/me', { token });
    assert.equal(after.status, 401);
    assert.equal(after.json().code, 'unauthorized');
  });

  it('never keeps a login for an Idempotency-Key: the token is not written to the key-value store', async () => {
    await register('idem-user', 'idem-secret');
    const again = async () =>
      call('POST', '/api/sessions', {
        body: { username: 'idem-user', password: 'idem-secret' },
        headers: { 'idempotency-key': 'login-idem-user' },
      });
    const first = await again();
    const second = await again();
    assert.equal(first.status, 201);
    assert.equal(second.status, 201);
    assert.equal(second.headers['idempotent-replayed'], undefined);
    assert.notEqual(first.json().token, second.json().token);
  });

  it('refuses bad registrations: 400 naming the field, 409 for a taken name, 403 for a role', async () => {
    const bad = await call('POST', '/api/users', {
      body: { username: "bob'; DROP TABLE users;--", password: 'short', role: 'emperor', extra: 1 },
    });
    assert.equal(bad.status, 400);
    const fields = (bad.json().errors as { field: string }[]).map((e) => e.field).join(' ');
    for (const field of ['username', 'password', 'role', 'extra']) assert.match(fields, new RegExp(field));

    await register('bob');
    const again = await call('POST', '/api/users', { body: { username: 'bob', password: 'other-password' } });
    assert.equal(again.status, 409);
    assert.equal(again.json().code, 'user_already_exists');

    const seller = await call('POST', '/api/users', {
      body: { username: 'sneaky', password: 'pass-word-1', role: 'seller' },
    });
    assert.equal(seller.status, 401);
    const asCustomer = await call('POST', '/api/users', {
      body: { username: 'sneaky', password: 'pass-word-1', role: 'admin' },
      token: await tokenOf('bob'),
    });
    assert.equal(asCustomer.status, 403);
    const asAdmin = await call('POST', '/api/users', {
      body: { username: 'sam-the-seller', password: 'pass-word-1', role: 'seller' },
      token: await tokenOf(ADMIN.username, ADMIN.password),
    });
    assert.equal(asAdmin.status, 201);
    assert.equal(asAdmin.json().role, 'seller');
    const reserved = await call('POST', '/api/users', { body: { username: 'me', password: 'pass-word-1' } });
    assert.equal(reserved.status, 400);
  });

  it('answers a wrong password and an unknown user with the same 401', async () => {
    await register('carol');
    const wrong = await login('carol', 'not-her-password');
    const unknown = await login('nobody-at-all', 'not-her-password');
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    assert.deepEqual({ ...wrong.body, instance: null }, { ...unknown.body, instance: null });
    const malformed = await login("' OR 1=1 --", 'x');
    assert.equal(malformed.status, 401);
  });

  it('refuses an expired token and a tampered one with 401', async () => {
    await register('dave');
    const token = await tokenOf('dave');
    assert.equal((await call('GET', '/api/users/me', { token })).status, 200);

    // Signed with the gateway's own key, its session open: only the expiry is wrong.
    const principal = await gateway.auth.sessions.open({
      userId: (await identity.service.find('dave'))!.user.userId,
      username: 'dave',
      role: 'customer',
    });
    const stale = new TokenService({
      key: await loadSigningKey(gateway.store.pool, undefined),
      ttlSeconds: -120,
    });
    const expired = (await stale.issue(principal)).token;
    const res = await call('GET', '/api/users/me', { token: expired });
    assert.equal(res.status, 401);
    assert.match(String(res.json().detail), /expired/);

    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url');
    const tampered = await call('GET', '/api/users', { token: `${header}.${forged}.${signature}` });
    assert.equal(tampered.status, 401);
    const flipped = signature.slice(0, -2) + (signature.endsWith('AA') ? 'BB' : 'AA');
    assert.equal(
      (await call('GET', '/api/users/me', { token: `${header}.${payload}.${flipped}` })).status,
      401,
    );
    const viaApiKey = await call('GET', '/api/users/me', {
      headers: { api_key: `${header}.${forged}.${signature}` },
    });
    assert.equal(viaApiKey.status, 401);
  });

  it('rate-limits logins per username and per address: 429 with Retry-After, then OK after the window', async () => {
    const limited = await build({
      LOGIN_MAX_ATTEMPTS_PER_USER: '2',
      LOGIN_MAX_ATTEMPTS_PER_ADDRESS: '3',
      LOGIN_WINDOW_MS: '1500',
    });
    others.push(limited);
    await register('erin', 'erins-password');
    const on = limited.app;
    assert.equal((await login('erin', 'guess-1', on)).status, 401);
    assert.equal((await login('erin', 'guess-2', on)).status, 401);
    const blocked = await login('erin', 'erins-password', on);
    assert.equal(blocked.status, 429, 'even the right password waits: the window is full');
    assert.equal(blocked.body.code, 'too_many_requests');
    const retryAfter = Number(blocked.headers['retry-after']);
    assert.ok(retryAfter >= 1 && retryAfter <= 2, `Retry-After ${retryAfter}`);

    // The address: its third failure is allowed (a refused attempt does not count), the fourth not.
    assert.equal((await login('someone-else', 'guess', on)).status, 401);
    const perAddress = await login('yet-another', 'guess', on);
    assert.equal(perAddress.status, 429);

    await sleep(1600);
    const ok = await login('erin', 'erins-password', on);
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    // A successful login takes its attempt back: logging in often is never throttled.
    for (let i = 0; i < 3; i++) assert.equal((await login('erin', 'erins-password', on)).status, 201);
  });

  it("hides other users: a customer asking for another's account gets 404, an admin sees it", async () => {
    await register('frank');
    await register('grace', 'pass-word-1', { email: 'grace@example.com' });
    const frank = await tokenOf('frank');
    for (const [method, body] of [
      ['GET', undefined],
      ['PUT', { firstName: 'Mallory' }],
      ['DELETE', undefined],
    ] as const) {
      const res = await call(method, '/api/users/grace', { token: frank, ...(body && { body }) });
      assert.equal(res.status, 404, `${method}: ${res.text}`);
      assert.equal(res.json().code, 'user_not_found');
      assert.equal(res.text.includes('grace@example.com'), false);
    }
    // Exactly like a user who does not exist.
    assert.equal((await call('GET', '/api/users/nobody-here', { token: frank })).status, 404);
    assert.equal((await call('GET', '/api/users/grace')).status, 401);
    const admin = await tokenOf(ADMIN.username, ADMIN.password);
    const seen = await call('GET', '/api/users/grace', { token: admin });
    assert.equal(seen.status, 200);
    assert.equal(seen.json().email, 'grace@example.com');
    assert.equal((await call('GET', '/api/users', { token: frank })).status, 403);
  });

  it('updates the profile and the password, and refuses to change the username', async () => {
    await register('heidi', 'old-password');
    const token = await tokenOf('heidi', 'old-password');
    const renamed = await call('PUT', '/api/users/heidi', {
      token,
      body: { username: 'ivan', firstName: 'H' },
    });
    assert.equal(renamed.status, 400);
    assert.equal(renamed.json().code, 'username_immutable');

    const same = await call('PUT', '/api/users/heidi', {
      token,
      body: { username: 'heidi', lastName: 'Hopper', password: 'new-password' },
    });
    assert.equal(same.status, 200, same.text);
    assert.equal(same.json().version, 3, 'UserUpdated and UserPasswordChanged');
    const me = (await call('GET', '/api/users/me', { token })).json();
    assert.equal(me.lastName, 'Hopper');
    assert.equal(me.firstName, null);
    assert.equal((await login('heidi', 'old-password')).status, 401);
    assert.equal((await login('heidi', 'new-password')).status, 201);
    // The same password again changes nothing.
    const again = await call('PUT', '/api/users/heidi', {
      token,
      body: { lastName: 'Hopper', password: 'new-password' },
    });
    assert.equal(again.json().version, 3);
  });

  it("lets an admin change a role and list users by role; the user's sessions end", async () => {
    await register('judy');
    const judy = await tokenOf('judy');
    const admin = await tokenOf(ADMIN.username, ADMIN.password);
    const byCustomer = await call('PUT', '/api/users/judy/role', { token: judy, body: { role: 'admin' } });
    assert.equal(byCustomer.status, 403);
    const changed = await call('PUT', '/api/users/judy/role', { token: admin, body: { role: 'seller' } });
    assert.equal(changed.status, 200, changed.text);
    assert.equal((await call('GET', '/api/users/me', { token: judy })).status, 401, 'her old token is dead');
    const again = await login('judy');
    assert.equal((again.body.user as { role: string }).role, 'seller');

    const position = changed.json().position as number;
    const sellers = await call('GET', `/api/users?role=seller&after=${position}&limit=50`, { token: admin });
    assert.equal(sellers.status, 200, sellers.text);
    const items = sellers.json().items as { username: string; role: string }[];
    assert.ok(items.some((u) => u.username === 'judy'));
    assert.ok(items.every((u) => u.role === 'seller'));
    assert.doesNotMatch(sellers.text, /argon2|password/i);
    const badQuery = await call('GET', '/api/users?role=king&limit=0', { token: admin });
    assert.equal(badQuery.status, 400);
  });

  it('deletes a user: sessions end, personal data is erased from the event store, the name is free', async () => {
    const created = await register('kate', 'kates-password', {
      firstName: 'Katherine',
      lastName: 'Johnson',
      email: 'kate@example.com',
      phone: '555-0100',
    });
    const token = await tokenOf('kate', 'kates-password');
    const streamId = 'user-kate';
    const raw = async () =>
      (
        await gateway.store.pool.query<{ data: unknown }>(
          'SELECT data FROM eventstore.events WHERE stream_id = $1 ORDER BY version',
          [streamId],
        )
      ).rows;
    // Stored encrypted from the start: the log never held it in clear.
    assert.doesNotMatch(JSON.stringify(await raw()), /kate@example.com|Katherine|555-0100|argon2/);
    // The admin list shows her before the delete.
    const admin = await tokenOf(ADMIN.username, ADMIN.password);
    const listed = await call('GET', `/api/users?after=${created.position as number}&limit=500`, {
      token: admin,
    });
    assert.match(listed.text, /kate@example.com/);

    const res = await call('DELETE', '/api/users/kate', { token });
    assert.equal(res.status, 200, res.text);
    assert.equal((await call('GET', '/api/users/me', { token })).status, 401);

    const events = await gateway.store.readStream(streamId);
    assert.deepEqual(
      events.map((e) => e.type),
      ['UserRegistered', 'UserDeleted'],
    );
    const first = events[0]!;
    assert.equal(first.erased, true);
    const data = first.data as Record<string, unknown>;
    for (const field of ['firstName', 'lastName', 'email', 'phone', 'passwordHash'])
      assert.equal(data[field], null, field);
    assert.doesNotMatch(JSON.stringify(events), /kate@example.com|Katherine|Johnson|555-0100/);

    assert.equal((await call('GET', '/api/users/kate', { token: admin })).status, 404);
    assert.equal((await login('kate', 'kates-password')).status, 401);
    const list = await call('GET', `/api/users?after=${res.json().position as number}&limit=500`, {
      token: admin,
    });
    assert.equal(list.status, 200);
    assert.doesNotMatch(list.text, /kate/);
    const readModel = await gateway.store.pool.query('SELECT doc FROM read.users');
    assert.doesNotMatch(JSON.stringify(readModel.rows), /kate@example.com|Katherine/);

    // The username can be registered again, by someone new.
    const again = await register('kate', 'new-kates-password', { email: 'other@example.com' });
    assert.notEqual(again.id, created.id);
    assert.equal((await login('kate', 'new-kates-password')).status, 201);
  });

  describe('the Petstore user operations', () => {
    const validate = createResponseValidator();
    const check = (
      operationId: string,
      res: { status: number; headers: Record<string, unknown>; text: string },
    ) => {
      const contentType = (res.headers['content-type'] as string | undefined) ?? null;
      const body = res.text === '' ? undefined : (JSON.parse(res.text) as unknown);
      assert.deepEqual(
        validate({ operationId, status: res.status, contentType, body }),
        [],
        `${operationId}: ${res.text}`,
      );
    };
    const theUser = {
      id: 10,
      username: 'theUser',
      firstName: 'John',
      lastName: 'James',
      email: 'john@email.com',
      password: '12345',
      phone: '12345',
      userStatus: 1,
    };

    it('creates, logs in, reads, updates, logs out and deletes as the contract says', async () => {
      const created = await call('POST', `${PETSTORE}/user`, { body: theUser });
      assert.equal(created.status, 200, created.text);
      check('createUser', created);
      const user = created.json();
      assert.equal(typeof user.id, 'number');
      assert.notEqual(user.id, 10, 'the id is minted here');
      assert.equal(user.password, undefined);

      const login = await call('GET', `${PETSTORE}/user/login?username=theUser&password=12345`);
      assert.equal(login.status, 200, login.text);
      check('loginUser', login);
      const token = JSON.parse(login.text) as string;
      assert.ok(Number(login.headers['x-rate-limit']) > 0);
      assert.ok(Date.parse(String(login.headers['x-expires-after'])) > Date.now());

      const read = await call('GET', `${PETSTORE}/user/theUser`, { headers: { api_key: token } });
      assert.equal(read.status, 200);
      check('getUserByName', read);
      const { password: _password, ...expected } = theUser;
      assert.deepEqual(read.json(), { ...expected, id: user.id });

      const updated = await call('PUT', `${PETSTORE}/user/theUser`, {
        headers: { api_key: token },
        body: { ...theUser, email: 'james@email.com' },
      });
      assert.equal(updated.status, 200, updated.text);
      check('updateUser', updated);
      const reread = await call('GET', `${PETSTORE}/user/theUser`, { headers: { api_key: token } });
      assert.equal(reread.json().email, 'james@email.com');
      const renamed = await call('PUT', `${PETSTORE}/user/theUser`, {
        headers: { api_key: token },
        body: { ...theUser, username: 'otherUser' },
      });
      assert.equal(renamed.status, 400);

      const wrong = await call('GET', `${PETSTORE}/user/login?username=theUser&password=nope`);
      assert.equal(wrong.status, 400);
      check('loginUser', wrong);
      const missing = await call('GET', `${PETSTORE}/user/login?username=theUser`);
      assert.equal(missing.status, 400);

      const logout = await call('GET', `${PETSTORE}/user/logout`, { headers: { api_key: token } });
      assert.equal(logout.status, 200);
      check('logoutUser', logout);
      assert.equal(
        (await call('GET', `${PETSTORE}/user/theUser`, { headers: { api_key: token } })).status,
        401,
      );

      const again = JSON.parse(
        (await call('GET', `${PETSTORE}/user/login?username=theUser&password=12345`)).text,
      ) as string;
      const deleted = await call('DELETE', `${PETSTORE}/user/theUser`, { headers: { api_key: again } });
      assert.equal(deleted.status, 200, deleted.text);
      check('deleteUser', deleted);
      const admin = await tokenOf(ADMIN.username, ADMIN.password);
      const gone = await call('GET', `${PETSTORE}/user/theUser`, { headers: { api_key: admin } });
      assert.equal(gone.status, 404);
      check('getUserByName', gone);
    });

    it('takes a user as a form or as XML, as the contract lists', async () => {
      const form = await app.inject({
        method: 'POST',
        url: `${PETSTORE}/user`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'username=formUser&password=pw&userStatus=2&email=form%40example.com',
      });
      assert.equal(form.statusCode, 200, form.body);
      check('createUser', { status: form.statusCode, headers: form.headers, text: form.body });
      assert.deepEqual(
        { ...form.json<Record<string, unknown>>(), id: 0 },
        {
          id: 0,
          username: 'formUser',
          email: 'form@example.com',
          userStatus: 2,
        },
      );
      const xml = await app.inject({
        method: 'POST',
        url: `${PETSTORE}/user`,
        headers: { 'content-type': 'application/xml' },
        payload:
          '<user><username>xmlUser</username><firstName>X</firstName><userStatus>3</userStatus></user>',
      });
      assert.equal(xml.statusCode, 200, xml.body);
      assert.equal(xml.json<Record<string, unknown>>().userStatus, 3);
    });

    it('creates a list of users and answers the last; refuses bad input with 400', async () => {
      const list = await call('POST', `${PETSTORE}/user/createWithList`, {
        body: [
          { username: 'listed-1', password: 'p1' },
          { username: 'listed-2', email: 'two@example.com' },
        ],
      });
      assert.equal(list.status, 200, list.text);
      check('createUsersWithListInput', list);
      assert.equal(list.json().username, 'listed-2');

      for (const body of [
        [{ username: 'dup' }, { username: 'dup' }],
        [{ email: 'no-name@example.com' }],
        [],
        [{ username: 'x', userStatus: -1 }],
        [{ username: '<script>alert(1)</script>' }],
      ]) {
        const res = await call('POST', `${PETSTORE}/user/createWithList`, { body });
        assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.text}`);
      }
      for (const body of [
        { username: 'y', id: 'ten' },
        { username: 'z', unknown: true },
        { firstName: 'nameless' },
      ]) {
        const res = await call('POST', `${PETSTORE}/user`, { body });
        assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.text}`);
      }
      assert.equal((await call('GET', `${PETSTORE}/user/${'a'.repeat(65)}`, { token: 'x' })).status, 401);
      const admin = await tokenOf(ADMIN.username, ADMIN.password);
      assert.equal((await call('GET', `${PETSTORE}/user/${'a'.repeat(65)}`, { token: admin })).status, 400);
    });
  });
});
