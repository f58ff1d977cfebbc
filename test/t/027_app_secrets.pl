# 027_app_secrets.pl: two databases, each with its own Pusher app
# (rtpush.set_app), and a non-superuser who owns one of them.
#
# - Each database's events reach its own app only (two endpoints with
#   their own credentials: the sinks check every signature).
# - In either database that role cannot read either app's secret or master
#   key: not through any table or view it may SELECT from (every one of
#   them is read in full, pg_stats after an ANALYZE included), not through
#   rtpush.app, rtpush.app_info(), rtpush.databases, current_setting(),
#   rtpush.client_config(), pg_stat_activity while a superuser's
#   rtpush.set_app() is open, nor pg_dump (which succeeds).
# - With log_statement = all, a successful rtpush.set_app(), failing ones
#   and a direct INSERT that breaks a constraint leave no secret in the
#   server log.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use MIME::Base64 qw(encode_base64);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use RtpushTest;
use Test::More;

sub rand_hex { join '', map { sprintf '%02x', int(rand(256)) } 1 .. $_[0] }
sub rand_key { my $k = encode_base64(join('', map { chr(int(rand(256))) } 1 .. 32), ''); return $k }

my %secret = (app => 'sa-' . rand_hex(12), db2 => 'sb-' . rand_hex(12));
my %master = (app => rand_key(), db2 => rand_key());
my @unlogged = ('s-failed-' . rand_hex(8), 's-insert-' . rand_hex(8));
my %sink = (app => start_sink(app_id => 'clinic-a', key => 'clinic-a-key', secret => $secret{app}),
	db2 => start_sink(app_id => 'clinic-b', key => 'clinic-b-key', secret => $secret{db2}));
my $node = rtpush_node('appsecrets', conf => "rtpush.database_name = ''\nlog_statement = all\n");
my @all = (values %secret, values %master, @unlogged);

$node->safe_psql('postgres', q{CREATE ROLE clinic LOGIN; CREATE DATABASE db2 OWNER clinic});
$node->safe_psql('db2', 'CREATE EXTENSION rtpush;' . RtpushTest::tick_sql());
for my $db (qw(app db2))
{
	my ($id, $port) = ($sink{$db}{app}, $sink{$db}->port);
	$node->safe_psql($db, qq{
GRANT USAGE ON SCHEMA rtpush TO clinic;
GRANT SELECT, INSERT ON ticks TO clinic;
SELECT rtpush.set_app('$id', '$id-key', '$secret{$db}', host => '127.0.0.1', port => $port,
                      scheme => 'http', encryption_master_key => '$master{$db}');
ANALYZE rtpush.app_config;
});
}

# ---- each database's events reach its own app only
$node->safe_psql('app', 'INSERT INTO ticks (seq, ch) SELECT g, g % 4 FROM generate_series(1, 100) g');
$node->safe_psql('db2', 'INSERT INTO ticks (seq, ch) SELECT g, g % 4 FROM generate_series(1001, 1100) g',
	extra_params => [ '-U', 'clinic' ]);
