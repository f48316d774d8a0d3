# Prometheus metrics: postgres_exporter runs against a live cluster with
# monitoring/queries.yaml, and /metrics carries the event_store metrics with
# the values the cluster has (subscription lag in events and seconds,
# persistent in-flight and parked counts, slot lag, the last position and
# the position counter).  monitoring/grafana-dashboard.json is valid JSON
# whose queries use only metrics that queries.yaml defines and the exporter
# serves.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use HTTP::Tiny;
use JSON::PP;
use CPAN::Meta::YAML;
use Time::HiRes qw(usleep);
use EventStore::Test;

my $top = $ENV{EVENT_STORE_TOP} // '.';
my ($exporter) = grep { -x } map { ("$_/prometheus-postgres-exporter", "$_/postgres_exporter") }
  split(/:/, $ENV{PATH}), '/usr/bin';
plan skip_all => 'postgres_exporter is not installed (prometheus-postgres-exporter)' unless $exporter;

# What queries.yaml defines: <prefix>_<column> for every non-label column
my $yaml = CPAN::Meta::YAML->read_string(slurp_file("$top/monitoring/queries.yaml"))
  or die CPAN::Meta::YAML->errstr;
my (%defined, %labels);
for my $prefix (keys %{ $yaml->[0] })
{
	for my $column (@{ $yaml->[0]{$prefix}{metrics} })
	{
		my ($name) = keys %$column;
		if ($column->{$name}{usage} eq 'LABEL') { $labels{$prefix}{$name} = 1; }
		else { $defined{"${prefix}_$name"} = $column->{$name}{usage}; }
	}
}
ok(exists $defined{$_}, "queries.yaml defines $_")
  for qw(event_store_subscription_lag_events event_store_subscription_lag_seconds
  event_store_slot_lag_bytes event_store_last_position event_store_positions_total
  event_store_subscription_in_flight event_store_subscription_parked);
is($defined{event_store_positions_total}, 'COUNTER', 'the append rate comes from a counter');

my $node = new_node('primary');
$node->safe_psql('postgres', q{
	SELECT 'init' FROM pg_create_logical_replication_slot('billing_tail', 'event_store');
	SELECT event_store.create_subscription('billing', '$all');
	SELECT event_store.create_persistent_subscription('workers', '$ce-order');
	SELECT event_store.append_to_stream('order-' || i, -1,
	         ARRAY[event_store.event('Placed', jsonb_build_object('i', i))])
	  FROM generate_series(1, 10) AS i;
	SELECT event_store.append_to_stream('user-1', -1, ARRAY[event_store.event('Joined', '{}')]);
	SELECT event_store.ack('billing', 4);
});
# two leased to a consumer, one of them parked: one in flight, one parked
$node->safe_psql('postgres', q{
	SELECT event_store.nack_events('workers',
	         ARRAY(SELECT global_position FROM event_store.receive_events('workers', 'c1', 2)
	                ORDER BY global_position LIMIT 1), 'park', 'bad data');
});
my %want = (
	last => $node->safe_psql('postgres', 'SELECT max(global_position) FROM event_store.events'),
	billing_lag => $node->safe_psql('postgres',
		q{SELECT count(*) FROM event_store.events WHERE global_position > 4}),
	slot_lag => $node->safe_psql('postgres',
		q{SELECT lag_bytes FROM event_store.slot_status WHERE slot_name = 'billing_tail'}),
	workers => $node->safe_psql('postgres',
		q{SELECT in_flight || ' ' || parked FROM event_store.subscription_status WHERE name = 'workers'}));
is($want{workers}, '1 1', 'the persistent subscription has one event in flight and one parked');

my $port = PostgreSQL::Test::Cluster::get_free_port();
my $dsn = sprintf('host=%s port=%d user=%s dbname=postgres sslmode=disable',
	$node->host, $node->port, scalar(getpwuid($<)));
my ($out, $err) = ('', '');
my $h = IPC::Run::start(
	[
		$exporter, "--extend.query-path=$top/monitoring/queries.yaml",
		"--web.listen-address=127.0.0.1:$port", '--disable-default-metrics',
		'--disable-settings-metrics'
	],
	'>', \$out, '2>', \$err,
	# (a Go program: no sanitizer runtime preloaded into it under make sanitize)
	init => sub { $ENV{DATA_SOURCE_NAME} = $dsn; delete $ENV{LD_PRELOAD}; });

