-- rtpush.broadcast(): row capture with channel templates, payload columns,
-- changed columns, multi-row statements, COPY, transactions, oversize rows.
CREATE FUNCTION take() RETURNS TABLE (channels text[], event text, data text, socket_id text)
LANGUAGE sql AS $$
    WITH d AS (DELETE FROM rtpush.outbox WHERE event LIKE 'cap-%' RETURNING *)
    SELECT channels, event, data::text, socket_id FROM d ORDER BY id
$$;

CREATE TABLE messages (
    id              bigint PRIMARY KEY,
    conversation_id int,
    sender_id       int,
    body            text,
    status          text NOT NULL DEFAULT 'sent',
    sent_at         timestamptz NOT NULL DEFAULT '2024-05-01 10:00:00+00'
);

-- plain CREATE TRIGGER: two templates make one event on two channels
CREATE TRIGGER message_sent AFTER INSERT ON messages FOR EACH ROW
    EXECUTE FUNCTION rtpush.broadcast('cap-message-sent',
        'private-conversation.{conversation_id}', 'private-user.{sender_id}.inbox');

BEGIN;
INSERT INTO messages (id, conversation_id, sender_id, body) VALUES (1, 10, 7, 'Hello, "doctor"');
SELECT * FROM take();
COMMIT;

-- a NULL value drops its channel; no channel left, no event
BEGIN;
INSERT INTO messages (id, conversation_id, sender_id, body) VALUES (2, 10, NULL, 'no sender');
INSERT INTO messages (id, conversation_id, sender_id, body) VALUES (3, NULL, NULL, 'nowhere');
SELECT * FROM take();
COMMIT;

-- identical channels merge
BEGIN;
CREATE TRIGGER same_twice AFTER INSERT ON messages FOR EACH ROW
    EXECUTE FUNCTION rtpush.broadcast('cap-twice', 'c.{sender_id}', 'c.{sender_id}', 'c.{conversation_id}');
INSERT INTO messages (id, conversation_id, sender_id) VALUES (4, 5, 5);
SELECT * FROM take();
ROLLBACK;

-- multi-row INSERT, INSERT ... SELECT and COPY: one event per row, in order
BEGIN;
INSERT INTO messages (id, conversation_id, sender_id, body) VALUES (10, 1, 1, 'a'), (11, 2, 2, 'b');
INSERT INTO messages (id, conversation_id, sender_id, body)
    SELECT g, g, NULL, 'sel' || g FROM generate_series(12, 13) g;
COPY messages (id, conversation_id, sender_id, body) FROM stdin;
14	3	3	copy one
15	\N	4	copy two
\.
SELECT * FROM take();
COMMIT;

-- ROLLBACK and ROLLBACK TO SAVEPOINT leave nothing from what they undo
BEGIN;
INSERT INTO messages (id, conversation_id, sender_id) VALUES (20, 20, 20);
ROLLBACK;
BEGIN;
INSERT INTO messages (id, conversation_id, sender_id) VALUES (21, 21, 21);
SAVEPOINT s;
INSERT INTO messages (id, conversation_id, sender_id) VALUES (22, 22, 22);
ROLLBACK TO SAVEPOINT s;
INSERT INTO messages (id, conversation_id, sender_id) VALUES (23, 23, 23);
COMMIT;
BEGIN;
SELECT * FROM take();
COMMIT;

-- writer exclusion
BEGIN;
SET LOCAL rtpush.socket_id = '123.456';
INSERT INTO messages (id, conversation_id, sender_id) VALUES (24, 24, 24);
SELECT * FROM take();
COMMIT;
DELETE FROM messages;
DROP TRIGGER message_sent ON messages;

-- rtpush.attach(): UPDATE with and without changed, DELETE, columns allowlist
SELECT rtpush.attach('messages', 'cap-message-saved',
                     ARRAY['private-conversation.{conversation_id}'],
                     columns => ARRAY['id', 'body']);
SELECT rtpush.attach('messages', 'cap-message-status',
                     ARRAY['private-user.{sender_id}'],
                     columns => ARRAY['status', 'id'],
                     operations => ARRAY['update'], changed => ARRAY['status']);
SELECT rtpush.attach('messages', 'cap-message-deleted',
                     ARRAY['private-conversation.{conversation_id}'],
                     columns => ARRAY['id'], operations => ARRAY['DELETE']);
SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger
 WHERE tgrelid = 'messages'::regclass ORDER BY tgname;
BEGIN;
INSERT INTO messages (id, conversation_id, sender_id, body) VALUES (30, 3, 7, 'first');
UPDATE messages SET body = 'edited' WHERE id = 30;
UPDATE messages SET status = 'read' WHERE id = 30;
UPDATE messages SET status = 'read' WHERE id = 30;
UPDATE messages SET status = NULL WHERE false;
DELETE FROM messages WHERE id = 30;
SELECT * FROM take();
COMMIT;

-- attach again replaces the trigger of the same event; detach drops it
SELECT rtpush.attach('messages', 'cap-message-saved', ARRAY['private-user.{sender_id}']);
BEGIN;
INSERT INTO messages (id, conversation_id, sender_id, body) VALUES (31, 3, 7, 'again');
SELECT * FROM take();
ROLLBACK;
SELECT rtpush.detach('messages', 'cap-message-saved');
SELECT rtpush.detach('messages', 'cap-message-status');
SELECT rtpush.detach('messages', 'cap-message-deleted');
SELECT count(*) FROM pg_trigger WHERE tgrelid = 'messages'::regclass;

-- changed: IS DISTINCT FROM with the type's equality (numeric 1.0 = 1.00),
-- NULL to value and back counts as a change
CREATE TABLE prescriptions (id int PRIMARY KEY, patient_id int, dose numeric, note json);
SELECT rtpush.attach('prescriptions', 'cap-dose', ARRAY['private-user.{patient_id}.prescriptions'],
                     operations => '{UPDATE}', changed => '{dose,note}');
INSERT INTO prescriptions VALUES (1, 7, 1.0, '{"a":1}');
BEGIN;
UPDATE prescriptions SET dose = 1.00;
UPDATE prescriptions SET dose = NULL;
UPDATE prescriptions SET dose = NULL;
UPDATE prescriptions SET dose = 2;
UPDATE prescriptions SET note = '{"a":1}';
UPDATE prescriptions SET note = '{"a": 1}';
SELECT * FROM take();
COMMIT;

-- statement-level capture with transition tables
CREATE TABLE appointments (id int PRIMARY KEY, patient_id int, doctor_id int, status text);
CREATE TRIGGER appt_ins AFTER INSERT ON appointments REFERENCING NEW TABLE AS n
    FOR EACH STATEMENT EXECUTE FUNCTION rtpush.broadcast('cap-appt-booked',
        'private-user.{patient_id}.appointments', 'private-doctor.{doctor_id}.appointments');
CREATE TRIGGER appt_upd AFTER UPDATE ON appointments REFERENCING OLD TABLE AS o NEW TABLE AS n
    FOR EACH STATEMENT EXECUTE FUNCTION rtpush.broadcast('cap-appt-status',
        'private-user.{patient_id}.appointments', 'changed=status', 'columns=id,status');
CREATE TRIGGER appt_del AFTER DELETE ON appointments REFERENCING OLD TABLE AS o
    FOR EACH STATEMENT EXECUTE FUNCTION rtpush.broadcast('cap-appt-cancelled',
        'private-user.{patient_id}.appointments', 'columns=id');
BEGIN;
INSERT INTO appointments SELECT g, g % 2, 100 + g, 'booked' FROM generate_series(1, 4) g;
UPDATE appointments SET status = CASE WHEN id % 2 = 0 THEN 'confirmed' ELSE status END;
DELETE FROM appointments WHERE id > 2;
SELECT * FROM take();
COMMIT;
-- transition tables spilled to disk (work_mem is small): every row, once
BEGIN;
SET LOCAL work_mem = '64kB';
INSERT INTO appointments SELECT g, g % 7, g, repeat('s', 50) FROM generate_series(101, 3100) g;
SELECT count(*), count(DISTINCT data::json->>'id') AS ids,
       min((data::json->>'id')::int), max((data::json->>'id')::int)
  FROM rtpush.outbox WHERE event = 'cap-appt-booked';
ROLLBACK;
DROP TABLE appointments;

-- the payload is row_to_json() of the row, for every kind of type
CREATE TYPE cap_pair AS (a int, b text);
CREATE TABLE typed (id int PRIMARY KEY, i2 int2, f8 float8, n numeric, inf float8, b bool,
    d date, ts timestamp, tstz timestamptz, iv interval, j json, jb jsonb, u uuid,
    arr int[], p cap_pair, by bytea, t text);
