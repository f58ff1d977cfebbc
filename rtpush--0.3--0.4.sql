-- rtpush update script 0.3 -> 0.4.
--
-- 0.1, 0.2 and 0.3 are released: their scripts are never edited.  Changes
-- to rtpush's SQL objects since 0.3 live here, one section per concern, in
-- the order of the install script's sections:
--   00 the outbox and dead letter       (no change)
--   10 capture: send, broadcast, attach (no change)
--   20 delivery: the worker's read     (fetch_window skips delivered rows)
--   30 subscriber authorization         (no change)
--   50 history and catch-up             (new, issue 17)
-- There is no rtpush--0.4.sql: CREATE EXTENSION rtpush installs 0.1 and
-- applies the update scripts up to this one, so a new install and an
-- updated one are the same.

\echo Use "ALTER EXTENSION rtpush UPDATE TO '0.4'" to load this file. \quit

-- =====================================================================
-- 20: delivery
-- =====================================================================

-- ---------------------------------------------------------------------
-- 20.1 The worker's read no longer walks the rows it delivered (issue 22).
-- A window's new rows are those whose transaction was in progress at the
-- lower snapshot (its xip list) or began after it (xid >= its xmax): every
-- other xid at or above its xmin was visible in it, so its rows were read
-- in an earlier window.  0.1 paged from the lower snapshot's xmin instead;
-- while a session stayed idle in a transaction holding an xid, that xmin
-- stayed put, and every read walked the index entries of every row
-- delivered (deleted, but not yet removable) since that transaction began:
-- 11 ms and 2,100 buffers per read after 100,000 events.  Now the read
-- probes the xip list and starts the range at the xmax.  Same signature
-- and result, in the same (xid, id) order.
-- ---------------------------------------------------------------------
CREATE OR REPLACE FUNCTION rtpush.fetch_window(after_xid xid8, after_id bigint, hi pg_snapshot,
                                               lo pg_snapshot, n integer)
RETURNS SETOF rtpush.outbox
LANGUAGE sql STABLE AS $$
    SELECT * FROM (
        -- transactions in progress at lo, now visible in hi
        (SELECT o.* FROM rtpush.outbox o
        WHERE o.xid = ANY (ARRAY(SELECT pg_catalog.pg_snapshot_xip(lo)))
          AND (o.xid, o.id) > (after_xid, after_id)
          AND pg_catalog.pg_visible_in_snapshot(o.xid, hi)
         ORDER BY o.xid, o.id LIMIT n)
        UNION ALL
        -- transactions that began after lo (all of them without lo)
        (SELECT o.* FROM rtpush.outbox o
        WHERE (o.xid, o.id) > (CASE WHEN lo IS NULL OR after_xid >= pg_catalog.pg_snapshot_xmax(lo)
                                    THEN after_xid ELSE pg_catalog.pg_snapshot_xmax(lo) END,
                               CASE WHEN lo IS NULL OR after_xid >= pg_catalog.pg_snapshot_xmax(lo)
                                    THEN after_id ELSE -9223372036854775808 END)
          AND o.xid < pg_catalog.pg_snapshot_xmax(hi)
          AND pg_catalog.pg_visible_in_snapshot(o.xid, hi)
         ORDER BY o.xid, o.id LIMIT n)
    ) o
    ORDER BY o.xid, o.id
    LIMIT n
$$;

