# Decoding respects grants over the replication protocol too: a REPLICATION
# role with no event_store grant gets 42501 from pg_recvlogical at the first
# event and receives nothing; given grant_reader it streams the events; put
# under a row-level security policy on events it is refused again.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EventStore::Test;

my $node = new_node('primary');

$node->safe_psql('postgres', q{
	CREATE ROLE tail_user LOGIN REPLICATION;
	SELECT 'init' FROM pg_create_logical_replication_slot('granted', 'event_store');
	SELECT event_store.append_to_stream('order-1', 0, ARRAY[
		event_store.event('Placed', '{"secret": 1}')]);
});
my $endpos = $node->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');
my $connstr = $node->connstr('postgres') . ' user=tail_user';

my ($stdout, $stderr);
my $ok = IPC::Run::run(
	[
		'pg_recvlogical', '-d', $connstr, '-S', 'granted', '--start',
		'--endpos', $endpos, '--no-loop', '-f', '-'
	],
	'>', \$stdout, '2>', \$stderr);
ok(!$ok, 'pg_recvlogical without a grant fails');
like($stderr, qr/permission denied to decode the events of event_store/,
	'with the plugin\'s 42501 message');
unlike($stdout, qr/secret/, 'and no event reached it');

$node->safe_psql('postgres', "SELECT event_store.grant_reader('tail_user')");
$ok = IPC::Run::run(
	[
		'pg_recvlogical', '-d', $connstr, '-S', 'granted', '--start',
		'--endpos', $endpos, '--no-loop', '-f', '-'
	],
	'>', \$stdout, '2>', \$stderr);
ok($ok, 'with grant_reader it streams') or diag($stderr);
like($stdout, qr/"stream":"order-1".*"secret": ?1/, 'the event, once the role may read it');

$node->safe_psql('postgres', q{
	ALTER TABLE event_store.events ENABLE ROW LEVEL SECURITY;
	CREATE POLICY orders ON event_store.events FOR SELECT TO tail_user
		USING (category = 'order');
	SELECT event_store.append_to_stream('invoice-1', 0, ARRAY[
		event_store.event('Issued', '{"secret": 2}')]);
});
$endpos = $node->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');
$ok = IPC::Run::run(
	[
		'pg_recvlogical', '-d', $connstr, '-S', 'granted', '--start',
		'--endpos', $endpos, '--no-loop', '-f', '-'
	],
	'>', \$stdout, '2>', \$stderr);
ok(!$ok, 'under a row-level security policy it is refused');
like($stderr, qr/Row-level security on event_store.events applies to role "tail_user"/,
	'naming the policy as the reason');
unlike($stdout, qr/secret/, 'and nothing reached it');

$node->stop;
done_testing();
