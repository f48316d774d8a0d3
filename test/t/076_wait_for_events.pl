# wait_for_events with real sessions:
#
#   - a waiter asleep in it wakes on another session's commit, within
#     milliseconds, and returns the new horizon; it burns no CPU while asleep
#     (its backend's CPU time barely moves over a second of waiting);
#   - an open lower append holds the horizon back: a commit above it does
#     not wake the waiter past it; the lower commit does;
#   - pg_cancel_backend ends a wait at once (57014);
#   - through PgBouncer in transaction mode (one server connection for every
#     client): a pooled client's wait wakes on a commit, and the server
#     connection it used carries nothing into the next client's transaction
#     (no lock, no LISTEN).  Skipped when pgbouncer is not installed.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run qw(start finish timeout);
use Time::HiRes qw(usleep time);
use EventStore::Test;

my $node = new_node('wait');
my $sock = $node->host;
my $port = $node->port;

sub append
{
	my ($stream) = @_;
	return $node->safe_psql('postgres',
		"SELECT event_store.append_to_stream('$stream', -1, ARRAY[event_store.event('T', '{}')])");
}

# Start "SELECT wait_for_events(after, timeout)" in its own psql; returns
# the harness and a ref to its stdout.
sub start_wait
{
	my ($after, $timeout, %conn) = @_;
	my ($out, $err) = ('', '');
	my $h = start(
		[
			'psql', '-X', '-At', '-h', $conn{host} // $sock, '-p', $conn{port} // $port,
			'-U', $conn{user} // $ENV{USER} // 'postgres', '-d', 'postgres',
			'-c', "SELECT event_store.wait_for_events($after, '$timeout')"
		],
		'>', \$out, '2>', \$err, timeout(120));
	return ($h, \$out, \$err);
}

sub waiter_pid
{
	my $pid;
	foreach (1 .. 200)
	{
		$pid = $node->safe_psql('postgres',
			q{SELECT pid FROM pg_stat_activity WHERE query LIKE '%wait_for_events(%' AND pid <> pg_backend_pid() AND state = 'active'});
		last if $pid;
		usleep(20_000);
	}
	return $pid;
}

sub cpu_ticks
{
	my ($pid) = @_;
	open(my $fh, '<', "/proc/$pid/stat") or return undef;
	my @f = split / /, <$fh>;
	close $fh;
	return $f[13] + $f[14];    # utime + stime, in clock ticks
}

append('w-1');
my $h0 = $node->safe_psql('postgres', "SELECT event_store.wait_for_events(0, '0')");
is($h0, '1', 'the horizon after one append is 1');

# 1. a sleeping waiter wakes on a commit
{
	my ($h, $out) = start_wait(1, '60 seconds');
	my $pid = waiter_pid();
	ok($pid, 'the waiter is waiting');
	my $before = cpu_ticks($pid);
	sleep 1;
	my $after = cpu_ticks($pid);
	ok($h->pumpable, 'it is still waiting after a second');
	SKIP:
	{
		skip 'no /proc', 1 unless defined $before && defined $after;
		cmp_ok($after - $before, '<=', 2, "no CPU while waiting ($before -> $after ticks)");
	}
	is( $node->safe_psql('postgres',
			"SELECT wait_event_type || '/' || wait_event FROM pg_stat_activity WHERE pid = $pid"),
		'Extension/Extension',
		'it sleeps on its latch');
	my $t0 = time;
	append('w-2');
	finish($h);
	my $ms = (time - $t0) * 1000;
	is($$out, "2\n", 'it returns the new horizon');
	cmp_ok($ms, '<', 1000, sprintf('it returned %.1f ms after the append was sent', $ms));
	diag(sprintf('wake after append: %.1f ms (psql round trips included)', $ms));
}

