# 007_plans.pl: the worker's statements that change events it holds (the
# retry UPDATE, the move to the dead letter, the DELETE of delivered events)
# read only the outbox rows they are given, whatever the outbox's statistics
# say.  The outbox is ANALYZEd while it holds one event, which is then
# delivered (the worker plans again on that small outbox); then 3,000 more
# events are queued and refused by the endpoint until they are dead-lettered,
# put back with rtpush.redeliver() and delivered.  auto_explain logs every
# statement of the worker with its actual row counts: each may read at most
# two outbox rows per key it was given (a probe and a ctid fetch).  The retry
# UPDATE written as a join of the keys with the outbox failed this: given
# ~100 keys at once it hash-joined them with the whole primary key (2,485
# rows read for 125 keys).
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use RtpushTest;
use Test::More;

my $N = 3000;
my $sink = start_sink();
my $node = rtpush_node('plans', sink => $sink, conf =>
	  "shared_preload_libraries = 'rtpush, auto_explain'\n"
	  . "auto_explain.log_analyze = on\n"
	  . "auto_explain.log_timing = off\n"
	  . "auto_explain.log_min_duration = -1\n"
	  . "rtpush.max_attempts = 4\n"
	  . "rtpush.max_in_flight = 64\n");
wait_worker($node);

sub explain_worker
{
	my ($ms) = @_;
	$node->safe_psql('postgres', "ALTER SYSTEM SET auto_explain.log_min_duration = $ms");
	$node->safe_psql('postgres', 'SELECT pg_reload_conf()');
	sleep 1;    # the worker reloads at its next wake (poll_interval 200 ms)
}

# statistics of an outbox holding one event, kept: no autovacuum or ANALYZE
$node->safe_psql('app', 'ALTER TABLE rtpush.outbox SET (autovacuum_enabled = off)');
$sink->plan([ { status => 500, body => '{"error":"injected 500"}' } ]);
$node->safe_psql('app', 'INSERT INTO ticks (seq, ch) VALUES (1, 0)');
$node->safe_psql('app', 'ANALYZE rtpush.outbox');
is($node->safe_psql('app', q{SELECT reltuples FROM pg_class WHERE oid = 'rtpush.outbox'::regclass}),
	'1', 'the outbox was analyzed holding one event');
# the worker plans its statements again after the ANALYZE, while the outbox
# is that small: delivering the event makes it plan the DELETE
$sink->plan([]);
ok($node->poll_query_until('app', 'SELECT count(*) = 0 FROM rtpush.outbox', 't'),
	'the one event was delivered');
$sink->plan([ { status => 500, body => '{"error":"injected 500"}' } ]);

explain_worker(0);
my $offset = -s $node->logfile;
$node->safe_psql('app',
	"INSERT INTO ticks (seq, ch) SELECT g, g % 100 FROM generate_series(2, $N + 1) g");
ok($node->poll_query_until('app', 'SELECT count(*) = 0 FROM rtpush.outbox', 't'),
	'every refused event reached the dead letter')
  or diag('status: ' . JSON::PP::encode_json(status_row($node)));
is($node->safe_psql('app', 'SELECT count(*) FROM rtpush.dead_letter'),
	$N, 'the dead letter holds them all');

$sink->plan([]);
is($node->safe_psql('app', 'SELECT rtpush.redeliver()'), $N, 'all put back');
account('redelivered after the dead letter', $node, $sink, timeout => 120);
explain_worker(-1);

# ---- the plans the worker ran, from the log
my @plans = split /^(?=\S.*LOG:  duration: )/m, slurp_file($node->logfile, $offset);
my %kind = (
	'retry UPDATE' => qr/Query Text: UPDATE rtpush\.outbox/,
	'dead-letter move' => qr/Query Text: WITH x AS .*rtpush\.dead_letter/s,
	'DELETE of delivered events' => qr/Query Text: DELETE FROM rtpush\.outbox/);
for my $k (sort keys %kind)
{
	my ($n, $worst) = (0, '');
	my ($keys_total, $read_total, $most) = (0, 0, 0);
	for my $p (grep { /rtpush delivery worker LOG/ && $_ =~ $kind{$k} } @plans)
	{
		$n++;
		# the keys given: the unnest of the parameter arrays
		my ($keys) = $p =~ /Function Scan on .*?actual rows=([\d.]+) loops=1/;    # 18: rows=100.00
		my $read = 0;
		$read += $1 * $2
		  while $p =~ /Scan (?:using \S+ )?on outbox(?: \w+)?  .*?actual rows=([\d.]+) loops=(\d+)/g;
		$keys_total += $keys // 0;
		$most = $keys if ($keys // 0) > $most;
		$read_total += $read;
		$worst = "$read rows read for " . ($keys // '?') . " keys:\n$p"
		  if !defined $keys || $read > 2 * $keys;
	}
	cmp_ok($n, '>', 0, "$k: the worker ran it ($n times, at most $most keys at once)");
	is($worst, '', "$k: reads at most two outbox rows per key ($read_total rows for $keys_total keys)");
}

$node->stop;
$sink->stop;
done_testing();
