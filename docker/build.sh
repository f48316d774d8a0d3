#!/usr/bin/env bash
# Build and install event_store into the PostgreSQL that pg_config names.
# Used by docker/Dockerfile (in the official postgres:15 image) and by
# test/run_all.sh here, so the image's build path is the one the suites test.
#
#   EVENT_STORE_APT=1  first install the build dependencies with apt-get
#   DESTDIR=/dir       install under /dir (the image's build stage: /out)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${EVENT_STORE_APT:-0}" = 1 ]; then
    major=$(pg_config --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        build-essential "postgresql-server-dev-$major" libpq-dev
fi

make -s all
make -s install ${DESTDIR:+DESTDIR="$DESTDIR"}
