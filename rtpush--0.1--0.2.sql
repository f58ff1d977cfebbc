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

-- ---------------------------------------------------------------------
-- 00: the outbox and dead letter
-- ---------------------------------------------------------------------

-- 00 (issue 23, case 6): a dump carries the event id sequence's position,
-- so that ids after a dump/restore (pg_dump, pg_restore) never repeat ids
-- that clients have seen (README: "What a dump carries").  The queue itself
-- is not dumped.
SELECT pg_catalog.pg_extension_config_dump('rtpush.outbox_id_seq', '');

-- 00 (issue 23, case 6): every row inserted into the outbox by SQL (rows
-- copied by hand from another cluster, a data-only restore, redeliver())
-- gets the inserting transaction's xid.  The worker reads the outbox in
-- windows by xid: a row keeping a foreign xid (from another cluster) is
-- invisible to it, or falls below its window, until it restarts.  Capture
-- (send(), the broadcast() trigger) inserts in C, without triggers, and
-- sets the same value itself.
CREATE FUNCTION rtpush.outbox_local_xid() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    NEW.xid := pg_current_xact_id();
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION rtpush.outbox_local_xid() IS
    'rtpush: gives rows inserted into rtpush.outbox by SQL this transaction''s xid';
REVOKE ALL ON FUNCTION rtpush.outbox_local_xid() FROM PUBLIC;
CREATE TRIGGER outbox_local_xid BEFORE INSERT ON rtpush.outbox
    FOR EACH ROW EXECUTE FUNCTION rtpush.outbox_local_xid();

-- 00 (issue 23, case 3): rows that logical replication brings into
-- rtpush's tables are dropped on arrival.  A publication FOR ALL TABLES
-- (or one naming them) replicates rtpush.outbox, dead_letter,
-- channel_rules, presence and channel_occupancy: the subscriber's worker
-- would deliver the publisher's events a second time, and a key the
-- subscriber already has would stop the subscription.  These triggers are
-- ENABLE REPLICA: they fire only where session_replication_role = replica,
-- that is in logical replication's apply and table-sync workers, and
-- return NULL, so the row is skipped (INSERT, UPDATE and DELETE alike)
-- and the subscription goes on.  Each database keeps its own queue, rules
-- and presence; its own events (an ENABLE ALWAYS rtpush trigger on a
-- replicated table, see README "Logical replication") are queued by C
-- code, without triggers, and are delivered by the subscriber's worker.
CREATE FUNCTION rtpush.skip_replicated_row() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION rtpush.skip_replicated_row() IS
    'rtpush: drops rows that logical replication applies to rtpush''s own tables (ENABLE REPLICA triggers)';
REVOKE ALL ON FUNCTION rtpush.skip_replicated_row() FROM PUBLIC;
-- (on the tables of section 30 too: channel_rules, presence, channel_occupancy)
DO $$
DECLARE
    t regclass;
BEGIN
    FOREACH t IN ARRAY ARRAY['rtpush.outbox', 'rtpush.dead_letter', 'rtpush.channel_rules',
                             'rtpush.presence', 'rtpush.channel_occupancy']::regclass[] LOOP
        EXECUTE format('CREATE TRIGGER skip_replicated_row BEFORE INSERT OR UPDATE OR DELETE ON %s '
                       'FOR EACH ROW EXECUTE FUNCTION rtpush.skip_replicated_row()', t);
        EXECUTE format('ALTER TABLE %s ENABLE REPLICA TRIGGER skip_replicated_row', t);
    END LOOP;
END
$$;

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

-- ---------------------------------------------------------------------
-- 30: subscriber authorization
-- ---------------------------------------------------------------------

-- 30 (issue 23, case 3): replicated rows of the authorization tables are
-- dropped too: see skip_replicated_row in section 00.

