# 026_app_isolation.pl: per-database Pusher apps (issue 19, rtpush 0.8's
# rtpush.set_app) keep one database's failing endpoint from touching
# another's delivery.
# - Databases dba and dbb, each given its own app and endpoint by
#   rtpush.set_app (two sinks, test/t/sink.mjs; no cluster-wide app at all),
#   each written at a steady 20 rows/s (load.mjs).
# - dba's endpoint is down for 30 s (its sink stopped, then started again on
#   the same port) while dbb delivers: every dbb event arrives during the
#   outage, in order, on dbb's endpoint only; dbb's median commit-to-arrival
#   latency during the outage is within max(3x, +100 ms) of its median before
#   (the figures are printed); rtpush.databases and dba's rtpush.status show
#   dba failing while it lasts, dbb as fine; once the endpoint is back dba's
#   backlog arrives within 10 s, and every dba event is delivered once (none
#   both before and after the outage, none twice to the restarted sink), in
#   order.
# - kill -9 of dbb's delivery worker (the postmaster restarts every backend):
#   nothing acknowledged is lost in either database, both workers come back
#   and deliver to their own endpoints.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use RtpushTest;
use Test::More;
use Time::HiRes qw(time usleep);
use JSON::PP;
use List::Util qw(max);

my $t_start = time;
my %cred = (
	dba => { app_id => 'iso-app-a', key => 'iso-key-a', secret => 'iso-secret-a' },
	dbb => { app_id => 'iso-app-b', key => 'iso-key-b', secret => 'iso-secret-b' });
my %sink = map { $_ => start_sink(%{ $cred{$_} }) } qw(dba dbb);
my $node = rtpush_node('iso', no_setup => 1, conf => "rtpush.database_name = ''\n");

sub set_app_sql
{
	my ($db) = @_;
	my $c = $cred{$db};
	return "SELECT rtpush.set_app('$c->{app_id}', '$c->{key}', '$c->{secret}', "
	  . "host => '127.0.0.1', port => " . $sink{$db}->port . ", scheme => 'http')";
}

for my $db (qw(dba dbb))
{
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, qq{CREATE EXTENSION rtpush;
CREATE TABLE ticks (seq bigint PRIMARY KEY, ch int NOT NULL,
                    at timestamptz NOT NULL DEFAULT clock_timestamp());
SELECT rtpush.attach('ticks', 'tick', ARRAY['$db-{ch}'], operations => '{INSERT}');
@{[ set_app_sql($db) ]};});
}
is($node->safe_psql('dba', q{SELECT source || ' ' || app_id FROM rtpush.app}), 'database iso-app-a',
	'dba: its own app (rtpush.app)');
is($node->safe_psql('dbb', q{SELECT source || ' ' || app_id FROM rtpush.app}), 'database iso-app-b',
	'dbb: its own app (rtpush.app)');
ok($node->poll_query_until('postgres',
		q{SELECT count(*) = 2 FROM pg_stat_activity WHERE backend_type = 'rtpush delivery worker'
		  AND datname IN ('dba', 'dbb')}),
	'a delivery worker in dba and in dbb');

# A stand-in for a sink whose events a function gives (dba's: those its
# sink had before the outage, then the restarted sink's).
package MergedSink
{
	sub new    { my ($c, $f) = @_; bless { f => $f }, $c }
	sub events { $_[0]{f}->() }
}

# seq => [first arrival ms] of a list of events
sub first_arrivals
{
	my ($events) = @_;
	my %a;
	for (@$events)
	{
		$a{ $_->[0] } //= $_->[5] if defined $_->[0];
	}
	return \%a;
}

# seq => commit time (ms since the epoch; the row's clock_timestamp(): the
# load autocommits each INSERT)
sub commit_times
{
	my ($db, $from, $to) = @_;
	my %t = map { split /\|/ } split /\n/, $node->safe_psql($db,
		"SELECT seq, extract(epoch FROM at) * 1000 FROM ticks WHERE seq >= $from AND seq < $to");
	return \%t;
}

