# 017_history.pl: history and catch-up (issue 17) on a running worker.
#
#  1. Every delivered event carries rtpush_id and rtpush_position; per
#     channel, positions increase in delivery order, and history holds each
#     delivered event at the position it was sent with.
#  2. History is written before the send: while the endpoint fails (500s)
#     the events in flight are already in rtpush.history(), positioned.
#  3. Catch-up without a race: a client that only polls rtpush.history()
#     while writers commit and the endpoint fails at random sees every
#     committed event, positioned ones in position order.
#  4. A crash: positions given after the restart are above those before.
#  5. Retention: with rtpush.history_retention = 2s the partitions are
#     recycled, the kept rows stay bounded, an old position is "expired".
#  6. History off (0): events go without the members, history is emptied,
#     rtpush.history() says it is off.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use RtpushTest;
use Test::More;
use JSON::PP;
use Time::HiRes qw(usleep);
use IPC::Run;

my $sink = start_sink();
my $node = rtpush_node('history', sink => $sink, conf => "rtpush.event_id_field = 'rtpush_id'\n");
wait_worker($node);

# the delivered events as [seq, channel, request, id, position]
sub delivered { return [ grep { defined $_->[0] } @{ $sink->events } ]; }

# rtpush.history() for the whole channel, paged: [[id, position|undef, seq]...], expired
sub read_history
{
	my ($ch, $after, $max) = @_;
	my (@all, $expired);
	while (1)
	{
		my $a = defined $after ? "'$after'" : 'NULL';
		my $r = decode_json($node->safe_psql('app',
			"SELECT rtpush.history('u1', '$ch', $a, " . ($max // 1000) . ')'));
		$expired //= $r->{expired} ? 1 : 0;
		my @ev = @{ $r->{events} };
		push @all, map { [ $_->{id}, $_->{position}, decode_json($_->{data})->{seq} ] } @ev;
		last unless $r->{more};
		my @pos = grep { defined } map { $_->{position} } @ev;
		last unless @pos;
		$after = $pos[-1];
	}
	return (\@all, $expired);
}

# ---- 1. positions on delivered events --------------------------------
for my $b (0 .. 9)
{
	$node->safe_psql('app', "INSERT INTO ticks (seq, ch) SELECT g, g % 4 FROM generate_series($b * 200 + 1, $b * 200 + 200) g");
}
account('history on', $node, $sink, timeout => 120, since => 1, below => 2001);
my $ev = delivered();
is(scalar(grep { defined $_->[3] && defined $_->[4] } @$ev), scalar(@$ev),
	'every delivered event carries rtpush_id and rtpush_position');
my (%last, $backwards);
for my $e (@$ev)
{
	my ($seq, $ch, undef, $id, $pos) = @$e;
	$backwards++ if defined $last{$ch} && $pos <= $last{$ch};
	$last{$ch} = $pos;
}
ok(!$backwards, 'per channel, positions increase in delivery order') or diag("$backwards out of order");
my %hist = map { my @f = split /\|/; ("$f[0]|$f[1]" => $f[2]) }
  split /\n/, $node->safe_psql('app', 'SELECT id, channel, position FROM rtpush.history_events');
is(scalar(grep { ($hist{"$_->[3]|$_->[1]"} // '') ne $_->[4] } @$ev), 0,
	'history holds every delivered event at the position it was sent with');
my ($h0) = read_history('load-0');
is(scalar(@$h0), 500, 'rtpush.history() returns the channel\'s 500 events');
my @seqs = map { $_->[2] } @$h0;
is_deeply(\@seqs, [ sort { $a <=> $b } @seqs ], 'in the writers\' order');

# ---- 2. history before the send ---------------------------------------
$sink->plan([ { status => 500 } ]);
$node->safe_psql('app', 'INSERT INTO ticks (seq, ch) SELECT g, 0 FROM generate_series(3001, 3005) g');
ok($node->poll_query_until('app', q{SELECT count(*) = 5 FROM rtpush.outbox WHERE attempts > 0}),
	'the endpoint fails: five events in flight, retried');
my ($h1) = read_history('load-0', $h0->[-1][1]);
is(join(',', map { $_->[2] } @$h1), '3001,3002,3003,3004,3005', 'rtpush.history() already returns them');
is(scalar(grep { defined $_->[1] } @$h1), 5, 'with their positions: history was written before the send');
$sink->plan([]);
account('after the failures', $node, $sink, timeout => 60, since => 3001, below => 3006);
my %sent = map { ($_->[0] => $_->[4]) } grep { $_->[0] >= 3001 && $_->[0] <= 3005 } @{ delivered() };
is(scalar(grep { $sent{ $_->[2] } ne $_->[1] } @$h1), 0, 'delivered at the positions history gave them');

# ---- 3. catch-up while writers commit and the endpoint fails ----------
# Beside the load, a slow writer: its transactions take their outbox id,
# then wait 300 ms before they commit, so that ids commit out of order.  A
# racy variant of catch-up that takes the outbox id for a position (the
# greatest id seen, from history and outbox alike) polls alongside and
# must miss some of them; rtpush.history() must miss none.
$sink->plan([ { status => 500, fraction => 0.3 } ]);
my $load = start_load($node, rate => 300, seconds => 12, conns => 4, first_seq => 10001);
my $slowsql = "$PostgreSQL::Test::Utils::tmp_check/slow.sql";
open(my $fh, '>', $slowsql) or die;
print $fh "BEGIN; INSERT INTO ticks (seq, ch) VALUES ($_, 1); SELECT pg_sleep(0.3); COMMIT;\n" for 9001 .. 9035;
close $fh;
my ($slow_out, $slow_err) = ('', '');
my $slow = IPC::Run::start([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('app'), '-f', $slowsql ],
	'>', \$slow_out, '2>', \$slow_err);
my ($after, %seen, $unordered, $polls, $lastpos) = (undef);
my ($racy_last, %racy_seen) = (0);
sub racy_poll
{
	for (split /\n/, $node->safe_psql('app', qq{
		SELECT id, data::json->>'seq' FROM (SELECT id, data FROM rtpush.history_events WHERE channel = 'load-1' AND id > $racy_last
		                                    UNION ALL
		                                    SELECT id, data::text FROM rtpush.outbox WHERE 'load-1' = ANY (channels) AND id > $racy_last) x
		 ORDER BY id}))
	{
		my ($id, $seq) = split /\|/;
		$racy_seen{$seq} = 1;
		$racy_last = $id if $id > $racy_last;
	}
}
my $end = time + 14;
while (time < $end || $polls < 3)
{
	racy_poll();
	my $a = defined $after ? "'$after'" : 'NULL';
	my $r = decode_json($node->safe_psql('app', "SELECT rtpush.history('u1', 'load-1', $a, 1000)"));
	for my $e (@{ $r->{events} })
	{
		my $seq = decode_json($e->{data})->{seq};
		next unless $seq >= 9001;
		$seen{$seq} = 1;
		if (defined $e->{position})
		{
			$unordered++ if defined $lastpos && $e->{position} <= $lastpos;
			$lastpos = $after = $e->{position};
		}
	}
	$polls++;
	usleep(100_000);
}
$load->wait(60);
ok($slow->finish, 'the slow writer committed its 35 events') or diag($slow_err);
$sink->plan([]);
account('catch-up load', $node, $sink, timeout => 120, since => 10001);
account('slow writer', $node, $sink, timeout => 60, since => 9001, below => 9036);
# one last poll picks up what committed after the load's last poll
{
	my ($rest) = read_history('load-1', $after);
	$seen{ $_->[2] } = 1 for grep { $_->[2] >= 9001 } @$rest;
	racy_poll();
}
my @committed = grep { $_ >= 9001 } split /\n/,
  $node->safe_psql('app', 'SELECT seq FROM ticks WHERE ch = 1 ORDER BY seq');
cmp_ok(scalar(@committed), '>', 100, scalar(@committed) . ' events committed on load-1 during the polls');
is(scalar(grep { !$seen{$_} } @committed), 0, "a client polling history ($polls polls) missed none of them");
ok(!$unordered, 'positions came in increasing order across polls');
my $racy_missed = grep { !$racy_seen{$_} } @committed;
cmp_ok($racy_missed, '>', 0, "the racy variant (the outbox id for a position) missed $racy_missed of them");

# ---- 4. a crash ---------------------------------------------------------
my $before = $node->safe_psql('app', 'SELECT max(position) FROM rtpush.history_events');
$node->stop('immediate');
$node->start;
wait_worker($node);
$node->safe_psql('app', 'INSERT INTO ticks (seq, ch) SELECT g, 2 FROM generate_series(20001, 20010) g');
account('after a crash', $node, $sink, timeout => 60, since => 20001, below => 20011);
my @after_crash = map { $_->[4] } grep { $_->[0] >= 20001 && $_->[0] <= 20010 } @{ delivered() };
is(scalar(grep { $_ > $before } @after_crash), scalar(@after_crash),
	'positions given after the restart are above the last one before it');

# ---- 5. retention -----------------------------------------------------------
my $old = $node->safe_psql('app', q{SELECT min(position) FROM rtpush.history_events});
$node->append_conf('postgresql.conf', "rtpush.history_retention = 2\n");
$node->reload;
my $load2 = start_load($node, rate => 200, seconds => 8, conns => 2, first_seq => 30001);
my @kept;
for (1 .. 8)
{
	sleep 1;
	push @kept, $node->safe_psql('app', 'SELECT count(*) FROM rtpush.history_events');
}
$load2->wait(60);
account('short retention', $node, $sink, timeout => 60, since => 30001);
# (the first seconds still hold what the 24 h partitions kept: they are cut
# back to now, and age out two seconds later)
my $max_kept = (sort { $b <=> $a } @kept[4 .. 7])[0];
cmp_ok($max_kept, '<', 200 * 5, "with 2 s of retention, history kept at most $max_kept rows (200 written per second; each second: @kept)");
is($node->safe_psql('app', q{SELECT count(*) FROM rtpush.history_events
                             WHERE position < rtpush.history_position_at(now() - interval '10 seconds')}),
	'0', 'nothing older than a few seconds is left');
ok($node->poll_query_until('app', q{SELECT count(*) <= 5 FROM rtpush.history_slots WHERE in_use}),
	'the ring uses a handful of partitions');
my ($hold, $expired) = read_history('load-0', $old);
ok($expired, 'a position older than the retention is "expired"');

# A session holding a lock on rtpush.history keeps the worker from
# recycling partitions: once they run out, events wait in the outbox, the
# worker says why in the log (once) and waits for its next poll rather than
# retrying in a loop; when the lock goes, they are delivered.
my $locker = $node->background_psql('app');
$locker->query_safe('BEGIN; LOCK TABLE rtpush.history IN ACCESS SHARE MODE');
sleep 4;    # the 2 s retention's partitions run out (1 s each, 2 ahead)
$node->safe_psql('app', 'INSERT INTO ticks (seq, ch) SELECT g, 1 FROM generate_series(35001, 35020) g');
my $xacts = q{SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'app'};
my $x0 = $node->safe_psql('app', $xacts);
sleep 3;
my $x1 = $node->safe_psql('app', $xacts);
is($node->safe_psql('app', q{SELECT count(*) FROM rtpush.outbox WHERE (data->>'seq')::int >= 35001}), '20',
	'while no partition can be made, the events wait in the outbox');
cmp_ok($x1 - $x0, '<', 200, 'and the worker does not spin on it (' . ($x1 - $x0) . ' transactions in 3 s)');
$locker->query_safe('COMMIT');
$locker->quit;
account('after the lock', $node, $sink, timeout => 60, since => 35001, below => 35021);
like(slurp_file($node->logfile), qr/could not keep up the history partitions: canceling statement due to lock timeout/,
	'the log says why');

# ---- 6. history off ---------------------------------------------------------
$node->append_conf('postgresql.conf', "rtpush.history_retention = 0\n");
$node->reload;
ok($node->poll_query_until('app', q{SELECT count(*) = 0 FROM rtpush.history_slots WHERE in_use}),
	'history off: every partition is freed');
$node->safe_psql('app', 'INSERT INTO ticks (seq, ch) SELECT g, 3 FROM generate_series(40001, 40010) g');
account('history off', $node, $sink, timeout => 60, since => 40001, below => 40011);
is(scalar(grep { $_->[0] >= 40001 && defined $_->[4] } @{ delivered() }), 0, 'events go without rtpush_position');
is($node->safe_psql('app', 'SELECT count(*) FROM rtpush.history_events'), '0', 'nothing is kept');
my ($rc, $out, $err) = $node->psql('app', q{SELECT rtpush.history('u1', 'load-3')}, extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/55000: rtpush history is off/, 'rtpush.history() says history is off (55000)');


$load->stop;
$load2->stop;
$node->stop;
$sink->stop;
done_testing();
