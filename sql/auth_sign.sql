-- Signatures: private, presence, encrypted channels and user sign-in;
-- input validation; client configuration; unset credentials; published
-- vectors.  Expected "auth" values were computed independently with the
-- official pusher npm library (test/node/node_modules/pusher), e.g.
--   node -e 'const P=require("pusher"); const p=new P({appId:"1",key:"regress-key",
--     secret:"regress-secret-do-not-print"}); console.log(p.authorizeChannel(sid, ch, JSON.parse(channel_data)))'
-- and the vectors of pusher-http-node's tests/integration/pusher/authenticate.js
-- and Pusher's auth-signature documentation.
\set VERBOSITY default
CREATE TEMP TABLE saved_rules AS SELECT * FROM rtpush.channel_rules;
DELETE FROM rtpush.channel_rules;
CREATE FUNCTION allow_all(user_id text, captures jsonb) RETURNS boolean
    LANGUAGE sql AS $$ SELECT true $$;
INSERT INTO rtpush.channel_rules (pattern, rule) VALUES
    ('presence-conversation.{conversation_id}', 'allow_all'),
    ('private-user.{user_id}.*', 'owner'),
    ('private-encrypted-user.{user_id}.*', 'owner'),
    ('private-foobar', 'allow_all');

-- ---- presence: channel_data is exactly the string signed ------------------
-- regress-key:da0adfe8758aa2b41994a77419e2f5fb99ef85ebe7a02159be96b222449c90ef
SELECT rtpush.authorize_channel('1234.5678', 'presence-conversation.5', '12',
                                '{"name": "Dr. Ann Lee", "role": "doctor"}');
-- without user_info: regress-key:240768a859dc36781c25f4210827369f4db06297e1ee049dcd5833275ccf937c
SELECT rtpush.authorize_channel('1234.5678', 'presence-conversation.5', '7');
-- escapes, unicode, nesting; compact JSON as JSON.stringify writes it
-- node, channel_data parsed: regress-key:74ba9350bd202862b82cd6fdcedaf19005dd5f3183339fb7e4d3b968d423dc09
SELECT r->>'channel_data' AS channel_data, r->>'auth' AS auth
  FROM rtpush.authorize_channel('1234.5678', 'presence-conversation.5', '12',
         jsonb_build_object('name', E'Ann "Q" \u00e9\n\u0001 ☃', 'tags', '[1, 2, {"x": null}]'::jsonb, 'ok', true)) AS r;
-- user info as large as allowed (1024 bytes as JSON), then one byte more
SELECT length(r->>'channel_data')
  FROM rtpush.authorize_channel('1234.5678', 'presence-conversation.5', '12',
         jsonb_build_object('n', repeat('x', 1016))) AS r;
SELECT rtpush.authorize_channel('1234.5678', 'presence-conversation.5', '12',
                                jsonb_build_object('n', repeat('x', 1017)));
SELECT rtpush.authorize_channel('1234.5678', 'presence-conversation.5', '12', '[1, 2]');
SELECT rtpush.authorize_channel('1234.5678', 'presence-conversation.5', '12', '"name"');
-- user id up to 128 bytes
SELECT length(rtpush.authorize_channel('1234.5678', 'presence-conversation.5', repeat('u', 128))->>'channel_data');
SELECT rtpush.authorize_channel('1234.5678', 'presence-conversation.5', repeat('u', 129));
SELECT rtpush.authorize_channel('1234.5678', 'presence-conversation.5', '');
-- user ids are JSON-escaped, never spliced
SELECT rtpush.authorize_channel('1234.5678', 'presence-conversation.5', E'a"b\\c')->>'channel_data';

-- ---- private: user_info is not part of the signature ------------------------
SELECT rtpush.authorize_channel('1234.5678', 'private-user.12.notifications', '12', '{"name": "x"}');

-- ---- socket ids: digits, a dot, digits --------------------------------------
\set VERBOSITY terse
DO $$
DECLARE
    s text;
    r jsonb;
BEGIN
    FOREACH s IN ARRAY ARRAY['1234', '1234.', '.5678', 'a.b', '1234.5678 ', ' 1234.5678',
                             '1234.5678:private-user.1.notifications', '1234.5678.9', '-1.5',
                             '1234,5678', '１２.３４', '', '1234.5678'] LOOP
        BEGIN
            r := rtpush.authorize_channel(s, 'private-user.1.notifications', '1');
            RAISE NOTICE '"%" -> allowed', s;
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE '"%" -> % %', s, SQLSTATE, SQLERRM;
        END;
    END LOOP;
END $$;
\set VERBOSITY default
SELECT rtpush.authorize_channel(NULL, 'private-user.1.notifications', '1');
SELECT rtpush.authorize_channel('1.1', NULL, '1');
SELECT rtpush.authorize_channel('1.1', 'private-user.1.notifications', NULL);
SELECT rtpush.authorize_channel('1.1', 'doctor.3.availability', '1');

-- ---- user sign-in (pusher:signin) -------------------------------------------
-- regress-key:dc8acb6b12071336737c25787fb3c1357d65b93e3a0a0cd66b57c36a667b2aea
SELECT rtpush.authenticate_user('1234.5678', '{"id": "12", "user_info": {"name": "Ann"}}');
SELECT rtpush.authenticate_user('1234.5678', '{"id": 12}');
SELECT rtpush.authenticate_user('1234.5678', '{"id": ""}');
SELECT rtpush.authenticate_user('1234.5678', '{"name": "Ann"}');
SELECT rtpush.authenticate_user('1234.5678', '["12"]');
SELECT rtpush.authenticate_user('1234.5678', jsonb_build_object('id', repeat('u', 129)));
SELECT rtpush.authenticate_user('12345678', '{"id": "12"}');

