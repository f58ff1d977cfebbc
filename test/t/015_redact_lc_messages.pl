# 015_redact_lc_messages.pl: the log hook (src/redact.c) keeps the secrets
# out of a server log written in another language.
#
# With lc_messages = de_DE.UTF-8, PostgreSQL writes "Anweisung: ..." for
# log_statement and "Parameter »...« auf »...« gesetzt" on a reload; the
# hook recognises both by their untranslated format, so neither an
# ALTER SYSTEM SET rtpush.secret statement nor the reload that applies it
# puts the value in the log.  Skipped where PostgreSQL has no German
# translation or the system cannot make the de_DE.UTF-8 locale.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use RtpushTest;
use Test::More;
use Time::HiRes qw(usleep);

my $locale = 'de_DE.UTF-8';
my ($major) = `pg_config --version` =~ /PostgreSQL (\d+)/;
chomp(my $localedir = `pg_config --localedir`);
plan skip_all => "no German translation in $localedir"
  unless -f "$localedir/de/LC_MESSAGES/postgres-$major.mo";
if (!grep { /^de_DE\.utf-?8$/i } split /\n/, `locale -a 2>/dev/null`)
{
	# a private locale directory: the system's locales stay as they are
	my $dir = "$PostgreSQL::Test::Utils::tmp_check/locale";
	mkdir $dir;
	system("localedef -i de_DE -f UTF-8 $dir/$locale >/dev/null 2>&1");
	plan skip_all => "cannot make locale $locale" unless -d "$dir/$locale";
	$ENV{LOCPATH} = $dir;
}

my $node = rtpush_node('redact_de', conf => <<"CONF");
lc_messages = '$locale'
log_statement = all
CONF
my $fresh = 'fresh-secret-' . join('', map { sprintf '%02x', int(rand(256)) } 1 .. 12);
$node->safe_psql('app', "ALTER SYSTEM SET rtpush.secret = '$fresh'");
$node->safe_psql('app', 'SELECT pg_reload_conf()');
my $logged = 0;
for (1 .. 100)
{
	last if ($logged = slurp_file($node->logfile) =~ /rtpush\.secret.{0,40}(?:changed|gesetzt)/);
	usleep(100_000);
}
ok($logged, 'the reload logged the change of rtpush.secret');
$node->stop;

my $log = slurp_file($node->logfile);
like($log, qr/Anweisung: /, 'the server log is in German (log_statement writes "Anweisung:")');
like($log, qr/statement: <names an rtpush secret setting; not logged>/,
	'the statement that sets rtpush.secret is replaced');
like($log, qr/parameter "rtpush\.secret" changed \(value not logged\)/,
	'the reload line names the setting without its value');
my @leaks = grep { /\Q$fresh\E/ } split /\n/, $log;
is(scalar(@leaks), 0, 'the new rtpush.secret appears in no log line')
  or diag(join("\n", @leaks));
done_testing();
