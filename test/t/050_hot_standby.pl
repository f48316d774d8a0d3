# A physical hot standby streaming from the primary (pg_basebackup
# underneath).  What this test proves, and docs/reliability.md states:
#
#   - every reader works on the standby and returns what the primary has,
#     once replayed;
#   - every writer is refused with 25006 (read-only transaction);
#   - stream reads on the standby are exact prefixes of the stream;
#   - $all and category reads on the standby are NOT gap-free on their own:
#     the primary's bucket locks are invisible there, so a position drawn by
#     an append still open on the primary, whose row has not been replayed,
#     looks like a permanent hole and is passed (shown below, deliberately);
#   - a standby reader is gap-free below a horizon proven on the primary:
#     the last position a primary read_all_forward returned, once the
#     standby has replayed the primary's WAL up to the LSN taken after it;
#   - after promotion appends continue, above every position used so far.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EventStore::Test;

my $primary = new_node('primary');
$primary->safe_psql('postgres', q{
	SELECT event_store.append_to_stream('order-1', 0, ARRAY[
		event_store.event('placed', '{"n": 1}'), event_store.event('paid', '{"n": 2}'),
		event_store.event('shipped', '{"n": 3}')]);
	SELECT event_store.append_to_stream('user-1', 0, ARRAY[event_store.event('joined', '{}')]);
	SELECT 1 FROM event_store.create_subscription('sub', '$all');
	SELECT event_store.record_snapshot('order-1', 3, 'order', '{"state": "shipped"}');
	-- something for scavenge() to remove (it returns 0 without writing when
	-- there is nothing, on a standby too)
	SELECT event_store.append_to_stream('trim-1', 0, ARRAY[event_store.event('a', '{}'),
		event_store.event('b', '{}'), event_store.event('c', '{}')]);
	SELECT event_store.set_stream_metadata('trim-1', max_count => 1);
});

$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;

$primary->safe_psql('postgres', q{
	SELECT event_store.append_to_stream('order-1', 3, ARRAY[event_store.event('delivered', '{"n": 4}')]);
	SELECT event_store.append_to_stream('order-2', 0, ARRAY[event_store.event('placed', '{}')]);
});
$primary->wait_for_catchup($standby, 'replay');

is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'the standby is in recovery');

# Every reader answers on the standby as on the primary.
for my $query (
	q{SELECT global_position, stream_version, event_id, event_type, data FROM event_store.read_stream_forward('order-1')},
	q{SELECT global_position, stream_version, event_id FROM event_store.read_stream_backward('order-1', NULL, 2)},
	q{SELECT global_position, stream_name, event_id FROM event_store.read_all_forward(1)},
	q{SELECT global_position, stream_name, event_id FROM event_store.read_all_forward(3, 2)},
	q{SELECT global_position, stream_name FROM event_store.read_category_forward('order')},
	q{SELECT global_position, stream_name FROM event_store.read_category_forward('order', 1, 10, 0, 2)},
	q{SELECT event_store.stream_version('order-1'), event_store.stream_version('nope-1')},
	q{SELECT source_version, data FROM event_store.read_snapshot('order-1')},
	q{SELECT global_position FROM event_store.read_subscription('sub')},
	q{SELECT event_store.stream_hash('order-1')})
{
	my $want = $primary->safe_psql('postgres', $query);
	isnt($want, '', "primary answers: $query");
	is($standby->safe_psql('postgres', $query), $want, "the standby answers the same: $query");
}

