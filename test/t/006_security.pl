# 006_security.pl: secrets kept, privileges, TLS verification.
#
# - As a non-superuser: SHOW / current_setting() of rtpush.secret and
#   rtpush.encryption_master_key fail, pg_settings and SHOW ALL hide them.
# - The outbox, dead letter and history are not readable by PUBLIC;
#   rtpush.send and rtpush.history are not executable by PUBLIC.
# - With log_min_messages = debug5 and log_statement = all, a run that
#   delivers (plain and encrypted channels), signs subscriptions, fails
#   deliveries (500s, TLS) and raises auth errors leaves neither secret in
#   the server log.  The secrets are set in postgresql.conf before start
#   (ALTER SYSTEM would put them in the log through log_statement); then the
#   secret is rotated by editing postgresql.conf and reloading.
# - TLS: against an https endpoint with a self-signed certificate delivery
#   fails with a clear error in rtpush.status and the events stay queued
#   (retried), nothing reaches the endpoint; once rtpush.ca_file names the
#   certificate they are delivered.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use Digest::MD5 qw(md5_hex);
use File::Spec;
use MIME::Base64 qw(encode_base64);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use RtpushTest;
use Test::More;

sub rand_hex { join '', map { sprintf '%02x', int(rand(256)) } 1 .. $_[0] }

my $secret = 'tap-secret-' . rand_hex(16);
my $master = encode_base64(join('', map { chr(int(rand(256))) } 1 .. 32), '');
my $sink = start_sink(secret => $secret);

my $node = rtpush_node('security', sink => $sink, conf => <<"CONF");
rtpush.encryption_master_key = '$master'
rtpush.max_attempts = 1000
log_min_messages = debug5
log_min_error_statement = debug5
log_statement = all
log_error_verbosity = verbose
CONF
wait_worker($node);
$node->safe_psql('app', q{
CREATE ROLE app LOGIN;
GRANT USAGE ON SCHEMA rtpush TO app;
GRANT SELECT, INSERT ON ticks TO app;
});

# ---- settings
for my $name (qw(rtpush.secret rtpush.encryption_master_key))
{
	my ($ret, $out, $err) = $node->psql('app', "SHOW $name", extra_params => [ '-U', 'app' ]);
	isnt($ret, 0, "non-superuser: SHOW $name fails");
	like($err, qr/must be superuser|permission denied/, "... with a permission error: $err");
	($ret, $out, $err) = $node->psql('app', "SELECT current_setting('$name')",
		extra_params => [ '-U', 'app' ]);
	isnt($ret, 0, "non-superuser: current_setting('$name') fails");
	is($node->safe_psql('app', "SELECT count(*) FROM pg_settings WHERE name = '$name'",
			extra_params => [ '-U', 'app' ]), 0, "non-superuser: pg_settings hides $name");
	is($node->safe_psql('app', "SELECT count(*) FROM pg_settings WHERE name = '$name'"),
		0, "superuser: pg_settings (SHOW ALL) hides $name too");
}
my $showall = $node->safe_psql('app', 'SHOW ALL', extra_params => [ '-U', 'app' ]);
unlike($showall, qr/\Q$secret\E|\Q$master\E/, 'SHOW ALL as a non-superuser shows neither secret');

