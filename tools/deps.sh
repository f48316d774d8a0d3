#!/usr/bin/env bash
# Install what building, running and testing event_store needs on Debian 12:
# PostgreSQL 15 with its server headers, pgTAP and pg_prove, wal2json (the
# decoding benchmark's baseline), libpq, Perl's IPC::Run for the TAP
# tests, and Elixir with jiffy (the Commanded adapter in clients/elixir).  Does nothing when all of it is present (unless CI is set).
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
)

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
