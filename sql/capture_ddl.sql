-- Bad trigger definitions fail when the trigger is created or attached
-- (or when the table is altered under it), never at the first write.
CREATE TABLE appointments (id int PRIMARY KEY, patient_id int, doctor_id int, status text, "Odd, name" int);

-- unknown columns
CREATE TRIGGER t AFTER INSERT ON appointments FOR EACH ROW
    EXECUTE FUNCTION rtpush.broadcast('ev', 'private-user.{patientid}');
CREATE TRIGGER t AFTER INSERT ON appointments FOR EACH ROW
    EXECUTE FUNCTION rtpush.broadcast('ev', 'private-user.{patient_id}', 'columns=id,nope');
CREATE TRIGGER t AFTER UPDATE ON appointments FOR EACH ROW
    EXECUTE FUNCTION rtpush.broadcast('ev', 'private-user.{patient_id}', 'changed=Status');
CREATE TRIGGER t AFTER INSERT ON appointments FOR EACH ROW
    EXECUTE FUNCTION rtpush.broadcast('ev', 'private-user.{ctid}');
-- malformed templates
CREATE TRIGGER t AFTER INSERT ON appointments FOR EACH ROW
    EXECUTE FUNCTION rtpush.broadcast('ev', 'private-user.{patient_id');
CREATE TRIGGER t AFTER INSERT ON appointments FOR EACH ROW
    EXECUTE FUNCTION rtpush.broadcast('ev', 'private-user.patient_id}');
CREATE TRIGGER t AFTER INSERT ON appointments FOR EACH ROW
    EXECUTE FUNCTION rtpush.broadcast('ev', 'private-user.{}');
CREATE TRIGGER t AFTER INSERT ON appointments FOR EACH ROW
    EXECUTE FUNCTION rtpush.broadcast('ev', 'private-user.{{patient_id}}');
CREATE TRIGGER t AFTER INSERT ON appointments FOR EACH ROW
    EXECUTE FUNCTION rtpush.broadcast('ev', 'private user.{patient_id}');
CREATE TRIGGER t AFTER INSERT ON appointments FOR EACH ROW
    EXECUTE FUNCTION rtpush.broadcast('ev', '#server-to-user-{patient_id}');
DO $$
BEGIN
    EXECUTE format('CREATE TRIGGER t AFTER INSERT ON appointments FOR EACH ROW EXECUTE FUNCTION rtpush.broadcast(%L, %L)',
                   'ev', repeat('x', 164) || '{patient_id}');
END $$;
CREATE TRIGGER t AFTER INSERT ON appointments FOR EACH ROW
    EXECUTE FUNCTION rtpush.broadcast('ev', '');
-- bad events, missing arguments, bad options
CREATE TRIGGER t AFTER INSERT ON appointments FOR EACH ROW
    EXECUTE FUNCTION rtpush.broadcast('', 'private-user.{patient_id}');
CREATE TRIGGER t AFTER INSERT ON appointments FOR EACH ROW
    EXECUTE FUNCTION rtpush.broadcast('pusher:member_added', 'private-user.{patient_id}');
CREATE TRIGGER t AFTER INSERT ON appointments FOR EACH ROW
    EXECUTE FUNCTION rtpush.broadcast();
CREATE TRIGGER t AFTER INSERT ON appointments FOR EACH ROW
    EXECUTE FUNCTION rtpush.broadcast('ev');
CREATE TRIGGER t AFTER INSERT ON appointments FOR EACH ROW
    EXECUTE FUNCTION rtpush.broadcast('ev', 'columns=id');
CREATE TRIGGER t AFTER INSERT ON appointments FOR EACH ROW
    EXECUTE FUNCTION rtpush.broadcast('ev', 'c', 'columns=id', 'columns=status');
CREATE TRIGGER t AFTER INSERT ON appointments FOR EACH ROW
    EXECUTE FUNCTION rtpush.broadcast('ev', 'c', 'columns=');
CREATE TRIGGER t AFTER INSERT ON appointments FOR EACH ROW
    EXECUTE FUNCTION rtpush.broadcast('ev', 'c', 'columns=id,,status');
-- spaces around column names are fine; "Odd, name" cannot be listed
CREATE TRIGGER t AFTER INSERT ON appointments FOR EACH ROW
    EXECUTE FUNCTION rtpush.broadcast('ev', 'c', 'columns= id , status');
DROP TRIGGER t ON appointments;
CREATE TRIGGER t AFTER INSERT ON appointments FOR EACH ROW
    EXECUTE FUNCTION rtpush.broadcast('ev', 'c', 'columns=Odd, name');
-- wrong kinds of trigger
CREATE TRIGGER t BEFORE INSERT ON appointments FOR EACH ROW
    EXECUTE FUNCTION rtpush.broadcast('ev', 'private-user.{patient_id}');
CREATE TRIGGER t AFTER TRUNCATE ON appointments
    EXECUTE FUNCTION rtpush.broadcast('ev', 'private-user.{patient_id}');
CREATE TRIGGER t AFTER INSERT ON appointments
    EXECUTE FUNCTION rtpush.broadcast('ev', 'private-user.{patient_id}');
CREATE TRIGGER t AFTER UPDATE ON appointments REFERENCING NEW TABLE AS n
    EXECUTE FUNCTION rtpush.broadcast('ev', 'private-user.{patient_id}', 'changed=status');
