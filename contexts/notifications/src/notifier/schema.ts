// The notifier's tables (schema `notifications` in the event store's database): its checkpoint in
// the global log and its horizon, who each user id is, which messages wait to be sent, and the
// local mailbox. Needs the event store's schema (the horizon is read from it).
import type pg from 'pg';

/** Serialises this DDL between processes starting together (CREATE … IF NOT EXISTS races). */
const DDL_LOCK = [7245302, 61] as const;

const DDL = `
CREATE SCHEMA IF NOT EXISTS notifications;
CREATE TABLE IF NOT EXISTS notifications.checkpoint (
  id int PRIMARY KEY CHECK (id = 1),
  position bigint NOT NULL,
  notify_from bigint NOT NULL DEFAULT 0
);
-- The horizon, notify_from: events at or below this position were in the log before the notifier
-- first ran. They feed its directory only and never send an email, so that a notifier added to a
-- shop with a history does not email its past. Recorded once, with the row. A row from before the
-- horizon existed gets 0 (its notifier has read the log from the start, emailing as it went); the
-- column is added only then, so that a start does not lock the table otherwise.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = 'notifications'
                    AND table_name = 'checkpoint' AND column_name = 'notify_from') THEN
    ALTER TABLE notifications.checkpoint ADD COLUMN notify_from bigint NOT NULL DEFAULT 0;
  END IF;
END $$;
INSERT INTO notifications.checkpoint (id, position, notify_from)
SELECT 1, 0, coalesce(max(position_end), 0) FROM eventstore.runs
ON CONFLICT DO NOTHING;
-- user id → username (the user stream is user-<username>); no personal data here.
CREATE TABLE IF NOT EXISTS notifications.recipients (
  user_id text PRIMARY KEY,
  username text NOT NULL
);
-- Messages queued and not yet sent or abandoned, and when each is next tried.
CREATE TABLE IF NOT EXISTS notifications.pending (
  message_id text PRIMARY KEY,
  due_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS pending_due ON notifications.pending (due_at);
-- The local mailbox: where messages go when no SMTP server is configured. One row per message id.
CREATE TABLE IF NOT EXISTS notifications.mailbox (
  seq bigserial UNIQUE,
  message_id text PRIMARY KEY,
  smtp_message_id text NOT NULL,
  user_id text NOT NULL,
  order_id text NOT NULL,
  template text NOT NULL,
  sender text NOT NULL,
  recipient text NOT NULL,
  subject text NOT NULL,
  text text NOT NULL,
  html text,
  delivered_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS mailbox_user ON notifications.mailbox (user_id, seq);
`;

/** Creates the notifier's tables if they are missing. Idempotent; safe from several processes. */
export async function ensureNotificationsSchema(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', [...DDL_LOCK]);
    await client.query(DDL);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
