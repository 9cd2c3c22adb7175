-- The event store's functions: the sequencer, append and its helpers. Unlike the numbered
-- migrations, this file is applied on every start (after them, under the same lock), so a
-- database made by an older version gets the current definitions. Keep every statement
-- idempotent: CREATE OR REPLACE only.

-- Stamp everything that has become visible since the last stamp. The caller holds the sequencer
-- lock. Returns the number of events stamped.
CREATE OR REPLACE FUNCTION eventstore.stamp_locked(p_limit int) RETURNS int
LANGUAGE plpgsql
-- Runs while the sequencer lock is held: a JIT compile here (on a poor estimate) stalls everyone.
-- Its statements keep cached (generic) plans, as planning them anew on every call costs more than
-- running them; so the candidates are looked for in a closed range of seqs (`BETWEEN`, which a
-- generic plan takes for a sliver of the table), never an open `seq > $1` (taken for a third of it,
-- and scanned and sorted whole).
SET jit = off
AS $$
DECLARE
  v_fresh boolean;
  v_xmin xid8;
  v_last bigint;
  v_tail_seq bigint;
  v_high bigint;
  v_has_gaps boolean;
  v_cand bigint[];
  v_n int;
  v_new_high bigint;
  -- Every committed seq is at or below the sequence's last value read now: it was taken before its
  -- transaction committed. (Seqs taken later are left for the next stamp; they are above every
  -- candidate, so never taken for gaps.)
  v_seq_last bigint := (SELECT last_value FROM eventstore.event_seq);
BEGIN
  -- A transaction with no xid yet gets one younger than every xid of a transaction that could still
  -- fill a gap seen below (appenders take theirs before their seqs): only it may vouch for a gap's
  -- horizon. (A snapshot's xmax will not do: it is the last completed xid + 1, and a transaction
  -- still running may hold that very xid.) v_xmin is read before the candidates: a gap whose
  -- horizon is at or below it belongs to a transaction that had ended before the candidates'
  -- snapshot, so if it is not seen now it never will be. (Real queries, not PL/pgSQL expressions,
  -- which would see an older snapshot.)
  SELECT pg_current_xact_id_if_assigned() IS NULL,
         pg_snapshot_xmin(pg_current_snapshot()),
         coalesce(t.position_end, 0), t.seq_end,
         coalesce((SELECT seq_end FROM eventstore.runs ORDER BY seq_start DESC LIMIT 1), 0),
         (SELECT gap_count > 0 FROM eventstore.sequencer WHERE id = 1)
    INTO v_fresh, v_xmin, v_last, v_tail_seq, v_high, v_has_gaps
    FROM (SELECT 1) one
    LEFT JOIN (SELECT position_end, seq_end FROM eventstore.runs ORDER BY position_end DESC LIMIT 1) t ON true;

  IF v_has_gaps THEN
    SELECT array_agg(seq ORDER BY seq) INTO v_cand FROM (
      (SELECT seq FROM eventstore.events WHERE seq BETWEEN v_high + 1 AND v_seq_last ORDER BY seq LIMIT p_limit)
      UNION ALL
      (SELECT g.seq FROM eventstore.gaps g
         CROSS JOIN LATERAL (SELECT 1 FROM eventstore.events e WHERE e.seq = g.seq LIMIT 1) visible)
    ) c;
  ELSE
    SELECT array_agg(seq ORDER BY seq) INTO v_cand
      FROM (SELECT seq FROM eventstore.events WHERE seq BETWEEN v_high + 1 AND v_seq_last ORDER BY seq LIMIT p_limit) c;
  END IF;
  v_n := coalesce(cardinality(v_cand), 0);

  IF v_n > 0 THEN
    v_new_high := greatest(v_high, v_cand[v_n]);
    IF v_cand[1] = v_high + 1 AND v_new_high - v_high = v_n AND v_tail_seq = v_high THEN
      -- The common case: the new seqs follow on from the newest run, which just grows.
      UPDATE eventstore.runs SET position_end = v_last + v_n, seq_end = v_new_high
       WHERE position_end = v_last;
    ELSE
      -- Runs of consecutive seqs, numbered in seq order after the last position.
      INSERT INTO eventstore.runs (position_end, seq_start, seq_end)
      SELECT v_last + sum(n) OVER (ORDER BY seq_start), seq_start, seq_end
      FROM (
        SELECT min(s) AS seq_start, max(s) AS seq_end, count(*) AS n
        FROM (SELECT s, s - row_number() OVER (ORDER BY s) AS grp FROM unnest(v_cand) AS s) c
        GROUP BY grp
      ) r;
      -- Seqs skipped on the way to the new high-water mark are gaps until proven permanent.
      INSERT INTO eventstore.gaps (seq, horizon)
      SELECT s, NULL FROM (
        SELECT generate_series(v_high + 1, v_new_high) AS s
        EXCEPT ALL
        SELECT unnest(v_cand)
      ) missing;
      v_has_gaps := true;
    END IF;
    -- Tell listeners (subscriptions, appenders waiting for their positions) how far the log goes.
    PERFORM pg_notify('eventstore_positions', (v_last + v_n)::text);
  END IF;

  IF v_has_gaps THEN
    DELETE FROM eventstore.gaps g
    WHERE g.seq <= v_high AND (g.seq = ANY (v_cand) OR g.horizon <= v_xmin);
    -- A stamp inside an append cannot vouch: the sweeper's stamps (sweep_due) set the horizons.
    IF v_fresh THEN
      UPDATE eventstore.gaps SET horizon = pg_current_xact_id() WHERE horizon IS NULL;
    END IF;
    UPDATE eventstore.sequencer SET gap_count = (SELECT count(*) FROM eventstore.gaps) WHERE id = 1;
  END IF;
  RETURN v_n;
