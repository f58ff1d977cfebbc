# 028_commit_wakes.pl: under a stream of commits the worker waits out its
# coalescing window (src/schedule.c) without being woken by each commit
# (rtpush_status_want_wakes(), src/status.c), and still misses none.
#
# The fallback poll is set to a minute, so an event whose commit neither
# woke the worker nor was seen by the fetch at the window's end would wait
# for it.  1. A steady stream of single-row commits from 4 sessions: every
# event arrives once and in order, and rtpush.status's wakeups (commits that
# set the worker's latch) stays well below the commits: before the change
# every commit set it.  2. Bursts of 1-40 commits, each followed by silence:
# the burst's last event arrives within seconds every time, not after the
# poll.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Time::HiRes qw(time usleep);
use RtpushTest;
use Test::More;

my $sink = start_sink();
my $node = rtpush_node('wakes', sink => $sink, conf => "rtpush.poll_interval = 60000\n");
wait_worker($node);

# 1. a stream
my $w0 = status_row($node)->{wakeups};
my $load = start_load($node, rate => 4000, conns => 4, seconds => 8);
$load->wait(60);
my $acked = $load->acked;
my $commits = scalar keys %$acked;
cmp_ok($commits, '>', 5000, "the stream committed $commits events");
account('a stream of single-row commits', $node, $sink, acked => $acked, timeout => 30);
my $wakeups = status_row($node)->{wakeups} - $w0;
note(sprintf('wakeups %d for %d commits (%.2f per commit)', $wakeups, $commits, $wakeups / $commits));
cmp_ok($wakeups, '<', $commits / 2, 'under a stream, most commits do not wake the worker');

# 2. bursts, each followed by silence
my $seq = 1_000_000;
my ($late, $worst) = (0, 0);
for my $burst (1 .. 40)
{
	my $n = 1 + int(rand(40));
	my $before = $sink->stats->{delivered};
	my @rows = map { $seq + $_ } 1 .. $n;
	$node->safe_psql('app', join('', map { "INSERT INTO ticks (seq, ch) VALUES ($_, $_ % 4);\n" } @rows));
	my $t0 = time;
	my $want = $before + $n;
	usleep(5_000) until $sink->stats->{delivered} >= $want || time - $t0 > 10;
	my $took = time - $t0;
	$worst = $took if $took > $worst;
	$late++ if $took > 5;
	$seq += $n;
	usleep(int(rand(50_000)));
}
note(sprintf('slowest burst end to delivery: %.3f s', $worst));
is($late, 0, 'every burst\'s last event arrived within 5 s (the poll is 60 s)');
account('the bursts', $node, $sink, since => 1_000_001, timeout => 30);

$sink->stop;
$node->stop;
done_testing();
