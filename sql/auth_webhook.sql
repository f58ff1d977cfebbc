-- Webhooks: verification (constant time, key and signature) and presence
-- recorded idempotently from member_added/member_removed and
-- channel_occupied/channel_vacated.  Signatures are HMAC-SHA256 hex of the
-- body with the regress secret, computed independently with node:
--   require("crypto").createHmac("sha256", secret).update(body).digest("hex")
\set VERBOSITY default
\set b1 '{"time_ms":1700000000000,"events":[{"name":"channel_occupied","channel":"presence-conversation.5"},{"name":"member_added","channel":"presence-conversation.5","user_id":"12"}]}'
\set b1_sig f24415884465bdb3305ab9c1f5687e162e81596332871926574f92347efe0de7
\set b2 '{"time_ms":1700000005000,"events":[{"name":"member_added","channel":"presence-conversation.5","user_id":"7"},{"name":"client_event","channel":"private-conversation.5","event":"client-typing","data":"{}","socket_id":"1.1"}]}'
\set b2_sig d055cbf824276a6dd3fede76b3a35039c4c18178409b581dc5a1a27d01e1b52a
\set b3 '{"time_ms":1699999999000,"events":[{"name":"member_removed","channel":"presence-conversation.5","user_id":"12"}]}'
\set b3_sig e41abcbb5e1fef3b80fddc6145b8f6ea8beb2642788a104416142cb8daeb8b03
\set b4 '{"time_ms":1700000010000,"events":[{"name":"member_removed","channel":"presence-conversation.5","user_id":"12"}]}'
\set b4_sig f3e327b74c22b507579bef242836adc16eed02f20e4f2e38f8ef2ac8b175f5a4
\set b5 '{"time_ms":1700000020000,"events":[{"name":"channel_vacated","channel":"presence-conversation.5"}]}'
\set b5_sig 87c46030bbd9f955121d3d9bdd73799ea38b073b98f91379f2322fe59176a779
\set b6 '{"time_ms":1700000030000,"events":[{"name":"member_added","channel":"presence-conversation.5","user_id":"12"},{"name":"member_added","channel":"presence-lobby","user_id":"12"}]}'
\set b6_sig b5a1bf83873292a2cbbb3f288b9a2533eb085aeff1c51007e02a4cde5621e428
\set bad1 'not json'
\set bad1_sig d389ad305d553436729ffe79da6e46db3da9d3c1176efe3e38304d86abcf469f
\set bad2 '{"events":[]}'
\set bad2_sig 5d49c380dce26fdb3d04b960f669595915ded20d20c0b34924471c5a3c383b2c
\set bad3 '{"time_ms":1,"events":[{"name":"member_added","channel":"x"}]}'
\set bad3_sig 1f540a06ce7962b03797db4b2015e2c5695d9a92bbf0b30b56058ca6d37957eb
\set bad4 '[1]'
\set bad4_sig 09a9fbe3b8af635e0ad3c5f6ae0e7cb300d633b39d23d09ec3af5c01dcdc3463

TRUNCATE rtpush.presence, rtpush.channel_occupancy;

-- ---- verification ---------------------------------------------------------
SELECT rtpush.verify_webhook('regress-key', :'b1_sig', :'b1') AS valid;
SELECT rtpush.verify_webhook('regress-key', upper(:'b1_sig'), :'b1') AS uppercase_hex;
SELECT rtpush.verify_webhook('other-key', :'b1_sig', :'b1') AS wrong_key;
SELECT rtpush.verify_webhook('regress-ke', :'b1_sig', :'b1') AS key_prefix;
SELECT rtpush.verify_webhook('regress-key', :'b2_sig', :'b1') AS other_bodys_signature;
SELECT rtpush.verify_webhook('regress-key', left(:'b1_sig', 63), :'b1') AS truncated;
SELECT rtpush.verify_webhook('regress-key', :'b1_sig', :'b1' || ' ') AS body_changed;
SELECT rtpush.verify_webhook('regress-key', '', :'b1') AS empty_signature;
SELECT rtpush.verify_webhook(NULL, :'b1_sig', :'b1') AS null_key,
       rtpush.verify_webhook('regress-key', NULL, :'b1') AS null_signature,
       rtpush.verify_webhook('regress-key', :'b1_sig', NULL) AS null_body;

