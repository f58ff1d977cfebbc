-- 30: subscriber authorization (src/auth.c), channel rules (deny by
-- default), verified webhooks and the presence they record (src/webhook.c).
--
-- Privileges: the signing and webhook functions are not executable by
-- PUBLIC; grant them to the role of the app's auth endpoint:
--   GRANT USAGE ON SCHEMA rtpush TO app;
--   GRANT EXECUTE ON FUNCTION rtpush.authorize_channel(text, text, text, jsonb),
--       rtpush.authenticate_user(text, jsonb), rtpush.handle_webhook(text, text, text)
--       TO app;
--   GRANT SELECT ON rtpush.presence, rtpush.channel_occupancy, rtpush.user_presence TO app;
-- Rule functions run as the calling role, which needs EXECUTE on them and
-- access to what they read.  Only the extension's owner (a superuser) can
-- change rtpush.channel_rules; everyone may read it.

-- ---------------------------------------------------------------------
-- Rules: who may subscribe to which private and presence channels.
-- ---------------------------------------------------------------------
CREATE FUNCTION rtpush.pattern_placeholders(pattern text) RETURNS text[]
    AS 'MODULE_PATHNAME', 'rtpush_pattern_placeholders'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION rtpush.pattern_placeholders(text) IS
    'rtpush: validates a channel pattern (ERROR 22023) and returns its placeholder names in order';

CREATE FUNCTION rtpush.match_channel(pattern text, channel text) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'rtpush_match_channel'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION rtpush.match_channel(text, text) IS
    'rtpush: the placeholders captured when pattern matches the whole channel name, else NULL';

