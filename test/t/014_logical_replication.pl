# 014_logical_replication.pl: a FOR ALL TABLES publication (issue 23, case
# 3).  Publisher and subscriber both run rtpush, each with its own endpoint.
# The publication replicates rtpush's own tables too (outbox, dead_letter,
# channel_rules, presence): the subscriber must never deliver the
# publisher's events (its outbox stays free of them, its endpoint never
# sees them), its own rules and presence stay its own, keys that both sides
# hold (a rule, a presence row) do not stop the subscription, and a table
# whose rtpush trigger is ENABLE ALWAYS on the subscriber queues the
# subscriber's own events for replicated rows, which its worker delivers.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use RtpushTest;
use Test::More;

my $psink = start_sink();
my $ssink = start_sink();
my $alerts = q{
CREATE TABLE alerts (seq bigint PRIMARY KEY, ch int NOT NULL);
SELECT rtpush.attach('alerts', 'alert', ARRAY['alert-{ch}'], operations => '{INSERT}');
INSERT INTO rtpush.channel_rules (pattern, rule) VALUES ('private-user.{user_id}', 'owner');
INSERT INTO rtpush.presence VALUES ('presence-room.1', '7', true, now(), now(), 1);
};
# the publisher cannot deliver yet: its queue is there when the subscription copies
my $pub = rtpush_node('pub', conf => "wal_level = logical\nmax_wal_senders = 5\nmax_replication_slots = 5\n");
my $sub = rtpush_node('sub', sink => $ssink);
$pub->safe_psql('app', $alerts);
$sub->safe_psql('app', $alerts . 'ALTER TABLE alerts ENABLE ALWAYS TRIGGER rtpush_alert;');
$pub->safe_psql('app', q{
INSERT INTO rtpush.channel_rules (pattern, rule) VALUES ('private-pub.{user_id}', 'owner');
INSERT INTO ticks (seq, ch) SELECT g, g % 3 FROM generate_series(1, 50) g;
CREATE PUBLICATION everything FOR ALL TABLES;
});
is($pub->safe_psql('app', 'SELECT count(*) FROM rtpush.outbox'), '50', 'publisher: 50 events queued');
my $subrules = $sub->safe_psql('app', 'SELECT * FROM rtpush.channel_rules ORDER BY 1');
my $subpresence = $sub->safe_psql('app', 'SELECT channel, user_id, online FROM rtpush.presence ORDER BY 1, 2');

$sub->safe_psql('app', 'CREATE SUBSCRIPTION s CONNECTION \'' . $pub->connstr . " dbname=app' PUBLICATION everything");
ok($sub->poll_query_until('app',
		q{SELECT count(*) = 0 FROM pg_subscription_rel WHERE srsubstate NOT IN ('r', 's')}),
	'initial table sync done (rtpush\'s tables included)');
is($sub->safe_psql('app', 'SELECT count(*) FROM pg_subscription_rel WHERE srrelid = \'rtpush.outbox\'::regclass'),
	'1', 'the publication replicates rtpush.outbox');

# Now the publisher delivers (and deletes its rows); more rows on both tables.
$pub->append_conf('postgresql.conf', sink_settings($psink));
$pub->reload;
$pub->safe_psql('app', 'INSERT INTO ticks (seq, ch) SELECT g, g % 3 FROM generate_series(51, 100) g');
$pub->safe_psql('app', 'INSERT INTO alerts (seq, ch) SELECT g, g % 2 FROM generate_series(1001, 1040) g');
$pub->safe_psql('app', q{UPDATE rtpush.presence SET online = false, event_ms = 2});
$pub->safe_psql('app', q{DELETE FROM rtpush.channel_rules WHERE pattern = 'private-user.{user_id}'});
account('publisher', $pub, $psink, timeout => 60, below => 1000);
$pub->wait_for_catchup('s');
is($sub->safe_psql('app', 'SELECT count(*) FROM ticks'), '100', 'subscriber: every ticks row replicated');
is($sub->safe_psql('app', 'SELECT count(*) FROM alerts'), '40', 'subscriber: every alerts row replicated');
is($sub->safe_psql('app', q{SELECT count(*) FROM pg_stat_subscription WHERE subname = 's' AND pid IS NOT NULL}),
	'1', 'the subscription is running');

# The subscriber's own events (ALWAYS trigger) are delivered by its worker.
ok($sub->poll_query_until('app', q{SELECT count(*) = 0 FROM rtpush.outbox}), 'subscriber: outbox drained');
my $c = $ssink->counts;
is(scalar(grep { $_ >= 1001 && $_ <= 1040 } keys %$c), 40,
	'subscriber: its own 40 alert events (ENABLE ALWAYS trigger) delivered');
# A later transaction on the subscriber: the worker's windows move past any
# foreign xid, which 0.1 would then deliver.
$sub->safe_psql('app', q{SELECT rtpush.send('own', 'e', '{"seq": 5000}') FROM generate_series(1, 3)});
ok($sub->poll_query_until('app', q{SELECT count(*) = 0 FROM rtpush.outbox}), 'subscriber: its later events delivered');
$c = $ssink->counts;
is(scalar(grep { $_ <= 100 } keys %$c), 0, 'subscriber: none of the publisher\'s events delivered');
is($sub->safe_psql('app', 'SELECT * FROM rtpush.channel_rules ORDER BY 1'), $subrules,
	'subscriber: its channel rules are its own');
is($sub->safe_psql('app', 'SELECT channel, user_id, online FROM rtpush.presence ORDER BY 1, 2'), $subpresence,
	'subscriber: its presence is its own');
is($sub->safe_psql('app', 'SELECT count(*) FROM rtpush.dead_letter'), '0', 'subscriber: no dead letters');
my $log = slurp_file($sub->logfile);
unlike($log, qr/duplicate key value|logical replication worker.*exited with exit code 1/,
	'the apply worker never failed');

# and it keeps working
$pub->safe_psql('app', 'INSERT INTO ticks (seq, ch) SELECT g, g % 3 FROM generate_series(101, 120) g');
$pub->wait_for_catchup('s');
is($sub->safe_psql('app', 'SELECT count(*) FROM ticks'), '120', 'replication goes on');

$sub->safe_psql('app', 'DROP SUBSCRIPTION s');
$sub->stop;
$pub->stop;
$psink->stop;
$ssink->stop;
done_testing();
