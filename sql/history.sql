-- History and catch-up (issue 17): the ring of partitions that
-- rtpush.history_maintain() keeps, and rtpush.history(): positions,
-- still-queued events, "more", "expired", authorization and bad input.
-- The worker delivers from another database (test/regress.conf): here
-- the rows the worker would write are written by hand.
\set VERBOSITY default
CREATE TEMP TABLE saved_rules AS SELECT * FROM rtpush.channel_rules;
DELETE FROM rtpush.channel_rules;
INSERT INTO rtpush.channel_rules (pattern, rule) VALUES ('private-user.{user_id}', 'owner');

-- ---- the ring -------------------------------------------------------
-- sixteen partitions, all free ([k, k + 1)), none readable by PUBLIC
SELECT count(*) AS partitions, count(*) FILTER (WHERE NOT in_use) AS free FROM rtpush.history_slots;
SELECT count(*) AS partitions FROM pg_inherits WHERE inhparent = 'rtpush.history'::regclass;
SELECT count(*) AS readable_by_public FROM pg_class c
 WHERE c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'rtpush.history'::regclass)
   AND has_table_privilege('public', c.oid, 'SELECT');
SELECT has_table_privilege('public', 'rtpush.history', 'SELECT') AS history_public,
       has_function_privilege('public', 'rtpush.history(text,text,text,integer)', 'EXECUTE') AS function_public;

-- one hour of retention at a fixed time: partitions of 7.5 minutes up to 15 minutes ahead
SELECT rtpush.history_maintain('1 hour', '2026-01-01 12:00:00+00') = rtpush.history_position_at('2026-01-01 12:15:00+00') AS covers_15_minutes;
SELECT slot, to_timestamp((lo >> 20) / 1000.0) AT TIME ZONE 'UTC' AS from_, to_timestamp((hi >> 20) / 1000.0) AT TIME ZONE 'UTC' AS to_
  FROM rtpush.history_slots WHERE in_use ORDER BY lo;
-- again at the same time: nothing to do
SELECT rtpush.history_maintain('1 hour', '2026-01-01 12:00:00+00') = rtpush.history_position_at('2026-01-01 12:15:00+00') AS unchanged;
-- ten minutes later: two more, up to 12:30
SELECT rtpush.history_maintain('1 hour', '2026-01-01 12:10:00+00') = rtpush.history_position_at('2026-01-01 12:30:00+00') AS covers_30;
SELECT slot, to_timestamp((lo >> 20) / 1000.0) AT TIME ZONE 'UTC' AS from_ FROM rtpush.history_slots WHERE in_use ORDER BY lo;
-- at 13:10, slot 0 (to 12:07:30) is older than the retention: recycled, and a free one filled, from 13:10
SELECT rtpush.history_maintain('1 hour', '2026-01-01 13:10:00+00') = rtpush.history_position_at('2026-01-01 13:25:00+00') AS covers_13_25;
SELECT slot, to_timestamp((lo >> 20) / 1000.0) AT TIME ZONE 'UTC' AS from_, to_timestamp((hi >> 20) / 1000.0) AT TIME ZONE 'UTC' AS to_
  FROM rtpush.history_slots WHERE in_use ORDER BY lo;
-- a day later, everything is older: the ring starts again at now
SELECT rtpush.history_maintain('1 hour', '2026-01-02 12:00:00+00') = rtpush.history_position_at('2026-01-02 12:15:00+00') AS covers_day_later;
SELECT count(*) AS in_use, min(to_timestamp((lo >> 20) / 1000.0) AT TIME ZONE 'UTC') AS oldest
  FROM rtpush.history_slots WHERE in_use;
-- a shorter retention (8 s) at 12:10: partitions made for an hour are cut back, or freed
SELECT rtpush.history_maintain('1 hour', '2026-01-02 12:10:00+00') > 0 AS kept_up;
INSERT INTO rtpush.history (position, ids, channel, events, data, positions)
  VALUES (rtpush.history_position_at('2026-01-02 12:09:00+00'), '{1}', 'c', '{e}', '{"{}"}',
          ARRAY[rtpush.history_position_at('2026-01-02 12:09:00+00')]);
SELECT rtpush.history_maintain('8 seconds', '2026-01-02 12:10:00+00') = rtpush.history_position_at('2026-01-02 12:10:02+00') AS covers_2_s;
SELECT slot, to_timestamp((lo >> 20) / 1000.0) AT TIME ZONE 'UTC' AS from_, to_timestamp((hi >> 20) / 1000.0) AT TIME ZONE 'UTC' AS to_
  FROM rtpush.history_slots WHERE in_use ORDER BY lo;
