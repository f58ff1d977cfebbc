#!/bin/bash
# Reproduction: without rtpush in shared_preload_libraries, CREATE EXTENSION rtpush
# fails with 'unrecognized configuration parameter "rtpush.database_name"' (from the
# DO block at the top of rtpush--0.1.sql, commit a0d1f33) instead of _PG_init's
# "rtpush can only be loaded through shared_preload_libraries" + HINT.
# Found by test/t/001_worker.pl.  Run as root.
set -u
BIN=$(pg_config --bindir); D=/tmp/repro-nopreload; rm -rf $D; mkdir -p $D; chown postgres $D
as() { runuser -u postgres -- "$@"; }
as $BIN/initdb -D $D -A trust >/dev/null
printf "port = 5497\nunix_socket_directories = '%s'\nlisten_addresses = ''\n" $D >> $D/postgresql.conf
as $BIN/pg_ctl -D $D -l $D/log -w start >/dev/null
as $BIN/psql -X -h $D -p 5497 postgres -c 'CREATE EXTENSION rtpush'
as $BIN/pg_ctl -D $D -m fast stop >/dev/null
