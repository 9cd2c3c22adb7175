import type pg from 'pg';
import { applyMessagingDdl } from '../postgres-ddl.js';

/**
 * The queue and bus tables, in the `messaging` schema (shared with the key-value store, whose
 * tables are its own). Idempotent: run at every start.
 *
 * - `commands`: one row per accepted command. `available_at` is both the retry time and the lease:
 *   a claim moves it to `now() + lease`, so a crashed worker's command becomes available again by
 *   itself. Acked rows are kept (`done_at`) for the duplicate window, so a command id repeated soon
 *   after its command was handled is still dropped, as JetStream's duplicate window does.
 * - `bus_events`: the append-only bus; `seq` orders it (see publish in event-bus.ts for why a
 *   reader by position never skips a late commit here).
 * - `bus_groups` + `bus_deliveries`: a group's cursor into `bus_events`, and a row per event taken
 *   past the cursor and not yet acked (its attempts, lease and backoff).
 */
const DDL = `
CREATE SCHEMA IF NOT EXISTS messaging;

CREATE TABLE IF NOT EXISTS messaging.commands (
  id bigserial PRIMARY KEY,
  context text NOT NULL,
  -- The commandId, or 'replay:<dead letter id>' for a replayed dead letter (whose commandId is in use).
  dedup_key text NOT NULL UNIQUE,
  payload jsonb NOT NULL,
  enqueued_at timestamptz NOT NULL DEFAULT now(),
  available_at timestamptz NOT NULL DEFAULT now(),
  attempts integer NOT NULL DEFAULT 0,
  -- The current claim; settling with another claim's token does nothing (its lease had expired).
  lease uuid,
  done_at timestamptz
);
CREATE INDEX IF NOT EXISTS commands_pending ON messaging.commands (context, id) WHERE done_at IS NULL;
CREATE INDEX IF NOT EXISTS commands_done ON messaging.commands (done_at) WHERE done_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS messaging.dead_letters (
  id uuid PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('command', 'event')),
  -- The context (commands) or the group (events).
  target text NOT NULL,
  payload jsonb NOT NULL,
  error_code text NOT NULL,
  error_detail text NOT NULL,
  attempts integer NOT NULL,
  dead_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS dead_letters_target ON messaging.dead_letters (kind, target, dead_at, id);

CREATE TABLE IF NOT EXISTS messaging.bus_events (
  seq bigserial PRIMARY KEY,
  id text NOT NULL UNIQUE,
  type text NOT NULL,
  payload jsonb NOT NULL,
  published_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS bus_events_published_at ON messaging.bus_events (published_at);

CREATE TABLE IF NOT EXISTS messaging.bus_groups (
  name text PRIMARY KEY,
  -- Every event up to here has a delivery row, was filtered out, or was acked.
  cursor bigint NOT NULL,
  types text[],
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS messaging.bus_deliveries (
  group_name text NOT NULL REFERENCES messaging.bus_groups (name) ON DELETE CASCADE,
  seq bigint NOT NULL,
  -- Set for a replayed dead letter only: its event may have been pruned from bus_events since.
  payload jsonb,
  available_at timestamptz NOT NULL DEFAULT now(),
  attempts integer NOT NULL DEFAULT 0,
  lease uuid,
  PRIMARY KEY (group_name, seq)
);
CREATE INDEX IF NOT EXISTS bus_deliveries_seq ON messaging.bus_deliveries (seq);

-- Publishes a batch (a JSON array of bus events) in order, under a transaction-level advisory lock
-- held until commit (see event-bus.ts). One INSERT per event, so seq follows the batch order.
CREATE OR REPLACE FUNCTION messaging.bus_publish(p_events jsonb)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  ev jsonb;
  inserted integer := 0;
  n integer;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('optic-mart:messaging.bus_publish'));
  FOR ev IN SELECT value FROM jsonb_array_elements(p_events) WITH ORDINALITY ORDER BY ordinality LOOP
    INSERT INTO messaging.bus_events (id, type, payload)
    VALUES (ev->>'id', ev->>'type', ev)
    ON CONFLICT (id) DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    inserted := inserted + n;
  END LOOP;
  IF inserted > 0 THEN
    PERFORM pg_notify('messaging_bus', '');
  END IF;
  RETURN inserted;
END $$;

-- Claims up to p_limit events for one member of a group. Under the group row's lock (members of a
-- group claim one at a time): first tops up the group's delivery rows from the cursor, then claims
-- from the group's first p_window undelivered events only, and never more than p_window leased at
-- once — so with a window of 1 the group handles one event at a time, in order, across members.
CREATE OR REPLACE FUNCTION messaging.bus_claim(
  p_group text, p_window integer, p_limit integer, p_lease_ms integer, p_lease uuid, p_fill integer)
RETURNS TABLE (seq bigint, payload jsonb, attempts integer) LANGUAGE plpgsql AS $$
DECLARE
  g record;
  queued integer;
  leased integer;
  picked bigint[];
  head bigint;
BEGIN
  SELECT * INTO g FROM messaging.bus_groups WHERE name = p_group FOR UPDATE;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  SELECT count(*) INTO queued
    FROM (SELECT 1 FROM messaging.bus_deliveries d WHERE d.group_name = p_group LIMIT p_window) w;
  IF queued < p_window THEN
    -- One statement, one snapshot: the picked events and the head agree, so moving the cursor to
    -- the head never passes an event this snapshot could not see.
    SELECT ARRAY(
             SELECT e.seq FROM messaging.bus_events e
              WHERE e.seq > g.cursor AND (g.types IS NULL OR e.type = ANY (g.types))
              ORDER BY e.seq LIMIT p_fill),
           (SELECT max(e.seq) FROM messaging.bus_events e)
      INTO picked, head;
    INSERT INTO messaging.bus_deliveries (group_name, seq)
      SELECT p_group, s FROM unnest(picked) AS s
      ON CONFLICT DO NOTHING;
    UPDATE messaging.bus_groups
       SET cursor = CASE WHEN coalesce(array_length(picked, 1), 0) = p_fill THEN picked[p_fill]
                         ELSE greatest(g.cursor, coalesce(head, 0)) END
     WHERE name = p_group;
  END IF;
  SELECT count(*) INTO leased FROM messaging.bus_deliveries d
   WHERE d.group_name = p_group AND d.lease IS NOT NULL AND d.available_at > now();
  RETURN QUERY
  WITH win AS (
    SELECT d.seq, d.available_at FROM messaging.bus_deliveries d
     WHERE d.group_name = p_group ORDER BY d.seq LIMIT p_window
  ), pick AS (
    SELECT win.seq FROM win WHERE win.available_at <= now()
     ORDER BY win.seq LIMIT greatest(0, least(p_limit, p_window - leased))
  ), claimed AS (
    UPDATE messaging.bus_deliveries d
       SET lease = p_lease, attempts = d.attempts + 1,
           available_at = now() + p_lease_ms * interval '1 millisecond'
      FROM pick
     WHERE d.group_name = p_group AND d.seq = pick.seq
    RETURNING d.seq, d.payload, d.attempts
  )
  SELECT c.seq, coalesce(c.payload, e.payload), c.attempts
    FROM claimed c LEFT JOIN messaging.bus_events e ON e.seq = c.seq
   ORDER BY c.seq;
END $$;
`;

/** Creates or updates these tables (and functions) when missing. */
export async function ensureQueueSchema(pool: pg.Pool): Promise<void> {
  await applyMessagingDdl(pool, DDL);
}
