#!/usr/bin/env bash
# Install what building, running and testing event_store needs on Debian 12:
# PostgreSQL 15 with its server headers, pgTAP and pg_prove, wal2json (the
# decoding benchmark's baseline), libpq, Perl's IPC::Run for the TAP
# tests, Elixir with jiffy (the Commanded adapter in clients/elixir), and
# the quickstarts' clients (psycopg2, psycopg 3, node and npm), matplotlib
# for the benchmark's charts, pg_auto_failover (test/t/075_pg_auto_failover.pl),
# postgres_exporter (test/t/080_metrics.pl) and PgBouncer (wait_for_events
# through a pooler, test/t/076_wait_for_events.pl).  Does nothing
# when all of it is present (unless CI is set).
set -euo pipefail

packages=(
    build-essential
    postgresql-15
    postgresql-client-15
    postgresql-server-dev-15
    postgresql-15-pgtap
    postgresql-15-wal2json
    libtap-parser-sourcehandler-pgtap-perl
    libipc-run-perl
    libpq-dev
    elixir
    erlang-jiffy
    python3
    python3-psycopg2
    python3-psycopg
    python3-matplotlib
    postgresql-15-auto-failover
    pg-auto-failover-cli
    prometheus-postgres-exporter
    pgbouncer
)
# The Node quickstart and the Message DB import test install their npm
# packages into the repository at test time; node and npm come from Debian
# only where there is no node at all (Debian's nodejs conflicts with other
# installs of it).
command -v node >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ] && [ -z "${CI:-}" ]; then
    exit 0
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${packages[@]}"
