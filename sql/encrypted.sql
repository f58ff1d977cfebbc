-- End-to-end encrypted channels (private-encrypted-*), the database side:
-- capture refuses them without a usable rtpush.encryption_master_key (and
-- queues nothing, not even the event's other channels); with one, an event
-- on several channels is split into one outbox row per encrypted channel
-- plus one row for the rest, in order; rtpush.authorize_channel returns
-- shared_secret = base64(SHA256(channel || master key)).
-- The wire side (the worker's secretbox envelope) is in test/e2e/encrypted.test.mjs.
--
-- Expected shared secrets are computed here independently of rtpush with
-- PostgreSQL's own sha256() and decode()/encode(), and for two channels also
-- with the official pusher npm library (test/node/node_modules/pusher):
--   node -e 'const P=require("pusher"); const p=new P({appId:"regress",key:"regress-key",
--     secret:"regress-secret-do-not-print",
--     encryptionMasterKeyBase64:"bPg/Agebobq6ITL6M+c7Qrk5JtWa20zw8cLEmRcUpPQ="});
--     console.log(JSON.stringify(p.authorizeChannel("1234.5678", ch)))'
--   private-encrypted-user.7.prescriptions ->
--     {"auth":"regress-key:a8d73caf746c6356ae931ad293699ae9a40d521ccc9a6d8b63121c7ae8905372",
--      "shared_secret":"7ztKi+dKJ5jKba9RNNM6jZpdS47e9iSBtP/a6W4Oz20="}
--   private-encrypted-conversation.5 ->
--     {"auth":"regress-key:c399081f7b3cf82ccd35d27ab11ca1ded570ee82653367d439c889538e29bdd2",
--      "shared_secret":"pyBdGFLLc7twdyOTUAAzON/wfBvvcBmcoxO78GTTLpM="}
-- The regress instance (test/regress.conf) has no master key; this file sets
-- one with ALTER SYSTEM and resets it at the end.  After each reload the
-- pg_sleep()s give the postmaster time to signal this backend, which
-- re-reads the configuration before its next statement; key_in_effect lines
-- show which key the backend holds (compared, never printed).
\set VERBOSITY default

-- take() shows (and removes) this file's rows in id order; the worker posts
-- to port 9 in this instance, so checks run before COMMIT where they can.
CREATE FUNCTION take() RETURNS TABLE (n bigint, channels text[], event text, data text, socket_id text)
LANGUAGE sql AS $$
    WITH d AS (DELETE FROM rtpush.outbox WHERE event LIKE 'enc-%' RETURNING *)
    SELECT row_number() OVER (ORDER BY id), channels, event, data::text, socket_id FROM d ORDER BY id
$$;
-- independent shared secret: base64(SHA256(channel bytes || decoded master key))
CREATE FUNCTION expected_secret(channel text, master_b64 text) RETURNS text
LANGUAGE sql AS $$
    SELECT encode(sha256(convert_to(channel, 'UTF8') || decode(master_b64, 'base64')), 'base64')
$$;
CREATE TEMP TABLE saved_rules AS SELECT * FROM rtpush.channel_rules;
DELETE FROM rtpush.channel_rules;
CREATE FUNCTION allow_all(user_id text, captures jsonb) RETURNS boolean
    LANGUAGE sql AS $$ SELECT true $$;
INSERT INTO rtpush.channel_rules (pattern, rule) VALUES
    ('private-encrypted-user.{user_id}.*', 'owner'),
    ('private-encrypted-conversation.{conversation_id}', 'allow_all'),
    ('private-encrypted-{name}', 'allow_all'),
    ('private-user.{user_id}.*', 'owner');
CREATE TABLE rx (id int PRIMARY KEY, patient_id int, doctor_id int, medication text, dosage text);

-- ---- no master key: every capture path refuses, nothing is queued ---------
SELECT current_setting('rtpush.encryption_master_key') = '' AS no_key;
SELECT rtpush.send('private-encrypted-user.7.prescriptions', 'enc-none', '{"medication": "Amoxicillin"}');
-- the plain channel beside it is not queued either: the whole event fails
SELECT rtpush.send(ARRAY['private-doctor.3', 'private-encrypted-user.7.prescriptions'],
                   'enc-none', '{"medication": "Amoxicillin"}');
-- a trigger: the row write itself fails (it cannot be sent safely)
SELECT rtpush.attach('rx', 'enc-rx', ARRAY['private-doctor.{doctor_id}',
                     'private-encrypted-user.{patient_id}.prescriptions']);
