# 029_not_configured.pl: a worker without an app to deliver to (neither
# rtpush.set_app() nor the cluster-wide rtpush.app_id) reads no events:
# it holds none, writes no history rows for them, and commits do not wake
# it.  When the database gets its app (rtpush.set_app(), no reload), or the
# cluster gets one (a reload), everything queued meanwhile is delivered,
# once and in order, even more events than the worker holds at once.  A
# database app the server refuses is named as such in rtpush.status.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Time::HiRes qw(time usleep);
use RtpushTest;
use Test::More;

my $N = 12000;	# more than the worker holds (MAX_HELD, src/schedule.h)

my $sink = start_sink();
my $node = rtpush_node('not_configured', sink => $sink, conf => "rtpush.app_id = ''\n");
wait_worker($node);
ok($node->poll_query_until('app', q{SELECT state LIKE 'not_configured%' FROM rtpush.status}),
	'the worker is not configured');

my $w0 = status_row($node)->{wakeups};
$node->safe_psql('app', "INSERT INTO ticks (seq, ch) SELECT g, g % 4 FROM generate_series(1, $N) g");
$node->safe_psql('app', join('', map { "INSERT INTO ticks (seq, ch) VALUES ($_, $_ % 4);\n" } $N + 1 .. $N + 50));
# two polls of the worker (rtpush.poll_interval 200 ms)
usleep(1_000_000);
my $st = status_row($node);
is($st->{held}, 0, 'it holds no events');
is($node->safe_psql('app', 'SELECT count(*) FROM rtpush.history'), '0', 'it wrote no history rows');
is($st->{wakeups} - $w0, 0, '51 commits did not wake it');
is($node->safe_psql('app', 'SELECT count(*) FROM rtpush.outbox'), $N + 50, 'every event waits in the outbox');

# the database's own app, without a reload
my $port = $sink->port;
my $t0 = time;
$node->safe_psql('app', qq{SELECT rtpush.set_app('$sink->{app}', '$sink->{key}', '$sink->{secret}',
                                                host => '127.0.0.1', port => $port, scheme => 'http')});
account('after rtpush.set_app()', $node, $sink, timeout => 60);
note(sprintf('rtpush.set_app() to all %d events delivered: %.2f s', $N + 50, time - $t0));
is($node->safe_psql('app', 'SELECT count(*) FROM rtpush.outbox'), '0', 'the outbox is empty');

# not configured again; then the cluster-wide app, by a reload
$node->safe_psql('app', 'SELECT rtpush.reset_app()');
ok($node->poll_query_until('app', q{SELECT state LIKE 'not_configured%' FROM rtpush.status}),
	'after rtpush.reset_app() it is not configured again');
$node->safe_psql('app', "INSERT INTO ticks (seq, ch) SELECT g, g % 4 FROM generate_series($N + 51, $N + 150) g");
usleep(600_000);
is(status_row($node)->{held}, 0, 'it holds none of what is queued then');
$node->safe_psql('app', "ALTER SYSTEM SET rtpush.app_id = '$sink->{app}'; SELECT pg_reload_conf()");
account('after a reload with rtpush.app_id', $node, $sink, timeout => 30, since => $N + 51);
my $c = $sink->counts;
is(scalar(grep { ($c->{$_} // 0) != 1 } 1 .. $N + 150), 0, 'each event delivered exactly once');

# the database's own app with a wrong secret: the state and the log name
# rtpush.set_app(), not the cluster-wide settings it does not use
$node->safe_psql('app', qq{SELECT rtpush.set_app('$sink->{app}', '$sink->{key}', 'not-the-secret',
                                                host => '127.0.0.1', port => $port, scheme => 'http')});
$node->safe_psql('app', "INSERT INTO ticks (seq, ch) SELECT g, g % 4 FROM generate_series($N + 151, $N + 160) g");
ok($node->poll_query_until('app', q{SELECT state FROM rtpush.status},
	q{misconfigured (HTTP 401: check rtpush.set_app()'s key, secret)}),
	'a wrong secret given to rtpush.set_app(): the state names rtpush.set_app()');
ok($node->wait_for_log(qr/HINT:  Check the key and secret given to rtpush\.set_app\(\)/),
	'... and so does the log');
$node->safe_psql('app', qq{SELECT rtpush.set_app('$sink->{app}', '$sink->{key}', '$sink->{secret}',
                                                host => '127.0.0.1', port => $port, scheme => 'http')});
account('after the secret is fixed', $node, $sink, timeout => 30, since => $N + 151);

$sink->stop;
$node->stop;
done_testing();
