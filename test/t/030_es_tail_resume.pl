# es_tail, the tailing subscriber, is killed with SIGKILL twice in the middle
# of a stream of appends and restarted each time with its output appended to
# the same file.  Afterwards the file holds every committed event: none is
# lost, every line is whole, valid JSON.  An event may appear more than once
# (at-least-once: es_tail acknowledges only what it has written, so what it
# wrote after its last acknowledgement comes again), and then identically.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use JSON::PP;
use Time::HiRes qw(usleep);
use EventStore::Test;

my $top = $ENV{EVENT_STORE_TOP} // '.';
my $es_tail = "$top/client/es_tail";
plan skip_all => "$es_tail is not built (run make)" unless -x $es_tail;

my $node = new_node('primary');
my $connstr = $node->connstr('postgres');
my $out_file = "$PostgreSQL::Test::Utils::tmp_check/es_tail.out";
my $json = JSON::PP->new;

# the slot exists before the first append, so every event is in it
$node->safe_psql('postgres', q{
	SELECT 'init' FROM pg_create_logical_replication_slot('tail', 'event_store');
	-- 400 transactions of 25 events over 30 streams, one in ten rolled back
	CREATE PROCEDURE workload() LANGUAGE plpgsql AS $$
	BEGIN
		SET event_store.notify = off;
		FOR t IN 1 .. 400 LOOP
			PERFORM event_store.append_to_stream('acct-' || (t % 30), -1,
				ARRAY(SELECT event_store.event('Posted', jsonb_build_object('t', t, 'i', i))
				        FROM generate_series(1, 25) AS i));
			IF t % 10 = 0 THEN
				ROLLBACK;
			ELSE
				COMMIT;
			END IF;
			PERFORM pg_sleep(0.003);
		END LOOP;
	END $$;
});

sub lines_in
{
	open my $fh, '<', $out_file or return 0;
	my $n = 0;
	$n++ while <$fh>;
	close $fh;
	return $n;
}

sub start_tail
{
	my ($err) = @_;
	return IPC::Run::start(
		[ $es_tail, '-d', $connstr, '-S', 'tail', '--create-slot', '-s', '1' ],
		'>>', $out_file, '2>>', $err);
}

sub wait_for_lines
{
	my ($n) = @_;
	my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
	while (lines_in() < $n)
	{
		die "timed out waiting for $n lines of es_tail output" if time > $deadline;
		usleep(5_000);
	}
}

my $stderr = "$PostgreSQL::Test::Utils::tmp_check/es_tail.err";
my ($wl_out, $wl_err) = ('', '');
my $workload = IPC::Run::start(
	[ 'psql', '-X', '-v', 'ON_ERROR_STOP=1', '-d', $connstr, '-c', 'CALL workload()' ],
	'>', \$wl_out, '2>', \$wl_err);

my @kills;
for my $target (600, 3000)
{
	my $tail = start_tail($stderr);
	wait_for_lines($target);
	$tail->signal('KILL');
	eval { $tail->finish };
	my $lines = lines_in();
	my $committed = $node->safe_psql('postgres', 'SELECT count(*) FROM event_store.events');
	push @kills, [ $lines, $committed ];
	note("killed es_tail after $lines lines, $committed events committed");
}
ok($workload->pumpable, 'the appends were still running after both kills')
  or diag("workload ended early: $wl_err");

# the last run goes until the appends are done and it has caught up
my $tail = start_tail($stderr);
ok($workload->finish, 'the appends completed') or diag($wl_err);
my $expected = $node->safe_psql('postgres', 'SELECT count(*) FROM event_store.events');
is($expected, 360 * 25, '9,000 events were committed');

my %seen;
my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
while (1)
{
	%seen = ();
	open my $fh, '<', $out_file or die "could not open $out_file: $!";
	while (<$fh>)
	{
		$seen{$1} = 1 if /^\{"position":(\d+),/;
	}
	close $fh;
	last if scalar(keys %seen) >= $expected || time > $deadline;
	usleep(20_000);
}

# a clean stop acknowledges what was written
$tail->signal('TERM');
ok($tail->finish, 'es_tail stops cleanly on SIGTERM')
  or diag(slurp_file($stderr));

# Every line whole and valid; every committed event there; only those.
my %first;
my ($lines, $bad, $duplicates, $mismatched) = (0, 0, 0, 0);
open my $fh, '<', $out_file or die "could not open $out_file: $!";
while (my $line = <$fh>)
{
	chomp $line;
	$lines++;
	my $event = eval { $json->decode($line) };
	if (!$event || !defined $event->{position})
	{
		$bad++;
		diag("not an event: $line");
		next;
	}
	if (exists $first{ $event->{position} })
	{
		$duplicates++;
		$mismatched++ if $first{ $event->{position} } ne $line;
	}
	else
	{
		$first{ $event->{position} } = $line;
	}
}
close $fh;
note("$lines lines, $duplicates duplicates (at-least-once)");
is($bad, 0, 'every line is a whole JSON event');
is($mismatched, 0, 'a repeated event is repeated identically');

my $table = $node->safe_psql('postgres',
	q{SELECT string_agg(global_position || ' ' || event_id, ',' ORDER BY global_position)
	    FROM event_store.events});
my $streamed = join ',',
  map { my $e = $json->decode($first{$_}); "$e->{position} $e->{id}" }
  sort { $a <=> $b } keys %first;
is(scalar(keys %first), $expected, 'as many distinct events as were committed');
ok($streamed eq $table, 'exactly the committed events: none lost, none invented');

# and the slot was moved past them: a new run prints nothing old
my ($out, $err) = ('', '');
my $again = IPC::Run::start([ $es_tail, '-d', $connstr, '-S', 'tail', '-s', '1' ],
	'>', \$out, '2>', \$err);
usleep(1_500_000);
$again->signal('TERM');
$again->finish;
is($out, '', 'a restart after a clean stop repeats nothing');

$node->stop;
done_testing();
