# 004_ddl.pl: DDL while the worker is busy delivering a backlog to a slow
# endpoint: ALTER EXTENSION rtpush UPDATE (to the installed version: a
# no-op), DROP EXTENSION and CREATE again, DROP DATABASE of
# rtpush.database_name and CREATE again.  Each statement completes in
# bounded time, the worker does not crash-loop (its pid stays the same
# afterwards, the log shows no FATAL of it), and delivery resumes after the
# re-creation with nothing lost.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use RtpushTest;
use Test::More;
use Time::HiRes qw(time);

my $sink = start_sink();
my $node = rtpush_node('ddl', sink => $sink);
wait_worker($node);

# A backlog the worker is busy with: slow answers, 4 channels.
sub busy
{
	my ($first) = @_;
	$sink->plan([ { delayMs => 200 } ]);
	my $load = start_load($node, rate => 400, seconds => 3, conns => 4, first_seq => $first);
	$load->wait(30);
	ok($node->poll_query_until('app', q{SELECT in_flight > 0 FROM rtpush.status}),
		"worker busy (backlog of " . $node->safe_psql('app', 'SELECT queued FROM rtpush.status') . ')');
}

# runs $sql, which must finish within 60 s
sub bounded
{
	my ($db, $sql) = @_;
	my ($out, $err, $timed_out);
	my $t0 = time;
	my $ret = $node->psql($db, $sql, stdout => \$out, stderr => \$err,
		timeout => 60, timed_out => \$timed_out);
	(my $label = $sql) =~ s/\s+/ /g;
	$label = substr($label, 0, 60) . ' ...' if length($label) > 60;
	ok(!$timed_out && $ret == 0, sprintf("%s: completes (%.1f s)", $label, time - $t0))
	  or diag("ret $ret, timed out: " . ($timed_out ? 'yes' : 'no') . ", stderr: $err");
	return $err;
}

# the worker connected to app stays the same process for 3 s
sub stable_worker
{
	my ($what) = @_;
	my $pid = wait_worker($node);
	sleep 3;
	is(worker_pid($node), $pid, "$what: worker pid $pid stable afterwards (no restart loop)");
	return $pid;
}

# delivery of a fresh load phase, every event accounted; no crash in the step
my $log_offset = 0;
sub resumes
{
	my ($what, $first) = @_;
	$sink->plan([]);
	my $load = start_load($node, rate => 300, seconds => 3, conns => 4, first_seq => $first);
	$load->wait(30);
	account($what, $node, $sink, acked => $load->acked, since => $first, timeout => 60);
	my $log = slurp_file($node->logfile, $log_offset);
	my @crashes = $log =~ /^.*was terminated by signal.*$/mg;
	is(scalar(@crashes), 0, "$what: no process crashed during this step")
	  or diag(join("\n", @crashes));
	$log_offset = -s $node->logfile;
}

# ---- ALTER EXTENSION UPDATE (same version) while busy
busy(1);
my $pid = worker_pid($node);
my $err = bounded('app', 'ALTER EXTENSION rtpush UPDATE');
like($err, qr/already installed|^$/, 'ALTER EXTENSION UPDATE to the same version is a no-op');
is(stable_worker('ALTER EXTENSION UPDATE'), $pid, 'ALTER EXTENSION UPDATE did not restart the worker');
resumes('after ALTER EXTENSION UPDATE while busy', 100_000);

# ---- DROP EXTENSION while busy, then CREATE again
busy(200_000);
bounded('app', 'DROP EXTENSION rtpush CASCADE');
ok($node->poll_query_until('postgres',
		q{SELECT wait_event_type IS DISTINCT FROM NULL OR state IS NOT NULL FROM pg_stat_activity
		  WHERE backend_type = 'rtpush delivery worker' AND datname = 'app'}),
	'worker still connected after DROP EXTENSION');
stable_worker('DROP EXTENSION');
bounded('app', 'CREATE EXTENSION rtpush; ' . tick_sql());
resumes('after DROP/CREATE EXTENSION while busy', 300_000);

# ---- DROP DATABASE (the worker's) while busy, then CREATE again
busy(400_000);
$pid = worker_pid($node);
bounded('postgres', 'DROP DATABASE app');
ok($node->poll_query_until('postgres',
		q{SELECT count(*) = 0 FROM pg_stat_activity
		  WHERE backend_type = 'rtpush delivery worker' AND datname IS NOT NULL}),
	'worker disconnected while its database is gone');
# rtpush in postgres too, for its status (its events stay there)
$node->safe_psql('postgres', 'SET client_min_messages = error; CREATE EXTENSION rtpush');
ok($node->poll_query_until('postgres', 'SELECT state FROM rtpush.worker_status()',
		'waiting_for_database (rtpush.database_name)'),
	'the state says the worker waits for its database')
  or diag($node->safe_psql('postgres', 'SELECT state FROM rtpush.worker_status()'));
sleep 3;
my $waiting = $node->safe_psql('postgres',
	q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'rtpush delivery worker'});
note("worker processes while the database is gone: $waiting");
bounded('postgres', 'CREATE DATABASE app');
bounded('app', 'CREATE EXTENSION rtpush; ' . tick_sql());
stable_worker('DROP DATABASE / CREATE DATABASE');
resumes('after DROP/CREATE DATABASE while busy', 500_000);

# ---- no crash loop in the log
my $log = slurp_file($node->logfile);
my @fatal = $log =~ /^.*rtpush delivery worker (?:FATAL|PANIC):.*$/mg;
is(scalar(@fatal), 0, 'no FATAL or PANIC from the worker in the log')
  or diag(join("\n", @fatal[0 .. ($#fatal > 9 ? 9 : $#fatal)]));
my $starts = () = $log =~ /rtpush delivery worker started in database/g;
cmp_ok($starts, '<=', 6, "worker started $starts times in all (no restart loop)");
my @crashes = $log =~ /^.*(?:was terminated by signal|PANIC:).*$/mg;
is(scalar(@crashes), 0, 'no process crashed (no postmaster crash restart)')
  or diag(join("\n", @crashes));

$node->stop;
$sink->stop;
done_testing();
