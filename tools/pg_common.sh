# Sourced by the scripts that start PostgreSQL servers: the demo, the suite
# runner, the benchmarks and the soak.

# Run a command as the servers' owner: PostgreSQL refuses to run as root.
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        su postgres -s /bin/bash -c "$(printf '%q ' "$@")"
    else
        "$@"
    fi
}

# Does the server in bindir $1 have Debian's output_plugin_libraries
# (15.19+), which must then list event_store?  postgres will not describe its
# settings to root; and no `| grep -q` here: under pipefail its early exit
# can fail the pipeline.
pg_has_output_plugin_libraries() {
    local config
    config=$(as_pg "$1/postgres" --describe-config 2>/dev/null) || return 1
    [[ $'\n'$config == *$'\n'output_plugin_libraries$'\t'* ]]
}

# initdb a cluster owned by postgres in $2 (bindir $1), trust auth, UTF8,
# and allow our output plugin where the server asks for that.  The caller
# appends its own settings to $2/postgresql.conf.
pg_init_cluster() {
    as_pg "$1/initdb" -D "$2" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
    if pg_has_output_plugin_libraries "$1"; then
        echo "output_plugin_libraries = 'pgoutput, test_decoding, event_store'" \
            >>"$2/postgresql.conf"
    fi
}

# EVENT_STORE_DESTDIR: a private install that the servers load instead of
# the system-wide one (Debian's extension_destdir), so several checkouts can
# test and measure side by side.  es_destdir_install builds this tree and
# installs it into DESTDIR $1 (PG_CONFIG as the caller has it);
# es_destdir_conf prints the server settings that load it from there.
es_destdir_install() {
    { make -s PG_CONFIG="${PG_CONFIG:-pg_config}" all &&
      make -s PG_CONFIG="${PG_CONFIG:-pg_config}" install DESTDIR="$1"; } >/dev/null ||
        { echo "build/install into $1 failed" >&2; return 1; }
    chmod -R a+rX "$1"
}
es_destdir_conf() {
    printf "%s\n" "extension_destdir = '$1'" \
        "dynamic_library_path = '$1$("${PG_CONFIG:-pg_config}" --pkglibdir):\$libdir'"
}

# es_bench_cluster <dir> <port> [setting]...: a bench script's throwaway
# cluster in <dir>/data, listening only on a unix socket in <dir>, with the
# given postgresql.conf lines (and the private install's, when
# EVENT_STORE_DESTDIR is set), started; its log is <dir>/server.log.
es_bench_cluster() {
    local dir=$1 port=$2 bin
    shift 2
    bin=$("${PG_CONFIG:-pg_config}" --bindir)
    pg_init_cluster "$bin" "$dir/data"
    {
        printf '%s\n' "port = $port" "unix_socket_directories = '$dir'" "listen_addresses = ''" "$@"
        if [ -n "${EVENT_STORE_DESTDIR:-}" ]; then
            es_destdir_conf "$EVENT_STORE_DESTDIR"
        fi
    } >>"$dir/data/postgresql.conf"
    as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null
}
