-- The delivery side's SQL surface: the status view, the dead letter's way
-- back, and who may see them.  (The worker waits in another database in
-- this instance, so rows stay where the tests put them.)
SET client_min_messages = warning;

-- status: one row, every documented column, the worker's process known
SELECT count(*) AS rows,
       bool_and(pid IS NOT NULL) AS worker_running,
       bool_and(state IS NOT NULL) AS has_state
FROM rtpush.status;
SELECT attname FROM pg_attribute
WHERE attrelid = 'rtpush.status'::regclass AND attnum > 0 ORDER BY attnum;
SELECT backend_type FROM pg_stat_activity WHERE backend_type = 'rtpush delivery worker';

-- queued and oldest age come from the outbox
SELECT rtpush.send('private-a', 'e1', '{"n": 1}') > 0 AS queued;
SELECT rtpush.send('private-a', 'e2', '{"n": 2}') > 0 AS queued;
SELECT queued, oldest_queued_age >= interval '0' AS has_age FROM rtpush.status;

-- dead letters and redeliver: ids kept, order kept, only the ones asked for
WITH d AS (DELETE FROM rtpush.outbox RETURNING *)
INSERT INTO rtpush.dead_letter (id, queued_at, channels, event, data, socket_id,
                                attempts, http_status, response, reason)
SELECT id, queued_at, channels, event, data, socket_id, 1, 413,
       '{"error":"too large"}', 'HTTP 413' FROM d;
SELECT event, attempts, http_status, reason FROM rtpush.dead_letter ORDER BY id;
SELECT dead_letter_size, queued FROM rtpush.status;
SELECT rtpush.redeliver(ARRAY[(SELECT min(id) FROM rtpush.dead_letter)]) AS redelivered;
SELECT event, attempts, last_error FROM rtpush.outbox ORDER BY id;
SELECT rtpush.redeliver() AS redelivered;
SELECT rtpush.redeliver() AS nothing_left;
SELECT event FROM rtpush.outbox ORDER BY id;
SELECT count(*) AS dead_left FROM rtpush.dead_letter;

-- redeliver is transactional
BEGIN;
WITH d AS (DELETE FROM rtpush.outbox RETURNING *)
INSERT INTO rtpush.dead_letter (id, queued_at, channels, event, data, attempts, reason)
SELECT id, queued_at, channels, event, data, 1, 'test' FROM d;
SELECT rtpush.redeliver();
ROLLBACK;
SELECT count(*) AS still_queued FROM rtpush.outbox;

-- who may see what: PUBLIC nothing, pg_monitor the status view
CREATE ROLE rtpush_nobody LOGIN;
CREATE ROLE rtpush_monitor LOGIN IN ROLE pg_monitor;
GRANT USAGE ON SCHEMA rtpush TO rtpush_nobody, rtpush_monitor;
SET ROLE rtpush_nobody;
SELECT count(*) FROM rtpush.status;
SELECT count(*) FROM rtpush.outbox;
SELECT count(*) FROM rtpush.dead_letter;
SELECT rtpush.redeliver();
SELECT * FROM rtpush.fetch_window('0', 0, pg_current_snapshot(), NULL, 1);
RESET ROLE;
SET ROLE rtpush_monitor;
SELECT queued FROM rtpush.status;
SELECT count(*) FROM rtpush.outbox;
SELECT * FROM rtpush.parked_channels();
RESET ROLE;
-- nothing parked: the worker waits in another database
SELECT * FROM rtpush.parked_channels();

-- secrets: hidden from everyone but superusers
SET ROLE rtpush_nobody;
-- (the SQLSTATE, not the message: PostgreSQL 16 reworded it)
DO $$ BEGIN PERFORM current_setting('rtpush.secret'); RAISE WARNING 'rtpush.secret is readable';
EXCEPTION WHEN insufficient_privilege THEN RAISE WARNING 'rtpush.secret: permission denied (%)', SQLSTATE; END $$;
SELECT count(*) AS visible FROM pg_settings WHERE name IN ('rtpush.secret', 'rtpush.encryption_master_key');
SHOW rtpush.key;
RESET ROLE;
SELECT count(*) AS in_show_all FROM pg_settings
WHERE name = 'rtpush.secret';

-- settings a session cannot change, and bad values refused before they land
SET rtpush.secret = 'x';
ALTER SYSTEM SET rtpush.port = 'eighty';
ALTER SYSTEM SET rtpush.port = 70000;
ALTER SYSTEM SET rtpush.scheme = 'ftp';
ALTER SYSTEM SET rtpush.host = 'evil.example/path';
ALTER SYSTEM SET rtpush.app_id = 'app 1';
ALTER SYSTEM SET rtpush.max_in_flight = 0;
ALTER SYSTEM SET rtpush.batch_size = 11;
ALTER SYSTEM SET rtpush.event_id_field = 'not ok';

REVOKE USAGE ON SCHEMA rtpush FROM rtpush_nobody, rtpush_monitor;
DROP ROLE rtpush_nobody;
DROP ROLE rtpush_monitor;
TRUNCATE rtpush.outbox, rtpush.dead_letter;
