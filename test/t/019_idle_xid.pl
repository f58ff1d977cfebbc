# 019_idle_xid.pl: a session left idle in a transaction that holds an xid
# (and has queued an event of its own) does not make the worker's reads
# walk the rows delivered since it began (issue 22).  While such a
# transaction is open, VACUUM may not remove the outbox rows the worker
# deletes, nor their index entries; a read that paged from the snapshot's
# xmin stepped over every one of them on every wake (11 ms and ~2,100
# buffers per read after 100,000 events, growing with each event).  The
# read of rtpush--0.3--0.4.sql probes the transactions in progress at the
# last read and starts its range at that snapshot's xmax.
#
# Checked here: the worker's read, as the worker runs it (a kept generic
# plan, seq scans off) and with the window it has while the transaction
# stays open, touches a handful of buffers after 60,000 events; and the
# open transaction's own event, queued before all the others, is delivered
# once it commits (the probe of the in-progress transactions finds it).
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use RtpushTest;
use Test::More;
use JSON::PP;

my $N = 60000;
my $PER_XACT = 100;
my $MAX_BUFFERS = 40;

my $sink = start_sink();
my $node = rtpush_node('idle_xid', sink => $sink, conf => "autovacuum_naptime = 1\n");
wait_worker($node);

# The idle transaction: an xid, an event of its own, then nothing.
my $idle = $node->background_psql('app');
$idle->query_safe('BEGIN');
$idle->query_safe('INSERT INTO ticks (seq, ch) VALUES (0, 0)');
my $xid = $idle->query_safe('SELECT pg_current_xact_id()');
chomp $xid;
ok($xid =~ /^\d+$/, "a session idle in transaction holds xid $xid and has queued an event");

# N events in N / PER_XACT transactions, delivered and deleted meanwhile.
for (my $first = 1; $first <= $N; $first += 20 * $PER_XACT)
{
	my $sql = '';
	for (my $b = $first; $b < $first + 20 * $PER_XACT && $b <= $N; $b += $PER_XACT)
	{
		my $last = $b + $PER_XACT - 1;
		$sql .= "INSERT INTO ticks (seq, ch) SELECT g, g % 8 FROM generate_series($b, $last) g;\n";
	}
	$node->safe_psql('app', $sql);
}
my $r = account('while a transaction stays open', $node, $sink, timeout => 180, since => 1);
is($idle->query_safe('SELECT count(*) FROM rtpush.outbox'), '1',
	'only the open transaction\'s own event is still in the outbox');
is($node->safe_psql('app', "SELECT backend_xid FROM pg_stat_activity WHERE backend_xid = '$xid'"),
	$xid, 'the transaction is still open, holding back the horizon');

# The worker's next read, as it runs it: its window's lower snapshot is
# one taken now (xmin = the open xid), the paging key starts at that xmin.
my $explain = $node->safe_psql('app', qq{
SET enable_seqscan = off;
SET plan_cache_mode = force_generic_plan;
PREPARE f(xid8, bigint, text, text, int) AS
  SELECT * FROM rtpush.fetch_window(\$1, \$2, \$3::pg_snapshot, \$4::pg_snapshot, \$5);
SELECT pg_current_snapshot()::text AS lo \\gset
SELECT pg_snapshot_xmin(:'lo'::pg_snapshot)::text AS xmin \\gset
EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)
  EXECUTE f(:'xmin', 0, pg_current_snapshot()::text, :'lo', 100);
});
my $plan = decode_json($explain)->[0]{Plan};
my $buffers = ($plan->{'Shared Hit Blocks'} // 0) + ($plan->{'Shared Read Blocks'} // 0);
cmp_ok($buffers, '<=', $MAX_BUFFERS,
	"the worker's read after $N delivered events touches $buffers buffers (at most $MAX_BUFFERS)")
  or diag($explain);
is($plan->{'Actual Rows'}, 0, 'and finds nothing new');

# The open transaction commits: its event, older than all the others, is
# found by the probe of the transactions that were in progress.
$idle->query_safe('COMMIT');
$idle->quit;
ok($node->poll_query_until('app', 'SELECT count(*) = 0 FROM rtpush.outbox'),
	'the long transaction\'s event is delivered once it commits');
is($sink->counts->{0}, 1, 'delivered once');

$node->stop;
$sink->stop;
done_testing();
