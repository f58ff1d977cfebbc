# DbaTest.pm: shared parts of the TAP tests of what a DBA does to a
# cluster (test/t/011_update.pl, 016_update_0.3.pl: 0.1 or 0.2 + ALTER
# EXTENSION UPDATE against a fresh CREATE EXTENSION; 012, 013: a cluster
# before and after pg_upgrade or a dump/restore).
#
# rules_sql() creates channel rules as an app does: an owner rule, and a
# function rule (authz.member: the user id must equal {room}) inserted by
# its unqualified name under a search_path.
#
# describe_extension($node, $db[, $ext]) returns sorted lines naming every member
# (pg_depend deptype 'e') and, by kind, what makes it what it is: functions
# with their signatures, full definitions (md5 of pg_get_functiondef),
# owners and ACLs; tables with columns, types, defaults, constraints,
# indexes, options, ACLs and comments; triggers with definition and enabled
# state; views; sequences' parameters; event triggers; the extension's
# configuration tables; and the rtpush schema's owner and ACL.  $ext is
# rtpush unless named (016_update_0.3.pl: rtpush_telemedicine too).
# Nothing in it is an OID, so two clusters compare; nor the ranges of
# rtpush.history's partitions, which the worker recycles.
#
# same_extension($node, $db, $ref_db, $ext, $test_name) passes if $ext's
# description in $db equals $ref_db's, and lists the lines that differ if
# not; it returns $ref_db's description.
package DbaTest;

use strict;
use warnings;
use Exporter 'import';
use Test::More;

our @EXPORT = qw(describe_extension same_extension rules_sql update_path_exists update_while_queued
  positions_increase same_as_fresh);

