-- The worker's read of the outbox (rtpush.fetch_window) as a range scan of
-- the primary key: what it returns, and how many index entries it walks to
-- return it.  A window ends at its upper snapshot's xmax, so the last read of
-- a window does not walk the rows committed after the snapshot was taken
-- (with delivery behind, that is the whole backlog, at every window).
-- The worker plans with enable_seqscan off (outbox_plan_settings() in
-- src/outbox_drain.c), and so does this test; bitmap scans are off here too,
-- to show the plain index scan the worker's generic plan uses.
SET client_min_messages = warning;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
TRUNCATE rtpush.outbox;

-- the worker's query, as it prepares it (a generic plan with parameters)
SET plan_cache_mode = force_generic_plan;
PREPARE worker_fetch(xid8, bigint, text, text, integer) AS
SELECT id, channels, event, data::text, socket_id, attempts, queued_at, next_attempt_at, xid
FROM rtpush.fetch_window($1, $2, $3::pg_snapshot, $4::pg_snapshot, $5);

-- rows it returns, and index entries it walks past without returning them
CREATE FUNCTION pg_temp.walked(after_xid xid8, after_id bigint, hi pg_snapshot,
                               lo pg_snapshot, n integer)
RETURNS TABLE (returned bigint, walked_past bigint)
LANGUAGE plpgsql AS $$
DECLARE
    plan json;
BEGIN
    EXECUTE format('EXPLAIN (ANALYZE, TIMING OFF, SUMMARY OFF, FORMAT JSON) EXECUTE worker_fetch(%L, %s, %L, %L, %s)',
                   after_xid, after_id, hi, lo, n) INTO plan;
    IF plan::text NOT LIKE '%"Index Name": "outbox_pkey"%' THEN
        RAISE EXCEPTION 'the read does not scan outbox_pkey: %', plan;
    END IF;
    RETURN QUERY SELECT (plan -> 0 -> 'Plan' ->> 'Actual Rows')::numeric::bigint, -- 18: "100.00"
        coalesce((SELECT sum(m[1]::bigint) FROM regexp_matches(plan::text,
                  '"Rows Removed by (?:Filter|Index Recheck)": (\d+)', 'g') AS m), 0)::bigint;
END $$;

-- the window's upper snapshot is taken, then 300 events commit after it
CREATE TEMP TABLE win AS SELECT pg_current_snapshot() AS hi;
SELECT count(rtpush.send('private-w', 'late', jsonb_build_object('n', g))) AS queued_after
FROM generate_series(1, 300) g;

-- the window holds none of them, and reading it walks none of them
SELECT w.* FROM win, pg_temp.walked('0', 0, win.hi, NULL, 100) w;
SELECT count(*) AS in_old_window
FROM win, rtpush.fetch_window('0', 0, win.hi, NULL, 1000);

-- a window taken now holds all 300, read in pages, in id order
UPDATE win SET hi = pg_current_snapshot();
SELECT w.* FROM win, pg_temp.walked('0', 0, win.hi, NULL, 100) w;
SELECT count(*) AS rows, min((data->>'n')::int) AS first, max((data->>'n')::int) AS last,
       bool_and(event = 'late') AS all_late
FROM win, rtpush.fetch_window('0', 0, win.hi, NULL, 1000);
SELECT (data->>'n')::int AS second_page_starts_at
FROM win, rtpush.fetch_window(
    (SELECT xid FROM rtpush.outbox ORDER BY xid, id OFFSET 99 LIMIT 1),
    (SELECT id FROM rtpush.outbox ORDER BY xid, id OFFSET 99 LIMIT 1),
    win.hi, NULL, 1)
LIMIT 1;

-- the next window (lower snapshot: this one) holds none of them again, and
-- starts past them (at the lower snapshot's xmin)
SELECT w.* FROM win, pg_temp.walked(pg_snapshot_xmin(win.hi), 0, pg_current_snapshot(), win.hi, 1000) w;
SELECT count(*) AS in_next_window
FROM win, rtpush.fetch_window(pg_snapshot_xmin(win.hi), 0, pg_current_snapshot(), win.hi, 1000);

-- the worker's DELETE of delivered events (as src/outbox_drain.c prepares
-- it), planned on an outbox whose statistics say it is nearly empty: a
-- probe of the key per event and a delete by ctid; the join it replaced was
-- planned here as a join over a scan of the whole key, which with a backlog
-- read every queued row at every batch
TRUNCATE rtpush.outbox;
SELECT rtpush.send('private-w', 'one', '{}') > 0 AS queued;
ANALYZE rtpush.outbox;
PREPARE worker_delete(xid8[], bigint[]) AS
DELETE FROM rtpush.outbox WHERE ctid = ANY (ARRAY(
    SELECT (SELECT p.ctid FROM rtpush.outbox p WHERE p.xid = d.xid AND p.id = d.id)
    FROM unnest($1, $2) AS d(xid, id)));
-- EXPLAIN's text with the spelling of an InitPlan's value made one: "$2" and
-- "(returns $2)" before PostgreSQL 17, "(InitPlan 2).col1" since
CREATE FUNCTION pg_temp.plan(query text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    line text;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
        line := regexp_replace(line, ' \(returns \$\d+\)', '');
        RETURN NEXT regexp_replace(line, '\(InitPlan \d+\)\.col\d+|\$\d+', '<initplan value>', 'g');
    END LOOP;
END $$;
SELECT pg_temp.plan($q$EXECUTE worker_delete('{1}', '{1}')$q$) AS "QUERY PLAN";
PREPARE worker_delete_before(xid8[], bigint[]) AS
DELETE FROM rtpush.outbox o USING unnest($1, $2) AS d(xid, id) WHERE o.xid = d.xid AND o.id = d.id;
SELECT pg_temp.plan($q$EXECUTE worker_delete_before('{1}', '{1}')$q$) AS "QUERY PLAN";
-- and it deletes what it is given, nothing else
SELECT rtpush.send('private-w', 'two', '{}') > 0 AS queued;
SELECT array_agg(xid)::text AS one_xids, array_agg(id)::text AS one_ids
FROM rtpush.outbox WHERE event = 'one' \gset
EXECUTE worker_delete(:'one_xids', :'one_ids');
SELECT event FROM rtpush.outbox;
DEALLOCATE worker_delete;
DEALLOCATE worker_delete_before;

RESET enable_seqscan;
RESET enable_bitmapscan;
RESET plan_cache_mode;
DEALLOCATE worker_fetch;
TRUNCATE rtpush.outbox;
