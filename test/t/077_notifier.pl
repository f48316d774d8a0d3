# event_store.notify = async (the default): the notifier, a background
# worker per database, sends the appends' notifications after commit.
#
#   - the first append of a database starts it (and notifies by itself);
#     later ones are notified by the worker, with the same payloads;
#   - a payload never names a position above the gap-free horizon, and
#     appends to one stream committed while the worker waits are coalesced;
#   - commit keeps the appending transaction's own NOTIFY, and the notifier
#     announces neither those nor appends made with off;
#   - the worker's own exit and crash: the next append starts another;
#   - DROP EXTENSION and DROP DATABASE: it leaves, without holding them up;
#   - max_worker_processes exhausted: appends succeed with one WARNING per
#     session and notify at commit instead;
#   - a hot standby runs no notifier.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use EventStore::Test;

my $notifier_query = q{SELECT pid FROM pg_stat_activity
	WHERE backend_type = 'event_store notifier' AND datname = current_database()};
# ready: it holds its lock (pgprocno + 1, pid) of locktag field4 0x4503
my $ready_query = q{SELECT count(*) = 1 FROM pg_locks
	WHERE locktype = 'advisory' AND objsubid = 17667 AND classid <> 0
	  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())};

sub append
{
	my ($node, $stream, $db) = @_;
	$node->safe_psql($db // 'postgres',
		"SELECT event_store.append_to_stream('$stream', -1, ARRAY[event_store.event('T', '{}')])");
}

# Notifications a background psql session has received: [payload, pid]...
sub received
{
	my ($session) = @_;
	my $out = $session->query('SELECT 1');
	my @got;
	push @got, [ $1, $2 ]
	  while $out =~
	  /Asynchronous notification "event_store" with payload "(.*?)" received from server process with PID (\d+)\./g;
	return @got;
}

# Collect notifications until one starts with this payload (or 30 s);
# returns all.
sub wait_for_payload
{
	my ($session, $payload) = @_;
	my @all;
	my $deadline = time + 30;
	while (time < $deadline)
	{
		push @all, received($session);
		return @all if grep { index($_->[0], $payload) == 0 } @all;
		usleep(50_000);
	}
	diag("no notification $payload; got: " . join(', ', map { $_->[0] } @all));
	return @all;
}

sub payload
{
	my ($stream, $first, $last, $position) = @_;
	return qq({"stream":"$stream","first":$first,"last":$last,"position":$position});
}

my $node = new_node('main', conf => "restart_after_crash = on\n");
my $listener = $node->background_psql('postgres');
$listener->query_safe('LISTEN event_store');

# The first append starts the notifier and sends its own notification.
is($node->safe_psql('postgres', 'SELECT event_store.stream_version($$a-1$$); SHOW event_store.notify'),
	"0\nasync", 'async is the default');
append($node, 'a-1');
my @got = wait_for_payload($listener, payload('a-1', 1, 1, 1));
ok((grep { $_->[0] eq payload('a-1', 1, 1, 1) } @got), 'the first append is notified');
$node->poll_query_until('postgres', $ready_query) or die 'no notifier started';
my $worker = $node->safe_psql('postgres', $notifier_query);

# Later ones by the notifier, after commit, with the same payloads.
append($node, 'a-1');
@got = wait_for_payload($listener, payload('a-1', 2, 2, 2));
my ($second) = grep { $_->[0] eq payload('a-1', 2, 2, 2) } @got;
is($second->[1], $worker, 'the notifier sends the next notification');

# Horizon and coalescing: an append still open below three committed ones
# holds all of them back; once it commits, one pass sends it and one
# notification for the three appends to c-1.
my $open = $node->background_psql('postgres');
$open->query_safe(q{BEGIN; SELECT event_store.append_to_stream('h-1', -1, ARRAY[event_store.event('T', '{}')])});
append($node, 'c-1') for 1 .. 3;
usleep(500_000);
@got = received($listener);
is_deeply(\@got, [], 'nothing above the horizon is notified');
$open->query_safe('COMMIT');
$open->quit;
@got = wait_for_payload($listener, payload('c-1', 1, 3, 6));
is_deeply([ map { $_->[0] } @got ],
	[ payload('h-1', 1, 1, 3), payload('c-1', 1, 3, 6) ],
	'then the open append, and the three appends to one stream coalesced');
is($got[0][1], $worker, 'sent by the notifier');

# commit: the appending transaction notifies, as in 1.1.
my $own = $listener->query_safe(q{SET event_store.notify = commit; SELECT pg_backend_pid()});
my $out = $listener->query_safe(q{SELECT event_store.append_to_stream('m-1', -1, ARRAY[event_store.event('T', '{}')])});
like($out, qr/payload "\Q@{[payload('m-1', 1, 1, 7)]}\E" received from server process with PID $own\./,
	'commit: sent by the appending session');
$listener->query_safe('RESET event_store.notify');

# Each session's setting holds for its own appends: the notifier announces
# the appends made with async only, not those made with off, nor a second
# time those made with commit.
$node->safe_psql('postgres',
	q{SET event_store.notify = off; SELECT event_store.append_to_stream('q-1', -1, ARRAY[event_store.event('T', '{}')])});
append($node, 'z-1');    # async, behind both: announced after them
@got = wait_for_payload($listener, payload('z-1', 1, 1, 9));
is_deeply([ map { $_->[0] } @got ], [ payload('z-1', 1, 1, 9) ],
	'appends made with off or commit are not announced by the notifier');

