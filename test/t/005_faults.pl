# 005_faults.pl: HTTP-level faults from the fault-injecting endpoint, each
# under steady write load: 30 % of requests answered 500; 429 with
# Retry-After; slow (2 s) answers and answers that never come, once with
# rtpush.request_timeout above 2 s and once below it (then the endpoint has
# accepted events the worker saw time out: duplicates).  Every committed
# event is delivered (lost = 0); duplicates are counted and reported.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use RtpushTest;
use Test::More;

my $sink = start_sink();
my $node = rtpush_node('faults', sink => $sink);
wait_worker($node);

sub set_conf
{
	my (%kv) = @_;
	$node->safe_psql('postgres', "ALTER SYSTEM SET $_ = '$kv{$_}'") for sort keys %kv;
	$node->safe_psql('postgres', 'SELECT pg_reload_conf()');
	sleep 1;    # the worker reloads at its next wake (poll_interval 200 ms)
}

sub phase
{
	my ($name, $first, $plan, %o) = @_;
	$sink->plan($plan);
	my $before = status_row($node);
	my $req0 = $sink->stats->{requests};
	my $load = start_load($node, rate => $o{rate} // 250, seconds => $o{seconds} // 6,
		conns => 4, first_seq => $first);
	$load->wait(60);
	my $r = account($name, $node, $sink, acked => $load->acked, since => $first,
		below => $first + 1_000_000, timeout => 150);
	my $after = status_row($node);
	my $st = $sink->stats;
	note(sprintf('%s: %d requests, statuses %s, worker: %d retried, %d failed attempts, dead letter %d',
			$name, $st->{requests} - $req0, JSON::PP::encode_json($st->{statuses}),
			$after->{retried} - $before->{retried}, $after->{failed} - $before->{failed},
			$after->{dead_letter_size}));
	is($after->{dead_letter_size}, 0, "$name: nothing dead-lettered");
	return ($r, $after->{failed} - $before->{failed});
}

my ($r, $failed);

($r, $failed) = phase('30% of requests answered 500', 1_000_000,
	[ { fraction => 0.3, status => 500, body => '{"error":"injected 500"}' } ]);
cmp_ok($failed, '>', 0, '500s were seen and retried');

($r, $failed) = phase('429 with Retry-After: 1 (25% of requests)', 2_000_000,
	[ { fraction => 0.25, status => 429, headers => { 'Retry-After' => '1' },
		body => '{"error":"rate limited"}' } ]);
cmp_ok($failed, '>', 0, '429s were seen and retried');

set_conf('rtpush.request_timeout' => '3s');
($r, $failed) = phase('slow 2 s answers (10%) and no answer (3%), request_timeout 3 s',
	3_000_000, [ { fraction => 0.1, delayMs => 2000 }, { fraction => 0.03, hang => JSON::PP::true } ],
	rate => 200);
cmp_ok($failed, '>', 0, 'requests without an answer timed out and were retried');

set_conf('rtpush.request_timeout' => '1500ms');
($r, $failed) = phase('slow 2 s answers (10%) and no answer (3%), request_timeout 1.5 s',
	4_000_000, [ { fraction => 0.1, delayMs => 2000 }, { fraction => 0.03, hang => JSON::PP::true } ],
	rate => 200);
cmp_ok($failed, '>', 0, 'answers slower than request_timeout count as failures and are retried');

like($node->safe_psql('app', 'SELECT last_error FROM rtpush.status'), qr/.+/,
	'rtpush.status keeps the last error');

$node->stop;
$sink->stop;
done_testing();
