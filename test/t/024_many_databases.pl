# 024_many_databases.pl: the launcher and one delivery worker per database
# (issue 19, part 1), with rtpush.database_name = '' (every database).
# - Three databases with rtpush each get a worker of their own; events from
#   each are delivered (channels named after the database: one app for
#   all), in order per channel, nothing lost; each database's rtpush.status
#   shows its own worker.  A database without rtpush and the templates get
#   none.
# - CREATE EXTENSION rtpush in a new database: its events are delivered
#   within ~2 s.
# - While another database is busy delivering a backlog: DROP EXTENSION,
#   DROP DATABASE (well under the 5 s DROP DATABASE waits for sessions),
#   ALTER DATABASE ... RENAME and ALLOW_CONNECTIONS false complete at once,
#   the worker of a renamed or re-allowed database comes back, and the busy
#   database loses nothing.
# - The log has no FATAL and no crash: no restart loop.
# - The launcher terminated alone: its workers stop, the next launcher
#   starts them again.
# - After DROP EXTENSION a worker waits a minute for the extension, then
#   leaves its slot; CREATE EXTENSION brings it back.
# - CREATE EXTENSION no longer warns that rtpush delivers from one database.
# - rtpush.databases (superusers only) lists every database's worker.
# - More databases than rtpush.max_databases, or than max_worker_processes
#   allows: a WARNING naming the database and what to raise, and the state
#   waiting_for_worker in the database left out.
# - A worker that fails at start is started again after 1 s, 2 s, 4 s...:
#   no restart loop.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use RtpushTest;
use Test::More;
use Time::HiRes qw(time usleep);

my $sink = start_sink();
my $node = rtpush_node('many', sink => $sink, conf => "rtpush.database_name = ''\n");

# rtpush and ticks whose events go to channel <db>-<ch> (app: load-<ch>,
# from rtpush_node, for start_load and account)
sub setup_db
{
	my ($n, $db) = @_;
	return if $db eq 'app';
	$n->safe_psql($db, qq{CREATE EXTENSION IF NOT EXISTS rtpush;
CREATE TABLE IF NOT EXISTS ticks (seq bigint PRIMARY KEY, ch int NOT NULL,
                                  at timestamptz NOT NULL DEFAULT clock_timestamp());
SELECT rtpush.attach('ticks', 'tick', ARRAY['$db-{ch}'], operations => '{INSERT}');});
}

