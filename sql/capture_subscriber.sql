-- What a subscriber can tell from an event (issue 24): the operation
-- (include_op, an event per operation), rows that leave channels (moved
-- markers on the old channels, old keys, cross-partition moves), channel
-- values rendered the same in every session, and attach keeping the
-- trigger's enabled state (issue 23, case 7).
CREATE FUNCTION take() RETURNS TABLE (channels text[], event text, data text)
LANGUAGE sql AS $$
    WITH d AS (DELETE FROM rtpush.outbox WHERE event LIKE 'sub-%' RETURNING *)
    SELECT channels, event, data::text FROM d ORDER BY id
$$;

CREATE TABLE appointments (
    id          int PRIMARY KEY,
    patient_id  int,
    doctor_id   int,
    status      text
);

-- 1. the operation: off by default (payloads as in 0.1) ...
SELECT rtpush.attach('appointments', 'sub-appt', ARRAY['private-user.{doctor_id}.appointments'],
                     operations => '{INSERT,UPDATE,DELETE}');
INSERT INTO appointments VALUES (1, 100, 10, 'pending');
UPDATE appointments SET status = 'confirmed' WHERE id = 1;
DELETE FROM appointments WHERE id = 1;
SELECT * FROM take();

-- ... include_op => true adds "rtpush_op"
SELECT rtpush.attach('appointments', 'sub-appt', ARRAY['private-user.{doctor_id}.appointments'],
                     operations => '{INSERT,UPDATE,DELETE}', include_op => true);
INSERT INTO appointments VALUES (2, 100, 10, 'pending');
UPDATE appointments SET status = 'confirmed' WHERE id = 2;
DELETE FROM appointments WHERE id = 2;
SELECT * FROM take();

-- MERGE with update, insert and delete actions: three operations
INSERT INTO appointments VALUES (3, 100, 10, 'pending'), (4, 100, 10, 'cancelled');
SELECT count(*) FROM take();
MERGE INTO appointments a
USING (VALUES (3, 'confirmed'), (4, 'gone'), (5, 'pending')) s(id, status) ON a.id = s.id
WHEN MATCHED AND s.status = 'gone' THEN DELETE
WHEN MATCHED THEN UPDATE SET status = s.status
WHEN NOT MATCHED THEN INSERT VALUES (s.id, 101, 10, s.status);
SELECT * FROM take() ORDER BY data;

-- 2. an event name per operation
SELECT rtpush.attach('appointments', 'sub-appt', ARRAY['private-user.{doctor_id}.appointments'],
                     operations => '{INSERT,UPDATE,DELETE}',
                     events => '{"INSERT": "sub-appointment-created", "DELETE": "sub-appointment-deleted"}');
SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgname = 'rtpush_sub-appt';
INSERT INTO appointments VALUES (6, 100, 10, 'pending');
UPDATE appointments SET status = 'confirmed' WHERE id = 6;
DELETE FROM appointments WHERE id = 6;
SELECT * FROM take();
-- an operation the trigger does not fire on, and a bad event name
SELECT rtpush.attach('appointments', 'sub-appt', ARRAY['c.{id}'], events => '{"DELETE": "sub-x"}');
SELECT rtpush.attach('appointments', 'sub-appt', ARRAY['c.{id}'], events => '{"INSERT": "pusher:x"}');
SELECT rtpush.attach('appointments', 'sub-appt', ARRAY['c.{id}'], events => '["sub-x"]');
CREATE TRIGGER bad AFTER INSERT ON appointments FOR EACH ROW
    EXECUTE FUNCTION rtpush.broadcast('sub-bad', 'c.{id}', 'delete_event=sub-d');
CREATE TRIGGER bad AFTER INSERT ON appointments FOR EACH ROW
    EXECUTE FUNCTION rtpush.broadcast('sub-bad', 'c.{id}', 'include_op=yes');

