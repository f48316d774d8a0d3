# Failover under load.  A primary with a synchronous standby; four appenders
# on a multi-host connection string (target_session_attrs=read-write) that
# retry the very same call (same event ids, same expected version) after
# any failure; es_tail with a state file on the same connection string.
# Mid-load the primary is stopped with -m immediate and the standby is
# promoted.  Then:
#
#   - every acknowledged append is on the new primary exactly once, its
#     events at the versions acknowledged, every stream contiguous;
#   - appends continued on the new primary;
#   - es_tail reconnected by itself, created its slot there, caught up from
#     the table and delivered every event of the new primary's table.
#
# The figures (appends acknowledged before and after, events delivered, time
# without a primary) are printed as notes; docs/operations.md quotes them.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use JSON::PP;
use Time::HiRes qw(time usleep);
use POSIX ();
use EventStore::Test;

my $top = $ENV{EVENT_STORE_TOP} // '.';
my $es_tail = "$top/client/es_tail";
plan skip_all => "$es_tail is not built (run make)" unless -x $es_tail;

my $appenders = 4;
my $load_before = 3;    # seconds of appends before the failover
my $load_after = 2;     # ... and after the promotion
my $tmp = PostgreSQL::Test::Utils::tempdir();    # files of this test only

my $primary = new_node('primary');
$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;
# synchronous from now on (the standby's own configuration does not say so:
# once promoted it commits alone)
$primary->append_conf('postgresql.conf', "synchronous_standby_names = 'standby'");
$primary->reload;
$primary->poll_query_until('postgres',
	q{SELECT sync_state = 'sync' FROM pg_stat_replication WHERE application_name = 'standby'})
  or die 'the standby did not become synchronous';

my $conninfo = sprintf(
	'host=%s,%s port=%d,%d dbname=postgres target_session_attrs=read-write connect_timeout=2',
	$primary->host, $standby->host, $primary->port, $standby->port);

# es_tail, from before the first append
my $tail = IPC::Run::start(
	[
		$es_tail, '-d', $conninfo, '-S', 'tail', '--create-slot', '--state-file',
		"$tmp/tail.state", '--max-backoff', '0.5', '-s', '1', '-v'
	],
	'>>', "$tmp/tail.out", '2>>', "$tmp/tail.err");
$primary->poll_query_until('postgres',
	q{SELECT count(*) = 1 FROM pg_replication_slots WHERE slot_name = 'tail' AND active})
  or die 'es_tail did not start';

# An appender: batches of 3 events with ids of its own to stream acct-<a>,
# each call retried unchanged until it is acknowledged.
sub appender
{
	my ($a) = @_;
	open my $log, '>>', "$tmp/appender$a.log" or die $!;
	$log->autoflush(1);
	my $expected = 0;
	for (my $k = 1; !-e "$tmp/stop"; $k++)
	{
		my @ids = map { sprintf('%08x-0000-4000-8000-%012x', $a, $k * 10 + $_) } 1 .. 3;
		my $sql = "SELECT event_store.append_to_stream('acct-$a', $expected, ARRAY["
		  . join(',', map { "event_store.event('Posted', '{\"k\": $k}', NULL, '$_')" } @ids)
		  . '])';
		my $deadline = time + 60;
		my ($version, $tries) = (undef, 0);
		while (!defined $version)
		{
			my ($out, $err) = ('', '');
			$tries++;
			IPC::Run::run([ 'psql', '-X', '-At', '-q', '-d', $conninfo, '-c', $sql ],
				'>', \$out, '2>', \$err);
			if ($out =~ /^(\d+)$/m)
			{
				$version = $1;
			}
			else
			{
				die "appender $a: $err" if $err =~ /ES00\d|duplicate|syntax/ || time > $deadline;
				usleep(50_000);
			}
		}
		printf $log "%d %d %.3f %d %s\n", $k, $version, time, $tries, join(',', @ids);
		$expected = $version;
		usleep(20_000);
	}
}

my @pids;
for my $a (1 .. $appenders)
{
	my $pid = fork;
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		# no END blocks in the child: they would stop the test's servers
		eval { appender($a); 1 } or print STDERR $@;
		POSIX::_exit($@ ? 1 : 0);
	}
	push @pids, $pid;
}

sleep $load_before;
my $t_stop = time;
$primary->stop('immediate');
$standby->promote;
my $t_promoted = time;
sleep $load_after;
open my $stop, '>', "$tmp/stop" or die $!;
close $stop;
my $failed_appenders = 0;
for (@pids)
{
	waitpid($_, 0);
	$failed_appenders++ if $?;
}
is($failed_appenders, 0, 'every appender got every append acknowledged');

