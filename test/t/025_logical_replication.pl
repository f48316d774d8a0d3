# Native logical replication of the event store between two real clusters
# on loopback: a subscriber of a publication of all the extension's tables
# receives every event (and the streams, snapshots and subscriptions), and a
# publication with the row filter WHERE (category = 'order') delivers that
# category only.  The subscribers have the extension created, so the tables
# exist and the read functions work there.
#
# A row filter on a column outside the replica identity is only allowed for
# a publication that does not publish UPDATE or DELETE: such a publication
# of event_store.events must say publish = 'insert', or hard deletes and
# scavenge fail on the publisher.  That is shown here too.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EventStore::Test;

my $pub = new_node('publisher');
my $sub_all = new_node('subscriber_all');
my $sub_order = new_node('subscriber_order');
my $pub_connstr = $pub->connstr . ' dbname=postgres';

# a helper on the publisher: n events to a stream in one append
$pub->safe_psql('postgres', q{
	CREATE FUNCTION append(stream text, n int) RETURNS bigint
	LANGUAGE sql AS $$
		SELECT event_store.append_to_stream(stream, -1,
			ARRAY(SELECT event_store.event('Happened', jsonb_build_object('i', i, 's', stream))
			        FROM generate_series(1, n) AS i))
	$$;
	-- events before the subscriptions exist: the initial copy brings them
	SELECT append('order-1', 3), append('cart-1', 2), append('user-1', 1);
	SELECT event_store.record_snapshot('order-1', 3, 'Order', '{"state": "open"}');
	SELECT event_store.create_subscription('mailer', '$ce-user');

	CREATE PUBLICATION event_store_all FOR TABLE
		event_store.streams, event_store.events,
		event_store.snapshots, event_store.subscriptions;
	CREATE PUBLICATION event_store_orders FOR TABLE
		event_store.events WHERE (category = 'order')
		WITH (publish = 'insert');
});

$sub_all->safe_psql('postgres', qq{
	CREATE SUBSCRIPTION event_store_all CONNECTION '$pub_connstr'
		PUBLICATION event_store_all});
$sub_order->safe_psql('postgres', qq{
	CREATE SUBSCRIPTION event_store_orders CONNECTION '$pub_connstr'
		PUBLICATION event_store_orders});
$sub_all->wait_for_subscription_sync($pub, 'event_store_all');
$sub_order->wait_for_subscription_sync($pub, 'event_store_orders');

# Live traffic: transactions committing out of position order, a rolled-back
# append, many streams in three categories.
my $bg = $pub->background_psql('postgres');
$bg->query_safe(q{BEGIN; SELECT append('order-2', 5)});
$pub->safe_psql('postgres', q{
	SELECT append('cart-2', 4);
	BEGIN; SELECT append('order-3', 2); ROLLBACK;
	SELECT append(c || '-live' || (g % 7), 1 + g % 3)
	  FROM generate_series(1, 60) AS g,
	       unnest(ARRAY['order', 'cart', 'user']) AS c;
});
$bg->query_safe('COMMIT');
$bg->quit;
$pub->safe_psql('postgres', q{
	SELECT event_store.ack('mailer', 6);
	SELECT event_store.record_snapshot('order-1', 3, 'Order', '{"state": "paid"}');
});

$pub->wait_for_catchup('event_store_all');
$pub->wait_for_catchup('event_store_orders');

# Every event, bit for bit; every stream, snapshot and subscription.
my $events = q{
	SELECT count(*), md5(string_agg(format('%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s',
	           global_position, stream_name, category, stream_version, event_id,
	           event_type, data, metadata, causation_id, correlation_id, created_at),
	       ',' ORDER BY global_position))
	  FROM event_store.events};
my $expected_all = $pub->safe_psql('postgres', $events);
like($expected_all, qr/^375\|/, 'the publisher holds the 375 events appended');
is($sub_all->safe_psql('postgres', $events), $expected_all,
	'the subscriber of all tables has every event, identical');
for my $table (qw(streams snapshots subscriptions))
{
	my $q = "SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM event_store.$table t";
	is($sub_all->safe_psql('postgres', $q), $pub->safe_psql('postgres', $q),
		"the subscriber of all tables has the same $table");
}
is( $sub_all->safe_psql('postgres',
		q{SELECT string_agg(stream_version::text, ',' ORDER BY stream_version)
		    FROM event_store.read_stream_forward('order-2')}),
	'1,2,3,4,5', 'stream reads work on the subscriber');
is( $sub_all->safe_psql('postgres',
		q{SELECT count(*) FROM event_store.read_all_forward(1, 100000)}),
	$pub->safe_psql('postgres',
		q{SELECT count(*) FROM event_store.read_all_forward(1, 100000)}),
	'$all reads on the caught-up subscriber see what the publisher sees');

# The filtered subscriber: the 'order' category and nothing else.
my $orders = $events;
$orders =~ s/FROM event_store.events/FROM event_store.events WHERE category = 'order'/;
my $expected_orders = $pub->safe_psql('postgres', $orders);
is($sub_order->safe_psql('postgres', $events), $expected_orders,
	'the row-filtered subscriber has exactly the order events');
is( $sub_order->safe_psql('postgres',
		q{SELECT count(*) FROM event_store.events WHERE category <> 'order'}),
	'0', 'and no event of another category');
is( $sub_order->safe_psql('postgres',
		q{SELECT count(*) FROM event_store.read_category_forward('order', 1, 100000)}),
	$pub->safe_psql('postgres',
		q{SELECT count(*) FROM event_store.read_category_forward('order', 1, 100000)}),
	'category reads work on the row-filtered subscriber');

# A hard delete on the publisher: replicated to the subscriber of all
# tables; the insert-only filtered publication does not stand in its way.
$pub->safe_psql('postgres', q{SELECT event_store.delete_stream('cart-2', -1, true)});
$pub->wait_for_catchup('event_store_all');
$expected_all = $pub->safe_psql('postgres', $events);
is($sub_all->safe_psql('postgres', $events), $expected_all,
	'a hard delete reaches the subscriber of all tables');

# Why publish = 'insert': with a row filter on category, a publication
# that also publishes DELETE makes the publisher refuse every delete.
$pub->safe_psql('postgres', q{
	CREATE PUBLICATION bad_filter FOR TABLE event_store.events WHERE (category = 'cart')});
my ($ret, $stdout, $stderr) = $pub->psql('postgres',
	q{SELECT event_store.delete_stream('cart-3', -1, true)});
isnt($ret, 0, 'a row filter that publishes deletes blocks hard deletes');
like($stderr, qr/cannot delete from table "events"/, '... with PostgreSQL\'s error');
$pub->safe_psql('postgres', 'DROP PUBLICATION bad_filter');
$pub->safe_psql('postgres', q{SELECT event_store.delete_stream('cart-3', -1, true)});
pass('after dropping it the delete works');

# new events keep flowing to both
$pub->safe_psql('postgres', q{SELECT append('order-9', 2), append('user-9', 2)});
$pub->wait_for_catchup('event_store_all');
$pub->wait_for_catchup('event_store_orders');
is($sub_all->safe_psql('postgres', $events), $pub->safe_psql('postgres', $events),
	'later events reach the subscriber of all tables');
is($sub_order->safe_psql('postgres',
		q{SELECT string_agg(stream_name || '/' || stream_version, ',' ORDER BY global_position)
		    FROM event_store.events WHERE stream_name LIKE '%-9'}),
	'order-9/1,order-9/2', 'and the order events of them to the filtered one');

$sub_all->stop;
$sub_order->stop;
$pub->stop;
done_testing();