CREATE TABLE rtpush.channel_rules (
    pattern         text        NOT NULL PRIMARY KEY,
    rule            text        NOT NULL,
    owner_capture   text,
    check_function  regprocedure,
    description     text,
    created_at      timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE rtpush.channel_rules IS
    'rtpush: who may subscribe to private and presence channels.  A channel is authorized when some '
    'pattern matches its whole name and every matching rule allows the user; otherwise ERROR 42501.';
COMMENT ON COLUMN rtpush.channel_rules.pattern IS
    'channel name with {name} placeholders (one non-empty segment without dots) and an optional final ".*" (one or more segments)';
COMMENT ON COLUMN rtpush.channel_rules.rule IS
    '''owner'', or a function (user_id text, captures jsonb) RETURNS boolean: name or signature';
COMMENT ON COLUMN rtpush.channel_rules.owner_capture IS
    'owner rules: the placeholder whose segment must equal the user id (default: {user_id}, else the only placeholder)';
COMMENT ON COLUMN rtpush.channel_rules.check_function IS
    'function rules: the function the rule resolved to when inserted (set by the trigger)';

CREATE FUNCTION rtpush.channel_rules_check() RETURNS trigger
    LANGUAGE plpgsql AS
$$
DECLARE
    names   text[];
    fn      regprocedure;
BEGIN
    names := rtpush.pattern_placeholders(NEW.pattern);
    IF NOT (pg_catalog.starts_with(NEW.pattern, 'private-')
            OR pg_catalog.starts_with(NEW.pattern, 'presence-')) THEN
        RAISE EXCEPTION 'invalid channel pattern "%"', NEW.pattern
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'Rules apply to private and presence channels: the pattern must start with "private-" or "presence-".';
    END IF;

    IF NEW.rule = 'owner' THEN
        NEW.check_function := NULL;
        IF NEW.owner_capture IS NULL THEN
            IF 'user_id' OPERATOR(pg_catalog.=) ANY (names) THEN
                NEW.owner_capture := 'user_id';
            ELSIF pg_catalog.cardinality(names) OPERATOR(pg_catalog.=) 1 THEN
                NEW.owner_capture := names[1];
            ELSE
                RAISE EXCEPTION 'owner rule "%" does not say which placeholder is the owner', NEW.pattern
                    USING ERRCODE = 'invalid_parameter_value',
                          DETAIL = pg_catalog.format('The pattern has %s placeholders and none is named user_id.',
                                                     pg_catalog.cardinality(names)),
                          HINT = 'Name the placeholder {user_id} or set owner_capture.';
            END IF;
        ELSIF NOT NEW.owner_capture OPERATOR(pg_catalog.=) ANY (names) THEN
            RAISE EXCEPTION 'owner_capture "%" is not a placeholder of pattern "%"', NEW.owner_capture, NEW.pattern
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        RETURN NEW;
    END IF;

    NEW.owner_capture := NULL;
    -- resolved with the inserting role's search_path
    IF pg_catalog.strpos(NEW.rule, '(') OPERATOR(pg_catalog.>) 0 THEN
        fn := pg_catalog.to_regprocedure(NEW.rule);
    ELSE
        fn := pg_catalog.to_regprocedure(NEW.rule OPERATOR(pg_catalog.||) '(text, jsonb)');
    END IF;
    IF fn IS NULL THEN
        RAISE EXCEPTION 'rule "%" is neither ''owner'' nor an existing function (user_id text, captures jsonb)', NEW.rule
            USING ERRCODE = 'undefined_function',
                  HINT = 'Create the function first, or use the rule ''owner''.';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_proc p
                    WHERE p.oid OPERATOR(pg_catalog.=) fn
                      AND p.proargtypes OPERATOR(pg_catalog.=) '25 3802'::pg_catalog.oidvector
                      AND p.prorettype OPERATOR(pg_catalog.=) 'pg_catalog.bool'::pg_catalog.regtype
                      AND NOT p.proretset AND p.prokind OPERATOR(pg_catalog.=) 'f') THEN
        RAISE EXCEPTION 'rule function % must take (user_id text, captures jsonb) and return boolean', fn
            USING ERRCODE = 'invalid_function_definition';
    END IF;
    NEW.check_function := fn;
    RETURN NEW;
END
$$;

CREATE TRIGGER channel_rules_check BEFORE INSERT OR UPDATE ON rtpush.channel_rules
    FOR EACH ROW EXECUTE FUNCTION rtpush.channel_rules_check();

REVOKE ALL ON rtpush.channel_rules FROM PUBLIC;
GRANT SELECT ON rtpush.channel_rules TO PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('rtpush.channel_rules', '');

-- ---------------------------------------------------------------------
-- Signatures for clients.
-- ---------------------------------------------------------------------
CREATE FUNCTION rtpush.authorize_channel(socket_id text, channel text, user_id text,
                                         user_info jsonb DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'rtpush_authorize_channel'
    LANGUAGE C VOLATILE;
COMMENT ON FUNCTION rtpush.authorize_channel(text, text, text, jsonb) IS
    'rtpush: {"auth", "channel_data"} for pusher-js if rtpush.channel_rules allow; ERROR 42501 otherwise, 22023 for bad input';

CREATE FUNCTION rtpush.authenticate_user(socket_id text, user_data jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'rtpush_authenticate_user'
    LANGUAGE C STABLE;
COMMENT ON FUNCTION rtpush.authenticate_user(text, jsonb) IS
    'rtpush: {"auth", "user_data"} for pusher:signin; user_data.id must be a non-empty string';

CREATE FUNCTION rtpush.client_config(user_id text DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'rtpush_client_config'
    LANGUAGE C STABLE;
COMMENT ON FUNCTION rtpush.client_config(text) IS
    'rtpush: what the frontend needs to connect (key, cluster, forceTLS, user_id, auth_endpoint, wsHost/wsPort); never the secret';

CREATE FUNCTION rtpush.verify_webhook(key text, signature text, body text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'rtpush_verify_webhook'
    LANGUAGE C STABLE;
COMMENT ON FUNCTION rtpush.verify_webhook(text, text, text) IS
    'rtpush: true if X-Pusher-Key equals rtpush.key and X-Pusher-Signature is the body''s HMAC (constant time)';

REVOKE ALL ON FUNCTION rtpush.authorize_channel(text, text, text, jsonb),
                       rtpush.authenticate_user(text, jsonb),
                       rtpush.verify_webhook(text, text, text) FROM PUBLIC;

-- ---------------------------------------------------------------------
-- Presence, recorded from verified webhooks.
-- ---------------------------------------------------------------------
CREATE TABLE rtpush.presence (
    channel     text        NOT NULL,
    user_id     text        NOT NULL,
    online      boolean     NOT NULL,
    since       timestamptz NOT NULL,
    last_seen   timestamptz NOT NULL,
    event_ms    bigint      NOT NULL,
    PRIMARY KEY (channel, user_id)
);
COMMENT ON TABLE rtpush.presence IS
    'rtpush: members of presence channels from member_added/member_removed webhooks';
COMMENT ON COLUMN rtpush.presence.since IS 'when the current state (online or offline) began';
COMMENT ON COLUMN rtpush.presence.last_seen IS 'time of the latest webhook that saw the user join or leave';
COMMENT ON COLUMN rtpush.presence.event_ms IS 'time_ms of the webhook that last changed the row; older webhooks are ignored';

CREATE TABLE rtpush.channel_occupancy (
    channel     text        NOT NULL PRIMARY KEY,
    occupied    boolean     NOT NULL,
    since       timestamptz NOT NULL,
    event_ms    bigint      NOT NULL
);
COMMENT ON TABLE rtpush.channel_occupancy IS
    'rtpush: channels occupied or vacated, from channel_occupied/channel_vacated webhooks';

CREATE VIEW rtpush.user_presence AS
    SELECT user_id,
           bool_or(online) AS online,
           max(last_seen) AS last_seen,
           array_agg(channel ORDER BY channel) FILTER (WHERE online) AS channels
      FROM rtpush.presence
     GROUP BY user_id;
COMMENT ON VIEW rtpush.user_presence IS
    'rtpush: per user, online in any presence channel, and last seen';

REVOKE ALL ON rtpush.presence, rtpush.channel_occupancy, rtpush.user_presence FROM PUBLIC;

CREATE FUNCTION rtpush.handle_webhook(key text, signature text, body text) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    doc     jsonb;
    t_ms    bigint;
    t       timestamptz;
    ev      jsonb;
    i       int := 0;
    ch      text;
    uid     text;
    n       bigint;
    applied int := 0;
    stale   int := 0;
    ignored int := 0;
BEGIN
    IF NOT coalesce(rtpush.verify_webhook(key, signature, body), false) THEN
        RAISE EXCEPTION 'invalid webhook signature'
            USING ERRCODE = 'invalid_authorization_specification',
                  DETAIL = 'X-Pusher-Key or X-Pusher-Signature does not match rtpush.key and rtpush.secret; nothing was recorded.';
    END IF;
    BEGIN
        doc := body::jsonb;
    EXCEPTION WHEN invalid_text_representation THEN
        RAISE EXCEPTION 'invalid webhook body: not JSON' USING ERRCODE = 'invalid_parameter_value';
    END;
    IF jsonb_typeof(doc) IS DISTINCT FROM 'object'
       OR jsonb_typeof(doc->'time_ms') IS DISTINCT FROM 'number'
       OR jsonb_typeof(doc->'events') IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'invalid webhook body: expected {"time_ms": number, "events": [...]}'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    t_ms := (doc->>'time_ms')::numeric;
    t := to_timestamp(t_ms / 1000.0);

    FOR ev IN SELECT e FROM jsonb_array_elements(doc->'events') AS e LOOP
        i := i + 1;
        ch := ev->>'channel';
        uid := ev->>'user_id';
        IF jsonb_typeof(ev) IS DISTINCT FROM 'object' OR ch IS NULL
           OR (ev->>'name' IN ('member_added', 'member_removed') AND uid IS NULL) THEN
            RAISE EXCEPTION 'invalid webhook body: event % lacks "name", "channel" or "user_id"', i
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        CASE ev->>'name'
        WHEN 'member_added' THEN
            INSERT INTO rtpush.presence AS p VALUES (ch, uid, true, t, t, t_ms)
            ON CONFLICT (channel, user_id) DO UPDATE
               SET online = true,
                   since = CASE WHEN p.online THEN p.since ELSE excluded.since END,
                   last_seen = greatest(p.last_seen, excluded.last_seen),
                   event_ms = excluded.event_ms
             WHERE p.event_ms <= excluded.event_ms;
        WHEN 'member_removed' THEN
            INSERT INTO rtpush.presence AS p VALUES (ch, uid, false, t, t, t_ms)
            ON CONFLICT (channel, user_id) DO UPDATE
               SET online = false,
                   since = CASE WHEN p.online THEN excluded.since ELSE p.since END,
                   last_seen = greatest(p.last_seen, excluded.last_seen),
                   event_ms = excluded.event_ms
             WHERE p.event_ms <= excluded.event_ms;
        WHEN 'channel_occupied', 'channel_vacated' THEN
            INSERT INTO rtpush.channel_occupancy AS o
                 VALUES (ch, ev->>'name' = 'channel_occupied', t, t_ms)
            ON CONFLICT (channel) DO UPDATE
               SET since = CASE WHEN o.occupied = excluded.occupied THEN o.since ELSE excluded.since END,
                   occupied = excluded.occupied,
                   event_ms = excluded.event_ms
             WHERE o.event_ms <= excluded.event_ms;
            GET DIAGNOSTICS n = ROW_COUNT;
            IF n > 0 AND ev->>'name' = 'channel_vacated' THEN
                -- nobody is left: members whose removal has not arrived go offline
                UPDATE rtpush.presence AS p
                   SET online = false, since = t, last_seen = greatest(p.last_seen, t), event_ms = t_ms
                 WHERE p.channel = ch AND p.online AND p.event_ms <= t_ms;
            END IF;
        ELSE
            ignored := ignored + 1;
            CONTINUE;
        END CASE;
        IF ev->>'name' IN ('member_added', 'member_removed') THEN
            GET DIAGNOSTICS n = ROW_COUNT;
        END IF;
        IF n > 0 THEN
            applied := applied + 1;
        ELSE
            stale := stale + 1;
        END IF;
    END LOOP;
    RETURN jsonb_build_object('applied', applied, 'stale', stale, 'ignored', ignored);
END
$$;
COMMENT ON FUNCTION rtpush.handle_webhook(text, text, text) IS
    'rtpush: verifies a Pusher webhook (ERROR 28000 if forged) and records presence and occupancy; idempotent, ignores stale events';

REVOKE ALL ON FUNCTION rtpush.handle_webhook(text, text, text) FROM PUBLIC;
