# RtpushTest.pm: shared parts of rtpush's TAP tests (test/t/*.pl).
#
# - rtpush_node(): a PostgreSQL::Test::Cluster with rtpush preloaded, the
#   worker's database "app", rtpush created there, and table ticks whose
#   rows become events (rtpush.attach: event "tick" on channel "load-{ch}",
#   data = the row, so data.seq is the row's unique sequence number).
# - start_sink(): test/t/sink.mjs, a recording (and fault-injecting, or
#   https) Pusher HTTP API endpoint, driven over its control port.
# - start_soketi(): test/t/soketi.mjs, a real soketi with a real pusher-js
#   subscriber on the given channels; the same interface as a sink (events,
#   counts, port, stop, sink_settings).
# - start_load(): test/t/load.mjs, steady autocommitted INSERTs into ticks
#   that survive crashes and failovers, logging every acknowledged seq.
# - account(): waits until every committed row's event reached the sink,
#   then counts committed, delivered, lost and duplicate events, checks
#   per-channel order, and prints one "RELIABILITY|..." line for the README.
#
# Every process started here is stopped by its pid at the end of the test
# (stop methods, and an END block for tests that die halfway).
package RtpushTest;

use strict;
use warnings;

use Exporter 'import';
use File::Basename qw(dirname);
use File::Spec;
use HTTP::Tiny;
use IPC::Run;
use JSON::PP;
use Time::HiRes qw(time usleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(rtpush_node start_sink start_soketi start_load worker_pid wait_worker
  wait_new_worker status_row committed_seqs account tick_sql
  sink_settings $TDIR);

our $TDIR = File::Spec->rel2abs(dirname(__FILE__));
my @children;    # harnesses still running

my $user = getpwuid($<);
$ENV{PGUSER} = $user;

sub _spawn
{
	my ($name, @cmd) = @_;
	my $out = "$PostgreSQL::Test::Utils::tmp_check/$name.$$." . scalar(@children) . '.out';
	unlink $out;
	my $h = IPC::Run::start(\@cmd, '<', '/dev/null', '>', $out, '2>&1');
	push @children, $h;
	my $deadline = time + 30;
	while (time < $deadline)
	{
		my $text = -e $out ? slurp_file($out) : '';
		return ($h, $out, $1) if $text =~ /^(READY.*)$/m;
		die "$name exited early: $text" unless $h->pumpable;
		usleep(50_000);
	}
	die "$name did not start: " . slurp_file($out);
}

sub _stop_child
{
	my ($h) = @_;
	return unless $h;
	$h->signal('TERM') if $h->pumpable;
	my $deadline = time + 10;
	while ($h->pumpable && time < $deadline)
	{
		usleep(50_000);
		eval { $h->pump_nb };
	}
	eval { $h->kill_kill(grace => 2) } if $h->pumpable;
	eval { $h->finish };
	@children = grep { $_ != $h } @children;
}

END
{
	local $?;
	_stop_child($_) for @children;
}

# ---------------------------------------------------------------- sink

# start_sink(tls => [cert, key], secret => ...): a running sink.mjs
sub start_sink
{
	my (%o) = @_;
	my @cmd = ('node', "$TDIR/sink.mjs");
	my %cred = (app => $o{app_id} // 'rtpush-tap', key => $o{key} // 'tap-key',
		secret => $o{secret} // 'tap-secret');
	push @cmd, '--app-id', $cred{app}, '--key', $cred{key}, '--secret', $cred{secret};
	push @cmd, '--tls', join(',', @{ $o{tls} }) if $o{tls};
	push @cmd, '--port', $o{port} if $o{port};
	my ($h, $out, $ready) = _spawn('sink', @cmd);
	my (undef, $port, $ctl) = split ' ', $ready;
	return bless { h => $h, out => $out, port => $port, ctl => $ctl, %cred,
		scheme => $o{tls} ? 'https' : 'http' }, 'RtpushTest::Sink';
}

# start_soketi(channels => [...], app_id, key, secret): a running soketi.mjs
sub start_soketi
{
	my (%o) = @_;
	my %cred = (app => $o{app_id} // 'rtpush-tap', key => $o{key} // 'tap-key',
		secret => $o{secret} // 'tap-secret');
	my ($h, $out, $ready) = _spawn('soketi', 'node', "$TDIR/soketi.mjs",
		'--app-id', $cred{app}, '--key', $cred{key}, '--secret', $cred{secret},
		'--channels', join(',', @{ $o{channels} }));
	my (undef, $port, $ctl) = split ' ', $ready;
	return bless { h => $h, out => $out, port => $port, ctl => $ctl, %cred,
		scheme => 'http' }, 'RtpushTest::Sink';
}

# postgresql.conf lines pointing rtpush at a sink
sub sink_settings
{
	my ($sink) = @_;
	return "rtpush.app_id = '$sink->{app}'\nrtpush.key = '$sink->{key}'\n"
	  . "rtpush.secret = '$sink->{secret}'\nrtpush.scheme = '$sink->{scheme}'\n"
	  . "rtpush.host = '127.0.0.1'\nrtpush.port = $sink->{port}\n";
}

package RtpushTest::Sink;

use HTTP::Tiny;
use JSON::PP;

my $http = HTTP::Tiny->new(timeout => 30);

sub _call
{
	my ($self, $method, $path, $body) = @_;
	my $r = $http->request($method, "http://127.0.0.1:$self->{ctl}$path",
		defined $body ? { content => encode_json($body) } : {});
	die "sink $path: $r->{status} $r->{content}" unless $r->{success};
	return decode_json($r->{content});
}

sub stats  { $_[0]->_call('GET',  '/stats') }
sub events { $_[0]->_call('GET',  '/events') }
sub plan   { $_[0]->_call('POST', '/plan', $_[1]) }
sub port   { $_[0]{port} }

# seq => times delivered
sub counts
{
	my ($self) = @_;
	my %n;
	$n{ $_->[0] }++ for grep { defined $_->[0] } @{ $self->events };
	return \%n;
}

sub stop
{
	my ($self) = @_;
	RtpushTest::_stop_child($self->{h});
	$self->{h} = undef;
}

package RtpushTest;

# ---------------------------------------------------------------- nodes

# The rows of ticks become events on channel load-<ch>.
sub tick_sql
{
	return q{
CREATE TABLE IF NOT EXISTS ticks (seq bigint PRIMARY KEY, ch int NOT NULL,
                                  at timestamptz NOT NULL DEFAULT clock_timestamp());
SELECT rtpush.attach('ticks', 'tick', ARRAY['load-{ch}'], operations => '{INSERT}');
};
}

# rtpush_node(name, sink => $sink, conf => "...", allows_streaming => 1,
#             no_setup => 1): started, with database app, rtpush and ticks
sub rtpush_node
{
	my ($name, %o) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(allows_streaming => $o{allows_streaming} ? 1 : 0);
	$node->append_conf('postgresql.conf', "fsync = on\n") if $o{fsync};
	$node->start;
	$node->safe_psql('postgres', 'CREATE DATABASE app');
	$node->stop;
	my $conf = "shared_preload_libraries = 'rtpush'\n"
	  . "rtpush.database_name = 'app'\n"
	  . "rtpush.poll_interval = 200\n"
	  . "rtpush.retry_base = 100\n"
	  . "rtpush.retry_max = 2000\n"
	  . "log_line_prefix = '%m [%p] %b '\n"
	  . "max_connections = 40\n"
	  . "restart_after_crash = on\n";
	$conf .= sink_settings($o{sink}) if $o{sink};
	$conf .= $o{conf} if $o{conf};
	$node->append_conf('postgresql.conf', $conf);
	$node->start;
	$node->safe_psql('app', 'CREATE EXTENSION rtpush;' . tick_sql())
	  unless $o{no_setup};
	return $node;
}

sub worker_pid
{
	my ($node) = @_;
	my $pid = $node->safe_psql('postgres',
		q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'rtpush delivery worker'});
	return $pid eq '' ? undef : $pid;
}

# waits until a worker runs (connected to app); returns its pid
sub wait_worker
{
	my ($node) = @_;
	$node->poll_query_until('postgres',
		q{SELECT count(*) = 1 FROM pg_stat_activity
		  WHERE backend_type = 'rtpush delivery worker' AND datname = 'app'})
	  or die 'no rtpush delivery worker in pg_stat_activity';
	return worker_pid($node);
}

# waits until a worker other than $old runs; returns its pid
sub wait_new_worker
{
	my ($node, $old) = @_;
	$node->poll_query_until('postgres',
		qq{SELECT count(*) = 1 FROM pg_stat_activity
		   WHERE backend_type = 'rtpush delivery worker' AND datname = 'app'
		     AND pid <> $old})
	  or die "the rtpush delivery worker (pid $old) was not replaced";
	return worker_pid($node);
}

sub status_row
{
	my ($node) = @_;
	my $out = $node->safe_psql('app',
		q{SELECT row_to_json(s) FROM rtpush.status s});
	return decode_json($out);
}

sub committed_seqs
{
	my ($node) = @_;
	my %c = map { $_ => 1 } split /\n/, $node->safe_psql('app', 'SELECT seq FROM ticks');
	return \%c;
}

# ---------------------------------------------------------------- load

# start_load($node_or_nodes, rate => 300, seconds => 10, conns => 4,
#            first_seq => 1): a running load.mjs; ->stop, ->acked
sub start_load
{
	my ($nodes, %o) = @_;
	$nodes = [$nodes] unless ref $nodes eq 'ARRAY';
	my $acked = "$PostgreSQL::Test::Utils::tmp_check/acked.$$." . int(rand(1e9));
	my @cmd = ('node', "$TDIR/load.mjs",
		'--targets', join(',', map { $_->host . ':' . $_->port } @$nodes),
		'--db', $o{db} // 'app', '--conns', $o{conns} // 4,
		'--rate', $o{rate} // 300, '--seconds', $o{seconds} // 10,
		'--first-seq', $o{first_seq} // 1, '--acked', $acked);
	my ($h, $out) = _spawn('load', @cmd);
	return bless { h => $h, out => $out, acked => $acked }, 'RtpushTest::Load';
}

package RtpushTest::Load;

use Time::HiRes qw(time usleep);
use PostgreSQL::Test::Utils;

# waits for the load to end by itself (up to $timeout s)
sub wait
{
	my ($self, $timeout) = @_;
	my $deadline = time + ($timeout // 120);
	usleep(100_000) while $self->{h}->pumpable && time < $deadline;
	$self->stop;
}

sub stop
{
	my ($self) = @_;
	RtpushTest::_stop_child($self->{h}) if $self->{h};
	$self->{h} = undef;
	my $out = slurp_file($self->{out});
	$self->{done} = $1 if $out =~ /^DONE (.*)$/m;
	return $self;
}

sub acked
{
	my ($self) = @_;
	my %a = map { $_ => 1 } split /\n/, slurp_file($self->{acked});
	return \%a;
}

sub acked_count { scalar keys %{ $_[0]->acked } }

package RtpushTest;

# ---------------------------------------------------------------- accounting

# account($name, $node, $sink, acked => \%seqs, timeout => 120,
#         window => n (duplicates allowed), since => seq (only seqs >= it))
#
# Committed = the rows of ticks (plus every acknowledged seq, which must be
# among them).  Waits until every committed seq was delivered, then reports.
# Returns {committed, delivered, lost, duplicates, extra}.
sub account
{
	my ($name, $node, $sink, %o) = @_;
	my $committed = committed_seqs($node);
	my $min = $o{since} // 0;
	my $max = $o{below} // 9e18;
	delete $committed->{$_} for grep { $_ < $min || $_ >= $max } keys %$committed;
	if ($o{acked})
	{
		my @missing = grep { !$committed->{$_} } keys %{ $o{acked} };
		is(scalar(@missing), 0,
			"$name: every acknowledged commit is in the table")
		  or diag("acknowledged but not in ticks: @missing[0 .. ($#missing > 9 ? 9 : $#missing)]");
	}
	my $deadline = time + ($o{timeout} // 120);
	my ($counts, @lost);
	while (1)
	{
		$counts = $sink->counts;
		@lost = grep { !$counts->{$_} } keys %$committed;
		last if !@lost || time > $deadline;
		usleep(250_000);
	}
	my @seen = grep { $_ >= $min && $_ < $max } keys %$counts;
	my $dups = 0;
	$dups += $counts->{$_} - 1 for @seen;
	my @extra = grep { !$committed->{$_} } @seen;
	my %r = (committed => scalar(keys %$committed),
		delivered => scalar(keys %$committed) - scalar(@lost),
		lost => scalar(@lost), duplicates => $dups, extra => scalar(@extra));

	cmp_ok(scalar(keys %$committed), '>', 0, "$name: events were committed");
	is($r{lost}, 0, "$name: lost = 0 ($r{committed} committed)")
	  or diag("lost seqs (first 20): @{[ (sort { $a <=> $b } @lost)[0 .. ($#lost > 19 ? 19 : $#lost)] ]}\n"
		  . 'status: ' . encode_json(status_row($node)));
	is($r{extra}, 0, "$name: nothing delivered that was not committed");
	if (defined $o{window})
	{
		cmp_ok($dups, '<=', $o{window},
			"$name: duplicates ($dups) within the bound ($o{window})");
	}
	ok(order_ok($sink, $min, $max), "$name: per-channel order kept, positions increasing (first deliveries)");
	diag(sprintf('RELIABILITY|%s|%d|%d|%d|%d', $name, @r{qw(committed delivered lost duplicates)}));
	return \%r;
}

# Each channel has one writing session whose seqs increase: the first
# delivery of each seq must come in increasing order on its channel.  With
# history on, their positions (rtpush_position) must increase too, across
# crashes and failovers (a repeat may carry a newer one: first deliveries
# only).
sub order_ok
{
	my ($sink, $min, $max) = @_;
	my (%last, %lastpos, %seen, $bad);
	for my $e (@{ $sink->events })
	{
		my ($seq, $ch, undef, undef, $pos) = @$e;
		next unless defined $seq && $seq >= $min && $seq < $max;
		next if $seen{$seq}++;
		if (defined $last{$ch} && $seq < $last{$ch})
		{
			diag("order: $seq after $last{$ch} on $ch") if ++$bad <= 5;
		}
		$last{$ch} = $seq if !defined $last{$ch} || $seq > $last{$ch};
		next unless defined $pos;
		if (defined $lastpos{$ch} && $pos <= $lastpos{$ch})
		{
			diag("position: $seq at $pos after $lastpos{$ch} on $ch") if ++$bad <= 5;
		}
		$lastpos{$ch} = $pos if !defined $lastpos{$ch} || $pos > $lastpos{$ch};
	}
	return !$bad;
}

1;
