-- Channel rules: patterns, placeholders, deny by default, owner and function
-- rules, and adversarial channel names (issue 5, issue 8 "Channel auth").
-- Signatures shown here were computed independently with the official
-- pusher npm library (test/node/node_modules/pusher):
--   new Pusher({appId:'1', key:'regress-key', secret:'regress-secret-do-not-print'})
--     .authorizeChannel(socket_id, channel[, JSON.parse(channel_data)])
\set VERBOSITY default
-- keep whatever rules other tests installed out of the way
CREATE TEMP TABLE saved_rules AS SELECT * FROM rtpush.channel_rules;
DELETE FROM rtpush.channel_rules;

-- ---- patterns -------------------------------------------------------
SELECT rtpush.pattern_placeholders('private-user.{user_id}.*');
SELECT rtpush.pattern_placeholders('private-conversation.{conversation_id}.user.{member}');
SELECT rtpush.pattern_placeholders('private-plain');
SELECT rtpush.pattern_placeholders('private-user.{user id}');
SELECT rtpush.pattern_placeholders('private-user.{user_id');
SELECT rtpush.pattern_placeholders('private-user.{a}.{a}');
SELECT rtpush.pattern_placeholders('private-user.*.x');
SELECT rtpush.pattern_placeholders('private-user.{id}x');
SELECT rtpush.pattern_placeholders('private-user%2E{id}');
SELECT rtpush.pattern_placeholders('');

-- whole-name matching; a placeholder is one non-empty segment without dots
SELECT c, rtpush.match_channel('private-user.{user_id}.notifications', c)
  FROM unnest(ARRAY[
    'private-user.12.notifications',
    'private-user.1.notifications',
    'private-user.1.2.notifications',        -- extra dot: not one segment
    'private-user..notifications',           -- empty segment
    'private-user.12.notifications.x',       -- suffix
    'xprivate-user.12.notifications',        -- prefix
    'private-user.12.notificationsx',
    'private-user.12',
    'private-user.12.notifications;private-user.1.notifications',
    'private-user.%31.notifications'         -- encoded: invalid channel
  ]) AS c;
SELECT c, rtpush.match_channel('private-user.{user_id}.*', c)
  FROM unnest(ARRAY[
    'private-user.12.notifications',
    'private-user.12.a.b.c',
    'private-user.12',
    'private-user.12.',
    'private-user.12..x',
    'private-user..x'
  ]) AS c;

-- ---- the app's data and rule functions -------------------------------
CREATE TABLE conversation_participants (conversation_id int, user_id text);
INSERT INTO conversation_participants VALUES (5, '12'), (5, '7'), (6, '1');
CREATE TABLE doctors (id int PRIMARY KEY, user_id text NOT NULL);
INSERT INTO doctors VALUES (3, '12'), (4, '7');

CREATE FUNCTION is_participant(user_id text, captures jsonb) RETURNS boolean
    LANGUAGE sql STABLE AS
$$ SELECT EXISTS (SELECT FROM conversation_participants p
                   WHERE p.conversation_id::text = captures->>'conversation_id'
                     AND p.user_id = $1) $$;
CREATE FUNCTION is_doctor(user_id text, captures jsonb) RETURNS boolean
    LANGUAGE sql STABLE AS
$$ SELECT EXISTS (SELECT FROM doctors d
                   WHERE d.id::text = captures->>'doctor_id' AND d.user_id = $1) $$;
CREATE FUNCTION says_null(user_id text, captures jsonb) RETURNS boolean
    LANGUAGE sql AS $$ SELECT NULL::boolean $$;
CREATE FUNCTION not_suspended(user_id text, captures jsonb) RETURNS boolean
    LANGUAGE sql AS $$ SELECT $1 <> '13' $$;
CREATE FUNCTION wrong_signature(user_id int, captures jsonb) RETURNS boolean
    LANGUAGE sql AS $$ SELECT true $$;
CREATE FUNCTION wrong_return(user_id text, captures jsonb) RETURNS int
    LANGUAGE sql AS $$ SELECT 1 $$;

-- ---- rules: validation on insert --------------------------------------
INSERT INTO rtpush.channel_rules (pattern, rule) VALUES
    ('private-user.{user_id}.notifications', 'owner'),
    ('private-user.{user_id}.appointments', 'owner'),
    ('private-user.{patient_id}.prescriptions', 'owner'),
    ('private-user.{user_id}.*', 'owner'),
    ('private-user.{user_id}.status', 'not_suspended'),
    ('private-conversation.{conversation_id}', 'is_participant'),
    ('presence-conversation.{conversation_id}', 'is_participant(text, jsonb)'),
    ('private-doctor.{doctor_id}.ratings', 'public.is_doctor'),
    ('private-null.{x}', 'says_null');
INSERT INTO rtpush.channel_rules (pattern, rule, owner_capture)
    VALUES ('private-pair.{a}.{b}', 'owner', 'b');
SELECT pattern, rule, owner_capture, check_function
  FROM rtpush.channel_rules ORDER BY pattern COLLATE "C";

