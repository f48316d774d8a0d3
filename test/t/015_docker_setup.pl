# What docker-compose.yml runs, tested without a Docker engine: the server
# settings of its command line, its host port, what the image's build stage
# installs (docker/build.sh with a DESTDIR, copied whole into the final
# stage), and the first-start scripts on a fresh cluster: docker/init.sql and
# docker/replication-hba.sh (a replication connection over TCP with a
# password).  (docker/build.sh is also how test/run_all.sh installs the
# extension for every suite.)
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
my $ports = '';
while (my $line = <$fh>)
{
	$ports .= $1 if $line =~ /^\s*-\s*"([^"]*:5432)"\s*$/;
	if ($line =~ /^\s*-\s*-c\s*$/) { $after_c = 1; next; }
	if ($after_c && $line =~ /^\s*-\s*([a-z_]+)=(\S+)\s*$/) { push @settings, [ $1, $2 ]; }
	$after_c = 0;
}
close $fh;
ok(grep({ $_->[0] eq 'wal_level' && $_->[1] eq 'logical' } @settings),
	'the compose file sets wal_level=logical');
is($ports, '127.0.0.1:${EVENT_STORE_PORT:-5433}:5432',
	'the host port is 5433 on loopback unless EVENT_STORE_PORT says otherwise');

# The build stage: `DESTDIR=/out bash docker/build.sh`; the final stage copies
# /out whole, so everything the image needs must be under it.
my $out = PostgreSQL::Test::Utils::tempdir();
my ($bindir, $pkglibdir, $sharedir) =
  map { my $d = `pg_config --$_`; chomp $d; $d } qw(bindir pkglibdir sharedir);
my ($ok, $bout, $berr);
{
	local $ENV{DESTDIR} = $out;
	$ok = IPC::Run::run([ 'bash', "$top/docker/build.sh" ], '>', \$bout, '2>', \$berr);
}
ok($ok, 'docker/build.sh installs into a DESTDIR') or diag($berr);
ok(-x "$out$bindir/es_tail", 'the image gets es_tail in the server\'s bindir');
ok(-f "$out$pkglibdir/event_store.so", 'the image gets event_store.so');
ok(-f "$out$sharedir/extension/event_store.control", 'the image gets the control file');

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

# docker/replication-hba.sh, as the entrypoint runs it (PGDATA set), on a
# pg_hba.conf as the official image leaves it: trust on the socket, a
# password over TCP for every database.  A logical replication connection
# (replication=database: pg_recvlogical, es_tail) is matched by that
# database line already; a physical one (pg_basebackup, pg_receivewal, a
# standby) only by a "replication" line, which the script adds.
$node->append_conf('postgresql.conf', "listen_addresses = '127.0.0.1'\n");
PostgreSQL::Test::Utils::append_to_file($node->data_dir . '/pg_hba.conf.new',
	"local all all trust\nlocal replication all trust\nhost all all all scram-sha-256\n");
rename($node->data_dir . '/pg_hba.conf.new', $node->data_dir . '/pg_hba.conf') or die $!;
$node->restart;
$node->safe_psql('postgres', "ALTER ROLE CURRENT_USER PASSWORD 'secret'");
my $tcp = 'host=127.0.0.1 port=' . $node->port . ' dbname=postgres password=secret';
my ($rout, $rerr);
ok(identify("$tcp replication=database"),
	'a logical replication connection over TCP gets in through the image\'s own line');
ok(!identify("$tcp replication=true"), 'a physical one does not, before the script');
like($rerr, qr/no pg_hba.conf entry for replication connection/, 'no pg_hba.conf entry');
{
	local $ENV{PGDATA} = $node->data_dir;
	$ok = IPC::Run::run([ 'sh', "$top/docker/replication-hba.sh" ], '>', \$rout, '2>', \$rerr);
}
ok($ok, 'docker/replication-hba.sh runs without error') or diag($rerr);
like(slurp_file($node->data_dir . '/pg_hba.conf'),
	qr/^host\s+replication\s+all\s+samenet\s+scram-sha-256$/m,
	'it adds a replication line for the server\'s networks');
$node->restart;
ok(identify("$tcp replication=true"), 'after it a physical replication connection gets in')
  or diag($rerr);
ok(identify("$tcp replication=database"), 'and a logical one still does') or diag($rerr);

sub identify
{
	($rout, $rerr) = ('', '');
	my $r = IPC::Run::run([ 'psql', '-X', '-At', '-d', shift, '-c', 'IDENTIFY_SYSTEM' ],
		'>', \$rout, '2>', \$rerr);
	return $r && $rout =~ /\|/;
}

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