# The notifier's exit: the next append starts another.
$node->safe_psql('postgres', "SELECT pg_terminate_backend($worker)");
$node->poll_query_until('postgres', "SELECT count(*) = 0 FROM ($notifier_query) n")
  or die 'the notifier did not exit';
append($node, 'r-1');
@got = wait_for_payload($listener, payload('r-1', 1, 1, 10));
ok((grep { $_->[0] eq payload('r-1', 1, 1, 10) } @got), 'the append after the exit is notified');
$node->poll_query_until('postgres', $ready_query) or die 'no new notifier';
my $worker2 = $node->safe_psql('postgres', $notifier_query);
isnt($worker2, $worker, 'a new notifier runs');
append($node, 'r-1');
@got = wait_for_payload($listener, payload('r-1', 2, 2, 11));
is($got[-1][1], $worker2, 'and sends the next notification');

# Its crash restarts the server; the next append starts a notifier again.
$listener->quit;
my $log_offset = -s $node->logfile;
kill 'KILL', $worker2;
$node->wait_for_log(qr/all server processes terminated; reinitializing/, $log_offset);
$node->poll_query_until('postgres', 'SELECT true') or die 'the server did not come back';
append($node, 'k-1');
$node->poll_query_until('postgres', $ready_query) or die 'no notifier after the crash';
$listener = $node->background_psql('postgres');
$listener->query_safe('LISTEN event_store');
append($node, 'k-1');
# (positions jump after crash recovery: the sequence logs ahead)
@got = wait_for_payload($listener, '{"stream":"k-1","first":2,"last":2,');
is($got[-1][1], $node->safe_psql('postgres', $notifier_query),
	'after a crash restart the next append starts a notifier that notifies');

# A jump of the positions wider than the notifier's window (2^20): appends
# beyond it notify themselves at commit until the notifier has passed the
# hole (and cleared every bit); each append is announced once either way.
$node->safe_psql('postgres',
	q{SELECT setval('event_store.global_position_seq', (SELECT last_value FROM event_store.global_position_seq) + 3000000)});
append($node, 'j-1') for 1 .. 3;
append($node, 'j-2');    # after the notifier passed the hole: by the notifier
my @covered;
my $deadline = time + 30;
while (time < $deadline && !grep { index($_->[0], '{"stream":"j-2"') == 0 } @got)
{
	push @got, received($listener);
	usleep(50_000);
}
for my $n (grep { index($_->[0], '{"stream":"j-1"') == 0 } @got)
{
	my ($first, $last) = $n->[0] =~ /"first":(\d+),"last":(\d+)/;
	push @covered, $first .. $last;
}
is_deeply([ sort { $a <=> $b } @covered ], [ 1, 2, 3 ],
	'across a jump wider than its window, each append is announced once');

# A hot standby runs no notifier (and knows the setting).
$node->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($node, 'base', has_streaming => 1);
$standby->start;
append($node, 'k-1');
$node->wait_for_catchup($standby, 'replay');
is($standby->safe_psql('postgres',
		"SELECT event_store.stream_version('k-1'), (SELECT count(*) FROM ($notifier_query) n); SHOW event_store.notify"),
	"3|0\nasync", 'the standby has the events, the setting and no notifier');
$standby->stop;

# DROP EXTENSION: the notifier leaves.
$listener->quit;
$node->safe_psql('postgres', 'DROP EXTENSION event_store');
ok($node->poll_query_until('postgres', "SELECT count(*) = 0 FROM ($notifier_query) n"),
	'DROP EXTENSION: the notifier leaves');

# DROP DATABASE is not held up by the notifier, and leaves none behind.
$node->safe_psql('postgres', 'CREATE DATABASE other');
$node->safe_psql('other', 'CREATE EXTENSION event_store');
append($node, 'o-1', 'other');
$node->poll_query_until('other', $ready_query) or die 'no notifier in database other';
my $t0 = time;
$node->safe_psql('postgres', 'DROP DATABASE other');
cmp_ok(time - $t0, '<', 4.5, 'DROP DATABASE does not wait out the notifier');
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'event_store notifier'}),
	'0', 'and no notifier is left');
$node->stop;

# No worker slot: appends succeed, notify at commit, one WARNING a session.
my $tight = new_node('tight', conf => "max_worker_processes = 0\n");
my ($rc, $err);
($rc, $out, $err) = $tight->psql('postgres', q{
	LISTEN event_store;
	SELECT event_store.append_to_stream('w-1', -1, ARRAY[event_store.event('T', '{}')]);
	SELECT event_store.append_to_stream('w-1', -1, ARRAY[event_store.event('T', '{}')]);
	SELECT event_store.append_to_stream('w-1', -1, ARRAY[event_store.event('T', '{}')]);
});
is($rc, 0, 'no worker slot: the appends succeed');
my @warnings = $err =~ /WARNING:  could not start the event_store notifier/g;
is(scalar @warnings, 1, 'with one WARNING');
my @payloads = $out =~ /payload "(.*?)" received/g;
is_deeply(\@payloads, [ payload('w-1', 1, 1, 1), payload('w-1', 2, 2, 2), payload('w-1', 3, 3, 3) ],
	'and their notifications, sent at commit');
$tight->stop;

done_testing();
