# 023_large_xact.pl: a large transaction that was in progress at the
# worker's last read (rtpush--0.6--0.7.sql, 20.2).  Its events are read by
# the probe of the in-progress transactions, a page at a time.  Until 0.7
# that probe matched "xid = ANY (array) AND (xid, id) > (after)", and a
# btree scan with an array key does not start at the row comparison: each
# page of the transaction's events began at its first index entry, so a
# page near the end of a 200,000-event transaction touched ~750 buffers
# (quadratic in its size; found in the history throughput benchmark, where
# the worker's own fetches take xids).
#
# Checked here: with a transaction of $N events in progress at the lower
# snapshot (and a later transaction committed, so that it is in the
# snapshot's xip list, not past its xmax), the worker's read, as the
# worker runs it (a kept generic plan, seq scans off), of the page after
# the 90th percent of those events touches a handful of buffers; paging
# through the window returns each event exactly once, in id order; and the
# worker delivers all of them once, in order per channel.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use RtpushTest;
use Test::More;
use JSON::PP;

my $N = 50000;
my $PAGE = 1000;
my $MAX_BUFFERS = 40;

my $sink = start_sink();
my $node = rtpush_node('large_xact', sink => $sink);
wait_worker($node);

# no delivery while the window is measured: the worker, not configured,
# reads and deletes nothing
$node->safe_psql('app', "ALTER SYSTEM SET rtpush.app_id = ''; SELECT pg_reload_conf()");
$node->poll_query_until('app', q{SELECT state LIKE 'not_configured%' FROM rtpush.status})
  or die 'the worker did not stop delivering';

my $big = $node->background_psql('app');
$big->query_safe('BEGIN');
$big->query_safe('INSERT INTO ticks (seq, ch) VALUES (1, 0)');
my $xid = $big->query_safe('SELECT pg_current_xact_id()');
chomp $xid;
# a later transaction commits: the snapshot's xmax passes the open xid (on
# a channel of its own: order is per writing session, see order_ok())
$node->safe_psql('app', 'INSERT INTO ticks (seq, ch) VALUES (0, 99)');
my $lo = $node->safe_psql('app', 'SELECT pg_current_snapshot()');
ok((grep { $_ eq $xid } split /,/, (split /:/, $lo)[2] // ''),
	"the transaction ($xid) is in progress in the lower snapshot ($lo)");
$big->query_safe("INSERT INTO ticks (seq, ch) SELECT g, g % 4 FROM generate_series(2, $N) g");
$big->query_safe('COMMIT');
$big->quit;
my $hi = $node->safe_psql('app', 'SELECT pg_current_snapshot()');

my $prepare = qq{
SET enable_seqscan = off;
SET plan_cache_mode = force_generic_plan;
PREPARE f(xid8, bigint, text, text, int) AS
  SELECT * FROM rtpush.fetch_window(\$1, \$2, \$3::pg_snapshot, \$4::pg_snapshot, \$5);
};

# the page after 90 % of the transaction's events, as the worker reads it
my $after = $node->safe_psql('app', qq{
SELECT id FROM rtpush.outbox WHERE xid = '$xid' ORDER BY id OFFSET @{[ int($N * 0.9) ]} LIMIT 1});
my $explain = $node->safe_psql('app', $prepare . qq{
EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE f('$xid', $after, '$hi', '$lo', $PAGE);
});
my $plan = decode_json($explain)->[0]{Plan};
my $buffers = ($plan->{'Shared Hit Blocks'} // 0) + ($plan->{'Shared Read Blocks'} // 0);
cmp_ok($buffers, '<=', $MAX_BUFFERS,
	"a page near the end of a $N-event transaction touches $buffers buffers (at most $MAX_BUFFERS)")
  or diag($explain);
is($plan->{'Actual Rows'}, $PAGE, "and returns a full page of $PAGE");

# the whole window, paged as the worker pages it: each event once, in order
my ($last_xid, $last_id) = ((split /:/, $lo)[0], 0);
my (@ids, $pages);
while (1)
{
	my $out = $node->safe_psql('app', $prepare . qq{
EXECUTE f('$last_xid', $last_id, '$hi', '$lo', $PAGE);
}, extra_params => [ '-A', '-t', '-F', ',' ]);
	my @rows = map { [ (split /,/)[0, 1] ] } grep { /^\d+,/ } split /\n/, $out;
	last unless @rows;
	$pages++;
	push @ids, map { $_->[0] } @rows;
	($last_id, $last_xid) = @{ $rows[-1] };	# rtpush.outbox's columns: id, xid, ...
	last if @rows < $PAGE;
}
my $expected = $node->safe_psql('app', "SELECT count(*) FROM rtpush.outbox WHERE xid = '$xid'");
is(scalar(@ids), $expected, "paging through the window returns the transaction's $expected events ($pages pages)");
my %seen;
is(scalar(grep { $seen{$_}++ } @ids), 0, 'none twice');
is(scalar(grep { $ids[$_] <= $ids[ $_ - 1 ] } 1 .. $#ids), 0, 'in id order');

# delivery on again: everything arrives once, in order per channel
$node->safe_psql('app', 'ALTER SYSTEM RESET rtpush.app_id; SELECT pg_reload_conf()');
my $r = account('a large transaction read in pages', $node, $sink, timeout => 180);
is($r->{duplicates}, 0, 'no event delivered twice');
ok($node->poll_query_until('app', 'SELECT count(*) = 0 FROM rtpush.outbox'), 'outbox empty');

$node->stop;
$sink->stop;
done_testing();
