#!/usr/bin/env bash
# Runs every test suite of event_store and ends with "N passed, N failed".
#
#   regress + isolation  pg_regress and isolationtester (make installcheck)
#   pgtap                pg_prove over test/*.sql
#   perl-tap             prove over test/t/*.pl (PostgreSQL::Test::Cluster)
#   docs                 the sql blocks of README.md, CONTRIBUTING.md and docs/
#                        (test/doc_check.py)
#   elixir               ExUnit in clients/elixir (the Commanded adapter)
#   quickstart           the programs of docs/quickstart/ (test/quickstart_run.py)
#
# The first two run on a throwaway cluster made by pg_virtualenv; the Perl
# tests start their own clusters.  Exits non-zero if anything failed or if
# nothing ran.  Run as root (installs the extension) or as a user that can
# write PostgreSQL's extension directories.
set -u
cd "$(dirname "$0")/.."
top=$(pwd)
. tools/pg_common.sh

PG_CONFIG=${PG_CONFIG:-pg_config}
bindir=$($PG_CONFIG --bindir)
pgxs_dir=$(dirname "$($PG_CONFIG --pgxs)")/..

# The same build-and-install path as the Docker image (docker/build.sh).
# EVENT_STORE_DESTDIR=/some/dir installs into that private DESTDIR instead,
# and the test servers load the extension from there (Debian's
# extension_destdir), so several checkouts can test side by side without
# overwriting each other's installed build.
if [ -n "${EVENT_STORE_DESTDIR:-}" ]; then
    es_destdir_install "$EVENT_STORE_DESTDIR" || exit 1
    destdir_conf="$EVENT_STORE_DESTDIR/server.conf"
    { [ -n "${EVENT_STORE_SERVER_CONF:-}" ] && cat "$EVENT_STORE_SERVER_CONF"
      es_destdir_conf "$EVENT_STORE_DESTDIR"
    } >"$destdir_conf"
    chmod a+r "$destdir_conf"
    export EVENT_STORE_SERVER_CONF="$destdir_conf"
else
    PG_CONFIG="$PG_CONFIG" bash docker/build.sh >/dev/null || { echo "build/install failed" >&2; exit 1; }
fi

# EVENT_STORE_SUITES picks suites (default: all of them), e.g. "regress perl";
# REGRESS/ISOLATION (make variables) and EVENT_STORE_TAP="test/t/030*.pl"
# and EVENT_STORE_PGTAP="test/api.sql" narrow them further.
suites=" ${EVENT_STORE_SUITES:-regress pgtap perl docs elixir quickstart} "

passed=0
failed=0
failed_suites=()
log_dir=$(mktemp -d /tmp/event_store_test.XXXXXX)
chmod 777 "$log_dir"

# Every cluster we start allows our output plugin, where the server has
# Debian's output_plugin_libraries setting.  max_locks_per_transaction is
# headroom for tests that append to many streams in one transaction (each
# holds a lock per stream); production needs no change (docs/operations.md).
cluster_opts=(-o wal_level=logical -o max_replication_slots=20 -o max_wal_senders=20
              -o max_locks_per_transaction=256 -o "max_prepared_transactions=10")
if pg_has_output_plugin_libraries "$bindir"; then
    cluster_opts+=(-o "output_plugin_libraries=pgoutput, test_decoding, wal2json, event_store")
fi

# Opt-in hooks (used by `make sanitize`): EVENT_STORE_SERVER_CONF names a file
# of extra server settings (postgresql.conf lines), EVENT_STORE_SERVER_ENV
# holds KEY=VALUE words for the servers' environment.  pg_ctlcluster starts a
# server with nothing but its cluster's 'environment' file, so the
# pg_virtualenv clusters get the words there and are restarted; Perl tests'
# servers inherit the environment and read TEMP_CONFIG.
venv_env=()
if [ -n "${EVENT_STORE_SERVER_CONF:-}" ]; then
    while IFS= read -r line; do
        [ -n "$line" ] && cluster_opts+=(-o "$(printf '%s' "$line" | sed -E "s/^ *([a-z_]+) *= *'?([^']*)'? *$/\1=\2/")")
    done <"$EVENT_STORE_SERVER_CONF"
