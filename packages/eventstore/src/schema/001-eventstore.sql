-- Optic Mart event store schema, version 1.
--
-- Global order (DESIGN.md invariant 2): appends never assign global positions. Each event gets an
-- insertion number `seq` from a sequence; seq order is NOT commit order, so a reader walking seq
-- could skip an event whose transaction commits after a higher seq became visible. Positions are
-- assigned after commit by the sequencer (`eventstore.stamp`), which runs under one advisory lock
-- and stamps only what has become visible. Because stamping transactions are serialised, a reader
-- that sees position P has already been able to see every position below P: no gaps, no waiting on
-- open transactions, and a position is a plain number that survives dump and restore.
--
-- The second write is cheap: instead of one row per event, the sequencer writes one `runs` row per
-- run of consecutive seqs it stamps together (position = position_end - (seq_end - seq)).

CREATE SCHEMA IF NOT EXISTS eventstore;

CREATE TABLE IF NOT EXISTS eventstore.schema_migrations (
  name       text        PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now()
);

CREATE SEQUENCE IF NOT EXISTS eventstore.event_seq AS bigint;

CREATE TABLE IF NOT EXISTS eventstore.events (
  seq            bigint      NOT NULL PRIMARY KEY,
  stream_id      text        NOT NULL,
  version        bigint      NOT NULL,
  id             uuid        NOT NULL UNIQUE,
  type           text        NOT NULL,
  schema_version int         NOT NULL DEFAULT 1,
  data           jsonb       NOT NULL,
  metadata       jsonb       NOT NULL DEFAULT '{}',
  recorded_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (stream_id, version)
);
-- Finds a subject's events when its personal data is erased (only events that carry any are indexed).
CREATE INDEX IF NOT EXISTS events_personal_data_subject ON eventstore.events ((metadata #>> '{personalData,subjectId}'))
  WHERE metadata ? 'personalData';

-- Stamped runs of consecutive seqs. Runs never overlap in seq or in position, and positions are
-- contiguous from 1: the run ending at position_end covers positions
-- position_end - (seq_end - seq_start) .. position_end.
CREATE TABLE IF NOT EXISTS eventstore.runs (
  position_end bigint NOT NULL PRIMARY KEY,
  seq_start    bigint NOT NULL UNIQUE,
  seq_end      bigint NOT NULL,
  CHECK (seq_end >= seq_start)
);

-- The sequencer's state lives in `runs` itself: the last position is the newest run's end, and the
-- high-water mark (every seq at or below it is stamped, except those in `gaps`: allocated but not
-- visible when stamped past, so still in flight or rolled back) is the end of the run with the
-- highest seqs.
-- A gap is forgotten once no transaction that could still insert it is running. An appender takes
-- its xid before its seqs, so every such transaction has an xid older than any xid assigned after
-- the gap was seen; `horizon` is such an xid (NULL until a stamper that can vouch for one sets it),
-- and a gap whose horizon is at or below the oldest running xid is permanent.
CREATE TABLE IF NOT EXISTS eventstore.gaps (
  seq     bigint PRIMARY KEY,
  horizon xid8
);

-- Gaps churn (inserted and deleted by the thousand under load): keep its statistics fresh so that
-- the sequencer's plans stay right.
ALTER TABLE eventstore.gaps SET (autovacuum_vacuum_threshold = 50, autovacuum_vacuum_scale_factor = 0,
  autovacuum_analyze_threshold = 50, autovacuum_analyze_scale_factor = 0);

-- How many gaps there are, so that the common case (none) costs no look at a table that churns.
CREATE TABLE IF NOT EXISTS eventstore.sequencer (
  id        int PRIMARY KEY CHECK (id = 1),
  gap_count int NOT NULL
);
INSERT INTO eventstore.sequencer VALUES (1, 0) ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS eventstore.streams (
  stream_id  text        PRIMARY KEY,
  metadata   jsonb       NOT NULL DEFAULT '{}',
  deleted_at timestamptz
);

CREATE TABLE IF NOT EXISTS eventstore.snapshots (
  stream_id      text        PRIMARY KEY,
  version        bigint      NOT NULL,
  type           text        NOT NULL,
  schema_version int         NOT NULL DEFAULT 1,
  state          jsonb       NOT NULL,
  recorded_at    timestamptz NOT NULL DEFAULT now()
);

-- Per-subject data keys for crypto-shredding: deleting a subject's key erases its personal data.
CREATE TABLE IF NOT EXISTS eventstore.subject_keys (
  subject_id text        PRIMARY KEY,
  key        bytea       NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS eventstore.erased_subjects (
  subject_id text        PRIMARY KEY,
  erased_at  timestamptz NOT NULL DEFAULT now()
);

-- The functions (the sequencer, append, locate …) are in functions.sql, applied on every start.
