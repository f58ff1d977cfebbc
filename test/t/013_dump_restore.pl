# 013_dump_restore.pl: pg_dump -> pg_restore of a database with rtpush
# (issue 23, cases 2 and 6), into a fresh preloaded cluster: custom format
# with -j 2, plain format through psql.  Every channel rule must survive
# (one names its function unqualified, inserted under a search_path), every
# rtpush trigger with its enabled state (ORIGIN, ALWAYS, DISABLED), the
# extension's definition, and the event id sequence's position (ids after a
# restore never repeat ids clients saw).  A rule's function cannot be
# dropped.  The queue is not in a dump (README): carried by hand with COPY,
# rows keeping the old cluster's xids are delivered at once, in order.  A
# data-only restore re-queues every row unless --disable-triggers.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use RtpushTest;
use DbaTest;
use Test::More;

my $sink = start_sink();
my $src = rtpush_node('src');
$src->safe_psql('app', rules_sql() . q{
INSERT INTO rtpush.channel_rules (pattern, rule) VALUES ('presence-room.{room}', 'authz.member(text, jsonb)');
CREATE TABLE notes (id int PRIMARY KEY, ch int NOT NULL, body text);
SELECT rtpush.attach('notes', 'note', ARRAY['load-n{ch}']);
SELECT rtpush.attach('notes', 'gone', ARRAY['load-g{ch}']);
ALTER TABLE notes ENABLE ALWAYS TRIGGER rtpush_note;
ALTER TABLE notes DISABLE TRIGGER rtpush_gone;
});
# queued, never delivered here (no endpoint); ids from several sessions
for my $i (0 .. 2)
{
	$src->safe_psql('app', 'INSERT INTO ticks (seq, ch) SELECT g, g % 3 FROM generate_series('
		  . (1 + 20 * $i) . ', ' . (20 + 20 * $i) . ') g');
}
my $lastid = $src->safe_psql('app', 'SELECT max(id) FROM rtpush.outbox');
cmp_ok($lastid, '>', 64 * 2, "ids used up to $lastid");

# Case 2: the rule's function cannot go.
my ($rc, $o, $e) = $src->psql('app', 'DROP FUNCTION authz.member(text, jsonb)');
isnt($rc, 0, 'DROP FUNCTION of a rule\'s function is refused');
like($e, qr/channel rule/, 'and the error names the rule');

my $rules_sql = 'SELECT pattern, rule, owner_capture, check_function FROM rtpush.channel_rules ORDER BY 1';
my $trig_sql = q{SELECT tgrelid::regclass, tgname, tgenabled, pg_get_triggerdef(oid) FROM pg_trigger
                  WHERE NOT tgisinternal AND tgrelid IN ('ticks'::regclass, 'notes'::regclass) ORDER BY 1::text, 2};
my $rules = $src->safe_psql('app', $rules_sql);
my $trig = $src->safe_psql('app', $trig_sql);
my $desc = describe_extension($src, 'app');
like($trig, qr/\|A\|/, 'an ALWAYS trigger') and like($trig, qr/\|D\|/, 'a disabled trigger');

my $dir = $PostgreSQL::Test::Utils::tmp_check;
my @src = ('-h', $src->host, '-p', $src->port);
command_ok([ 'pg_dump', @src, '-d', 'app', '-Fc', '-f', "$dir/app.dump" ], 'pg_dump -Fc');
command_ok([ 'pg_dump', @src, '-d', 'app', '-f', "$dir/app.sql" ], 'pg_dump (plain)');
command_ok([ 'psql', @src, '-d', 'app', '-XAtc', "\\copy rtpush.outbox TO '$dir/outbox.copy'" ],
	'the queue copied out by hand (every column, xids too)');
$src->stop;

my $dst = rtpush_node('dst', sink => $sink, no_setup => 1);
my @dst = ('-h', $dst->host, '-p', $dst->port);
$dst->safe_psql('postgres', 'CREATE DATABASE plain');
command_ok([ 'pg_restore', @dst, '-d', 'app', '-j', '2', '--exit-on-error', "$dir/app.dump" ],
	'pg_restore -j 2 (custom format) into the worker\'s database');
command_ok([ 'psql', @dst, '-d', 'plain', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', "$dir/app.sql" ],
	'plain dump restored with psql');

for my $db ('app', 'plain')
{
	is($dst->safe_psql($db, $rules_sql), $rules, "$db: every channel rule restored");
	is($dst->safe_psql($db, $trig_sql), $trig, "$db: every trigger restored, with its enabled state");
	my %a = map { $_ => 1 } split /\n/, $desc;
	my %b = map { $_ => 1 } split /\n/, describe_extension($dst, $db);
	my @diff = ((map { "dumped: $_" } grep { !$b{$_} } sort keys %a),
		(map { "restored: $_" } grep { !$a{$_} } sort keys %b));
	is(scalar(@diff), 0, "$db: the extension's definition restored") or diag(join "\n", @diff);
	is($dst->safe_psql($db, 'SELECT count(*) FROM rtpush.outbox'), '0', "$db: the queue is not in a dump");
	cmp_ok($dst->safe_psql($db, q{SELECT rtpush.send('x', 'e', '{}')}), '>', $lastid,
		"$db: event ids go on after the dumped cluster's ($lastid)");
	is($dst->safe_psql($db, q{SELECT rtpush.authorize_channel('1.2', 'private-room.7', '7') ? 'auth'}),
		't', "$db: the unqualified function rule authorizes");
}
wait_worker($dst);
ok($dst->poll_query_until('app', 'SELECT count(*) = 0 FROM rtpush.outbox'), 'app: the send() delivered');

# Case 6: the queue carried by hand, foreign xids and all: delivered now.
# In one transaction, so that the worker cannot deliver the rows before
# they are counted: each carries the copying transaction's xid.
my $copied = $dst->safe_psql('app', "BEGIN;\n\\copy rtpush.outbox FROM '$dir/outbox.copy'\n"
	. "SELECT count(*) FROM rtpush.outbox WHERE xid::text = pg_current_xact_id()::text;\nCOMMIT;");
is($copied, '60', 'the queue copied in by hand: the copied rows carry the copying transaction\'s xid');
account('carried queue', $dst, $sink, timeout => 30);

# Case 6: a data-only restore queues every row again, unless --disable-triggers.
$dst->safe_psql('plain', 'DELETE FROM rtpush.outbox; TRUNCATE ticks');
command_ok([ 'pg_restore', @dst, '-d', 'plain', '--data-only', '-t', 'ticks', "$dir/app.dump" ],
	'data-only restore of ticks');
is($dst->safe_psql('plain', 'SELECT count(*) FROM rtpush.outbox'), '60',
	'a data-only restore fires the triggers: every row queued again (README warns)');
$dst->safe_psql('plain', 'DELETE FROM rtpush.outbox; TRUNCATE ticks');
command_ok([ 'pg_restore', @dst, '-d', 'plain', '--data-only', '--disable-triggers', '-t', 'ticks', "$dir/app.dump" ],
	'data-only restore with --disable-triggers');
is($dst->safe_psql('plain', 'SELECT count(*) FROM ticks') . '/' . $dst->safe_psql('plain', 'SELECT count(*) FROM rtpush.outbox'),
	'60/0', '--disable-triggers restores the rows and queues nothing');
is($dst->safe_psql('plain', q{SELECT count(*) FROM pg_trigger WHERE tgrelid = 'ticks'::regclass AND tgenabled = 'O'}),
	'1', 'and leaves the trigger enabled');

$dst->stop;
$sink->stop;
done_testing();
