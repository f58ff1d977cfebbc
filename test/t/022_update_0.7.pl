# 022_update_0.7.pl: ALTER EXTENSION rtpush UPDATE from 0.6 to 0.7, where
# rtpush.fetch_window() reads the transactions that were in progress at the
# worker's last read one xid at a time (rtpush--0.6--0.7.sql, 20.2).
# Events are queued and retried (the endpoint fails) while the update runs;
# a large transaction that began before them commits after the update, so
# the updated function reads it through that probe; more are queued after.
# Afterwards every one of them arrives once, in order per channel, with
# positions increasing across the update; 0.6 + UPDATE equals a fresh
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
my $node = rtpush_node('update07', sink => $sink, no_setup => 1);
update_path_exists($node, '0.6', '0.7');

$node->safe_psql('app', "CREATE EXTENSION rtpush VERSION '0.6';" . tick_sql());
wait_worker($node);
$node->safe_psql('app', 'INSERT INTO ticks (seq, ch) SELECT g, g % 4 FROM generate_series(1, 100) g');
account('on 0.6', $node, $sink, timeout => 60, below => 101);

# a large transaction on channels of its own, open across the update
my $big = $node->background_psql('app');
$big->query_safe('BEGIN');
$big->query_safe('INSERT INTO ticks (seq, ch) VALUES (1001, 4)');

update_while_queued($node, $sink, '0.7', 101, 300);
$big->query_safe('INSERT INTO ticks (seq, ch) SELECT g, 4 + g % 4 FROM generate_series(1002, 6000) g');
$big->query_safe('COMMIT');
$big->quit;
$node->safe_psql('app', 'INSERT INTO ticks (seq, ch) SELECT g, g % 4 FROM generate_series(301, 350) g');
$sink->plan([]);
account('0.6 -> 0.7', $node, $sink, timeout => 120, since => 101);
my $c = $sink->counts;
is(scalar(grep { ($c->{$_} // 0) != 1 } 1 .. 350, 1001 .. 6000), 0, 'each event delivered exactly once');
ok($node->poll_query_until('app', 'SELECT count(*) = 0 FROM rtpush.outbox'), 'outbox empty');

positions_increase($sink, 'positions increase per channel across the update');

# 0.6 + UPDATE equals a fresh install of 0.7
same_as_fresh($node, '0.6', '0.7');

$sink->stop;
$node->stop;
done_testing();