sub median
{
	my @s = sort { $a <=> $b } @_;
	return undef unless @s;
	return @s % 2 ? $s[$#s / 2] : ($s[@s / 2 - 1] + $s[@s / 2]) / 2;
}

# Every row of $db's ticks in [from, to) reached $sink (a sink or a
# MergedSink), on $db's channels, in order per channel; acknowledged seqs
# are all in the table.  Returns the duplicates.
sub delivered_all
{
	my ($what, $db, $sink, $from, $to, %o) = @_;
	my %committed = map { $_ => 1 }
	  split /\n/, $node->safe_psql($db, "SELECT seq FROM ticks WHERE seq >= $from AND seq < $to");
	if ($o{acked})
	{
		my @missing = grep { $_ >= $from && $_ < $to && !$committed{$_} } keys %{ $o{acked} };
		is(scalar(@missing), 0, "$what: every acknowledged commit is in $db\'s table");
	}
	my $deadline = time + ($o{timeout} // 30);
	my (%n, @lost);
	while (1)
	{
		%n = ();
		$n{ $_->[0] }++ for grep { defined $_->[0] } @{ $sink->events };
		@lost = grep { !$n{$_} } keys %committed;
		last if !@lost || time > $deadline;
		usleep(100_000);
	}
	cmp_ok(scalar(keys %committed), '>', 0, "$what: $db committed rows");
	is(scalar(@lost), 0, "$what: all " . scalar(keys %committed) . " of $db delivered, none lost")
	  or diag("lost: @{[ (sort { $a <=> $b } @lost)[0 .. ($#lost > 9 ? 9 : $#lost)] ]}");
	my @wrong = grep { defined $_->[1] && $_->[1] !~ /^\Q$db\E-/ } @{ $sink->events };
	is(scalar(@wrong), 0, "$what: $db\'s endpoint got only $db\'s events")
	  or diag("e.g. @{ $wrong[0] }[0, 1]");
	ok(RtpushTest::order_ok($sink, $from, $to), "$what: $db in order per channel");
	my $dups = 0;
	$dups += $n{$_} - 1 for grep { $_ >= $from && $_ < $to } keys %n;
	return $dups;
}

sub databases_row
{
	my ($db) = @_;
	return $node->safe_psql('dbb',
		qq{SELECT state || ' | error: ' || coalesce(last_error, '-') || ' | error at: ' || coalesce(last_error_at::text, '-')
		   || ' | success at: ' || coalesce(last_success_at::text, '-') FROM rtpush.databases WHERE datname = '$db'});
}

# ---- dba's endpoint down for 30 s while dbb delivers a steady trickle
my $OUTAGE = 30;
my %load = map {
	$_ => start_load($node, db => $_, rate => 20, conns => 2, seconds => $OUTAGE + 12, first_seq => 1)
} qw(dba dbb);
my $t_load = time;
sleep 6;    # the baseline: both delivering
my $baseline_to = time;
cmp_ok(scalar(@{ $sink{dba}->events }), '>', 50, 'dba delivered events before its outage');
my $port_a = $sink{dba}->port;
# down: first every request refused (connection reset) so that what it had
# delivered is all read here, then the process stopped
$sink{dba}->plan([ { reset => JSON::PP::true } ]);
my $t_down = time;
usleep(300_000);
my $before_a = $sink{dba}->events;
$sink{dba}->stop;
note(sprintf('dba\'s endpoint down at +%.1f s', $t_down - $t_start));

# while it lasts: the cluster view and dba's own status show dba failing, dbb fine
my $a_failing = q{SELECT last_error IS NOT NULL AND (last_success_at IS NULL OR last_error_at > last_success_at)
	AND (state LIKE 'paused%' OR state LIKE 'waiting_to_retry%') FROM rtpush.databases WHERE datname = 'dba'};
ok($node->poll_query_until('dbb', $a_failing), 'rtpush.databases (read in dbb): dba failing during its outage')
  or diag('dba: ' . databases_row('dba'));
note('rtpush.databases dba: ' . databases_row('dba'));
note('rtpush.databases dbb: ' . databases_row('dbb'));
ok($node->poll_query_until('dba',
		q{SELECT last_error IS NOT NULL AND (state LIKE 'paused%' OR state LIKE 'waiting_to_retry%') FROM rtpush.status}),
	'dba\'s rtpush.status: failing too');
is($node->safe_psql('dba',
		q{SELECT (state LIKE 'delivering%' OR state LIKE 'idle%') AND last_error IS NULL
		  AND last_success_at > now() - interval '2 s' FROM rtpush.databases WHERE datname = 'dbb'}),
	't', 'rtpush.databases (read in dba): dbb delivering, no error, a success within 2 s');
is($node->safe_psql('dbb', q{SELECT last_error IS NULL FROM rtpush.status}), 't', 'dbb\'s rtpush.status: no error');

usleep(1e6 * ($t_down + $OUTAGE - time)) if time < $t_down + $OUTAGE;
my $t_up = time;
# mid-outage, dba still failing (not a blip)
ok($node->safe_psql('dbb', $a_failing) eq 't', sprintf('dba still failing after %.0f s', $t_up - $t_down))
  or diag('dba: ' . databases_row('dba'));
$sink{dba} = start_sink(%{ $cred{dba} }, port => $port_a);
$t_up = time;
note(sprintf('dba\'s endpoint back at +%.1f s after %.1f s', $t_up - $t_start, $t_up - $t_down));
my $after_a = MergedSink->new(sub { [ @$before_a, @{ $sink{dba}->events } ] });

# dba's backlog of the outage reaches its endpoint soon after it is back
# (retry_max is 2 s)
my $a_backlog = commit_times('dba', 1, 1e9);
my @queued = grep { $a_backlog->{$_} < 1000 * $t_up } keys %$a_backlog;
my $caught_up;
while (time < $t_up + 20)
{
	my $got = first_arrivals($after_a->events);
	if (!grep { !defined $got->{$_} } @queued)
	{
		$caught_up = time - $t_up;
		last;
	}
	usleep(100_000);
}
ok(defined $caught_up, sprintf('dba: its %d events of before and during the outage delivered %.1f s after its endpoint came back',
		scalar(@queued), $caught_up // -1));
cmp_ok($caught_up // 99, '<', 10, 'dba: caught up within 10 s');

# dbb during the outage: everything delivered, in order, latency as before
my $b_commit = commit_times('dbb', 1, 1e9);
my $b_arrive = first_arrivals($sink{dbb}->events);
my (@lat_before, @lat_during, @missing_during);
for my $seq (keys %$b_commit)
{
	my $c = $b_commit->{$seq};
	my $in_before = $c >= 1000 * ($t_load + 1) && $c < 1000 * $baseline_to;
	my $in_during = $c >= 1000 * $t_down && $c < 1000 * ($t_down + $OUTAGE - 1);
	next unless $in_before || $in_during;
	if (!defined $b_arrive->{$seq} || $b_arrive->{$seq} > 1000 * $t_up)
	{
		push @missing_during, $seq if $in_during;
		next;
	}
	push @{ $in_before ? \@lat_before : \@lat_during }, $b_arrive->{$seq} - $c;
}
is(scalar(@missing_during), 0,
	'dbb: every event committed during dba\'s outage was delivered during it (' . scalar(@lat_during) . ')')
  or diag("not delivered by the end of the outage: @{[ (sort { $a <=> $b } @missing_during)[0 .. 9] ]}");
cmp_ok(scalar(@lat_during), '>=', 20 * ($OUTAGE - 1) * 0.8, 'dbb: the trickle went on during the outage');
ok(RtpushTest::order_ok($sink{dbb}, 1, 1e9), 'dbb: in order per channel during the outage');
my ($m_before, $m_during) = (median(@lat_before), median(@lat_during));
my $bound = max(3 * $m_before, $m_before + 100);
note(sprintf('dbb commit-to-arrival: median %.1f ms before (%d events), %.1f ms during dba\'s outage (%d events; max %.1f ms); bound %.1f ms',
		$m_before, scalar(@lat_before), $m_during, scalar(@lat_during), max(@lat_during), $bound));
cmp_ok($m_during, '<=', $bound, 'dbb: median latency during dba\'s outage within max(3x, +100 ms) of before');

$load{$_}->wait(60) for qw(dba dbb);
my $dups_a = delivered_all('after the outage', 'dba', $after_a, 1, 1e9, acked => $load{dba}->acked, timeout => 30);
my %again;
$again{ $_->[0] }++ for grep { defined $_->[0] } @{ $sink{dba}->events };
my @twice = grep { $again{$_} > 1 } keys %again;
is(scalar(@twice), 0, 'dba: the restarted endpoint got no event twice');
is($dups_a, 0, 'dba: no event delivered both before and after the outage');
ok($node->poll_query_until('dbb',
		q{SELECT state LIKE 'delivering%' OR state LIKE 'idle%' FROM rtpush.databases WHERE datname = 'dba'}),
	'rtpush.databases: dba fine again');
is(delivered_all('the outage', 'dbb', $sink{dbb}, 1, 1e9, acked => $load{dbb}->acked), 0,
	'dbb: no duplicates');

# ---- a delivery worker crashes: the postmaster restarts every backend
my $FIRST = 100_000;
%load = map { $_ => start_load($node, db => $_, rate => 40, conns => 2, seconds => 8, first_seq => $FIRST) } qw(dba dbb);
sleep 3;
my %pid = map {
	$_ => $node->safe_psql('postgres',
		qq{SELECT pid FROM pg_stat_activity WHERE backend_type = 'rtpush delivery worker' AND datname = '$_'})
} qw(dba dbb);
ok($pid{dba} && $pid{dbb}, "delivery workers dba $pid{dba}, dbb $pid{dbb}");
my $log_from = -s $node->logfile;
kill 'KILL', $pid{dbb};
note("kill -9 $pid{dbb} (dbb's delivery worker)");
ok($node->poll_query_until('postgres',
		qq{SELECT count(*) = 2 FROM pg_stat_activity WHERE backend_type = 'rtpush delivery worker'
		   AND datname IN ('dba', 'dbb') AND pid NOT IN ($pid{dba}, $pid{dbb})}),
	'both databases have a new delivery worker');
like(substr(slurp_file($node->logfile), $log_from), qr/terminated by signal 9/, 'the postmaster saw the crash');
$load{$_}->wait(60) for qw(dba dbb);
for my $db (qw(dba dbb))
{
	my $acked = $load{$db}->acked;
	cmp_ok(scalar(keys %$acked), '>', 100, "$db: " . scalar(keys %$acked) . ' rows acknowledged around the crash');
	my $d = delivered_all('the crash', $db, $db eq 'dba' ? $after_a : $sink{$db}, $FIRST, 1e9,
		acked => $acked, timeout => 30);
	note("$db: $d duplicates after the crash (at least once)");
}
is($node->safe_psql('dba', q{SELECT app_id FROM rtpush.app}), 'iso-app-a', 'dba keeps its app after the crash');

my @fatal = substr(slurp_file($node->logfile), 0, $log_from) =~ /^.*(?:FATAL|PANIC):.*$/mg;
is(scalar(@fatal), 0, 'no FATAL or PANIC before the crash') or diag(join("\n", @fatal[0 .. ($#fatal > 9 ? 9 : $#fatal)]));
note(sprintf('026 ran %.0f s', time - $t_start));

$node->stop;
$sink{$_}->stop for qw(dba dbb);
done_testing();
