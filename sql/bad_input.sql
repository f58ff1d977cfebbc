-- Every invalid input, in the order of the README's "Bad input" table, and
-- what it gets: an SQLSTATE and a message (the detail and hint are checked
-- in the capture_*, auth_* and delivery tests), or a documented outcome.
-- Nothing is queued by any failing case.
SET client_min_messages = notice;
CREATE FUNCTION try(label text, stmt text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RAISE NOTICE '% -> accepted', label;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE '% -> % %', label, SQLSTATE, SQLERRM;
END
$$;
CREATE TABLE visits (id int PRIMARY KEY, patient_id int, status text, note text);

-- channels and events
SELECT try('channel with a space', $$SELECT rtpush.send('private-user 1', 'e', '{}')$$);
SELECT try('channel with a slash', $$SELECT rtpush.send('private-user/1', 'e', '{}')$$);
SELECT try('channel of 165 characters', $$SELECT rtpush.send(repeat('c', 165), 'e', '{}')$$);
SELECT try('channel of 164 characters', $$SELECT rtpush.send(repeat('c', 164), 'e', '{}') > 0$$);
SELECT try('channel starting with #', $$SELECT rtpush.send('#server-to-user-1', 'e', '{}')$$);
SELECT try('empty channel', $$SELECT rtpush.send('', 'e', '{}')$$);
SELECT try('NULL channel', $$SELECT rtpush.send(NULL::text, 'e', '{}')$$);
SELECT try('NULL in the channels array', $$SELECT rtpush.send(ARRAY['a', NULL], 'e', '{}')$$);
SELECT try('101 channels', $$SELECT rtpush.send((SELECT array_agg('c' || g) FROM generate_series(1, 101) g), 'e', '{}')$$);
SELECT try('empty event name', $$SELECT rtpush.send('c', '', '{}')$$);
SELECT try('event name of 201 characters', $$SELECT rtpush.send('c', repeat('e', 201), '{}')$$);
SELECT try('NULL data', $$SELECT rtpush.send('c', 'e', NULL)$$);
-- socket ids
SELECT try('socket id without a dot', $$SELECT rtpush.send('c', 'e', '{}', '12345')$$);
SELECT try('socket id with letters', $$SELECT rtpush.send('c', 'e', '{}', 'a.b')$$);
SELECT try('SET LOCAL rtpush.socket_id malformed', $$SELECT set_config('rtpush.socket_id', '1.2.3', true), rtpush.send('c', 'e', '{}')$$);
-- payload size
SELECT try('data over max_payload_bytes', $$SELECT rtpush.send('c', 'e', jsonb_build_object('x', repeat('x', 10240)))$$);
-- templates and columns, when the trigger is made
SELECT try('template naming an unknown column', $$SELECT rtpush.attach('visits', 'e', ARRAY['private-user.{nope}'])$$);
SELECT try('template with an unclosed {', $$SELECT rtpush.attach('visits', 'e', ARRAY['private-user.{patient_id'])$$);
SELECT try('template with a stray }', $$SELECT rtpush.attach('visits', 'e', ARRAY['private-user.patient_id}'])$$);
SELECT try('template with an empty {}', $$SELECT rtpush.attach('visits', 'e', ARRAY['private-user.{}'])$$);
SELECT try('template making a bad channel', $$SELECT rtpush.attach('visits', 'e', ARRAY['private user.{patient_id}'])$$);
SELECT try('columns= naming an unknown column', $$SELECT rtpush.attach('visits', 'e', ARRAY['c'], columns => ARRAY['nope'])$$);
SELECT try('changed= naming an unknown column', $$SELECT rtpush.attach('visits', 'e', ARRAY['c'], operations => ARRAY['UPDATE'], changed => ARRAY['nope'])$$);
SELECT try('plain CREATE TRIGGER with a bad template', $$CREATE TRIGGER t AFTER INSERT ON visits FOR EACH ROW EXECUTE FUNCTION rtpush.broadcast('e', 'private-user.{nope}')$$);
SELECT try('BEFORE trigger', $$CREATE TRIGGER t BEFORE INSERT ON visits FOR EACH ROW EXECUTE FUNCTION rtpush.broadcast('e', 'c')$$);
-- values at write time
SELECT rtpush.attach('visits', 'visit', ARRAY['private-user.{patient_id}.visits', 'visit.{note}']);
SELECT try('NULL template values: channel dropped', $$INSERT INTO visits VALUES (1, 7, 'new', NULL)$$);
SELECT try('all template values NULL: no event', $$INSERT INTO visits VALUES (2, NULL, 'new', NULL)$$);
SELECT try('value making a bad channel', $$INSERT INTO visits VALUES (3, 7, 'new', 'has space')$$);
SELECT channels, data::text FROM rtpush.outbox WHERE event = 'visit' ORDER BY id;
-- encrypted channels without a master key
SELECT try('encrypted channel, no master key', $$SELECT rtpush.send('private-encrypted-user.1', 'e', '{}')$$);
-- subscriber authorization
SELECT try('public channel to authorize', $$SELECT rtpush.authorize_channel('1.2', 'doctor.3.availability', '1')$$);
SELECT try('channel no rule matches', $$SELECT rtpush.authorize_channel('1.2', 'private-unruled.1', '1')$$);
SELECT try('malformed socket id to authorize', $$SELECT rtpush.authorize_channel('12', 'private-x', '1')$$);
SELECT try('presence user id of 129 bytes', $$SELECT rtpush.authorize_channel('1.2', 'presence-room', repeat('u', 129))$$);
SELECT try('presence user_info over 1 KB', $$SELECT rtpush.authorize_channel('1.2', 'presence-room', 'u', jsonb_build_object('x', repeat('x', 1100)))$$);
SELECT try('sign-in without a string id', $$SELECT rtpush.authenticate_user('1.2', '{"id": 12}')$$);
SELECT try('webhook with a bad signature', $$SELECT rtpush.handle_webhook('regress-key', 'deadbeef', '{"time_ms": 1, "events": []}')$$);
-- nothing queued by the failures above: only the accepted 164-character
-- channel and the two visit events
SELECT count(*) AS queued FROM rtpush.outbox;
DROP TABLE visits;
DROP FUNCTION try(text, text);
TRUNCATE rtpush.outbox;
