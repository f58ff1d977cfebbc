# 010_misconfig.pl: what a DBA gets wrong must not cost events or flood the
# log (issue 23, cases 4 and 5).
# - A real soketi answering a wrong secret (401) and a wrong app id (404):
#   delivery pauses, every event stays queued with its attempts unspent,
#   the state names the settings to check; a reload with the right value
#   delivers everything, nothing lost, per-channel order kept.
# - Host values with a port or a scheme are refused when set.
# - The log: one line when delivery starts failing (naming what to check),
#   a summary every rtpush.log_failure_interval while it lasts, one line
#   when it works again; none per failed request.
# - A read-only database (ALTER DATABASE ... SET default_transaction_read_only)
#   makes the worker's writes fail: logged once per interval, not ~48 lines/s.
# - A rtpush.database_name that does not exist at startup: a WARNING naming
#   the setting, no FATAL restart loop, delivery once it is created.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use RtpushTest;
use Test::More;
use Time::HiRes qw(time usleep);

my @channels = map { "load-$_" } 0 .. 2;
my $soketi = start_soketi(channels => \@channels);
my $node = rtpush_node('misconfig', sink => $soketi,
	conf => "rtpush.log_failure_interval = '1s'\n");
my $pid = wait_worker($node);

sub log_since { substr(slurp_file($node->logfile), $_[0]) }

sub reload
{
	my ($sql) = @_;
	$node->safe_psql('app', "$sql; SELECT pg_reload_conf();");
	usleep(300_000);
}

sub wait_state
{
	my ($like) = @_;
	return $node->poll_query_until('app', "SELECT state LIKE '$like' FROM rtpush.status");
}

sub count_lines
{
	my ($text, $re) = @_;
	my @m = $text =~ /$re/mg;
	return scalar @m;
}

# it delivers to this soketi
$node->safe_psql('app', 'INSERT INTO ticks (seq, ch) SELECT g, g % 3 FROM generate_series(1, 9) g');
account('soketi, right settings', $node, $soketi, timeout => 60, below => 10);

