-- The telemedicine catalogue (extension rtpush_telemedicine,
-- extensions/rtpush_telemedicine/) on the reference schema
-- (examples/telemedicine/schema.sql, which creates the extension): the
-- catalogue's functions belong to rtpush_telemedicine; every row of the catalogue
-- queues exactly the expected outbox rows (channels, event, data); writes
-- outside the catalogue queue nothing; overrides attach it to differently
-- named tables; encrypted => true moves PHI to private-encrypted- channels.
CREATE SCHEMA telemed;
SET search_path = telemed, public;
SET TimeZone = 'UTC';
\set ECHO none
\i examples/telemedicine/schema.sql
\set ECHO all

-- the catalogue's functions: members of rtpush_telemedicine, in schema rtpush
SELECT p.oid::regprocedure, e.extname
  FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid
 WHERE p.proname LIKE '%telemedicine%' ORDER BY p.oid::regprocedure::text;

-- what was attached, as CREATE TRIGGER statements
SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid)
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = 'telemed'::regnamespace AND NOT t.tgisinternal
 ORDER BY c.relname, t.tgname;

-- outbox rows queued so far in this transaction (taken out, in order)
CREATE FUNCTION take() RETURNS TABLE (channels text[], event text, data text)
LANGUAGE sql AS $$
    WITH d AS (DELETE FROM rtpush.outbox RETURNING *)
    SELECT channels, event, data::text FROM d ORDER BY id
$$;

-- seed: patients 1 and 2, doctors 3 and 4; conversations 5 (1 with 3) and 6 (2 with 4)
BEGIN;
INSERT INTO users (id, name, email, password_hash, role, created_at, updated_at) VALUES
    (1, 'Pat Patient', 'pat@example.org', '$2y$10$secrethashpat', 'patient', '2024-05-01 09:00+00', '2024-05-01 09:00+00'),
    (2, 'Other Patient', 'other@example.org', '$2y$10$secrethashother', 'patient', '2024-05-01 09:00+00', '2024-05-01 09:00+00'),
    (3, 'Dr. Ann Lee', 'lee@example.org', '$2y$10$secrethashlee', 'doctor', '2024-05-01 09:00+00', '2024-05-01 09:00+00'),
    (4, 'Dr. Bo Kim', 'kim@example.org', '$2y$10$secrethashkim', 'doctor', '2024-05-01 09:00+00', '2024-05-01 09:00+00');
INSERT INTO doctors (id, specialty, license_number, consultation_fee, updated_at) VALUES
    (3, 'cardiology', 'LIC-333', 50, '2024-05-01 09:00+00'),
    (4, 'dermatology', 'LIC-444', 40, '2024-05-01 09:00+00');
INSERT INTO conversations (id) VALUES (5), (6);
INSERT INTO conversation_participants VALUES (5, 1), (5, 3), (6, 2), (6, 4);
INSERT INTO appointments (id, patient_id, doctor_id, scheduled_at, reason, created_at, updated_at) VALUES
    (10, 1, 3, '2024-05-02 10:00+00', 'chest pain', '2024-05-01 09:00+00', '2024-05-01 09:00+00'),
    (11, 2, 4, '2024-05-02 11:00+00', 'rash', '2024-05-01 09:00+00', '2024-05-01 09:00+00');
-- none of that is in the catalogue
SELECT * FROM take();
COMMIT;

-- message sent: messages INSERT -> private-conversation.{conversation_id}
BEGIN;
INSERT INTO messages (id, conversation_id, sender_id, body, created_at)
    VALUES (100, 5, 1, 'Hello doctor, "it hurts"', '2024-05-01 10:00+00');
INSERT INTO messages (id, conversation_id, sender_id, body, type, created_at)
    VALUES (101, 5, 3, 'Hello, I see you at 10', 'text', '2024-05-01 10:01+00');
UPDATE messages SET read_at = '2024-05-01 10:02+00' WHERE id = 100;
SELECT * FROM take();
COMMIT;

