# 011_update.pl: ALTER EXTENSION rtpush UPDATE on a database whose 0.1 has
# events queued.  The worker cannot deliver while they are queued (not
# configured: no endpoint); after the update it is pointed at a recording
# sink and every queued event must arrive exactly once, in order per
# channel, together with events queued after the update.  The updated
# extension must then equal a fresh install of the default version: the
# catalog description of test/t/DbaTest.pm (every member, functions
# with signatures and definitions, columns, constraints, indexes, triggers
# and their enabled state, ACLs, comments, configuration tables) is
# compared line by line between database app (0.1 + UPDATE) and database
# fresh (CREATE EXTENSION rtpush).
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
my $node = rtpush_node('update', no_setup => 1);
my $default = $node->safe_psql('postgres',
	q{SELECT default_version FROM pg_available_extensions WHERE name = 'rtpush'});
isnt($default, '0.1', "default version is past 0.1 ($default)");
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM pg_extension_update_paths('rtpush') WHERE source = '0.1' AND target = }
		  . "'$default' AND path IS NOT NULL"), '1', "an update path 0.1 -> $default exists");

$node->safe_psql('app', "CREATE EXTENSION rtpush VERSION '0.1';" . tick_sql());
is($node->safe_psql('app', q{SELECT extversion FROM pg_extension WHERE extname = 'rtpush'}), '0.1',
	'0.1 installed');
wait_worker($node);
# rules as 0.1 stored them (one function named unqualified under a search_path)
$node->safe_psql('app', rules_sql());
my $rules = $node->safe_psql('app', 'SELECT pattern, rule, owner_capture FROM rtpush.channel_rules ORDER BY 1');

# Events on four channels, by trigger and by send(), while nothing can be
# delivered; one transaction stays open across the update.
$node->safe_psql('app', 'INSERT INTO ticks (seq, ch) SELECT g, g % 4 FROM generate_series(1, 240) g');
$node->safe_psql('app', q{SELECT rtpush.send('load-' || (g % 4), 'tick', jsonb_build_object('seq', g, 'ch', g % 4))
                           FROM generate_series(10001, 10040) g});
my $open = $node->background_psql('app');
$open->query_safe('BEGIN');
$open->query_safe('INSERT INTO ticks (seq, ch) SELECT g, g % 4 FROM generate_series(241, 260) g');
is($node->safe_psql('app', 'SELECT count(*) FROM rtpush.outbox'), '280', '280 events queued on 0.1');
# a worker without an app is not woken by commits: it sees the extension at its next poll
ok($node->poll_query_until('app', q{SELECT state LIKE 'not_configured %' FROM rtpush.status}),
	'the worker cannot deliver them (not configured)');

# The update's DDL on the outbox waits for the open writer; it commits,
# then the update runs.
my $upd = $node->background_psql('app');
$upd->query_until(qr/started/, "\\echo started\nALTER EXTENSION rtpush UPDATE;\n");
# (an update with DDL on the outbox waits for the lock; one without runs)
$node->poll_query_until('app',
	q{SELECT count(*) > 0 FROM pg_stat_activity WHERE query LIKE 'ALTER EXTENSION%' AND wait_event_type = 'Lock'
	  UNION ALL SELECT extversion <> '0.1' FROM pg_extension WHERE extname = 'rtpush'
	  ORDER BY 1 DESC LIMIT 1})
  or die 'the update neither ran nor waits for a lock';
$open->query_safe('COMMIT');
$open->quit;
$upd->quit;
is($node->safe_psql('app', q{SELECT extversion FROM pg_extension WHERE extname = 'rtpush'}), $default,
	"updated to $default");
is($node->safe_psql('app', 'SELECT count(*) FROM rtpush.outbox'), '300',
	'every queued event is still queued after the update (and the open transaction\'s)');
$node->safe_psql('app', 'INSERT INTO ticks (seq, ch) SELECT g, g % 4 FROM generate_series(261, 300) g');

# Now the endpoint: every event arrives, in order per channel.
$node->append_conf('postgresql.conf', sink_settings($sink));
$node->reload;
my $r = account('update', $node, $sink, timeout => 60, below => 10001);
my %sent = map { $_ => 1 } (10001 .. 10040);
my $c = $sink->counts;
is(scalar(grep { $c->{$_} } keys %sent), 40, 'the 40 events of send() on 0.1 delivered');
is(scalar(grep { $c->{$_} > 1 } keys %$c), 0, 'each event delivered once');
ok($node->poll_query_until('app', 'SELECT count(*) = 0 FROM rtpush.outbox'), 'outbox empty');

is($node->safe_psql('app', 'SELECT pattern, rule, owner_capture FROM rtpush.channel_rules ORDER BY 1'),
	$rules, 'channel rules kept by the update');
is($node->safe_psql('app', q{SELECT rtpush.authorize_channel('1.2', 'private-room.7', '7') ? 'auth'}),
	't', 'the function rule still authorizes after the update');
my ($rc) = $node->psql('app', q{SELECT rtpush.authorize_channel('1.2', 'private-room.7', '8')});
isnt($rc, 0, 'and still denies');

# The updated extension equals a fresh install.
$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('fresh', 'CREATE EXTENSION rtpush');
my $fresh = same_extension($node, 'app', 'fresh', 'rtpush', "0.1 + UPDATE equals a fresh $default install");
cmp_ok(scalar(split /\n/, $fresh), '>', 100, 'the description names the extension\'s objects ('
	  . scalar(split /\n/, $fresh) . ' lines)');

$sink->stop;
$node->stop;
done_testing();
