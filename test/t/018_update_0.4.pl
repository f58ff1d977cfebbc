# 018_update_0.4.pl: ALTER EXTENSION rtpush UPDATE from 0.3 to 0.4, where
# history arrived (rtpush--0.3--0.4.sql).  The library is 0.4's from the
# start: on an extension still at 0.3 it delivers without history (no
# members added, nothing recorded).  Events are then queued and retried
# (the endpoint fails) while the update runs; afterwards every one of them
# arrives once, in order per channel, those sent after the update with
# their positions, held in history.  0.3 + UPDATE equals a fresh install.
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
my $node = rtpush_node('update04', sink => $sink, no_setup => 1);
my $default = $node->safe_psql('postgres',
	q{SELECT default_version FROM pg_available_extensions WHERE name = 'rtpush'});
update_path_exists($node, '0.3', '0.4');

$node->safe_psql('app', "CREATE EXTENSION rtpush VERSION '0.3';" . tick_sql());
wait_worker($node);
$node->safe_psql('app', 'INSERT INTO ticks (seq, ch) SELECT g, g % 4 FROM generate_series(1, 50) g');
account('on 0.3', $node, $sink, timeout => 60, below => 51);
is(scalar(grep { defined $_->[0] && defined $_->[4] } @{ $sink->events }), 0,
	'on 0.3 the events carry no history position');

# the endpoint fails: events wait, some retried, while the update runs
update_while_queued($node, $sink, '0.4', 51, 250);
$node->safe_psql('app', 'INSERT INTO ticks (seq, ch) SELECT g, g % 4 FROM generate_series(251, 300) g');
$sink->plan([]);
account('0.3 -> 0.4', $node, $sink, timeout => 90, since => 51, below => 301);
my $c = $sink->counts;
is(scalar(grep { $c->{$_} > 1 } 51 .. 300), 0, 'each event delivered once');
ok($node->poll_query_until('app', 'SELECT count(*) = 0 FROM rtpush.outbox'), 'outbox empty');
my @late = grep { defined $_->[0] && $_->[0] >= 251 } @{ $sink->events };
is(scalar(grep { defined $_->[4] } @late), 50, 'the events queued after the update carry positions');
my %hist = map { my @f = split /\|/; ("$f[0]|$f[1]" => $f[2]) }
  split /\n/, $node->safe_psql('app', 'SELECT id, channel, position FROM rtpush.history');
my @positioned = grep { defined $_->[4] } @{ $sink->events };
is(scalar(grep { ($hist{"$_->[3]|$_->[1]"} // '') ne $_->[4] } @positioned), 0,
	'history holds each of the ' . scalar(@positioned) . ' events sent with a position, at that position');

# 0.3 + UPDATE equals a fresh install of 0.4
same_as_fresh($node, '0.3', '0.4');

$sink->stop;
$node->stop;
done_testing();
