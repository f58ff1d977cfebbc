-- rtpush.max_request_bytes at capture (issue 20): an event whose request
-- alone (POST /events: request line and headers at their widest, the data as
-- sent, JSON-escaped) could exceed the limit is refused like data over
-- rtpush.max_payload_bytes, even when its data is under that; triggers
-- thin it with rtpush.oversize = thin.  The default limit is 10000.
SHOW rtpush.max_request_bytes;
SHOW rtpush.idempotency_key;
-- plain: 6009 bytes of data, but every quote is escaped again in the body
SELECT length(jsonb_build_object('b', repeat('"', 3000))::text) AS data_bytes;
SELECT rtpush.send('c1', 'req-big', jsonb_build_object('b', repeat('"', 3000)));
SELECT rtpush.send(ARRAY['c1', 'c2'], 'req-big', jsonb_build_object('b', repeat('"', 3000)));
BEGIN;
SELECT rtpush.send('c1', 'req-fits', jsonb_build_object('b', repeat('"', 2000))) > 0 AS queued;
ROLLBACK;
-- encrypted: the envelope is under max_payload_bytes, its request is not
ALTER SYSTEM SET rtpush.encryption_master_key = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';
\i test/reload.psql
SELECT rtpush.send('private-encrypted-req', 'req-big', jsonb_build_object('body', repeat('x', 7300)));
BEGIN;
SELECT rtpush.send('private-encrypted-req', 'req-fits', jsonb_build_object('body', repeat('x', 6500))) > 0 AS queued;
ROLLBACK;
-- a plain channel beside it: each row is checked alone
SELECT rtpush.send(ARRAY['c1', 'private-encrypted-req'], 'req-big', jsonb_build_object('body', repeat('x', 7300)));
ALTER SYSTEM RESET rtpush.encryption_master_key;
\i test/reload.psql
-- triggers: error by default, thin with rtpush.oversize = thin
CREATE TABLE req_rows (id int PRIMARY KEY, body text);
CREATE TRIGGER big AFTER INSERT ON req_rows FOR EACH ROW
    EXECUTE FUNCTION rtpush.broadcast('req-row', 'req-rows');
INSERT INTO req_rows VALUES (1, repeat('"', 3000));
SET rtpush.oversize = thin;
BEGIN;
INSERT INTO req_rows VALUES (2, repeat('"', 3000));
SELECT event, data FROM rtpush.outbox WHERE event = 'req-row';
ROLLBACK;
RESET rtpush.oversize;
DROP TABLE req_rows;
