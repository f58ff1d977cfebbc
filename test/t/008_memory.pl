# 008_memory.pl: the delivery worker's memory stays flat in the
# configuration the README recommends for PHI (issue 15): event ids
# (rtpush.event_id_field) and end-to-end encrypted channels, with plain,
# multi-channel and thin-oversize events beside them, and an endpoint that
# fails a share of requests (retries) and rejects some (dead letters).
#
# The worker's memory is read after a warm-up and again after 60,000 more
# events: its memory contexts (pg_log_backend_memory_contexts(): the grand
# total and TopMemoryContext) and its RssAnon from /proc.  Before the fix
# (per-turn allocations landing in TopMemoryContext after the first
# transaction) TopMemoryContext grew by about 1 KB per event.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use MIME::Base64 qw(encode_base64);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use RtpushTest;
use Test::More;

use constant {
	WARMUP => 12_000,
	EVENTS => 60_000,
	MAX_CONTEXT_GROWTH => 2 * 1024 * 1024,    # bytes
	MAX_RSS_GROWTH => 4 * 1024,               # kB
};

my $sink = start_sink();
my $master = encode_base64('k' x 32, '');
my $node = rtpush_node('memory', sink => $sink, conf => qq{
rtpush.event_id_field = 'eid'
rtpush.encryption_master_key = '$master'
rtpush.max_payload_bytes = 2048
rtpush.max_attempts = 3
rtpush.oversize = 'thin'
});
$node->safe_psql('app', q{
CREATE TABLE notes (id bigint PRIMARY KEY, body text NOT NULL);
SELECT rtpush.attach('notes', 'note', ARRAY['private-user.{id}'], operations => '{INSERT}');
});
my $pid = wait_worker($node);

# One round of events, n in all: a quarter each plain, encrypted (one
# channel each), multi-channel (two plain channels) and thin-oversize rows.
sub round
{
	my ($first, $n) = @_;
	my $q = int($n / 4);
	my $last = $first + $q - 1;
	$node->safe_psql('app', qq{
SELECT rtpush.send('plain.' || (g % 7), 'ev', jsonb_build_object('seq', g, 'body', repeat('x', 200)))
  FROM generate_series($first, $last) g;
SELECT rtpush.send('private-encrypted-room.' || (g % 5), 'ev',
                   jsonb_build_object('n', g, 'body', repeat('y', 200)))
  FROM generate_series($first, $last) g;
SELECT rtpush.send(ARRAY['multi.a.' || (g % 3), 'multi.b.' || (g % 3)], 'ev',
                   jsonb_build_object('n', g))
  FROM generate_series($first, $last) g;
INSERT INTO notes SELECT g, repeat('z', 3000) FROM generate_series($first, $last) g;
});
	ok($node->poll_query_until('app', q{SELECT queued = 0 AND in_flight = 0 FROM rtpush.status}),
		"events $first.. delivered or dead-lettered")
	  or diag('status: ' . JSON::PP::encode_json(status_row($node)));
	return 4 * $q;
}

# The worker's memory: {total, top} bytes from its memory-context dump.
sub contexts
{
	my $log = $node->logfile;
	my $from = -s $log;
	$node->safe_psql('postgres', "SELECT pg_log_backend_memory_contexts($pid)");
	my ($text, $deadline) = ('', time + 30);
	while (time < $deadline)
	{
		$text = substr(slurp_file($log), $from);
		last if $text =~ /\[$pid\][^\n]*Grand total: \d+ bytes/;
		select(undef, undef, undef, 0.1);
	}
	my ($total) = $text =~ /\[$pid\][^\n]*Grand total: (\d+) bytes/;
	# TopMemoryContext is level 0 before PostgreSQL 18, level 1 since
	my ($lv, $top) = $text =~ /\[$pid\][^\n]*level: (\d+); TopMemoryContext: (\d+) total/;
	my $below = ($lv // 0) + 1;
	my %level1 = $text =~ /\[$pid\][^\n]*level: $below; ([^:]+): (\d+) total/g;
	return { total => $total, top => $top, level1 => \%level1 };
}

sub rss_anon
{
	my ($kb) = slurp_file("/proc/$pid/status") =~ /^RssAnon:\s+(\d+) kB/m;
	return $kb;
}

# Retries and dead letters: 3 % of requests answer 500, 1 % answer 400.
$sink->plan([{ status => 500, fraction => 0.03 }, { status => 400, fraction => 0.01 }]);

# Warm up, as loaded as the rounds that follow: buffers, connections, plans,
# the held set and the channels reach their working size.
round(1, WARMUP);
my ($m0, $r0) = (contexts(), rss_anon());
ok(defined $m0->{total} && defined $m0->{top}, "memory contexts after the warm-up: "
	  . "total $m0->{total}, TopMemoryContext $m0->{top} bytes, RssAnon $r0 kB");

my $sent = 0;
my $first = WARMUP + 1;
while ($sent < EVENTS)
{
	my $n = round($first, 12_000);
	$sent += $n;
	$first += $n;
}
$sink->plan([]);
my $st = status_row($node);
cmp_ok($st->{delivered}, '>=', EVENTS, "the worker delivered $st->{delivered} events")
  or diag('status: ' . JSON::PP::encode_json($st));
my $dead = $node->safe_psql('app', 'SELECT count(*) FROM rtpush.dead_letter');
my $retried = $sink->stats->{statuses}{500} // 0;
cmp_ok($retried, '>', 0, "requests answered 500 were retried ($retried)");
is($node->safe_psql('app', 'SELECT count(*) FROM rtpush.outbox'), '0', "outbox empty ($dead dead-lettered)");
# the answer that sent each event there: a 400, or the third 500 in a row
my $odd = $node->safe_psql('app', q{SELECT http_status || ': ' || reason FROM rtpush.dead_letter
	WHERE NOT ((http_status = 400 AND reason LIKE 'HTTP 400:%')
	        OR (http_status = 500 AND reason LIKE 'gave up after 3 attempts: HTTP 500:%'))});
is($odd, '', 'every dead letter records the answer that sent it there');
is(worker_pid($node), $pid, 'the same worker ran throughout');

my ($m1, $r1) = (contexts(), rss_anon());
my $grew = $m1->{total} - $m0->{total};
my $top_grew = $m1->{top} - $m0->{top};
diag(sprintf('MEMORY|contexts %d -> %d bytes (%+d), TopMemoryContext %d -> %d (%+d), RssAnon %d -> %d kB (%+d), %d events',
		$m0->{total}, $m1->{total}, $grew, $m0->{top}, $m1->{top}, $top_grew, $r0, $r1, $r1 - $r0, $sent));
for my $c (sort keys %{ $m1->{level1} })
{
	my $d = $m1->{level1}{$c} - ($m0->{level1}{$c} // 0);
	diag("context $c: $m1->{level1}{$c} bytes ($d since the warm-up)") if $d;
}
cmp_ok($grew, '<', MAX_CONTEXT_GROWTH,
	"memory contexts grew by $grew bytes over $sent events (limit @{[MAX_CONTEXT_GROWTH]})");
cmp_ok($top_grew, '<', MAX_CONTEXT_GROWTH,
	"TopMemoryContext grew by $top_grew bytes over $sent events");
cmp_ok($r1 - $r0, '<', MAX_RSS_GROWTH,
	'RssAnon grew by ' . ($r1 - $r0) . " kB over $sent events (limit @{[MAX_RSS_GROWTH]} kB)");

$node->stop;
$sink->stop;
done_testing();