# ---- a wrong secret: soketi answers 401
for my $case (
	[ 'a wrong secret (401)', "rtpush.secret = 'not-the-secret'", 401,
		'rtpush.secret', qr/HINT:  Check rtpush\.key and rtpush\.secret/, "rtpush.secret = 'tap-secret'" ],
	[ 'a wrong app id (404)', "rtpush.app_id = 'no-such-app'", 404,
		'rtpush.app_id', qr/HINT:  Check rtpush\.app_id/, "rtpush.app_id = 'rtpush-tap'" ])
{
	my ($name, $bad, $code, $setting, $hint, $good) = @$case;
	my $first = $code == 401 ? 100 : 200;
	my $from = -s $node->logfile;
	reload("ALTER SYSTEM SET $bad");
	$node->safe_psql('app', "INSERT INTO ticks (seq, ch) SELECT g, g % 3 FROM generate_series($first, $first + 29) g");
	ok(wait_state("misconfigured (HTTP $code: check %$setting%)"),
		"$name: the state names $setting")
	  or diag(explain(status_row($node)));
	sleep 4;    # probes go on meanwhile (retry_max 2 s)
	my $st = status_row($node);
	like($st->{state}, qr/^misconfigured \(HTTP $code: /, "$name: still paused after 4 s ($st->{state})");
	is($node->safe_psql('app', 'SELECT count(*) FROM rtpush.dead_letter'), '0',
		"$name: nothing dead-lettered");
	is($node->safe_psql('app', "SELECT count(*) || '/' || coalesce(max(attempts), 0) FROM rtpush.outbox"),
		'30/0', "$name: all 30 events queued, no attempt spent");
	my $log = log_since($from);
	is(count_lines($log, qr/LOG:  rtpush delivery to http:\/\/127\.0\.0\.1:\d+ is failing: HTTP $code/), 1,
		"$name: one LOG line says delivery is failing");
	like($log, qr/is failing: HTTP $code[^\n]*\n[^\n]*DETAIL:  [^\n]*\n[^\n]*$hint/,
		"$name: its hint names the setting to check");
	my $summaries = count_lines($log, qr/LOG:  rtpush delivery to \S+ still failing: /);
	cmp_ok($summaries, '>=', 2, "$name: a periodic summary while it fails ($summaries in ~4.5 s, interval 1 s)");
	cmp_ok($summaries, '<=', 7, "$name: ... not a line per request ($summaries)");

	$from = -s $node->logfile;
	reload("ALTER SYSTEM SET $good");
	account("$name, after the reload", $node, $soketi, timeout => 60, since => $first, below => $first + 30);
	is($node->safe_psql('app', 'SELECT count(*) FROM rtpush.outbox'), '0', "$name: the outbox drained");
	my $ok = 0;
	for (1 .. 50)
	{
		last if ($ok = log_since($from) =~ /LOG:  rtpush delivery works again after \d+ failed requests/);
		usleep(100_000);
	}
	ok($ok, "$name: one LOG line says delivery works again");
}
is(worker_pid($node), $pid, 'the same worker throughout');

# ---- host values with a port or a scheme are refused when set
for my $v ([ 'rtpush.host', '127.0.0.1:6001', qr/contains a port.*\n.*rtpush\.port/ ],
	[ 'rtpush.host', 'http://x', qr/contains a scheme.*\n.*rtpush\.scheme/ ],
	[ 'rtpush.host', 'x/y', qr/slash/ ],
	[ 'rtpush.ws_host', 'ws.example.com:443', qr/contains a port.*\n.*rtpush\.ws_port/ ])
{
	my ($ret, $out, $err) = $node->psql('app', "ALTER SYSTEM SET $v->[0] = '$v->[1]'");
	isnt($ret, 0, "$v->[0] = '$v->[1]' is refused");
	like($err, qr/invalid value for parameter "\Q$v->[0]\E": "\Q$v->[1]\E"\n.*$v->[2]/,
		"... with a detail naming the value and a hint naming the setting");
}
is($node->safe_psql('app', "SELECT count(*) FROM pg_file_settings WHERE name LIKE 'rtpush.%host' AND setting ~ '[:/]'"),
	'0', 'none of them reached postgresql.auto.conf');
# (where one was accepted, on 0.1: take it back, so the cases below run)
$node->safe_psql('app', 'ALTER SYSTEM RESET rtpush.host; ALTER SYSTEM RESET rtpush.ws_host');
$soketi->stop;

# ---- an endpoint that is down: logged once, summarised, recovered
my $sink = start_sink();
my $from = -s $node->logfile;
reload("ALTER SYSTEM SET rtpush.port = 1; ALTER SYSTEM SET rtpush.app_id = '$sink->{app}'; "
	  . "ALTER SYSTEM SET rtpush.key = '$sink->{key}'; ALTER SYSTEM SET rtpush.secret = '$sink->{secret}'");
$node->safe_psql('app', 'INSERT INTO ticks (seq, ch) SELECT g, g % 3 FROM generate_series(300, 309) g');
sleep 4;
my $log = log_since($from);
is(count_lines($log, qr/LOG:  rtpush delivery to http:\/\/127\.0\.0\.1:1 is failing: /), 1,
	'endpoint down: one LOG line says delivery is failing');
like($log, qr/:1 is failing: [^\n]*\n[^\n]*DETAIL:  [^\n]*\n[^\n]*HINT:  Check rtpush\.host and rtpush\.port, and that the server there is running/,
	'endpoint down: its hint names rtpush.host and rtpush.port');
my $summaries = count_lines($log, qr/still failing: /);
ok($summaries >= 1 && $summaries <= 6, "endpoint down: periodic summaries ($summaries in 4 s)");
$from = -s $node->logfile;
reload("ALTER SYSTEM SET rtpush.port = " . $sink->port);
account('endpoint back', $node, $sink, timeout => 60, since => 300, below => 310);
usleep(500_000);
like(log_since($from), qr/LOG:  rtpush delivery works again/, 'endpoint back: one LOG line says so');

# ---- a read-only database: the worker's writes fail, rate-limited
$node->psql('app', "ALTER SYSTEM SET rtpush.log_failure_interval = '10s'");    # (no such setting on 0.1)
reload('SELECT 1');
$node->safe_psql('postgres', 'ALTER DATABASE app SET default_transaction_read_only = on');
$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
$pid = wait_new_worker($node, $pid);
$from = -s $node->logfile;
$node->safe_psql('app', 'SET default_transaction_read_only = off; INSERT INTO ticks (seq, ch) SELECT g, g % 3 FROM generate_series(400, 409) g');
my $t0 = time;
sleep 5;
$log = log_since($from);
my $errors = count_lines($log, qr/LOG:  rtpush delivery worker: cannot execute [^\n]+ in a read-only transaction/);
diag(sprintf('read-only database: %d worker error lines in %.1f s', $errors, time - $t0));
is($errors, 1, "read-only database: the worker's error is logged once in 5 s ($errors)");
like($log, qr/read-only transaction\n[^\n]*HINT:  The worker's database is read-only/,
	'read-only database: its hint says what is going on');
is(worker_pid($node), $pid, 'read-only database: no worker restart');
$from = -s $node->logfile;
$node->safe_psql('postgres', 'ALTER DATABASE app RESET default_transaction_read_only');
$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
$pid = wait_new_worker($node, $pid);
account('writable again', $node, $sink, timeout => 60, since => 400, below => 410, window => 10);
$node->stop;

# ---- rtpush.database_name does not exist at startup
my $late = rtpush_node('latedb', sink => $sink, no_setup => 1,
	conf => "rtpush.database_name = 'later'\nrtpush.log_failure_interval = '2s'\n");
sleep 5;
$log = slurp_file($late->logfile);
my $fatal = count_lines($log, qr/FATAL:  database "later" does not exist/);
my $exits = count_lines($log, qr/background worker "rtpush delivery worker" \(PID \d+\) exited/);
my $warn = count_lines($log, qr/WARNING:  rtpush delivery worker waiting for database "later" to exist/);
diag("missing database: $fatal FATAL, $exits worker exits, $warn warnings in 5 s");
cmp_ok($fatal, '<=', 1, "missing database: at most one FATAL ($fatal)");
cmp_ok($exits, '<=', 1, "missing database: no restart loop ($exits exits)");
ok($warn >= 1 && $warn <= 4, "missing database: a periodic WARNING ($warn in 5 s, interval 2 s)");
like($log, qr/to exist\n[^\n]*DETAIL:  [^\n]*\n[^\n]*HINT:  Set rtpush\.database_name/,
	'missing database: the hint names rtpush.database_name');
$late->safe_psql('postgres', 'CREATE EXTENSION rtpush');
is($late->safe_psql('postgres', 'SELECT state FROM rtpush.worker_status()'),
	'waiting_for_database (rtpush.database_name)', 'missing database: the state says so');
$late->safe_psql('postgres', 'CREATE DATABASE later');
$late->safe_psql('later', 'CREATE EXTENSION rtpush;' . tick_sql()
	  . 'INSERT INTO ticks (seq, ch) SELECT g, g % 3 FROM generate_series(500, 519) g');
$late->poll_query_until('postgres',
	q{SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'rtpush delivery worker' AND datname = 'later'})
  or diag('no worker in database later');
my $deadline = time + 60;
my $n = 0;
while (time < $deadline)
{
	my $c = $sink->counts;
	$n = grep { $_ >= 500 && $_ < 520 } keys %$c;
	last if $n == 20;
	usleep(250_000);
}
is($n, 20, 'missing database: once created, its events are delivered');
$late->stop;
$sink->stop;
done_testing();
