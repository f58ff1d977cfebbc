# 016_update_0.3.pl: ALTER EXTENSION rtpush UPDATE from 0.2 to 0.3, where
# the telemedicine catalogue leaves rtpush for extension rtpush_telemedicine
# (rtpush--0.2--0.3.sql).  On 0.2, with part of the catalogue attached by
# rtpush.attach_telemedicine() and events queued that the worker cannot
# deliver yet (not configured), the update must keep every queued event
# (each delivered once, in order per channel, once the worker has an
# endpoint), keep the attached triggers queueing, and take the catalogue's
# functions out of rtpush; CREATE EXTENSION rtpush_telemedicine (refused
# before the update) brings them back, and its detach_telemedicine() drops
# the triggers attached under 0.2; a dump and restore carries both
# extensions and the triggers.  Then 0.2 + UPDATE and 0.1 + UPDATE equal
# a fresh install (test/t/DbaTest.pm's describe_extension, for rtpush and for
# rtpush_telemedicine).
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use RtpushTest;
use DbaTest;
use Test::More;

# Two of the catalogue's tables; its other tables are left out.
my $APP_SQL = q{
CREATE TABLE messages (id bigint PRIMARY KEY, conversation_id bigint NOT NULL, sender_id bigint,
                       body text, seq bigint NOT NULL, created_at timestamptz DEFAULT now());
CREATE TABLE notifications (id bigint PRIMARY KEY, user_id bigint NOT NULL, title text, seq bigint NOT NULL);
};
my $ONLY_TWO = q{'{"appointments": false, "prescriptions": false, "users": false, "doctors": false, "ratings": false,
  "messages": {"columns": ["id", "conversation_id", "seq"]}, "notifications": {"columns": ["id", "user_id", "seq"]}}'};
my $CATALOGUE_PROCS = q{SELECT string_agg(p.oid::regprocedure::text || ' in ' || coalesce(e.extname, '-'), ', '
                                          ORDER BY p.oid::regprocedure::text)
  FROM pg_proc p LEFT JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  LEFT JOIN pg_extension e ON e.oid = d.refobjid
 WHERE p.proname IN ('telemedicine_catalogue', 'attach_telemedicine', 'detach_telemedicine')};
my $TRIGGERS = q{SELECT string_agg(tgrelid::regclass || '.' || tgname, ', ' ORDER BY tgname)
  FROM pg_trigger WHERE tgname LIKE 'rtpush_%' AND NOT tgisinternal AND tgrelid <> 'ticks'::regclass};