-- =====================================================================
-- 50: history and catch-up (src/history_store.c writes, src/history_read.c
-- reads; nothing else touches these tables)
-- =====================================================================
--
-- The worker gives every event it is about to deliver a position and
-- records it here, in the same short transaction that reads it from the
-- outbox, before any request is sent: an event a client can have received
-- live is always in history.  A position is a bigint, shown to clients as
-- its decimal text (an opaque string to them): the worker's clock in
-- milliseconds since 1970 shifted left by 20 bits, or one more than the
-- worker's previous one when that is greater.  Positions therefore
-- increase in the order the worker reads, and so delivers, the events of a
-- channel, survive a restart or a failover (the clock goes on), and tell
-- the time they were given, which is what the partitions are cut by.
--
-- rtpush.history is partitioned by position ranges: a ring of sixteen
-- partitions, rtpush.history_00 to rtpush.history_15, each holding a
-- stretch of time (rtpush.history_retention / 8, at least a second).  The
-- worker (rtpush.history_maintain()) recycles a partition older than the
-- retention by dropping it and creating it again, empty, ahead of now: the
-- table and its indexes stay flat without VACUUM FULL, and no TRUNCATE or
-- DELETE is ever replicated.  The names never change, and all sixteen
-- always exist, so that a publication FOR ALL TABLES replicates the same
-- tables a subscriber running rtpush has (whose skip_replicated_row
-- triggers drop the rows: each database keeps its own history).  A free
-- partition holds the range [k, k + 1), far below any position.  Like the
-- outbox, history is not dumped; DROP EXTENSION drops it.

-- One row per event and channel, with the data as clients get it live
-- (before encryption): holds PHI, not readable by PUBLIC.
CREATE TABLE rtpush.history (
    position    bigint      NOT NULL,
    id          bigint      NOT NULL,
    channel     text        COLLATE "C" NOT NULL,   -- compared byte-wise: the index stays cheap in any locale
    event       text        NOT NULL,
    data        text        NOT NULL
) PARTITION BY RANGE (position);

CREATE INDEX history_channel_position ON rtpush.history (channel, position);

COMMENT ON TABLE rtpush.history IS
    'rtpush: delivered and in-flight events, kept for rtpush.history_retention (holds PHI: not readable by PUBLIC)';

-- The ring: which partition holds which [lo, hi) range.
CREATE TABLE rtpush.history_slots (
    slot        integer     NOT NULL PRIMARY KEY CHECK (slot BETWEEN 0 AND 15),
    lo          bigint      NOT NULL,
    hi          bigint      NOT NULL,
    in_use      boolean     NOT NULL,
    CHECK (lo < hi)
);

COMMENT ON TABLE rtpush.history_slots IS
    'rtpush: the sixteen partitions of rtpush.history and the position range each holds';

-- The name of a slot's partition.
CREATE FUNCTION rtpush.history_slot_table(slot integer) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT 'rtpush.history_' OPERATOR(pg_catalog.||) pg_catalog.lpad(slot::text, 2, '0')
$$;

DO $$
BEGIN
    FOR k IN 0..15 LOOP
        EXECUTE format('CREATE TABLE %s PARTITION OF rtpush.history FOR VALUES FROM (%s) TO (%s)',
                       rtpush.history_slot_table(k), k, k + 1);
        EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', rtpush.history_slot_table(k));
        INSERT INTO rtpush.history_slots VALUES (k, k, k + 1, false);
    END LOOP;
END
$$;

REVOKE ALL ON rtpush.history, rtpush.history_slots FROM PUBLIC;

-- Replicated rows are dropped on arrival (see section 00 of 0.1--0.2);
-- the partitions inherit the trigger and its ENABLE REPLICA state.
CREATE TRIGGER skip_replicated_row BEFORE INSERT OR UPDATE OR DELETE ON rtpush.history
    FOR EACH ROW EXECUTE FUNCTION rtpush.skip_replicated_row();
ALTER TABLE rtpush.history ENABLE REPLICA TRIGGER skip_replicated_row;
CREATE TRIGGER skip_replicated_row BEFORE INSERT OR UPDATE OR DELETE ON rtpush.history_slots
    FOR EACH ROW EXECUTE FUNCTION rtpush.skip_replicated_row();
ALTER TABLE rtpush.history_slots ENABLE REPLICA TRIGGER skip_replicated_row;

-- The smallest position the worker can give at time t.
CREATE FUNCTION rtpush.history_position_at(t timestamptz) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT pg_catalog.floor(pg_catalog.date_part('epoch', t) * 1000)::bigint OPERATOR(pg_catalog.<<) 20
$$;

