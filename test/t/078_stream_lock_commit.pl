# A stream's lock goes back at the commit record, not after its flush
# (src/commit.c), and nothing is lost for it:
#
#   - with commit_delay = 100 ms (every WAL flush first sleeps 100 ms), four
#     clients making ten appends each to one stream finish far sooner than
#     the 4 s that one flush per append under the lock takes: commits to the
#     stream share flushes; the versions are 1..40;
#   - a crash (immediate shutdown) under that load loses no append a client
#     was told about, and the stream is 1..n after it;
#   - a commit that gave its lock back is visible during its flush; what
#     the store answers then from what it sees (a stream read, a
#     subscription's page, a retry answered from the log, a wrong-version
#     refusal, an $all or category read by the custom scan) waits for the
#     flush: a crash right after keeps what it said;
#   - with a synchronous standby named, the lock is held through the
#     commit's wait for the standby, as before: the waiting append stays
#     waiting until the first commit is released;
#   - a savepoint rolled back gives its stream lock back at once; one
#     released keeps it to the commit.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use POSIX ();
use Time::HiRes qw(time usleep);
use EventStore::Test;

# fsync on: commit_delay only applies when WAL is really synced.  WAL
# buffers of a few MB (the test default is 64 kB): with 64 kB, a session
# writing WAL (hint bits are WAL-logged here) soon needs a buffer written
# out and waits for the sleeping flush itself, whatever it is doing.
my $node = new_node('lockcommit',
	conf => "fsync = on\ncommit_delay = 100000\ncommit_siblings = 0\n"
	  . "shared_buffers = 32MB\nwal_buffers = 4MB\n"
	  . "event_store.notify = off\n");
my $connstr = $node->connstr('postgres');

sub append_sql
{
	my ($stream) = @_;
	return "SELECT event_store.append_to_stream('$stream', -1, ARRAY[event_store.event('T', '{}')]);";
}

# --- four clients, ten appends each, one stream --------------------------
my @scripts;
foreach my $k (1 .. 4)
{
	my $f = $node->basedir . "/client$k.sql";
	open my $fh, '>', $f or die "$f: $!";
	print $fh append_sql('hot-1') . "\n" for 1 .. 10;
	close $fh;
	push @scripts, $f;
}
my $t0 = time();
my @runs = map {
	my $out = '';
	[ IPC::Run::start([ 'psql', '-X', '-At', '-v', 'ON_ERROR_STOP=1', '-d', $connstr, '-f', $_ ],
			'<', \undef, '>', \$out, '2>', \my $err), \$out ]
} @scripts;
my @versions;
foreach my $r (@runs)
{
	ok($r->[0]->finish, 'a client made its ten appends');
	push @versions, split /\n/, ${ $r->[1] };
}
my $elapsed = time() - $t0;
is(join(',', sort { $a <=> $b } @versions), join(',', 1 .. 40),
	'the 40 appends got versions 1..40, each once');
cmp_ok($elapsed, '<', 3.5,
	sprintf('40 appends to one stream with 100 ms flushes took %.2f s (one flush each under the lock: at least 4 s)',
		$elapsed));

# --- a crash under that load ---------------------------------------------
my $dir = $node->basedir . '/crash';
mkdir $dir or die "mkdir $dir: $!";
my $parent = $$;
my @children;
END
{
	if ($$ == $parent)
	{
		kill 'TERM', @children if @children;
		waitpid($_, 0) for @children;
	}
}

sub child_loop
{
	my ($log, $sql) = @_;
	open my $fh, '>>', $log or die "$log: $!";
	$fh->autoflush(1);
	while (getppid() == $parent)
	{
		my ($o, $e) = ('', '');
		IPC::Run::run([ 'psql', '-X', '-At', '-d', $connstr, '-c', $sql ],
			'<', \undef, '>', \$o, '2>', \$e)
		  or last;
		chomp $o;
		print $fh "$o\n" if $o ne '';
	}
	POSIX::_exit(0);
}

foreach my $k (1 .. 4)
{
	my $pid = fork() // die "fork: $!";
	child_loop("$dir/ack$k.log", append_sql('hot-2')) if $pid == 0;
	push @children, $pid;
}
# Let the load run, then crash (an immediate shutdown: WAL not yet written
# is lost).
$node->poll_query_until('postgres', q{SELECT event_store.stream_version('hot-2') >= 30});
$node->stop('immediate');
waitpid($_, 0) for @children;
@children = ();
$node->start;