CREATE TRIGGER typed AFTER INSERT ON typed FOR EACH ROW
    EXECUTE FUNCTION rtpush.broadcast('cap-typed', 'private-typed.{id}');
BEGIN;
SET LOCAL TimeZone = 'UTC';
INSERT INTO typed VALUES (1, 2, 1e300, 123.4500, 'Infinity', true, '2024-02-03',
    '2024-02-03 04:05:06.789', '2024-02-03 04:05:06+02', '1 day 2 hours', '{"x" : [1, 2]}',
    '{"y": "z"}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{1,NULL,3}', ROW(1, 'q"'),
    '\x0102', E'line\nbreak \\ </script>');
INSERT INTO typed (id) VALUES (2);
SELECT o.data::text = row_to_json(ty)::text AS same_as_row_to_json, o.data
  FROM rtpush.outbox o JOIN typed ty ON o.channels[1] = 'private-typed.' || ty.id
 WHERE o.event = 'cap-typed' ORDER BY ty.id;
-- template values use the type's text output
CREATE TRIGGER typed_ch AFTER INSERT ON typed FOR EACH ROW
    EXECUTE FUNCTION rtpush.broadcast('cap-typed-channel', 'private-uuid.{u}', 'private-bool.{b}.{i2}');
INSERT INTO typed (id, u, b, i2) VALUES (3, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', false, -5);
SELECT channels FROM rtpush.outbox WHERE event = 'cap-typed-channel';
ROLLBACK;

-- a value that makes an invalid channel is an error naming channel and column
BEGIN;
INSERT INTO messages (id, conversation_id, sender_id) VALUES (40, 1, 1);
CREATE TRIGGER by_body AFTER INSERT ON messages FOR EACH ROW
    EXECUTE FUNCTION rtpush.broadcast('cap-by-body', 'private-tag.{body}');
INSERT INTO messages (id, body) VALUES (41, 'has space');
ROLLBACK;
BEGIN;
CREATE TRIGGER by_body AFTER INSERT ON messages FOR EACH ROW
    EXECUTE FUNCTION rtpush.broadcast('cap-by-body', 'private-tag.{body}.{status}');
INSERT INTO messages (id, body) VALUES (42, repeat('x', 200));
ROLLBACK;
BEGIN;
CREATE TRIGGER by_body AFTER INSERT ON messages FOR EACH ROW
    EXECUTE FUNCTION rtpush.broadcast('cap-by-body', '{body}');
INSERT INTO messages (id, body) VALUES (43, '#reserved');
ROLLBACK;

-- rows over rtpush.max_payload_bytes: error (the default), or a thin event
CREATE TRIGGER big AFTER INSERT OR UPDATE ON messages FOR EACH ROW
    EXECUTE FUNCTION rtpush.broadcast('cap-big', 'private-conversation.{conversation_id}');
SHOW rtpush.oversize;
SET rtpush.max_payload_bytes = 100;
INSERT INTO messages (id, conversation_id, body) VALUES (50, 5, repeat('x', 200));
SET rtpush.oversize = thin;
BEGIN;
INSERT INTO messages (id, conversation_id, body) VALUES (50, 5, repeat('x', 200));
UPDATE messages SET body = 'short' WHERE id = 50;
SELECT * FROM take();
COMMIT;
-- thin without an id column: the primary key (an object when composite)
CREATE TABLE visits (clinic int, visit int, notes text, PRIMARY KEY (clinic, visit));
CREATE TRIGGER big AFTER INSERT ON visits FOR EACH ROW
    EXECUTE FUNCTION rtpush.broadcast('cap-big-visit', 'private-clinic.{clinic}');
CREATE TABLE notes (note_id int PRIMARY KEY, notes text);
CREATE TRIGGER big AFTER INSERT ON notes FOR EACH ROW
    EXECUTE FUNCTION rtpush.broadcast('cap-big-note', 'private-notes');
BEGIN;
INSERT INTO visits VALUES (3, 9, repeat('n', 200));
INSERT INTO notes VALUES (8, repeat('n', 200));
SELECT * FROM take();
COMMIT;
RESET rtpush.oversize;
RESET rtpush.max_payload_bytes;
DROP TABLE visits, notes;

DROP TABLE messages, prescriptions, typed;
DROP TYPE cap_pair;
DROP FUNCTION take();