# messages seq 20001.., notifications seq 30001..: messages on channels
# private-conversation.1..3, notifications on private-user.{1,2}.notifications
sub write_app
{
	my ($node, $from, $to) = @_;
	$node->safe_psql('app', "INSERT INTO messages (id, conversation_id, seq, body)
	                          SELECT g, g % 3 + 1, 20000 + g, 'm' || g FROM generate_series($from, $to) g;
	                          INSERT INTO notifications (id, user_id, seq, title)
	                          SELECT g, g % 2 + 1, 30000 + g, 'n' || g FROM generate_series($from, $to) g");
}

my $sink = start_sink();
my $node = rtpush_node('update03', no_setup => 1);
my $default = $node->safe_psql('postgres', q{SELECT default_version FROM pg_available_extensions WHERE name = 'rtpush'});
is($node->safe_psql('postgres',
		q{SELECT default_version >= '0.3' FROM pg_available_extensions WHERE name = 'rtpush'}), 't',
	'default version 0.3 or later (this test updates to 0.3 by name)');
is($node->safe_psql('postgres',
		q{SELECT string_agg(source, ',' ORDER BY source) FROM pg_extension_update_paths('rtpush')
		   WHERE target = '0.3' AND path IS NOT NULL}), '0.1,0.2', 'update paths 0.1 -> 0.3 and 0.2 -> 0.3');
is($node->safe_psql('postgres',
		q{SELECT version || ' requires ' || array_to_string(requires, ',') || ' schema ' || schema
		    FROM pg_available_extension_versions WHERE name = 'rtpush_telemedicine'}),
	'1.0 requires rtpush schema rtpush', 'rtpush_telemedicine 1.0 requires rtpush, in its schema');

# 0.2, the catalogue (two of its tables) attached, events queued.
$node->safe_psql('app', "CREATE EXTENSION rtpush VERSION '0.2';" . tick_sql() . $APP_SQL);
wait_worker($node);
is($node->safe_psql('app', "SELECT string_agg(event || ' on ' || tbl, ', ' ORDER BY event)
                             FROM rtpush.attach_telemedicine($ONLY_TWO)"),
	'message-sent on messages, notification-created on notifications', 'the catalogue attached on 0.2');
my $attached = $node->safe_psql('app', $TRIGGERS);
my ($rc, $out, $err) = $node->psql('app', 'CREATE EXTENSION rtpush_telemedicine');
isnt($rc, 0, 'CREATE EXTENSION rtpush_telemedicine is refused on rtpush 0.2');
like($err, qr/rtpush 0\.2 already holds the telemedicine catalogue.*HINT:  Run ALTER EXTENSION rtpush UPDATE first/s,
	'and says to update rtpush first');

write_app($node, 1, 60);
$node->safe_psql('app', 'INSERT INTO ticks (seq, ch) SELECT g, g % 4 FROM generate_series(1, 100) g');
is($node->safe_psql('app', 'SELECT count(*) FROM rtpush.outbox'), '220', '220 events queued on 0.2');
# a worker without an app is not woken by commits: it sees the extension at its next poll
ok($node->poll_query_until('app', q{SELECT state LIKE 'not_configured %' FROM rtpush.status}),
	'the worker cannot deliver them (not configured)');

$node->safe_psql('app', "ALTER EXTENSION rtpush UPDATE TO '0.3'");
is($node->safe_psql('app', q{SELECT extversion FROM pg_extension WHERE extname = 'rtpush'}), '0.3', 'updated to 0.3');
is($node->safe_psql('app', 'SELECT count(*) FROM rtpush.outbox'), '220', 'every queued event is still queued');
is($node->safe_psql('app', $CATALOGUE_PROCS), '', 'the catalogue\'s functions are gone from rtpush');
is($node->safe_psql('app', $TRIGGERS), $attached, "the attached triggers are still there ($attached)");
write_app($node, 61, 100);
is($node->safe_psql('app', 'SELECT count(*) FROM rtpush.outbox'), '300', 'and still queue events after the update');

# The endpoint: every event arrives, once, in order per channel.
$node->append_conf('postgresql.conf', sink_settings($sink));
$node->reload;
account('update03', $node, $sink, timeout => 60, below => 10001);
ok($node->poll_query_until('app', 'SELECT count(*) = 0 FROM rtpush.outbox'), 'outbox empty');
my $c = $sink->counts;
for my $t ([ 'messages', 20001 ], [ 'notifications', 30001 ])
{
	my ($name, $first) = @$t;
	my @want = ($first .. $first + 99);
	is(scalar(grep { ($c->{$_} // 0) == 1 } @want), 100, "the 100 $name events delivered once each");
	ok(RtpushTest::order_ok($sink, $first, $first + 100), "$name: per-channel order kept");
}

# The catalogue comes back as an extension of its own.
$node->safe_psql('app', 'CREATE EXTENSION rtpush_telemedicine');
is($node->safe_psql('app', $CATALOGUE_PROCS),
	'rtpush.attach_telemedicine(jsonb,boolean) in rtpush_telemedicine, '
	  . 'rtpush.detach_telemedicine(jsonb) in rtpush_telemedicine, '
	  . 'rtpush.telemedicine_catalogue(jsonb,boolean) in rtpush_telemedicine',
	'CREATE EXTENSION rtpush_telemedicine brings the functions back, in schema rtpush');
is($node->safe_psql('app', "SELECT string_agg(event, ', ' ORDER BY event) FROM rtpush.detach_telemedicine($ONLY_TWO)"),
	'message-sent, notification-created', 'its detach_telemedicine() finds the triggers attached on 0.2');
is($node->safe_psql('app', $TRIGGERS), '', 'and drops them');

# A dump of the updated database carries both extensions and the triggers.
$node->safe_psql('app', "SELECT count(*) FROM rtpush.attach_telemedicine($ONLY_TWO)");
$attached = $node->safe_psql('app', $TRIGGERS);
like($attached, qr/^messages\.rtpush_message-sent, notifications\.rtpush_notification-created$/,
	'attached again with rtpush_telemedicine');
my $dump = "$PostgreSQL::Test::Utils::tmp_check/app03.sql";
my @conn = ('-h', $node->host, '-p', $node->port);
command_ok([ 'pg_dump', @conn, '-d', 'app', '-f', $dump ], 'pg_dump of the updated database');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
command_ok([ 'psql', @conn, '-d', 'restored', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', $dump ],
	'restored with psql');
is($node->safe_psql('restored', q{SELECT string_agg(extname || ' ' || extversion, ', ' ORDER BY extname)
                                    FROM pg_extension WHERE extname LIKE 'rtpush%'}),
	"rtpush $default, rtpush_telemedicine 1.0",
	'the restore has rtpush (its default version: pg_dump names none) and rtpush_telemedicine 1.0');
is($node->safe_psql('restored', $TRIGGERS), $attached, 'and the catalogue\'s triggers');

# 0.2 + UPDATE and 0.1 + UPDATE equal a fresh install, with and without
# the catalogue (a fresh install of 0.3, by name).
$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('fresh', "CREATE EXTENSION rtpush VERSION '0.3'; CREATE EXTENSION rtpush_telemedicine");
$node->safe_psql('postgres', 'CREATE DATABASE from01');
$node->safe_psql('from01', "CREATE EXTENSION rtpush VERSION '0.1'; ALTER EXTENSION rtpush UPDATE TO '0.3';
                            CREATE EXTENSION rtpush_telemedicine");
for my $ext ('rtpush', 'rtpush_telemedicine')
{
	my $fresh = same_extension($node, 'app', 'fresh', $ext, "$ext: app (0.2 + UPDATE) equals a fresh install");
	same_extension($node, 'from01', 'fresh', $ext, "$ext: from01 (0.1 + UPDATE) equals a fresh install");
	cmp_ok(scalar(split /\n/, $fresh), '>', 3, "$ext: the description names its objects");
}

$sink->stop;
$node->stop;
done_testing();