sub max_in
{
	my $max = 0;
	foreach my $f (@_)
	{
		open my $fh, '<', $f or next;
		while (<$fh>) { $max = $1 if /^(\d+)$/ && $1 > $max; }
	}
	return $max;
}
my $acked = max_in(map { "$dir/ack$_.log" } 1 .. 4);
my ($n, $count, $holes) = split /\|/, $node->safe_psql('postgres', q{
	SELECT event_store.stream_version('hot-2'), count(*),
	       count(*) FILTER (WHERE stream_version <> rn)
	  FROM (SELECT stream_version, row_number() OVER (ORDER BY stream_version) AS rn
	          FROM event_store.events WHERE stream_name = 'hot-2') v});
note "after the crash: stream at $n; highest acknowledged $acked";
cmp_ok($acked, '>', 0, 'clients were told of appends before the crash');
cmp_ok($n, '>=', $acked, 'every acknowledged append survived the crash');
is("$count|$holes", "$n|0", 'the stream is 1..n after the crash');

# A commit gives its lock back and then sleeps 100 ms in its flush.  What
# the store answers in that window from what it sees -- a read, a
# subscription's page, a retry answered from the log, a wrong-version
# refusal naming the version, an $all or category read -- must not be taken
# back by a crash right after it.  The reads are made while another append,
# which waited for the lock, holds it; the retry and the refusal are
# themselves the waiting append.
$node->safe_psql('postgres', q{
	CREATE FUNCTION public.refused_at(stream text) RETURNS bigint LANGUAGE plpgsql AS $$
	DECLARE
		detail text;
	BEGIN
		PERFORM event_store.append_to_stream(stream, 99, ARRAY[event_store.event('T', '{}')]);
		RETURN -1;
	EXCEPTION WHEN SQLSTATE 'ES001' THEN
		GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
		RETURN substring(detail FROM 'at version (\d+)')::bigint;
	END
	$$;
	-- waits (by a plain SELECT, which does not wait for flushes) until the
	-- first commit is visible, at most 5 s, then runs the reading query once
	CREATE FUNCTION public.first_seen(stream text, query text) RETURNS bigint LANGUAGE plpgsql AS $$
	DECLARE
		v bigint;
	BEGIN
		FOR i IN 1 .. 5000 LOOP
			EXIT WHEN EXISTS (SELECT FROM event_store.events e WHERE e.stream_name = stream);
			PERFORM pg_sleep(0.001);
		END LOOP;
		EXECUTE query INTO v;
		RETURN v;
	END
	$$;
	SELECT event_store.create_subscription('seen-sub', 'seen-2');
	SELECT count(*) FROM event_store.read_subscription('seen-sub', 10);
});
my @answers = (
	[ 'a stream read', 0,
	  q{SELECT public.first_seen('seen-1', $q$SELECT coalesce(max(stream_version), 0) FROM event_store.read_stream_forward('seen-1', 1, 10)$q$)} ],
	[ 'a subscription page', 0,
	  q{SELECT public.first_seen('seen-2', $q$SELECT coalesce(max(stream_version), 0) FROM event_store.read_subscription('seen-sub', 10)$q$)} ],
	[ 'a retry answered from the log', 1,
	  q{SELECT event_store.append_to_stream('seen-3', -1, ARRAY[event_store.event('T', '{}', event_id => '00000000-0000-4000-8000-00000000f153')])} ],
	[ 'a wrong-version refusal', 1, q{SELECT public.refused_at('seen-4')} ],
	# read row by row by the custom scan (the library is loaded first, so the
	# read is planned as one): each round flushes before its first row.  They
	# start at the first commit's position (POS): a read stops at a hole in a
	# bucket still in use, and the crash above left holes behind it.
	[ 'an $all read', 0,
	  q{LOAD 'event_store'; SELECT public.first_seen('seen-5', $q$SELECT coalesce(max(stream_version), 0) FROM event_store.read_all_forward(POS, 1000, NULL, 'seen-5')$q$)} ],
	[ 'a category read', 0,
	  q{LOAD 'event_store'; SELECT public.first_seen('seen-6', $q$SELECT coalesce(max(stream_version), 0) FROM event_store.read_category_forward('seen', POS, 1000) WHERE stream_name = 'seen-6'$q$)} ]);