my $metrics = '';
my $http = HTTP::Tiny->new(timeout => 5);
my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
while (time < $deadline)
{
	my $res = $http->get("http://127.0.0.1:$port/metrics");
	$metrics = $res->{content} if $res->{success};
	last if $metrics =~ /^event_store_slot_lag_bytes/m;
	usleep(200_000);
}
$h->kill_kill;
ok($metrics =~ /^event_store_last_position/m, 'the exporter serves the event_store metrics')
  or diag("exporter: $err");

# value of a metric with the given labels (a subset), from the exposition text
sub value
{
	my ($name, %l) = @_;
	for my $line (split /\n/, $metrics)
	{
		next unless $line =~ /^\Q$name\E(?:\{(.*)\})? (\S+)$/;
		my ($labels, $v) = ($1 // '', $2);
		next if grep { $labels !~ /\b$_="\Q$l{$_}\E"/ } keys %l;
		return $v + 0;
	}
	return undef;
}

is(value('event_store_last_position'), $want{last}, 'event_store_last_position is $all\'s head');
is(value('event_store_positions_total'), $want{last}, 'event_store_positions_total counts the positions');
is(value('event_store_subscription_lag_events', subscription => 'billing', kind => 'checkpoint'),
	$want{billing_lag}, 'event_store_subscription_lag_events{subscription="billing"}');
ok((value('event_store_subscription_lag_seconds', subscription => 'billing') // -1) >= 0,
	'event_store_subscription_lag_seconds{subscription="billing"}');
is(value('event_store_subscription_in_flight', subscription => 'workers', kind => 'persistent'), 1,
	'event_store_subscription_in_flight{subscription="workers"}');
is(value('event_store_subscription_parked', subscription => 'workers'), 1,
	'event_store_subscription_parked{subscription="workers"}');
my $slot_lag = value('event_store_slot_lag_bytes', slot => 'billing_tail');
ok(defined $slot_lag && $slot_lag > 0 && $slot_lag >= $want{slot_lag},
	'event_store_slot_lag_bytes{slot="billing_tail"} is the WAL the slot holds');
is(value('event_store_slot_active', slot => 'billing_tail'), 0, 'the slot has no client');
my @absent = grep { !defined value($_) } sort keys %defined;
is("@absent", '', 'the exporter serves every metric queries.yaml defines');

# The dashboard: valid JSON, panels with queries, only metrics we define
my $dashboard = eval { JSON::PP->new->decode(slurp_file("$top/monitoring/grafana-dashboard.json")) };
ok($dashboard, 'grafana-dashboard.json is valid JSON') or diag($@);
my @exprs = map { map { $_->{expr} } @{ $_->{targets} // [] } } @{ $dashboard->{panels} // [] };
push @exprs, map { $_->{query} } @{ $dashboard->{templating}{list} // [] };
ok(@exprs >= 8, 'the dashboard has panels with queries');
my %used = map { $_ => 1 } map { /\b(event_store_[a-z_]+)/g } @exprs;
my @unknown = grep { !$defined{$_} } sort keys %used;
is("@unknown", '', 'the dashboard uses only metrics that queries.yaml defines');
ok($used{$_}, "the dashboard shows $_")
  for qw(event_store_subscription_lag_events event_store_subscription_lag_seconds
  event_store_slot_lag_bytes event_store_positions_total event_store_subscription_parked);
my @bad_labels;
for my $expr (@exprs)
{
	while ($expr =~ /\b(event_store_[a-z_]+)\{([^}]*)\}/g)
	{
		my ($metric, $sel) = ($1, $2);
		my ($prefix) = grep { $metric =~ /^\Q$_\E_[a-z_]+$/ && $labels{$_} } sort { length $b <=> length $a } keys %labels;
		for my $label ($sel =~ /(\w+)\s*[=!]~?/g)
		{
			push @bad_labels, "$metric:$label"
			  unless $label eq 'instance' || $label eq 'job' || ($prefix && $labels{$prefix}{$label});
		}
	}
}
is("@bad_labels", '', 'the dashboard selects only labels the metrics have');

$node->stop;
done_testing();
