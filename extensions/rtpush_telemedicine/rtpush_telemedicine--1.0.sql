-- rtpush_telemedicine install script (version 1.0): the telemedicine event
-- catalogue, which was section 40 of rtpush's install script until rtpush
-- 0.3 (rtpush--0.2--0.3.sql drops it from rtpush).  Its functions keep
-- their names, arguments and definitions of rtpush 0.2: triggers attached
-- under rtpush 0.2 are ordinary rtpush.broadcast() triggers, and
-- rtpush.detach_telemedicine() finds them.
--
-- Every event of the telemedicine app's realtime guide as rtpush.attach()
-- calls on the app's own tables, with the channel and event names its
-- pusher-js / Laravel Echo frontend already uses.  The reference schema is
-- examples/telemedicine/schema.sql, the event list examples/telemedicine/README.md.
--
--   CREATE EXTENSION rtpush_telemedicine;                   -- needs rtpush 0.3
--   SELECT * FROM rtpush.telemedicine_catalogue();          -- what would be attached
--   SELECT * FROM rtpush.attach_telemedicine();             -- attach it all
--   SELECT * FROM rtpush.attach_telemedicine(encrypted => true);  -- PHI end-to-end encrypted
--   SELECT * FROM rtpush.detach_telemedicine();
--
-- Sections:
--   00 the rtpush it needs
--   10 the catalogue
--   20 attaching and detaching it

\echo Use "CREATE EXTENSION rtpush_telemedicine" to load this file. \quit

-- =====================================================================
-- 00: the rtpush it needs
-- =====================================================================

-- rtpush 0.1 and 0.2 hold these functions themselves: their CREATE below
-- would fail with "function already exists".  Say what to do instead.
DO $$
DECLARE
    v text := (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'rtpush');
BEGIN
    IF v IN ('0.1', '0.2') THEN
        RAISE EXCEPTION 'rtpush % already holds the telemedicine catalogue', v
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = format('Extension rtpush is at version %s; the catalogue left it in 0.3.', v),
                  HINT = 'Run ALTER EXTENSION rtpush UPDATE first.';
    END IF;
END
$$;

-- =====================================================================
-- 10: the catalogue
-- =====================================================================

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

-- =====================================================================
-- 20: attaching and detaching it
-- =====================================================================

-- Reassigned rows (issue 24, rtpush 0.2): the guide's frontend binds the
-- guide's event names and reads the row's own columns (data.id,
-- data.status): the catalogue keeps one event per guide event
-- (prescription-created on INSERT, prescription-updated on UPDATE of
-- status) and leaves include_op off, so its payloads stay what the guide's
-- Laravel events send.  An appointment or prescription reassigned to
-- another doctor or patient (a template column changed) reaches the old
-- party's channel as {"rtpush_moved": true, "rtpush_old_key": {"id": ...}}
-- under the same event name (the guide's handler finds no data.id and
-- leaves its list as it is; a handler that checks rtpush_moved drops the
-- row), and re-running attach_telemedicine() keeps triggers set ENABLE
-- ALWAYS on a logical replication subscriber.
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
    'rtpush: attaches the whole telemedicine catalogue to the app''s tables (overrides rename tables and columns; encrypted: PHI on private-encrypted- channels); reassigned rows reach the old channel as rtpush_moved';

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