foreach my $round (1 .. @answers)
{
	my ($what, $waits, $sql) = @{ $answers[ $round - 1 ] };
	my $stream = "seen-$round";
	my $first = $node->background_psql('postgres');
	$first->query_safe('BEGIN');
	$first->query_safe("SELECT event_store.append_to_stream('$stream', -1, ARRAY[event_store.event('T', '{}', event_id => '00000000-0000-4000-8000-00000000f15$round')])");
	my $pos = $first->query_safe("SELECT global_position FROM event_store.events WHERE stream_name = '$stream'");
	$sql =~ s/POS/$pos/g;
	my $waiter = $node->background_psql('postgres', on_error_stop => 0);
	my $reader = $waits ? $waiter : $node->background_psql('postgres');
	$waiter->query_until(qr/started/, "\\echo started\n"
		  . ($waits ? "$sql;\n" : "BEGIN;\n" . append_sql($stream) . "\n"));
	$node->poll_query_until('postgres', q{
		SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 17665 AND NOT granted});
	$first->query_until(qr/sent/, "\\echo sent\nCOMMIT;\n");
	my $t = time();
	my $answer;
	if ($waits)
	{
		($answer) = $waiter->query_until(qr/^-?\d+$/m, '') =~ /^(-?\d+)$/m;
	}
	else
	{
		$answer = $reader->query_safe($sql);
	}
	kill 'QUIT', $node->{_pid};    # pg_ctl would take longer than the flush
	$t = time() - $t;
	my $pidfile = $node->data_dir . '/postmaster.pid';
	for (1 .. 200)
	{
		last unless -e $pidfile;
		usleep(50_000);
	}
	$node->{_pid} = undef;
	$_->{run}->kill_kill foreach ($first, $waiter, $reader);
	$node->start;
	my $durable = $node->safe_psql('postgres', "SELECT event_store.stream_version('$stream')");
	note sprintf("%s, %.0f ms after the first commit began, said version %s; after the crash the stream is at %s",
		$what, $t * 1000, $answer, $durable);
	cmp_ok($answer, '==', 1, "$what saw the first commit");
	cmp_ok($durable, '>=', $answer, "$what: what it said survived the crash");
}

my ($first, $second);
# --- a synchronous standby named: the lock is held through the wait --------
$node->append_conf('postgresql.conf', "synchronous_standby_names = 'nobody'\n");
$node->reload;
$first = $node->background_psql('postgres', on_error_stop => 0);
$first->query_safe('BEGIN');
$first->query_safe(append_sql('sync-1'));
$second = $node->background_psql('postgres', on_error_stop => 0);
$second->query_until(qr/started/, "\\echo started\n" . append_sql('sync-1') . "\n");
$node->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 17665 AND NOT granted});
my $first_pid = $node->safe_psql('postgres', q{
	SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 17665 AND granted});
$first->query_until(qr/sent/, "\\echo sent\nCOMMIT;\n");
$node->poll_query_until('postgres',
	"SELECT wait_event = 'SyncRep' FROM pg_stat_activity WHERE pid = $first_pid");
usleep(300_000);
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 17665 AND NOT granted}),
	'1', 'while the commit waits for the synchronous standby, the next append still waits for the stream');
$node->append_conf('postgresql.conf', "synchronous_standby_names = ''\n");
$node->reload;
$node->poll_query_until('postgres', q{
	SELECT count(*) = 0 FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 17665});
$first->quit;
$second->quit;
is($node->safe_psql('postgres', q{SELECT event_store.stream_version('sync-1')}), '2',
	'both appends committed once no standby was waited for');

# --- savepoints -----------------------------------------------------------
my $s = $node->background_psql('postgres');
$s->query_safe('BEGIN');
$s->query_safe('SAVEPOINT a');
$s->query_safe(append_sql('sp-1'));
$s->query_safe('ROLLBACK TO SAVEPOINT a');
is($node->safe_psql('postgres', append_sql('sp-1') =~ s/;$//r), '1',
	'a rolled-back savepoint gave its stream lock back: another session appended at once');
$s->query_safe('SAVEPOINT b');
$s->query_safe(append_sql('sp-2'));
$s->query_safe('RELEASE SAVEPOINT b');
my ($rc, $out, $err) = $node->psql('postgres', "SET lock_timeout = 200;\n" . append_sql('sp-2'));
like($err, qr/lock timeout/, 'a released savepoint keeps its stream lock until the commit');
$s->query_safe('COMMIT');
is($node->safe_psql('postgres', append_sql('sp-2') =~ s/;$//r), '2',
	'after the commit the stream takes the next append');
$s->quit;

done_testing();