-- 30 (issue 23, case 1): channel_rules.check_function becomes text, the
-- function's qualified identity ('public.f(pg_catalog.text,pg_catalog.jsonb)',
-- as pg_identify_object() writes it).  A regprocedure column holds an OID:
-- pg_upgrade refuses every cluster with one in a user table ("Checking for
-- reg* data types in user tables"), and a dump carried the OID's text, or a
-- raw number once the function was gone.  The identity means the same in
-- every cluster and under every search_path; rtpush.authorize_channel()
-- resolves it at each call.  Existing rules are converted; a rule whose
-- function is gone stops the update (it denied every matching channel:
-- rtpush will not silently drop or change a rule).
DO $$
DECLARE
    r record;
BEGIN
    SELECT c.pattern, c.rule, c.check_function::pg_catalog.oid AS fn INTO r
      FROM rtpush.channel_rules c
     WHERE c.check_function IS NOT NULL
       AND NOT EXISTS (SELECT FROM pg_catalog.pg_proc p WHERE p.oid = c.check_function)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'channel rule "%" names a function that no longer exists', r.pattern
            USING ERRCODE = 'undefined_function',
                  DETAIL = format('The rule is %L; its function had OID %s.', r.rule, r.fn),
                  HINT = 'Delete the rule from rtpush.channel_rules, or insert it again with an existing function, then run ALTER EXTENSION rtpush UPDATE again.';
    END IF;
END
$$;
ALTER TABLE rtpush.channel_rules ALTER COLUMN check_function TYPE text
    USING (pg_catalog.pg_identify_object('pg_catalog.pg_proc'::pg_catalog.regclass,
                                         check_function, 0)).identity;
COMMENT ON COLUMN rtpush.channel_rules.check_function IS
    'function rules: the qualified identity of the function the rule resolved to when inserted (set by the trigger; a restore resolves it rather than rule)';

-- 30 (issue 23, cases 1 and 2): the rule check resolves check_function
-- when a row brings one (COPY of a dump, where rule may be an unqualified
-- name that the restore's empty search_path cannot resolve), else rule with
-- the inserting role's search_path, and stores the function's identity.
CREATE OR REPLACE FUNCTION rtpush.channel_rules_check() RETURNS trigger
    LANGUAGE plpgsql AS
$$
DECLARE
    names   text[];
    fn      regprocedure;
    given   text;
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
    IF NEW.check_function IS NOT NULL
       AND NOT (TG_OP OPERATOR(pg_catalog.=) 'UPDATE'
                AND NEW.rule IS DISTINCT FROM OLD.rule
                AND NEW.check_function IS NOT DISTINCT FROM OLD.check_function) THEN
        -- a restored row (or one naming its function): the identity it carries
        given := NEW.check_function;
        fn := pg_catalog.to_regprocedure(given);
    ELSE
        -- resolved with the inserting role's search_path
        given := NEW.rule;
        IF pg_catalog.strpos(NEW.rule, '(') OPERATOR(pg_catalog.>) 0 THEN
            fn := pg_catalog.to_regprocedure(NEW.rule);
        ELSE
            fn := pg_catalog.to_regprocedure(NEW.rule OPERATOR(pg_catalog.||) '(text, jsonb)');
        END IF;
    END IF;
    IF fn IS NULL THEN
        RAISE EXCEPTION 'rule "%" is neither ''owner'' nor an existing function (user_id text, captures jsonb)', given
            USING ERRCODE = 'undefined_function',
                  DETAIL = pg_catalog.format('Channel pattern "%s", rule %L, check_function %L.',
                                             NEW.pattern, NEW.rule, NEW.check_function),
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
    NEW.check_function := (pg_catalog.pg_identify_object('pg_catalog.pg_proc'::pg_catalog.regclass,
                                                          fn, 0)).identity;
    RETURN NEW;
END
$$;

-- 30 (issue 23, case 2): a rule's function cannot disappear under it.  The
-- rule names its function by identity, not by a pg_depend entry (a row is
-- not an object pg_depend can name), so rtpush keeps the dependency itself:
--   * DROP FUNCTION of a rule's function, or DROP OWNED / DROP EXTENSION
--     that would take it, is refused (like a dependent object without
--     CASCADE): delete or change the rule first.
--   * When the function goes as part of a cascade (DROP SCHEMA ... CASCADE,
--     DROP TYPE ... CASCADE), the rule goes with it, with a NOTICE, as a
--     dependent object would.
--   * ALTER FUNCTION / SCHEMA / EXTENSION that renames or moves it away is
--     refused, with the same hint.
-- A dropped function no longer leaves a rule that denies every channel it
-- matches and breaks the next restore.
CREATE FUNCTION rtpush.channel_rules_drop() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    r record;
BEGIN
    IF to_regclass('rtpush.channel_rules') IS NULL THEN
        RETURN;
    END IF;
    FOR r IN
        SELECT c.pattern, d.object_identity, d.original OR NOT d.normal AS refused
          FROM pg_event_trigger_dropped_objects() d
          JOIN rtpush.channel_rules c ON c.check_function = d.object_identity
         WHERE d.classid = 'pg_proc'::regclass
         ORDER BY 3 DESC, 1
    LOOP
        IF r.refused THEN
            RAISE EXCEPTION 'cannot drop function % because channel rule "%" uses it', r.object_identity, r.pattern
                USING ERRCODE = 'dependent_objects_still_exist',
                      DETAIL = format('rtpush.channel_rules calls %s for channels matching %s.',
                                      r.object_identity, r.pattern),
                      HINT = format('Delete the rule first: DELETE FROM rtpush.channel_rules WHERE pattern = %L;',
                                    r.pattern);
        END IF;
        RAISE NOTICE 'drop cascades to channel rule "%"', r.pattern;
        DELETE FROM rtpush.channel_rules WHERE pattern = r.pattern;
    END LOOP;
END
$$;
COMMENT ON FUNCTION rtpush.channel_rules_drop() IS
    'rtpush: refuses to drop a function a channel rule uses (a cascade drops the rule with it)';

CREATE FUNCTION rtpush.channel_rules_alter() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    r record;
BEGIN
    IF to_regclass('rtpush.channel_rules') IS NULL THEN
        RETURN;
    END IF;
    SELECT c.pattern, c.check_function INTO r FROM rtpush.channel_rules c
     WHERE c.check_function IS NOT NULL AND to_regprocedure(c.check_function) IS NULL
     ORDER BY 1 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'cannot rename or move function % because channel rule "%" uses it', r.check_function, r.pattern
            USING ERRCODE = 'dependent_objects_still_exist',
                  DETAIL = 'The rule names its function by schema and name.',
                  HINT = format('Delete the rule first (DELETE FROM rtpush.channel_rules WHERE pattern = %L;), then insert it again with the new name.',
                                r.pattern);
    END IF;
END
$$;
COMMENT ON FUNCTION rtpush.channel_rules_alter() IS
    'rtpush: refuses to rename or move a function a channel rule uses';

REVOKE ALL ON FUNCTION rtpush.channel_rules_drop(), rtpush.channel_rules_alter() FROM PUBLIC;

CREATE EVENT TRIGGER rtpush_channel_rules_drop ON sql_drop
    EXECUTE FUNCTION rtpush.channel_rules_drop();
CREATE EVENT TRIGGER rtpush_channel_rules_alter ON ddl_command_end
    WHEN TAG IN ('ALTER FUNCTION', 'ALTER ROUTINE', 'ALTER SCHEMA', 'ALTER EXTENSION')
    EXECUTE FUNCTION rtpush.channel_rules_alter();

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
