# Several appenders (pgbench) and tailing readers of $all and of a category
# run together for a few seconds.  Afterwards each reader must have seen
# exactly the committed events of what it follows, each once, in position
# order: no event skipped while its transaction was open, no rolled-back
# position blocking it for good.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use EventStore::Test;

my $seconds = $ENV{EVENT_STORE_TAIL_SECONDS} // 6;
my $node = new_node('tail');

$node->safe_psql('postgres', <<'SQL');
CREATE TABLE seen (
    reader text NOT NULL,
    n bigserial,
    global_position bigint NOT NULL,
    event_id uuid NOT NULL
);

-- A tailing reader: reads from the position after the last one it saw, in
-- its own short transactions, until the deadline has passed and it has
-- caught up.  It refuses to go backwards.
CREATE PROCEDURE tail_reader(reader text, category text, seconds float8)
LANGUAGE plpgsql AS $$
DECLARE
    last bigint := 0;
    got int;
    idle int := 0;
    deadline timestamptz := clock_timestamp() + seconds * interval '1 second';
    r record;
BEGIN
    LOOP
        got := 0;
        FOR r IN
            SELECT e.global_position, e.event_id
              FROM event_store.read_all_forward(last + 1, 500) e
             WHERE category IS NULL
            UNION ALL
            SELECT e.global_position, e.event_id
              FROM event_store.read_category_forward(category, last + 1, 500) e
             WHERE category IS NOT NULL
             ORDER BY 1
        LOOP
            IF r.global_position <= last THEN
                RAISE EXCEPTION 'reader % went backwards: % after %',
                    reader, r.global_position, last;
            END IF;
            INSERT INTO seen (reader, global_position, event_id)
            VALUES (reader, r.global_position, r.event_id);
            last := r.global_position;
            got := got + 1;
        END LOOP;
        COMMIT;
        IF got = 0 THEN
            IF clock_timestamp() > deadline THEN
                idle := idle + 1;
                EXIT WHEN idle >= 3;
            END IF;
            PERFORM pg_sleep(0.005);
        END IF;
    END LOOP;
END
$$;
SQL

# The appenders: one event or a batch, to one of 40 streams in two
# categories, one transaction in ten rolled back, some with an expected
# version read just before (which may lose a race: ES001 is expected then).
my $script = "$PostgreSQL::Test::Utils::tmp_check/append.sql";
PostgreSQL::Test::Utils::append_to_file($script, <<'PGBENCH');
\set s random(1, 20)
\set n random(1, 8)
\set r random(1, 10)
\set c random(1, 2)
BEGIN;
SELECT event_store.append_to_stream(
    CASE :c WHEN 1 THEN 'acct-' ELSE 'user-' END || :s,
    -1,
    (SELECT array_agg(event_store.event('Happened', jsonb_build_object('i', g)))
       FROM generate_series(1, :n) g));
\if :r = 1
ROLLBACK;
\else
COMMIT;
\endif
PGBENCH

my $connstr = $node->connstr('postgres');
my @readers;
for my $reader ([ 'all', 'NULL' ], [ 'acct', "'acct'" ], [ 'user', "'user'" ])
{
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[
			'psql', '-X', '-v', 'ON_ERROR_STOP=1', '-d', $connstr, '-c',
			"CALL tail_reader('$reader->[0]', $reader->[1], "
			  . ($seconds + 2) . ")"
		],
		'>', \$out, '2>', \$err);
	push @readers, [ $reader->[0], $h, \$out, \$err ];
}

my ($bench_out, $bench_err) = ('', '');
my $bench_ok = IPC::Run::run(
	[
		'pgbench', '-n', '-c', '6', '-j', '2', '-T', $seconds,
		'-f', $script, $connstr
	],
	'>', \$bench_out, '2>', \$bench_err);
ok($bench_ok, 'the appenders ran') or diag($bench_out . $bench_err);
my ($failed) = $bench_out =~ /number of failed transactions: (\d+)/;
my ($processed) = $bench_out =~ /number of transactions actually processed: (\d+)/;
is($failed // 0, 0, 'no append failed');
cmp_ok($processed // 0, '>', 100, 'the appenders made progress');

for my $r (@readers)
{
	my ($name, $h, $out, $err) = @$r;
	ok($h->finish, "reader $name finished cleanly") or diag($$err);
}

my $stats = $node->safe_psql('postgres', q{
	SELECT count(*), max(global_position) FROM event_store.events});
my ($appended, $highest) = split /\|/, $stats;
note("appended $appended events, highest position $highest, "
	  . "pgbench transactions $processed");
cmp_ok($highest, '>', $appended, 'rolled-back appends left holes to pass');

# Each reader saw exactly the committed events it follows, in order.
for my $reader ([ 'all', 'true' ], [ 'acct', q{category = 'acct'} ],
	[ 'user', q{category = 'user'} ])
{
	my ($name, $filter) = @$reader;
	my $result = $node->safe_psql('postgres', qq{
		WITH mine AS (SELECT * FROM seen WHERE reader = '$name'),
		     theirs AS (SELECT * FROM event_store.events WHERE $filter)
		SELECT (SELECT count(*) FROM mine),
		       (SELECT count(*) FROM theirs),
		       (SELECT count(*) FROM mine m FULL JOIN theirs t USING (global_position)
		         WHERE m.global_position IS NULL OR t.global_position IS NULL
		            OR m.event_id <> t.event_id),
		       (SELECT count(*) FROM (
		            SELECT global_position < lag(global_position) OVER (ORDER BY n) AS back
		              FROM mine) o WHERE back)});
	my ($seen, $expected, $mismatches, $backwards) = split /\|/, $result;
	note("reader $name: saw $seen events of $expected committed");
	is($seen, $expected, "reader $name saw as many events as were committed");
	is($mismatches, 0, "reader $name saw exactly the committed events");
	is($backwards, 0, "reader $name saw them in position order");
}

# Stream versions are contiguous from 1.
is( $node->safe_psql('postgres', q{
		SELECT count(*) FROM (
		    SELECT stream_name, count(*) AS n, max(stream_version) AS top
		      FROM event_store.events GROUP BY stream_name) s
		  JOIN event_store.streams USING (stream_name)
		 WHERE n <> top OR top <> event_store.stream_version(stream_name)}),
	'0',
	'every stream holds versions 1..n and stream_version() = n');

$node->stop;
done_testing();
