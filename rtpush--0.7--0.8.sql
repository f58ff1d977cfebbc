-- rtpush update script 0.7 -> 0.8.
--
-- 0.1 to 0.7 are released: their scripts are never edited.  Changes to
-- rtpush's SQL objects since 0.7 live here, one section per concern, in
-- the order of the install script's sections:
--   60 many databases (the app of each worker in rtpush.databases)
--   70 a database's own Pusher app (rtpush.set_app)
-- There is no rtpush--0.8.sql: CREATE EXTENSION rtpush installs 0.1 and
-- applies the update scripts up to this one, so a new install and an
-- updated one are the same.

\echo Use "ALTER EXTENSION rtpush UPDATE TO '0.8'" to load this file. \quit

-- =====================================================================
-- 60: many databases (src/status_slots.c)
-- =====================================================================

-- ---------------------------------------------------------------------
-- 60.2 rtpush.databases (0.7, 60.1) also names the app each worker
-- delivers to: app_source is 'database' (rtpush.set_app) or 'cluster'.
-- Both are NULL while the database has no worker.  Still superusers only.
-- ---------------------------------------------------------------------
DROP VIEW rtpush.databases;
DROP FUNCTION rtpush.database_workers();

CREATE FUNCTION rtpush.database_workers(
    OUT datid oid, OUT datname text, OUT pid integer, OUT state text,
    OUT in_flight integer, OUT held integer, OUT delivered bigint, OUT failed bigint,
    OUT last_error text, OUT last_error_at timestamptz,
    OUT last_success_at timestamptz, OUT started_at timestamptz,
    OUT app_source text, OUT app_id text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'rtpush_database_workers'
LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION rtpush.database_workers() IS
    'rtpush: every database''s delivery worker, from shared memory (superusers only)';

CREATE VIEW rtpush.databases AS
SELECT * FROM rtpush.database_workers();

COMMENT ON VIEW rtpush.databases IS
    'rtpush: the cluster''s delivery workers, one row per database with a slot (superusers only)';

REVOKE ALL ON FUNCTION rtpush.database_workers() FROM PUBLIC;
REVOKE ALL ON rtpush.databases FROM PUBLIC;

-- =====================================================================
-- 70: a database's own Pusher app (src/app_config.c stores and shows it,
-- src/app.c reads it for the worker and the auth functions)
-- =====================================================================

-- ---------------------------------------------------------------------
-- 70.1 The app this database delivers to, one row or none.  Without a
-- row the cluster-wide settings (rtpush.app_id, rtpush.key, ...) apply;
-- with one, its credentials do, and each endpoint column left NULL takes
-- the cluster-wide setting.  It holds the secret and the master key: no
-- one but superusers may read it (not in PUBLIC's reach, granted to no
-- one), and it is not an extension configuration table, so pg_dump, by
-- anyone, never writes its rows: after a restore, run rtpush.set_app()
-- again (README, "One app per database").  pg_upgrade, physical
-- replication and a failover keep it, as any table.  Write it through
-- rtpush.set_app(), which checks every value.
-- ---------------------------------------------------------------------
CREATE TABLE rtpush.app_config (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    app_id text NOT NULL,
    key text NOT NULL,
    secret text NOT NULL,
    cluster text,
    host text,
    port integer,
    scheme text,
    encryption_master_key text,
    updated_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE rtpush.app_config IS
    'rtpush: this database''s own Pusher app (superusers only; holds its secret; use rtpush.set_app())';

REVOKE ALL ON rtpush.app_config FROM PUBLIC;

-- every backend reads the row again after a change commits; the worker wakes
CREATE FUNCTION rtpush.app_config_changed() RETURNS trigger
AS 'MODULE_PATHNAME', 'rtpush_app_config_changed'
LANGUAGE C;

REVOKE ALL ON FUNCTION rtpush.app_config_changed() FROM PUBLIC;

CREATE TRIGGER app_config_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON rtpush.app_config
    FOR EACH STATEMENT EXECUTE FUNCTION rtpush.app_config_changed();

-- ---------------------------------------------------------------------
-- 70.2 Setting it: superusers only (EXECUTE granted to no one).  The
-- statement's text holds the secret: rtpush keeps it out of the server
-- log (src/redact.c), as it does for ALTER SYSTEM SET rtpush.secret.
-- ---------------------------------------------------------------------
CREATE FUNCTION rtpush.set_app(
    app_id text, key text, secret text,
    host text DEFAULT NULL, port integer DEFAULT NULL, scheme text DEFAULT NULL,
    cluster text DEFAULT NULL, encryption_master_key text DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'rtpush_set_app'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION rtpush.set_app(text, text, text, text, integer, text, text, text) IS
    'rtpush: this database delivers to this Pusher app (NULL endpoint arguments: the cluster-wide settings)';

CREATE FUNCTION rtpush.reset_app() RETURNS void
LANGUAGE sql VOLATILE
AS $$DELETE FROM rtpush.app_config$$;

COMMENT ON FUNCTION rtpush.reset_app() IS
    'rtpush: this database delivers to the cluster-wide app again';

REVOKE ALL ON FUNCTION rtpush.set_app(text, text, text, text, integer, text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION rtpush.reset_app() FROM PUBLIC;

-- ---------------------------------------------------------------------
-- 70.3 What this database delivers to and signs for, never a secret:
-- source is 'database' (its own row) or 'cluster'; host and port as the
-- worker uses them; secret_set and encrypted say whether a secret and a
-- master key are there.  Superusers only, like the settings it shows.
-- ---------------------------------------------------------------------
CREATE FUNCTION rtpush.app_info(
    OUT source text, OUT app_id text, OUT key text, OUT host text, OUT port integer,
    OUT scheme text, OUT cluster text, OUT secret_set boolean, OUT encrypted boolean)
AS 'MODULE_PATHNAME', 'rtpush_app_info'
LANGUAGE C STABLE;

CREATE VIEW rtpush.app AS
SELECT * FROM rtpush.app_info();

COMMENT ON VIEW rtpush.app IS
    'rtpush: the Pusher app this database delivers to (its own or the cluster''s; no secret)';

REVOKE ALL ON FUNCTION rtpush.app_info() FROM PUBLIC;
REVOKE ALL ON rtpush.app FROM PUBLIC;