COMMENT ON FUNCTION rtpush.history_position_at(timestamptz) IS
    'rtpush: the smallest history position given at time t (the clock in ms, shifted left by 20 bits)';

-- Empties a slot: its partition is dropped and created again with the
-- range [lo, hi), or the free range [slot, slot + 1) when lo is NULL.
CREATE FUNCTION rtpush.history_recycle(slot integer, lo bigint, hi bigint) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    name text := rtpush.history_slot_table(slot);
BEGIN
    IF lo IS NULL THEN
        lo := slot;
        hi := slot + 1;
    END IF;
    EXECUTE format('ALTER EXTENSION rtpush DROP TABLE %s', name);
    EXECUTE format('DROP TABLE %s', name);
    EXECUTE format('CREATE TABLE %s PARTITION OF rtpush.history FOR VALUES FROM (%s) TO (%s)', name, lo, hi);
    EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', name);
    EXECUTE format('ALTER EXTENSION rtpush ADD TABLE %s', name);
    UPDATE rtpush.history_slots s SET lo = history_recycle.lo, hi = history_recycle.hi,
                                      in_use = history_recycle.lo > 15
     WHERE s.slot = history_recycle.slot;
END
$$;

REVOKE ALL ON FUNCTION rtpush.history_recycle(integer, bigint, bigint) FROM PUBLIC;

-- Sets a partition's range to [lo, hi): detached and attached again (the
-- attach checks its rows against the new range).
CREATE FUNCTION rtpush.history_rebound(slot integer, lo bigint, hi bigint) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    name text := rtpush.history_slot_table(slot);
BEGIN
    EXECUTE format('ALTER TABLE rtpush.history DETACH PARTITION %s', name);
    EXECUTE format('ALTER TABLE rtpush.history ATTACH PARTITION %s FOR VALUES FROM (%s) TO (%s)', name, lo, hi);
    UPDATE rtpush.history_slots s SET lo = history_rebound.lo, hi = history_rebound.hi
     WHERE s.slot = history_rebound.slot;
END
$$;

REVOKE ALL ON FUNCTION rtpush.history_rebound(integer, bigint, bigint) FROM PUBLIC;

-- Frees the partitions older than the retention (every one when it is 0),
-- cuts back those made for a longer retention, fills free ones with the
-- stretches up to two widths ahead of now, and returns the position up to
-- which partitions exist (0 with the retention 0).  Run by the worker in a
-- subtransaction; waits at most 100 ms for a lock (readers of
-- rtpush.history hold one), and the worker tries again a second later.
CREATE FUNCTION rtpush.history_maintain(retention interval,
                                        now timestamptz DEFAULT pg_catalog.clock_timestamp())
RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET lock_timeout = '100ms' AS $$
DECLARE
    width   interval;
    span    bigint;
    horizon bigint;
    lo      bigint;
    hi      bigint;
    top     bigint;
    ahead   bigint;
    part    record;
    k       integer;
