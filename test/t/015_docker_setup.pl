# What docker-compose.yml runs, tested without a Docker engine: the server
# settings of its command line, and docker/init.sql on a fresh cluster.
# (docker/build.sh, the image's build step, is how test/run_all.sh installs
# the extension for every suite.)
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EventStore::Test;

my $top = $ENV{EVENT_STORE_TOP} // '.';

# The "-c name=value" settings of the compose file's command.
open my $fh, '<', "$top/docker-compose.yml" or die "docker-compose.yml: $!";
my @settings;
my $after_c = 0;
while (my $line = <$fh>)
{
	if ($line =~ /^\s*-\s*-c\s*$/) { $after_c = 1; next; }
	if ($after_c && $line =~ /^\s*-\s*([a-z_]+)=(\S+)\s*$/) { push @settings, [ $1, $2 ]; }
	$after_c = 0;
}
close $fh;
ok(grep({ $_->[0] eq 'wal_level' && $_->[1] eq 'logical' } @settings),
	'the compose file sets wal_level=logical');

my $node = PostgreSQL::Test::Cluster->new('docker');
$node->init;
$node->append_conf('postgresql.conf',
	join('', map { "$_->[0] = '$_->[1]'\n" } @settings));
$node->start;
for my $s (@settings)
{
	is($node->safe_psql('postgres', "SHOW $s->[0]"), $s->[1], "server accepts $s->[0] = $s->[1]");
}

# docker/init.sql, as the image's entrypoint runs it (psql -f), then the
# restart the entrypoint does after initialisation.
my ($ret, $out, $err) = $node->psql('postgres', undef,
	extra_params => [ '-v', 'ON_ERROR_STOP=1', '-f', "$top/docker/init.sql" ]);
is($ret, 0, 'docker/init.sql runs without error') or diag($err);
$node->restart;

is($node->safe_psql('postgres',
		"SELECT extversion FROM pg_extension WHERE extname = 'event_store'"),
	'1.2', 'the extension is created at the default version');
my $has_setting = $node->safe_psql('postgres',
	"SELECT count(*) FROM pg_settings WHERE name = 'output_plugin_libraries'");
SKIP:
{
	skip 'this server has no output_plugin_libraries', 1 unless $has_setting;
	like($node->safe_psql('postgres', 'SHOW output_plugin_libraries'),
		qr/\bevent_store\b/, 'our output plugin is allowed');
}
is($node->safe_psql('postgres',
		q{SELECT event_store.append_to_stream('docker-1', 0,
		    ARRAY[event_store.event('Started', '{}')])}),
	'1', 'appends work');

$node->stop;
done_testing();
