# es_tail --state-file: the slot is lost (dropped while es_tail was down,
# as after a failover) and es_tail, restarted with --create-slot, delivers
# from the table everything its state file does not list, then streams.
# One tailer follows everything, another only one category in the compact
# format (so most positions are gaps it must prove).  Meanwhile the server
# restarts under the running tailers: they connect again by themselves.
# Afterwards each output holds every event it should, exactly those, every
# line whole; the filtered tailer's state file has folded its gaps.
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

# every long option of es_tail is in its --help
{
	my ($help) = run_command([ $es_tail, '--help' ]);
	open my $src, '<', "$top/client/es_tail.c" or die "could not open es_tail.c: $!";
	my @missing;
	while (<$src>)
	{
		push @missing, $1 if /^\s*\{"([a-z-]+)", (?:no|required)_argument/ && $help !~ /--\Q$1\E\b/;
	}
	close $src;
	is("@missing", '', 'es_tail --help documents every option');
}

my $node = new_node('primary');
my $connstr = $node->connstr('postgres');
my $tmp = PostgreSQL::Test::Utils::tempdir();    # files of this test only
my $json = JSON::PP->new;

$node->safe_psql('postgres', q{
	-- 300 transactions of 8 events, a third of them to misc-*, one in nine rolled back
	CREATE PROCEDURE workload() LANGUAGE plpgsql AS $$
	BEGIN
		SET event_store.notify = off;
		FOR t IN 1 .. 300 LOOP
			PERFORM event_store.append_to_stream(
				CASE WHEN t % 3 = 0 THEN 'misc-' ELSE 'acct-' END || (t % 20), -1,
				ARRAY(SELECT event_store.event('Posted', jsonb_build_object('t', t, 'i', i))
				        FROM generate_series(1, 8) AS i));
			IF t % 9 = 0 THEN
				ROLLBACK;
			ELSE
				COMMIT;
			END IF;
			PERFORM pg_sleep(0.01);
		END LOOP;
	END $$;
});

my %tailers = (
	all => { args => [] },
	acct => { args => [ '-o', 'categories=acct', '-o', 'format=compact', '--failover-window=0' ] },
);

sub start_tail
{
	my ($name) = @_;
	my $t = $tailers{$name};
	$t->{h} = IPC::Run::start(
		[
			$es_tail, '-d', $connstr, '-S', $name, '--create-slot', '-s', '1',
			'--state-file', "$tmp/$name.state", '--max-backoff', '0.5', '-v',
			@{ $t->{args} }
		],
		'>>', "$tmp/$name.out", '2>>', "$tmp/$name.err");
}

sub lines_in
{
	my ($name) = @_;
	open my $fh, '<', "$tmp/$name.out" or return 0;
	my $n = 0;
	$n++ while <$fh>;
	close $fh;
	return $n;
}

sub wait_until
{
	my ($what, $cond) = @_;
	my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
	until ($cond->())
	{
		die "timed out waiting for $what" if time > $deadline;
		usleep(20_000);
	}
}

my ($wl_out, $wl_err) = ('', '');
my $workload = IPC::Run::start(
	[ 'psql', '-X', '-v', 'ON_ERROR_STOP=1', '-d', $connstr, '-c', 'CALL workload()' ],
	'>', \$wl_out, '2>', \$wl_err);

start_tail($_) for keys %tailers;
wait_until('first lines', sub { lines_in('all') >= 300 && lines_in('acct') >= 150 });

# the slots are lost while the tailers are down
for my $name (keys %tailers)
{
	$tailers{$name}{h}->signal('KILL');
	eval { $tailers{$name}{h}->finish };
}
$node->poll_query_until('postgres',
	q{SELECT count(*) = 0 FROM pg_replication_slots WHERE active})
  or die 'the slots stayed active';
$node->safe_psql('postgres', q{SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots});
usleep(300_000);
start_tail($_) for keys %tailers;

# the server restarts under the running tailers
wait_until('more lines', sub { lines_in('all') >= 1000 });
$node->restart;
ok($workload->finish || $wl_err =~ /terminat|connection/, 'the first appends ran until the restart');
$workload = IPC::Run::start(
	[ 'psql', '-X', '-v', 'ON_ERROR_STOP=1', '-d', $connstr, '-c', 'CALL workload()' ],
	'>', \$wl_out, '2>', \$wl_err);
ok($workload->finish, 'the appends after the restart completed') or diag($wl_err);

my %want = (
	all => $node->safe_psql('postgres',
		q{SELECT string_agg(global_position || ' ' || event_id, ',' ORDER BY global_position)
		    FROM event_store.events}),
	acct => $node->safe_psql('postgres',
		q{SELECT string_agg(global_position || ' ' || event_id, ',' ORDER BY global_position)
		    FROM event_store.events WHERE category = 'acct'}));

for my $name (sort keys %tailers)
{
	my $count = scalar(split /,/, $want{$name});
	my (%first, $lines, $bad, $dups);
	wait_until("$name to catch up", sub {
		%first = ();
		($lines, $bad, $dups) = (0, 0, 0);
		open my $fh, '<', "$tmp/$name.out" or return 0;
		while (my $line = <$fh>)
		{
			chomp $line;
			$lines++;
			my $e = eval { $json->decode($line) };
			my ($pos, $id) = ref $e eq 'HASH' ? ($e->{position}, $e->{id})
			  : ref $e eq 'ARRAY' ? ($e->[0], $e->[3]) : ();
			if (!defined $pos) { $bad++; next; }
			if (exists $first{$pos}) { $dups++; next; }
			$first{$pos} = $id;
		}
		close $fh;
		return scalar(keys %first) >= $count;
	});
	$tailers{$name}{h}->signal('TERM');
	ok($tailers{$name}{h}->finish, "$name: es_tail stops cleanly")
	  or diag(slurp_file("$tmp/$name.err"));
	note("$name: $lines lines, $dups repeated (at-least-once)");
	is($bad, 0, "$name: every line is a whole event");
	my $got = join ',', map { "$_ $first{$_}" } sort { $a <=> $b } keys %first;
	ok($got eq $want{$name}, "$name: exactly the committed events, none lost, none invented");
	like(slurp_file("$tmp/$name.err"), qr/caught up from the table: [1-9]\d* events delivered/,
		"$name: the new slot was preceded by a catch-up from the table");
	like(slurp_file("$tmp/$name.err"), qr/connecting again/, "$name: it reconnected by itself");
}

# the filtered tailer proves its gaps when it connects: its state is then a
# low-water mark
start_tail('acct');
wait_until('the gap check', sub { slurp_file("$tmp/acct.err") =~ /START_REPLICATION(?:(?!START_REPLICATION).)*\z/s
	  && (() = slurp_file("$tmp/acct.err") =~ /START_REPLICATION/g) >= 4 });
$tailers{acct}{h}->signal('TERM');
$tailers{acct}{h}->finish;
my $state = slurp_file("$tmp/acct.state");
my ($low) = $state =~ /^low (\d+)$/m;
my $runs = () = $state =~ /^range /mg;
my $max = $node->safe_psql('postgres',
	q{SELECT max(global_position) FROM event_store.events WHERE category = 'acct'});
note("acct state: low $low, $runs runs; last acct position $max");
ok($low > 0 && $runs <= 5, 'the filtered tailer folded its gaps into the low-water mark');

$node->stop;
done_testing();
