# 025_update_0.8.pl: ALTER EXTENSION rtpush UPDATE from 0.7 to 0.8, which
# adds a database's own Pusher app (rtpush.set_app, rtpush.app_config;
# rtpush--0.7--0.8.sql 70) and the app column of rtpush.databases (60.2).
# Events are queued and retried (the endpoint fails) while the update runs;
# every one arrives once, in order, at the cluster-wide app.  Then the
# database gets its own app (a second endpoint with other credentials: the
# sink checks every signature) without a reload: what is queued after goes
# there and nowhere else, and back after rtpush.reset_app().  Finally
# 0.7 + UPDATE equals a fresh install.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Time::HiRes qw(time usleep);
use RtpushTest;
use DbaTest;
use Test::More;

my $sink = start_sink();
my $own = start_sink(app_id => 'clinic-b', key => 'clinic-b-key', secret => 'clinic-b-secret-not-in-logs');
my $node = rtpush_node('update08', sink => $sink, no_setup => 1);
update_path_exists($node, '0.7', '0.8');

$node->safe_psql('app', "CREATE EXTENSION rtpush VERSION '0.7';" . tick_sql());
wait_worker($node);
$node->safe_psql('app', 'INSERT INTO ticks (seq, ch) SELECT g, g % 4 FROM generate_series(1, 100) g');
account('on 0.7', $node, $sink, timeout => 60, below => 101);

update_while_queued($node, $sink, '0.8', 101, 300);
$sink->plan([]);
account('0.7 -> 0.8', $node, $sink, timeout => 60, since => 101, below => 301);
my $c = $sink->counts;
is(scalar(grep { ($c->{$_} // 0) != 1 } 1 .. 300), 0, 'each event delivered exactly once');
is($node->safe_psql('app', q{SELECT source || ':' || app_id FROM rtpush.app}), 'cluster:rtpush-tap',
	'after the update the database delivers to the cluster-wide app');

# its own app, without a reload
my $port = $own->port;
my $t0 = time;
$node->safe_psql('app', qq{SELECT rtpush.set_app('clinic-b', 'clinic-b-key', 'clinic-b-secret-not-in-logs',
                                                host => '127.0.0.1', port => $port, scheme => 'http')});
$node->safe_psql('app', 'INSERT INTO ticks (seq, ch) SELECT g, g % 4 FROM generate_series(301, 350) g');
account('its own app', $node, $own, timeout => 30, since => 301, below => 351);
my $took = time - $t0;
note(sprintf('rtpush.set_app to the first event at its app: %.2f s', $took));
cmp_ok($took, '<', 10, 'rtpush.set_app takes effect without a reload or a restart');
is(scalar(grep { $_ > 300 } keys %{ $sink->counts }), 0, 'nothing of it reached the cluster-wide app');
is($node->safe_psql('app', q{SELECT app_source || ':' || app_id FROM rtpush.databases WHERE datname = 'app'}),
	'database:clinic-b', 'rtpush.databases names the database\'s own app');

# back to the cluster's
$node->safe_psql('app', 'SELECT rtpush.reset_app()');
$node->safe_psql('app', 'INSERT INTO ticks (seq, ch) SELECT g, g % 4 FROM generate_series(351, 400) g');
account('rtpush.reset_app()', $node, $sink, timeout => 30, since => 351, below => 401);
is(scalar(grep { $_ > 350 } keys %{ $own->counts }), 0, '... and none of it at the database\'s app');
ok($node->poll_query_until('app', 'SELECT count(*) = 0 FROM rtpush.outbox'), 'outbox empty');
positions_increase($sink, 'positions increase per channel across the update');

# 0.7 + UPDATE equals a fresh install of 0.8
same_as_fresh($node, '0.7', '0.8');

my $log = slurp_file($node->logfile);
unlike($log, qr/clinic-b-secret-not-in-logs/, 'the app\'s secret is not in the server log');

$sink->stop;
$own->stop;
$node->stop;
done_testing();
