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
