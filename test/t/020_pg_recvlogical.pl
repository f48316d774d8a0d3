# pg_recvlogical consumes an event_store slot: it creates the slot with our
# plugin (no shared_preload_libraries), streams the events as JSON lines in
# commit order, passes options (with and without a value), stops at an
# end position, resumes where it acknowledged, and reports a bad option as
# the plugin's error.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use JSON::PP;
use EventStore::Test;

my $node = new_node('primary');
my $connstr = $node->connstr('postgres');
my $json = JSON::PP->new;

is($node->safe_psql('postgres', 'SHOW shared_preload_libraries'),
	'', 'nothing is preloaded');

# pg_recvlogical --create-slot with our plugin
command_ok(
	[
		'pg_recvlogical', '-d', $connstr, '-S', 'recv',
		'--create-slot', '-P', 'event_store'
	],
	'pg_recvlogical creates an event_store slot');
is( $node->safe_psql(
		'postgres',
		"SELECT plugin FROM pg_replication_slots WHERE slot_name = 'recv'"),
	'event_store',
	'the slot uses the event_store plugin');

# Two transactions that commit out of position order, a rolled-back one
# (its position, 4, stays unused), and traffic on other tables.
my $s1 = $node->background_psql('postgres');
$s1->query_safe(q{
	BEGIN;
	SELECT event_store.append_to_stream('order-1', 0, ARRAY[
		event_store.event('OrderPlaced', '{"n": 1}'),
		event_store.event('OrderPaid', '{"n": 2}')])});
$node->safe_psql('postgres', q{
	SELECT event_store.append_to_stream('invoice-1', 0, ARRAY[
		event_store.event('InvoiceIssued', '{"n": 3, "quote": "\"", "nl": "a\nb"}')]);
	CREATE TABLE other (id int PRIMARY KEY);
	INSERT INTO other VALUES (1);
	SELECT event_store.record_snapshot('order-1', 1, 'Order', '{}');
	BEGIN;
	SELECT event_store.append_to_stream('order-2', 0, ARRAY[
		event_store.event('Lost', '{}')]);
	ROLLBACK;
});
$s1->query_safe('COMMIT');
$s1->quit;
my $endpos = $node->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');

my $out = $node->pg_recvlogical_upto('postgres', 'recv', $endpos,
	$PostgreSQL::Test::Utils::timeout_default);
my @lines = split /\n/, $out;
is(scalar @lines, 3, 'three events streamed, nothing else');
my @events = map { $json->decode($_) } @lines;
is_deeply(
	[ map { "$_->{position} $_->{stream} $_->{version} $_->{type}" } @events ],
	[
		'3 invoice-1 1 InvoiceIssued', '1 order-1 1 OrderPlaced',
		'2 order-1 2 OrderPaid'
	],
	'in commit order, with stream, version and type');
is_deeply($events[0]{data}, { n => 3, quote => '"', nl => "a\nb" },
	'data is embedded JSON, escaped correctly');
like($events[1]{id}, qr/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/,
	'the event id is the generated UUID v7');
like($events[1]{created_at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$/,
	'created_at is ISO 8601 in UTC');
is_deeply(
	[ sort keys %{ $events[1] } ],
	[
		sort qw(position stream version id type data metadata
		  causation_id correlation_id created_at)
	],
	'every field is there');

# The slot moved on: a second run sees only what came after.
$node->safe_psql('postgres', q{
	SELECT event_store.append_to_stream('order-1', 2, ARRAY[
		event_store.event('OrderShipped', '{}')]);
	SELECT event_store.append_to_stream('user-1', 0, ARRAY[
		event_store.event('Registered', '{}')]);
});
$endpos = $node->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');

# -o include-transactions (no value: true) and a category filter
my @cmd = (
	'pg_recvlogical', '-d', $connstr, '-S', 'recv', '--start',
	'--endpos', $endpos, '--no-loop', '-f', '-',
	'-o', 'include-transactions', '-o', 'categories=order');
my ($stdout, $stderr) = ('', '');
ok(IPC::Run::run(\@cmd, '>', \$stdout, '2>', \$stderr,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default)),
	'pg_recvlogical with options runs')
  or diag($stderr);
@lines = map { $json->decode($_) } split /\n/, $stdout;
is_deeply(
	[ map { $_->{action} // "$_->{position} $_->{type}" } @lines ],
	[ 'begin', '5 OrderShipped', 'commit' ],
	'resumed after the acknowledged position; filter and markers applied');
is($lines[0]{xid}, $lines[2]{xid}, 'begin and commit carry the same xid');
like($lines[0]{commit_lsn}, qr{^[0-9A-F]+/[0-9A-F]+$}, 'markers carry the commit LSN');
is($lines[2]{events}, 1, 'the commit marker counts the events');

# a bad option is an ERROR naming it, and pg_recvlogical fails
$endpos = $node->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');
($stdout, $stderr) = ('', '');
my $ok = IPC::Run::run(
	[
		'pg_recvlogical', '-d', $connstr, '-S', 'recv', '--start',
		'--endpos', $endpos, '--no-loop', '-f', '-', '-o', 'format=yaml'
	],
	'>', \$stdout, '2>', \$stderr,
	IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
ok(!$ok, 'pg_recvlogical fails on a bad option value');
like($stderr, qr/could not parse value "yaml" for parameter "format"/,
	'the error names the option and its value');

($stdout, $stderr) = ('', '');
$ok = IPC::Run::run(
	[
		'pg_recvlogical', '-d', $connstr, '-S', 'recv', '--start',
		'--endpos', $endpos, '--no-loop', '-f', '-', '-o', 'include-xids=0'
	],
	'>', \$stdout, '2>', \$stderr,
	IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
ok(!$ok, 'pg_recvlogical fails on an unknown option');
like($stderr, qr/option "include-xids" = "0" is unknown/, 'the error names the option');

# the compact format through the replication protocol
$node->safe_psql('postgres', q{
	SELECT event_store.append_to_stream('user-2', 0, ARRAY[
		event_store.event('Registered', '{}')]);
});
$endpos = $node->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');
$out = $node->pg_recvlogical_upto('postgres', 'recv', $endpos,
	$PostgreSQL::Test::Utils::timeout_default, 'format' => 'compact');
my $row = $json->decode((split /\n/, $out)[0]);
is_deeply([ @$row[ 0, 1, 2, 4 ] ], [ 7, 'user-2', 1, 'Registered' ],
	'compact: position, stream, version, id, type, ...');

command_ok([ 'pg_recvlogical', '-d', $connstr, '-S', 'recv', '--drop-slot' ],
	'pg_recvlogical drops the slot');

$node->stop;
done_testing();
