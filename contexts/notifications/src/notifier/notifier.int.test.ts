// The notifier against a real PostgreSQL: order events in the log become messages in the local
// mailbox, exactly once across a restart, with two notifiers running and after a sender died
// mid-send; a notifier started on a log with history does not email the past.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EventStore } from '@optic-mart/eventstore';
import { createLogger, type LogLevel } from '@optic-mart/platform';
import { createCommandHandler } from '@optic-mart/runtime';
import { createTestDatabase, sleep, waitUntil, type TestDatabase } from '@optic-mart/testkit';
import type { MessageQueuedData } from '../domain/message.js';
import { messageIdFor, smtpMessageId } from '../message-ids.js';
import { notificationsCommandRoutes } from '../routes.js';
import { deliverToMailbox, readMailbox } from './mailbox.js';
import { startNotifier, type Notifier } from './notifier.js';
import { ensureNotificationsSchema } from './schema.js';
import { mailboxTransport, type Transport } from './transports.js';

const logLines: { msg?: string; userId?: string; reason?: string }[] = [];
const testLogger = createLogger({
  name: 'notifier-test',
  level: 'info',
  destination: {
    write(line: string) {
      logLines.push(JSON.parse(line) as (typeof logLines)[number]);
    },
  },
});
const logger = createLogger({
  name: 'notifier-test',
  level: (process.env.TEST_LOG_LEVEL as LogLevel | undefined) ?? 'silent',
});

let db: TestDatabase;
let store: EventStore;

/** The mailbox transport, counting what each notifier sends (so a double send can be seen). */
function countingMailbox(sends: Map<string, number>): Transport {
  const inner = mailboxTransport(store.pool);
  return {
    name: 'mailbox',
    async send(message) {
      sends.set(message.messageId, (sends.get(message.messageId) ?? 0) + 1);
      return inner.send(message);
    },
    earlierAttempt: (message) => inner.earlierAttempt(message),
    close: () => inner.close(),
  };
}

async function registerUser(username: string, userId: string, email: string | null): Promise<void> {
  await store.append(
    `user-${username}`,
    [
      {
        type: 'UserRegistered',
        data: {
          userId,
          username,
          role: 'customer',
          firstName: 'Ann <b>',
          lastName: null,
          email,
          phone: null,
          userStatus: null,
          passwordHash: null,
        },
        personalData: {
          subjectId: userId,
          fields: ['firstName', 'lastName', 'email', 'phone', 'passwordHash'],
        },
      },
    ],
    { expectedVersion: 1 },
  );
}

/** An order's life in the log: placed by checkout, paid, shipped, delivered. */
async function orderLife(orderId: string, userId: string, steps = 4): Promise<void> {
  const events = [
    {
      type: 'OrderPlaced',
      data: {
        orderId,
        userId,
        source: 'checkout',
        lines: [],
        total: { amountCents: 1999, currency: 'USD' },
        shippingAddress: {
          name: 'Ann',
          line1: '1 Main St',
          city: 'Springfield',
          postalCode: '1',
          country: 'US',
        },
      },
    },
    { type: 'OrderPaid', data: { orderId, userId, paymentId: 'p1' } },
    { type: 'OrderShipped', data: { orderId, userId, trackingNumber: 'TRK1' } },
    { type: 'OrderDelivered', data: { orderId, userId } },
  ].slice(0, steps);
  await store.append(`order-${orderId}`, events, { expectedVersion: 1 });
}

async function messagesOf(orderId: string): Promise<{ sent: number; queued: number; streams: string[] }> {
  const { rows } = await store.pool.query<{ stream_id: string; type: string }>(
    `SELECT e.stream_id, e.type FROM eventstore.events e WHERE e.stream_id IN (
       SELECT q.stream_id FROM eventstore.events q
        WHERE q.type = 'MessageQueued' AND q.data->>'orderId' = $1)`,
    [orderId],
  );
  return {
    sent: rows.filter((r) => r.type === 'MessageSent').length,
    queued: rows.filter((r) => r.type === 'MessageQueued').length,
    streams: [...new Set(rows.map((r) => r.stream_id))],
  };
}

const mailboxOf = async (userId: string) => (await readMailbox(store.pool, { userId, limit: 500 })).items;

