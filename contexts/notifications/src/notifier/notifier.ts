// The notifier: reads the global log, queues an email for each order event that asks for one, and
// sends the queued messages through a transport, retrying with backoff, never sending one twice.
//
// Exactly once, piece by piece:
// - The past: a notifier started on a log that already holds history does not email it. The log's
//   head when its checkpoint row is first made is its horizon (`notify_from`, schema.ts); events
//   at or below it only feed its directory of users.
// - Queueing: a message's id comes from the triggering event's id and the template, and its
//   stream is written through the Message aggregate with command ids derived from it, so seeing an
//   event again (a replay after a crash) queues nothing new.
// - The checkpoint is kept in PostgreSQL in the same transaction as what the notifier records from
//   the batch (its directory of users, its list of messages waiting to be sent).
// - Sending (delivery.ts): of several notifier processes one leads (a session advisory lock on its
//   own connection, as the event store's relay does); only the leader reads the log and sends.
//   Before each send it reloads the message's stream: a message recorded sent (or abandoned) is
//   never sent again. Each attempt is recorded as started (MessageSendStarted) before the message
//   is handed to the transport, so an attempt cut short by a crash or a takeover is never repeated
//   blindly: the local mailbox tells whether it holds the message (recorded sent, or failed and
//   retried); over SMTP nobody can tell, so the message is abandoned as undetermined, logged once.
//   Of the two risks — an email lost, an email sent twice — SMTP takes the first, at that one point.
import pg from 'pg';
import { subscribe, type EventStore, type RecordedEvent, type Subscription } from '@optic-mart/eventstore';
import type { Logger } from '@optic-mart/platform';
import { createCommandHandler, type CommandHandler, type CommandResult } from '@optic-mart/runtime';
import {
  initialUserState,
  userDecider,
  userStreamId,
  type UserEvent,
  type UserState,
} from '@optic-mart/identity';
import { messageStreamId, type MessageQueuedData, type MessageTemplate } from '../domain/message.js';
import { render, type Address, type Amount, type TemplateInput } from '../domain/templates.js';
import { domainOf, messageIdFor } from '../message-ids.js';
import { notificationsCommandRoutes } from '../routes.js';
import { createDelivery } from './delivery.js';
import { ensureNotificationsSchema } from './schema.js';
import { mailboxTransport, smtpTransport, type Transport } from './transports.js';

/** Session advisory lock held by the one notifier that sends at a time. */
const LEADER_LOCK = [7245302, 60] as const;

export interface NotifierOptions {
  /** The event store: the log the notifier reads, and where it appends the messages' events. */
  readonly store: EventStore;
  /** Logs each message skipped (no user, no email) or abandoned, and failures. */
  readonly logger: Logger;
  /** PostgreSQL URL for the leadership lock's own connection; default: the store's pool settings. */
  readonly connectionString?: string;
  /** smtp://user:pass@host:port (SMTP_URL): send through it; unset, into the local mailbox. */
  readonly smtpUrl?: string;
  /** The From of every message (NOTIFY_FROM); its domain is the Message-ID's. Default `Optic Mart <shop@localhost>`. */
  readonly from?: string;
  /** Attempts per message before MessageAbandoned (NOTIFY_MAX_ATTEMPTS). Default 5. */
  readonly maxAttempts?: number;
  /** Wait before the first retry, doubled per failed attempt. Default 1000 ms. */
  readonly retryBaseMs?: number;
  /** Longest wait between attempts. Default 5 minutes. */
  readonly retryMaxMs?: number;
  /** How often a process that does not lead tries to take over. Default 2000 ms. */
  readonly contendEveryMs?: number;
  /** Messages sent at once. Default 4. */
  readonly concurrency?: number;
  /** SMTP connection, greeting and socket timeout. Default 30 s. */
  readonly sendTimeoutMs?: number;
  /** A transport to use instead of SMTP or the mailbox (tests). */
  readonly transport?: Transport;
}

export interface Notifier {
  /** Whether this process is the one reading the log and sending. */
  isLeader(): boolean;
  /** Stops reading and sending (in-flight sends finish), gives up leadership, closes the transport. */
  stop(): Promise<void>;
}

