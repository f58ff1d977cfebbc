-- rtpush update script 0.4 -> 0.5.
--
-- 0.1 to 0.4 are released: their scripts are never edited.  Changes to
-- rtpush's SQL objects since 0.4 live here, one section per concern, in
-- the order of the install script's sections:
--   50 history and catch-up  (a row per channel and fetch, not per event)
-- There is no rtpush--0.5.sql: CREATE EXTENSION rtpush installs 0.1 and
-- applies the update scripts up to this one, so a new install and an
-- updated one are the same.

\echo Use "ALTER EXTENSION rtpush UPDATE TO '0.5'" to load this file. \quit

-- =====================================================================
-- 50: history and catch-up (src/history_store.c writes, src/history_read.c
-- reads; nothing else touches these tables)
-- =====================================================================

-- ---------------------------------------------------------------------
-- 50.3 One history row per channel for the events of a channel the worker
-- reads in one fetch (at most HISTORY_GROUP_EVENTS of them, src/history_store.c),
-- instead of one per event.  0.4 wrote a row, and an index entry, per
-- event: with history on, delivery drained 0.78x the events per second it
-- drains with history off (bench/RESULTS.md, "History and catch-up").  A
-- row of a fetch's events holds their positions, ids, event names and
-- data as arrays, in position order; "position" is the first of them
-- (partitions and the index still cut by it).  Positions of a channel's
-- rows never overlap: a later fetch gives greater positions.  The update
-- rewrites history once: each 0.4 row becomes a row of one event.
--
-- data is compressed with lz4 where the server has it (a row longer than
-- about 2 kB is compressed in place; the events of a fetch share their
-- JSON keys): less to write and to keep.
-- ---------------------------------------------------------------------
ALTER TABLE rtpush.history ADD COLUMN positions bigint[];
ALTER TABLE rtpush.history
    ALTER COLUMN positions TYPE bigint[] USING ARRAY[position],
    ALTER COLUMN id TYPE bigint[] USING ARRAY[id],
    ALTER COLUMN event TYPE text[] USING ARRAY[event],
    ALTER COLUMN data TYPE text[] USING ARRAY[data],
    ALTER COLUMN positions SET NOT NULL;
ALTER TABLE rtpush.history RENAME COLUMN id TO ids;
ALTER TABLE rtpush.history RENAME COLUMN event TO events;

DO $$
BEGIN
    ALTER TABLE rtpush.history ALTER COLUMN data SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'this server has no lz4: rtpush.history keeps the default compression';
END
$$;

COMMENT ON TABLE rtpush.history IS
    'rtpush: delivered and in-flight events by channel, kept for rtpush.history_retention (holds PHI: not readable by PUBLIC)';

-- The events one by one, for a DBA to look at (holds PHI: not readable by
-- PUBLIC).  rtpush.history() reads the table itself.
CREATE VIEW rtpush.history_events AS
    SELECT e.position, e.id, h.channel, e.event, e.data
      FROM rtpush.history h,
           unnest(h.positions, h.ids, h.events, h.data) AS e(position, id, event, data);

COMMENT ON VIEW rtpush.history_events IS
    'rtpush: the events rtpush.history holds, one row per event and channel (holds PHI: not readable by PUBLIC)';

REVOKE ALL ON rtpush.history_events FROM PUBLIC;

-- The greatest position in history (0 when empty), now the last of a row's.
CREATE OR REPLACE FUNCTION rtpush.history_last_position() RETURNS bigint
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    k       integer;
    last    bigint;
BEGIN
    FOR k IN SELECT s.slot FROM rtpush.history_slots s WHERE s.in_use ORDER BY s.lo DESC LOOP
        EXECUTE format('SELECT max(positions[cardinality(positions)]) FROM %s', rtpush.history_slot_table(k))
            INTO last;
        IF last IS NOT NULL THEN
            RETURN last;
        END IF;
    END LOOP;
    RETURN 0;
END
$$;