INSERT INTO rtpush.channel_rules VALUES ('private-x.{a}.{b}', 'owner');
INSERT INTO rtpush.channel_rules VALUES ('private-x.fixed', 'owner');
INSERT INTO rtpush.channel_rules (pattern, rule, owner_capture) VALUES ('private-x.{a}', 'owner', 'b');
INSERT INTO rtpush.channel_rules VALUES ('doctor.{doctor_id}.availability', 'owner');
INSERT INTO rtpush.channel_rules VALUES ('private-x.{bad', 'owner');
INSERT INTO rtpush.channel_rules VALUES ('private-x.{a}', 'no_such_function');
INSERT INTO rtpush.channel_rules VALUES ('private-x.{a}', 'wrong_signature(int, jsonb)');
INSERT INTO rtpush.channel_rules VALUES ('private-x.{a}', 'wrong_return');
INSERT INTO rtpush.channel_rules VALUES ('private-user.{user_id}.*', 'owner');

-- ---- the guide's substring bug is impossible ---------------------------
-- user 1 asks for user 12's notifications: denied (42501)
SELECT rtpush.authorize_channel('1234.5678', 'private-user.12.notifications', '1');
-- user 12 gets them: regress-key:e96b5aa741201adf4d4bd90e7eb411a072aad4a358ee19192c65cb31fc0cd6a1
SELECT rtpush.authorize_channel('1234.5678', 'private-user.12.notifications', '12');
-- user 1 gets their own: regress-key:816c559e10beb7dac2e4d9e6c17c4155d1cc6fc94912e06e27f41f4ee207a462
SELECT rtpush.authorize_channel('1234.5678', 'private-user.1.notifications', '1');

-- adversarial names for user 1: only exact ownership passes
\set VERBOSITY terse
DO $$
DECLARE
    c text;
    r jsonb;
BEGIN
    FOREACH c IN ARRAY ARRAY[
        'private-user.12.notifications',
        'private-user.11.notifications',
        'private-user.01.notifications',
        'private-user.1x.notifications',
        'private-user.x1.notifications',
        'private-user.1',
        'private-user.1.',
        'private-user..1.notifications',
        'private-user.12.1.notifications',
        'private-user.1;12.notifications',
        'private-user.1,private-user.12.notifications',
        'private-user.1=1.notifications',
        'private-user.12.notifications.1',
        'private-user.12.user.1.notifications',
        'private-user.1@x.notifications',
        'private-user.1.notifications',
        'private-user.1.notifications.extra',
        'private-user.1.a.b.c'
    ] LOOP
        BEGIN
            r := rtpush.authorize_channel('1234.5678', c, '1');
            RAISE NOTICE '% -> allowed', c;
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE '% -> % %', c, SQLSTATE, SQLERRM;
        END;
    END LOOP;
END $$;
-- names that are not valid channels, or public: 22023
DO $$
DECLARE
    c text;
    r jsonb;
BEGIN
    FOREACH c IN ARRAY ARRAY[
        'private-user.%31.notifications',
        'private-user.1%2E12.notifications',
        'private-user.1/notifications',
        'private-user.1 .notifications',
        'private-user.１.notifications',
        'private-user.1:x.notifications',
        'PRIVATE-user.1.notifications',
        ' private-user.1.notifications',
        'user.1.notifications',
        '#private-user.1.notifications',
        '',
        'private-' || repeat('a', 160)
    ] LOOP
        BEGIN
            r := rtpush.authorize_channel('1234.5678', c, '1');
            RAISE NOTICE '% -> allowed', c;
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE '% -> % %', c, SQLSTATE, SQLERRM;
        END;
    END LOOP;
END $$;
\set VERBOSITY default

-- ---- function rules -----------------------------------------------------
-- regress-key:0dea5cc7afcb91080575b879ed621408d596e3a4d5598c3bb5d35cd8a1d57740
SELECT rtpush.authorize_channel('1234.5678', 'private-conversation.5', '12');
SELECT rtpush.authorize_channel('1234.5678', 'private-conversation.5', '1');
SELECT rtpush.authorize_channel('1234.5678', 'private-conversation.6', '12');
SELECT rtpush.authorize_channel('1234.5678', 'private-conversation.5.x', '12');
-- doctor 3 is user 12; user 7 is doctor 4
SELECT rtpush.authorize_channel('1234.5678', 'private-doctor.3.ratings', '12') ? 'auth' AS allowed;
SELECT rtpush.authorize_channel('1234.5678', 'private-doctor.3.ratings', '7');
SELECT rtpush.authorize_channel('1234.5678', 'private-doctor.3', '12');
-- NULL from a rule function denies
SELECT rtpush.authorize_channel('1234.5678', 'private-null.1', '1');
-- every matching rule must allow: the owner rule (.*) and not_suspended both match
SELECT rtpush.authorize_channel('1234.5678', 'private-user.12.status', '12') ? 'auth' AS allowed;
SELECT rtpush.authorize_channel('1234.5678', 'private-user.13.status', '13');
SELECT rtpush.authorize_channel('1234.5678', 'private-user.13.other', '13') ? 'auth' AS allowed;
-- owner_capture chooses the placeholder
SELECT rtpush.authorize_channel('1234.5678', 'private-pair.1.2', '2') ? 'auth' AS allowed;
SELECT rtpush.authorize_channel('1234.5678', 'private-pair.1.2', '1');
-- no rule at all: denied by default
SELECT rtpush.authorize_channel('1234.5678', 'private-unknown', '1');
SELECT rtpush.authorize_channel('1234.5678', 'presence-user.1', '1');
-- a rule's function cannot be dropped (issue 23): refused, CASCADE too
DROP FUNCTION says_null(text, jsonb);
DROP FUNCTION says_null(text, jsonb) CASCADE;
-- nor renamed or moved away
ALTER FUNCTION says_null(text, jsonb) RENAME TO says_nothing;
CREATE SCHEMA rules_elsewhere;
ALTER FUNCTION says_null(text, jsonb) SET SCHEMA rules_elsewhere;
-- a function dropped by a cascade takes its rule along
CREATE FUNCTION rules_elsewhere.gone(user_id text, captures jsonb) RETURNS boolean
    LANGUAGE sql RETURN true;