-- 3. a row that leaves channels: the old doctor hears it moved, with the key
SELECT rtpush.attach('appointments', 'sub-appt',
                     ARRAY['private-user.{patient_id}.appointments', 'private-user.{doctor_id}.appointments'],
                     changed => '{status}');
INSERT INTO appointments VALUES (7, 100, 10, 'pending');
SELECT count(*) FROM take();
UPDATE appointments SET doctor_id = 20 WHERE id = 7;
SELECT * FROM take();
-- to no channel at all: only the moved event
UPDATE appointments SET doctor_id = NULL, patient_id = NULL WHERE id = 7;
SELECT * FROM take();
-- back onto channels: nothing left, the row arrives
UPDATE appointments SET doctor_id = 30, patient_id = 100 WHERE id = 7;
SELECT * FROM take();
-- a changed key carries the old key (and the moved event with include_op)
SELECT rtpush.attach('appointments', 'sub-appt', ARRAY['private-user.{doctor_id}.appointments'],
                     include_op => true);
UPDATE appointments SET id = 8 WHERE id = 7;
UPDATE appointments SET id = 9, doctor_id = 31 WHERE id = 8;
SELECT * FROM take();

-- no key: the old row is the key
CREATE TABLE notes (author int, body text);
SELECT rtpush.attach('notes', 'sub-note', ARRAY['private-user.{author}.notes']);
INSERT INTO notes VALUES (1, 'x');
UPDATE notes SET author = 2;
SELECT * FROM take();

-- FOR EACH STATEMENT with transition tables tells moves too
CREATE TRIGGER stmt AFTER UPDATE ON notes REFERENCING OLD TABLE AS o NEW TABLE AS n
    FOR EACH STATEMENT EXECUTE FUNCTION rtpush.broadcast('sub-note-stmt', 'n.{author}');
UPDATE notes SET author = 3;
SELECT * FROM take();
DROP TABLE notes;

-- 4. a cross-partition UPDATE: one moved event on the old channel, one
-- UPDATE on the new, not a DELETE and an INSERT that look alike
CREATE TABLE visits (id int, clinic int, patient int, PRIMARY KEY (id, clinic))
    PARTITION BY LIST (clinic);
CREATE TABLE visits_1 PARTITION OF visits FOR VALUES IN (1);
CREATE TABLE visits_2 (patient int, clinic int NOT NULL, id int NOT NULL);   -- another column order
ALTER TABLE visits ATTACH PARTITION visits_2 FOR VALUES IN (2);
SELECT rtpush.attach('visits', 'sub-visit', ARRAY['clinic.{clinic}.visits'], include_op => true);
SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgname = 'rtpush_sub-visit' ORDER BY tgrelid::regclass::text;
INSERT INTO visits VALUES (1, 1, 500);
UPDATE visits SET patient = 501;
UPDATE visits SET clinic = 2;
DELETE FROM visits;     -- not an operation of this trigger: nothing
SELECT * FROM take();
-- several rows in one statement, and with DELETE among the operations
SELECT rtpush.attach('visits', 'sub-visit', ARRAY['clinic.{clinic}.visits'],
                     operations => '{UPDATE,DELETE}');
INSERT INTO visits VALUES (1, 1, 500), (2, 1, 600), (3, 2, 700);
UPDATE visits SET clinic = 3 - clinic;
DELETE FROM visits WHERE id = 3;
SELECT * FROM take();
-- a move rolled back to a savepoint leaves nothing waiting
BEGIN;
SAVEPOINT s;
UPDATE visits SET clinic = 3 - clinic WHERE id = 1;
ROLLBACK TO s;
INSERT INTO visits VALUES (4, 2, 800);
SELECT * FROM take();
COMMIT;

-- 5. channel values are the same in every session
CREATE TABLE shifts (id int PRIMARY KEY, day date, amount numeric, code uuid, flag boolean,
                     ratio float8, weight real);
SELECT rtpush.attach('shifts', 'sub-shift',
                     ARRAY['d.{day}', 'a.{amount}', 'u.{code}', 'f.{flag}', 'r.{ratio}.{weight}']);