-- ---- forged webhooks: ERROR 28000, nothing recorded --------------------------
SELECT rtpush.handle_webhook('regress-key', :'b2_sig', :'b1');
SELECT rtpush.handle_webhook('other-key', :'b1_sig', :'b1');
SELECT rtpush.handle_webhook('regress-key', NULL, :'b1');
SELECT count(*) AS presence_rows FROM rtpush.presence;
SELECT count(*) AS occupancy_rows FROM rtpush.channel_occupancy;

-- ---- signed but malformed: 22023 -------------------------------------------
SELECT rtpush.handle_webhook('regress-key', :'bad1_sig', :'bad1');
SELECT rtpush.handle_webhook('regress-key', :'bad2_sig', :'bad2');
SELECT rtpush.handle_webhook('regress-key', :'bad3_sig', :'bad3');
SELECT rtpush.handle_webhook('regress-key', :'bad4_sig', :'bad4');

-- ---- presence ---------------------------------------------------------------
SELECT rtpush.handle_webhook('regress-key', :'b1_sig', :'b1');
SELECT rtpush.handle_webhook('regress-key', :'b2_sig', :'b2');
SELECT * FROM rtpush.presence ORDER BY channel, user_id;
SELECT * FROM rtpush.channel_occupancy;
-- at-least-once delivery: the same webhook again changes nothing
SELECT rtpush.handle_webhook('regress-key', :'b1_sig', :'b1');
-- a stale webhook (older time_ms) arriving late is ignored
SELECT rtpush.handle_webhook('regress-key', :'b3_sig', :'b3');
SELECT * FROM rtpush.presence ORDER BY channel, user_id;
-- user 12 leaves; 7 stays until the channel is vacated
SELECT rtpush.handle_webhook('regress-key', :'b4_sig', :'b4');
SELECT * FROM rtpush.presence ORDER BY channel, user_id;
SELECT rtpush.handle_webhook('regress-key', :'b5_sig', :'b5');
SELECT * FROM rtpush.presence ORDER BY channel, user_id;
SELECT * FROM rtpush.channel_occupancy;
-- the removal arriving again after the vacancy changes nothing
SELECT rtpush.handle_webhook('regress-key', :'b4_sig', :'b4');
-- back online in two channels; the per-user view the app joins
SELECT rtpush.handle_webhook('regress-key', :'b6_sig', :'b6');
SELECT * FROM rtpush.user_presence ORDER BY user_id;

-- ---- the webhook receiver's role ----------------------------------------------
CREATE ROLE regress_rtpush_hook;
GRANT USAGE ON SCHEMA rtpush TO regress_rtpush_hook;
SET ROLE regress_rtpush_hook;
SELECT rtpush.handle_webhook('regress-key', :'b6_sig', :'b6');
SELECT * FROM rtpush.presence;
RESET ROLE;
GRANT EXECUTE ON FUNCTION rtpush.handle_webhook(text, text, text) TO regress_rtpush_hook;
GRANT SELECT ON rtpush.user_presence TO regress_rtpush_hook;
SET ROLE regress_rtpush_hook;
SELECT rtpush.handle_webhook('regress-key', :'b6_sig', :'b6');
SELECT user_id, online FROM rtpush.user_presence ORDER BY user_id;
SELECT rtpush.verify_webhook('regress-key', :'b6_sig', :'b6');
RESET ROLE;
REVOKE ALL ON FUNCTION rtpush.handle_webhook(text, text, text) FROM regress_rtpush_hook;
REVOKE ALL ON rtpush.user_presence FROM regress_rtpush_hook;
REVOKE ALL ON SCHEMA rtpush FROM regress_rtpush_hook;
DROP ROLE regress_rtpush_hook;
TRUNCATE rtpush.presence, rtpush.channel_occupancy;
