# Crash recovery under load.  Several clients append (single events and
# batches, some with an expected version) while the postmaster is killed with
# SIGKILL at random moments.  After each restart:
#
#   - every append whose commit returned a version to its client is there,
#     exactly once, at exactly that version (its events at the versions
#     before it, in batch order);
#   - every stream's versions are 1..n without a hole, and stream_version()
#     says n;
#   - $all has no duplicate position or event id, and its indexes check out;
#   - appends continue.
#
# A client whose append was cut off by the crash does not know whether it
# committed: it retries the very same batch (same event ids, same expected
# version) until it gets an answer, which must be the original one.  A
# tailing read_all_forward reader resumes from the last position it saw; at
# the end it must have seen every event of the log, once, in order.  A
# logical slot of our output plugin, read after every restart, must deliver
# the same set of events as the table.
#
# EVENT_STORE_CRASH_SEED fixes the seed; EVENT_STORE_CRASHES the number of
# crashes (default 6).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use POSIX ();
use Time::HiRes qw(sleep time);
use EventStore::Test;

my $seed = $ENV{EVENT_STORE_CRASH_SEED} // (time() ^ $$) % 1000000;
my $crashes = $ENV{EVENT_STORE_CRASHES} // 6;
my $nclients = 4;
srand($seed);
note "seed $seed (EVENT_STORE_CRASH_SEED=$seed reproduces the schedule)";

my $node = new_node('crash', conf => "log_min_messages = warning\n");
my $dir = $PostgreSQL::Test::Utils::tmp_check . "/crash_$$";
mkdir $dir or die "mkdir $dir: $!";
my $stop = "$dir/stop";
my $parent = $$;
my @children;

# Children stop with the test, however it ends.
END
{
	if ($$ == $parent)
	{
		kill 'TERM', @children if @children;
		waitpid($_, 0) for @children;
	}
}

# A child gives up when the test that started it is gone.
sub orphaned { return getppid() != $parent; }

$node->safe_psql('postgres', 'CREATE EXTENSION amcheck');

# The logical slot: our plugin if it loads, test_decoding otherwise.
my $plugin = 'event_store';
my ($rc, $out, $err) = $node->psql('postgres',
	"SELECT 1 FROM pg_create_logical_replication_slot('crash_slot', 'event_store')");
if ($rc != 0)
{
	$plugin = 'test_decoding';
	note "event_store output plugin unavailable ($err): using test_decoding";
	$node->safe_psql('postgres',
		"SELECT 1 FROM pg_create_logical_replication_slot('crash_slot', 'test_decoding')");
}
note "logical slot plugin: $plugin";

my $connstr = $node->connstr('postgres');

# Run one statement in its own session; returns (status, stdout, stderr)
# where status is 'ok', an SQLSTATE of a definite refusal, or 'doubt' when
# the session was lost (its outcome is unknown).
sub run_sql
{
	my ($sql) = @_;
	my ($o, $e) = ('', '');
	my $ok = IPC::Run::run(
		[ 'psql', '-X', '-A', '-t', '-q', '-v', 'VERBOSITY=verbose', '-d', $connstr, '-c', $sql ],
		'<', \undef, '>', \$o, '2>', \$e);
	return ('ok', $o, $e) if $ok;
	# A refusal by the server comes with an SQLSTATE; a lost or refused
	# connection (08xxx, 57Pxx: shutdown, crash, starting up) is in doubt.
	if ($e =~ /ERROR:\s+([0-9A-Z]{5}):/ && $1 !~ /^(08|57P)/)
	{
		return ($1, $o, $e);
	}
	return ('doubt', $o, $e);
}