-- ---- client configuration: never the secret ---------------------------------
SELECT rtpush.client_config('12');
SELECT rtpush.client_config();
SELECT rtpush.client_config('12')::text LIKE '%secret%' AS mentions_secret;
-- clients behind a TLS proxy: their websocket host, port and TLS apart from the API's
ALTER SYSTEM SET rtpush.ws_host = 'ws.example.com';
ALTER SYSTEM SET rtpush.ws_port = 443;
ALTER SYSTEM SET rtpush.ws_tls = on;
\i test/reload.psql
SELECT c->'wsHost' AS ws_host, c->'wsPort' AS ws_port, c->'wssPort' AS wss_port, c->'forceTLS' AS force_tls
FROM rtpush.client_config() c;
ALTER SYSTEM SET rtpush.ws_tls = off;
ALTER SYSTEM RESET rtpush.ws_port;
\i test/reload.psql
SELECT c->'wsHost' AS ws_host, c->'wsPort' AS ws_port, c->'forceTLS' AS force_tls FROM rtpush.client_config() c;
ALTER SYSTEM SET rtpush.ws_host = 'wss://ws.example.com';
ALTER SYSTEM SET rtpush.ws_tls = maybe;
ALTER SYSTEM RESET rtpush.ws_host;
ALTER SYSTEM RESET rtpush.ws_tls;
\i test/reload.psql
SELECT rtpush.client_config() = rtpush.client_config(NULL) AND
       rtpush.client_config()->>'wsHost' = '127.0.0.1' AND
       rtpush.client_config()->>'forceTLS' = 'false' AS back_to_the_api_host;

-- ---- encrypted channels: shared_secret needs the master key -----------------
SELECT rtpush.authorize_channel('1234.5678', 'private-encrypted-user.12.prescriptions', '12');
SELECT rtpush.authorize_channel('1234.5678', 'private-encrypted-user.1.prescriptions', '12');
ALTER SYSTEM SET rtpush.encryption_master_key = 'BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=';
\i test/reload.psql
-- pusher: regress-key:7b1d6dcbfa49f6fe29e1e9bdde885f4ad366bb31b60a2620f502b6388bc6883d,
--   shared_secret zf0s2u25rmqlnSX2XJoM7s0iA/Bk8U522yMs7X4ExiU= (encryptionMasterKeyBase64 as above)
SELECT rtpush.authorize_channel('1234.5678', 'private-encrypted-user.12.prescriptions', '12');
ALTER SYSTEM SET rtpush.encryption_master_key = 'dG9vIHNob3J0';
\i test/reload.psql
SELECT rtpush.authorize_channel('1234.5678', 'private-encrypted-user.12.prescriptions', '12');

-- ---- published vectors with other credentials --------------------------------
-- Pusher's docs: key 278d425bdf160c739803, secret 7ad3773142a6692b25b8,
-- socket 1234.1234, private-foobar
--   -> 278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4
-- pusher-http-node authenticateUser tests: key aaaa, secret tofu.
ALTER SYSTEM RESET rtpush.encryption_master_key;
ALTER SYSTEM SET rtpush.key = '278d425bdf160c739803';
ALTER SYSTEM SET rtpush.secret = '7ad3773142a6692b25b8';
\i test/reload.psql
SELECT rtpush.authorize_channel('1234.1234', 'private-foobar', 'anyone');
ALTER SYSTEM SET rtpush.key = 'aaaa';
ALTER SYSTEM SET rtpush.secret = 'tofu';
\i test/reload.psql
-- aaaa:f4b1fdeea7c93e32648c7230e32b172057c5623cace6cfce791c6e7035e0babd
SELECT rtpush.authenticate_user('123.456', '{"id": "45678"}');
-- aaaa:b8a9f173455903792ae2b788add0c4c78ad7372b3ae7fb5769479276a1993743
SELECT rtpush.authenticate_user('123.456', '{"id": "55555", "user_name": "test"}');
-- aaaa:620494cee53d6c568b49598313194088afda37218f0d059af03c0c898ed61ff4
SELECT rtpush.authenticate_user('1.1', '{"id": "ą§¶™€łü€ß£"}');

-- ---- unset credentials: a clear error, never the secret ----------------------
ALTER SYSTEM SET rtpush.secret = '';
\i test/reload.psql
SELECT rtpush.authorize_channel('1234.5678', 'private-user.1.notifications', '1');
SELECT rtpush.authenticate_user('1234.5678', '{"id": "1"}');
SELECT rtpush.verify_webhook('aaaa', 'x', '{}');
SELECT rtpush.client_config('1')->>'key' AS key_still_served;
ALTER SYSTEM SET rtpush.key = '';
\i test/reload.psql
SELECT rtpush.client_config('1');
ALTER SYSTEM RESET rtpush.key;
ALTER SYSTEM RESET rtpush.secret;
\i test/reload.psql
SELECT current_setting('rtpush.key') AS key_restored,
       rtpush.authorize_channel('1234.5678', 'private-user.1.notifications', '1')->>'auth'
         = 'regress-key:816c559e10beb7dac2e4d9e6c17c4155d1cc6fc94912e06e27f41f4ee207a462' AS signs_again;

-- ---- clean up -----------------------------------------------------------------
DELETE FROM rtpush.channel_rules;
INSERT INTO rtpush.channel_rules SELECT * FROM saved_rules;
DROP FUNCTION allow_all(text, jsonb);
