# 020_update_0.5.pl: ALTER EXTENSION rtpush UPDATE from 0.4 to 0.5, where
# history went from a row per event to a row per channel and fetch
# (rtpush--0.4--0.5.sql, 50.3).  The library is 0.5's from the start: on
# an extension still at 0.4 it writes 0.4's rows.  Events are then queued
# and retried (the endpoint fails) while the update rewrites history;
# afterwards every one of them arrives once, in order per channel; history
# holds every event sent, before and after the update, at the position it
# was sent with, later fetches in rows of several events; rtpush.history()
# pages through both.  0.4 + UPDATE equals a fresh install.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use RtpushTest;
use DbaTest;
use JSON::PP;
use Test::More;

my $sink = start_sink();
my $node = rtpush_node('update05', sink => $sink, no_setup => 1);
update_path_exists($node, '0.4', '0.5');

$node->safe_psql('app', "CREATE EXTENSION rtpush VERSION '0.4';" . tick_sql());
wait_worker($node);
$node->safe_psql('app', 'INSERT INTO ticks (seq, ch) SELECT g, g % 4 FROM generate_series(1, 100) g');
account('on 0.4', $node, $sink, timeout => 60, below => 101);
is($node->safe_psql('app', 'SELECT count(*) FROM rtpush.history'), '100', 'on 0.4, a history row per event');

# the endpoint fails: events wait, some retried, while the update rewrites history
update_while_queued($node, $sink, '0.5', 101, 300);
$sink->plan([]);
account('0.4 -> 0.5', $node, $sink, timeout => 90, since => 101, below => 301);
# one statement, read by the worker in one fetch: rows of several events
$node->safe_psql('app', 'INSERT INTO ticks (seq, ch) SELECT g, g % 4 FROM generate_series(301, 700) g');
account('after the update', $node, $sink, timeout => 90, since => 101, below => 701);
my $c = $sink->counts;
is(scalar(grep { $c->{$_} > 1 } 101 .. 700), 0, 'each event delivered once');
ok($node->poll_query_until('app', 'SELECT count(*) = 0 FROM rtpush.outbox'), 'outbox empty');

my @positioned = grep { defined $_->[4] } @{ $sink->events };
is(scalar(@positioned), scalar(@{ $sink->events }), 'every event was sent with a position');
my %hist = map { my @f = split /\|/; ("$f[0]|$f[1]" => $f[2]) }
  split /\n/, $node->safe_psql('app', 'SELECT id, channel, position FROM rtpush.history_events');
is(scalar(grep { ($hist{"$_->[3]|$_->[1]"} // '') ne $_->[4] } @positioned), 0,
	'history holds each of the ' . scalar(@positioned) . ' events, before and after the update, at its position');
cmp_ok($node->safe_psql('app', 'SELECT max(cardinality(ids)) FROM rtpush.history'), '>', 1,
	'after the update, a row holds several events of a channel');

# rtpush.history() across both: all of load-1, then paged from inside a row
my ($all) = decode_json($node->safe_psql('app', q{SELECT rtpush.history('u', 'load-1', NULL, 1000)}));
my @sent = map { [ $_->[3], $_->[4] ] } grep { $_->[1] eq 'load-1' } @positioned;
is_deeply([ map { [ $_->{id}, $_->{position} ] } @{ $all->{events} } ], \@sent,
	'rtpush.history() returns load-1\'s ' . scalar(@sent) . ' events in order, at the positions sent');
my $mid = $node->safe_psql('app', q{SELECT positions[2] FROM rtpush.history
                                    WHERE channel = 'load-1' AND cardinality(ids) > 2 ORDER BY position LIMIT 1});
my ($k) = grep { $sent[$_][1] eq $mid } 0 .. $#sent;
my ($page) = decode_json($node->safe_psql('app', "SELECT rtpush.history('u', 'load-1', '$mid', 3)"));
is_deeply([ map { $_->{position} } @{ $page->{events} } ], [ map { $_->[1] } @sent[ $k + 1 .. $k + 3 ] ],
	'after a position inside a row: the next three events');
ok($page->{more} && !$page->{expired}, 'with "more"');

# 0.4 + UPDATE equals a fresh install of 0.5
$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('fresh', "CREATE EXTENSION rtpush VERSION '0.5'");
same_extension($node, 'app', 'fresh', 'rtpush', 'app (0.4 + UPDATE) equals a fresh install of 0.5');

$sink->stop;
$node->stop;
done_testing();
