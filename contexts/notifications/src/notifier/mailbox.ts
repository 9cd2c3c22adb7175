// The local mailbox: a table standing in for the recipients' inboxes when no SMTP server is
// configured, and what GET /api/notifications/mailbox shows.
import type pg from 'pg';
import { AppError } from '@optic-mart/platform';

export interface MailboxEntry {
  readonly messageId: string;
  readonly smtpMessageId: string;
  readonly userId: string;
  readonly orderId: string;
  readonly template: string;
  readonly from: string;
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string | null;
  readonly deliveredAt: string;
}

export interface MailboxPage {
  readonly items: readonly MailboxEntry[];
  /** Pass as `cursor` for the next (older) page; null on the last. */
  readonly nextCursor: string | null;
}

interface MailboxRow {
  seq: string;
  message_id: string;
  smtp_message_id: string;
  user_id: string;
  order_id: string;
  template: string;
  sender: string;
  recipient: string;
  subject: string;
  text: string;
  html: string | null;
  delivered_at: Date;
}

/** Puts a message in the mailbox; a message already there stays as it is (one row per id). */
export async function deliverToMailbox(
  db: Pick<pg.Pool, 'query'>,
  entry: Omit<MailboxEntry, 'deliveredAt'>,
): Promise<void> {
  await db.query(
    `INSERT INTO notifications.mailbox
       (message_id, smtp_message_id, user_id, order_id, template, sender, recipient, subject, text, html)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (message_id) DO NOTHING`,
    [
      entry.messageId,
      entry.smtpMessageId,
      entry.userId,
      entry.orderId,
      entry.template,
      entry.from,
      entry.to,
      entry.subject,
      entry.text,
      entry.html,
    ],
  );
}

/** Whether the mailbox holds message `messageId`. */
export async function inMailbox(db: Pick<pg.Pool, 'query'>, messageId: string): Promise<boolean> {
  const { rows } = await db.query('SELECT 1 FROM notifications.mailbox WHERE message_id = $1', [messageId]);
  return rows.length > 0;
}

const CURSOR = /^[1-9][0-9]{0,18}$/;

/**
 * The mailbox, newest first, `limit` at a time (of one user, when `userId` is given). `cursor` is a
 * page's `nextCursor`; anything else is a validation_failed naming the field `cursor`.
 */
export async function readMailbox(
  db: Pick<pg.Pool, 'query'>,
  options: { limit?: number; cursor?: string; userId?: string } = {},
): Promise<MailboxPage> {
  const limit = options.limit ?? 50;
  if (options.cursor !== undefined && !CURSOR.test(options.cursor)) {
    throw new AppError('validation_failed', 'cursor is not one this API gave out', {
      errors: [{ field: 'cursor', message: 'is not one this API gave out' }],
    });
  }
  const { rows } = await db.query<MailboxRow>(
    `SELECT * FROM notifications.mailbox
      WHERE ($1::bigint IS NULL OR seq < $1::bigint) AND ($2::text IS NULL OR user_id = $2::text)
      ORDER BY seq DESC LIMIT $3`,
    [options.cursor ?? null, options.userId ?? null, limit + 1],
  );
  const page = rows.slice(0, limit);
  return {
    items: page.map((r) => ({
      messageId: r.message_id,
      smtpMessageId: r.smtp_message_id,
      userId: r.user_id,
      orderId: r.order_id,
      template: r.template,
      from: r.sender,
      to: r.recipient,
      subject: r.subject,
      text: r.text,
      html: r.html,
      deliveredAt: r.delivered_at.toISOString(),
    })),
    nextCursor: rows.length > limit ? (page.at(-1)?.seq ?? null) : null,
  };
}