SET DateStyle = 'German';
INSERT INTO shifts VALUES (1, '2024-01-02', 1.50, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', true,
                           1.0 / 3, 0.1);
SET DateStyle = 'SQL, MDY';
SET TimeZone = 'Pacific/Chatham';
SET extra_float_digits = 0;
SET IntervalStyle = 'sql_standard';
INSERT INTO shifts VALUES (2, '2024-01-02', 1.50, NULL, false, 1.0 / 3, 0.1);
SET DateStyle = 'Postgres, DMY';
SET extra_float_digits = -10;
INSERT INTO shifts VALUES (3, 'infinity', 'NaN', NULL, NULL, 'NaN', '-Infinity');
RESET ALL;
SELECT * FROM take();

-- attach refuses columns whose type cannot make a stable, valid channel
CREATE TABLE times (id int, at timestamptz, ts timestamp, t time, i interval, f point,
                    m money, b bytea, j jsonb, a int[], r int4range, n xml);
SELECT rtpush.attach('times', 'sub-t', ARRAY['t.{at}']);
SELECT rtpush.attach('times', 'sub-t', ARRAY['t.{ts}']);
SELECT rtpush.attach('times', 'sub-t', ARRAY['t.{t}']);
SELECT rtpush.attach('times', 'sub-t', ARRAY['t.{i}']);
SELECT rtpush.attach('times', 'sub-t', ARRAY['t.{f}']);
SELECT rtpush.attach('times', 'sub-t', ARRAY['t.{m}']);
SELECT rtpush.attach('times', 'sub-t', ARRAY['t.{b}']);
SELECT rtpush.attach('times', 'sub-t', ARRAY['t.{j}']);
SELECT rtpush.attach('times', 'sub-t', ARRAY['t.{a}']);
SELECT rtpush.attach('times', 'sub-t', ARRAY['t.{r}']);
SELECT rtpush.attach('times', 'sub-t', ARRAY['t.{n}']);
-- and so do CREATE TRIGGER and ALTER TABLE
CREATE TRIGGER t AFTER INSERT ON times FOR EACH ROW
    EXECUTE FUNCTION rtpush.broadcast('sub-t', 't.{at}');
SELECT rtpush.attach('times', 'sub-t', ARRAY['t.{id}']);
ALTER TABLE times ALTER COLUMN id TYPE timestamp USING '2024-01-01';
-- domains, enums and text types are fine
CREATE DOMAIN ward AS text;
CREATE TYPE level AS ENUM ('low', 'high');
CREATE TABLE beds (id int, w ward, l level, c varchar(8), ch char(3), ip inet, bits bit(4));
SELECT rtpush.attach('beds', 'sub-bed', ARRAY['b.{w}.{l}.{c}.{ch}', 'ip.{ip}.{bits}']);
INSERT INTO beds VALUES (1, 'north', 'high', 'x1', 'ab', '10.0.0.1', B'1010');
SELECT * FROM take();

-- 6. re-running attach keeps the trigger's enabled state
CREATE TABLE replicated (id int PRIMARY KEY, owner_id int);
SELECT rtpush.attach('replicated', 'sub-rep', ARRAY['o.{owner_id}']);
ALTER TABLE replicated ENABLE ALWAYS TRIGGER "rtpush_sub-rep";
SELECT rtpush.attach('replicated', 'sub-rep', ARRAY['o.{owner_id}'], include_op => true);
SELECT tgenabled FROM pg_trigger WHERE tgname = 'rtpush_sub-rep';
ALTER TABLE replicated ENABLE REPLICA TRIGGER "rtpush_sub-rep";
SELECT rtpush.attach('replicated', 'sub-rep', ARRAY['o.{owner_id}']);
SELECT tgenabled FROM pg_trigger WHERE tgname = 'rtpush_sub-rep';
ALTER TABLE replicated DISABLE TRIGGER "rtpush_sub-rep";
SELECT rtpush.attach('replicated', 'sub-rep', ARRAY['o.{owner_id}']);
SELECT tgenabled FROM pg_trigger WHERE tgname = 'rtpush_sub-rep';
-- on a partitioned table: the table's state, and a partition's own
ALTER TABLE visits ENABLE ALWAYS TRIGGER "rtpush_sub-visit";
ALTER TABLE ONLY visits_2 DISABLE TRIGGER "rtpush_sub-visit";
SELECT rtpush.attach('visits', 'sub-visit', ARRAY['clinic.{clinic}.visits']);
SELECT tgrelid::regclass, tgenabled FROM pg_trigger WHERE tgname = 'rtpush_sub-visit' ORDER BY 1;