CREATE TRIGGER t AFTER INSERT OR DELETE ON appointments FOR EACH ROW
    EXECUTE FUNCTION rtpush.broadcast('ev', 'private-user.{patient_id}', 'changed=status');
-- too many templates
DO $$
BEGIN
    EXECUTE format('CREATE TRIGGER t AFTER INSERT ON appointments FOR EACH ROW EXECUTE FUNCTION rtpush.broadcast(%s)',
                   (SELECT string_agg(quote_literal(a), ',') FROM
                      (SELECT 'ev' a UNION ALL SELECT 'c' || g FROM generate_series(1, 101) g) s));
END $$;
SELECT count(*) FROM pg_trigger WHERE tgrelid = 'appointments'::regclass;

-- rtpush.attach() checks the same, and its own arguments
SELECT rtpush.attach('appointments', 'ev', ARRAY['private-user.{patientid}']);
SELECT rtpush.attach('appointments', 'ev', ARRAY['private-user.{patient_id}'], columns => '{id,nope}');
SELECT rtpush.attach('appointments', 'ev', ARRAY['private-user.{patient_id'], columns => '{id}');
SELECT rtpush.attach('appointments', 'ev', '{}');
SELECT rtpush.attach('appointments', 'ev', NULL);
SELECT rtpush.attach('appointments', '', ARRAY['c']);
SELECT rtpush.attach('appointments', 'ev', ARRAY['c'], operations => '{INSERT,TRUNCATE}');
SELECT rtpush.attach('appointments', 'ev', ARRAY['c'], operations => '{}');
SELECT rtpush.attach('appointments', 'ev', ARRAY['c'], operations => '{INSERT}', changed => '{status}');
SELECT rtpush.attach('appointments', 'ev', ARRAY['c', NULL]);
SELECT rtpush.attach('no_such_table', 'ev', ARRAY['c']);
SELECT rtpush.detach('appointments', 'never-attached');
SELECT count(*) FROM pg_trigger WHERE tgrelid = 'appointments'::regclass;

-- long event names make a deterministic, shortened trigger name
SELECT rtpush.attach('appointments', repeat('long-event-', 10), ARRAY['c']);
SELECT rtpush.detach('appointments', repeat('long-event-', 10));

-- altering the table under a trigger: dropping or renaming a column it
-- names fails; other changes are fine and the trigger sees them
SELECT rtpush.attach('appointments', 'appointment-updated',
                     ARRAY['private-user.{patient_id}.appointments'],
                     columns => '{id,status}', changed => '{status}');
ALTER TABLE appointments DROP COLUMN patient_id;
ALTER TABLE appointments RENAME COLUMN status TO state;
ALTER TABLE appointments DROP COLUMN "Odd, name";
ALTER TABLE appointments ADD COLUMN notes text;
BEGIN;
INSERT INTO appointments (id, patient_id, status) VALUES (1, 7, 'booked');
UPDATE appointments SET status = 'confirmed', notes = 'n';
SELECT channels, event, data FROM rtpush.outbox WHERE event = 'appointment-updated';
ROLLBACK;
-- DROP TABLE takes its triggers along
DROP TABLE appointments;

-- the outbox under DDL.  Event ids: a nextval() that returns v reserves
-- (v - INCREMENT, v] for this backend (64 as installed); ALTER SEQUENCE drops
-- the block, and INCREMENT BY 1 makes one sequence access per event, above
-- every id handed out before.
ALTER SEQUENCE rtpush.outbox_id_seq INCREMENT BY 1000;
BEGIN;
SELECT rtpush.send('c', 'ids-a', '{}') AS a \gset
SELECT rtpush.send('c', 'ids-b', '{}') AS b \gset
SELECT :b - :a AS step, last_value - :a AS to_block_top FROM rtpush.outbox_id_seq;
ROLLBACK;
ALTER SEQUENCE rtpush.outbox_id_seq INCREMENT BY 1;
BEGIN;
SELECT rtpush.send('c', 'ids-c', '{}') AS c \gset
SELECT rtpush.send('c', 'ids-d', '{}') AS d \gset
SELECT :d - :c AS step, :c - :a AS above_block, last_value = :d AS nextval_each FROM rtpush.outbox_id_seq;
ROLLBACK;
ALTER SEQUENCE rtpush.outbox_id_seq INCREMENT BY 64;
-- an index created on the outbox after this backend queued events is kept
-- up to date from the next event on; a dropped one is forgotten
BEGIN;
SELECT rtpush.send('c', 'before-index', '{}') > 0 AS queued;
CREATE INDEX outbox_event_test ON rtpush.outbox (event);
SELECT rtpush.send('c', 'after-index', '{}') > 0 AS queued;
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT event FROM rtpush.outbox WHERE event IN ('before-index', 'after-index');
SELECT event FROM rtpush.outbox WHERE event IN ('before-index', 'after-index') ORDER BY event;
DROP INDEX rtpush.outbox_event_test;
SELECT rtpush.send('c', 'after-drop', '{}') > 0 AS queued;
SELECT count(*) AS queued_in_xact FROM rtpush.outbox WHERE event IN ('before-index', 'after-index', 'after-drop');
ROLLBACK;
