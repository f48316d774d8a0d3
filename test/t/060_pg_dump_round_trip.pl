# pg_dump round trip: a store with streams, events, snapshots, subscriptions
# with checkpoints, soft- and hard-deleted streams and retention limits is
# dumped with pg_dump -Fc and restored with pg_restore into a fresh cluster,
# and dumped as plain SQL and restored with psql into a new database.  Both
# copies hold the same data, restore without errors or warnings, and go on:
# appends continue versions and positions, deleted streams stay deleted, and
# the gap-free readers work.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EventStore::Test;
use IPC::Run;

my $source = new_node('source');

$source->safe_psql('postgres', <<'SQL');
-- 20 streams in two categories, batches of 1 to 5 events, with metadata,
-- causation and correlation ids
SELECT event_store.append_to_stream(
           CASE WHEN s % 2 = 0 THEN 'order-' ELSE 'user-' END || s,
           -1,
           (SELECT array_agg(event_store.event(
                       'Happened',
                       jsonb_build_object('s', s, 'b', b, 'e', e, 'text', 'quote " and \ backslash'),
                       jsonb_build_object('by', 'dump test'),
                       NULL,
                       gen_random_uuid(),
                       gen_random_uuid()))
              FROM generate_series(1, 1 + (s + b) % 5) e))
  FROM generate_series(1, 20) s, generate_series(1, 3) b;

-- a rolled-back append leaves a hole in the positions
BEGIN;
SELECT event_store.append_to_stream('order-2', -1,
    ARRAY[event_store.event('RolledBack', '{}')]);
ROLLBACK;

SELECT event_store.delete_stream('user-1', -1);               -- soft
SELECT event_store.delete_stream('user-3', -1, hard => true);  -- tombstone
SELECT event_store.set_stream_metadata('order-4', max_count => 2);

SELECT event_store.record_snapshot('order-2', 3, 'Order', '{"total": 3}', '{"v": 1}');
SELECT event_store.record_snapshot('user-5', 2, 'User', '{"name": "ada"}');

SELECT event_store.create_subscription('all-sub');
SELECT event_store.create_subscription('order-sub', '$ce-order');
SELECT event_store.create_subscription('stream-sub', 'user-7');
SELECT event_store.ack('all-sub', 17);
SELECT event_store.ack('order-sub', 40);

-- a persistent subscription with events acked, leased and parked
SELECT event_store.create_persistent_subscription('workers', '$ce-order', strategy => 'round_robin');
SELECT count(*) FROM event_store.receive_events('workers', 'w1', 5);
SELECT event_store.ack_events('workers', ARRAY(SELECT global_position FROM event_store.persistent_events
                                                ORDER BY global_position LIMIT 2));
SELECT event_store.nack_events('workers', ARRAY(SELECT global_position FROM event_store.persistent_events
                                                 ORDER BY global_position LIMIT 1), 'park', 'poison');
SQL

# One checksum per table, over every column, in a fixed order.
my %checksum_sql = (
	events => q{SELECT count(*) || ':' || md5(string_agg(e::text, E'\n' ORDER BY global_position))
	              FROM event_store.events e},
	streams => q{SELECT count(*) || ':' || md5(string_agg(
	                 (stream_id, stream_name, category, stream_version, created_at,
	                  deleted_version, tombstoned_at, max_count, max_age, truncate_before)::text,
	                 E'\n' ORDER BY stream_id)) FROM event_store.streams},
	snapshots => q{SELECT count(*) || ':' || md5(string_agg(s::text, E'\n' ORDER BY source_id))
	                 FROM event_store.snapshots s},
	subscriptions => q{SELECT count(*) || ':' || md5(string_agg(
	                       (subscription_name, source, checkpoint, created_at, updated_at)::text,
	                       E'\n' ORDER BY subscription_name)) FROM event_store.subscriptions},
	persistent => q{SELECT count(*) || ':' || md5(string_agg(
	                    (p.*, e.*)::text, E'\n' ORDER BY e.global_position))
	                  FROM event_store.persistent_subscriptions p
	                  JOIN event_store.persistent_events e USING (subscription_name)},
	sequences => q{SELECT (SELECT last_value FROM event_store.global_position_seq) || ':' ||
	                      (SELECT last_value FROM event_store.stream_id_seq)},
);

sub checksums
{
	my ($node, $db) = @_;
	return { map { $_ => $node->safe_psql($db, $checksum_sql{$_}) } keys %checksum_sql };
}

my $before = checksums($source, 'postgres');
my $last_position = $source->safe_psql('postgres',
	'SELECT max(global_position) FROM event_store.events');
my $order2_version = $source->safe_psql('postgres',
	q{SELECT event_store.stream_version('order-2')});

