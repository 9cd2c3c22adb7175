// The notifier sending through a real SMTP server (smtp-server, started here): each message
// arrives once with its own Message-ID; a failing server gets bounded retries, then the message is
// abandoned; a server that recovers gets the message once; an attempt a dead sender left without
// an outcome is not made again (the message is abandoned as undetermined, logged once).
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { EventStore } from '@optic-mart/eventstore';
import { baseConfigSchema, createLogger, loadConfig, type LogLevel } from '@optic-mart/platform';
import { createCommandHandler } from '@optic-mart/runtime';
import { createTestDatabase, sleep, waitUntil, type TestDatabase } from '@optic-mart/testkit';
import type { MessageQueuedData } from '../domain/message.js';
import { messageIdFor } from '../message-ids.js';
import { notificationsCommandRoutes } from '../routes.js';
import { notifierConfigShape, notifierSettings } from './config.js';
import { startNotifier } from './notifier.js';
import { ensureNotificationsSchema } from './schema.js';

const logger = createLogger({
  name: 'smtp-test',
  level: (process.env.TEST_LOG_LEVEL as LogLevel | undefined) ?? 'silent',
});

interface Received {
  readonly messageId: string;
  readonly to: string[];
  readonly raw: string;
}

/** A real SMTP server on a free port; `failures(n)` makes it refuse the next n messages (451). */
async function startSmtp(): Promise<{
  url: string;
  received: Received[];
  refuse: (n: number) => void;
  close(): Promise<void>;
}> {
  const received: Received[] = [];
  let refusals = 0;
  const server = new SMTPServer({
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === 'shop' && auth.password === 'secret') callback(null, { user: auth.username });
      else callback(new Error('bad credentials'));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (refusals > 0) {
          refusals--;
          const err = Object.assign(new Error('mailbox busy, try later'), { responseCode: 451 });
          callback(err);
          return;
        }
        const raw = Buffer.concat(chunks).toString('utf8');
        const messageId = /^Message-ID:\s*(\S+)/im.exec(raw)?.[1] ?? '';
        received.push({ messageId, to: session.envelope.rcptTo.map((r) => r.address), raw });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://shop:secret@127.0.0.1:${port}`,
    received,
    refuse: (n) => {
      refusals = n;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let db: TestDatabase;
let store: EventStore;
let userSeq = 0;

async function customerWithOrder(orderId: string): Promise<string> {
  const userId = String(500 + ++userSeq);
  const username = `smtp${userSeq}`;
  await store.append(
    `user-${username}`,
    [
      {
        type: 'UserRegistered',
        data: {
          userId,
          username,
          role: 'customer',
          firstName: 'Cy',
          lastName: null,
          email: `${username}@example.com`,
          phone: null,
          userStatus: null,
          passwordHash: null,
        },
        personalData: { subjectId: userId, fields: ['firstName', 'email'] },
      },
    ],
    { expectedVersion: 1 },
  );
  await store.append(
    `order-${orderId}`,
    [
      {
        type: 'OrderPlaced',
        data: {
          orderId,
          userId,
          source: 'checkout',
          lines: [],
          total: { amountCents: 500, currency: 'EUR' },
        },
      },
      { type: 'OrderPaid', data: { orderId, userId, paymentId: 'p' } },
    ],
    { expectedVersion: 1 },
  );
  return `${username}@example.com`;
}

async function messageEvents(): Promise<
  { stream_id: string; type: string; data: Record<string, unknown> }[]
> {
  const { rows } = await store.pool.query<{ stream_id: string; type: string; data: Record<string, unknown> }>(
    `SELECT stream_id, type, data FROM eventstore.events WHERE stream_id LIKE 'message-%' ORDER BY seq`,
  );
  return rows;
}

describe('notifier over SMTP', () => {
  before(async () => {
    db = await createTestDatabase('notifier_smtp');
    store = new EventStore({ connectionString: db.url, logger });
    await store.start();
    // The notifier's horizon (the log's head when its tables are first made) before any event.
    await ensureNotificationsSchema(store.pool);
  });
  after(async () => {
    await store.close();
    await db.drop();
  });

  it('delivers each message once, with the Message-ID derived from its id, across a restart', async () => {
    const smtp = await startSmtp();
    const config = loadConfig(baseConfigSchema.extend(notifierConfigShape), {
      SMTP_URL: smtp.url,
      NOTIFY_FROM: 'Optic Mart <shop@optic.test>',
    });
    const options = { store, logger, ...notifierSettings(config), contendEveryMs: 50 };
    try {
      const to = await customerWithOrder('11');
      let notifier = await startNotifier(options);
      try {
        await waitUntil(
          'two emails received and recorded sent',
          async () =>
            smtp.received.length === 2 &&
            (await messageEvents()).filter((e) => e.type === 'MessageSent').length === 2,
        );
      } finally {
        await notifier.stop();
      }
      assert.ok(smtp.received.every((m) => m.to.join() === to));
      assert.ok(smtp.received.every((m) => /^<message-[0-9]+@optic\.test>$/.test(m.messageId)));
      const raw = smtp.received.map((m) => m.raw).join('\n');
      assert.match(raw, /^From: Optic Mart <shop@optic\.test>/m);
      assert.match(raw, /^Subject: We received your order 11/m);
      const sent = (await messageEvents()).filter((e) => e.type === 'MessageSent');
      assert.equal(sent.length, 2);
      assert.deepEqual(
        sent.map((e) => e.data.providerMessageId).sort(),
        smtp.received.map((m) => m.messageId).sort(),
      );
      assert.ok(sent.every((e) => e.data.transport === 'smtp'));

      // Started again, from the very beginning of the log: nothing is sent twice.
      await store.pool.query('UPDATE notifications.checkpoint SET position = 0');
      notifier = await startNotifier(options);
      try {
        await waitUntil('leading', () => notifier.isLeader());
        await sleep(500);
      } finally {
        await notifier.stop();
      }
      assert.equal(smtp.received.length, 2);
      assert.equal(new Set(smtp.received.map((m) => m.messageId)).size, 2);
    } finally {
      await smtp.close();
    }
  });

  it('retries a failing server with backoff, sends once it recovers, and abandons after the last attempt', async () => {
    const smtp = await startSmtp();
    const before = (await messageEvents()).length;
    const notifier = await startNotifier({
      store,
      logger,
      smtpUrl: smtp.url,
      maxAttempts: 3,
      retryBaseMs: 50,
      retryMaxMs: 200,
      contendEveryMs: 50,
    });
    try {
      // Two refusals: both messages fail once (or one twice), then everything goes through.
      smtp.refuse(2);
      await customerWithOrder('12');
      // Received by the server first, recorded as sent just after: wait for both.
      await waitUntil(
        'both emails received and recorded sent',
        async () =>
          smtp.received.length === 2 &&
          (await messageEvents()).slice(before).filter((e) => e.type === 'MessageSent').length === 2,
        20_000,
      );
      const events = (await messageEvents()).slice(before);
      assert.equal(events.filter((e) => e.type === 'MessageSendFailed').length, 2);
      assert.equal(events.filter((e) => e.type === 'MessageSent').length, 2);
      assert.equal(events.filter((e) => e.type === 'MessageAbandoned').length, 0);
      assert.equal(new Set(smtp.received.map((m) => m.messageId)).size, 2);

      // A server that refuses everything: 3 attempts each, then abandoned; nothing arrives.
      smtp.refuse(1_000);
      await customerWithOrder('13');
      await waitUntil(
        'two messages abandoned',
        async () => (await messageEvents()).filter((e) => e.type === 'MessageAbandoned').length === 2,
        20_000,
      );
      const all = await messageEvents();
      const abandoned = all.filter((e) => e.type === 'MessageAbandoned');
      for (const a of abandoned) {
        const failures = all.filter((e) => e.stream_id === a.stream_id && e.type === 'MessageSendFailed');
        assert.deepEqual(
          failures.map((f) => f.data.attempt),
          [1, 2, 3],
        );
        assert.match(String(failures[0]!.data.error), /451|busy/);
        assert.equal(all.filter((e) => e.stream_id === a.stream_id && e.type === 'MessageSent').length, 0);
      }
      assert.equal(smtp.received.length, 2);
      // Recorded abandoned first, taken off the pending list just after: wait for both.
      await waitUntil('nothing left pending', async () => {
        const { rows } = await store.pool.query('SELECT 1 FROM notifications.pending');
        return rows.length === 0;
      });
    } finally {
      await notifier.stop();
      await smtp.close();
    }
  });

  it('does not send again a message whose attempt was cut short: abandoned as undetermined, logged once', async () => {
    const smtp = await startSmtp();
    const lines: { msg?: string; messageId?: string; reason?: string }[] = [];
    const watched = createLogger({
      name: 'smtp-test',
      level: 'warn',
      destination: { write: (line: string) => void lines.push(JSON.parse(line) as (typeof lines)[number]) },
    });
    // What a notifier killed after handing the message to the server leaves: queued, attempt 1
    // started, no outcome. The server may or may not have it; nobody can ask.
    const handle = createCommandHandler({ store, routes: notificationsCommandRoutes, logger });
    const messageId = messageIdFor('smtp-crash', 'order_shipped');
    const queued: MessageQueuedData = {
      messageId,
      to: 'dora@example.com',
      subject: 'Your order 14 is on its way',
      text: 'Hello Dora,',
      html: null,
      template: 'order_shipped',
      orderId: '14',
      userId: '599',
      triggeredBy: 'smtp-crash',
    };
    for (const [type, data] of [
      ['QueueMessage', queued],
      ['StartSend', { messageId, attempt: 1 }],
    ] as const) {
      const result = await handle({
        commandId: `${messageId}:${type}`,
        type,
        aggregateId: `message-${messageId}`,
        data,
        metadata: { correlationId: messageId },
      });
      assert.ok(result.ok && result.events === 1, JSON.stringify(result));
    }
    const start = () =>
      startNotifier({ store, logger: watched, smtpUrl: smtp.url, contendEveryMs: 50, retryBaseMs: 20 });
    const stream = async () =>
      (await store.readStream(`message-${messageId}`)).map((e) => ({
        type: e.type,
        data: e.data as Record<string, unknown>,
      }));
    try {
      let notifier = await start();
      try {
        await waitUntil('the message abandoned', async () =>
          (await stream()).some((e) => e.type === 'MessageAbandoned'),
        );
        await sleep(300);
      } finally {
        await notifier.stop();
      }
      // Once more from the start of the log: still nothing sent, nothing more recorded or logged.
      await store.pool.query('UPDATE notifications.checkpoint SET position = 0');
      notifier = await start();
      try {
        await waitUntil('leading', () => notifier.isLeader());
        await sleep(500);
      } finally {
        await notifier.stop();
      }
      const events = await stream();
      assert.deepEqual(
        events.map((e) => e.type),
        ['MessageQueued', 'MessageSendStarted', 'MessageAbandoned'],
      );
      const abandoned = events[2]!.data;
      assert.equal(abandoned.undetermined, true);
      assert.equal(abandoned.attempts, 1);
      assert.match(
        String(abandoned.error),
        /attempt 1 was interrupted .* SMTP server cannot be asked .* never sent twice/,
      );
      assert.equal(smtp.received.filter((m) => m.messageId.includes(messageId)).length, 0);
      const logged = lines.filter((l) => l.messageId === messageId);
      assert.deepEqual(
        logged.map((l) => l.msg),
        ['message abandoned: whether it was delivered is unknown'],
      );
      const { rows } = await store.pool.query('SELECT 1 FROM notifications.pending WHERE message_id = $1', [
        messageId,
      ]);
      assert.equal(rows.length, 0);
    } finally {
      await smtp.close();
    }
  });
});