# What the appenders were told
my (@acks, %acked_ids);
for my $a (1 .. $appenders)
{
	open my $log, '<', "$tmp/appender$a.log" or die $!;
	while (<$log>)
	{
		my ($k, $version, $t, $tries, $ids) = split;
		push @acks, { a => $a, k => $k, version => $version, t => $t, tries => $tries, ids => [ split /,/, $ids ] };
	}
	close $log;
}
my $before = grep { $_->{t} < $t_stop } @acks;
my $after = grep { $_->{t} >= $t_promoted } @acks;
my $retried = grep { $_->{tries} > 1 } @acks;
# the longest time without an acknowledged append, across all appenders
my @times = sort { $a <=> $b } map { $_->{t} } @acks;
my $longest_gap = 0;
for my $i (1 .. $#times)
{
	$longest_gap = $times[$i] - $times[ $i - 1 ] if $times[$i] - $times[ $i - 1 ] > $longest_gap;
}

# Every acknowledged event once, at its version
my %stored;
for (split /\n/, $standby->safe_psql('postgres',
		q{SELECT event_id, stream_name, stream_version, global_position FROM event_store.events}))
{
	my ($id, $stream, $version, $pos) = split /\|/;
	$stored{$id} = [ $stream, $version, $pos ];
}
my ($missing, $wrong) = (0, 0);
for my $ack (@acks)
{
	my $n = scalar @{ $ack->{ids} };
	for my $i (0 .. $n - 1)
	{
		my $s = $stored{ $ack->{ids}[$i] };
		if (!$s) { $missing++; next; }
		$wrong++ unless $s->[0] eq "acct-$ack->{a}" && $s->[1] == $ack->{version} - $n + 1 + $i;
	}
}
is($missing, 0, 'every acknowledged event is on the new primary');
is($wrong, 0, 'every acknowledged event is at the stream and version acknowledged');
is($standby->safe_psql('postgres', q{
	SELECT count(*) FROM (SELECT stream_name, count(*) AS n, max(stream_version) AS top,
	                             count(DISTINCT stream_version) AS d
	                        FROM event_store.events GROUP BY stream_name) s
	 WHERE n <> top OR d <> n}), '0', 'every stream is contiguous, each version once');
is($standby->safe_psql('postgres', q{SELECT count(*) - count(DISTINCT event_id) FROM event_store.events}),
	'0', 'no event id twice');
ok($after > 0, 'appends continued on the new primary');
is($standby->safe_psql('postgres', q{SELECT count(*) FROM event_store.read_all_forward(1, 100000)}),
	$standby->safe_psql('postgres', q{SELECT count(*) FROM event_store.events}), '$all is readable, all of it');

# es_tail delivered every event of the new primary's table
my $json = JSON::PP->new;
my $table_count = scalar(keys %stored);
my (%delivered, $lines);
my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
while (1)
{
	(%delivered, $lines) = ();
	$lines = 0;
	open my $fh, '<', "$tmp/tail.out" or die $!;
	while (my $line = <$fh>)
	{
		$lines++;
		my $e = eval { $json->decode($line) } or next;
		$delivered{"$e->{position} $e->{id}"} = 1;
	}
	close $fh;
	my $have = grep { $delivered{"$stored{$_}[2] $_"} } keys %stored;
	last if $have == $table_count || time > $deadline;
	usleep(100_000);
}
$tail->signal('TERM');
ok($tail->finish, 'es_tail stops cleanly') or diag(slurp_file("$tmp/tail.err"));
my @undelivered = grep { !$delivered{"$stored{$_}[2] $_"} } keys %stored;
is(scalar(@undelivered), 0, 'es_tail delivered every event of the new primary')
  or diag('undelivered positions: ' . join(' ', sort { $a <=> $b } map { $stored{$_}[2] } @undelivered[0 .. ($#undelivered < 9 ? $#undelivered : 9)]));
my $err = slurp_file("$tmp/tail.err");
like($err, qr/caught up from the table/, 'es_tail caught up from the table on the new primary');
my ($forgotten) = $err =~ /: (\d+) positions delivered after it will be read again/;
my ($caught_up) = (reverse($err =~ /caught up from the table: (\d+) events delivered/g))[0];
my $not_on_new = grep { my ($p, $id) = split / /; !$stored{$id} } keys %delivered;

note(sprintf('failover figures: %d appenders; %d appends (of 3 events) acknowledged before the stop, '
	  . '%d after the promotion, %d acknowledged only after a retry',
	$appenders, $before, $after, $retried));
note(sprintf('failover figures: no primary for %.2f s (stop -m immediate to promotion done); '
	  . 'longest time without an acknowledged append %.2f s', $t_promoted - $t_stop, $longest_gap));
note(sprintf('failover figures: new primary holds %d events; es_tail wrote %d lines, %d distinct '
	  . '(position, id) pairs; %d delivered positions past the switch point forgotten, %d events '
	  . 'caught up from the table; %d delivered events not on the new primary (lost with the old one, '
	  . 'never acknowledged)', $table_count, $lines, scalar(keys %delivered), $forgotten // 0,
	$caught_up // 0, $not_on_new));

$standby->stop;
done_testing();