-- notification created: notifications INSERT -> private-user.{user_id}.notifications
BEGIN;
INSERT INTO notifications (id, user_id, type, title, body, data, created_at) VALUES
    (200, 1, 'appointment', 'Appointment confirmed', 'See you tomorrow', '{"appointment_id": 10}', '2024-05-01 10:03+00');
UPDATE notifications SET read_at = now() WHERE id = 200;
SELECT * FROM take();
COMMIT;

-- appointment updated: UPDATE of status or scheduled_at -> patient's and doctor's channels
BEGIN;
UPDATE appointments SET status = 'confirmed', updated_at = '2024-05-01 10:04+00' WHERE id = 10;
UPDATE appointments SET status = 'in_progress', updated_at = '2024-05-02 10:00+00' WHERE id = 10;
UPDATE appointments SET status = 'completed', updated_at = '2024-05-02 10:30+00' WHERE id = 10;
UPDATE appointments SET scheduled_at = '2024-05-03 09:00+00', updated_at = '2024-05-01 10:05+00' WHERE id = 11;
SELECT * FROM take();
-- unrelated columns, or the same status again: nothing
UPDATE appointments SET notes = 'doctor''s notes', reason = 'edited', updated_at = now() WHERE id = 10;
UPDATE appointments SET status = 'completed' WHERE id = 10;
SELECT * FROM take();
COMMIT;

-- prescription created (INSERT) and status (UPDATE of status) -> private-user.{patient_id}.prescriptions
BEGIN;
INSERT INTO prescriptions (id, appointment_id, patient_id, doctor_id, medication, dosage, instructions, created_at, updated_at)
    VALUES (300, 10, 1, 3, 'Aspirin', '100 mg', 'once a day', '2024-05-02 10:31+00', '2024-05-02 10:31+00');
UPDATE prescriptions SET status = 'dispensed', updated_at = '2024-05-02 12:00+00' WHERE id = 300;
UPDATE prescriptions SET instructions = 'twice a day' WHERE id = 300;
SELECT * FROM take();
COMMIT;

-- user status: UPDATE of is_online or last_seen_at -> private-user.{id}.status
BEGIN;
UPDATE users SET is_online = true, last_seen_at = '2024-05-01 10:00+00' WHERE id = 1;
UPDATE users SET is_online = false WHERE id = 1;
UPDATE users SET last_seen_at = '2024-05-01 10:10+00' WHERE id = 1;
SELECT * FROM take();
UPDATE users SET name = 'Pat P.', password_hash = 'changed', email = 'pp@example.org', updated_at = now() WHERE id = 1;
SELECT * FROM take();
COMMIT;

-- doctor availability: UPDATE of is_available -> doctor.{id}.availability (public)
BEGIN;
UPDATE doctors SET is_available = true, updated_at = '2024-05-01 11:00+00' WHERE id = 3;
UPDATE doctors SET is_available = false, updated_at = '2024-05-01 11:30+00' WHERE id = 3;
SELECT * FROM take();
UPDATE doctors SET consultation_fee = 60, license_number = 'LIC-3', updated_at = now() WHERE id = 3;
UPDATE doctors SET is_available = false WHERE id = 3;
SELECT * FROM take();
COMMIT;

-- rating received: ratings INSERT -> private-doctor.{doctor_id}.ratings (no patient id in the payload)
BEGIN;
INSERT INTO ratings (id, doctor_id, patient_id, appointment_id, rating, comment, created_at)
    VALUES (400, 3, 1, 10, 5, 'Very kind', '2024-05-02 11:00+00');
UPDATE ratings SET comment = 'edited' WHERE id = 400;
SELECT * FROM take();
COMMIT;

-- a multi-row statement: one event per row, each on its own channels
BEGIN;
UPDATE appointments SET status = 'cancelled', updated_at = '2024-05-01 12:00+00';
SELECT * FROM take();
ROLLBACK;

-- DELETEs are not in the catalogue
BEGIN;
DELETE FROM messages;
DELETE FROM prescriptions;
DELETE FROM ratings;
DELETE FROM notifications;
SELECT * FROM take();
ROLLBACK;

