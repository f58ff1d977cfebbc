# 012_pg_upgrade.pl: pg_upgrade of a cluster with rtpush (issue 23, case 1).
# The old cluster has channel rules (owner and function rules, one named
# unqualified under a search_path), rtpush triggers (one ENABLE ALWAYS) and
# events queued while nothing could deliver them.  pg_upgrade --check must
# pass (0.1 stored a regprocedure column, refused by pg_upgrade's reg* check
# even 15 -> 15), then a real upgrade (--link); the new cluster starts, keeps
# rules, triggers and the extension's definition, authorizes with the
# function rule, and delivers every queued event, in order per channel.
#
# Old and new binaries are the PATH's; RTPUSH_UPGRADE_NEW_BINDIR=/path/bin
# upgrades to that installation (rtpush built and installed for it).
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use File::Basename qw(dirname);
use File::Spec;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use RtpushTest;
use DbaTest;
use Test::More;

my $oldbin = dirname(`pg_config --bindir` =~ s/\s+$//r . '/x');
my $newbin = $ENV{RTPUSH_UPGRADE_NEW_BINDIR} || $oldbin;
note("upgrading from $oldbin to $newbin");

my $sink = start_sink();
my $old = rtpush_node('old');
$old->safe_psql('app', rules_sql() . q{
CREATE TABLE notes (id int PRIMARY KEY, ch int NOT NULL, body text);
SELECT rtpush.attach('notes', 'note', ARRAY['load-n{ch}']);
ALTER TABLE notes ENABLE ALWAYS TRIGGER rtpush_note;
});
$old->safe_psql('app', 'INSERT INTO ticks (seq, ch) SELECT g, g % 3 FROM generate_series(1, 150) g');
is($old->safe_psql('app', 'SELECT count(*) FROM rtpush.outbox'), '150', '150 events queued (no endpoint)');
my $rules = $old->safe_psql('app', 'SELECT pattern, rule, owner_capture FROM rtpush.channel_rules ORDER BY 1');
my $trig = $old->safe_psql('app',
	q{SELECT tgrelid::regclass, tgname, tgenabled, pg_get_triggerdef(oid) FROM pg_trigger
	   WHERE NOT tgisinternal AND tgrelid IN ('ticks'::regclass, 'notes'::regclass) ORDER BY 1::text, 2});
my $desc = describe_extension($old, 'app');
my $lastid = $old->safe_psql('app', 'SELECT max(id) FROM rtpush.outbox');
$old->stop;

my $new = PostgreSQL::Test::Cluster->new('new', install_path => dirname($newbin));
# initdb enables data checksums from PostgreSQL 18 on; pg_upgrade needs the
# old cluster's setting: off when the old initdb is older than 18
my ($oldmajor) = `$oldbin/pg_config --version` =~ /PostgreSQL (\d+)/;
my ($newmajor) = `$newbin/pg_config --version` =~ /PostgreSQL (\d+)/;
$new->init(extra => [ ($newmajor // 0) >= 18 && ($oldmajor // 0) < 18 ? ('--no-data-checksums') : () ]);
$new->append_conf('postgresql.conf', "shared_preload_libraries = 'rtpush'\nrtpush.database_name = 'app'\n"
	  . "rtpush.poll_interval = 200\nrtpush.retry_base = 100\n");

my @cmd = ("$newbin/pg_upgrade", '--no-sync', '-d', File::Spec->rel2abs($old->data_dir), '-D', File::Spec->rel2abs($new->data_dir),
	'-b', $oldbin, '-B', $newbin, '-p', $old->port, '-P', $new->port,
	'-s', $new->host, '-U', $ENV{PGUSER});
use Cwd qw(getcwd);
my $home = getcwd();
chdir File::Spec->rel2abs($PostgreSQL::Test::Utils::tmp_check);    # pg_upgrade writes its logs here
my ($out, $err) = run_command([ @cmd, '--check' ]);
like($out, qr/Clusters are compatible/, 'pg_upgrade --check passes with rtpush installed')
  or diag("$out\n$err");
# RTPUSH_UPGRADE_CHECK_ONLY: only the compatibility check.  test/run sets it
# for PostgreSQL 18, whose pg_upgrade (Debian's 18.6-3) fails to restore any
# table from 15, with or without rtpush: its pg_dump writes "ALTER COLUMN ...
# SET (pg_attver=N)", which its server refuses (README: PostgreSQL versions).
if ($ENV{RTPUSH_UPGRADE_CHECK_ONLY})
{
	chdir $home;
	done_testing();
	exit 0;
}
($out, $err) = run_command([ @cmd, '--link' ]);
like($out, qr/Upgrade Complete/, 'pg_upgrade --link completes') or diag("$out\n$err");
chdir $home;

$new->append_conf('postgresql.conf', sink_settings($sink));
$new->start;
is($new->safe_psql('app', 'SELECT pattern, rule, owner_capture FROM rtpush.channel_rules ORDER BY 1'),
	$rules, 'channel rules intact');
is($new->safe_psql('app',
		q{SELECT tgrelid::regclass, tgname, tgenabled, pg_get_triggerdef(oid) FROM pg_trigger
		   WHERE NOT tgisinternal AND tgrelid IN ('ticks'::regclass, 'notes'::regclass) ORDER BY 1::text, 2}),
	$trig, 'triggers intact, with their enabled state (ALWAYS)');
# Across major versions ACLs and deparsed definitions are written
# differently (17 adds the MAINTAIN privilege): compare what is rtpush's.
my $same = $newbin eq $oldbin;
my $keep = sub { $same || $_[0] =~ /^(extension|config|member|constraint|index|sequence|event trigger) / };
my %a = map { $_ => 1 } grep { $keep->($_) } split /\n/, $desc;
my %b = map { $_ => 1 } grep { $keep->($_) } split /\n/, describe_extension($new, 'app');
my @diff = ((map { "before only: $_" } grep { !$b{$_} } sort keys %a), (map { "after only: $_" } grep { !$a{$_} } sort keys %b));
is(scalar(@diff), 0, 'the extension\'s definition is the same after the upgrade') or diag(join "\n", @diff);
ok($new->safe_psql('app', q{SELECT rtpush.authorize_channel('1.2', 'private-room.7', '7') ? 'auth'}) eq 't',
	'the function rule still authorizes');
my ($rc) = $new->psql('app', q{SELECT rtpush.authorize_channel('1.2', 'private-room.7', '8')});
isnt($rc, 0, 'and still denies');
wait_worker($new);
account('pg_upgrade', $new, $sink, timeout => 60);
$new->safe_psql('app', 'INSERT INTO ticks (seq, ch) SELECT g, g % 3 FROM generate_series(151, 200) g');
account('after pg_upgrade', $new, $sink, timeout => 60);
cmp_ok($new->safe_psql('app', q{SELECT rtpush.send('x', 'e', '{}')}), '>', $lastid,
	'event ids go on after the last one queued before the upgrade');
$new->stop;
$sink->stop;
done_testing();
