-- A database's own Pusher app (rtpush.set_app, rtpush--0.7--0.8.sql 70):
-- checks of every argument (no error shows the secret or the master key),
-- the app the auth functions sign with, the cluster-wide fallback of each
-- endpoint argument left NULL, the way back (rtpush.reset_app), a rolled
-- back change, and who may see or change it.  Expected "auth" values were
-- computed independently with the official pusher npm library, e.g.
--   node -e 'const P=require("pusher"); const p=new P({appId:"clinic-a",
--     key:"clinic-a-key", secret:"clinic-a-secret-do-not-print",
--     encryptionMasterKeyBase64:"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="});
--     console.log(p.authorizeChannel("1234.5678", "private-foobar"))'
\set VERBOSITY default
CREATE TEMP TABLE saved_rules AS SELECT * FROM rtpush.channel_rules;
DELETE FROM rtpush.channel_rules;
CREATE FUNCTION allow_all(user_id text, captures jsonb) RETURNS boolean
    LANGUAGE sql AS $$ SELECT true $$;
INSERT INTO rtpush.channel_rules (pattern, rule) VALUES
    ('private-foobar', 'allow_all'),
    ('private-encrypted-user.{user_id}.*', 'owner');

-- ---- without a row: the cluster-wide settings (test/regress.conf) ------------
SELECT * FROM rtpush.app;
SELECT rtpush.authorize_channel('1234.5678', 'private-foobar', 'anyone');
-- the cluster has no master key
SELECT rtpush.authorize_channel('1234.5678', 'private-encrypted-user.12.inbox', '12');

-- ---- bad input: a clear error, the secret and the key never in it ------------
SELECT rtpush.set_app('', 'k', 'the-secret');
SELECT rtpush.set_app('a', NULL, 'the-secret');
SELECT rtpush.set_app('a', 'k', '');
SELECT rtpush.set_app('a', 'k', 'the-secret', port => 0);
SELECT rtpush.set_app('a', 'k', 'the-secret', port => 65536);
SELECT rtpush.set_app('a', 'k', 'the-secret', scheme => 'ftp');
SELECT rtpush.set_app('a', 'k', 'the-secret', host => 'soketi:6001');
SELECT rtpush.set_app('a', 'k', 'the-secret', host => '');
SELECT rtpush.set_app('a', 'k', 'the-secret', cluster => '');
SELECT rtpush.set_app('a', 'k', 'the-secret', encryption_master_key => 'not-base64!');
SELECT rtpush.set_app('a', 'k', 'the-secret', encryption_master_key => 'c2hvcnQ=');
-- none of them stored anything
SELECT count(*) AS rows FROM rtpush.app_config;

-- ---- this database's own app -------------------------------------------------
SELECT rtpush.set_app('clinic-a', 'clinic-a-key', 'clinic-a-secret-do-not-print',
                      host => '127.0.0.2', port => 6002, scheme => 'http',
                      encryption_master_key => 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=');
SELECT * FROM rtpush.app;
-- clinic-a-key:f54159f2065c1c2484e7a69d0802800a49bcfce0c4f992382e4bf1597da0621d
SELECT rtpush.authorize_channel('1234.5678', 'private-foobar', 'anyone');
-- clinic-a-key:bace1c7fb4f0c85486ec4bf71ae0f1f4dba27ae5d8a554b694ef45e4d4f7e7b8,
-- shared secret 6bbu9nI7QKEkz7ZwUqHkuQF4qZh5g2tkampcEk3WNZs=
SELECT rtpush.authorize_channel('1234.5678', 'private-encrypted-user.12.inbox', '12');
SELECT r->>'key' AS key, r->>'wsHost' AS ws_host, r->>'wsPort' AS ws_port, r->>'forceTLS' AS tls
  FROM rtpush.client_config('12') AS r;
-- an event on an encrypted channel can be queued now (the trigger's check)
BEGIN;
SELECT rtpush.send(ARRAY['private-encrypted-user.12.inbox'], 'message.sent', '{"id": 1}') IS NOT NULL AS queued;
ROLLBACK;

-- set again: it replaces the row; endpoint arguments left NULL take the
-- cluster's (127.0.0.1:9), and there is no master key on either side
SELECT rtpush.set_app('clinic-a', 'clinic-a-key', 'clinic-a-secret-do-not-print');
SELECT * FROM rtpush.app;
SELECT count(*) AS rows FROM rtpush.app_config;
SELECT rtpush.send(ARRAY['private-encrypted-user.12.inbox'], 'message.sent', '{"id": 1}');

-- a change rolled back is forgotten by this backend too
BEGIN;
SELECT rtpush.set_app('clinic-b', 'clinic-b-key', 'clinic-b-secret');
SELECT app_id FROM rtpush.app;
ROLLBACK;
SELECT app_id FROM rtpush.app;

-- ---- who may see or change it: superusers only --------------------------------
CREATE ROLE regress_rtpush_app_role;
GRANT USAGE ON SCHEMA rtpush TO regress_rtpush_app_role;
SET ROLE regress_rtpush_app_role;
SELECT secret FROM rtpush.app_config;
SELECT * FROM rtpush.app;
SELECT * FROM rtpush.app_info();
SELECT rtpush.set_app('x', 'y', 'z');
SELECT rtpush.reset_app();
RESET ROLE;
REVOKE USAGE ON SCHEMA rtpush FROM regress_rtpush_app_role;
DROP ROLE regress_rtpush_app_role;

-- ---- back to the cluster's app -------------------------------------------------
SELECT rtpush.reset_app();
SELECT source, app_id, key FROM rtpush.app;
-- regress-key:f84c363c72868ae3f675b58d0b81b69487e1f995e0a625c57ed5928a7680a63d
SELECT rtpush.authorize_channel('1234.5678', 'private-foobar', 'anyone');

-- ---- clean up -----------------------------------------------------------------
DELETE FROM rtpush.channel_rules;
INSERT INTO rtpush.channel_rules SELECT * FROM saved_rules;
DROP FUNCTION allow_all(text, jsonb);
