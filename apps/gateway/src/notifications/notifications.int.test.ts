// The notification routes over HTTP: order events → the notifier → the local mailbox (admins) and
// the `messages` read model (each user their own), on PostgreSQL alone.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { EventStore } from '@optic-mart/eventstore';
import { connectMessaging, type Messaging } from '@optic-mart/messaging';
import { createLogger, createMetricsRegistry, type HttpServer } from '@optic-mart/platform';
import { startProjector, type Projector } from '@optic-mart/runtime';
import { messagesProjection, startNotifier, type Notifier } from '@optic-mart/notifications';
import { createTestDatabase, waitUntil, type TestDatabase } from '@optic-mart/testkit';
import { buildGatewayApp } from '../app.js';
import type { Auth, Role } from '../auth/index.js';
import { loadGatewayConfig } from '../config.js';

interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
interface Problem {
  code: string;
  errors?: { field: string }[];
}

describe('notifications over HTTP', () => {
  let db: TestDatabase;
  let messaging: Messaging;
  let app: HttpServer;
  let auth: Auth;
  let base: string;
  let store: EventStore;
  let projector: Projector;
  let notifier: Notifier;
  const tokens: Record<string, string> = {};
  const logger = createLogger({ name: 'notifications-test', level: 'warn' });

  const login = async (name: string, userId: string, role: Role) => {
    const principal = await auth.sessions.open({ userId, username: name, role });
    tokens[name] = (await auth.tokens.issue(principal)).token;
  };
  const get = async <T>(path: string, as?: string): Promise<{ status: number; body: T }> => {
    const res = await fetch(base + path, { headers: as ? { authorization: `Bearer ${tokens[as]}` } : {} });
    return { status: res.status, body: (await res.json()) as T };
  };
  const customer = async (username: string, userId: string) => {
    await store.append(
      `user-${username}`,
      [
        {
          type: 'UserRegistered',
          data: {
            userId,
            username,
            role: 'customer',
            firstName: null,
            lastName: null,
            email: `${username}@example.com`,
            phone: null,
            userStatus: null,
            passwordHash: null,
          },
          personalData: { subjectId: userId, fields: ['email'] },
        },
      ],
      { expectedVersion: 1 },
    );
    await login(username, userId, 'customer');
  };

  before(async () => {
    db = await createTestDatabase('notifications_http');
    const env = { DATABASE_URL: db.url, MESSAGING_PREFIX: `t${randomUUID().slice(0, 8)}` };
    messaging = await connectMessaging({ databaseUrl: db.url, prefix: env.MESSAGING_PREFIX });
    ({ app, auth } = await buildGatewayApp({
      config: loadGatewayConfig({ ...env, LOG_LEVEL: 'warn' }),
      messaging,
      logger,
      metrics: createMetricsRegistry({ service: 'gateway-test' }),
    }));
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    store = new EventStore({ connectionString: db.url, poolSize: 5 });
    await store.start();
    projector = await startProjector({
      store,
      connectionString: db.url,
      projections: [messagesProjection],
      kv: messaging.kv,
      logger,
      contendEveryMs: 200,
    });
    await login('root', '1', 'admin');
  });

  after(async () => {
    await notifier?.stop();
    await projector.stop();
    await app.close();
    await store.close();
    await messaging.close();
    await db.drop();
  });

  it('shows admins an empty mailbox before any notifier ran', async () => {
    const { status, body } = await get<Page<unknown>>('/api/notifications/mailbox', 'root');
    assert.equal(status, 200);
    assert.deepEqual(body, { items: [], nextCursor: null });
  });

  it('shows the mailbox to admins only, and each user their own messages', async () => {
    await customer('ann', '11');
    await customer('bob', '12');
    notifier = await startNotifier({ store, logger, contendEveryMs: 100 });
    for (const [orderId, userId] of [
      ['1', '11'],
      ['2', '11'],
      ['3', '12'],
    ] as const) {
      await store.append(
        `order-${orderId}`,
        [
          { type: 'OrderPlaced', data: { orderId, userId, source: 'checkout', lines: [] } },
          { type: 'OrderCancelled', data: { orderId, userId, reason: 'shipment_failed' } },
        ],
        { expectedVersion: 1 },
      );
    }
    await waitUntil('six messages in the mailbox', async () => {
      const { body } = await get<Page<unknown>>('/api/notifications/mailbox?limit=100', 'root');
      return body.items.length === 6;
    });

    const first = await get<Page<{ to: string; userId: string }>>(
      '/api/notifications/mailbox?limit=4',
      'root',
    );
    assert.equal(first.body.items.length, 4);
    assert.ok(first.body.nextCursor);
    const second = await get<Page<{ to: string }>>(
      `/api/notifications/mailbox?limit=4&cursor=${first.body.nextCursor}`,
      'root',
    );
    assert.equal(second.body.items.length, 2);
    assert.equal(second.body.nextCursor, null);
    const bobs = await get<Page<{ to: string }>>('/api/notifications/mailbox?userId=12', 'root');
    assert.deepEqual(
      bobs.body.items.map((m) => m.to),
      ['bob@example.com', 'bob@example.com'],
    );

    assert.equal((await get<Problem>('/api/notifications/mailbox', 'ann')).status, 403);
    assert.equal((await get<Problem>('/api/notifications/mailbox')).status, 401);
    const bad = await get<Problem>('/api/notifications/mailbox?cursor=abc', 'root');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errors?.[0]?.field, 'query.cursor');

    await waitUntil('ann’s four messages sent, in the read model', async () => {
      const { body } = await get<Page<{ status: string }>>('/api/users/me/messages?status=sent', 'ann');
      return body.items.length === 4;
    });
    const ann = await get<Page<{ userId: string; to: string; template: string; status: string }>>(
      '/api/users/me/messages?limit=3',
      'ann',
    );
    assert.equal(ann.status, 200);
    assert.equal(ann.body.items.length, 3);
    assert.ok(ann.body.items.every((m) => m.userId === '11' && m.to === 'ann@example.com'));
    const rest = await get<Page<unknown>>(
      `/api/users/me/messages?limit=3&cursor=${ann.body.nextCursor}`,
      'ann',
    );
    assert.equal(rest.body.items.length, 1);
    const bob = await get<Page<{ userId: string }>>('/api/users/me/messages', 'bob');
    assert.deepEqual(
      bob.body.items.map((m) => m.userId),
      ['12', '12'],
    );
    assert.equal((await get<Problem>('/api/users/me/messages')).status, 401);
    const badStatus = await get<Problem>('/api/users/me/messages?status=lost', 'ann');
    assert.equal(badStatus.status, 400);
    assert.equal(badStatus.body.errors?.[0]?.field, 'query.status');
  });
});