-- subscription rules shipped with the schema
SELECT pattern, rule, owner_capture, check_function FROM rtpush.channel_rules
 WHERE pattern IN ('private-user.{user_id}.*', 'private-encrypted-user.{user_id}.*',
                   'private-conversation.{conversation_id}', 'private-encrypted-conversation.{conversation_id}',
                   'private-doctor.{doctor_id}.ratings')
 ORDER BY pattern;
CREATE FUNCTION may(uid text, channel text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    RETURN CASE WHEN rtpush.authorize_channel('1234.5678', channel, uid) ? 'auth' THEN 'yes' END;
EXCEPTION WHEN insufficient_privilege THEN
    RETURN 'no';
END $$;
SELECT u, ch, may(u, ch) FROM (VALUES
    ('1', 'private-user.1.notifications'), ('1', 'private-user.1.appointments'),
    ('1', 'private-user.1.prescriptions'), ('1', 'private-user.1.status'),
    ('1', 'private-user.3.appointments'), ('1', 'private-user.12.notifications'),
    ('3', 'private-user.3.appointments'),
    ('1', 'private-conversation.5'), ('3', 'private-conversation.5'),
    ('2', 'private-conversation.5'), ('1', 'private-conversation.6'),
    ('3', 'private-doctor.3.ratings'), ('4', 'private-doctor.3.ratings'),
    ('1', 'private-doctor.1.ratings')) v(u, ch);

-- the catalogue itself, and detach / re-attach
SELECT event, tbl, operations, changed, channels, columns FROM rtpush.telemedicine_catalogue();
SELECT * FROM rtpush.detach_telemedicine();
SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = 'telemed'::regnamespace AND t.tgname LIKE 'rtpush%';
SELECT * FROM rtpush.detach_telemedicine();

-- encrypted => true: PHI (messages, appointments, prescriptions) on
-- private-encrypted- channels, one event per encrypted channel
SELECT event, channels FROM rtpush.attach_telemedicine(encrypted => true);
ALTER SYSTEM SET rtpush.encryption_master_key = 'BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=';
\i test/reload.psql
SELECT u, ch, may(u, ch) FROM (VALUES
    ('1', 'private-encrypted-conversation.5'), ('3', 'private-encrypted-conversation.5'),
    ('2', 'private-encrypted-conversation.5'), ('1', 'private-encrypted-user.1.prescriptions'),
    ('2', 'private-encrypted-user.1.prescriptions'), ('3', 'private-encrypted-user.3.appointments')) v(u, ch);
BEGIN;
INSERT INTO messages (id, conversation_id, sender_id, body, created_at)
    VALUES (102, 5, 1, 'encrypted hello', '2024-05-01 10:00+00');
UPDATE appointments SET status = 'pending', updated_at = '2024-05-01 13:00+00' WHERE id = 10;
INSERT INTO prescriptions (id, patient_id, doctor_id, medication, dosage, created_at, updated_at)
    VALUES (301, 1, 3, 'Ibuprofen', '200 mg', '2024-05-02 10:31+00', '2024-05-02 10:31+00');
UPDATE prescriptions SET status = 'cancelled', updated_at = '2024-05-02 13:00+00' WHERE id = 301;
INSERT INTO notifications (id, user_id, type, title, created_at) VALUES (201, 1, 'info', 'Hi', '2024-05-01 10:03+00');
UPDATE doctors SET is_available = true, updated_at = '2024-05-01 14:00+00' WHERE id = 4;
SELECT * FROM take();
ROLLBACK;
ALTER SYSTEM RESET rtpush.encryption_master_key;
\i test/reload.psql
-- without the master key an encrypted event is an error, never plaintext
INSERT INTO messages (id, conversation_id, sender_id, body) VALUES (103, 5, 1, 'no key');
SELECT count(*) FROM rtpush.outbox;
SELECT count(*) FROM rtpush.detach_telemedicine();

-- overrides: the same catalogue on a schema with other names
CREATE SCHEMA clinic;
SET search_path = clinic, public;
CREATE TABLE accounts (uid int PRIMARY KEY, online boolean, seen_at timestamptz, password text);
CREATE TABLE visits (id int PRIMARY KEY, patient_id int, doctor_user_id int, state text,
                     starts_at timestamptz, updated_at timestamptz, secret_notes text);
CREATE TABLE chat (id int PRIMARY KEY, thread_id int, sender_id int, body text);
\set clinic '{"users": {"table": "accounts", "id": "uid", "online": "online", "last_seen": "seen_at"}, "appointments": {"table": "visits", "doctor_id": "doctor_user_id", "status": "state", "scheduled_at": "starts_at"}, "messages": {"table": "chat", "conversation_id": "thread_id", "columns": ["id", "body"]}, "notifications": false, "prescriptions": false, "doctors": false, "ratings": false}'
SELECT event, tbl, changed, channels, columns FROM rtpush.attach_telemedicine(:'clinic');
BEGIN;
INSERT INTO accounts VALUES (7, false, NULL, 'pw'), (8, false, NULL, 'pw');
INSERT INTO visits VALUES (1, 7, 8, 'pending', '2024-05-02 10:00+00', '2024-05-01 09:00+00', 'x');
INSERT INTO chat VALUES (1, 42, 7, 'hi');
UPDATE accounts SET online = true, seen_at = '2024-05-01 10:00+00' WHERE uid = 7;
UPDATE accounts SET password = 'other' WHERE uid = 7;
UPDATE visits SET state = 'confirmed';
UPDATE visits SET starts_at = '2024-05-03 10:00+00', updated_at = '2024-05-01 10:00+00';
UPDATE visits SET secret_notes = 'y';
SELECT * FROM telemed.take();
ROLLBACK;
SELECT * FROM rtpush.detach_telemedicine(:'clinic');

-- mistakes in overrides say what is wrong
\set others '"notifications": false, "prescriptions": false, "doctors": false, "ratings": false, "messages": false, "appointments": false'
SELECT * FROM rtpush.attach_telemedicine('{"user": {}}');
SELECT * FROM rtpush.attach_telemedicine('{"users": {"online_col": "x"}}');
SELECT * FROM rtpush.attach_telemedicine('{"users": {"online": 1}}');
SELECT * FROM rtpush.attach_telemedicine('{"users": []}');
SELECT * FROM rtpush.attach_telemedicine('{"prescriptions": {"columns": {"message-sent": ["id"]}}}');
SELECT * FROM rtpush.attach_telemedicine('[]');
SELECT * FROM rtpush.attach_telemedicine(format('{"users": {"table": "accounts"}, %s}', :'others')::jsonb);
SELECT * FROM rtpush.attach_telemedicine(format('{"users": {"table": "nope"}, %s}', :'others')::jsonb);
SELECT * FROM rtpush.attach_telemedicine(format('{"users": {"table": "accounts", "id": "uid", "online": "online",
    "last_seen": "seen_at", "columns": ["uid", "nope"]}, %s}', :'others')::jsonb);
-- nothing was attached by the failed calls
SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = 'clinic'::regnamespace AND t.tgname LIKE 'rtpush%';

-- privileges: not for PUBLIC; table owners who may attach
CREATE ROLE tm_app;
GRANT USAGE ON SCHEMA rtpush TO tm_app;
SET ROLE tm_app;
SELECT * FROM rtpush.attach_telemedicine();
RESET ROLE;
REVOKE USAGE ON SCHEMA rtpush FROM tm_app;
DROP ROLE tm_app;

RESET search_path;
DELETE FROM rtpush.channel_rules
 WHERE pattern IN ('private-user.{user_id}.*', 'private-encrypted-user.{user_id}.*',
                   'private-conversation.{conversation_id}', 'private-encrypted-conversation.{conversation_id}',
                   'private-doctor.{doctor_id}.ratings');
DROP SCHEMA clinic CASCADE;
DROP SCHEMA telemed CASCADE;

-- rtpush without the catalogue: DROP EXTENSION rtpush_telemedicine leaves
-- rtpush whole, and rtpush cannot be dropped under it
BEGIN;
DROP EXTENSION rtpush;
ROLLBACK;
DROP EXTENSION rtpush_telemedicine;
SELECT count(*) FROM pg_proc WHERE proname LIKE '%telemedicine%';
SELECT extname FROM pg_extension WHERE extname LIKE 'rtpush%';