fi
if [ -n "${EVENT_STORE_SERVER_ENV:-}" ]; then
    venv_env=(sh -c 'for kv in $EVENT_STORE_SERVER_ENV; do
            printf "%s = '\''%s'\''\n" "${kv%%=*}" "${kv#*=}"; done \
            >>"${PG_CLUSTER_CONF_ROOT:-/etc/postgresql}/$PGVERSION/regress/environment" &&
        pg_ctlcluster "$PGVERSION" regress stop -m fast &&
        pg_ctlcluster "$PGVERSION" regress start && exec "$@"' venv_env)
fi

# What the suites install with npm (test/node/package.json: the Node
# quickstart's driver, Message DB's schema), into test/node/node_modules.
npm_deps() {
    [ -d test/node/node_modules/pg ] && [ -d test/node/node_modules/@eventide/message-db ] && return 0
    (cd test/node && npm install --no-audit --no-fund --no-package-lock --silent) >&2
}

count() {						# count <suite> <passed> <failed>
    passed=$((passed + $2))
    failed=$((failed + $3))
    if [ "$3" -ne 0 ]; then failed_suites+=("$1"); fi
    printf '== %s: %d passed, %d failed\n' "$1" "$2" "$3"
}

# pg_regress (PG 15) prints one "name ... ok|FAILED" line per test.
run_pg_regress() {
    local out="$log_dir/installcheck.log" ok bad
    pg_virtualenv -t "${cluster_opts[@]}" "${venv_env[@]}" \
        make -s PG_CONFIG="$PG_CONFIG" ${REGRESS+REGRESS="$REGRESS"} \
            ${ISOLATION+ISOLATION="$ISOLATION"} installcheck >"$out" 2>&1
    local rc=$?
    cat "$out"
    ok=$(grep -cE '\.\.\. ok|^ok ' "$out")
    bad=$(grep -cE '\.\.\. FAILED|^not ok ' "$out")
    if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
    for f in regression.diffs output_iso/regression.diffs; do
        [ -s "$f" ] && { echo "---- $f"; head -200 "$f"; }
    done
    count "regress+isolation" "$ok" "$bad"
}

# prove's summary: "Files=N, Tests=M" and "Result: PASS|FAIL"; failed
# assertions are listed as "Failed N/M subtests".
count_prove() {					# count_prove <suite> <log> <rc>
    local tests bad
    tests=$(sed -nE 's/^Files=[0-9]+, Tests=([0-9]+).*/\1/p' "$2" | tail -1)
    bad=$(sed -nE 's/.*Failed ([0-9]+)\/[0-9]+ subtests.*/\1/p' "$2" | awk '{s+=$1} END {print s+0}')
    tests=${tests:-0}
    if [ "$3" -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
    count "$1" "$((tests - bad < 0 ? 0 : tests - bad))" "$bad"
}

run_pgtap() {
    local out="$log_dir/pgtap.log"
    [ -n "$(ls test/*.sql 2>/dev/null)" ] || return 0
    pg_virtualenv -t "${cluster_opts[@]}" "${venv_env[@]}" sh -c '
        createdb event_store_tap &&
        pg_prove -d event_store_tap --failures '"${EVENT_STORE_PGTAP:-test/*.sql}" >"$out" 2>&1
    local rc=$?
    cat "$out"
    count_prove pgtap "$out" "$rc"
}

run_perl_tap() {
    local out="$log_dir/perl_tap.log" rc tree="$top"
    [ -n "$(ls test/t/*.pl 2>/dev/null)" ] || return 0
    npm_deps || echo "npm install in test/node failed" >&2   # 070 needs Message DB
    if [ "$(id -u)" -eq 0 ] && ! su postgres -s /bin/bash -c "test -r '$top/Makefile'" 2>/dev/null; then
        # The clusters run as postgres, who cannot enter this checkout (under
        # /root, say): give it a copy.
        tree="$log_dir/tree"
        mkdir -p "$tree"
        tar -C "$top" --exclude=.git -cf - . | tar -C "$tree" -xf -
        chmod -R a+rX "$tree"
    fi
    local env=(PATH="$bindir:$PATH" PERL5LIB="$pgxs_dir/test/perl:$tree/test/perl"
               TESTDIR="$log_dir" PG_REGRESS="$pgxs_dir/test/regress/pg_regress"
               EVENT_STORE_TOP="$tree")
    # shellcheck disable=SC2206
    [ -n "${EVENT_STORE_SERVER_ENV:-}" ] && env+=($EVENT_STORE_SERVER_ENV)
    [ -n "${EVENT_STORE_SERVER_CONF:-}" ] && env+=(TEMP_CONFIG="$EVENT_STORE_SERVER_CONF")
    if [ "$(id -u)" -eq 0 ]; then
        # PostgreSQL refuses to run as root: the clusters belong to postgres.
        su postgres -s /bin/bash -c "cd '$tree' && env $(printf '%q ' "${env[@]}") prove -v ${EVENT_STORE_TAP:-test/t/*.pl}" >"$out" 2>&1
    else
        (cd "$tree" && env "${env[@]}" prove -v ${EVENT_STORE_TAP:-test/t/*.pl}) >"$out" 2>&1
    fi
    rc=$?
    cat "$out"
    count_prove perl-tap "$out" "$rc"
}

# The doc check: every sql block of the docs runs and prints what the page
# shows (convention: test/doc_check.py, CONTRIBUTING.md).
run_docs() {
    local out="$log_dir/docs.log" rc
    pg_virtualenv -t "${cluster_opts[@]}" "${venv_env[@]}" \
        python3 test/doc_check.py README.md CONTRIBUTING.md docs/*.md $(ls docs/*/*.md 2>/dev/null) >"$out" 2>&1
    rc=$?
    cat "$out"
    local ok bad
    ok=$(sed -nE 's/^docs: ([0-9]+) passed, ([0-9]+) failed$/\1/p' "$out")
    bad=$(sed -nE 's/^docs: ([0-9]+) passed, ([0-9]+) failed$/\2/p' "$out")
    ok=${ok:-0} bad=${bad:-0}
    if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
    count docs "$ok" "$bad"
}

# ExUnit closes with "N tests, M failures" (maybe "K doctests, " before and
# ", J excluded" after).  Mix gets a private HOME and MIX_HOME; it needs
# nothing from a package registry.  The restart test restarts the
# pg_virtualenv cluster under a running subscription.  Not run under the
# sanitizer build (EVENT_STORE_SERVER_ENV set): it tests the client, and the
# plain run covers it.
run_elixir() {
    local out="$log_dir/elixir.log" rc ok bad tests home="$log_dir/mix_home"
    [ -f clients/elixir/mix.exs ] || return 0
    if [ -n "${EVENT_STORE_SERVER_ENV:-}" ]; then
        echo "== elixir: skipped under EVENT_STORE_SERVER_ENV"
        return 0
    fi
    mkdir -p "$home"
    pg_virtualenv -t "${cluster_opts[@]}" "${venv_env[@]}" \
        env HOME="$home" MIX_HOME="$home/.mix" MIX_ENV=test \
            ES_TEST_RESTART_CMD='pg_ctlcluster "$PGVERSION" regress stop -m fast && pg_ctlcluster "$PGVERSION" regress start' \
            sh -c 'cd clients/elixir && mix test </dev/null' >"$out" 2>&1
    rc=$?
    cat "$out"
    tests=$(sed -nE 's/^([0-9]+ doctests?, )?([0-9]+) tests?, ([0-9]+) failures?.*/\2/p' "$out" | tail -1)
    bad=$(sed -nE 's/^([0-9]+ doctests?, )?([0-9]+) tests?, ([0-9]+) failures?.*/\3/p' "$out" | tail -1)
    tests=${tests:-0} bad=${bad:-0}
    if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
    ok=$((tests - bad < 0 ? 0 : tests - bad))
    count elixir "$ok" "$bad"
}

# The quickstarts: each program of docs/quickstart/*.md runs against a live
# server, in a database with the extension.
run_quickstart() {
    local out="$log_dir/quickstart.log" rc ok bad
    npm_deps || echo "npm install in test/node failed" >&2
    pg_virtualenv -t "${cluster_opts[@]}" "${venv_env[@]}" sh -c '
        createdb quickstart && psql -X -q -d quickstart -c "CREATE EXTENSION event_store" &&
        PGDATABASE=quickstart python3 test/quickstart_run.py docs/quickstart/*.md' >"$out" 2>&1
    rc=$?
    cat "$out"
    ok=$(sed -nE 's/^quickstart: ([0-9]+) passed, ([0-9]+) failed$/\1/p' "$out")
    bad=$(sed -nE 's/^quickstart: ([0-9]+) passed, ([0-9]+) failed$/\2/p' "$out")
    ok=${ok:-0} bad=${bad:-0}
    if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
    count quickstart "$ok" "$bad"
}

[[ $suites == *" regress "* ]] && run_pg_regress
[[ $suites == *" pgtap "* ]] && run_pgtap
[[ $suites == *" perl "* ]] && run_perl_tap
[[ $suites == *" docs "* ]] && run_docs
[[ $suites == *" elixir "* ]] && run_elixir
[[ $suites == *" quickstart "* ]] && run_quickstart

echo
if [ ${#failed_suites[@]} -gt 0 ]; then
    echo "failed suites: ${failed_suites[*]} (logs in $log_dir)"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
