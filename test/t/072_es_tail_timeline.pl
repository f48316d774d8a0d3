# es_tail across a failover that loses transactions it already delivered.
# A PostgreSQL 15 walsender decodes a commit once it is flushed locally, so
# es_tail can deliver events that the standby never receives; when that
# standby is promoted, they are gone and the new primary hands their
# positions to other events.  Here the standby is down while 3 appends of
# 40 events commit locally on the primary (synchronous_commit = local) and
# es_tail delivers them; then the primary stops, the standby (without them)
# is promoted and takes new appends, which reuse those positions.  es_tail,
# reconnecting, must notice the timeline switch, forget what it delivered
# past the switch point, and deliver every event of the new primary.
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
my $tmp = PostgreSQL::Test::Utils::tempdir();    # files of this test only

my $primary = new_node('primary');
$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;

# es_tail's files must be this run's alone: with a state file or a stderr
# left by another es_tail (070 once wrote the same names into the shared
# tmp_check), the check of the switch below reads someone else's figures.
die "$tmp/tail.state exists before es_tail started" if -e "$tmp/tail.state";
my $conninfo = sprintf('host=%s,%s port=%d,%d dbname=postgres',
	$primary->host, $standby->host, $primary->port, $standby->port);
my $tail = IPC::Run::start(
	[
		$es_tail, '-d', $conninfo, '-S', 'tail', '--create-slot', '--state-file',
		"$tmp/tail.state", '--max-backoff', '0.3', '-s', '1', '-v'
	],
	'>>', "$tmp/tail.out", '2>>', "$tmp/tail.err");

sub append
{
	my ($node, $stream, $n, $local) = @_;
	$node->safe_psql('postgres',
		($local ? 'SET synchronous_commit = local; ' : '')
		  . "SELECT event_store.append_to_stream('$stream', -1, ARRAY(SELECT event_store.event('E', jsonb_build_object('i', i)) FROM generate_series(1, $n) AS i))");
}

sub delivered
{
	my %d;
	open my $fh, '<', "$tmp/tail.out" or return {};
	while (<$fh>)
	{
		my $e = eval { decode_json($_) } or next;
		$d{"$e->{position} $e->{id}"} = 1;
	}
	close $fh;
	return \%d;
}

sub wait_delivered
{
	my ($node, $what) = @_;
	my %want = map { $_ => 1 } split /\n/, $node->safe_psql('postgres',
		q{SELECT global_position || ' ' || event_id FROM event_store.events});
	my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
	while (1)
	{
		my $d = delivered();
		my @missing = grep { !$d->{$_} } keys %want;
		return 1 if !@missing;
		if (time > $deadline)
		{
			diag("$what: not delivered: @missing[0 .. ($#missing < 5 ? $#missing : 5)]");
			return 0;
		}
		usleep(100_000);
	}
}

append($primary, "kept-$_", 5) for 1 .. 3;
$primary->wait_for_catchup($standby, 'replay');
ok(wait_delivered($primary, 'before'), 'es_tail delivered the replicated appends');

# the standby goes away; three appends commit on the primary alone
$standby->stop;
append($primary, "lost-$_", 40, 1) for 1 .. 3;
ok(wait_delivered($primary, 'lost'), 'es_tail delivered the appends the standby never got');
my %lost = map { $_ => 1 } split /\n/, $primary->safe_psql('postgres',
	q{SELECT global_position || ' ' || event_id FROM event_store.events WHERE stream_name LIKE 'lost-%'});

$primary->stop('immediate');
$standby->start;
$standby->promote;
append($standby, "new-$_", 40) for 1 .. 3;
my %new = map { split / / } split /\n/, $standby->safe_psql('postgres',
	q{SELECT global_position || ' ' || event_id FROM event_store.events WHERE stream_name LIKE 'new-%'});
my @reused = grep { my ($p) = split / /; exists $new{$p} } keys %lost;
note(scalar(@reused) . ' positions of lost events were given to new events on the new primary');

ok(wait_delivered($standby, 'after'), 'es_tail delivered every event of the new primary');
$tail->signal('TERM');
ok($tail->finish, 'es_tail stops cleanly');
my $err = slurp_file("$tmp/tail.err");
like($err, qr/\A[^\n]*state file "\Q$tmp\E\/tail.state" does not exist/,
	'es_tail started with a new state file');
my @switches = $err =~ /: (\d+) positions delivered after it will be read again/g;
is(scalar(@switches), 1, 'es_tail saw one timeline switch') or diag($err);
my $forgotten = $switches[0] // 'none';
ok(@switches == 1 && $forgotten >= 120,
	"es_tail forgot the positions delivered past the switch point ($forgotten)")
  or diag($err);
ok(scalar(@reused) > 0, 'the new primary reused positions es_tail had delivered (the case this guards)');

$standby->stop;
done_testing();
