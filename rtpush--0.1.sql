-- rtpush install script (version 0.1), one section per concern:
--   00 the outbox and dead letter      (src/outbox.c, src/outbox_drain.c)
--   10 capture: send, broadcast, attach (src/send.c, src/capture.c)
--   20 delivery: status, redeliver      (src/worker.c, src/status.c)
--   30 subscriber authorization         (src/auth.c, src/webhook.c)
--   40 the telemedicine catalogue
--
-- 00: the outbox and dead letter: rtpush's only tables of events.

\echo Use "CREATE EXTENSION rtpush" to load this file. \quit

-- The worker serves one database: say so where events would wait forever.
DO $$
BEGIN
    -- (without rtpush preloaded the setting is unknown: the first C function
    -- below then fails with rtpush's own error and hint)
    IF current_database() <> current_setting('rtpush.database_name', true) THEN
        RAISE WARNING 'rtpush delivers events only from database "%"',
                      current_setting('rtpush.database_name')
            USING DETAIL = format('The extension is being created in database "%s"; events queued here stay in its outbox.',
                                  current_database()),
                  HINT = format('Set rtpush.database_name = ''%s'' and restart the server, or create the extension in "%s".',
                                current_database(), current_setting('rtpush.database_name'));
    END IF;
END
$$;

-- Events waiting for delivery.  Writers only INSERT; the worker reads rows
-- that became visible between two snapshots (by xid), and DELETEs them in
-- batches once the endpoint accepted them.  Logged, so queued events survive
-- a crash and replicate to standbys.
-- Event ids: a nextval() that returns v reserves (v - INCREMENT, v] for the
-- backend that called it, which hands the ids out one by one (one sequence
-- access per 64 events instead of one per event).  Ids are unique and
-- increase within a transaction; they are not dense.  ALTER SEQUENCE ...
-- INCREMENT BY 1 gives one sequence access per event.
CREATE SEQUENCE rtpush.outbox_id_seq START WITH 64 INCREMENT BY 64;

CREATE TABLE rtpush.outbox (
    id              bigint      NOT NULL DEFAULT nextval('rtpush.outbox_id_seq'),
    xid             xid8        NOT NULL DEFAULT pg_current_xact_id(),
    queued_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    channels        text[]      NOT NULL,
    event           text        NOT NULL,
    data            json        NOT NULL,
    socket_id       text,
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    last_error      text,
    -- the worker reads in (xid, id) order and deletes by it
    CONSTRAINT outbox_pkey PRIMARY KEY (xid, id)
) WITH (fillfactor = 100,
        autovacuum_vacuum_scale_factor = 0,
        autovacuum_vacuum_threshold = 20000,
        autovacuum_vacuum_insert_scale_factor = 0,
        autovacuum_vacuum_insert_threshold = 100000,
        autovacuum_vacuum_cost_delay = 0);
ALTER SEQUENCE rtpush.outbox_id_seq OWNED BY rtpush.outbox.id;

COMMENT ON TABLE rtpush.outbox IS
    'rtpush: committed events waiting for delivery (holds PHI: not readable by PUBLIC)';

-- Events the endpoint rejected, or that ran out of attempts.
CREATE TABLE rtpush.dead_letter (
    id          bigint      NOT NULL PRIMARY KEY,
    queued_at   timestamptz NOT NULL,
    channels    text[]      NOT NULL,
    event       text        NOT NULL,
    data        json        NOT NULL,
    socket_id   text,
    attempts    integer     NOT NULL,
    http_status integer,
    response    text,
    reason      text        NOT NULL,
    failed_at   timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE rtpush.dead_letter IS
    'rtpush: events not delivered (rejected or out of attempts); see rtpush.redeliver()';

REVOKE ALL ON rtpush.outbox, rtpush.dead_letter, rtpush.outbox_id_seq FROM PUBLIC;
-- 10: capture: rtpush.send(), the rtpush.broadcast() trigger (src/send.c,
-- src/capture.c, src/outbox.c), rtpush.attach() / rtpush.detach(), and the
-- event trigger that checks every CREATE TRIGGER ... rtpush.broadcast(...).
--
-- Trigger arguments: rtpush.broadcast('event', 'template', ...,
-- ['columns=col,col'], ['changed=col,col']); see src/capture.c.
--
-- Privileges: none of these functions is executable by PUBLIC.  Events are
-- queued without any right on rtpush.outbox (PUBLIC has none): EXECUTE on
-- rtpush.send() is the gate for hand-made events, and only the owner of a
-- table who may EXECUTE rtpush.broadcast() can put the trigger on it.
-- Writers to a table with the trigger need nothing extra.  The checks
-- (check_broadcast_args, check_broadcast_trigger, require_owner) only read
-- and raise errors, and stay executable by PUBLIC.
--   GRANT USAGE ON SCHEMA rtpush TO app;
--   GRANT EXECUTE ON FUNCTION rtpush.send(text[], text, jsonb, text),
--       rtpush.send(text, text, jsonb, text) TO app;
--   -- table owners who attach triggers (besides superusers):
--   GRANT EXECUTE ON FUNCTION rtpush.broadcast(),
--       rtpush.attach(regclass, text, text[], text[], text[], text[]),
--       rtpush.detach(regclass, text) TO app_owner;

CREATE FUNCTION rtpush.send(channels text[], event text, data jsonb,
                            socket_id text DEFAULT NULL) RETURNS bigint
    AS 'MODULE_PATHNAME', 'rtpush_send'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION rtpush.send(text[], text, jsonb, text) IS
    'rtpush: queues event with data on channels in this transaction; returns the outbox id';

CREATE FUNCTION rtpush.send(channel text, event text, data jsonb,
                            socket_id text DEFAULT NULL) RETURNS bigint
    AS 'MODULE_PATHNAME', 'rtpush_send_one'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION rtpush.send(text, text, jsonb, text) IS
    'rtpush: queues event with data on one channel in this transaction; returns the outbox id';

CREATE FUNCTION rtpush.broadcast() RETURNS trigger
    AS 'MODULE_PATHNAME', 'rtpush_broadcast'
    LANGUAGE C;
COMMENT ON FUNCTION rtpush.broadcast() IS
    'rtpush: AFTER trigger queueing the row as an event; args: event, channel templates, [columns=a,b], [changed=c]';

CREATE FUNCTION rtpush.check_broadcast_args(tbl regclass, args text[]) RETURNS void
    AS 'MODULE_PATHNAME', 'rtpush_check_broadcast_args'
    LANGUAGE C STRICT;
COMMENT ON FUNCTION rtpush.check_broadcast_args(regclass, text[]) IS
    'rtpush: raises an error unless args are valid rtpush.broadcast() arguments for table tbl';

CREATE FUNCTION rtpush.check_broadcast_trigger(tbl regclass, trigger oid) RETURNS void
    AS 'MODULE_PATHNAME', 'rtpush_check_broadcast_trigger'
    LANGUAGE C STRICT;
COMMENT ON FUNCTION rtpush.check_broadcast_trigger(regclass, oid) IS
    'rtpush: raises an error unless the rtpush.broadcast() trigger is AFTER, and its arguments fit the table';

-- The deterministic trigger name of an event: rtpush_<event>, shortened
-- with an md5 suffix when it would not fit in a name.
CREATE FUNCTION rtpush.trigger_name(event text) RETURNS name
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN CASE WHEN octet_length('rtpush_' || event) <= 63 THEN 'rtpush_' || event
                ELSE 'rtpush_' || left(event, 40) || '_' || left(md5(event), 12) END;

-- Raises 42501 unless the current user owns tbl (or is a superuser).
CREATE FUNCTION rtpush.require_owner(tbl regclass, action text) RETURNS void
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT pg_has_role((SELECT relowner FROM pg_class WHERE oid = tbl), 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table % to % rtpush triggers', tbl, action
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('Role "%s" does not own table %s.', current_user, tbl),
                  HINT = 'Run it as the table''s owner or a superuser.';
    END IF;
END
$$;

CREATE FUNCTION rtpush.attach(tbl regclass, event text, channels text[],
                              columns text[] DEFAULT NULL,
                              operations text[] DEFAULT '{INSERT,UPDATE}',
                              changed text[] DEFAULT NULL) RETURNS name
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ops     text[];
    bad     text;
    args    text[];
    tgname  name;
BEGIN
    IF tbl IS NULL OR event IS NULL OR channels IS NULL OR operations IS NULL THEN
        RAISE EXCEPTION 'table, event, channels and operations must not be null'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Pass a table, an event name, channel templates and operations.';
    END IF;
    PERFORM rtpush.require_owner(tbl, 'attach');
    SELECT array_agg(DISTINCT upper(o) ORDER BY upper(o)) INTO ops FROM unnest(operations) o;
    SELECT o INTO bad FROM unnest(operations) o
     WHERE o IS NULL OR upper(o) NOT IN ('INSERT', 'UPDATE', 'DELETE') LIMIT 1;
    IF FOUND OR ops IS NULL THEN
        RAISE EXCEPTION 'invalid operation for rtpush.attach'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('Operations %s; %s is not INSERT, UPDATE or DELETE.',
                                  operations, coalesce(quote_literal(bad), 'an empty list')),
                  HINT = 'Pass a non-empty subset of ''{INSERT,UPDATE,DELETE}''.';
    END IF;
    IF changed IS NOT NULL AND NOT 'UPDATE' = ANY (ops) THEN
        RAISE EXCEPTION 'changed columns need the UPDATE operation'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('Operations are %s; changed is %s.', ops, changed),
                  HINT = 'Add UPDATE to operations, or leave changed NULL.';
    END IF;
    args := ARRAY[event] || channels;
    IF columns IS NOT NULL THEN
        args := args || ('columns=' || array_to_string(columns, ',', ''));
    END IF;
    IF changed IS NOT NULL THEN
        args := args || ('changed=' || array_to_string(changed, ',', ''));
    END IF;
    PERFORM rtpush.check_broadcast_args(tbl, args);

    tgname := rtpush.trigger_name(event);
    EXECUTE format('CREATE OR REPLACE TRIGGER %I AFTER %s ON %s FOR EACH ROW '
                   'EXECUTE FUNCTION rtpush.broadcast(%s)',
                   tgname, array_to_string(ops, ' OR '), tbl,
                   (SELECT string_agg(quote_literal(a), ', ') FROM unnest(args) a));
    RETURN tgname;
END
$$;
COMMENT ON FUNCTION rtpush.attach(regclass, text, text[], text[], text[], text[]) IS
    'rtpush: creates (or replaces) trigger rtpush_<event> queueing event on the channel templates for the operations';

CREATE FUNCTION rtpush.detach(tbl regclass, event text) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    trig_name name := rtpush.trigger_name(event);
BEGIN
    IF tbl IS NULL OR event IS NULL THEN
        RAISE EXCEPTION 'table and event must not be null'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Pass the table and event given to rtpush.attach().';
    END IF;
    PERFORM rtpush.require_owner(tbl, 'detach');
    IF NOT EXISTS (SELECT FROM pg_trigger
                    WHERE tgrelid = tbl AND tgname = trig_name
                      AND tgfoid = 'rtpush.broadcast()'::regprocedure) THEN
        RAISE EXCEPTION 'table % has no rtpush trigger for event "%"', tbl, event
            USING ERRCODE = 'undefined_object',
                  DETAIL = format('There is no rtpush.broadcast() trigger named %I.', trig_name),
                  HINT = 'List them with: SELECT tgname FROM pg_trigger WHERE tgrelid = ''' ||
                         tbl::text || '''::regclass;';
    END IF;
    EXECUTE format('DROP TRIGGER %I ON %s', trig_name, tbl);
END
$$;
COMMENT ON FUNCTION rtpush.detach(regclass, text) IS
    'rtpush: drops the trigger rtpush.attach() made for event on tbl';

-- Checks rtpush.broadcast() triggers when they are created, and again when
-- their table is altered (a dropped or renamed column), so that a bad
-- template fails the DDL rather than the first write.
CREATE FUNCTION rtpush.check_broadcast_ddl() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT DISTINCT t.tgrelid, t.oid
          FROM pg_event_trigger_ddl_commands() c
          JOIN pg_trigger t
            ON (c.classid = 'pg_trigger'::regclass AND t.oid = c.objid)
            OR (c.classid = 'pg_class'::regclass AND c.command_tag = 'ALTER TABLE'
                AND t.tgrelid = c.objid)
         WHERE t.tgfoid = 'rtpush.broadcast()'::regprocedure
    LOOP
        PERFORM rtpush.check_broadcast_trigger(r.tgrelid, r.oid);
    END LOOP;
END
$$;

CREATE EVENT TRIGGER rtpush_check_broadcast ON ddl_command_end
    WHEN TAG IN ('CREATE TRIGGER', 'ALTER TABLE')
    EXECUTE FUNCTION rtpush.check_broadcast_ddl();

REVOKE ALL ON FUNCTION rtpush.send(text[], text, jsonb, text),
    rtpush.send(text, text, jsonb, text),
    rtpush.broadcast(),
    rtpush.attach(regclass, text, text[], text[], text[], text[]),
    rtpush.detach(regclass, text),
    rtpush.check_broadcast_ddl()
    FROM PUBLIC;
-- 20: delivery: the worker's status and the dead letter's way back.

CREATE FUNCTION rtpush.worker_status(
    OUT pid integer, OUT state text, OUT in_flight integer, OUT held integer,
    OUT delivered bigint, OUT retried bigint, OUT failed bigint,
    OUT dead_lettered bigint, OUT http_requests bigint,
    OUT last_error text, OUT last_error_at timestamptz,
    OUT last_success_at timestamptz,
    OUT latency_p50_ms double precision, OUT latency_p99_ms double precision,
    OUT started_at timestamptz, OUT wakeups bigint, OUT parked_channels integer)
RETURNS record
AS 'MODULE_PATHNAME', 'rtpush_worker_status'
LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION rtpush.worker_status() IS
    'rtpush: the delivery worker''s shared-memory counters';

CREATE FUNCTION rtpush.parked_channels(OUT channel text, OUT parked_since timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'rtpush_parked_channels'
LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION rtpush.parked_channels() IS
    'rtpush: channels whose later events wait in the outbox behind a failing request (the first 16)';

CREATE VIEW rtpush.status AS
SELECT w.pid, w.state,
       q.queued, q.oldest_queued_age,
       w.in_flight, w.held, w.parked_channels,
       w.delivered, w.retried, w.failed, w.dead_lettered,
       d.dead_letter_size,
       w.http_requests, w.last_error, w.last_error_at, w.last_success_at,
       w.latency_p50_ms, w.latency_p99_ms, w.started_at, w.wakeups
FROM rtpush.worker_status() AS w,
     LATERAL (SELECT count(*) AS queued, now() - min(queued_at) AS oldest_queued_age
              FROM rtpush.outbox) AS q,
     LATERAL (SELECT count(*) AS dead_letter_size FROM rtpush.dead_letter) AS d;

COMMENT ON VIEW rtpush.status IS
    'rtpush: delivery worker state, queue depth, totals and commit-to-2xx latency';

-- The worker's read: rows whose transaction is visible in snapshot hi but
-- was not in lo (NULL: no lower bound), after key (after_xid, after_id), in
-- (xid, id) order.  The worker starts a window at lo's xmin: every row below
-- it was visible in lo, so read before.  Nothing at or above hi's xmax is
-- visible in hi: that bound ends the scan, so the last read of a window does
-- not walk the rows committed since (a backlog when delivery falls behind).
-- STABLE and not STRICT, so it is inlined into the worker's query and runs as
-- a primary-key range scan.
CREATE FUNCTION rtpush.fetch_window(after_xid xid8, after_id bigint, hi pg_snapshot,
                                    lo pg_snapshot, n integer)
RETURNS SETOF rtpush.outbox
LANGUAGE sql STABLE AS $$
    SELECT * FROM rtpush.outbox o
    WHERE (o.xid, o.id) > (after_xid, after_id)
      AND o.xid < pg_snapshot_xmax(hi)
      AND pg_visible_in_snapshot(o.xid, hi)
      AND (lo IS NULL OR NOT pg_visible_in_snapshot(o.xid, lo))
    ORDER BY o.xid, o.id
    LIMIT n
$$;

COMMENT ON FUNCTION rtpush.fetch_window(xid8, bigint, pg_snapshot, pg_snapshot, integer) IS
    'rtpush: the delivery worker''s read of the outbox between two snapshots';

CREATE FUNCTION rtpush.wake_worker() RETURNS void
AS 'MODULE_PATHNAME', 'rtpush_wake_worker'
LANGUAGE C VOLATILE;

-- Puts dead letters (all, or those with the given ids) back in the queue,
-- keeping their ids; the worker is woken at COMMIT.
CREATE FUNCTION rtpush.redeliver(ids bigint[] DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    n bigint;
BEGIN
    WITH d AS (DELETE FROM rtpush.dead_letter
               WHERE redeliver.ids IS NULL OR id = ANY (redeliver.ids)
               RETURNING *),
         i AS (INSERT INTO rtpush.outbox (id, queued_at, channels, event, data, socket_id)
               SELECT d.id, clock_timestamp(), d.channels, d.event, d.data, d.socket_id
               FROM d ORDER BY d.id
               RETURNING 1)
    SELECT count(*) INTO n FROM i;
    IF n > 0 THEN
        PERFORM rtpush.wake_worker();
    END IF;
    RETURN n;
END
$$;

COMMENT ON FUNCTION rtpush.redeliver(bigint[]) IS
    'rtpush: moves dead letters back to the outbox for another delivery';

-- parked_channels() names channels (they can hold user ids): not for
-- pg_monitor, unlike the counters.
REVOKE ALL ON FUNCTION rtpush.worker_status(), rtpush.wake_worker(), rtpush.parked_channels(),
    rtpush.fetch_window(xid8, bigint, pg_snapshot, pg_snapshot, integer),
    rtpush.redeliver(bigint[]) FROM PUBLIC;
REVOKE ALL ON rtpush.status FROM PUBLIC;
GRANT SELECT ON rtpush.status TO pg_monitor;
GRANT EXECUTE ON FUNCTION rtpush.worker_status() TO pg_monitor;
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
-- 40: the telemedicine event catalogue (issue 4): every event of the guide
-- (../shared/seed/websocket-realtime-guide.md) as rtpush.attach() calls on
-- the app's own tables, with the channel and event names its pusher-js /
-- Laravel Echo frontend already uses.
--
--   SELECT * FROM rtpush.telemedicine_catalogue();          -- what would be attached
--   SELECT * FROM rtpush.attach_telemedicine();             -- attach it all
--   SELECT * FROM rtpush.attach_telemedicine(encrypted => true);  -- PHI end-to-end encrypted
--   SELECT * FROM rtpush.detach_telemedicine();
--
-- | event                       | table         | when                               | channels                                   |
-- | message-sent                | messages      | INSERT                             | private-conversation.{conversation_id}     |
-- | notification-created        | notifications | INSERT                             | private-user.{user_id}.notifications       |
-- | appointment-updated         | appointments  | UPDATE of status or scheduled_at   | private-user.{patient_id}.appointments,    |
-- |                             |               |                                    | private-user.{doctor_id}.appointments      |
-- | prescription-created        | prescriptions | INSERT                             | private-user.{patient_id}.prescriptions    |
-- | prescription-updated        | prescriptions | UPDATE of status                   | private-user.{patient_id}.prescriptions    |
-- | user-status-changed         | users         | UPDATE of is_online / last_seen_at | private-user.{id}.status                   |
-- | doctor-availability-changed | doctors       | UPDATE of is_available             | doctor.{id}.availability (public)          |
-- | rating-received             | ratings       | INSERT                             | private-doctor.{doctor_id}.ratings         |
--
-- Doctor ids: a doctor's id is its user id (the reference schema's doctors
-- table is keyed by users.id), so appointments.doctor_id can name the
-- doctor's own private-user.{id}.appointments channel, and doctor.{id} and
-- private-doctor.{id} use the same number.  A schema whose doctors have an
-- id of their own renames "doctors.id" to the column holding the user id
-- (and points appointments.doctor_id at a column holding the doctor's user id).
--
-- Overrides (jsonb), keyed by the catalogue's table name:
--   {"users":        {"table": "accounts", "online": "online", "last_seen": "seen_at"},
--    "appointments": {"scheduled_at": "starts_at"},
--    "prescriptions": {"columns": {"prescription-updated": ["id", "status"]}},
--    "ratings": false}
-- "table" is the table (resolved with the caller's search_path); any other
-- key is one of that table's catalogue column names (see the "names" column
-- of rtpush.telemedicine_catalogue()) renamed in channel templates, changed
-- columns and the payload alike; "columns" replaces the payload allowlist
-- (an array for every event of the table, or an object by event); false
-- leaves the table's events out.  Unknown keys are an error.
--
-- Payload allowlists (the default): the columns the guide's frontend reads.
-- Columns of the default list that the table lacks are left out, except
-- the id; a "columns" override must name existing columns only.  Passwords,
-- emails, licence numbers, free-text clinical notes are never in a default.
--
-- encrypted => true uses private-encrypted- channels for the PHI events
-- (message-sent, appointment-updated, prescription-created,
-- prescription-updated): the worker encrypts them so that Pusher never sees
-- the plaintext; clients subscribe with Echo.encryptedPrivate(...).  This is
-- the recommended setting for real patient data; it needs
-- rtpush.encryption_master_key.
--
-- Privileges: like rtpush.attach(): not executable by PUBLIC, and the caller
-- must own the tables.

CREATE FUNCTION rtpush.telemedicine_catalogue(overrides jsonb DEFAULT '{}',
                                              encrypted boolean DEFAULT false)
    RETURNS TABLE (event text, tbl text, operations text[], changed text[],
                   channels text[], columns text[], optional text[], names jsonb)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- the catalogue with its own (logical) table and column names
    cat CONSTANT jsonb := $cat$[
      {"event": "message-sent", "table": "messages", "ops": ["INSERT"],
       "channels": ["private-conversation.{conversation_id}"], "phi": true,
       "columns": ["id", "conversation_id", "sender_id", "body", "type", "created_at"]},
      {"event": "notification-created", "table": "notifications", "ops": ["INSERT"],
       "channels": ["private-user.{user_id}.notifications"],
       "columns": ["id", "user_id", "type", "title", "body", "data", "created_at"]},
      {"event": "appointment-updated", "table": "appointments", "ops": ["UPDATE"],
       "changed": ["status", "scheduled_at"], "phi": true,
       "channels": ["private-user.{patient_id}.appointments", "private-user.{doctor_id}.appointments"],
       "columns": ["id", "patient_id", "doctor_id", "status", "scheduled_at", "duration_minutes", "updated_at"]},
      {"event": "prescription-created", "table": "prescriptions", "ops": ["INSERT"],
       "channels": ["private-user.{patient_id}.prescriptions"], "phi": true,
       "columns": ["id", "appointment_id", "patient_id", "doctor_id", "medication", "dosage",
                   "instructions", "status", "created_at"]},
      {"event": "prescription-updated", "table": "prescriptions", "ops": ["UPDATE"],
       "changed": ["status"], "phi": true,
       "channels": ["private-user.{patient_id}.prescriptions"],
       "columns": ["id", "patient_id", "status", "updated_at"]},
      {"event": "user-status-changed", "table": "users", "ops": ["UPDATE"],
       "changed": ["online", "last_seen"],
       "channels": ["private-user.{id}.status"],
       "columns": ["id", "online", "last_seen"]},
      {"event": "doctor-availability-changed", "table": "doctors", "ops": ["UPDATE"],
       "changed": ["available"],
       "channels": ["doctor.{id}.availability"],
       "columns": ["id", "available", "updated_at"]},
      {"event": "rating-received", "table": "ratings", "ops": ["INSERT"],
       "channels": ["private-doctor.{doctor_id}.ratings"],
       "columns": ["id", "doctor_id", "rating", "comment", "created_at"]}
    ]$cat$;
    -- logical column names whose default differs (the reference schema's)
    renames CONSTANT jsonb := '{"users": {"online": "is_online", "last_seen": "last_seen_at"},
                                "doctors": {"available": "is_available"}}';
    -- columns a table must have (used in channels or changed), by table
    known   jsonb := '{}';
    e       jsonb;
    t       text;
    o       jsonb;
    m       jsonb;
    k       text;
    v       jsonb;
    cols    jsonb;
    tpl     text;
    out     text;
    pos     int;
BEGIN
    IF overrides IS NULL OR jsonb_typeof(overrides) <> 'object' THEN
        RAISE EXCEPTION 'telemedicine overrides must be a JSON object'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('Overrides are %s.', coalesce(overrides::text, 'NULL')),
                  HINT = 'Pass ''{}'' or {"table name": {"table": ..., "column": "your column", "columns": [...]}}.';
    END IF;
    IF encrypted IS NULL THEN
        RAISE EXCEPTION 'encrypted must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;

    -- every name an override may rename, by table
    FOR e IN SELECT x FROM jsonb_array_elements(cat) x LOOP
        t := e->>'table';
        SELECT coalesce(known->t, '[]') || jsonb_agg(DISTINCT n) INTO v
          FROM (SELECT (regexp_matches(c, '\{([^}]*)\}', 'g'))[1] AS n
                  FROM jsonb_array_elements_text(e->'channels') c
                UNION SELECT c FROM jsonb_array_elements_text(coalesce(e->'changed', '[]')) c
                UNION SELECT c FROM jsonb_array_elements_text(e->'columns') c) s;
        known := jsonb_set(known, ARRAY[t], v);
    END LOOP;

    FOR t, o IN SELECT * FROM jsonb_each(overrides) LOOP
        IF NOT known ? t THEN
            RAISE EXCEPTION 'unknown table "%" in telemedicine overrides', t
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = format('The catalogue''s tables are %s.',
                                    (SELECT string_agg(x, ', ' ORDER BY x) FROM jsonb_object_keys(known) x));
        END IF;
        IF o = 'false' THEN
            CONTINUE;
        END IF;
        IF jsonb_typeof(o) <> 'object' THEN
            RAISE EXCEPTION 'telemedicine override for table "%" must be an object or false', t
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = format('It is %s.', o);
        END IF;
        FOR k, v IN SELECT * FROM jsonb_each(o) LOOP
            IF k = 'columns' THEN
                IF NOT (jsonb_typeof(v) = 'array'
                        OR (jsonb_typeof(v) = 'object'
                            AND NOT EXISTS (SELECT FROM jsonb_each(v) x
                                             WHERE jsonb_typeof(x.value) <> 'array'
                                                OR NOT EXISTS (SELECT FROM jsonb_array_elements(cat) c
                                                                WHERE c->>'event' = x.key AND c->>'table' = t)))) THEN
                    RAISE EXCEPTION 'invalid "columns" in telemedicine override for table "%"', t
                        USING ERRCODE = 'invalid_parameter_value',
                              DETAIL = format('It is %s.', v),
                              HINT = 'Pass an array of column names, or an object mapping the table''s event names to arrays.';
                END IF;
            ELSIF k <> 'table' AND NOT known->t ? k THEN
                RAISE EXCEPTION 'unknown key "%" in telemedicine override for table "%"', k, t
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = format('Keys are "table", "columns" and the catalogue''s column names: %s.',
                                        (SELECT string_agg(x, ', ' ORDER BY x) FROM jsonb_array_elements_text(known->t) x));
            ELSIF jsonb_typeof(v) <> 'string' OR v->>0 = '' THEN
                RAISE EXCEPTION 'telemedicine override %.% must be a non-empty string', t, k
                    USING ERRCODE = 'invalid_parameter_value',
                          DETAIL = format('It is %s.', v);
            END IF;
        END LOOP;
    END LOOP;

    FOR e IN SELECT x FROM jsonb_array_elements(cat) x LOOP
        t := e->>'table';
        CONTINUE WHEN overrides->t = 'false';
        -- logical name -> actual column name
        m := coalesce(renames->t, '{}') || coalesce(overrides->t, '{}') - 'table' - 'columns';
        event := e->>'event';
        tbl := coalesce(overrides->t->>'table', t);
        operations := ARRAY(SELECT jsonb_array_elements_text(e->'ops'));
        changed := nullif(ARRAY(SELECT coalesce(m->>c, c)
                                  FROM jsonb_array_elements_text(coalesce(e->'changed', '[]')) c), '{}');
        channels := '{}';
        FOR tpl IN SELECT jsonb_array_elements_text(e->'channels') LOOP
            -- rename each {placeholder}, left to right
            out := '';
            LOOP
                pos := strpos(tpl, '{');
                EXIT WHEN pos = 0 OR strpos(tpl, '}') < pos;
                k := substr(tpl, pos + 1, strpos(tpl, '}') - pos - 1);
                out := out || left(tpl, pos - 1) || '{' || coalesce(m->>k, k) || '}';
                tpl := substr(tpl, strpos(tpl, '}') + 1);
            END LOOP;
            out := out || tpl;
            IF encrypted AND coalesce((e->>'phi')::boolean, false) THEN
                out := regexp_replace(out, '^private-', 'private-encrypted-');
            END IF;
            channels := channels || out;
        END LOOP;
        cols := overrides->t->'columns';
        IF jsonb_typeof(cols) = 'object' THEN
            cols := cols->event;
        END IF;
        IF cols IS NOT NULL THEN
            columns := ARRAY(SELECT jsonb_array_elements_text(cols));
            optional := '{}';
        ELSE
            columns := ARRAY(SELECT coalesce(m->>c, c) FROM jsonb_array_elements_text(e->'columns') c);
            -- defaults the table may lack: all but the id and the columns
            -- in channels or changed (which every table must have)
            optional := ARRAY(SELECT x FROM unnest(columns) x
                               WHERE x <> coalesce(m->>'id', 'id')
                                 AND NOT x = ANY (coalesce(changed, '{}'))
                                 AND NOT EXISTS (SELECT FROM unnest(channels) ch
                                                  WHERE strpos(ch, '{' || x || '}') > 0));
        END IF;
        names := coalesce(known->t, '[]');
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION rtpush.telemedicine_catalogue(jsonb, boolean) IS
    'rtpush: the telemedicine catalogue (event, table, operations, changed, channel templates, payload columns) after overrides';

CREATE FUNCTION rtpush.attach_telemedicine(overrides jsonb DEFAULT '{}',
                                           encrypted boolean DEFAULT false)
    RETURNS TABLE (event text, tbl regclass, trigger name, operations text[],
                   changed text[], channels text[], columns text[])
    LANGUAGE plpgsql
    -- no SET search_path: table names resolve with the caller's
AS $$
DECLARE
    r       record;
    missing text;
BEGIN
    FOR r IN SELECT * FROM rtpush.telemedicine_catalogue(overrides, encrypted) LOOP
        tbl := pg_catalog.to_regclass(r.tbl);
        IF tbl IS NULL THEN
            RAISE EXCEPTION 'table "%" for telemedicine event "%" does not exist', r.tbl, r.event
                USING ERRCODE = 'undefined_table',
                      HINT = format('Create it, name yours with {"%s": {"table": "..."}}, or leave it out with {"%s": false}.',
                                    (SELECT c.tbl FROM rtpush.telemedicine_catalogue() c WHERE c.event = r.event),
                                    (SELECT c.tbl FROM rtpush.telemedicine_catalogue() c WHERE c.event = r.event));
        END IF;
        -- columns the table lacks: an error unless they are optional defaults
        SELECT pg_catalog.string_agg(c, ', ' ORDER BY c) INTO missing
          FROM (SELECT pg_catalog.unnest(r.changed) UNION SELECT pg_catalog.unnest(r.columns)
                UNION SELECT (pg_catalog.regexp_matches(ch, '\{([^}]*)\}', 'g'))[1]
                  FROM pg_catalog.unnest(r.channels) ch) s(c)
         WHERE NOT c OPERATOR(pg_catalog.=) ANY (r.optional)
           AND NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a
                            WHERE a.attrelid OPERATOR(pg_catalog.=) tbl
                              AND a.attname OPERATOR(pg_catalog.=) c
                              AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped);
        IF missing IS NOT NULL THEN
            RAISE EXCEPTION 'table % has no column % for telemedicine event "%"', tbl, missing, r.event
                USING ERRCODE = 'undefined_column',
                      DETAIL = format('Channels %s, changed %s, payload columns %s.',
                                      r.channels, coalesce(r.changed::text, '(any)'), r.columns),
                      HINT = format('Rename with {"%s": {"<catalogue name>": "<your column>"}} (names: %s) '
                                    'or set the payload with {"%s": {"columns": [...]}}.',
                                    (SELECT c.tbl FROM rtpush.telemedicine_catalogue() c WHERE c.event = r.event),
                                    r.names,
                                    (SELECT c.tbl FROM rtpush.telemedicine_catalogue() c WHERE c.event = r.event));
        END IF;
        event := r.event;
        operations := r.operations;
        changed := r.changed;
        channels := r.channels;
        columns := ARRAY(SELECT c FROM pg_catalog.unnest(r.columns) WITH ORDINALITY u(c, i)
                          WHERE EXISTS (SELECT FROM pg_catalog.pg_attribute a
                                         WHERE a.attrelid OPERATOR(pg_catalog.=) tbl
                                           AND a.attname OPERATOR(pg_catalog.=) c
                                           AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped)
                          ORDER BY i);
        trigger := rtpush.attach(tbl, r.event, r.channels, columns, r.operations, r.changed);
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION rtpush.attach_telemedicine(jsonb, boolean) IS
    'rtpush: attaches the whole telemedicine catalogue to the app''s tables (overrides rename tables and columns; encrypted: PHI on private-encrypted- channels)';

CREATE FUNCTION rtpush.detach_telemedicine(overrides jsonb DEFAULT '{}')
    RETURNS TABLE (event text, tbl regclass)
    LANGUAGE plpgsql
AS $$
DECLARE
    r   record;
BEGIN
    FOR r IN SELECT * FROM rtpush.telemedicine_catalogue(overrides) LOOP
        tbl := pg_catalog.to_regclass(r.tbl);
        CONTINUE WHEN tbl IS NULL
            OR NOT EXISTS (SELECT FROM pg_catalog.pg_trigger t
                            WHERE t.tgrelid OPERATOR(pg_catalog.=) tbl
                              AND t.tgname OPERATOR(pg_catalog.=) rtpush.trigger_name(r.event));
        PERFORM rtpush.detach(tbl, r.event);
        event := r.event;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION rtpush.detach_telemedicine(jsonb) IS
    'rtpush: drops the triggers rtpush.attach_telemedicine() made (tables as in overrides)';

REVOKE ALL ON FUNCTION rtpush.attach_telemedicine(jsonb, boolean),
                       rtpush.detach_telemedicine(jsonb) FROM PUBLIC;
