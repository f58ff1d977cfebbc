# 002_crash.pl: crashes during delivery under steady write load lose
# nothing: `pg_ctl stop -m immediate` then start, and the worker killed with
# SIGKILL three times (each makes the postmaster restart every backend and
# recover).  Every committed event is delivered; duplicates are counted and
# stay within one in-flight window per crash.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use RtpushTest;
use Test::More;
use Time::HiRes qw(usleep);

# A little latency at the endpoint keeps requests in flight at crash time.
my $sink = start_sink();
$sink->plan([ { delayMs => 30 } ]);
my $node = rtpush_node('crash', sink => $sink);
wait_worker($node);

# One in-flight window: max_in_flight requests of batch_size events.
my $window = $node->safe_psql('app',
	q{SELECT current_setting('rtpush.max_in_flight')::int * current_setting('rtpush.batch_size')::int});

# ---- pg_ctl stop -m immediate during delivery
my $load = start_load($node, rate => 400, seconds => 12, conns => 4, first_seq => 1);
sleep 4;
my $before = $node->safe_psql('app', q{SELECT in_flight || ' / ' || queued FROM rtpush.status});
note("before the immediate stop: in flight / queued = $before");
$node->stop('immediate');
sleep 1;
$node->start;
wait_worker($node);
$load->wait(60);
note('load: ' . ($load->{done} // 'no summary'));
account('pg_ctl stop -m immediate during delivery', $node, $sink,
	acked => $load->acked, below => 1_000_000, window => $window, timeout => 120);

# ---- the worker killed with SIGKILL three times during delivery
$load = start_load($node, rate => 400, seconds => 14, conns => 4, first_seq => 1_000_000);
for my $round (1 .. 3)
{
	sleep 3;
	my $pid = wait_worker($node);
	my $inflight = $node->safe_psql('app', 'SELECT in_flight FROM rtpush.status');
	note("round $round: SIGKILL worker $pid (in flight: $inflight)");
	is(kill('KILL', $pid), 1, "round $round: SIGKILL sent to worker $pid");
	my $new = wait_new_worker($node, $pid);
	ok($new, "round $round: a new worker ($new) after the postmaster's restart");
}
$load->wait(60);
note('load: ' . ($load->{done} // 'no summary'));
account('worker SIGKILLed 3 times during delivery', $node, $sink,
	acked => $load->acked, since => 1_000_000, window => 3 * $window, timeout => 120);

my $log = slurp_file($node->logfile);
my $restarts = () = $log =~ /terminated by signal 9: Killed/g;
is($restarts, 3, 'the server log shows the three SIGKILLs');

$node->stop;
$sink->stop;
done_testing();