SELECT count(*) AS kept FROM rtpush.history;
-- 8 s later the cut-back one is older than the retention: recycled, its row gone
SELECT rtpush.history_maintain('8 seconds', '2026-01-02 12:10:10+00') > 0 AS kept_up;
SELECT count(*) AS kept, (SELECT count(*) FROM rtpush.history_slots WHERE in_use) AS in_use FROM rtpush.history;
-- a growing retention while the narrow partitions have not aged out: when
-- every partition is in use, the newest reaches further
SELECT count(rtpush.history_maintain('80 seconds', '2026-01-03 12:00:00+00'::timestamptz + g * interval '1 second'))
  FROM generate_series(0, 120) g;
SELECT count(*) AS in_use FROM rtpush.history_slots WHERE in_use;
SELECT rtpush.history_maintain('1 hours', '2026-01-03 12:02:01+00') >= rtpush.history_position_at('2026-01-03 12:02:01+00'::timestamptz + interval '1 hours' / 4) AS ahead_1h;
SELECT count(*) AS in_use FROM rtpush.history_slots WHERE in_use;
SELECT rtpush.history_maintain('4 hours', '2026-01-03 12:02:02+00') >= rtpush.history_position_at('2026-01-03 12:02:02+00'::timestamptz + interval '4 hours' / 4) AS ahead_4h;
SELECT count(*) AS in_use FROM rtpush.history_slots WHERE in_use;
SELECT rtpush.history_maintain('16 hours', '2026-01-03 12:02:03+00') >= rtpush.history_position_at('2026-01-03 12:02:03+00'::timestamptz + interval '16 hours' / 4) AS ahead_16h;
SELECT count(*) AS in_use FROM rtpush.history_slots WHERE in_use;
SELECT rtpush.history_maintain('64 hours', '2026-01-03 12:02:04+00') >= rtpush.history_position_at('2026-01-03 12:02:04+00'::timestamptz + interval '64 hours' / 4) AS ahead_64h;
SELECT count(*) AS in_use FROM rtpush.history_slots WHERE in_use;
SELECT rtpush.history_maintain('256 hours', '2026-01-03 12:02:05+00') >= rtpush.history_position_at('2026-01-03 12:02:05+00'::timestamptz + interval '256 hours' / 4) AS ahead_256h;
SELECT count(*) AS in_use FROM rtpush.history_slots WHERE in_use;
SELECT max(to_timestamp((hi >> 20) / 1000.0) AT TIME ZONE 'UTC') AS reaches FROM rtpush.history_slots WHERE in_use;
SELECT bool_and(pg_get_expr(c.relpartbound, c.oid) = format('FOR VALUES FROM (''%s'') TO (''%s'')', s.lo, s.hi)) AS bounds_match
  FROM rtpush.history_slots s JOIN pg_class c ON c.oid = rtpush.history_slot_table(s.slot)::regclass;
-- the partitions are members of the extension, as the bookkeeping says
SELECT count(*) AS members FROM pg_depend d JOIN pg_inherits i ON d.objid = i.inhrelid
 WHERE i.inhparent = 'rtpush.history'::regclass AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'rtpush')
   AND d.deptype = 'e';
SELECT bool_and(pg_get_expr(c.relpartbound, c.oid) = format('FOR VALUES FROM (''%s'') TO (''%s'')', s.lo, s.hi)) AS bounds_match
  FROM rtpush.history_slots s JOIN pg_class c ON c.oid = rtpush.history_slot_table(s.slot)::regclass;
-- a negative retention is refused; 0 frees every partition
SELECT rtpush.history_maintain('-1 hour');
SELECT rtpush.history_maintain('0') AS covered;
SELECT count(*) AS in_use FROM rtpush.history_slots WHERE in_use;

-- ---- rtpush.history() -------------------------------------------------
SELECT rtpush.history_maintain('1 day') > rtpush.history_position_at(now()) AS covered_now;
SELECT rtpush.history_position_at(now()) AS p0 \gset
-- three delivered events on user 7's channel (two fetched together, in one
-- row; one in a later fetch), one on another channel
INSERT INTO rtpush.history (position, positions, ids, channel, events, data) VALUES
  (:p0 + 1, ARRAY[:p0 + 1, :p0 + 2], '{101,103}', 'private-user.7', '{message-sent,message-sent}',
   ARRAY['{"rtpush_id":101,"n":1}', '{"rtpush_id":103,"n":2}']),
  (:p0 + 3, ARRAY[:p0 + 3], '{102}', 'private-user.7', '{message-sent}', ARRAY['{"rtpush_id":102,"n":3}']),
  (:p0 + 4, ARRAY[:p0 + 4], '{104}', 'private-user.8', '{message-sent}', ARRAY['{"n":4}']);
-- the same, one row per event
SELECT position - :p0 AS position, id, channel, event, data FROM rtpush.history_events ORDER BY position;
-- two queued: one of them (101) also in history (in flight), and one not yet
DELETE FROM rtpush.outbox;
SELECT rtpush.send('private-user.7', 'message-sent', '{"n":5}') AS queued_id \gset
INSERT INTO rtpush.outbox (id, channels, event, data) VALUES (101, '{private-user.7}', 'message-sent', '{"n":1}');
SELECT rtpush.send('public-news', 'x', '{"n":6}') IS NOT NULL AS other_channel;