# 2. an open lower append holds the horizon back
{
	my $open = $node->background_psql('postgres');
	$open->query_safe('BEGIN');
	$open->query_safe(
		"SELECT event_store.append_to_stream('w-3', -1, ARRAY[event_store.event('T', '{}')])");
	my ($h, $out) = start_wait(2, '60 seconds');
	ok(waiter_pid(), 'waiting after 2 while 3 is open');
	append('w-4');    # position 4 commits above the open 3
	usleep(300_000);
	ok($h->pumpable, 'a commit above an open lower append does not wake it past it');
	$open->query_safe('COMMIT');
	finish($h);
	is($$out, "4\n", 'the lower commit wakes it: the horizon is 4');
	$open->quit;
}

# 3. pg_cancel_backend ends a wait
{
	my ($h, $out, $err) = start_wait(100, '60 seconds');
	my $pid = waiter_pid();
	my $t0 = time;
	$node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)");
	finish($h);
	like($$err, qr/canceling statement due to user request/, 'pg_cancel_backend ends the wait');
	cmp_ok(time - $t0, '<', 5, 'at once');
	is( $node->safe_psql('postgres',
			q{SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 17668}),
		'0', 'the waiter lock is gone with it');
}

# 4. through PgBouncer, transaction mode
SKIP:
{
	my $pgbouncer = -x '/usr/sbin/pgbouncer' ? '/usr/sbin/pgbouncer' : `which pgbouncer 2>/dev/null`;
	chomp $pgbouncer;
	skip 'pgbouncer is not installed', 6 unless $pgbouncer && -x $pgbouncer;

	my $dir = PostgreSQL::Test::Utils::tempdir;
	my $bport = PostgreSQL::Test::Cluster::get_free_port();
	my $user = $ENV{USER} // getpwuid($<);
	open(my $fh, '>', "$dir/userlist.txt") or die;
	print $fh qq{"$user" ""\n};
	close $fh;
	open($fh, '>', "$dir/pgbouncer.ini") or die;
	print $fh <<"EOF";
[databases]
postgres = host=$sock port=$port dbname=postgres user=$user

[pgbouncer]
listen_addr =
listen_port = $bport
unix_socket_dir = $dir
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
default_pool_size = 1
max_client_conn = 10
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
EOF
	close $fh;
	system($pgbouncer, '-d', "$dir/pgbouncer.ini") == 0 or die "pgbouncer did not start";
	foreach (1 .. 100)
	{
		last if -S "$dir/.s.PGSQL.$bport";
		usleep(50_000);
	}
	my %via = (host => $dir, port => $bport, user => $user);

	my ($h, $out, $err) = start_wait(4, '60 seconds', %via);
	ok(waiter_pid(), 'a client of the pooler is waiting');
	my $t0 = time;
	append('w-5');
	finish($h);
	my $ms = (time - $t0) * 1000;
	is($$out, "5\n", 'through PgBouncer (transaction mode) it wakes on a commit');
	cmp_ok($ms, '<', 1000, sprintf('%.1f ms after the append', $ms));

	# the one server connection serves the next client: nothing left over
	my ($state) = ('');
	my @cmd = (
		'psql', '-X', '-At', '-h', $dir, '-p', $bport, '-U', $user, '-d', 'postgres',
		'-c',
		q{SELECT (SELECT count(*) FROM pg_listening_channels()) || ',' ||
		         (SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory')});
	IPC::Run::run(\@cmd, '>', \$state, '2>', \my $e2);
	is($state, "0,0\n", 'the pooled connection carries no LISTEN and no lock to the next client');

	# two pooled clients wait in turn on one server connection
	my ($h1, $out1) = start_wait(5, '5 seconds', %via);
	usleep(200_000);
	append('w-6');
	finish($h1);
	my ($h2, $out2) = start_wait(6, '0', %via);
	finish($h2);
	is($$out1 . $$out2, "6\n6\n", 'the next pooled client sees the same horizon');
	my $log = slurp_file("$dir/pgbouncer.log");
	like($log, qr/pool_mode|transaction|listening/i, 'pgbouncer ran (its log is there)');

	if (open(my $pf, '<', "$dir/pgbouncer.pid"))
	{
		my $bpid = <$pf>;
		close $pf;
		chomp $bpid;
		kill 'TERM', $bpid if $bpid;
	}
}

$node->stop;
done_testing();
