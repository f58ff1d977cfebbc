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
-- milliseconds since 1970 shifted left by 20 bits, plus a counter, and
-- always greater than the worker's previous one.  Positions therefore
-- increase in the order the worker reads, and so delivers, the events of a
-- channel, survive a restart or a failover (the clock goes on), and tell
-- the time they were given, which is what the partitions are cut by.
--
-- rtpush.history is partitioned by position ranges, one partition per
-- stretch of time (rtpush.history_retention / 8, between 1 s and 1 h).
-- The worker creates partitions ahead and drops those older than the
-- retention (rtpush.history_maintain()): the table and its index stay flat
-- without VACUUM FULL.  Its partitions are members of the extension, like
-- the outbox they are not dumped, and DROP EXTENSION drops them.

-- One row per event and channel, with the data as clients get it live
-- (before encryption): holds PHI, not readable by PUBLIC.
CREATE TABLE rtpush.history (
    position    bigint      NOT NULL,
    id          bigint      NOT NULL,
    channel     text        NOT NULL,
    event       text        NOT NULL,
    data        text        NOT NULL
) PARTITION BY RANGE (position);

CREATE INDEX history_channel_position ON rtpush.history (channel, position);

COMMENT ON TABLE rtpush.history IS
    'rtpush: delivered and in-flight events, kept for rtpush.history_retention (holds PHI: not readable by PUBLIC)';

-- The partitions that exist: [lo, hi) position ranges.
CREATE TABLE rtpush.history_partitions (
    partition   regclass    NOT NULL PRIMARY KEY,
    lo          bigint      NOT NULL UNIQUE,
    hi          bigint      NOT NULL,
    CHECK (lo < hi)
);

COMMENT ON TABLE rtpush.history_partitions IS
    'rtpush: the partitions of rtpush.history and the position range each holds';

-- expired_before: every position below it may have been dropped.
CREATE TABLE rtpush.history_state (
    singleton       boolean     NOT NULL PRIMARY KEY DEFAULT true CHECK (singleton),
    expired_before  bigint      NOT NULL DEFAULT 0
);
INSERT INTO rtpush.history_state DEFAULT VALUES;

COMMENT ON TABLE rtpush.history_state IS
    'rtpush: positions below expired_before may have been dropped from rtpush.history';

REVOKE ALL ON rtpush.history, rtpush.history_partitions, rtpush.history_state FROM PUBLIC;

-- The smallest position the worker can give at time t.
CREATE FUNCTION rtpush.history_position_at(t timestamptz) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT pg_catalog.floor(pg_catalog.date_part('epoch', t) * 1000)::bigint OPERATOR(pg_catalog.<<) 20
$$;

COMMENT ON FUNCTION rtpush.history_position_at(timestamptz) IS
    'rtpush: the smallest history position given at time t (the clock in ms, shifted left by 20 bits)';

-- Drops the partitions older than the retention (every one when it is 0),
-- creates those up to two widths ahead of now, and returns the position up
-- to which partitions exist (0 with the retention 0).  Run by the worker in
-- its own short transaction; waits at most a second for a lock.
CREATE FUNCTION rtpush.history_maintain(retention interval,
                                        now timestamptz DEFAULT pg_catalog.clock_timestamp())
RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    width   interval;
    horizon bigint;
    lo      bigint;
    hi      bigint;
    ahead   bigint;
    part    record;
    name    text;
BEGIN
    IF retention < interval '0' THEN
        RAISE EXCEPTION 'invalid history retention "%"', retention
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'The retention must not be negative.',
                  HINT = 'Set rtpush.history_retention to 0 (history off) or a positive duration.';
    END IF;
    PERFORM set_config('lock_timeout', '1s', true);

    horizon := CASE WHEN retention = interval '0' THEN 9223372036854775807
                    ELSE rtpush.history_position_at(now - retention) END;
    FOR part IN SELECT p.partition, p.hi FROM rtpush.history_partitions p
                WHERE p.hi <= horizon ORDER BY p.lo LOOP
        EXECUTE format('ALTER EXTENSION rtpush DROP TABLE %s', part.partition);
        EXECUTE format('DROP TABLE %s', part.partition);
        DELETE FROM rtpush.history_partitions p WHERE p.partition = part.partition;
        UPDATE rtpush.history_state s SET expired_before = greatest(s.expired_before, part.hi);
    END LOOP;
    IF retention = interval '0' THEN
        RETURN 0;
    END IF;

    width := least(greatest(retention / 8, interval '1 second'), interval '1 hour');
    ahead := rtpush.history_position_at(now + 2 * width);
    SELECT max(p.hi) INTO hi FROM rtpush.history_partitions p;
    hi := greatest(coalesce(hi, 0), rtpush.history_position_at(now));
    WHILE hi < ahead LOOP
        lo := hi;
        hi := rtpush.history_position_at(to_timestamp(((lo >> 20) / 1000.0)::double precision) + width);
        name := format('rtpush.history_%s', lo >> 20);
        EXECUTE format('CREATE TABLE %s PARTITION OF rtpush.history FOR VALUES FROM (%s) TO (%s)',
                       name, lo, hi);
        EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', name);
        EXECUTE format('ALTER EXTENSION rtpush ADD TABLE %s', name);
        INSERT INTO rtpush.history_partitions VALUES (name::regclass, lo, hi);
    END LOOP;
    RETURN hi;
END
$$;

COMMENT ON FUNCTION rtpush.history_maintain(interval, timestamptz) IS
    'rtpush: drops history older than the retention and creates partitions ahead; returns the position they reach';

REVOKE ALL ON FUNCTION rtpush.history_maintain(interval, timestamptz) FROM PUBLIC;