-- 7. what sends nothing (README, Limits): TRUNCATE, and an upsert's UPDATE
-- on an INSERT-only trigger
SELECT rtpush.attach('replicated', 'sub-rep', ARRAY['o.{owner_id}'], operations => '{INSERT}');
ALTER TABLE replicated ENABLE TRIGGER "rtpush_sub-rep";
INSERT INTO replicated VALUES (1, 1);
INSERT INTO replicated VALUES (1, 2) ON CONFLICT (id) DO UPDATE SET owner_id = excluded.owner_id;
TRUNCATE replicated;
SELECT * FROM take();
-- covered: attach INSERT and UPDATE (and DELETE), and send TRUNCATE
-- yourself from a statement trigger (README, Limits)
SELECT rtpush.attach('replicated', 'sub-rep', ARRAY['o.{owner_id}'], operations => '{INSERT,UPDATE}',
                     include_op => true);
INSERT INTO replicated VALUES (1, 1);
INSERT INTO replicated VALUES (1, 2) ON CONFLICT (id) DO UPDATE SET owner_id = excluded.owner_id;
CREATE FUNCTION replicated_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM rtpush.send('replicated', 'sub-truncated', jsonb_build_object('table', TG_TABLE_NAME));
    RETURN NULL;
END $$;
CREATE TRIGGER truncated AFTER TRUNCATE ON replicated
    FOR EACH STATEMENT EXECUTE FUNCTION replicated_truncated();
TRUNCATE replicated;
SELECT * FROM take();

-- 8. the update to 0.2 replaces attach's signature: EXECUTE granted on
-- the 0.1 function carries over, as the user's grant (not an initial
-- privilege of the extension, which pg_dump would leave out)
CREATE ROLE regress_sub_owner;
SELECT current_database() AS regress_db \gset
CREATE DATABASE regress_sub_update;
\c regress_sub_update
CREATE EXTENSION rtpush VERSION '0.1';
GRANT USAGE ON SCHEMA rtpush TO regress_sub_owner;
GRANT EXECUTE ON FUNCTION rtpush.broadcast(),
    rtpush.attach(regclass, text, text[], text[], text[], text[]) TO regress_sub_owner;
ALTER EXTENSION rtpush UPDATE TO '0.2';
SELECT p.oid::regprocedure, has_function_privilege('regress_sub_owner', p.oid, 'EXECUTE') AS owner_may,
       has_function_privilege('public', p.oid, 'EXECUTE') AS public_may,
       (SELECT initprivs::text LIKE '%regress_sub_owner%' FROM pg_init_privs i
         WHERE i.objoid = p.oid AND i.classoid = 'pg_proc'::regclass) AS initial
  FROM pg_proc p WHERE p.proname = 'attach' AND p.pronamespace = 'rtpush'::regnamespace;
CREATE TABLE owned (id int, owner_id int);
ALTER TABLE owned OWNER TO regress_sub_owner;
SET ROLE regress_sub_owner;
SELECT rtpush.attach('owned', 'sub-owned', ARRAY['o.{owner_id}'], include_op => true);
RESET ROLE;
\c :regress_db
DROP DATABASE regress_sub_update;
DROP ROLE regress_sub_owner;

DROP TABLE appointments, visits, shifts, times, beds, replicated;
DROP DOMAIN ward;
DROP TYPE level;
DROP FUNCTION take(), replicated_truncated();
