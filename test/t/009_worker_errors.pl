# 009_worker_errors.pl: errors the delivery worker catches are logged whole
# (SQLSTATE, message, detail, hint, context) and it goes on after a pause
# without losing or reordering anything (issue 15):
# - libcurl refusing an option (an LD_PRELOAD shim, test/t/shim/curl_fault.c,
#   refuses CURLOPT_TCP_NODELAY three times): a PostgreSQL error, not a
#   request sent with the wrong options, and no worker restart; the repeats
#   of the same error are counted, not logged again (issue 23);
# - an error inside the worker's transaction (a trigger on the outbox that
#   raises with a detail and a hint): every part of it reaches the log.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use RtpushTest;
use Test::More;
use Time::HiRes qw(usleep);

my $shim = "$PostgreSQL::Test::Utils::tmp_check/curl_fault.so";
system('gcc', '-O1', '-shared', '-fPIC', '-o', $shim, "$TDIR/shim/curl_fault.c", '-ldl') == 0
  or BAIL_OUT('could not build the libcurl fault shim');

my $sink = start_sink();
local $ENV{LD_PRELOAD} = $shim;
local $ENV{RTPUSH_CURL_FAIL_OPTION} = 121;    # CURLOPT_TCP_NODELAY
local $ENV{RTPUSH_CURL_FAIL_TIMES} = 3;
my $node = rtpush_node('errors', sink => $sink,
	conf => "log_line_prefix = '%m [%p] %e %b '\n");
my $pid = wait_worker($node);
my $log_from = -s $node->logfile;

$node->safe_psql('app', 'INSERT INTO ticks (seq, ch) SELECT g, g % 3 FROM generate_series(1, 30) g');
account('libcurl refusing an option', $node, $sink, timeout => 60);
is(worker_pid($node), $pid, 'the worker went on without a restart');

my $log = substr(slurp_file($node->logfile), $log_from);
my @refused = $log =~ /^.*\[$pid\] 38000 .*rtpush delivery worker: libcurl refused an HTTP request option: .*$/mg;
# the same error again within rtpush.log_failure_interval is counted, not
# logged again (issue 23: no flood): the first refusal is logged whole, the
# other two are counted in one line once the worker runs normally again
is(scalar(@refused), 1, 'the first refusal is one LOG line with SQLSTATE 38000 (' . scalar(@refused) . ')')
  or diag($log);
like($log, qr/\[$pid\] 00000 [^\n]*LOG:  rtpush delivery worker runs normally again; its last error came 2 more times, not logged: libcurl refused an HTTP request option/,
	'the two repeats are counted in one line once the worker runs normally again')
  or diag($log);
like($log, qr/libcurl refused an HTTP request option: [^\n]+\n[^\n]*DETAIL:  The option was CURLOPT_TCP_NODELAY\.\n[^\n]*HINT:  Check the libcurl library/,
	'the refusal is logged with its detail (the option) and hint');
unlike($log, qr/background worker "rtpush delivery worker" \(PID $pid\) exited/,
	'the worker did not exit');

# An error inside the worker's transaction, with every part set.
$node->safe_psql('app', q{
CREATE FUNCTION refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'outbox frozen for maintenance'
    USING ERRCODE = 'P0099', DETAIL = 'ticket OPS-7', HINT = 'wait for the window to end';
END $$;
CREATE TRIGGER refuse_delete BEFORE DELETE ON rtpush.outbox
  FOR EACH ROW EXECUTE FUNCTION refuse_delete();
});
$log_from = -s $node->logfile;
$node->safe_psql('app', 'INSERT INTO ticks (seq, ch) SELECT g, g % 3 FROM generate_series(31, 40) g');
my $ok = 0;
for (1 .. 100)
{
	$log = substr(slurp_file($node->logfile), $log_from);
	last if ($ok = $log =~ /rtpush delivery worker: outbox frozen/);
	usleep(100_000);
}
like($log, qr/\[$pid\] P0099 [^\n]*LOG:  rtpush delivery worker: outbox frozen for maintenance\n[^\n]*DETAIL:  ticket OPS-7\n[^\n]*HINT:  wait for the window to end\n[^\n]*CONTEXT:  PL\/pgSQL function refuse_delete\(\)/,
	'an error in the worker\'s transaction is logged with SQLSTATE, detail, hint and context');
$node->safe_psql('app', 'DROP TRIGGER refuse_delete ON rtpush.outbox');
account('after the transaction errors', $node, $sink, timeout => 60);
is(worker_pid($node), $pid, 'still the same worker');

$node->stop;
$sink->stop;
done_testing();