INSERT INTO rtpush.channel_rules VALUES ('private-gone.{x}', 'rules_elsewhere.gone');
SELECT rtpush.authorize_channel('1234.5678', 'private-gone.1', '1') ? 'auth';
DROP SCHEMA rules_elsewhere CASCADE;
SELECT count(*) FROM rtpush.channel_rules WHERE pattern = 'private-gone.{x}';
SELECT rtpush.authorize_channel('1234.5678', 'private-gone.1', '1');
-- a rule whose function was dropped denies (a 0.1 database, or the
-- function dropped with rtpush's event triggers disabled)
ALTER EVENT TRIGGER rtpush_channel_rules_drop DISABLE;
DROP FUNCTION says_null(text, jsonb);
ALTER EVENT TRIGGER rtpush_channel_rules_drop ENABLE;
SELECT rtpush.authorize_channel('1234.5678', 'private-null.1', '1');
-- removing a rule removes the access it gave
DELETE FROM rtpush.channel_rules WHERE pattern = 'private-user.{user_id}.*';
SELECT rtpush.authorize_channel('1234.5678', 'private-user.1.a.b.c', '1');
SELECT rtpush.authorize_channel('1234.5678', 'private-user.1.notifications', '1') ? 'auth' AS allowed;

-- ---- privileges -----------------------------------------------------------
CREATE ROLE regress_rtpush_app;
CREATE ROLE regress_rtpush_other;
GRANT USAGE ON SCHEMA rtpush TO regress_rtpush_app, regress_rtpush_other;
SELECT p.oid::regprocedure AS function, has_function_privilege('regress_rtpush_other', p.oid, 'EXECUTE') AS public_execute
  FROM pg_proc p WHERE p.pronamespace = 'rtpush'::regnamespace
   AND p.proname IN ('authorize_channel', 'authenticate_user', 'verify_webhook', 'handle_webhook',
                     'client_config', 'match_channel', 'pattern_placeholders')
 ORDER BY 1::text;
SELECT t AS relation,
       has_table_privilege('regress_rtpush_other', t, 'SELECT') AS can_select,
       has_table_privilege('regress_rtpush_other', t, 'INSERT,UPDATE,DELETE') AS can_write
  FROM unnest(ARRAY['rtpush.channel_rules', 'rtpush.presence', 'rtpush.channel_occupancy',
                    'rtpush.user_presence']) AS t;
SET ROLE regress_rtpush_other;
SELECT rtpush.authorize_channel('1234.5678', 'private-user.1.notifications', '1');
INSERT INTO rtpush.channel_rules VALUES ('private-evil.{x}', 'owner');
UPDATE rtpush.channel_rules SET rule = 'owner' WHERE pattern = 'private-conversation.{conversation_id}';
RESET ROLE;
-- the auth endpoint's role: EXECUTE, and what its rule functions read
GRANT EXECUTE ON FUNCTION rtpush.authorize_channel(text, text, text, jsonb) TO regress_rtpush_app;
GRANT SELECT ON conversation_participants TO regress_rtpush_app;
SET ROLE regress_rtpush_app;
SELECT rtpush.authorize_channel('1234.5678', 'private-conversation.5', '12');
SELECT rtpush.authorize_channel('1234.5678', 'private-conversation.5', '1');
RESET ROLE;
REVOKE ALL ON conversation_participants FROM regress_rtpush_app;
REVOKE ALL ON FUNCTION rtpush.authorize_channel(text, text, text, jsonb) FROM regress_rtpush_app;
REVOKE ALL ON SCHEMA rtpush FROM regress_rtpush_app, regress_rtpush_other;
DROP ROLE regress_rtpush_app;
DROP ROLE regress_rtpush_other;

-- ---- clean up ---------------------------------------------------------------
DELETE FROM rtpush.channel_rules;
INSERT INTO rtpush.channel_rules SELECT * FROM saved_rules;
DROP FUNCTION is_participant(text, jsonb), is_doctor(text, jsonb), not_suspended(text, jsonb),
    wrong_signature(int, jsonb), wrong_return(text, jsonb);
DROP TABLE conversation_participants, doctors;