-- from the start: by position, then what is queued (no position)
SELECT jsonb_pretty(jsonb_set(rtpush.history('7', 'private-user.7'), '{events}',
       (SELECT jsonb_agg(e - 'position' || jsonb_build_object('has_position', e->'position' <> 'null',
                         'id', CASE WHEN e->>'id' = :'queued_id' THEN 'the one sent' ELSE e->>'id' END))
          FROM jsonb_array_elements(rtpush.history('7', 'private-user.7')->'events') e)));
-- after the first (inside a row): the second, the third, then the queued one
SELECT CASE WHEN e->>'id' = :'queued_id' THEN 'the one sent' ELSE e->>'id' END AS id, (e->>'position')::bigint - :p0 AS position
  FROM jsonb_array_elements(rtpush.history('7', 'private-user.7', (:p0 + 1)::text)->'events') e;
-- after the second: the third, then the queued one
SELECT CASE WHEN e->>'id' = :'queued_id' THEN 'the one sent' ELSE e->>'id' END AS id, e->>'event' AS event
  FROM jsonb_array_elements(rtpush.history('7', 'private-user.7', (:p0 + 2)::text)->'events') e;
-- two at a time: "more"
SELECT jsonb_array_length(r->'events') AS n, r->'more' AS more, r->'expired' AS expired
  FROM rtpush.history('7', 'private-user.7', NULL, 2) r;
SELECT jsonb_array_length(r->'events') AS n, r->'more' AS more
  FROM rtpush.history('7', 'private-user.7', (:p0 + 2)::text, 2) r;
SELECT jsonb_array_length(r->'events') AS n, r->'more' AS more
  FROM rtpush.history('7', 'private-user.7', (:p0 + 3)::text, 1) r;
-- a position older than what is kept, or from the future: expired, with what is kept
SELECT r->'expired' AS expired, jsonb_array_length(r->'events') AS n FROM rtpush.history('7', 'private-user.7', '1') r;
SELECT r->'expired' AS expired FROM rtpush.history('7', 'private-user.7',
       rtpush.history_position_at(now() + interval '1 hour')::text) r;
SELECT r->'expired' AS expired FROM rtpush.history('7', 'private-user.7', (:p0 + 3)::text) r;

-- ---- authorization: deny by default, the subscription's rules --------
SELECT rtpush.history('8', 'private-user.7');
SELECT rtpush.history('7', 'private-nobody.7');
-- a public channel: anyone may subscribe, and so read its history
SELECT e->>'event' AS event, e->>'data' AS data FROM jsonb_array_elements(rtpush.history('8', 'public-news')->'events') e;
-- ---- bad input ------------------------------------------------------
SELECT rtpush.history('7', 'private-user.7', 'abc');
SELECT rtpush.history('7', 'private-user.7', '-5');
SELECT rtpush.history('7', 'private-user.7', '99999999999999999999');
SELECT rtpush.history('7', 'private-user.7', NULL, 0);
SELECT rtpush.history('7', 'private-user.7', NULL, 1001);
SELECT rtpush.history('7', 'private user');
SELECT rtpush.history(NULL, 'private-user.7');
SELECT rtpush.history('', 'private-user.7');
-- (history off, rtpush.history_retention = 0, is a reload: test/t/017_history.pl)

-- ---- a role with EXECUTE only reads through the function -------------
CREATE ROLE history_app;
GRANT USAGE ON SCHEMA rtpush TO history_app;
GRANT EXECUTE ON FUNCTION rtpush.history(text, text, text, integer) TO history_app;
SET ROLE history_app;
SELECT jsonb_array_length(rtpush.history('7', 'private-user.7')->'events') AS n;
SELECT count(*) FROM rtpush.history;
SELECT count(*) FROM rtpush.history_00;
SELECT count(*) FROM rtpush.history_events;
-- the last position: refused until granted, then read as the owner
SELECT rtpush.history_last_position() > 0 AS positioned;
RESET ROLE;
SELECT max(position) AS last FROM rtpush.history_events \gset
GRANT EXECUTE ON FUNCTION rtpush.history_last_position() TO history_app;
SET ROLE history_app;
SELECT rtpush.history_last_position() = :last AS last_position;
RESET ROLE;
REVOKE ALL ON SCHEMA rtpush FROM history_app;
REVOKE ALL ON FUNCTION rtpush.history(text, text, text, integer) FROM history_app;
REVOKE ALL ON FUNCTION rtpush.history_last_position() FROM history_app;
DROP ROLE history_app;

-- clean up
DELETE FROM rtpush.outbox;
SELECT rtpush.history_maintain('0') AS freed;
DELETE FROM rtpush.channel_rules;
INSERT INTO rtpush.channel_rules SELECT * FROM saved_rules;
