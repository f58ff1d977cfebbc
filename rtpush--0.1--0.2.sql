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
