# 001_worker.pl: the delivery worker's life: visible in pg_stat_activity
# with a useful state, restarted after pg_terminate_backend, settings
# reloaded on SIGHUP (a second endpoint takes over), and a clear error when
# rtpush is not in shared_preload_libraries.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use RtpushTest;
use Test::More;

my $sink1 = start_sink();
my $sink2 = start_sink();

# Without credentials the worker runs and says what is missing.
my $node = rtpush_node('worker');
my $pid = wait_worker($node);
ok($pid, "worker in pg_stat_activity with backend_type 'rtpush delivery worker' (pid $pid)");
is($node->safe_psql('postgres',
		"SELECT datname || '|' || application_name FROM pg_stat_activity WHERE pid = $pid"),
	'app|rtpush delivery worker', 'worker is connected to rtpush.database_name and names itself');
ok($node->poll_query_until('app', q{SELECT state FROM rtpush.status},
	'not_configured (rtpush.app_id, rtpush.key, rtpush.secret)'),
	'state names the missing settings');
is($node->safe_psql('app', 'SELECT pid FROM rtpush.status'), $pid, 'rtpush.status shows the worker pid');

# Configured through the file (secrets never in SQL), then reloaded.
$node->append_conf('postgresql.conf', sink_settings($sink1));
$node->reload;
ok($node->poll_query_until('app', q{SELECT state FROM rtpush.status}, 'idle'),
	'state idle once configured');
$node->safe_psql('app', 'INSERT INTO ticks (seq, ch) SELECT g, g % 3 FROM generate_series(1, 50) g');
ok($node->poll_query_until('app', q{SELECT delivered >= 50 AND queued = 0 FROM rtpush.status}),
	'50 events delivered to the first sink');
is(scalar(keys %{ $sink1->counts }), 50, 'first sink received the 50 events');
my $st = status_row($node);
ok(defined $st->{last_success_at} && $st->{http_requests} >= 5 && $st->{delivered} >= 50,
	"status counts the delivery: $st->{delivered} delivered, $st->{http_requests} HTTP requests, last success set")
  or diag('status: ' . JSON::PP::encode_json($st));
ok(!defined $st->{last_error_at} || defined $st->{last_error}, 'status: last_error_at only with a last_error')
  or diag('status: ' . JSON::PP::encode_json($st));
like($st->{state}, qr/^(idle|delivering)$/, "state after delivery: $st->{state}");

# pg_terminate_backend: the postmaster starts a new worker (restart time 1 s).
ok($node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)") eq 't',
	'pg_terminate_backend(worker)');
my $t0 = time;
my $pid2 = wait_new_worker($node, $pid);
my $took = time - $t0;
ok($pid2 && $pid2 != $pid, "worker restarted (pid $pid -> $pid2, ~${took}s)");
$node->safe_psql('app', 'INSERT INTO ticks (seq, ch) SELECT g, g % 3 FROM generate_series(51, 100) g');
ok($node->poll_query_until('app', q{SELECT queued = 0 FROM rtpush.status}),
	'the restarted worker delivers');
is(scalar(keys %{ $sink1->counts }), 100, 'the restarted worker delivered the next 50 events');

# SIGHUP reload: a second endpoint.
$node->safe_psql('postgres', 'ALTER SYSTEM SET rtpush.port = ' . $sink2->port);
$node->safe_psql('postgres', 'SELECT pg_reload_conf()');
ok($node->poll_query_until('app', q{SELECT setting FROM pg_settings WHERE name = 'rtpush.port'}, $sink2->port),
	'rtpush.port reloaded');
# The worker reloads at its next wake; give it one poll interval.
sleep 1;
$node->safe_psql('app', 'INSERT INTO ticks (seq, ch) SELECT g, g % 3 FROM generate_series(101, 150) g');
ok($node->poll_query_until('app', q{SELECT queued = 0 FROM rtpush.status}),
	'events after the reload delivered');
my $c2 = $sink2->counts;
is(scalar(grep { $_ > 100 } keys %$c2), 50, 'events after the reload arrive at the second sink');
is(scalar(grep { $_ > 100 } keys %{ $sink1->counts }), 0, '... and none at the first');
is(worker_pid($node), $pid2, 'reload did not restart the worker');
$node->stop;

# Not preloaded: CREATE EXTENSION and calls fail with a hint.
my $bare = PostgreSQL::Test::Cluster->new('bare');
$bare->init;
$bare->start;
my ($ret, $out, $err) = $bare->psql('postgres', 'CREATE EXTENSION rtpush');
isnt($ret, 0, 'CREATE EXTENSION without shared_preload_libraries fails');
like($err, qr/rtpush can only be loaded through shared_preload_libraries/, '... with a clear message');
like($err, qr/HINT:\s+Add rtpush to shared_preload_libraries/, '... and a hint');
$bare->stop;

# Created while preloaded, then the preload removed: calls fail the same way.
$node->append_conf('postgresql.conf', "shared_preload_libraries = ''\n");
$node->start;
($ret, $out, $err) = $node->psql('app', q{SELECT rtpush.send('c', 'e', '{}')});
isnt($ret, 0, 'rtpush.send without the preload fails');
like($err, qr/rtpush can only be loaded through shared_preload_libraries.*HINT:\s+Add rtpush/s,
	'... with the message and the hint');
($ret, $out, $err) = $node->psql('app', q{INSERT INTO ticks (seq, ch) VALUES (1000, 1)});
isnt($ret, 0, 'a write through the trigger without the preload fails (nothing silently dropped)');
like($err, qr/shared_preload_libraries/, '... naming shared_preload_libraries');
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'rtpush delivery worker'}),
	0, 'no worker without the preload');
$node->stop;

$sink1->stop;
$sink2->stop;
done_testing();
