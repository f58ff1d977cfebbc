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
