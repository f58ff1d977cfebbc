-- rtpush update script 0.1 -> 0.2.
--
-- 0.1 is released: its install script is never edited.  Every change to
-- rtpush's SQL objects since lives here, one section per concern, in the
-- order of the install script's sections:
--   00 the outbox and dead letter
--   10 capture: send, broadcast, attach
--   20 delivery: status, redeliver
--   30 subscriber authorization
--   40 the telemedicine catalogue
-- There is no rtpush--0.2.sql: CREATE EXTENSION rtpush installs 0.1 and
-- applies this script, so a new install and an updated one are the same.
-- test/t/ holds the test that installs 0.1 with events queued, runs
-- ALTER EXTENSION rtpush UPDATE, and checks that every event is delivered.

\echo Use "ALTER EXTENSION rtpush UPDATE TO '0.2'" to load this file. \quit

-- =====================================================================
-- 10: capture
-- =====================================================================

-- ---------------------------------------------------------------------
-- 10.1 rtpush.attach(): the operation in events, rows leaving channels,
-- and the trigger's enabled state (issue 24; issue 23, case 7).
--
-- New parameters (the 0.1 signature is replaced):
--   include_op => true   JSON-object payloads get "rtpush_op": "INSERT",
--                        "UPDATE" or "DELETE" (trigger option include_op=true)
--   events => '{"INSERT": "prescription-created",
--               "UPDATE": "prescription-updated",
--               "DELETE": "prescription-deleted"}'
--                        an event name per operation (options insert_event=,
--                        update_event=, delete_event=); operations left out
--                        use event, which also names the trigger
-- On a partitioned table an UPDATE trigger also fires on INSERT and
-- DELETE (option ops= says which operations send), so that a row moving
-- to another partition arrives as one UPDATE (src/capture_move.c).
-- Re-running attach keeps the trigger's enabled state (ENABLE ALWAYS, for
-- logical replication subscribers; ENABLE REPLICA; DISABLE) on the table
-- and each partition, where CREATE OR REPLACE TRIGGER resets it to ORIGIN.
--
-- Privileges: EXECUTE granted on the 0.1 attach(regclass, text, text[],
-- text[], text[], text[]) is granted on the new function too (kept as the
-- user's grant, not as the extension's initial privilege, so pg_dump
-- still dumps it).
-- ---------------------------------------------------------------------
SELECT pg_catalog.set_config('rtpush_update.attach_acl',
    coalesce((SELECT proacl::text FROM pg_catalog.pg_proc
               WHERE oid = 'rtpush.attach(regclass, text, text[], text[], text[], text[])'::regprocedure), ''),
    true);

DROP FUNCTION rtpush.attach(regclass, text, text[], text[], text[], text[]);

CREATE FUNCTION rtpush.attach(tbl regclass, event text, channels text[],
                              columns text[] DEFAULT NULL,
                              operations text[] DEFAULT '{INSERT,UPDATE}',
                              changed text[] DEFAULT NULL,
                              include_op boolean DEFAULT false,
                              events jsonb DEFAULT NULL) RETURNS name
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ops     text[];
    fires   text[];
    bad     text;
    args    text[];
    trig    name;
    k       text;
    v       jsonb;
    states  jsonb;
    r       record;
BEGIN
    IF tbl IS NULL OR event IS NULL OR channels IS NULL OR operations IS NULL
       OR include_op IS NULL THEN
        RAISE EXCEPTION 'table, event, channels, operations and include_op must not be null'
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
    IF events IS NOT NULL AND jsonb_typeof(events) <> 'object' THEN
        RAISE EXCEPTION 'events must be a JSON object of event names by operation'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('It is %s.', events),
                  HINT = 'Pass {"INSERT": "prescription-created", "UPDATE": "prescription-updated"}.';
    END IF;
    args := ARRAY[event] || channels;
    IF columns IS NOT NULL THEN
        args := args || ('columns=' || array_to_string(columns, ',', ''));
    END IF;
    IF changed IS NOT NULL THEN
        args := args || ('changed=' || array_to_string(changed, ',', ''));
    END IF;
    IF include_op THEN
        args := args || 'include_op=true'::text;
    END IF;
    FOR k, v IN SELECT * FROM jsonb_each(coalesce(events, '{}')) ORDER BY 1 LOOP
        IF NOT upper(k) = ANY (ops) OR jsonb_typeof(v) <> 'string' THEN
            RAISE EXCEPTION 'invalid event name for operation "%"', k
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = format('Operations are %s; events are %s.', ops, events),
                      HINT = 'Key events by operations the trigger fires on, with event names as strings.';
        END IF;
        args := args || (lower(k) || '_event=' || (v->>0));
    END LOOP;
    -- a partitioned table's UPDATE trigger sees moves as DELETE + INSERT
    fires := ops;
    IF 'UPDATE' = ANY (ops) AND (SELECT relkind FROM pg_class WHERE oid = tbl) = 'p' THEN
        fires := ARRAY(SELECT DISTINCT x FROM unnest(ops || '{INSERT,DELETE}'::text[]) x ORDER BY x);
        IF fires <> ops THEN
            args := args || ('ops=' || array_to_string(ops, ','));
        END IF;
    END IF;
    PERFORM rtpush.check_broadcast_args(tbl, args);

    trig := rtpush.trigger_name(event);
    -- the enabled state of the trigger on the table and its partitions
    SELECT jsonb_object_agg(t.tgrelid::text, t.tgenabled) INTO states
      FROM pg_trigger t
     WHERE t.tgname = trig
       AND t.tgrelid IN (SELECT tbl UNION SELECT relid FROM pg_partition_tree(tbl));
    EXECUTE format('CREATE OR REPLACE TRIGGER %I AFTER %s ON %s FOR EACH ROW '
                   'EXECUTE FUNCTION rtpush.broadcast(%s)',
                   trig, array_to_string(fires, ' OR '), tbl,
                   (SELECT string_agg(quote_literal(a), ', ') FROM unnest(args) a));
    FOR r IN SELECT p.relid, p.level, states->>(p.relid::oid::text) AS state,
                    states->>(tbl::oid::text) AS root_state
               FROM (SELECT tbl AS relid, 0 AS level
                     UNION SELECT relid, level FROM pg_partition_tree(tbl) WHERE level > 0) p
              WHERE states ? p.relid::oid::text
              ORDER BY p.level
    LOOP
        CONTINUE WHEN r.state = 'O' OR (r.level > 0 AND r.state = r.root_state);
        EXECUTE format('ALTER TABLE %s %s %s TRIGGER %I',
                       CASE WHEN r.level > 0 THEN 'ONLY' ELSE '' END, r.relid::regclass,
                       CASE r.state WHEN 'A' THEN 'ENABLE ALWAYS' WHEN 'R' THEN 'ENABLE REPLICA'
                                    WHEN 'D' THEN 'DISABLE' ELSE 'ENABLE' END,
                       trig);
    END LOOP;
    RETURN trig;