sub channel_prefix { $_[0] eq 'app' ? 'load' : $_[0] =~ s/r$//r }

sub workers
{
	my ($n) = @_;
	return $n->safe_psql('postgres',
		q{SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_stat_activity
		  WHERE backend_type = 'rtpush delivery worker'});
}

sub wait_workers
{
	my ($n, $want, $what) = @_;
	ok($n->poll_query_until('postgres',
			q{SELECT coalesce(string_agg(datname, ',' ORDER BY datname), '') FROM pg_stat_activity
			  WHERE backend_type = 'rtpush delivery worker' AND application_name = 'rtpush delivery worker'},
			$want),
		"$what: workers in $want") or diag('workers: ' . workers($n));
}

# every seq in [from, to) of $db's ticks reached the sink, on $db's channels, in order
sub delivered_from
{
	my ($db, $from, $to, $timeout) = @_;
	my %committed = map { $_ => 1 }
	  split /\n/, $node->safe_psql($db, "SELECT seq FROM ticks WHERE seq >= $from AND seq < $to");
	my $deadline = time + ($timeout // 60);
	my @lost;
	while (1)
	{
		my $c = $sink->counts;
		@lost = grep { !$c->{$_} } keys %committed;
		last if !@lost || time > $deadline;
		usleep(100_000);
	}
	cmp_ok(scalar(keys %committed), '>', 0, "$db: events committed in [$from, $to)");
	is(scalar(@lost), 0, "$db: all " . scalar(keys %committed) . ' delivered, none lost')
	  or diag("lost: @{[ (sort { $a <=> $b } @lost)[0 .. ($#lost > 9 ? 9 : $#lost)] ]}");
	my @wrong = grep { $_->[0] && $_->[0] >= $from && $_->[0] < $to && $_->[1] !~ /^\Q@{[channel_prefix($db)]}\E-/ }
	  @{ $sink->events };
	is(scalar(@wrong), 0, "$db: each on a channel of $db");
	ok(RtpushTest::order_ok($sink, $from, $to), "$db: in order per channel");
}

sub bounded
{
	my ($db, $sql, $limit) = @_;
	my ($out, $err, $timed_out);
	my $t0 = time;
	my $ret = $node->psql($db, $sql, stdout => \$out, stderr => \$err,
		timeout => 60, timed_out => \$timed_out);
	my $took = time - $t0;
	ok(!$timed_out && $ret == 0 && $took < $limit,
		sprintf('%s: completes in %.2f s (limit %d s)', $sql, $took, $limit))
	  or diag("ret $ret, stderr: $err");
}

# ---- three databases, a worker each
$node->safe_psql('postgres', "CREATE DATABASE $_") for qw(db1 db2);
my ($ret, $out, $err) = $node->psql('db1', 'CREATE EXTENSION rtpush');
is($err, '', "CREATE EXTENSION with rtpush.database_name = '': no one-database WARNING (rtpush--0.1.sql's)");
setup_db($node, $_) for qw(app db1 db2);
wait_workers($node, 'app,db1,db2', 'three databases with rtpush');
sleep 2;
is(workers($node), 'app,db1,db2', 'no worker for postgres (no rtpush) or the templates');
my $launchers = $node->safe_psql('postgres',
	q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'rtpush launcher' AND datname IS NULL});
is($launchers, '1', 'one launcher, connected to no database');

my %base = (app => 100_000, db1 => 200_000, db2 => 300_000, db3 => 400_000);
for my $db (qw(app db1 db2))
{
	$node->safe_psql($db,
		"INSERT INTO ticks (seq, ch) SELECT $base{$db} + g, g % 4 FROM generate_series(1, 300) g");
}
delivered_from($_, $base{$_}, $base{$_} + 1000) for qw(app db1 db2);
for my $db (qw(app db1 db2))
{
	my $pid = $node->safe_psql('postgres',
		qq{SELECT pid FROM pg_stat_activity WHERE backend_type = 'rtpush delivery worker' AND datname = '$db'});
	ok($node->poll_query_until($db, 'SELECT delivered = 300 FROM rtpush.status'),
		"$db: rtpush.status counts its own 300 events");
	is($node->safe_psql($db, 'SELECT pid FROM rtpush.status'), $pid, "$db: rtpush.status shows its own worker ($pid)");
}

# the cluster view, for superusers only
is($node->safe_psql('app', q{SELECT string_agg(datname || ':' || (pid IS NOT NULL) || ':' || delivered, ',' ORDER BY datname) FROM rtpush.databases}),
	'app:true:300,db1:true:300,db2:true:300', 'rtpush.databases lists every database\'s worker and its count');
$node->safe_psql('app', 'CREATE ROLE plain LOGIN; GRANT USAGE ON SCHEMA rtpush TO plain');
($ret, $out, $err) = $node->psql('app', 'SELECT * FROM rtpush.databases', extra_params => [ '-U', 'plain' ]);
like($err, qr/permission denied for view databases/, 'rtpush.databases: not for a non-superuser');

# ---- CREATE EXTENSION in a new database: delivery within ~2 s
$node->safe_psql('postgres', 'CREATE DATABASE db3');
sleep 2;    # the launcher has looked at it and found no rtpush
is(workers($node), 'app,db1,db2', 'db3 without rtpush: no worker');
my $t0 = time;
setup_db($node, 'db3');
$node->safe_psql('db3', "INSERT INTO ticks (seq, ch) VALUES ($base{db3} + 1, 0)");
my $took;
while (time < $t0 + 30)
{
	last if $sink->counts->{ $base{db3} + 1 };
	usleep(20_000);
}
$took = time - $t0;
ok($sink->counts->{ $base{db3} + 1 }, sprintf('db3: delivered %.2f s after CREATE EXTENSION', $took));
cmp_ok($took, '<', 3, 'db3: delivery starts within ~2 s of CREATE EXTENSION');

# ---- DDL in other databases while app is busy
$sink->plan([ { delayMs => 100 } ]);
my $load = start_load($node, rate => 300, seconds => 12, conns => 4, first_seq => 1);
ok($node->poll_query_until('app', q{SELECT in_flight > 0 FROM rtpush.status}), 'app is busy');
my $log_from = -s $node->logfile;

bounded('db1', 'DROP EXTENSION rtpush CASCADE', 5);
$node->safe_psql('db2', "INSERT INTO ticks (seq, ch) SELECT $base{db2} + g, 0 FROM generate_series(1001, 1200) g");
bounded('postgres', 'DROP DATABASE db2', 3);
bounded('postgres', 'ALTER DATABASE db3 RENAME TO db3r', 3);
wait_workers($node, 'app,db1,db3r', 'after the RENAME');
bounded('postgres', 'ALTER DATABASE db3r ALLOW_CONNECTIONS false', 3);
wait_workers($node, 'app,db1', 'ALLOW_CONNECTIONS false: its worker stopped');
bounded('postgres', 'ALTER DATABASE db3r ALLOW_CONNECTIONS true', 3);
wait_workers($node, 'app,db1,db3r', 'ALLOW_CONNECTIONS true: its worker back');
$node->safe_psql('db3r', "INSERT INTO ticks (seq, ch) SELECT $base{db3} + g, g % 2 FROM generate_series(2, 50) g");
setup_db($node, 'db1');
$node->safe_psql('db1', "INSERT INTO ticks (seq, ch) SELECT $base{db1} + g, g % 2 FROM generate_series(1001, 1050) g");

$load->wait(60);
$sink->plan([]);
account('app, busy through DDL elsewhere', $node, $sink, acked => $load->acked, since => 1, below => 100_000, timeout => 60);
delivered_from('db3r', $base{db3}, $base{db3} + 1000);
delivered_from('db1', $base{db1} + 1000, $base{db1} + 2000);

# ---- no FATAL, no crash, no restart loop
my $log = slurp_file($node->logfile);
my @fatal = $log =~ /^.*(?:FATAL|PANIC):.*$/mg;
is(scalar(@fatal), 0, 'no FATAL or PANIC in the log')
  or diag(join("\n", @fatal[0 .. ($#fatal > 9 ? 9 : $#fatal)]));
my @crashes = $log =~ /^.*was terminated by signal.*$/mg;
is(scalar(@crashes), 0, 'no process crashed') or diag(join("\n", @crashes));
my @errors = substr($log, $log_from) =~ /^.*exited with an error, starting it again.*$/mg;
is(scalar(@errors), 0, 'no worker ended in an error during the DDL') or diag(join("\n", @errors));
my $starts = () = $log =~ /rtpush delivery worker started in database/g;
cmp_ok($starts, '<=', 10, "workers started $starts times in all (no restart loop)");

# ---- the launcher stopped alone: its workers go with it, the next one starts them again
my $lpid = $node->safe_psql('postgres', q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'rtpush launcher'});
my $old = $node->safe_psql('postgres',
	q{SELECT string_agg(pid::text, ',') FROM pg_stat_activity WHERE backend_type = 'rtpush delivery worker'});
$log_from = -s $node->logfile;
$node->safe_psql('postgres', "SELECT pg_terminate_backend($lpid)");
ok($node->poll_query_until('postgres',
		qq{SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'rtpush launcher' AND pid <> $lpid}),
	'pg_terminate_backend(launcher): the postmaster starts a new one');
ok($node->poll_query_until('postgres',
		qq{SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_stat_activity
		   WHERE backend_type = 'rtpush delivery worker' AND NOT pid = ANY ('{$old}'::int[])},
		'app,db1,db3r'),
	'... and it starts new workers in app, db1 and db3r');
$node->safe_psql('db3r', "INSERT INTO ticks (seq, ch) SELECT $base{db3} + g, g % 2 FROM generate_series(100, 120) g");
delivered_from('db3r', $base{db3} + 100, $base{db3} + 1000);
my @fatal3 = substr(slurp_file($node->logfile), $log_from) =~ /^.*(?:FATAL|PANIC):.*$/mg;
is(scalar(@fatal3), 0, 'the launcher\'s restart: no FATAL') or diag(join("\n", @fatal3));

# ---- after DROP EXTENSION a worker waits a minute, then leaves its slot for good
$t0 = time;
$node->safe_psql('db3r', 'DROP EXTENSION rtpush CASCADE');
ok($node->poll_query_until('postgres',
		q{SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'rtpush delivery worker' AND datname = 'db3r'}),
	sprintf('DROP EXTENSION: the worker left after %.0f s', time - $t0));
cmp_ok(time - $t0, '>=', 55, '... not before a minute');
sleep 3;
is(workers($node), 'app,db1', '... and is not started again without CREATE EXTENSION');
$node->safe_psql('db3r', 'CREATE EXTENSION rtpush');
wait_workers($node, 'app,db1,db3r', 'CREATE EXTENSION again: its worker back');
$node->stop;

# ---- more databases than slots
my $small = rtpush_node('slots', sink => $sink,
	conf => "rtpush.database_name = ''\nrtpush.max_databases = 2\nrtpush.log_failure_interval = '2s'\n");
$small->safe_psql('postgres', "CREATE DATABASE $_") for qw(s1 s2);
setup_db($small, $_) for qw(app s1 s2);
ok($small->poll_query_until('postgres',
		q{SELECT count(*) = 2 FROM pg_stat_activity WHERE backend_type = 'rtpush delivery worker'
		  AND application_name = 'rtpush delivery worker'}),
	'max_databases = 2: two workers');
my $left = '';
for (1 .. 100)
{
	($left) = grep {
		$small->safe_psql($_, 'SELECT state FROM rtpush.status') eq 'waiting_for_worker (rtpush.max_databases)'
	} qw(app s1 s2);
	last if $left;
	usleep(100_000);
}
ok($left, "the database left out says waiting_for_worker (rtpush.max_databases): $left");
$log = slurp_file($small->logfile);
like($log, qr/WARNING:  rtpush launcher cannot start a delivery worker: all 2 slots of rtpush\.max_databases are taken\n[^\n]*DETAIL:  Database "\w+" gets no delivery worker[^\n]*\n[^\n]*HINT:  Raise rtpush\.max_databases/,
	'max_databases: a WARNING naming the database and what to raise');
$small->stop;

# ---- more databases than background workers
$small->append_conf('postgresql.conf', "rtpush.max_databases = 16\nmax_worker_processes = 3\nmax_parallel_workers = 0\n");
$small->start;
my $from = -s $small->logfile;
sleep 4;
$log = substr(slurp_file($small->logfile), $from);
like($log, qr/WARNING:  rtpush launcher cannot start a delivery worker: no background worker slot is free\n[^\n]*DETAIL:  Database "\w+" gets no delivery worker[^\n]*\n[^\n]*HINT:  Raise max_worker_processes/,
	'max_worker_processes: a WARNING naming the database and what to raise');
my $n = $small->safe_psql('postgres',
	q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'rtpush delivery worker'});
cmp_ok($n, '<', 3, "max_worker_processes = 3: $n delivery workers, not 3");
my @waiting = grep {
	$small->safe_psql($_, 'SELECT state FROM rtpush.status') eq 'waiting_for_worker (max_worker_processes)'
} qw(app s1 s2);
cmp_ok(scalar(@waiting), '>=', 1, "a database left out says waiting_for_worker (max_worker_processes): @waiting");
my @fatal2 = $log =~ /^.*(?:FATAL|PANIC):.*$/mg;
is(scalar(@fatal2), 0, 'max_worker_processes: no FATAL') or diag(join("\n", @fatal2));
$small->stop;

# ---- a worker that fails at start: started again after a growing backoff, no loop
# (its look for the extension times out on a lock: lock_timeout in s1)
$small->append_conf('postgresql.conf', "max_worker_processes = 8\nmax_parallel_workers = 8\n");
$small->start;
wait_workers($small, 'app,s1,s2', 'three workers again');
my $s1pid_sql = q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'rtpush delivery worker' AND datname = 's1'};
# a worker that has the setting (a lock wait without it outlasts SIGTERM)
$small->safe_psql('postgres', "ALTER DATABASE s1 SET lock_timeout = '100ms'");
my $s1pid = $small->safe_psql('postgres', $s1pid_sql);
$small->safe_psql('postgres', "SELECT pg_terminate_backend($s1pid)");
ok($small->poll_query_until('postgres', "SELECT count(*) = 1 FROM ($s1pid_sql) w WHERE pid <> $s1pid"),
	'a worker in s1 with lock_timeout');
my $locker = $small->background_psql('s1');
$locker->query_safe('BEGIN; LOCK TABLE pg_catalog.pg_extension IN ACCESS EXCLUSIVE MODE');
$from = -s $small->logfile;
$s1pid = $small->safe_psql('postgres', $s1pid_sql);
$small->safe_psql('postgres', "SELECT pg_terminate_backend($s1pid)");
sleep 8;
$log = substr(slurp_file($small->logfile), $from);
my @again = $log =~ /^.*LOG:  rtpush launcher: the delivery worker of database "s1" exited with an error, starting it again in (\d+) ms$/mg;
diag("failing worker: started again after @again ms");
ok(@again >= 2 && @again <= 4, 'a failing worker: ' . scalar(@again) . ' failed starts in 8 s (backoff 1, 2, 4 s), not a loop');
is(join(',', @again[0 .. 1]), '1000,2000', '... the backoff doubles');
$locker->query_safe('COMMIT');
$locker->quit;
$small->safe_psql('postgres', 'ALTER DATABASE s1 RESET lock_timeout');
ok($small->poll_query_until('postgres',
		q{SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'rtpush delivery worker' AND datname = 's1'}),
	'once the lock is gone, its worker runs again');
$small->safe_psql('s1', "INSERT INTO ticks (seq, ch) SELECT 500000 + g, 0 FROM generate_series(1, 10) g");
$node = $small;    # for delivered_from
delivered_from('s1', 500_000, 501_000, 60);
$small->stop;

$sink->stop;
done_testing();
