# tools/import-message-db against the real Message DB schema (the npm
# package @eventide/message-db, installed by test/run_all.sh into
# test/node/node_modules): 100,000 messages in another database of the
# cluster are moved into event_store and verified; a second run imports only
# what was written since; verification notices a difference.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EventStore::Test;

my $top = $ENV{EVENT_STORE_TOP} // '.';
my $mdb = "$top/test/node/node_modules/\@eventide/message-db/database";
-f "$mdb/install.sh"
  or BAIL_OUT("Message DB is not installed in test/node (cd test/node && npm install)");
my $tool = "$top/tools/import-message-db";

# 100,000 messages (fewer under the sanitizers, whose servers are slower:
# the plain run covers the volume).
my $total = $ENV{EVENT_STORE_IMPORT_MESSAGES} // ($ENV{LD_PRELOAD} ? 20_000 : 100_000);

my $node = new_node('mdb');
$ENV{PGHOST} = $node->host;
$ENV{PGPORT} = $node->port;
$ENV{PGDATABASE} = 'postgres';
$node->safe_psql('postgres', 'CREATE DATABASE message_store');

# Message DB's own installer, into the existing database message_store.
my ($out, $err, $ok);
{
	local $ENV{DATABASE_NAME} = 'message_store';
	local $ENV{CREATE_DATABASE} = 'off';
	local $ENV{PGOPTIONS} = '-c client_min_messages=warning';
	$ok = IPC::Run::run([ 'bash', "$mdb/install.sh" ], '>', \$out, '2>', \$err);
}
ok($ok, "Message DB's install.sh installs its schema") or diag("$out\n$err");
is($node->safe_psql('message_store', 'SELECT message_store.message_store_version()'),
	'1.3.0', 'Message DB 1.3');

# 1,000 messages through write_message (with its expected versions), over 50
# streams with Message DB's category and id conventions; then the rest in
# bulk, interleaved over 2,000 streams (the worst case for the import: no two
# consecutive messages of one stream).
my $written = $node->safe_psql('message_store', q{
	SET search_path = message_store, public;
	SELECT count(message_store.write_message(gen_random_uuid()::text,
	           CASE WHEN s % 5 = 0 THEN 'account:command-' ELSE 'account-' END || s,
	           'Deposited', jsonb_build_object('i', i, 'text', 'caf' || chr(233)),
	           CASE WHEN i % 3 = 0 THEN '{"correlationStreamName": "x-1"}'::jsonb END,
	           (i - 1) / 50 - 1))
	  FROM (SELECT i, i % 50 AS s FROM generate_series(1, 1000) i) x});
is($written, '1000', 'write_message wrote 1,000 messages');
$node->safe_psql('message_store', qq{
	INSERT INTO message_store.messages (position, stream_name, type, data, metadata, id)
	SELECT row_number() OVER (PARTITION BY s ORDER BY i) - 1 + CASE WHEN s < 50 THEN 20 ELSE 0 END,
	       CASE WHEN s % 5 = 0 THEN 'account:command-' ELSE 'account-' END || s,
	       'Withdrawn', jsonb_build_object('i', i), NULL, gen_random_uuid()
	  FROM (SELECT i, i % 2000 AS s FROM generate_series(1, $total - 1000) i) x
	 ORDER BY i});

# The import, from the other database of the cluster.
my $start = time;
($ok, $out, $err) = run_tool('--source', 'dbname=message_store');
ok($ok, 'the import succeeds') or diag("$out\n$err");
like($out, qr/^staged $total new messages/m, "it staged $total messages");
like($out, qr/^verified: 2000 streams, $total messages/m, 'and verified them');
note('import of ' . $total . ' messages: ' . (time - $start) . ' s');

# Independently of the tool's own checks: ids, names, categories, versions and
# global order, source against target.
my $source_rows = $node->safe_psql('message_store', q{
	SELECT string_agg(id || ' ' || stream_name || ' ' || message_store.category(stream_name)
	                  || ' ' || (position + 1), E'\n' ORDER BY global_position)
	  FROM message_store.messages});
my $target_rows = $node->safe_psql('postgres', q{
	SELECT string_agg(event_id || ' ' || stream_name || ' ' || category || ' ' || stream_version,
	                  E'\n' ORDER BY global_position)
	  FROM event_store.events});
ok($source_rows eq $target_rows,
	'every message is an event with its id, stream, category and version (position + 1), in global order');
is($node->safe_psql('postgres', q{SELECT event_store.stream_version('account:command-5')}),
	$node->safe_psql('message_store', q{SET search_path = message_store, public; SELECT message_store.stream_version('account:command-5') + 1}),
	'stream_version is Message DB stream_version + 1');

# Resumable: what the source gets later is imported by the next run.
$node->safe_psql('message_store', q{
	SET search_path = message_store, public;
	SELECT message_store.write_message(gen_random_uuid()::text, 'account-7', 'Closed', '{}');
	SELECT message_store.write_message(gen_random_uuid()::text, 'account-7', 'Reopened', '{}');
	SELECT message_store.write_message(gen_random_uuid()::text, 'invoice-1', 'Issued', '{}', NULL, -1)});
($ok, $out, $err) = run_tool('--source', 'dbname=message_store');
ok($ok, 'a second run succeeds') or diag("$out\n$err");
like($out, qr/^staged 3 new messages/m, 'it stages only the 3 new messages');
my $n = $total + 3;
like($out, qr/^verified: 2001 streams, $n messages/m, 'and verifies the whole store');
is($node->safe_psql('postgres',
		q{SELECT string_agg(event_type, ',' ORDER BY stream_version) FROM event_store.read_stream_backward('account-7', NULL, 2)}),
	'Closed,Reopened', 'the new messages continue their stream');
($ok, $out, $err) = run_tool('--source', 'dbname=message_store');
like($out, qr/^staged 0 new messages/m, 'a run with nothing new stages nothing');

# Verification notices a difference: an event appended to an imported stream
# in event_store alone.
$node->safe_psql('postgres',
	q{SELECT event_store.append_to_stream('invoice-1', 1, ARRAY[event_store.event('Paid', '{}')])});
($ok, $out, $err) = run_tool('--source', 'dbname=message_store', '--verify-only');
ok(!$ok, 'verification fails when the stores differ');
like($err, qr/verification FAILED/, 'and says so');
like($err, qr/invoice-1/, 'naming the stream');

$node->stop;
done_testing();

sub run_tool
{
	my ($o, $e) = ('', '');
	my $r = IPC::Run::run([ 'bash', $tool, @_ ], '>', \$o, '2>', \$e);
	return ($r, $o, $e);
}