# ---- privileges
# (history holds the same PHI: the table, its sixteen partitions, its ring, its view)
for my $tbl (qw(rtpush.outbox rtpush.dead_letter rtpush.history rtpush.history_00 rtpush.history_15 rtpush.history_slots
                 rtpush.history_events))
{
	my ($ret, $out, $err) = $node->psql('app', "SELECT * FROM $tbl", extra_params => [ '-U', 'app' ]);
	isnt($ret, 0, "non-superuser: SELECT from $tbl fails");
	like($err, qr/permission denied for (table|view)/, '... permission denied');
	is($node->safe_psql('app',
			"SELECT count(*) FROM aclexplode((SELECT relacl FROM pg_class WHERE oid = '$tbl'::regclass))
			 WHERE grantee = 0"), 0, "$tbl: no privilege granted to PUBLIC");
}
for my $fn ('rtpush.send(text, text, jsonb, text)', 'rtpush.send(text[], text, jsonb, text)',
	'rtpush.history(text, text, text, integer)')
{
	is($node->safe_psql('app', "SELECT has_function_privilege('app', '$fn', 'EXECUTE')"),
		'f', "PUBLIC cannot execute $fn");
}
my ($ret, $out, $err) = $node->psql('app', q{SELECT rtpush.send('c', 'e', '{}')},
	extra_params => [ '-U', 'app' ]);
like($err, qr/permission denied for function send/, 'non-superuser: rtpush.send() is refused');
$node->safe_psql('app', 'INSERT INTO ticks (seq, ch) VALUES (1, 0)', extra_params => [ '-U', 'app' ]);
pass('a writer with rights on the table queues events through the trigger');

# ---- a run that exercises delivery, auth and errors
$sink->plan([ { fraction => 0.3, status => 500, body => '{"error":"injected"}' } ]);
$node->safe_psql('app', q{
INSERT INTO ticks (seq, ch) SELECT g, g % 4 FROM generate_series(2, 300) g;
SELECT rtpush.send('private-encrypted-room.1', 'secret-event', '{"seq": 100000, "phi": "x"}');
});
$node->safe_psql('app', q{
INSERT INTO rtpush.channel_rules (pattern, rule) VALUES ('private-user.{user_id}', 'owner');
SELECT rtpush.authorize_channel('1234.5678', 'private-user.42', '42');
SELECT rtpush.authenticate_user('1234.5678', '{"id": "42"}');
SELECT rtpush.client_config('42');
SELECT rtpush.verify_webhook('tap-key', 'not-a-signature', '{}');
});
($ret, $out, $err) = $node->psql('app',
	q{SELECT rtpush.authorize_channel('1234.5678', 'private-user.42', 'someone-else')});
isnt($ret, 0, 'auth: a denied subscription raises an error');
($ret, $out, $err) = $node->psql('app',
	q{SELECT rtpush.authorize_channel('bad socket', 'private-user.42', '42')});
isnt($ret, 0, 'auth: a bad socket id raises an error');
ok($node->poll_query_until('app', q{SELECT queued = 0 FROM rtpush.status}),
	'events delivered through the 500s');
my $counts = $sink->counts;
is(scalar(grep { $_ <= 300 } keys %$counts), 300, 'the 300 row events arrived');
my ($enc) = grep { $_->[1] eq 'private-encrypted-room.1' } @{ $sink->events };
ok($enc, 'the encrypted-channel event arrived');

# ---- TLS: self-signed certificate
# absolute: the worker's working directory is the data directory
my $dir = File::Spec->rel2abs($PostgreSQL::Test::Utils::tmp_check);
my ($cert, $key) = ("$dir/selfsigned.crt", "$dir/selfsigned.key");
system('openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', $key,
	'-out', $cert, '-days', '1', '-subj', '/CN=127.0.0.1',
	'-addext', 'subjectAltName=IP:127.0.0.1', '-loglevel', 'error') == 0
  or system('openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', $key,
	'-out', $cert, '-days', '1', '-subj', '/CN=127.0.0.1',
	'-addext', 'subjectAltName=IP:127.0.0.1') == 0
  or BAIL_OUT('openssl could not make a certificate');
my $tls = start_sink(secret => $secret, tls => [ $cert, $key ]);
$node->safe_psql('postgres', "ALTER SYSTEM SET rtpush.scheme = 'https'");
$node->safe_psql('postgres', 'ALTER SYSTEM SET rtpush.port = ' . $tls->port);
$node->safe_psql('postgres', 'SELECT pg_reload_conf()');
sleep 1;
$node->safe_psql('app', 'INSERT INTO ticks (seq, ch) SELECT g, g % 4 FROM generate_series(1001, 1040) g');
ok($node->poll_query_until('app',
		q{SELECT last_error ~* 'certificate' AND last_error_at > now() - interval '30 s' FROM rtpush.status}),
	'TLS: delivery to a self-signed endpoint fails');
my $st = status_row($node);
note("last_error: $st->{last_error}");
like($st->{last_error}, qr/certificate/i, "rtpush.status.last_error is clear: $st->{last_error}");
sleep 2;
is($tls->stats->{requests}, 0, 'TLS: no request reached the endpoint unverified');
cmp_ok($tls->stats->{tlsClientErrors}, '>', 0, 'TLS: the endpoint saw the handshakes refused');
is($node->safe_psql('app',
		'SELECT count(*) FILTER (WHERE attempts > 0) || \'/\' || count(*) FROM rtpush.outbox WHERE (data->>\'seq\')::int > 1000'),
	'40/40', 'TLS: the events stay queued and are being retried');

$node->safe_psql('postgres', "ALTER SYSTEM SET rtpush.ca_file = '$cert'");
$node->safe_psql('postgres', 'SELECT pg_reload_conf()');
ok($node->poll_query_until('app', q{SELECT queued = 0 FROM rtpush.status}),
	'TLS: with rtpush.ca_file naming the certificate the queue drains')
  or diag('status: ' . JSON::PP::encode_json(status_row($node)));
is(scalar(grep { $_ > 1000 } keys %{ $tls->counts }), 40, 'TLS: the 40 events arrived over verified https');
is($node->safe_psql('app', 'SELECT count(*) FROM rtpush.dead_letter'), 0, 'nothing dead-lettered');

# ---- rotating the secret: edit postgresql.conf and reload (no SQL)
my $secret2 = 'tap-secret-rotated-' . rand_hex(16);
$node->append_conf('postgresql.conf', "rtpush.secret = '$secret2'\n");
$node->reload;
# (compared by hash: the query itself is logged)
ok($node->poll_query_until('postgres',
		"SELECT md5(current_setting('rtpush.secret')) = '" . md5_hex($secret2) . "'"),
	'secret rotated by reload');

# ---- the log
$node->stop;
my $log = slurp_file($node->logfile);
cmp_ok(length($log), '>', 100_000, 'the server log is verbose (debug5): ' . length($log) . ' bytes');
like($log, qr/DEBUG/, 'the log has DEBUG lines');
my @leaks = grep { /\Q$secret\E/ } split /\n/, $log;
is(scalar(@leaks), 0, 'rtpush.secret appears in no log line')
  or diag(join("\n", @leaks[0 .. ($#leaks > 4 ? 4 : $#leaks)]));
@leaks = grep { /\Q$secret2\E/ } split /\n/, $log;
# PostgreSQL's postmaster logs "parameter ... changed to <value>" at LOG for
# every setting a reload changes, hidden or not: rtpush has to redact it.
is(scalar(@leaks), 0, 'the rotated rtpush.secret appears in no log line (reload after editing postgresql.conf)')
  or diag(join("\n", @leaks[0 .. ($#leaks > 4 ? 4 : $#leaks)]));
@leaks = grep { /\Q$master\E/ } split /\n/, $log;
is(scalar(@leaks), 0, 'rtpush.encryption_master_key appears in no log line')
  or diag(join("\n", @leaks[0 .. ($#leaks > 4 ? 4 : $#leaks)]));

$tls->stop;
$sink->stop;
done_testing();