my $tmp = PostgreSQL::Test::Utils::tempdir;

# Check a restored copy: same data, and it goes on.
sub check_copy
{
	my ($node, $db, $how) = @_;

	is_deeply(checksums($node, $db), $before, "$how: every table and sequence is identical");

	is($node->safe_psql($db, q{SELECT count(*) FROM event_store.read_all_forward(1, 100000)}),
		$node->safe_psql($db, q{SELECT count(*) FROM event_store.events}),
		"$how: read_all_forward passes the holes and returns every event");

	my $next = $order2_version + 1;
	is($node->safe_psql($db, qq{SELECT event_store.append_to_stream('order-2', $order2_version,
	        ARRAY[event_store.event('AfterRestore', '{}')])}),
		$next, "$how: appending continues the stream's versions");
	cmp_ok($node->safe_psql($db,
			q{SELECT global_position FROM event_store.events WHERE event_type = 'AfterRestore'}),
		'>', $last_position, "$how: appending continues the global positions");
	is($node->safe_psql($db, q{SELECT event_store.append_to_stream('brand-new', 0,
	        ARRAY[event_store.event('Created', '{}')])}),
		'1', "$how: new streams can be created");

	is($node->safe_psql($db, q{SELECT event_store.stream_version('user-1')}), '0',
		"$how: the soft-deleted stream still looks absent");
	my ($ret, $out, $err) = $node->psql($db,
		q{SELECT event_store.stream_version('user-3')},
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	like($err, qr/ES002/, "$how: the hard-deleted stream is still tombstoned");

	is($node->safe_psql($db, q{SELECT count(*) FROM event_store.read_stream_forward('order-4')}),
		'2', "$how: stream metadata still applies");
	is($node->safe_psql($db, q{SELECT checkpoint FROM event_store.subscriptions
	        WHERE subscription_name = 'order-sub'}),
		'40', "$how: checkpoints are kept");
	is($node->safe_psql($db, q{SELECT min(global_position) FROM event_store.read_subscription('all-sub', 1)}),
		$node->safe_psql($db, q{SELECT min(global_position) FROM event_store.events WHERE global_position > 17}),
		"$how: a subscription resumes after its checkpoint");
	is($node->safe_psql($db, q{SELECT kind || ' ' || checkpoint || ' ' || in_flight || ' ' || parked
	        FROM event_store.subscription_status WHERE name = 'workers'}),
		$source->safe_psql('postgres', q{SELECT kind || ' ' || checkpoint || ' ' || in_flight || ' ' || parked
	        FROM event_store.subscription_status WHERE name = 'workers'}),
		"$how: a persistent subscription keeps its checkpoint, leases and parked events");
	is($node->safe_psql($db, q{SELECT min(global_position) > (SELECT max(global_position)
	                                FROM event_store.persistent_events)
	        FROM event_store.receive_events('workers', 'w2', 1)}),
		't', "$how: a persistent subscription hands out the next event, not a leased one");
}

# Custom format, restored into a fresh cluster by pg_restore.
my ($ret, $out, $err);
my $dump_fc = "$tmp/store.dump";
($ret, $out, $err) = (0, '', '');
IPC::Run::run([ 'pg_dump', '-Fc', '-f', $dump_fc, '-d', $source->connstr('postgres') ],
	'>', \$out, '2>', \$err);
is($err, '', 'pg_dump -Fc prints no error or warning');

my $target = new_node('target', no_extension => 1);
$target->safe_psql('postgres', 'CREATE DATABASE restored');
IPC::Run::run([ 'pg_restore', '--exit-on-error', '-d', $target->connstr('restored'), $dump_fc ],
	'>', \$out, '2>', \$err);
is($?, 0, 'pg_restore succeeds');
is($err, '', 'pg_restore prints no error or warning');
check_copy($target, 'restored', 'pg_dump -Fc | pg_restore (fresh cluster)');

# Plain SQL, restored by psql into a new database of the same cluster.
my $dump_sql = "$tmp/store.sql";
IPC::Run::run([ 'pg_dump', '-f', $dump_sql, '-d', $source->connstr('postgres') ],
	'>', \$out, '2>', \$err);
is($err, '', 'pg_dump (plain) prints no error or warning');
$source->safe_psql('postgres', 'CREATE DATABASE restored_sql');
IPC::Run::run([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $source->connstr('restored_sql'),
		'-f', $dump_sql ],
	'>', \$out, '2>', \$err);
is($?, 0, 'psql restores the plain dump');
unlike($err, qr/(ERROR|WARNING)/, 'psql restore prints no error or warning') or diag($err);
check_copy($source, 'restored_sql', 'pg_dump | psql');

$source->stop;
$target->stop;
done_testing();
