-- rtpush update script 0.2 -> 0.3.
--
-- 0.1 and 0.2 are released: their scripts are never edited.  Changes to
-- rtpush's SQL objects since 0.2 live here, one section per concern, in
-- the order of the install script's sections:
--   00 the outbox and dead letter       (no change)
--   10 capture: send, broadcast, attach (no change)
--   20 delivery: status, redeliver      (no change)
--   30 subscriber authorization         (no change)
--   40 the telemedicine catalogue       (leaves rtpush)
-- There is no rtpush--0.3.sql: CREATE EXTENSION rtpush installs 0.1 and
-- applies rtpush--0.1--0.2.sql and this script, so a new install and an
-- updated one are the same.  test/t/016_update_0.3.pl installs 0.2 with
-- events queued and the catalogue attached, runs ALTER EXTENSION rtpush
-- UPDATE, and checks that every event is delivered and the triggers keep
-- queueing.

\echo Use "ALTER EXTENSION rtpush UPDATE TO '0.3'" to load this file. \quit

-- =====================================================================
-- 40: the telemedicine catalogue
-- =====================================================================

-- ---------------------------------------------------------------------
-- 40.1 The catalogue is an application of rtpush, not part of it (issue
-- 21): it moves into an extension of its own, rtpush_telemedicine
-- (extensions/rtpush_telemedicine/), which requires rtpush and creates
-- the same three functions, with the same names in schema rtpush.  After
-- this update:
--   CREATE EXTENSION rtpush_telemedicine;
-- Triggers that rtpush.attach_telemedicine() attached are ordinary
-- rtpush.broadcast() triggers (rtpush.attach() made them): they do not
-- depend on these functions, keep queueing events, and
-- rtpush.detach_telemedicine() of rtpush_telemedicine finds them by name.
-- The signatures dropped are those of rtpush--0.1.sql section 40, which
-- rtpush--0.1--0.2.sql kept (it changed a comment only).
-- ---------------------------------------------------------------------
DROP FUNCTION rtpush.detach_telemedicine(jsonb);
DROP FUNCTION rtpush.attach_telemedicine(jsonb, boolean);
DROP FUNCTION rtpush.telemedicine_catalogue(jsonb, boolean);