END
$$;
COMMENT ON FUNCTION rtpush.attach(regclass, text, text[], text[], text[], text[], boolean, jsonb) IS
    'rtpush: creates (or replaces, keeping its enabled state) trigger rtpush_<event> queueing event on the channel templates for the operations';

REVOKE ALL ON FUNCTION rtpush.attach(regclass, text, text[], text[], text[], text[], boolean, jsonb)
    FROM PUBLIC;

-- the grants users gave on the 0.1 function, as users' grants
DO $$
DECLARE
    fn      regprocedure := 'rtpush.attach(regclass, text, text[], text[], text[], text[], boolean, jsonb)';
    initial aclitem[];
    g       record;
BEGIN
    SELECT proacl INTO initial FROM pg_catalog.pg_proc WHERE oid = fn;
    FOR g IN SELECT DISTINCT e.grantee, e.is_grantable
               FROM pg_catalog.aclexplode(nullif(pg_catalog.current_setting('rtpush_update.attach_acl'), '')::aclitem[]) e
               JOIN pg_catalog.pg_proc p ON p.oid = fn
              WHERE e.privilege_type = 'EXECUTE' AND e.grantee <> 0 AND e.grantee <> p.proowner
    LOOP
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %s%s', fn, g.grantee::regrole,
                                  CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END LOOP;
    -- GRANT in an extension script records an initial privilege: keep the
    -- extension's own, so that pg_dump dumps the users' grants
    UPDATE pg_catalog.pg_init_privs SET initprivs = initial
     WHERE objoid = fn AND classoid = 'pg_catalog.pg_proc'::regclass AND objsubid = 0;
END
$$;

-- ---------------------------------------------------------------------
-- 10.2 rtpush.broadcast(): its new trigger options (issue 24), in the
-- function's comment.  The C function itself (src/capture.c,
-- src/capture_op.c, src/capture_move.c, src/channel_render.c) now also
-- sends moved-out events to the channels an UPDATE leaves, the old key
-- when an UPDATE changes the key, and renders channel values in one
-- canonical text (refusing types that have none).
-- ---------------------------------------------------------------------
COMMENT ON FUNCTION rtpush.broadcast() IS
    'rtpush: AFTER trigger queueing the row as an event; args: event, channel templates, [columns=a,b], [changed=c], [include_op=true], [insert_event=e], [update_event=e], [delete_event=e], [ops=INSERT,UPDATE]';

-- =====================================================================
-- 40: the telemedicine catalogue
-- =====================================================================

-- ---------------------------------------------------------------------
-- 40.1 What issue 24 changes for the catalogue (no change of its
-- functions).  The guide's frontend binds the guide's event names and
-- reads the row's own columns (data.id, data.status): the catalogue keeps
-- one event per guide event (prescription-created on INSERT,
-- prescription-updated on UPDATE of status) and leaves include_op off, so
-- its payloads stay what the guide's Laravel events send.  What it gains
-- from 0.2's capture: an appointment or prescription reassigned to another
-- doctor or patient (a template column changed) now reaches the old
-- party's channel as {"rtpush_moved": true, "rtpush_old_key": {"id": ...}}
-- under the same event name (the guide's handler finds no data.id and
-- leaves its list as it is; a handler that checks rtpush_moved drops the
-- row), and re-running attach_telemedicine() keeps triggers set ENABLE
-- ALWAYS on a logical replication subscriber.
-- ---------------------------------------------------------------------
COMMENT ON FUNCTION rtpush.attach_telemedicine(jsonb, boolean) IS
    'rtpush: attaches the whole telemedicine catalogue to the app''s tables (overrides rename tables and columns; encrypted: PHI on private-encrypted- channels); reassigned rows reach the old channel as rtpush_moved';