/** The order events that send an email, and which. OrderPlaced only for a checkout's order. */
const triggers: Readonly<Record<string, MessageTemplate>> = {
  OrderPlaced: 'order_placed',
  OrderPaid: 'order_paid',
  OrderShipped: 'order_shipped',
  OrderDelivered: 'order_delivered',
  OrderCancelled: 'order_cancelled',
};

const eventTypes = [
  ...Object.keys(triggers),
  'UserRegistered',
  'UserDeleted',
  'MessageQueued',
  'MessageSent',
  'MessageAbandoned',
];

type Data = Readonly<Record<string, unknown>>;
const dataOf = (e: RecordedEvent): Data =>
  typeof e.data === 'object' && e.data !== null ? (e.data as Data) : {};
const text = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);
const isAmount = (v: unknown): v is Amount =>
  typeof v === 'object' &&
  v !== null &&
  Number.isSafeInteger((v as Amount).amountCents) &&
  typeof (v as Amount).currency === 'string';
const isAddress = (v: unknown): v is Address =>
  typeof v === 'object' &&
  v !== null &&
  Object.values(v).every((f) => f === null || f === undefined || typeof f === 'string');

/**
 * Starts the notifier (DESIGN.md §1: notifications on the domain events). Resolves once its tables
 * exist; it then contends for leadership in the background, and the leader reads the log from the
 * stored checkpoint and sends. Call `stop()` on shutdown.
 */