describe('notifier (local mailbox)', () => {
  before(async () => {
    db = await createTestDatabase('notifier');
    store = new EventStore({ connectionString: db.url, logger });
    await store.start();
    // The notifier's horizon is the log's head when its tables are first made: made before any
    // event here, so that everything these tests append is new to it.
    await ensureNotificationsSchema(store.pool);
  });
  after(async () => {
    await store.close();
    await db.drop();
  });

  it('turns order events into messages in the mailbox, once across a restart', async () => {
    await registerUser('ann', '101', 'ann@example.com');
    await registerUser('nomail', '102', null);
    await orderLife('1', '101');
    await orderLife('2', '102', 2);
    // Not a checkout's order: no "placed" email; its cancellation does send one.
    await store.append(
      'order-3',
      [
        { type: 'OrderPlaced', data: { orderId: '3', userId: '101', source: 'petstore', lines: [] } },
        { type: 'OrderCancelled', data: { orderId: '3', userId: '101', reason: 'payment_declined' } },
      ],
      { expectedVersion: 1 },
    );
    const sends = new Map<string, number>();
    let notifier = await startNotifier({
      store,
      logger: testLogger,
      transport: countingMailbox(sends),
      contendEveryMs: 100,
    });
    try {
      await waitUntil('five messages in ann’s mailbox', async () => (await mailboxOf('101')).length === 5);
      const mail = await mailboxOf('101');
      assert.deepEqual(mail.map((m) => m.template).sort(), [
        'order_cancelled',
        'order_delivered',
        'order_paid',
        'order_placed',
        'order_shipped',
      ]);
      const placed = mail.find((m) => m.template === 'order_placed')!;
      assert.equal(placed.to, 'ann@example.com');
      assert.equal(placed.from, 'Optic Mart <shop@localhost>');
      assert.match(placed.text, /19\.99 USD/);
      assert.match(placed.html ?? '', /Hello Ann &lt;b&gt;,/);
      assert.equal(placed.smtpMessageId, `<message-${placed.messageId}@localhost>`);
      const cancelled = mail.find((m) => m.template === 'order_cancelled')!;
      assert.match(cancelled.text, /the payment was declined/);
      // The user without an email address gets nothing (skipped, with a log line).
      assert.equal((await mailboxOf('102')).length, 0);
      assert.equal((await messagesOf('2')).queued, 0);
      assert.ok(
        logLines.some(
          (l) => l.userId === '102' && l.msg === 'notification skipped: the user has no email address',
        ),
      );
      await waitUntil('every message recorded sent', async () => (await messagesOf('1')).sent === 4);
    } finally {
      await notifier.stop();
    }

    // A restart reads from the stored checkpoint; and a replay from the start changes nothing.
    await store.pool.query('UPDATE notifications.checkpoint SET position = 0');
    notifier = await startNotifier({ store, logger, transport: countingMailbox(sends), contendEveryMs: 100 });
    try {
      await orderLife('4', '101', 1);
      await waitUntil('the new order’s email', async () => (await mailboxOf('101')).length === 6);
      await sleep(300);
    } finally {
      await notifier.stop();
    }
    assert.equal((await mailboxOf('101')).length, 6);
    const order1 = await messagesOf('1');
    assert.equal(order1.queued, 4);
    assert.equal(order1.sent, 4);
    assert.equal(order1.streams.length, 4);
    assert.ok(
      [...sends.values()].every((n) => n === 1),
      `sent twice: ${JSON.stringify([...sends])}`,
    );
    assert.equal(sends.size, 6);
    const { rows } = await store.pool.query<{ n: string }>('SELECT count(*) AS n FROM notifications.pending');
    assert.equal(rows[0]?.n, '0');
  });

  it('sends each message once with two notifiers running, and one takes over when the other stops', async () => {
    await registerUser('bob', '201', 'bob@example.com');
    const sends = new Map<string, number>();
    const start = () =>
      startNotifier({ store, logger, transport: countingMailbox(sends), contendEveryMs: 50, concurrency: 8 });
    const notifiers: Notifier[] = await Promise.all([start(), start()]);
    try {
      const orders = Array.from({ length: 20 }, (_, i) => String(1000 + i));
      await Promise.all(orders.map((id) => orderLife(id, '201', 2)));
      await waitUntil('one leader', () => notifiers.filter((n) => n.isLeader()).length === 1);
      await waitUntil('40 messages for bob', async () => (await mailboxOf('201')).length === 40, 60_000);
      // The leader stops; the other takes over and sends what comes next.
      const leader = notifiers.find((n) => n.isLeader())!;
      await leader.stop();
      await Promise.all(
        orders.map((id) =>
          store.append(
            `order-${id}`,
            [{ type: 'OrderShipped', data: { orderId: id, userId: '201', trackingNumber: `T${id}` } }],
            { expectedVersion: 3 },
          ),
        ),
      );
      await waitUntil('60 messages for bob', async () => (await mailboxOf('201')).length === 60, 60_000);
      await sleep(300);
    } finally {
      await Promise.all(notifiers.map((n) => n.stop()));
    }
    assert.equal((await mailboxOf('201')).length, 60);
    assert.equal(sends.size, 60);
    assert.ok(
      [...sends.values()].every((n) => n === 1),
      `sent twice: ${JSON.stringify([...sends])}`,
    );
    for (const id of ['1000', '1019']) {
      const m = await messagesOf(id);
      assert.equal(m.sent, 3);
      assert.equal(m.queued, 3);
    }
    // Ids come from the triggering event and the template.
    const [placed] = await store.readStream('order-1000', { limit: 1 });
    const id = messageIdFor(placed!.id, 'order_placed');
    assert.deepEqual(
      (await store.readStream(`message-${id}`)).map((e) => e.type),
      ['MessageQueued', 'MessageSendStarted', 'MessageSent'],
    );
  });

  it('pages the mailbox newest first', async () => {
    const first = await readMailbox(store.pool, { limit: 25 });
    assert.equal(first.items.length, 25);
    assert.ok(first.nextCursor);
    const all = [...first.items];
    let cursor: string | null = first.nextCursor;
    while (cursor) {
      const page = await readMailbox(store.pool, { limit: 25, cursor });
      all.push(...page.items);
      cursor = page.nextCursor;
    }
    assert.equal(all.length, 66);
    assert.equal(new Set(all.map((m) => m.messageId)).size, 66);
    // Newest first: the 20 shipping emails the last test delivered last, ann's first ones at the end.
    assert.ok(all.slice(0, 20).every((m) => m.template === 'order_shipped' && m.userId === '201'));
    assert.ok(all.slice(-6).every((m) => m.userId === '101'));
    await assert.rejects(readMailbox(store.pool, { cursor: 'x' }), /cursor/);
  });

  it('settles an attempt a dead sender left without an outcome from the mailbox, never delivering twice', async () => {
    await registerUser('cat', '301', 'cat@example.com');
    // What a notifier killed mid-send leaves: the message queued and attempt 1 started; the first
    // had reached the mailbox, the second had not.
    const handle = createCommandHandler({ store, routes: notificationsCommandRoutes, logger });
    const run = async (commandId: string, type: string, messageId: string, data: unknown) => {
      const metadata = { correlationId: commandId, causationId: commandId };
      const result = await handle({ commandId, type, aggregateId: `message-${messageId}`, data, metadata });
      assert.ok(result.ok && result.events > 0, JSON.stringify(result));
    };
    const [arrived, lost] = ['crash-1', 'crash-2'].map((e) => messageIdFor(e, 'order_paid'));
    for (const [messageId, orderId] of [
      [arrived!, '31'],
      [lost!, '32'],
    ] as const) {
      const queued: MessageQueuedData = {
        messageId,
        to: 'cat@example.com',
        subject: `Payment received for order ${orderId}`,
        text: 'Hello Cat,',
        html: null,
        template: 'order_paid',
        orderId,
        userId: '301',
        triggeredBy: `crash-${orderId}`,
      };
      await run(`${messageId}:queue`, 'QueueMessage', messageId, queued);
      await run(`${messageId}:start`, 'StartSend', messageId, { messageId, attempt: 1 });
      if (messageId === arrived) {
        await deliverToMailbox(store.pool, {
          ...queued,
          smtpMessageId: smtpMessageId(messageId, 'localhost'),
          from: 'Optic Mart <shop@localhost>',
        });
      }
    }

    const sends = new Map<string, number>();
    const notifier = await startNotifier({
      store,
      logger,
      transport: countingMailbox(sends),
      contendEveryMs: 50,
      retryBaseMs: 20,
    });
    const history = async (messageId: string) =>
      (await store.readStream(`message-${messageId}`)).map((e) => ({
        type: e.type,
        data: e.data as { attempt?: number; error?: string },
      }));
    try {
      await waitUntil('both messages recorded sent', async () =>
        (await Promise.all([arrived!, lost!].map(history))).every((h) =>
          h.some((e) => e.type === 'MessageSent'),
        ),
      );
      await sleep(200);
    } finally {
      await notifier.stop();
    }
    // In the mailbox already: recorded sent as attempt 1, not handed to the transport again.
    const first = await history(arrived!);
    assert.deepEqual(
      first.map((e) => e.type),
      ['MessageQueued', 'MessageSendStarted', 'MessageSent'],
    );
    assert.equal(first[2]!.data.attempt, 1);
    assert.equal(sends.get(arrived!), undefined);
    // Not there: attempt 1 recorded failed (interrupted), attempt 2 delivers it, once.
    const second = await history(lost!);
    assert.deepEqual(
      second.map((e) => e.type),
      ['MessageQueued', 'MessageSendStarted', 'MessageSendFailed', 'MessageSendStarted', 'MessageSent'],
    );
    assert.match(second[2]!.data.error ?? '', /attempt 1 was interrupted before the message was delivered/);
    assert.equal(second[4]!.data.attempt, 2);
    assert.equal(sends.get(lost!), 1);
    const mail = await mailboxOf('301');
    assert.deepEqual(mail.map((m) => m.messageId).sort(), [arrived!, lost!].sort());
  });
});

