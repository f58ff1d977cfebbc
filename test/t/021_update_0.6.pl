# 021_update_0.6.pl: ALTER EXTENSION rtpush UPDATE from 0.5 to 0.6, where
# rtpush.history_last_position() became SECURITY DEFINER (rtpush--0.5--0.6.sql,
# 50.4).  Events are queued and retried (the endpoint fails) while the
# update runs, more are queued after it; afterwards every one of them
# arrives once, in order per channel, with positions increasing across the
# update.  An app role granted EXECUTE on the function reads the last
# position without any right on history; 0.5 + UPDATE equals a fresh
# install.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use RtpushTest;
use DbaTest;
use Test::More;

my $sink = start_sink();
my $node = rtpush_node('update06', sink => $sink, no_setup => 1);
update_path_exists($node, '0.5', '0.6');

$node->safe_psql('app', "CREATE EXTENSION rtpush VERSION '0.5';" . tick_sql());
wait_worker($node);
$node->safe_psql('app', 'INSERT INTO ticks (seq, ch) SELECT g, g % 4 FROM generate_series(1, 100) g');
account('on 0.5', $node, $sink, timeout => 60, below => 101);

# an app role: on 0.5 the function reads history with the caller's rights
$node->safe_psql('app', q{CREATE ROLE bootstrap_app LOGIN;
                          GRANT USAGE ON SCHEMA rtpush TO bootstrap_app;
                          GRANT EXECUTE ON FUNCTION rtpush.history_last_position() TO bootstrap_app});
my ($rc, $out, $err) = $node->psql('app', 'SELECT rtpush.history_last_position()', extra_params => [ '-U', 'bootstrap_app' ]);
like($err, qr/permission denied for table history_slots/, 'on 0.5 an app role cannot read the last position');

update_while_queued($node, $sink, '0.6', 101, 300);
$node->safe_psql('app', 'INSERT INTO ticks (seq, ch) SELECT g, g % 4 FROM generate_series(301, 350) g');
$sink->plan([]);
account('0.5 -> 0.6', $node, $sink, timeout => 90, since => 101, below => 351);
my $c = $sink->counts;
is(scalar(grep { ($c->{$_} // 0) != 1 } 1 .. 350), 0, 'each event delivered exactly once');
ok($node->poll_query_until('app', 'SELECT count(*) = 0 FROM rtpush.outbox'), 'outbox empty');

positions_increase($sink, 'positions increase per channel across the update');

my $max = $node->safe_psql('app', 'SELECT max(position) FROM rtpush.history_events');
is($node->safe_psql('app', 'SELECT rtpush.history_last_position()', extra_params => [ '-U', 'bootstrap_app' ]),
	$max, 'on 0.6 the app role reads the last position, as the owner');
($rc, $out, $err) = $node->psql('app', 'SELECT count(*) FROM rtpush.history', extra_params => [ '-U', 'bootstrap_app' ]);
like($err, qr/permission denied/, 'and still cannot read history itself');
$node->safe_psql('app', q{REVOKE ALL ON FUNCTION rtpush.history_last_position() FROM bootstrap_app;
                          REVOKE ALL ON SCHEMA rtpush FROM bootstrap_app; DROP ROLE bootstrap_app});

# 0.5 + UPDATE equals a fresh install of 0.6
same_as_fresh($node, '0.5', '0.6');

$sink->stop;
$node->stop;
done_testing();