my $SQL = q{
WITH ext AS (SELECT oid, extname, extversion, extconfig, extcondition FROM pg_extension WHERE extname = :'ext'),
m AS (SELECT d.classid, d.objid, d.objsubid FROM pg_depend d, ext
       WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'),
rels AS (SELECT c.* FROM pg_class c JOIN m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid)
SELECT line FROM (
  SELECT 'extension version ' || extversion FROM ext
  UNION ALL
  SELECT 'config ' || (SELECT x::regclass::text FROM unnest(extconfig) WITH ORDINALITY u(x, i) WHERE i = n)
         || ' where ' || quote_nullable(extcondition[n])
    FROM ext, generate_subscripts(ext.extconfig, 1) n
  UNION ALL
  SELECT 'member ' || pg_describe_object(classid, objid, objsubid) FROM m
   -- a table's row type and its array come and go with the table; pg_upgrade
   -- into PostgreSQL 17 records them as members of their own
   WHERE NOT (classid = 'pg_type'::regclass AND EXISTS (SELECT 1 FROM pg_type t
              WHERE t.oid = objid AND (t.typrelid <> 0 OR EXISTS (SELECT 1 FROM pg_type e
                    WHERE e.typarray = t.oid AND e.typrelid <> 0))))
  UNION ALL
  SELECT format('function %s result %s owner %s acl %s comment %s def %s',
                p.oid::regprocedure, pg_get_function_result(p.oid), pg_get_userbyid(p.proowner),
                coalesce(p.proacl, acldefault('f', p.proowner)), obj_description(p.oid, 'pg_proc'), md5(pg_get_functiondef(p.oid)))
    FROM pg_proc p JOIN m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
  UNION ALL
  SELECT format('relation %s kind %s owner %s acl %s options %s persistence %s replident %s comment %s',
                c.oid::regclass, c.relkind, pg_get_userbyid(c.relowner),
                coalesce(c.relacl, acldefault(CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char", c.relowner)), c.reloptions,
                c.relpersistence, c.relreplident, obj_description(c.oid, 'pg_class'))
    FROM rels c
  UNION ALL
  SELECT format('column %s.%s %s notnull %s default %s acl %s comment %s', c.oid::regclass, a.attname,
                format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(ad.adbin, ad.adrelid),
                a.attacl, col_description(c.oid, a.attnum))
    FROM rels c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
   WHERE c.relkind IN ('r', 'v', 'p')
  UNION ALL
  SELECT format('constraint %s.%s %s', c.oid::regclass, k.conname, pg_get_constraintdef(k.oid))
    FROM rels c JOIN pg_constraint k ON k.conrelid = c.oid
  UNION ALL
  SELECT format('index %s', pg_get_indexdef(i.indexrelid))
    FROM rels c JOIN pg_index i ON i.indrelid = c.oid
  UNION ALL
  SELECT format('trigger %s.%s enabled %s %s', c.oid::regclass, t.tgname, t.tgenabled, pg_get_triggerdef(t.oid))
    FROM rels c JOIN pg_trigger t ON t.tgrelid = c.oid AND NOT t.tgisinternal
  UNION ALL
  SELECT format('view %s %s', c.oid::regclass, md5(pg_get_viewdef(c.oid)))
    FROM rels c WHERE c.relkind = 'v'
  UNION ALL
  SELECT format('sequence %s type %s start %s increment %s min %s max %s cache %s cycle %s owned by %s',
                s.seqrelid::regclass, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement,
                s.seqmin, s.seqmax, s.seqcache, s.seqcycle,
                (SELECT d.refobjid::regclass || '.' || a.attname FROM pg_depend d
                   JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = s.seqrelid AND d.deptype = 'a'))
    FROM pg_sequence s JOIN rels c ON c.oid = s.seqrelid
  UNION ALL
  SELECT format('event trigger %s on %s tags %s enabled %s function %s', e.evtname, e.evtevent,
                e.evttags, e.evtenabled, e.evtfoid::regprocedure)
    FROM pg_event_trigger e JOIN m ON m.classid = 'pg_event_trigger'::regclass AND m.objid = e.oid
  UNION ALL
  SELECT format('schema acl %s owner %s', coalesce(n.nspacl, acldefault('n', n.nspowner)), pg_get_userbyid(n.nspowner))
    FROM pg_namespace n WHERE n.nspname = 'rtpush'
) s(line)
ORDER BY line COLLATE "C";
};

sub rules_sql
{
	return q{
CREATE SCHEMA authz;
CREATE FUNCTION authz.member(user_id text, captures jsonb) RETURNS boolean
    LANGUAGE sql STABLE RETURN user_id = captures->>'room';
SET search_path = authz, public;
INSERT INTO rtpush.channel_rules (pattern, rule) VALUES ('private-room.{room}', 'member');
RESET search_path;
INSERT INTO rtpush.channel_rules (pattern, rule) VALUES ('private-user.{user_id}', 'owner');
};
}

sub describe_extension
{
	my ($node, $db, $ext) = @_;
	$ext //= 'rtpush';
	die "describe_extension: bad extension name $ext" unless $ext =~ /^\w+$/;
	# rtpush.history's partitions are recycled by the worker at any time
	# (DROP and CREATE): a share lock keeps them put while they are read
	my $lock = $node->safe_psql($db, q{SELECT to_regclass('rtpush.history') IS NOT NULL}) eq 't'
	  ? 'LOCK TABLE rtpush.history IN SHARE MODE;' : '';
	return $node->safe_psql($db, "\\set ext $ext\nSET search_path = pg_catalog; BEGIN; $lock $SQL; COMMIT;");
}

sub same_extension
{
	my ($node, $db, $ref_db, $ext, $test_name) = @_;
	my $ref = describe_extension($node, $ref_db, $ext);
	my %got = map { $_ => 1 } split /\n/, describe_extension($node, $db, $ext);
	my %want = map { $_ => 1 } split /\n/, $ref;
	my @only_got = grep { !$want{$_} } sort keys %got;
	my @only_want = grep { !$got{$_} } sort keys %want;
	is(scalar(@only_got) + scalar(@only_want), 0, $test_name)
	  or diag(join("\n", (map { "only in $db: $_" } @only_got), (map { "only in $ref_db: $_" } @only_want)));
	return $ref;
}

# An update path from -> to exists.
sub update_path_exists
{
	my ($node, $from, $to) = @_;
	is($node->safe_psql('postgres',
			qq{SELECT count(*) FROM pg_extension_update_paths('rtpush') WHERE source = '$from' AND target = '$to'
			    AND path IS NOT NULL}), '1', "an update path $from -> $to exists");
}

# The endpoint fails (the sink answers 500) while ticks $first .. $last are
# queued and retried; ALTER EXTENSION rtpush UPDATE TO $to runs meanwhile,
# and every one of them is still queued after it.  The sink is left failing.
sub update_while_queued
{
	my ($node, $sink, $to, $first, $last) = @_;
	$sink->plan([ { status => 500 } ]);
	$node->safe_psql('app', "INSERT INTO ticks (seq, ch) SELECT g, g % 4 FROM generate_series($first, $last) g");
	ok($node->poll_query_until('app', q{SELECT count(*) > 0 FROM rtpush.outbox WHERE attempts > 0}),
		'events queued and retried before the update');
	$node->safe_psql('app', "ALTER EXTENSION rtpush UPDATE TO '$to'");
	is($node->safe_psql('app', q{SELECT extversion FROM pg_extension WHERE extname = 'rtpush'}), $to, "updated to $to");
	is($node->safe_psql('app', 'SELECT count(*) FROM rtpush.outbox'), $last - $first + 1,
		'every queued event is still queued');
}

# The sink's events that carry a position (rtpush_position): per channel,
# each greater than the one before, across whatever happened meanwhile.
sub positions_increase
{
	my ($sink, $name) = @_;
	my (%last, $back);
	$back = 0;
	for my $e (grep { defined $_->[4] } @{ $sink->events })
	{
		$back++ if defined $last{ $e->[1] } && $e->[4] <= $last{ $e->[1] };
		$last{ $e->[1] } = $e->[4];
	}
	is($back, 0, $name);
}

# Database app, at $from and updated, equals a fresh install of $to.
sub same_as_fresh
{
	my ($node, $from, $to) = @_;
	$node->safe_psql('postgres', 'CREATE DATABASE fresh');
	$node->safe_psql('fresh', "CREATE EXTENSION rtpush VERSION '$to'");
	same_extension($node, 'app', 'fresh', 'rtpush', "app ($from + UPDATE) equals a fresh install of $to");
}

1;
