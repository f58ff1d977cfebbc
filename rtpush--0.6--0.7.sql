-- rtpush update script 0.6 -> 0.7.
--
-- 0.1 to 0.6 are released: their scripts are never edited.  Changes to
-- rtpush's SQL objects since 0.6 live here, one section per concern, in
-- the order of the install script's sections:
--   20 delivery  (the worker's read of a large transaction)
--   60 many databases (the cluster's delivery workers, superusers only)
-- There is no rtpush--0.7.sql: CREATE EXTENSION rtpush installs 0.1 and
-- applies the update scripts up to this one, so a new install and an
-- updated one are the same.

\echo Use "ALTER EXTENSION rtpush UPDATE TO '0.7'" to load this file. \quit

-- =====================================================================
-- 20: delivery (src/outbox_drain.c reads through this function)
-- =====================================================================

-- ---------------------------------------------------------------------
-- 20.2 The read of the transactions that were in progress at the lower
-- snapshot (rtpush--0.3--0.4.sql, 20.1) pages by id within each of them.
-- 0.4 matched them with "xid = ANY (array) AND (xid, id) > (after)": a
-- btree scan with an array key does not start at the row comparison's
-- bound, so every page of such a transaction's events began at its first
-- index entry and stepped over every event already read, delivered or not
-- yet vacuumed.  Draining a bulk INSERT of 200,000 events that was in
-- progress at the worker's last read touched ~750 buffers per page of
-- 1,000 near its end (quadratic in its size); with history on, whose
-- fetches give the worker an xid, that happened on most large backlogs
-- (bench/RESULTS.md, "History and catch-up").  Now each in-progress xid is
-- probed on its own with "xid = x AND id > bound": a page of 1,000 touches
-- a handful of buffers wherever it is in the transaction (TAP
-- 023_large_xact.pl).  Same signature, same results, same order.
-- ---------------------------------------------------------------------
CREATE OR REPLACE FUNCTION rtpush.fetch_window(after_xid xid8, after_id bigint, hi pg_snapshot,
                                               lo pg_snapshot, n integer)
RETURNS SETOF rtpush.outbox
LANGUAGE sql STABLE AS $$
    SELECT * FROM (
        -- transactions in progress at lo, now visible in hi: each one's
        -- rows after the paging key, by its own key range
        (SELECT o.* FROM pg_catalog.pg_snapshot_xip(lo) AS x(xid),
             LATERAL (SELECT i.* FROM rtpush.outbox i
                       WHERE i.xid = x.xid
                         AND i.id > (CASE WHEN x.xid = after_xid THEN after_id
                                          ELSE -9223372036854775808 END)
                       ORDER BY i.id LIMIT n) o
        WHERE x.xid >= after_xid
          AND pg_catalog.pg_visible_in_snapshot(x.xid, hi)
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
-- 60: many databases (src/launcher.c starts a delivery worker per
-- database; src/status_slots.c shows their slots)
-- =====================================================================

-- ---------------------------------------------------------------------
-- 60.1 The cluster's delivery workers, one row per database that has a
-- slot (rtpush.max_databases of them), seen from any database.  It names
-- every database of the cluster: superusers only, granted to no one.
-- rtpush.status still shows this database's own worker.
-- ---------------------------------------------------------------------
CREATE FUNCTION rtpush.database_workers(
    OUT datid oid, OUT datname text, OUT pid integer, OUT state text,
    OUT in_flight integer, OUT held integer, OUT delivered bigint, OUT failed bigint,
    OUT last_error text, OUT last_error_at timestamptz,
    OUT last_success_at timestamptz, OUT started_at timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'rtpush_database_workers'
LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION rtpush.database_workers() IS
    'rtpush: every database''s delivery worker, from shared memory (superusers only)';

CREATE VIEW rtpush.databases AS
SELECT * FROM rtpush.database_workers();

COMMENT ON VIEW rtpush.databases IS
    'rtpush: the cluster''s delivery workers, one row per database with a slot (superusers only)';

REVOKE ALL ON FUNCTION rtpush.database_workers() FROM PUBLIC;
REVOKE ALL ON rtpush.databases FROM PUBLIC;
