# 003_failover.pl: a primary and a synchronous streaming standby, rtpush
# preloaded on both.  Events are written under steady load while the
# endpoint answers 503, so the outbox (and the old worker's retry
# bookkeeping) builds up and replicates; the primary is stopped
# (immediate), the standby promoted, the endpoint healed: the new primary's
# worker delivers every event committed on the old one, and the load goes
# on against the new primary.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use RtpushTest;
use Test::More;

my $sink = start_sink();
$sink->plan([ { status => 503, body => '{"error":"unavailable"}' } ]);

# The outage is not the subject here: enough attempts to outlive it.
my $primary = rtpush_node('primary', sink => $sink, allows_streaming => 1,
	conf => "rtpush.max_attempts = 1000\n");
wait_worker($primary);
$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;
$primary->safe_psql('postgres', q{ALTER SYSTEM SET synchronous_standby_names = 'standby'});
$primary->reload;
ok($primary->poll_query_until('postgres',
		q{SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby'}, 'sync'),
	'standby is a synchronous standby');
is($standby->safe_psql('postgres',
		q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'rtpush delivery worker'}),
	0, 'no delivery worker on the standby while in recovery');

# Load while the endpoint is down.
my $load = start_load([ $primary, $standby ], rate => 300, seconds => 14, conns => 4);
sleep 5;
my $st = status_row($primary);
note("old primary before the stop: state '$st->{state}', queued $st->{queued}, "
	  . "failed attempts $st->{failed}, last error: " . ($st->{last_error} // ''));
cmp_ok($st->{queued}, '>', 0, 'events pile up on the primary while the endpoint answers 503');
my $oldcount = $primary->safe_psql('app', 'SELECT count(*) FROM ticks');
is($sink->stats->{delivered}, 0, 'nothing delivered before the failover');

$primary->stop('immediate');
$standby->promote;
$sink->plan([]);
my $pid = wait_worker($standby);
ok($pid, "the promoted standby runs a delivery worker (pid $pid)");

$load->wait(60);
note('load: ' . ($load->{done} // 'no summary'));
cmp_ok($standby->safe_psql('app', 'SELECT count(*) FROM ticks'), '>', $oldcount,
	'the load went on against the new primary');
account('failover: sync standby promoted', $standby, $sink,
	acked => $load->acked, timeout => 120);
is($standby->safe_psql('app', 'SELECT count(*) FROM rtpush.dead_letter'), 0,
	'nothing in the dead letter');

$standby->stop;
$sink->stop;
done_testing();