# Every writer is refused: a read-only transaction (25006), store untouched.
my $count = $standby->safe_psql('postgres', 'SELECT count(*) FROM event_store.events');
for my $write (
	q{SELECT event_store.append_to_stream('order-1', -1, ARRAY[event_store.event('t', '{}')])},
	q{SELECT event_store.append_to_stream('new-1', 0, ARRAY[event_store.event('t', '{}')])},
	q{SELECT event_store.delete_stream('order-1', -1)},
	q{SELECT event_store.delete_stream('order-1', -1, true)},
	q{SELECT event_store.set_stream_metadata('order-1', 10)},
	q{SELECT event_store.scavenge()},
	q{SELECT event_store.record_snapshot('order-1', 4, 'order', '{}')},
	q{SELECT event_store.delete_snapshot('order-1')},
	q{SELECT event_store.create_subscription('sub2')},
	q{SELECT event_store.ack('sub', 2)},
	q{SELECT event_store.delete_subscription('sub')})
{
	my ($rc, $out, $err) = $standby->psql('postgres', "\\set VERBOSITY verbose\n$write");
	like($err, qr/ERROR:\s+25006:/, "refused on the standby with 25006: $write");
	unlike($err, qr/XX000|server closed/, "... and cleanly");
}
is($standby->safe_psql('postgres', 'SELECT count(*) FROM event_store.events'), $count,
	'the refused writes changed nothing');

# Stream reads are exact prefixes on the standby: appends to one stream
# commit in version order, and the standby replays commits in that order.
$primary->safe_psql('postgres', q{
	SELECT event_store.append_to_stream('burst-1', -1, ARRAY[event_store.event('t', jsonb_build_object('i', i))])
	  FROM generate_series(1, 200) i;
});
my $prefix_ok = 1;
for (1 .. 20)
{
	my ($n, $max, $lo) = split /\|/, $standby->safe_psql('postgres', q{
		SELECT count(*), coalesce(max(stream_version), 0), coalesce(min(stream_version), 1)
		  FROM event_store.read_stream_forward('burst-1', 1, 1000)});
	$prefix_ok &&= ($n == $max && $lo == 1);
}
ok($prefix_ok, 'stream reads on the standby are always a prefix 1..n');

# The window that makes $all on a standby unsafe.  A trigger (test only)
# holds an append to "slow-1" after it has drawn its position h but before
# its row exists; meanwhile "fast-1" gets position p = h + 1 and commits.
$primary->safe_psql('postgres', q{
	CREATE FUNCTION public.hold_slow() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		IF NEW.stream_name = 'slow-1' THEN
			PERFORM pg_advisory_lock_shared(4242);
			PERFORM pg_advisory_unlock_shared(4242);
		END IF;
		RETURN NEW;
	END $$;
	CREATE TRIGGER hold_slow BEFORE INSERT ON event_store.events
		FOR EACH ROW EXECUTE FUNCTION public.hold_slow();
});
my $before = $primary->safe_psql('postgres',
	'SELECT last_value FROM event_store.global_position_seq');
my $gate = $primary->background_psql('postgres');
$gate->query_safe('SELECT pg_advisory_lock(4242)');
my $slow = $primary->background_psql('postgres');
$slow->query_until(qr/started/, q{
	\echo started
	SELECT event_store.append_to_stream('slow-1', 0, ARRAY[event_store.event('late', '{}')]);
});
$primary->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND NOT granted});
$primary->safe_psql('postgres',
	q{SELECT event_store.append_to_stream('fast-1', 0, ARRAY[event_store.event('early', '{}')])});
my $h = $before + 1;
my $p = $primary->safe_psql('postgres',
	q{SELECT global_position FROM event_store.events WHERE stream_name = 'fast-1'});
is($p, $h + 1, "slow-1 drew position $h, fast-1 got $p and committed");
$primary->wait_for_catchup($standby, 'replay');

my $read_from = $h;
is($primary->safe_psql('postgres', "SELECT count(*) FROM event_store.read_all_forward($read_from)"),
	'0', "on the primary read_all_forward($read_from) stops before $h: its bucket is locked");
is($standby->safe_psql('postgres',
		"SELECT string_agg(global_position::text, ',') FROM event_store.read_all_forward($read_from)"),
	"$p", "on the standby read_all_forward($read_from) passes $h and returns $p (documented: no bucket locks there)");

