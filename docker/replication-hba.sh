#!/bin/sh
# First-start initialisation (docker/Dockerfile puts it in
# /docker-entrypoint-initdb.d; test/t/015_docker_setup.pl runs it on a test
# cluster): accept physical replication connections (pg_basebackup,
# pg_receivewal, a standby) from the compose network, which includes the host
# through the published port.  They match only lines whose database column
# says "replication"; the image's own "host all all all" line covers ordinary
# and logical replication connections (pg_recvlogical, es_tail) but not them.
# samenet is every subnet the server's interfaces are on.
set -e
echo "host replication all samenet ${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}" >>"$PGDATA/pg_hba.conf"