# An appender.  Own streams ("c<k>-<i>") are written by this client only, so
# it always knows their version and appends to them with the exact expected
# version (or no_stream); shared streams ("shared-<i>") race with the other
# clients, with any_version or a guessed expected version (ES001 is a
# legitimate answer there).  Log lines: "ack <stream> <version> <n> <seq>",
# "refused <stream> <sqlstate> <seq>", "doubt <seq>".
sub appender
{
	my ($k) = @_;
	srand($seed * 31 + $k);
	open my $log, '>>', "$dir/client$k.log" or die;
	$log->autoflush(1);
	my %known;    # own stream -> version
	my $seq = 0;
	until (-e $stop || orphaned())
	{
		my ($stream, $expected);
		my $n = rand() < 0.5 ? 1 : 1 + int(rand(25));
		if (rand() < 0.7)
		{
			$stream = "c$k-" . int(rand(6));
			$expected = rand() < 0.5 ? ($known{$stream} // 0) : -1;
		}
		else
		{
			$stream = 'shared-' . int(rand(3));
			$expected = rand() < 0.7 ? -1 : ($known{$stream} // 0);
		}
		$seq++;
		my @events = map {
			my $id = sprintf('%08x-%04x-4000-8000-%012x', $k, $_, $seq);
			"event_store.event('e', '{\"k\": $k, \"seq\": $seq, \"i\": $_}', event_id => '$id')"
		} 1 .. $n;
		my $sql = "SELECT event_store.append_to_stream('$stream', $expected, ARRAY["
		  . join(', ', @events) . '])';
		my $tries = 0;
		while (1)
		{
			my ($status, $o, $e) = run_sql($sql);
			if ($status eq 'ok' && $o =~ /^(\d+)$/m)
			{
				print $log "ack $stream $1 $n $seq " . ($tries ? 'retried' : 'first') . "\n";
				$known{$stream} = $1;
				last;
			}
			elsif ($status ne 'ok' && $status ne 'doubt')
			{
				print $log "refused $stream $status $seq $expected\n";
				# a shared stream moved on: learn where it is for next time
				$known{$stream} = $1 if $e =~ /stream is at version (\d+)/;
				last;
			}
			print $log "doubt $seq\n";
			$tries++;
			last if orphaned() || (-e $stop && $tries > 200);
			sleep(0.1 + rand(0.2));
		}
	}
	close $log;
	POSIX::_exit(0);
}

# The tailing reader: read_all_forward from the position after the last one
# it saw, 500 at a time; logs "<position> <event_id>" of everything it gets.
# It stops once told to and caught up.
sub reader
{
	open my $log, '>>', "$dir/reader.log" or die;
	$log->autoflush(1);
	my $last = 0;
	my $idle = 0;
	while (1)
	{
		my ($status, $o) = run_sql(
			"SELECT global_position || ' ' || event_id FROM event_store.read_all_forward($last + 1, 500)");
		last if orphaned();
		if ($status ne 'ok')
		{
			sleep(0.1);
			next;
		}
		my @rows = grep { /^\d+ / } split /\n/, $o;
		for my $row (@rows)
		{
			my ($pos) = split / /, $row;
			die "reader went backwards: $pos after $last" if $pos <= $last;
			print $log "$row\n";
			$last = $pos;
		}
		if (!@rows)
		{
			$idle = -e $stop ? $idle + 1 : 0;
			last if $idle >= 5;
			sleep(0.05);
		}
	}
	close $log;
	POSIX::_exit(0);
}

my @pids;
for my $k (1 .. $nclients)
{
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		eval { appender($k) };
		print STDERR "appender $k: $@" if $@;
		POSIX::_exit(1);
	}
	push @pids, $pid;
	push @children, $pid;
}
my $reader_pid = fork();
die "fork: $!" unless defined $reader_pid;
if ($reader_pid == 0)
{
	eval { reader() };
	print STDERR "reader: $@" if $@;
	POSIX::_exit(1);
}
push @children, $reader_pid;

# What the clients were told, from their logs (whole lines only).
sub acknowledged
{
	my (%acks, %refused, $doubts, $retried);
	$doubts = $retried = 0;
	for my $k (1 .. $nclients)
	{
		open my $fh, '<', "$dir/client$k.log" or next;
		local $/;
		my $text = <$fh>;
		close $fh;
		$text =~ s/[^\n]*\z//;    # drop a partial last line
		for (split /\n/, $text)
		{
			if (/^ack (\S+) (\d+) (\d+) (\d+) (\S+)/)
			{
				$acks{"$k/$4"} = { client => $k, stream => $1, version => $2, n => $3, seq => $4 };
				$retried++ if $5 eq 'retried';
			}
			elsif (/^refused (\S+) (\S+) (\d+) (\S+)/)
			{
				$refused{"$k/$3"} = { stream => $1, code => $2, expected => $4 };
			}
			elsif (/^doubt/) { $doubts++; }
		}
	}
	return (\%acks, \%refused, $doubts, $retried);
}

# The log as the table has it: event id -> [position, stream, version].
sub table_events
{
	my $rows = $node->safe_psql('postgres',
		"SELECT event_id || ' ' || global_position || ' ' || stream_name || ' ' || stream_version"
		  . " FROM event_store.events ORDER BY global_position");
	my (%by_id, @order);
	for (split /\n/, $rows)
	{
		my ($id, $pos, $stream, $version) = split / /;
		$by_id{$id} = [ $pos, $stream, $version ];
		push @order, [ $pos, $id ];
	}
	return (\%by_id, \@order);
}

my $acked_total = 0;
my $found_total = 0;
my $lost_total = 0;
my %slot_seen;
my $slot_redelivered = 0;

# The checks after a restart (and at the end).
sub check_store
{
	my ($label) = @_;
	my ($acks, $refused, $doubts, $retried) = acknowledged();
	my ($by_id, $order) = table_events();

	my ($found, $lost, $wrong) = (0, 0, 0);
	for my $a (values %$acks)
	{
		for my $i (1 .. $a->{n})
		{
			my $id = sprintf('%08x-%04x-4000-8000-%012x', $a->{client}, $i, $a->{seq});
			my $e = $by_id->{$id};
			if (!$e) { $lost++; diag "$label: lost $id of acknowledged append to $a->{stream}"; next; }
			my $want = $a->{version} - $a->{n} + $i;
			if ($e->[1] ne $a->{stream} || $e->[2] != $want)
			{
				$wrong++;
				diag "$label: $id is $e->[1]\@$e->[2], acknowledged as $a->{stream}\@$want";
			}
			$found++;
		}
	}
	my $nacked = scalar keys %$acks;
	is($lost, 0, "$label: every acknowledged event is there ($found events of $nacked appends)");
	is($wrong, 0, "$label: each at the version its append returned");

	# Own streams are written with the exact expected version: never ES001.
	my @own_es001 = grep { $_->{code} eq 'ES001' && $_->{stream} =~ /^c\d/ && $_->{expected} ne '-1' }
	  values %$refused;
	my @other = grep { $_->{code} ne 'ES001' } values %$refused;
	is(scalar(@own_es001), 0, "$label: no wrong-version refusal on a client's own stream");
	is(scalar(@other), 0, "$label: no refusal other than ES001")
	  or diag explain \@other;

	# Streams: versions 1..n, stream_version() = n; $all: no duplicates.
	my $bad = $node->safe_psql('postgres', q{
		SELECT string_agg(stream_name || ' has ' || n || ' events, max ' || hi
		                  || ', stream_version ' || event_store.stream_version(stream_name), '; ')
		  FROM (SELECT stream_name, count(*) AS n, min(stream_version) AS lo,
		               max(stream_version) AS hi
		          FROM event_store.events GROUP BY stream_name) s
		 WHERE lo <> 1 OR hi <> n OR event_store.stream_version(stream_name) <> hi});
	is($bad, '', "$label: every stream's versions are 1..n and stream_version() is n");
	my $dups = $node->safe_psql('postgres', q{
		SELECT (count(*) - count(DISTINCT global_position)) || ' ' || (count(*) - count(DISTINCT event_id))
		  FROM event_store.events});
	is($dups, '0 0', "$label: no duplicate position or event id in \$all");
	my $amcheck = $node->safe_psql('postgres', q{
		SELECT count(bt_index_check(c.oid, true))
		  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		 WHERE i.indrelid IN ('event_store.events'::regclass, 'event_store.streams'::regclass)});
	ok($amcheck >= 4, "$label: the btree indexes of events and streams check out");

	# The slot: everything it delivers is in the table, at its position.
	my $changes = $node->safe_psql('postgres',
		"SELECT data FROM pg_logical_slot_get_changes('crash_slot', NULL, NULL)");
	# (read the table again: appends that committed after the first look
	# are in the slot too)
	($by_id) = table_events();
	my $delivered = 0;
	my $mismatch = 0;
	for my $line (split /\n/, $changes)
	{
		my ($id, $pos);
		if ($plugin eq 'event_store')
		{
			next unless $line =~ /"position":(\d+)/;
			$pos = $1;
			($id) = $line =~ /"id":"([0-9a-f-]{36})"/;
		}
		else
		{
			next unless $line =~ /^table event_store\.events: INSERT:/;
			($pos) = $line =~ /global_position\[bigint\]:(\d+)/;
			($id) = $line =~ /event_id\[uuid\]:'([0-9a-f-]{36})'/;
		}
		$delivered++;
		$slot_redelivered++ if $slot_seen{$id}++;
		next if $by_id->{$id} && $by_id->{$id}[0] == $pos;
		diag "$label: the slot delivered $line" unless $mismatch++;
	}
	is($mismatch, 0, "$label: the slot's $delivered events are the table's, at their positions");

	note sprintf('%s: %d appends acknowledged (%d after a retry), %d events found, %d lost, '
		  . '%d refused (ES001 on shared streams), %d in-doubt attempts, %d events in the table',
		$label, $nacked, $retried, $found, $lost, scalar(keys %$refused), $doubts, scalar(@$order));
	return ($nacked, $found, $lost, scalar(@$order));
}

sub acks_now { my ($acks) = acknowledged(); return scalar keys %$acks; }

for my $crash (1 .. $crashes)
{
	# Let the load run for a random while, then kill the postmaster.
	my $before = acks_now();
	my $wait = 1.5 + rand(3);
	sleep($wait);
	my $during = acks_now();
	ok($during > $before, sprintf('crash %d: appends continue (%d acknowledged in %.1f s)',
			$crash, $during - $before, $wait));
	my $postmaster = $node->{_pid};
	$node->kill9;
	note sprintf('crash %d: postmaster killed with SIGKILL after %.2f s of load', $crash, $wait);

	# Orphaned backends exit on their own (they notice the postmaster's
	# death); the server can start again once none is attached to the old
	# shared memory.  Every backend's working directory is the data
	# directory, which is how we recognise them.
	my $pgdata = $node->data_dir;
	for (1 .. 100)
	{
		last unless grep { (readlink($_) // '') eq $pgdata } glob('/proc/[0-9]*/cwd');
		sleep(0.1);
	}
	# The killed postmaster must be reaped before pg_ctl believes it gone
	# (kill(pid, 0) succeeds on a zombie).  Where nothing reaps orphans
	# promptly, a zombie that holds nothing any more leaves a stale pid
	# file, which is what an operator would remove.
	for my $i (1 .. 100)
	{
		last unless -e "/proc/$postmaster";
		# (it may be reaped between the test above and the read)
		my $stat = eval { PostgreSQL::Test::Utils::slurp_file("/proc/$postmaster/stat") } // '';
		if ($i > 20 && $stat =~ /^\d+ \(.*\) Z /)
		{
			unlink("$pgdata/postmaster.pid");
			last;
		}
		sleep(0.1);
	}
	my $started = $node->start(fail_ok => 1);
	if (!$started)
	{
		# pg_ctl found the killed postmaster's pid file: try once more.
		$node->{_pid} = undef;
		sleep(1);
		$started = $node->start(fail_ok => 1);
	}
	ok($started, "crash $crash: the server restarts") or BAIL_OUT('no restart');
	$node->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()');
	check_store("crash $crash");
}

# Let the clients append a little more after the last restart, then stop.
my $before = acks_now();
sleep(2);
ok(acks_now() > $before, 'appends continue after the last restart');
open my $fh, '>', $stop or die;
close $fh;
waitpid($_, 0) for @pids;
waitpid($reader_pid, 0);
is($? >> 8, 0, 'the tailing reader never went backwards');
@children = ();

my ($acked, $found, $lost, $total) = check_store('final');

# The reader resumed after every crash without losing anything: it saw
# exactly the table's events, in position order, each once.
my (undef, $order) = table_events();
open my $rfh, '<', "$dir/reader.log" or die;
my @seen = map { chomp; [ split / / ] } <$rfh>;
close $rfh;
my $same = @seen == @$order;
for my $i (0 .. $#seen)
{
	last unless $same;
	$same = $seen[$i][0] == $order->[$i][0] && $seen[$i][1] eq $order->[$i][1];
}
ok($same, sprintf('the tailing reader saw all %d events of the log once, in order (it saw %d)',
		scalar(@$order), scalar(@seen)));
is(scalar(keys %slot_seen), $total,
	"the slot delivered every event of the table ($slot_redelivered redelivered after crashes)");

diag sprintf('crash recovery (seed %d): %d crashes, %d appends acknowledged, %d events '
	  . 'acknowledged and found, %d lost; reader saw %d/%d; slot (%s) delivered %d/%d '
	  . '(%d again after a crash)',
	$seed, $crashes, $acked, $found, $lost, scalar(@seen), $total, $plugin,
	scalar(keys %slot_seen), $total, $slot_redelivered);

$node->stop;
done_testing();
