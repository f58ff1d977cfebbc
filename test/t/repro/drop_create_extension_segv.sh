#!/bin/bash
# Reproduction: the delivery worker segfaults (the postmaster then restarts every backend) at the
# first delivery after DROP EXTENSION rtpush + CREATE EXTENSION rtpush, once it had delivered anything before.
# Run as root (uses test/t/sink.mjs); leaves a core file in $D. Found by test/t/004_ddl.pl.
# Cause: delivery_reset() -> delivery_init() memsets `outcomes` (arrays -> NULL) but keeps
# deleted_cap/retries_cap/dead_cap, so grow() returns NULL and add_deleted() writes through it
# (src/delivery.c:150, from request_done -> delivered).
set -u
BIN=$(pg_config --bindir); D=/tmp/repro/data; rm -rf $D; mkdir -p $D; chown postgres $D
cd "$(dirname "$0")/../../.."
node test/t/sink.mjs > /tmp/repro/sink.out 2>&1 & SINK=$!
sleep 1; read _ PORT CTL < /tmp/repro/sink.out
curl -s -XPOST localhost:$CTL/plan -d "[]" >/dev/null
as() { runuser -u postgres -- "$@"; }
as $BIN/initdb -D $D -A trust >/dev/null
cat >> $D/postgresql.conf <<CONF
port = 5499
unix_socket_directories = '/tmp/repro'
listen_addresses = ''
shared_preload_libraries = 'rtpush'
rtpush.app_id = 'rtpush-tap'
rtpush.key = 'tap-key'
rtpush.secret = 'tap-secret'
rtpush.scheme = 'http'
rtpush.host = '127.0.0.1'
rtpush.port = $PORT
CONF
chmod 777 /tmp/repro
as bash -c "ulimit -c unlimited; $BIN/pg_ctl -D $D -l $D/log -w start" >/dev/null
P="as $BIN/psql -h /tmp/repro -p 5499 -X -q postgres"
$P -c "CREATE EXTENSION rtpush"
$P -c "SELECT rtpush.send('c' || (g % 4), 'e', jsonb_build_object('seq', g)) FROM generate_series(1, 10) g" >/dev/null
sleep 1
$P -c "SELECT state, in_flight, queued FROM rtpush.status"
$P -c "DROP EXTENSION rtpush"
sleep 1
$P -c "CREATE EXTENSION rtpush"
$P -c "SELECT rtpush.send('c' || (g % 4), 'e', jsonb_build_object('seq', g)) FROM generate_series(1, 1) g" >/dev/null
sleep 2
grep -E "signal 11|terminated by signal" $D/log
as $BIN/pg_ctl -D $D -m fast stop >/dev/null
kill $SINK
ls $D/core* 2>/dev/null
