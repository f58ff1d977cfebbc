-- rtpush.send(): queueing events by hand, transactions, writer exclusion,
-- and every bad input.
-- take() shows (and removes) this file's events in id order; checks run
-- before COMMIT where they can, so the worker never sees the rows.
CREATE FUNCTION take() RETURNS TABLE (channels text[], event text, data text, socket_id text)
LANGUAGE sql AS $$
    WITH d AS (DELETE FROM rtpush.outbox WHERE event LIKE 'cap-%' RETURNING *)
    SELECT channels, event, data::text, socket_id FROM d ORDER BY id
$$;

-- one channel, several channels; the id is the outbox id; data is the jsonb's text
BEGIN;
SELECT rtpush.send('private-user.7.appointments', 'cap-appointment-booked',
                   '{"id": 12, "status": "booked", "at": "2024-05-01T10:00:00Z"}') > 0 AS queued;
SELECT rtpush.send(ARRAY['private-user.7', 'presence-clinic.3'], 'cap-multi', '[1, 2, {"b": 2, "a": 1}]') AS id \gset
SELECT event FROM rtpush.outbox WHERE id = :id;
SELECT rtpush.send('public-news', 'cap-scalar', '"hello"') > 0 AS queued;
SELECT * FROM take();
COMMIT;

-- a committed event is in the outbox with its defaults filled
SELECT rtpush.send('public-news', 'cap-committed', '{}') AS id \gset
SELECT id = :id AS same_id, xid = pg_current_xact_id() AS same_xact,
       queued_at <= clock_timestamp() AS queued_at_set, attempts, next_attempt_at, last_error
  FROM rtpush.outbox WHERE id = :id;
SELECT * FROM take();

-- ids grow in queueing order; the xid is the top-level transaction's
BEGIN;
SELECT rtpush.send('c1', 'cap-order', '1') AS a \gset
SAVEPOINT s;
SELECT rtpush.send('c1', 'cap-order', '2') AS b \gset
RELEASE SAVEPOINT s;
SELECT :a < :b AS ordered,
       (SELECT count(*) FROM rtpush.outbox WHERE id IN (:a, :b) AND xid = pg_current_xact_id()) AS top_xid;
SELECT * FROM take();
COMMIT;

-- ROLLBACK leaves nothing
BEGIN;
SELECT rtpush.send('c1', 'cap-rolled-back', '{}') > 0 AS queued;
ROLLBACK;
SELECT count(*) FROM rtpush.outbox WHERE event = 'cap-rolled-back';

-- ROLLBACK TO SAVEPOINT drops only the events after the savepoint
BEGIN;
SELECT rtpush.send('c1', 'cap-kept', '1') > 0 AS queued;
SAVEPOINT s1;
SELECT rtpush.send('c1', 'cap-dropped', '2') > 0 AS queued;
SAVEPOINT s2;
SELECT rtpush.send('c1', 'cap-dropped', '3') > 0 AS queued;
ROLLBACK TO SAVEPOINT s1;
SELECT rtpush.send('c1', 'cap-kept', '4') > 0 AS queued;
COMMIT;
BEGIN;
SELECT * FROM take();
COMMIT;

-- writer exclusion: the socket_id argument, else SET LOCAL rtpush.socket_id
BEGIN;
SELECT rtpush.send('c1', 'cap-sid-arg', '{}', '1234.5678') > 0 AS queued;
SET LOCAL rtpush.socket_id = '123.456';
SELECT rtpush.send('c1', 'cap-sid-setting', '{}') > 0 AS queued;
SELECT rtpush.send('c1', 'cap-sid-arg-wins', '{}', '9.9') > 0 AS queued;
SELECT * FROM take();
COMMIT;
SHOW rtpush.socket_id;
BEGIN;
SELECT rtpush.send('c1', 'cap-sid-none', '{}') > 0 AS queued;
SELECT * FROM take();
COMMIT;

-- channel names at the limits are accepted
BEGIN;
SELECT rtpush.send(repeat('c', 164), 'cap-long-channel', '{}') > 0 AS queued;
SELECT rtpush.send('private-AZaz09_-=@,.;', 'cap-all-chars', '{}') > 0 AS queued;
SELECT rtpush.send(array_agg('ch' || g), 'cap-100-channels', '{}') > 0 AS queued
  FROM generate_series(1, 100) g;
SELECT rtpush.send('c1', repeat('e', 200), '{}') > 0 AS queued;
SELECT array_length(channels, 1), length(channels[1]), event FROM rtpush.outbox
 WHERE event LIKE 'cap-%' OR event = repeat('e', 200) ORDER BY id;
DELETE FROM rtpush.outbox WHERE event = repeat('e', 200);
SELECT count(*) FROM take();
COMMIT;

-- bad channels
SELECT rtpush.send('private user', 'cap-bad', '{}');
SELECT rtpush.send('#server-to-user-1', 'cap-bad', '{}');
SELECT rtpush.send(repeat('c', 165), 'cap-bad', '{}');
SELECT rtpush.send('', 'cap-bad', '{}');
SELECT rtpush.send('privé', 'cap-bad', '{}');
SELECT rtpush.send(ARRAY['ok', 'not ok'], 'cap-bad', '{}');
SELECT rtpush.send(ARRAY['ok', NULL], 'cap-bad', '{}');
SELECT rtpush.send('{}'::text[], 'cap-bad', '{}');
SELECT rtpush.send(array_agg('ch' || g), 'cap-bad', '{}') FROM generate_series(1, 101) g;
SELECT rtpush.send('{{a,b},{c,d}}'::text[], 'cap-bad', '{}');
SELECT rtpush.send(NULL::text, 'cap-bad', '{}');
SELECT rtpush.send(NULL::text[], 'cap-bad', '{}');
-- bad events
SELECT rtpush.send('c1', '', '{}');
SELECT rtpush.send('c1', repeat('e', 201), '{}');
SELECT rtpush.send('c1', 'pusher:subscribe', '{}');
SELECT rtpush.send('c1', NULL, '{}');
-- bad data
SELECT rtpush.send('c1', 'cap-bad', NULL);
SET rtpush.max_payload_bytes = 150;
SELECT rtpush.send('c1', 'cap-bad', jsonb_build_object('body', repeat('x', 100)));
SELECT rtpush.send('c1', 'cap-fits', jsonb_build_object('body', repeat('x', 40))) > 0 AS queued;
RESET rtpush.max_payload_bytes;
-- bad socket ids
SELECT rtpush.send('c1', 'cap-bad', '{}', 'abc');
SELECT rtpush.send('c1', 'cap-bad', '{}', '123.');
SELECT rtpush.send('c1', 'cap-bad', '{}', '1.2.3');
SELECT rtpush.send('c1', 'cap-bad', '{}', '');
BEGIN;
SET LOCAL rtpush.socket_id = '123.456; DROP TABLE x';
SELECT rtpush.send('c1', 'cap-bad', '{}');
ROLLBACK;
-- not in a read-only transaction
BEGIN READ ONLY;
SELECT rtpush.send('c1', 'cap-bad', '{}');
ROLLBACK;
-- an encrypted channel needs rtpush.encryption_master_key (not set here)
SELECT rtpush.send('private-encrypted-user.7', 'cap-bad', '{}');
SELECT rtpush.send(ARRAY['private-user.7', 'private-encrypted-user.7'], 'cap-bad', '{}');
-- nothing bad was queued
SELECT * FROM take();

DROP FUNCTION take();