BEGIN
    IF retention IS NULL OR retention < interval '0' THEN
        RAISE EXCEPTION 'invalid history retention "%"', retention
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'The retention must not be negative.',
                  HINT = 'Set rtpush.history_retention to 0 (history off) or a positive duration.';
    END IF;
    horizon := CASE WHEN retention = interval '0' THEN 9223372036854775807
                    ELSE rtpush.history_position_at(now - retention) END;
    FOR k IN SELECT s.slot FROM rtpush.history_slots s WHERE s.in_use AND s.hi <= horizon ORDER BY s.lo LOOP
        PERFORM rtpush.history_recycle(k, NULL, NULL);
    END LOOP;
    IF retention = interval '0' THEN
        RETURN 0;
    END IF;

    width := greatest(retention / 8, interval '1 second');
    span := rtpush.history_position_at(now + width) - rtpush.history_position_at(now);
    ahead := rtpush.history_position_at(now + 2 * width);

    -- A shorter retention than the partitions were made for: those reaching
    -- past three widths ahead are freed when empty and ahead of now, else
    -- cut back to what they hold, and at least a width ahead.
    FOR part IN SELECT s.slot, s.lo, s.hi FROM rtpush.history_slots s
                 WHERE s.in_use AND s.hi - s.lo > 2 * span
                   AND s.hi > rtpush.history_position_at(now + 3 * width)
                 ORDER BY s.lo DESC LOOP
        EXECUTE format('SELECT max(position) FROM %s', rtpush.history_slot_table(part.slot)) INTO top;
        IF top IS NULL AND part.lo >= rtpush.history_position_at(now) THEN
            PERFORM rtpush.history_recycle(part.slot, NULL, NULL);
        ELSE
            hi := greatest(coalesce(top, part.lo) + 1, rtpush.history_position_at(now + width));
            IF hi < part.hi THEN
                PERFORM rtpush.history_rebound(part.slot, part.lo, hi);
            END IF;
        END IF;
    END LOOP;

    SELECT max(s.hi) INTO hi FROM rtpush.history_slots s WHERE s.in_use;
    hi := greatest(coalesce(hi, 0), rtpush.history_position_at(now));
    WHILE hi < ahead LOOP
        SELECT min(s.slot) INTO k FROM rtpush.history_slots s WHERE NOT s.in_use;
        IF k IS NULL THEN
            -- every partition in use (the retention grew, and the narrower
            -- ones have not aged out yet): the newest one reaches further
            SELECT s.slot, s.lo INTO k, lo FROM rtpush.history_slots s ORDER BY s.lo DESC LIMIT 1;
            hi := rtpush.history_position_at(now + 3 * width);
            PERFORM rtpush.history_rebound(k, lo, hi);
            EXIT;
        END IF;
        lo := hi;
        hi := rtpush.history_position_at(to_timestamp(((lo >> 20) / 1000.0)::double precision) + width);
        PERFORM rtpush.history_recycle(k, lo, hi);
    END LOOP;
    RETURN hi;
END
$$;

COMMENT ON FUNCTION rtpush.history_maintain(interval, timestamptz) IS
    'rtpush: frees history partitions older than the retention and fills free ones ahead; returns the position they reach';

REVOKE ALL ON FUNCTION rtpush.history_maintain(interval, timestamptz) FROM PUBLIC;

-- The greatest position in history (0 when empty): where the worker's
-- positions go on from after a restart, even if the clock went back.
-- Reads the newest partitions only, until one holds a row.
CREATE FUNCTION rtpush.history_last_position() RETURNS bigint
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    k       integer;
    last    bigint;
BEGIN
    FOR k IN SELECT s.slot FROM rtpush.history_slots s WHERE s.in_use ORDER BY s.lo DESC LOOP
        EXECUTE format('SELECT max(position) FROM %s', rtpush.history_slot_table(k)) INTO last;
        IF last IS NOT NULL THEN
            RETURN last;
        END IF;
    END LOOP;
    RETURN 0;
END
$$;

REVOKE ALL ON FUNCTION rtpush.history_last_position() FROM PUBLIC;

-- ---------------------------------------------------------------------
-- 50.2 Catch-up for clients (src/history_read.c): the events of a channel
-- after a position, delivered, in flight or still queued, authorized by
-- rtpush.channel_rules as a subscription is.  Not executable by PUBLIC;
-- grant it to the role of the app's history endpoint:
--   GRANT EXECUTE ON FUNCTION rtpush.history(text, text, text, integer) TO app;
-- It reads as the owner of rtpush.history: the role needs no access to the
-- tables.
-- ---------------------------------------------------------------------
CREATE FUNCTION rtpush.history(user_id text, channel text, after text DEFAULT NULL,
                               max_events integer DEFAULT 100) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'rtpush_history'
    LANGUAGE C STABLE;

COMMENT ON FUNCTION rtpush.history(text, text, text, integer) IS
    'rtpush: {"events": [{"id", "position", "event", "data"}...], "more", "expired"}: the events on channel after position after, if rtpush.channel_rules allow user_id';

REVOKE ALL ON FUNCTION rtpush.history(text, text, text, integer) FROM PUBLIC;