describe('notifier horizon (a log with history)', () => {
  let horizonDb: TestDatabase;
  before(async () => {
    horizonDb = await createTestDatabase('notifier_horizon');
    store = new EventStore({ connectionString: horizonDb.url, logger });
    await store.start();
  });
  after(async () => {
    await store.close();
    await horizonDb.drop();
  });

  const checkpoint = async () =>
    (
      await store.pool.query<{ position: string; notify_from: string }>(
        'SELECT position, notify_from FROM notifications.checkpoint',
      )
    ).rows[0]!;
  const caughtUp = async () => Number((await checkpoint()).position) >= (await store.headPosition());
  const queuedCount = async () =>
    Number(
      (
        await store.pool.query<{ n: string }>(
          "SELECT count(*) AS n FROM eventstore.events WHERE type = 'MessageQueued'",
        )
      ).rows[0]!.n,
    );

  it('does not email the past, learns its users from it, and emails what comes after', async () => {
    // The shop's past: a customer, an order placed and paid, a cancelled one.
    await registerUser('old', '901', 'old@example.com');
    await orderLife('91', '901', 2);
    await store.append(
      'order-92',
      [
        { type: 'OrderPlaced', data: { orderId: '92', userId: '901', source: 'checkout', lines: [] } },
        { type: 'OrderCancelled', data: { orderId: '92', userId: '901', reason: 'payment_declined' } },
      ],
      { expectedVersion: 1 },
    );
    const head = await store.headPosition();
    let notifier = await startNotifier({ store, logger, contendEveryMs: 50 });
    try {
      assert.equal(Number((await checkpoint()).notify_from), head);
      await waitUntil('the notifier read the past', caughtUp);
      await sleep(300);
      assert.equal(await queuedCount(), 0);
      assert.equal((await mailboxOf('901')).length, 0);
      // Its directory learnt the user from the past…
      const { rows } = await store.pool.query('SELECT username FROM notifications.recipients');
      assert.deepEqual(rows, [{ username: 'old' }]);
      // …so an event after the horizon, about an order from before it, is emailed.
      await store.append(
        'order-91',
        [{ type: 'OrderShipped', data: { orderId: '91', userId: '901', trackingNumber: 'TRK9' } }],
        { expectedVersion: 3 },
      );
      await waitUntil('the shipping email', async () => (await mailboxOf('901')).length === 1);
    } finally {
      await notifier.stop();
    }

    // Read again from the start: the horizon stays where it was recorded, the past stays unsent.
    await store.pool.query('UPDATE notifications.checkpoint SET position = 0');
    notifier = await startNotifier({ store, logger, contendEveryMs: 50 });
    try {
      await waitUntil('the notifier read the log again', caughtUp);
      await sleep(300);
    } finally {
      await notifier.stop();
    }
    assert.equal(Number((await checkpoint()).notify_from), head);
    assert.deepEqual(
      (await mailboxOf('901')).map((m) => [m.orderId, m.template]),
      [['91', 'order_shipped']],
    );
    assert.equal(await queuedCount(), 1);
  });
});