INSERT INTO rx VALUES (1, 7, 3, 'Amoxicillin', '500 mg');
SELECT count(*) AS rx_rows FROM rx;
-- other channels are unaffected; "private-encrypted" needs the trailing dash
-- and the prefix is case-sensitive (both are plain private channels)
BEGIN;
SELECT rtpush.send(ARRAY['private-user.7', 'private-encryptedx', 'private-Encrypted-user.7'],
                   'enc-plain', '{"a": 1}') > 0 AS queued;
SELECT * FROM take();
COMMIT;
SELECT count(*) AS outbox_rows FROM rtpush.outbox WHERE event LIKE 'enc-%';
-- authorize_channel: no shared secret without the key
SELECT rtpush.authorize_channel('1234.5678', 'private-encrypted-user.7.prescriptions', '7');

-- ---- malformed master keys: the same refusal, the key never printed ------
-- (each key is set, reloaded, and tried with send(), a trigger and authorize_channel)
CREATE FUNCTION try_key() RETURNS TABLE (path text, state text, message text, detail text, leaks_key boolean)
LANGUAGE plpgsql AS $$
DECLARE
    k text := current_setting('rtpush.encryption_master_key');
    st text; msg text; det text;
BEGIN
    FOR path IN SELECT unnest(ARRAY['send', 'send-multi', 'trigger', 'authorize']) LOOP
        BEGIN
            CASE path
            WHEN 'send' THEN
                PERFORM rtpush.send('private-encrypted-user.7.prescriptions', 'enc-bad', '{"x": 1}');
            WHEN 'send-multi' THEN
                PERFORM rtpush.send(ARRAY['public-a', 'private-encrypted-b'], 'enc-bad', '{"x": 1}');
            WHEN 'trigger' THEN
                INSERT INTO rx VALUES (2, 7, 3, 'Ibuprofen', '200 mg');
            ELSE
                PERFORM rtpush.authorize_channel('1234.5678', 'private-encrypted-user.7.prescriptions', '7');
            END CASE;
            state := 'none'; message := 'accepted'; detail := NULL; leaks_key := false;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
            state := st; message := msg; detail := det;
            leaks_key := k <> '' AND (position(k IN msg) > 0 OR position(k IN coalesce(det, '')) > 0);
        END;
        RETURN NEXT;
    END LOOP;
END $$;
-- 9 bytes: too short
ALTER SYSTEM SET rtpush.encryption_master_key = 'dG9vIHNob3J0';
\i test/reload.psql
SELECT current_setting('rtpush.encryption_master_key') = 'dG9vIHNob3J0' AS key_in_effect;
SELECT * FROM try_key();
-- 33 bytes: one too many
ALTER SYSTEM SET rtpush.encryption_master_key = 'bPg/Agebobq6ITL6M+c7Qrk5JtWa20zw8cLEmRcUpPQA';
\i test/reload.psql
SELECT length(decode('bPg/Agebobq6ITL6M+c7Qrk5JtWa20zw8cLEmRcUpPQA', 'base64')) AS bytes,
       current_setting('rtpush.encryption_master_key') = 'bPg/Agebobq6ITL6M+c7Qrk5JtWa20zw8cLEmRcUpPQA' AS key_in_effect;
SELECT * FROM try_key();
-- not base64 at all (a hex key of 32 bytes, a common mistake, is 64 characters
-- that happen to be valid base64 of 48 bytes; this one has a '!')
ALTER SYSTEM SET rtpush.encryption_master_key = 'not base64!not base64!not base64!not base64!';
\i test/reload.psql
SELECT current_setting('rtpush.encryption_master_key') LIKE 'not base64!%' AS key_in_effect;
SELECT * FROM try_key();
-- 32 bytes as 64 hex digits: decodes as base64, but to 48 bytes
ALTER SYSTEM SET rtpush.encryption_master_key = '6cf83f02079ba1baba2132fa33e73b42b93926d59adb4cf0f1c2c4991714a4f4';
\i test/reload.psql
SELECT current_setting('rtpush.encryption_master_key') LIKE '6cf83f0207%' AS key_in_effect;
SELECT * FROM try_key();
SELECT count(*) AS rx_rows FROM rx;
SELECT count(*) AS outbox_rows FROM rtpush.outbox WHERE event LIKE 'enc-%';