END $$;

-- A transaction that only stamps need not wait for its commit to reach the disk (and holding the
-- sequencer lock through that wait would serialise every stamper on the disk's flush time). Losing
-- such a stamp in a crash changes nothing: WAL is flushed in order, so had any transaction committed
-- durably after it, the stamp would be on disk too; a stamp lost is therefore one after which nothing
-- committed, and stamping again after recovery sees the very same committed seqs and gaps and gives
-- every event the same position. (Appends that stamp in their own transaction commit durably, as
-- their events must.) Lasts until the end of the calling transaction.
CREATE OR REPLACE FUNCTION eventstore.stamp_without_flush_wait() RETURNS void
LANGUAGE sql AS $$
  SELECT set_config('synchronous_commit', 'off', true)
    WHERE pg_current_xact_id_if_assigned() IS NULL;
$$;

-- Stamp everything visible now; safe to call from anywhere at any time (the sweeper does).
-- Returns the last position assigned.
CREATE OR REPLACE FUNCTION eventstore.stamp(p_limit int DEFAULT 100000) RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM eventstore.stamp_without_flush_wait();
  PERFORM pg_advisory_xact_lock(7245301, 1);
  LOOP
    EXIT WHEN eventstore.stamp_locked(p_limit) < p_limit;
  END LOOP;
  RETURN coalesce((SELECT position_end FROM eventstore.runs ORDER BY position_end DESC LIMIT 1), 0);
END $$;

-- The global position of one seq, or NULL while it is not stamped. (PL/pgSQL rather than SQL: its
-- plan is cached, where an SQL function is planned anew on every call.)
CREATE OR REPLACE FUNCTION eventstore.position_of(p_seq bigint) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_end bigint;
  v_seq_end bigint;
BEGIN
  SELECT position_end, seq_end INTO v_end, v_seq_end
    FROM eventstore.runs WHERE seq_start <= p_seq ORDER BY seq_start DESC LIMIT 1;
  RETURN CASE WHEN v_seq_end >= p_seq THEN v_end - (v_seq_end - p_seq) END;
END $$;

-- True when the sweeper should stamp: an event awaits its position, or gaps await a horizon or
-- their end. (Stamps inside appends cannot vouch for a gap's horizon; without the sweeper the
-- gaps of rolled-back appends would pile up under a steady load of single appends.)
CREATE OR REPLACE FUNCTION eventstore.sweep_due() RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN (SELECT gap_count > 0 FROM eventstore.sequencer WHERE id = 1) OR eventstore.has_unstamped();
END $$;

-- True when some committed event still awaits its position.
CREATE OR REPLACE FUNCTION eventstore.has_unstamped() RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN (SELECT max(seq) FROM eventstore.events)
           > coalesce((SELECT seq_end FROM eventstore.runs ORDER BY seq_start DESC LIMIT 1), 0)
      OR ((SELECT gap_count FROM eventstore.sequencer WHERE id = 1) > 0 AND EXISTS (
            SELECT 1 FROM eventstore.gaps g
            CROSS JOIN LATERAL (SELECT 1 FROM eventstore.events e WHERE e.seq = g.seq LIMIT 1) visible));
END $$;

-- The position of the last of p_seqs once all of them are stamped, else NULL.
CREATE OR REPLACE FUNCTION eventstore.position_when_stamped(p_max_seq bigint, p_seqs bigint[]) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_position bigint := eventstore.position_of(p_max_seq);
BEGIN
  IF v_position IS NULL THEN
    RETURN NULL;
  END IF;
  IF (SELECT gap_count FROM eventstore.sequencer WHERE id = 1) > 0
     AND EXISTS (SELECT 1 FROM eventstore.gaps WHERE seq = ANY (p_seqs)) THEN
    RETURN NULL;
  END IF;
  RETURN v_position;
END $$;

-- With the sequencer lock held: stamp until all of p_seqs are stamped; returns the last one's position.
CREATE OR REPLACE FUNCTION eventstore.stamp_until(p_max_seq bigint, p_seqs bigint[]) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  v_position bigint;
BEGIN
  LOOP
    PERFORM eventstore.stamp_locked(100000);
    v_position := eventstore.position_when_stamped(p_max_seq, p_seqs);
    IF v_position IS NOT NULL THEN
      RETURN v_position;
    END IF;
  END LOOP;
END $$;

-- For appenders whose events were committed without a position: wait for the sequencer lock,
-- stamp everything visible (their events included: they are committed) and return the position of
-- each given seq. A process sends the seqs of all its waiting appenders in one call, so under load
-- one stamp serves many appends and no appender waits for a notification.
CREATE OR REPLACE FUNCTION eventstore.locate(p_seqs bigint[]) RETURNS TABLE (seq bigint, "position" bigint)
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM eventstore.stamp_without_flush_wait();
  PERFORM pg_advisory_xact_lock(7245301, 1);
  LOOP
    EXIT WHEN eventstore.stamp_locked(100000) < 100000;
  END LOOP;
  RETURN QUERY SELECT s, eventstore.position_of(s) FROM unnest(p_seqs) AS s;
END $$;

-- Append events to one stream, atomically, as one statement of a longer transaction (appendMany's;
-- single appends go through eventstore.append_batch). p_data and p_metadata are JSON arrays, one
-- element per event. p_expected: the version the first new event gets (seed 000's version tag), 0
-- for any version, -1 for "the stream must not exist".
-- Returns status 'ok' with the last event's version and the seqs to pass to eventstore.locate after
-- the commit (the position stays NULL: stamping here would hold the sequencer lock across the rest
-- of the transaction); or 'wrong_version' with the current version, 'stream_deleted', 'duplicate'
-- (every event id is stored already: the first result) or 'event_id_conflict'.
-- When another append wins the race for the same version, it raises SQLSTATE OM409 so that nothing
-- of this one is written: call eventstore.append_outcome to learn why.
-- (It once took an eighth argument, whether to stamp in its own transaction: dropped.)
DROP FUNCTION IF EXISTS eventstore.append(text, bigint, uuid[], text[], jsonb, jsonb, int[], boolean);
CREATE OR REPLACE FUNCTION eventstore.append(
  p_stream text,
  p_expected bigint,
  p_ids uuid[],
  p_types text[],
  p_data jsonb,
  p_metadata jsonb,
  p_schema_versions int[],
  OUT status text,
  OUT version bigint,
  OUT "position" bigint,
  OUT seqs bigint[]
)
LANGUAGE plpgsql AS $$
DECLARE
  v_n int := cardinality(p_ids);
  v_cur bigint;
  v_first bigint;
  v_deleted boolean;
BEGIN
  -- One statement (each costs a round of the executor): whether the stream is deleted, its version,
  -- and an xid for this transaction. The sequencer forgets a gap only once every xid older than it
  -- has ended, so this transaction must hold an xid before it takes a seq.
  SELECT (SELECT s.deleted_at IS NOT NULL FROM eventstore.streams s WHERE s.stream_id = p_stream),
         (SELECT coalesce(max(e.version), 0) FROM eventstore.events e WHERE e.stream_id = p_stream)
    INTO v_deleted, v_cur
    FROM pg_current_xact_id() AS xid;
  IF v_deleted THEN
    status := 'stream_deleted';
    RETURN;
  END IF;
  v_first := CASE WHEN p_expected > 0 THEN p_expected WHEN p_expected = -1 THEN 1 ELSE v_cur + 1 END;
  IF v_first <> v_cur + 1 OR (p_expected = 0 AND EXISTS (SELECT 1 FROM eventstore.events e WHERE e.id = p_ids[1])) THEN
    SELECT o.status, o.version, o."position" INTO status, version, "position"
      FROM eventstore.append_outcome(p_stream, p_ids) o;
    RETURN;
  END IF;

  WITH ins AS (
    INSERT INTO eventstore.events AS e (seq, stream_id, version, id, type, schema_version, data, metadata)
    SELECT nextval('eventstore.event_seq'), p_stream, v_first + u.ord - 1, u.id, u.type, u.sv,
           p_data -> (u.ord::int - 1), coalesce(p_metadata -> (u.ord::int - 1), '{}')
    FROM (
      SELECT * FROM unnest(p_ids, p_types, p_schema_versions) WITH ORDINALITY AS x(id, type, sv, ord)
      ORDER BY x.ord
    ) u
    ON CONFLICT DO NOTHING
    RETURNING e.seq
  )
  SELECT array_agg(ins.seq) INTO seqs FROM ins;
  IF coalesce(cardinality(seqs), 0) <> v_n THEN
    RAISE EXCEPTION USING ERRCODE = 'OM409', MESSAGE = 'append conflict';
  END IF;
  status := 'ok';
  version := v_first + v_n - 1;
END $$;

-- Why an append did not go through: 'duplicate' when all its event ids are stored in the stream
-- (with the first append's version and position), 'event_id_conflict' when some ids are stored,
-- else 'wrong_version' with the stream's current version.
CREATE OR REPLACE FUNCTION eventstore.append_outcome(
  p_stream text, p_ids uuid[], OUT status text, OUT version bigint, OUT "position" bigint
)
LANGUAGE plpgsql AS $$
DECLARE
  v_found int;
  v_max_seq bigint;
BEGIN
  SELECT count(*), max(e.version), max(e.seq) INTO v_found, version, v_max_seq
    FROM eventstore.events e WHERE e.id = ANY (p_ids) AND e.stream_id = p_stream;
  IF v_found = cardinality(p_ids) THEN
    status := 'duplicate';
    "position" := eventstore.position_of(v_max_seq);
    IF "position" IS NULL THEN
      PERFORM eventstore.stamp();
      "position" := eventstore.position_of(v_max_seq);
    END IF;
    RETURN;
  END IF;
  IF v_found > 0 OR EXISTS (SELECT 1 FROM eventstore.events e WHERE e.id = ANY (p_ids)) THEN
    status := 'event_id_conflict';
    version := NULL;
    RETURN;
  END IF;
  status := 'wrong_version';
  SELECT coalesce(max(e.version), 0) INTO version FROM eventstore.events e WHERE e.stream_id = p_stream;
END $$;

-- Group commit: several single-stream appends (of different streams) in one transaction, each
-- checked and written on its own, positions stamped before the commit. The events arrive as flat
-- arrays; p_appends[k] is the (1-based) append event k belongs to and p_offsets[k] its place in it.
-- The sequencer lock is taken first and held to the commit, so these appends take their seqs one
-- batch after another and stamp them in this same transaction: no gaps between batches, no second
-- transaction to learn a position. Per append: status 'ok' (with its last version and position),
-- 'stream_deleted', or 'conflict' (nothing of it written: ask eventstore.append_outcome why).
-- Call it as its transaction's one statement: the lock is held until the commit. It tells no
-- listener (NOTIFY): the caller does, after the commit (a NOTIFY in this transaction would hold
-- PostgreSQL's one notification lock through its flush, holding up every other NOTIFY).
-- (A version with a p_notify argument preceded it: dropped, so that no overload lingers.)
DROP FUNCTION IF EXISTS eventstore.append_batch(text[], bigint[], int[], int[], int[], uuid[], text[], jsonb, jsonb, int[], boolean);
CREATE OR REPLACE FUNCTION eventstore.append_batch(
  p_streams text[],
  p_expected bigint[],
  p_counts int[],
  p_appends int[],
  p_offsets int[],
  p_ids uuid[],
  p_types text[],
  p_data jsonb,
  p_metadata jsonb,
  p_schema_versions int[],
  OUT status text[],
  OUT version bigint[],
  OUT "position" bigint[]
)
LANGUAGE plpgsql
-- Its statements take arrays whose length a custom plan would be made for on every call (costing
-- more than running them); the generic plans are right for any length.
SET plan_cache_mode = force_generic_plan
SET jit = off
AS $$
DECLARE
  v_first bigint[];
  v_wanted int;
  v_seqs bigint[];
  v_min bigint;
  v_max bigint;
  v_n int;
  v_conflicts text[];
  v_base bigint;
BEGIN
  -- An xid before the seqs (see eventstore.append), then the lock, which orders the batches. (Its
  -- own statement: the next one's snapshot must be taken once the lock is held, to see the
  -- previous batch.)
  PERFORM pg_current_xact_id(), pg_advisory_xact_lock(7245301, 1);

  SELECT array_agg(CASE WHEN c.deleted THEN 'stream_deleted' WHEN c.first = c.cur + 1 THEN 'ok' ELSE 'conflict' END
                   ORDER BY c.i),
         array_agg(CASE WHEN NOT c.deleted AND c.first = c.cur + 1 THEN c.first END ORDER BY c.i),
         coalesce(sum(c.n) FILTER (WHERE NOT c.deleted AND c.first = c.cur + 1), 0)
    INTO status, v_first, v_wanted
    FROM (
      SELECT a.i, a.n, coalesce(s.deleted, false) AS deleted, s.cur,
             CASE WHEN a.expected > 0 THEN a.expected WHEN a.expected = -1 THEN 1 ELSE s.cur + 1 END AS first
        FROM unnest(p_streams, p_expected, p_counts) WITH ORDINALITY AS a(stream, expected, n, i)
        CROSS JOIN LATERAL (
          SELECT (SELECT st.deleted_at IS NOT NULL FROM eventstore.streams st WHERE st.stream_id = a.stream) AS deleted,
                 (SELECT coalesce(max(e.version), 0) FROM eventstore.events e WHERE e.stream_id = a.stream) AS cur
        ) s
    ) c;
  IF v_wanted = 0 THEN
    RETURN;
  END IF;

  -- Seqs are taken in event order, so v_seqs (in seq order) lists the events in the order given.
  WITH ins AS (
    INSERT INTO eventstore.events AS e (seq, stream_id, version, id, type, schema_version, data, metadata)
    SELECT nextval('eventstore.event_seq'), p_streams[u.a], v_first[u.a] + u.k, u.id, u.type, u.sv,
           p_data -> (u.ord::int - 1), coalesce(p_metadata -> (u.ord::int - 1), '{}')
    FROM (
      SELECT * FROM unnest(p_appends, p_offsets, p_ids, p_types, p_schema_versions)
        WITH ORDINALITY AS x(a, k, id, type, sv, ord)
      WHERE v_first[x.a] IS NOT NULL
      ORDER BY x.ord
    ) u
    ON CONFLICT DO NOTHING
    RETURNING e.seq, e.stream_id
  )
  SELECT array_agg(ins.seq ORDER BY ins.seq), min(ins.seq), max(ins.seq), count(*)
    INTO v_seqs, v_min, v_max, v_n
    FROM ins;

  IF v_n <> v_wanted THEN
    -- Some rows met a conflict (another writer's version or event id): their appends are undone
    -- whole, the others stand.
    SELECT array_agg(a.stream) INTO v_conflicts
      FROM unnest(p_streams, p_counts, v_first) AS a(stream, n, first)
     WHERE a.first IS NOT NULL
       AND a.n <> (SELECT count(*) FROM eventstore.events e
                    WHERE e.stream_id = a.stream AND e.seq = ANY (v_seqs));
    DELETE FROM eventstore.events e WHERE e.seq = ANY (v_seqs) AND e.stream_id = ANY (v_conflicts);
    SELECT array_agg(e.seq ORDER BY e.seq), min(e.seq), max(e.seq), count(*) INTO v_seqs, v_min, v_max, v_n
      FROM eventstore.events e WHERE e.seq = ANY (v_seqs);
    SELECT array_agg(CASE WHEN x.st = ANY (v_conflicts) THEN 'conflict' ELSE x.st_status END ORDER BY x.i)
      INTO status
      FROM unnest(p_streams, status) WITH ORDINALITY AS x(st, st_status, i);
    IF v_n = 0 THEN
      RETURN;
    END IF;
  END IF;

  -- Stamp. The common case, cheaply: the seqs follow on from the newest run, which just grows
  -- (batches take their seqs one after another under the lock; only appenders that do not, such as
  -- appendMany's, take seqs in between). Otherwise the sequencer's stamp.
  -- (Every stamped seq was taken before v_min, so a run ending at v_min - 1 is the newest run
  -- and the one with the highest seqs.)
  IF v_max - v_min + 1 = v_n THEN
    UPDATE eventstore.runs r SET position_end = r.position_end + v_n, seq_end = v_max
     WHERE r.position_end = (SELECT max(t.position_end) FROM eventstore.runs t) AND r.seq_end = v_min - 1
    RETURNING r.position_end - v_n INTO v_base;
  END IF;
  IF v_base IS NULL THEN
    PERFORM eventstore.stamp_until(v_max, v_seqs);
  END IF;

  -- Append i's last event is the cum-th of v_seqs (cum: events of the appends written up to i).
  SELECT array_agg(CASE WHEN q.st = 'ok' THEN v_first[q.i] + q.n - 1 END ORDER BY q.i),
         array_agg(CASE WHEN q.st = 'ok' THEN coalesce(v_base + q.cum, eventstore.position_of(v_seqs[q.cum])) END
                   ORDER BY q.i)
    INTO version, "position"
    FROM (
      SELECT x.i, x.st, x.n, sum(x.n) FILTER (WHERE x.st = 'ok') OVER (ORDER BY x.i) AS cum
        FROM unnest(status, p_counts) WITH ORDINALITY AS x(st, n, i)
    ) q;
END $$;
