# EventStore::Test: what the Perl TAP tests of event_store share.
#
# new_node($name, %params) makes a PostgreSQL::Test::Cluster set up as every
# cluster of the project is: wal_level=logical, our output plugin allowed
# (output_plugin_libraries, where the server has it), started, with the
# extension created in the "postgres" database unless no_extension => 1.
package EventStore::Test;

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Exporter 'import';

our @EXPORT = qw(new_node);

# PostgreSQL::Test::Cluster runs pg_regress --config-auth; find it in PGXS
# when the caller (test/run_all.sh normally) did not say where it is.
BEGIN
{
	if (!$ENV{PG_REGRESS})
	{
		my $pgxs = `pg_config --pgxs`;
		chomp $pgxs;
		(my $dir = $pgxs) =~ s{/src/makefiles/pgxs\.mk$}{};
		$ENV{PG_REGRESS} = "$dir/src/test/regress/pg_regress";
	}
}

sub new_node
{
	my ($name, %params) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);

	$node->init(allows_streaming => 'logical', %{ $params{init} // {} });
	# max_locks_per_transaction: headroom for tests that append to many
	# streams in one transaction (a lock per stream); production needs no
	# change (docs/operations.md, "Locks").
	my $conf = "max_replication_slots = 20\nmax_wal_senders = 20\n"
	  . "max_locks_per_transaction = 256\n";
	my ($stdout) = run_command([ 'postgres', '--describe-config' ]);
	$conf .= "output_plugin_libraries = 'pgoutput, test_decoding, wal2json, event_store'\n"
	  if $stdout =~ /^output_plugin_libraries\t/m;
	$conf .= $params{conf} if $params{conf};
	$node->append_conf('postgresql.conf', $conf);
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION event_store')
	  unless $params{no_extension};
	return $node;
}

1;
