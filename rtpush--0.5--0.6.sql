-- rtpush update script 0.5 -> 0.6.
--
-- 0.1 to 0.5 are released: their scripts are never edited.  Changes to
-- rtpush's SQL objects since 0.5 live here, one section per concern, in
-- the order of the install script's sections:
--   50 history and catch-up  (the last position, for an app's role)
-- There is no rtpush--0.6.sql: CREATE EXTENSION rtpush installs 0.1 and
-- applies the update scripts up to this one, so a new install and an
-- updated one are the same.

\echo Use "ALTER EXTENSION rtpush UPDATE TO '0.6'" to load this file. \quit

-- =====================================================================
-- 50: history and catch-up (src/history_store.c writes, src/history_read.c
-- reads; nothing else touches these tables)
-- =====================================================================

-- ---------------------------------------------------------------------
-- 50.4 The last position in history, for the app's bootstrap endpoint: a
-- page that loads its state and this position in one snapshot starts its
-- catch-up there without a race (examples/web).  It reads as the owner of
-- rtpush.history, like rtpush.history(): the app's role needs EXECUTE on
-- it, not read access to history (PHI).  It returns a number and nothing
-- of any event.  Still not executable by PUBLIC:
--   GRANT EXECUTE ON FUNCTION rtpush.history_last_position() TO app;
-- ---------------------------------------------------------------------
ALTER FUNCTION rtpush.history_last_position() SECURITY DEFINER;

COMMENT ON FUNCTION rtpush.history_last_position() IS
    'rtpush: the greatest position in history (0 when empty); a catch-up that starts there misses nothing committed later';