account('app -> clinic-a', $node, $sink{app}, timeout => 60, since => 1, below => 101);
my $db2 = $node->safe_psql('db2', 'SELECT count(*) FROM ticks');
is(scalar(grep { $_ >= 1001 } keys %{ $sink{app}->counts }), 0, 'clinic-a got nothing of db2');
ok($node->poll_query_until('db2', 'SELECT delivered >= 100 FROM rtpush.status'), 'db2 delivered');
my $c = $sink{db2}->counts;
is(scalar(grep { ($c->{$_} // 0) != 1 } 1001 .. 1100), 0, 'db2 -> clinic-b: each once');
is(scalar(grep { $_ < 1001 } keys %$c), 0, 'clinic-b got nothing of app');

# ---- what the non-superuser can read
# the secrets to look for, in a table of their own (not logged, not searched)
my $arr = 'ARRAY[' . join(',', map { "'$_'" } @all) . ']';
for my $db (qw(app db2))
{
	$node->safe_psql($db, qq{SET log_statement = none;
CREATE TABLE public.needles AS SELECT unnest($arr) AS x; GRANT SELECT ON public.needles TO clinic});
	my $hits = $node->safe_psql($db, qq{
CREATE TEMP TABLE hits (rel text);
DO \$\$
DECLARE r regclass; s text; n int := 0;
BEGIN
  FOR r IN SELECT c.oid FROM pg_class c
            WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f') AND has_table_privilege(c.oid, 'SELECT')
              AND c.oid <> 'public.needles'::regclass LOOP
    BEGIN
      EXECUTE format('SELECT string_agg(t::text, E''\\n'') FROM %s t', r) INTO s;
      n := n + 1;
    EXCEPTION WHEN OTHERS THEN s := NULL;
    END;
    IF EXISTS (SELECT 1 FROM public.needles WHERE position(x IN coalesce(s, '')) > 0) THEN
      INSERT INTO hits VALUES (r::text);
    END IF;
  END LOOP;
  INSERT INTO hits VALUES ('(read ' || n || ')');
END \$\$;
SELECT string_agg(rel, ' ') FROM hits;
}, extra_params => [ '-U', 'clinic' ]);
	my ($n) = $hits =~ /\(read (\d+)\)/;
	cmp_ok($n // 0, '>', 100, "$db: the role reads every relation it may ($n, pg_stats included)");
	is($hits =~ s/\s*\(read \d+\)\s*//r, '', "$db: none of them holds a secret or a master key");
	for my $q ('SELECT * FROM rtpush.app_config', 'SELECT * FROM rtpush.app', 'SELECT * FROM rtpush.app_info()',
		'SELECT * FROM rtpush.databases', q{SELECT current_setting('rtpush.secret')})
	{
		my ($ret, $out, $err) = $node->psql($db, $q, extra_params => [ '-U', 'clinic' ]);
		isnt($ret, 0, "$db: $q is refused");
		unlike($out . $err, qr/\Q$secret{app}\E|\Q$secret{db2}\E/, '... and shows no secret');
	}
	my $cfg = $node->safe_psql($db, q{SELECT rtpush.client_config('1')}, extra_params => [ '-U', 'clinic' ]);
	like($cfg, qr/"key": "$sink{$db}{app}-key"/, "$db: rtpush.client_config() gives its own app's key");
	ok(!grep({ index($cfg, $_) >= 0 } @all), '... and no secret');

	my ($ret, $dump, $err) = ('', '', '');
	# (the outbox's id counter is a configuration sequence the role may not
	# read: README, "Backups")
	$ret = IPC::Run::run([ 'pg_dump', '-h', $node->host, '-p', $node->port, '-U', 'clinic', '-d', $db,
			'--exclude-table-data=rtpush.outbox_id_seq', '--exclude-table=public.needles' ],
		'>', \$dump, '2>', \$err);
	ok($ret, "$db: pg_dump as the role succeeds") or diag($err);
	ok(!grep({ index($dump, $_) >= 0 } @all), "$db: its dump holds no secret");
	IPC::Run::run([ 'pg_dump', '-h', $node->host, '-p', $node->port, '-d', $db, '--exclude-table=public.needles' ],
		'>', \$dump);
	ok(!grep({ index($dump, $_) >= 0 } @all), "$db: a superuser's dump holds none either (rtpush.app_config is not dumped)");
}

# pg_stat_activity while a superuser's rtpush.set_app() is open
my $open = $node->background_psql('app');
$open->query_safe("BEGIN; SELECT rtpush.set_app('clinic-a', 'clinic-a-key', '$secret{app}')");
my $act = $node->safe_psql('app', q{SELECT string_agg(coalesce(query, ''), ' ') FROM pg_stat_activity},
	extra_params => [ '-U', 'clinic' ]);
unlike($act, qr/\Q$secret{app}\E/, 'pg_stat_activity does not show an open rtpush.set_app() to the role');
$open->query_safe('ROLLBACK');
$open->quit;

# ---- the server log
my ($ret, $out, $err) = $node->psql('app', qq{SELECT rtpush.set_app('x', 'y', '$unlogged[0]', port => 0)});
like($err, qr/invalid port for the app/, 'a failing rtpush.set_app()');
($ret, $out, $err) = $node->psql('app', qq{INSERT INTO rtpush.app_config (app_id, secret) VALUES ('x', '$unlogged[1]')});
like($err, qr/null value in column "key"/, 'a direct INSERT breaking a constraint');
$node->safe_psql('app', 'SELECT pg_sleep(0.5)');
my $log = slurp_file($node->logfile);
like($log, qr/statement: <names an rtpush secret setting; not logged>/, 'the statements were logged without their text');
my @in_log = grep { index($log, $_) >= 0 } @all;
is(scalar(@in_log), 0, 'no secret and no master key in the server log') or diag("in the log: @in_log");

$_->stop for values %sink;
$node->stop;
done_testing();
