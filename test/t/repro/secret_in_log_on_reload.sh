#!/bin/bash
# Reproduction: rotating rtpush.secret by editing postgresql.conf and reloading
# puts the new secret in the server log at LOG level (default settings):
#   postmaster LOG:  parameter "rtpush.secret" changed to "<the secret>"
# PostgreSQL's ProcessConfigFile logs every changed setting with its value,
# GUC_SUPERUSER_ONLY / GUC_NO_SHOW_ALL or not.  Found by test/t/006_security.pl.
# Same for rtpush.encryption_master_key.  Run as root.
set -u
BIN=$(pg_config --bindir); D=/tmp/repro-secret; rm -rf $D; mkdir -p $D; chown postgres $D
as() { runuser -u postgres -- "$@"; }
as $BIN/initdb -D $D -A trust >/dev/null
cat >> $D/postgresql.conf <<CONF
port = 5498
unix_socket_directories = '$D'
listen_addresses = ''
shared_preload_libraries = 'rtpush'
rtpush.secret = 'first-secret'
CONF
as $BIN/pg_ctl -D $D -l $D/log -w start >/dev/null
echo "rtpush.secret = 'rotated-secret-0123'" >> $D/postgresql.conf
as $BIN/pg_ctl -D $D reload >/dev/null; sleep 1
grep -n 'rotated-secret-0123' $D/log && echo "LEAK: the secret is in the server log"
as $BIN/pg_ctl -D $D -m fast stop >/dev/null
