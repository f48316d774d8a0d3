# The failover story of 070_failover.pl end to end with pg_auto_failover: a
# monitor and two nodes on loopback, the primary stopped, the secondary
# promoted by the monitor.  tools/auto_failover_demo.sh does it all and
# prints TAP; this runs it on free ports in the test's directory and passes
# its verdicts on.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $top = $ENV{EVENT_STORE_TOP} // '.';
plan skip_all => 'pg_autoctl is not installed (postgresql-15-auto-failover)'
  unless grep { -x "$_/pg_autoctl" } split /:/, $ENV{PATH};
plan skip_all => "$top/client/es_tail is not built (run make)" unless -x "$top/client/es_tail";
# under make sanitize the servers' environment preloads ASan, which
# pg_autoctl would inherit; the plain run covers this
plan skip_all => 'not under make sanitize (ASan preloaded)' if ($ENV{LD_PRELOAD} // '') =~ /asan/;

my @ports = map { PostgreSQL::Test::Cluster::get_free_port() } 1 .. 3;
my $work = "$PostgreSQL::Test::Utils::tmp_check/auto_failover";
# TEMP_CONFIG (a private install's settings) passes through the environment
$ENV{AUTO_FAILOVER_PORTS} = "@ports";
my ($out, $err) = ('', '');
my $ok = IPC::Run::run([ 'bash', "$top/tools/auto_failover_demo.sh", $work ], '>', \$out, '2>', \$err);
for (split /\n/, $out)
{
	if (/^ok \d+ - (.*)/) { pass($1); }
	elsif (/^not ok \d+ - (.*)/) { fail($1); }
	elsif (/^# ?(.*)/) { note($1); }
	elsif (/^Bail out! (.*)/) { fail($1); }
}
ok($ok, 'the demo script succeeded') or diag($err);
done_testing();