-- ---- a valid key --------------------------------------------------------------
ALTER SYSTEM SET rtpush.encryption_master_key = 'bPg/Agebobq6ITL6M+c7Qrk5JtWa20zw8cLEmRcUpPQ=';
\i test/reload.psql
SELECT current_setting('rtpush.encryption_master_key') = 'bPg/Agebobq6ITL6M+c7Qrk5JtWa20zw8cLEmRcUpPQ=' AS key_in_effect;
-- the key is hidden from SHOW ALL and from roles that are not superusers
SELECT count(*) AS shown FROM pg_settings WHERE name = 'rtpush.encryption_master_key';
CREATE ROLE enc_nobody;
SET ROLE enc_nobody;
-- (the SQLSTATE, not the message: PostgreSQL 16 reworded it)
DO $$ BEGIN PERFORM current_setting('rtpush.encryption_master_key'); RAISE NOTICE 'the key is readable';
EXCEPTION WHEN insufficient_privilege THEN RAISE NOTICE 'rtpush.encryption_master_key: permission denied (%)', SQLSTATE; END $$;
RESET ROLE;
DROP ROLE enc_nobody;

-- authorize_channel: auth as the official library signs it, and the shared
-- secret equal to the node values above and to base64(SHA256(channel || key))
SELECT rtpush.authorize_channel('1234.5678', 'private-encrypted-user.7.prescriptions', '7');
SELECT rtpush.authorize_channel('1234.5678', 'private-encrypted-conversation.5', '12');
SELECT ch, r->>'shared_secret' = expected_secret(ch, 'bPg/Agebobq6ITL6M+c7Qrk5JtWa20zw8cLEmRcUpPQ=') AS matches_sha256,
       length(decode(r->>'shared_secret', 'base64')) AS secret_bytes
  FROM unnest(ARRAY['private-encrypted-user.7.prescriptions', 'private-encrypted-conversation.5',
                    'private-encrypted-a', 'private-encrypted-x-_=@,;',
                    'private-encrypted-' || repeat('z', 146)]) ch,
       LATERAL rtpush.authorize_channel('1234.5678', ch, '7') r;
-- each channel its own secret
SELECT count(DISTINCT rtpush.authorize_channel('1.2', 'private-encrypted-' || i, '7')->>'shared_secret') AS distinct_secrets
  FROM generate_series(1, 50) i;
-- plain private channels get no shared_secret; the rules still apply
SELECT rtpush.authorize_channel('1234.5678', 'private-user.7.notifications', '7') ? 'shared_secret' AS has_secret;
SELECT rtpush.authorize_channel('1234.5678', 'private-encrypted-user.7.prescriptions', '8');

-- ---- capture with the key: the data is queued as written, the worker encrypts
BEGIN;
SELECT rtpush.send('private-encrypted-user.7.prescriptions', 'enc-one', '{"medication": "Amoxicillin"}') > 0 AS queued;
SELECT * FROM take();
COMMIT;

-- several channels: one row for the plain ones (first), then one per encrypted
-- channel in the order given; every row keeps the event, data and socket id;
-- send() returns the first row's id
BEGIN;
SELECT rtpush.send(ARRAY['private-encrypted-b', 'public-a', 'private-encrypted-a', 'private-user.7',
                         'private-encrypted-c'],
                   'enc-split', '{"n": 1}', '1234.5678') AS first \gset
SELECT :first = min(id) AS returns_first_id, count(*) AS rows_queued, max(id) - min(id) + 1 AS ids_used
  FROM rtpush.outbox WHERE event = 'enc-split';
SELECT * FROM take();
COMMIT;
-- only encrypted channels: no row for "the rest"
BEGIN;
SELECT rtpush.send(ARRAY['private-encrypted-b', 'private-encrypted-a'], 'enc-only', '[1, "two"]') > 0 AS queued;
SELECT * FROM take();
COMMIT;
-- order per channel across events, whatever position the encrypted channel has
BEGIN;
SELECT rtpush.send(ARRAY['public-a', 'private-encrypted-x'], 'enc-seq', '1') > 0 AS q1;
SELECT rtpush.send(ARRAY['private-encrypted-x', 'public-a'], 'enc-seq', '2') > 0 AS q2;
SELECT rtpush.send(ARRAY['private-encrypted-y', 'private-encrypted-x'], 'enc-seq', '3') > 0 AS q3;
SELECT rtpush.send('private-encrypted-x', 'enc-seq', '4') > 0 AS q4;
SELECT ch, array_agg(data::text ORDER BY id) AS data_in_id_order
  FROM rtpush.outbox, unnest(channels) ch WHERE event = 'enc-seq' GROUP BY ch ORDER BY ch;
SELECT count(*) FILTER (WHERE cardinality(channels) > 1
                          AND EXISTS (SELECT FROM unnest(channels) c WHERE c LIKE 'private-encrypted-%'))
       AS mixed_rows
  FROM rtpush.outbox WHERE event LIKE 'enc-%';