export async function startNotifier(options: NotifierOptions): Promise<Notifier> {
  const { store, logger } = options;
  const from = options.from ?? 'Optic Mart <shop@localhost>';
  const domain = domainOf(from);
  const maxAttempts = options.maxAttempts ?? 5;
  const retryBaseMs = options.retryBaseMs ?? 1000;
  const retryMaxMs = options.retryMaxMs ?? 5 * 60_000;
  const contendEveryMs = options.contendEveryMs ?? 2000;
  const concurrency = options.concurrency ?? 4;
  const transport =
    options.transport ??
    (options.smtpUrl !== undefined
      ? smtpTransport(options.smtpUrl, {
          ...(options.sendTimeoutMs !== undefined && { timeoutMs: options.sendTimeoutMs }),
        })
      : mailboxTransport(store.pool));
  const handle: CommandHandler = createCommandHandler({ store, routes: notificationsCommandRoutes, logger });

  await ensureNotificationsSchema(store.pool);

  let stopped = false;
  let leaderClient: pg.Client | null = null;
  let subscription: Subscription | null = null;
  let sender: Promise<void> | null = null;
  let contendTimer: NodeJS.Timeout | undefined;
  let contending: Promise<void> = Promise.resolve();
  let wake: (() => void) | null = null;
  const kick = (): void => {
    wake?.();
  };
  const leading = (client: pg.Client): boolean => !stopped && leaderClient === client;

  /** Runs a command on a message stream; refusals the caller cannot fix come back as `ok: false`. */
  const command = (
    commandId: string,
    type: string,
    messageId: string,
    data: unknown,
    causationId: string,
  ): Promise<CommandResult> =>
    handle({
      commandId,
      type,
      aggregateId: messageStreamId(messageId),
      data,
      metadata: { correlationId: causationId, causationId },
    });

  // ── queueing, from the log ──────────────────────────────────────────────

  async function ownerOf(orderId: string): Promise<string | null> {
    const [placed] = await store.readStream(`order-${orderId}`, { limit: 1 }).catch(() => []);
    return placed ? text(dataOf(placed).userId) : null;
  }

  /** The user's address and name, or why there is none. */
  async function recipientOf(
    db: pg.ClientBase,
    userId: string,
  ): Promise<{ email: string; name: string } | { skip: string }> {
    const { rows } = await db.query<{ username: string }>(
      'SELECT username FROM notifications.recipients WHERE user_id = $1',
      [userId],
    );
    const username = rows[0]?.username;
    if (username === undefined) return { skip: 'no such user' };
    const { state } = await store.aggregate<UserState>(userStreamId(username), {
      initialState: initialUserState,
      evolve: (s, e) => userDecider.evolve(s, { type: e.type, data: e.data } as UserEvent),
    });
    if (state.kind !== 'registered' || state.userId !== userId) return { skip: 'the user was deleted' };
    if (!state.email) return { skip: 'the user has no email address' };
    return { email: state.email, name: state.firstName ?? state.username };
  }

  async function queueFor(db: pg.ClientBase, event: RecordedEvent, template: MessageTemplate): Promise<void> {
    const data = dataOf(event);
    if (event.type === 'OrderPlaced' && data.source !== 'checkout') return;
    const orderId =
      text(data.orderId) ?? (event.streamId.startsWith('order-') ? event.streamId.slice(6) : null);
    if (orderId === null) return;
    const userId = text(data.userId) ?? (await ownerOf(orderId));
    const log = { eventId: event.id, type: event.type, orderId, template };
    if (userId === null) {
      logger.info(log, 'notification skipped: the order names no user');
      return;
    }
    const recipient = await recipientOf(db, userId);
    if ('skip' in recipient) {
      logger.info({ ...log, userId, reason: recipient.skip }, `notification skipped: ${recipient.skip}`);
      return;
    }
    const input: TemplateInput = {
      orderId,
      recipientName: recipient.name,
      total: isAmount(data.total) ? data.total : null,
      trackingNumber: text(data.trackingNumber),
      reason: text(data.reason),
      shippingAddress: isAddress(data.shippingAddress) ? data.shippingAddress : null,
    };
    const messageId = messageIdFor(event.id, template);
    const queued: MessageQueuedData = {
      messageId,
      to: recipient.email,
      ...render(template, input),
      template,
      orderId,
      userId,
      triggeredBy: event.id,
    };
    const result = await command(`notify:${messageId}:queue`, 'QueueMessage', messageId, queued, event.id);
    if (!result.ok) {
      // E.g. subject_erased: the user was deleted since; nothing may be written about them.
      logger.info(
        { ...log, userId, code: result.error.code },
        `notification skipped: ${result.error.detail}`,
      );
    }
  }

  async function handleBatch(
    client: pg.Client,
    events: readonly RecordedEvent[],
    checkpoint: number,
    notifyFrom: number,
  ): Promise<void> {
    const db = await store.pool.connect();
    let queued = false;
    try {
      await db.query('BEGIN');
      for (const event of events) {
        if (!leading(client)) throw new Error('no longer the notifier leader');
        const data = dataOf(event);
        // Before the horizon: the shop's past, seen only to learn who its users are.
        const past = event.position !== null && event.position <= notifyFrom;
        const template = triggers[event.type];
        if (template !== undefined && event.streamId.startsWith('order-')) {
          if (!past) await queueFor(db, event, template);
          continue;
        }
        switch (event.type) {
          case 'UserRegistered': {
            const [userId, username] = [text(data.userId), text(data.username)];
            if (userId && username) {
              await db.query(
                `INSERT INTO notifications.recipients VALUES ($1, $2)
                 ON CONFLICT (user_id) DO UPDATE SET username = EXCLUDED.username`,
                [userId, username],
              );
            }
            break;
          }
          case 'UserDeleted': {
            // Their personal data is erased: so are the copies in the local mailbox.
            const userId = text(data.userId);
            if (userId) {
              await db.query('DELETE FROM notifications.recipients WHERE user_id = $1', [userId]);
              await db.query('DELETE FROM notifications.mailbox WHERE user_id = $1', [userId]);
            }
            break;
          }
          case 'MessageQueued': {
            const messageId = text(data.messageId);
            if (messageId && !past && event.streamId === messageStreamId(messageId)) {
              await db.query(
                'INSERT INTO notifications.pending (message_id) VALUES ($1) ON CONFLICT DO NOTHING',
                [messageId],
              );
              queued = true;
            }
            break;
          }
          case 'MessageSent':
          case 'MessageAbandoned': {
            const messageId = text(data.messageId);
            if (messageId)
              await db.query('DELETE FROM notifications.pending WHERE message_id = $1', [messageId]);
            break;
          }
          default:
            break;
        }
      }
      await db.query('UPDATE notifications.checkpoint SET position = $1 WHERE id = 1', [checkpoint]);
      await db.query('COMMIT');
    } catch (err) {
      await db.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      db.release();
    }
    if (queued) kick();
  }

  // ── sending ─────────────────────────────────────────────────────────────

  const retryDelay = (attempt: number): number => {
    const cap = Math.min(retryMaxMs, retryBaseMs * 2 ** Math.max(0, attempt - 1));
    return Math.round(cap / 2 + (Math.random() * cap) / 2);
  };
  const deliver = createDelivery({
    store,
    transport,
    logger,
    from,
    domain,
    maxAttempts,
    retryDelay,
    run: (commandId, cmd, causationId) =>
      command(commandId, cmd.type, cmd.data.messageId, cmd.data, causationId),
  });

  async function sendLoop(client: pg.Client): Promise<void> {
    while (leading(client)) {
      let waitMs = 1000;
      try {
        const { rows } = await store.pool.query<{ message_id: string }>(
          'SELECT message_id FROM notifications.pending WHERE due_at <= now() ORDER BY due_at LIMIT $1',
          [concurrency * 8],
        );
        const queue = rows.map((r) => r.message_id);
        await Promise.all(
          Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
            for (let id = queue.shift(); id !== undefined && leading(client); id = queue.shift()) {
              await deliver(id, () => leading(client)).catch((err: unknown) =>
                logger.warn({ err, messageId: id }, 'message delivery step failed; will retry'),
              );
            }
          }),
        );
        if (rows.length > 0) continue;
        const next = await store.pool.query<{ ms: number | null }>(
          'SELECT (EXTRACT(EPOCH FROM min(due_at) - now()) * 1000)::float8 AS ms FROM notifications.pending',
        );
        const ms = next.rows[0]?.ms;
        waitMs = ms === null || ms === undefined ? 5000 : Math.max(10, Math.min(5000, Math.ceil(ms)));
      } catch (err) {
        logger.warn({ err }, 'notifier send loop failed; retrying');
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
    }
  }

  // ── leadership ──────────────────────────────────────────────────────────

  const resign = async (reason: string): Promise<void> => {
    const sub = subscription;
    const client = leaderClient;
    const loop = sender;
    subscription = null;
    leaderClient = null;
    sender = null;
    kick();
    if (sub) await sub.stop();
    if (loop) await loop;
    if (client) await client.end().catch(() => undefined);
    if (sub || client) logger.info({ reason }, 'notifier stopped leading');
  };

  const contend = async (): Promise<void> => {
    if (stopped || leaderClient) return;
    const poolOptions = (store.pool as unknown as { options: pg.ClientConfig }).options;
    const client = new pg.Client(
      options.connectionString !== undefined
        ? { connectionString: options.connectionString }
        : { ...poolOptions },
    );
    client.on('error', (err) => logger.warn({ err }, 'notifier leader connection failed'));
    await client.connect();
    const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [
      ...LEADER_LOCK,
    ]);
    if (!rows[0]?.ok || stopped) {
      await client.end();
      return;
    }
    leaderClient = client;
    // Losing the connection loses the lock: stop at once, another process takes over.
    client.once('end', () => {
      if (leaderClient === client) void resign('leader connection closed');
    });
    const cp = await client.query<{ position: string; notify_from: string }>(
      'SELECT position, notify_from FROM notifications.checkpoint WHERE id = 1',
    );
    const after = Number(cp.rows[0]?.position ?? 0);
    const notifyFrom = Number(cp.rows[0]?.notify_from ?? 0);
    logger.info(
      { after, notifyFrom, transport: transport.name },
      'notifier leading: queueing and sending messages (for events after notifyFrom)',
    );
    subscription = subscribe(store, {
      after,
      types: eventTypes,
      logger,
      handler: (events, checkpoint) => handleBatch(client, events, checkpoint, notifyFrom),
    });
    sender = sendLoop(client);
  };

  const loop = (): void => {
    contending = contend()
      .catch((err: unknown) => logger.warn({ err }, 'notifier could not contend for leadership'))
      .finally(() => {
        if (!stopped) contendTimer = setTimeout(loop, contendEveryMs);
      });
  };
  loop();

  return {
    isLeader: () => leaderClient !== null,
    async stop() {
      stopped = true;
      clearTimeout(contendTimer);
      await contending;
      await resign('stopping');
      await transport.close();
    },
  };
}