# The horizon recipe: the primary's reader proves everything up to its last
# returned position; the LSN after that read bounds what the standby needs.
my ($horizon, $lsn) = split /\|/, $primary->safe_psql('postgres', qq{
	SELECT coalesce(max(global_position), $read_from - 1) FROM event_store.read_all_forward($read_from);
	SELECT pg_current_wal_lsn();
}) =~ s/\n/|/r;
is($horizon, $h - 1, 'the primary proves positions below h only');
$standby->poll_query_until('postgres', "SELECT pg_last_wal_replay_lsn() >= '$lsn'");
is($standby->safe_psql('postgres',
		"SELECT count(*) FROM event_store.read_all_forward($read_from) WHERE global_position <= $horizon"),
	'0', 'a standby reader bounded by the primary\'s horizon does not pass h');

# Let slow-1 commit: h appears, below p, on both.
$gate->query_safe('SELECT pg_advisory_unlock(4242)');
$slow->query_safe('SELECT 1');
$gate->quit;
$slow->quit;
$primary->wait_for_catchup($standby, 'replay');
is($standby->safe_psql('postgres',
		"SELECT string_agg(global_position || ':' || stream_name, ',') FROM event_store.read_all_forward($read_from)"),
	"$h:slow-1,$p:fast-1", "once committed, $h is there below $p: a standby tail that had moved to $p skipped it");

($horizon, $lsn) = split /\|/, $primary->safe_psql('postgres', qq{
	SELECT max(global_position) FROM event_store.read_all_forward($read_from);
	SELECT pg_current_wal_lsn();
}) =~ s/\n/|/r;
is($horizon, $p, 'the primary now proves everything up to p');
$standby->poll_query_until('postgres', "SELECT pg_last_wal_replay_lsn() >= '$lsn'");
is($standby->safe_psql('postgres',
		"SELECT count(*) FROM event_store.read_all_forward($read_from) WHERE global_position <= $horizon"),
	'2', 'and a standby reader below that horizon gets both, in order');
$primary->safe_psql('postgres', 'DROP TRIGGER hold_slow ON event_store.events');
$primary->wait_for_catchup($standby, 'replay');

# Promotion: the standby becomes a primary; appends continue above every
# position used so far, and stream versions go on.
my $max_before = $standby->safe_psql('postgres', 'SELECT max(global_position) FROM event_store.events');
my $version = $standby->safe_psql('postgres', q{SELECT event_store.stream_version('order-1')});
$primary->stop;
$standby->promote;
$standby->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()');
is($standby->safe_psql('postgres',
		qq{SELECT event_store.append_to_stream('order-1', $version, ARRAY[event_store.event('returned', '{}')])}),
	$version + 1, 'after promotion an append with the expected version continues the stream');
is($standby->safe_psql('postgres',
		q{SELECT event_store.append_to_stream('new-1', 0, ARRAY[event_store.event('a', '{}'), event_store.event('b', '{}')])}),
	'2', 'and new streams can be created');
my $after = $standby->safe_psql('postgres', qq{
	SELECT min(global_position) > $max_before
	  FROM event_store.events WHERE stream_name = 'new-1' OR (stream_name = 'order-1' AND event_type = 'returned')});
is($after, 't', "their positions come after every position used before ($max_before)");
my $all = $standby->safe_psql('postgres', q{
	SELECT count(*) = (SELECT count(*) FROM event_store.events)
	       AND bool_and(global_position > coalesce(prev, 0))
	  FROM (SELECT global_position, lag(global_position) OVER (ORDER BY global_position) AS prev
	          FROM event_store.read_all_forward(1, 100000)) r});
is($all, 't', 'read_all_forward on the promoted node returns the whole log in order');
is($standby->safe_psql('postgres', q{SELECT event_store.ack('sub', 3)}), '3',
	'subscriptions can be acknowledged again');

$standby->stop;
done_testing();