SELECT * FROM take();
COMMIT;
-- 100 channels (Pusher's limit), half encrypted: 51 rows
BEGIN;
SELECT rtpush.send(array_agg(CASE WHEN i % 2 = 0 THEN 'private-encrypted-' ELSE 'public-' END || i ORDER BY i),
                   'enc-wide', '{}') > 0 AS queued
  FROM generate_series(1, 100) i;
SELECT count(*) AS rows_queued FROM rtpush.outbox WHERE event = 'enc-wide';
SELECT n, cardinality(channels) AS nchannels, channels[1] AS first_channel,
       channels[cardinality(channels)] AS last_channel
  FROM take() WHERE n IN (1, 2, 3, 51);
COMMIT;

-- triggers split the same way; a row-level trigger on a multi-row statement
-- keeps row order per channel
BEGIN;
INSERT INTO rx VALUES (10, 7, 3, 'Amoxicillin', '500 mg'), (11, 8, 3, 'Ibuprofen', '200 mg'),
                      (12, 7, 4, 'Cetirizine', '10 mg');
UPDATE rx SET dosage = '250 mg' WHERE id = 10;
SELECT * FROM take();
COMMIT;
SELECT rtpush.detach('rx', 'enc-rx');
-- statement-level trigger with a transition table: the same rows
CREATE TRIGGER enc_rx_stmt AFTER INSERT ON rx REFERENCING NEW TABLE AS new
    FOR EACH STATEMENT EXECUTE FUNCTION rtpush.broadcast('enc-rx-stmt', 'private-doctor.{doctor_id}',
        'private-encrypted-user.{patient_id}.prescriptions', 'columns=id,medication');
BEGIN;
INSERT INTO rx VALUES (20, 7, 3, 'Amoxicillin', '500 mg'), (21, 8, 3, 'Ibuprofen', '200 mg');
SELECT * FROM take();
COMMIT;
-- an unpadded key is the same key
ALTER SYSTEM SET rtpush.encryption_master_key = 'bPg/Agebobq6ITL6M+c7Qrk5JtWa20zw8cLEmRcUpPQ';
\i test/reload.psql
SELECT current_setting('rtpush.encryption_master_key') = 'bPg/Agebobq6ITL6M+c7Qrk5JtWa20zw8cLEmRcUpPQ' AS key_in_effect;
SELECT rtpush.authorize_channel('1234.5678', 'private-encrypted-user.7.prescriptions', '7')->>'shared_secret'
       = '7ztKi+dKJ5jKba9RNNM6jZpdS47e9iSBtP/a6W4Oz20=' AS same_secret;
BEGIN;
SELECT rtpush.send('private-encrypted-a', 'enc-unpadded', '{}') > 0 AS queued;
SELECT * FROM take();
COMMIT;

-- ---- clean up -----------------------------------------------------------------
ALTER SYSTEM RESET rtpush.encryption_master_key;
\i test/reload.psql
SELECT current_setting('rtpush.encryption_master_key') = '' AS key_reset;
SELECT rtpush.send('private-encrypted-a', 'enc-after-reset', '{}');
SELECT count(*) AS outbox_rows FROM rtpush.outbox WHERE event LIKE 'enc-%';
DROP TABLE rx;
DELETE FROM rtpush.channel_rules;
INSERT INTO rtpush.channel_rules SELECT * FROM saved_rules;
DROP FUNCTION allow_all(text, jsonb);
DROP FUNCTION try_key();
DROP FUNCTION take();
DROP FUNCTION expected_secret(text, text);

-- The limit applies to what is sent: the encryption envelope is larger than
-- the row (60 + 4/3 of it), and a repeated channel is sent once.
ALTER SYSTEM SET rtpush.encryption_master_key = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';
SELECT pg_reload_conf();
SELECT pg_sleep(0.9);
SELECT rtpush.send('private-encrypted-big', 'big', to_jsonb(repeat('x', 8000)));
SELECT rtpush.send('public-big', 'big', to_jsonb(repeat('x', 8000))) > 0 AS plain_fits;
BEGIN;
SELECT rtpush.send(ARRAY['private-encrypted-a', 'public-a', 'private-encrypted-a'], 'dup', '1') > 0 AS queued;
SELECT channels FROM rtpush.outbox WHERE event = 'dup' ORDER BY id;
ROLLBACK;
ALTER SYSTEM RESET rtpush.encryption_master_key;
SELECT pg_reload_conf();
SELECT pg_sleep(0.9);
TRUNCATE rtpush.outbox;
