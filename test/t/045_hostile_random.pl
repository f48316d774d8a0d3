# Randomized hostile input: calls of every SQL function with arguments drawn
# from a pool of hostile values (NULLs, empty and over-long names, reserved
# names, extreme numbers, bad and deeply nested JSON, malformed arrays and
# events), for a bounded time.  No call may end in XX000 (internal error) or
# take the backend down, and the server must answer afterwards.  Then
# invalid UTF-8 from a client (22021) and names in a client encoding other
# than the server's.
#
# EVENT_STORE_HOSTILE_SEED fixes the seed, EVENT_STORE_HOSTILE_SECONDS the
# duration (default 20).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time);
use EventStore::Test;

my $seed = $ENV{EVENT_STORE_HOSTILE_SEED} // (time() ^ $$) % 1000000;
my $seconds = $ENV{EVENT_STORE_HOSTILE_SECONDS} // 20;
srand($seed);
note "seed $seed (EVENT_STORE_HOSTILE_SEED=$seed reproduces the inputs)";

my $node = new_node('hostile', no_extension => 1);
$node->safe_psql('postgres',
	"CREATE DATABASE h ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
$node->safe_psql('h', q{
	CREATE EXTENSION event_store;
	SELECT event_store.append_to_stream('order-1', 0, ARRAY[event_store.event('a', '{}'),
		event_store.event('b', '{}', event_id => '00000000-0000-4000-8000-000000000001')]);
	SELECT 1 FROM event_store.create_subscription('sub');
});

sub pick { return $_[ int(rand(@_)) ]; }

my @names = ("NULL", "''", "'order-1'", "'order-2'", "'\$all'", "'\$ce-order'", "'-'", "'a-'",
	"repeat('n', 1024)", "repeat('n', 1025)", "repeat('é', 512)", "repeat('é', 513)",
	"'x' || repeat('é', 512)", "repeat('n', 100000)", "'gone-1'", "E'tab\\there'", "'''quoted'");
my @bigints = qw(NULL 0 1 2 3 -1 -2 -3 2147483647 2147483648 -2147483648
  9223372036854775807 -9223372036854775807 -9223372036854775808);
my @ints = qw(NULL 0 1 -1 2 1000 2147483647 -2147483648);
my @json = ("NULL", "'{}'", "'null'", "'[]'", "'\"s\"'", "'{\"a\": 1}'",
	"repeat('[', 5000)::jsonb", "(repeat('[', 100) || repeat(']', 100))::jsonb",
	"jsonb_build_object('b', repeat('x', 1000000))", "to_jsonb(repeat('é', 1000))");
my @bad_json = ("'{'", "'\"\\u0000\"'", "'nope'", "repeat('[', 1000000)");
my @uuids = ("NULL", "'00000000-0000-4000-8000-000000000001'", "gen_random_uuid()",
	"'00000000-0000-0000-0000-000000000000'", "'ffffffff-ffff-ffff-ffff-ffffffffffff'");
my @intervals = ("NULL", "'1 day'", "'0'", "'-1 day'", "'1 mon -30 days'", "'1000 years'",
	"'178000000 years'");

sub event
{
	my $r = rand();
	return 'NULL::event_store.new_event' if $r < 0.05;
	return 'ROW(NULL, NULL, NULL, NULL, NULL, NULL)::event_store.new_event' if $r < 0.1;
	my $type = pick("'t'", "'t'", "'t'", "NULL", "''", "repeat('t', 10000)");
	my $data = rand() < 0.05 ? pick(@bad_json) : pick(@json);
	return "event_store.event($type, $data, " . pick(@json) . ', ' . pick(@uuids) . ', '
	  . pick(@uuids) . ', ' . pick(@uuids) . ')';
}

sub events
{
	my $r = rand();
	return 'NULL' if $r < 0.05;
	return "'{}'" if $r < 0.1;
	return 'ARRAY[[' . event() . ', ' . event() . '], [' . event() . ', ' . event() . ']]' if $r < 0.15;
	return "(SELECT array_agg(event_store.event('t', jsonb_build_object('i', i))) FROM generate_series(1, "
	  . pick(1000, 20000) . ') i)' if $r < 0.2;
	return 'ARRAY[' . join(', ', map { event() } 1 .. 1 + int(rand(4))) . ']';
}

my @calls = (
	sub { 'SELECT event_store.append_to_stream(' . pick(@names) . ', ' . pick(@bigints) . ', ' . events() . ')' },
	sub { 'SELECT count(*) FROM event_store.read_stream_forward(' . pick(@names) . ', ' . pick(@bigints) . ', ' . pick(@ints) . ')' },
	sub { 'SELECT count(*) FROM event_store.read_stream_backward(' . pick(@names) . ', ' . pick(@bigints) . ', ' . pick(@ints) . ')' },
	sub { 'SELECT count(*) FROM event_store.read_all_forward(' . pick(@bigints) . ', ' . pick(@ints) . ')' },
	sub {
		'SELECT count(*) FROM event_store.read_category_forward(' . pick(@names) . ', ' . pick(@bigints)
		  . ', ' . pick(@ints) . ', ' . pick(@ints) . ', ' . pick(@ints) . ')';
	},
	sub { 'SELECT event_store.stream_version(' . pick(@names) . ')' },
	sub { 'SELECT event_store.stream_hash(' . pick(@names) . ')' },
	sub { 'SELECT event_store.delete_stream(' . pick(@names) . ', ' . pick(@bigints) . ', ' . pick('NULL', 'true', 'false') . ')' },
	sub {
		'SELECT event_store.set_stream_metadata(' . pick(@names) . ', ' . pick(@bigints) . ', '
		  . pick(@intervals) . ', ' . pick(@bigints) . ')';
	},
	sub { 'SELECT event_store.scavenge(' . pick(@bigints) . ')' },
	sub {
		'SELECT event_store.record_snapshot(' . pick(@names) . ', ' . pick(@bigints) . ', '
		  . pick("NULL", "'t'", "''") . ', ' . pick(@json) . ', ' . pick(@json) . ')';
	},
	sub { 'SELECT event_store.read_snapshot(' . pick(@names) . ')' },
	sub { 'SELECT event_store.delete_snapshot(' . pick(@names) . ')' },
	sub {
		'SELECT event_store.create_subscription(' . pick(@names, "'sub'") . ', '
		  . pick(@names, "'\$ce-'", "'\$ce-order'", "'\$other'") . ', ' . pick(@bigints) . ')';
	},
	sub { 'SELECT count(*) FROM event_store.read_subscription(' . pick(@names, "'sub'") . ', ' . pick(@ints) . ')' },
	sub { 'SELECT event_store.ack(' . pick(@names, "'sub'") . ', ' . pick(@bigints) . ')' },
	sub { 'SELECT event_store.delete_subscription(' . pick(@names) . ')' },
);

my %codes;
my ($statements, $internal, $crashes) = (0, 0, 0);
my $deadline = time() + $seconds;
while (time() < $deadline)
{
	my @batch = map { $calls[ int(rand(@calls)) ]->() . ';' } 1 .. 50;
	my ($out, $err) = ('', '');
	IPC::Run::run(
		[ 'psql', '-X', '-q', '-v', 'VERBOSITY=verbose', '-d', $node->connstr('h'), '-f', '-' ],
		'<', \join("\n", 'SET statement_timeout = 10000;', @batch), '>', \$out, '2>', \$err);
	$statements += @batch;
	$codes{$1}++ while $err =~ /ERROR:\s+([0-9A-Z]{5}):/g;
	if ($err =~ /XX000|server closed the connection|connection to server was lost/)
	{
		$internal++;
		diag "internal error or lost backend in this batch:\n" . join("\n", @batch) . "\n$err";
		last;
	}
	if (!$node->raw_connect_works || $node->safe_psql('h', 'SELECT 1') ne '1')
	{
		$crashes++;
		last;
	}
}
note sprintf('%d statements in %d s; SQLSTATEs: %s', $statements, $seconds,
	join(', ', map { "$_ x$codes{$_}" } sort keys %codes));
is($internal, 0, "no XX000 and no lost backend in $statements random hostile calls (seed $seed)");
is($crashes, 0, 'the server answers after every batch');
ok(!exists $codes{XX000}, 'no internal error among the SQLSTATEs');
my $log = slurp_file($node->logfile);
unlike($log, qr/PANIC|TRAP:|terminated by signal|server process .* was terminated/,
	'the server log shows no crash');

# Invalid UTF-8 from a UTF8 client: refused by the server with 22021.
for my $case (
	[ 'a stream name', "SELECT event_store.append_to_stream('bad-\xc3\x28', -1, ARRAY[event_store.event('t', '{}')])" ],
	[ 'an event type', "SELECT event_store.append_to_stream('ok-1', -1, ARRAY[event_store.event('\xff\xfe', '{}')])" ],
	[ 'JSON data', "SELECT event_store.append_to_stream('ok-1', -1, ARRAY[event_store.event('t', '\"\xed\xa0\x80\"')])" ],
	[ 'a read', "SELECT * FROM event_store.read_stream_forward('x-\x80')" ])
{
	my ($out, $err) = ('', '');
	IPC::Run::run(
		[ 'psql', '-X', '-q', '-v', 'VERBOSITY=verbose', '-d', $node->connstr('h'), '-c', $case->[1] ],
		'<', \undef, '>', \$out, '2>', \$err);
	like($err, qr/ERROR:\s+22021:/, "invalid UTF-8 in $case->[0] is refused with 22021");
}
is($node->safe_psql('h', q{SELECT count(*) FROM event_store.events WHERE stream_name LIKE 'bad-%' OR stream_name = 'ok-1'}),
	'0', 'nothing was stored from those');

# A LATIN1 client: its bytes are converted, the name is stored as UTF-8, and
# an over-long name's error message (cut at 32 bytes, possibly inside a
# character) still reaches the client.
{
	local $ENV{PGCLIENTENCODING} = 'LATIN1';
	my ($out, $err) = ('', '');
	IPC::Run::run(
		[ 'psql', '-X', '-A', '-t', '-d', $node->connstr('h'), '-c',
			"SELECT event_store.append_to_stream('caf\xe9-1', 0, ARRAY[event_store.event('t', '{}')])" ],
		'<', \undef, '>', \$out, '2>', \$err);
	is($out, "1\n", 'a LATIN1 client appends to a stream with a non-ASCII name');
	($out, $err) = ('', '');
	IPC::Run::run(
		[ 'psql', '-X', '-A', '-t', '-v', 'VERBOSITY=verbose', '-d', $node->connstr('h'), '-c',
			"SELECT event_store.append_to_stream('x' || repeat(E'\xe9', 1100), 0, ARRAY[event_store.event('t', '{}')])" ],
		'<', \undef, '>', \$out, '2>', \$err);
	like($err, qr/ERROR:\s+ES004:/, 'an over-long non-ASCII name is ES004 for a LATIN1 client too');
	unlike($err, qr/XX000|server closed/, '... and the backend survives its error message');
}
is($node->safe_psql('h', q{SELECT stream_name FROM event_store.streams WHERE category = 'café'}),
	'café-1', 'the name is stored in UTF-8');

$node->stop;
done_testing();
