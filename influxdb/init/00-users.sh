#!/bin/sh
# labdcs InfluxDB users, from the Docker secrets made by `labdcs init` (docs/security.md). The
# image sources this file when it initialises an empty volume, with a temporary server on
# 127.0.0.1:$INFLUXDB_INIT_PORT; it runs before labdcs.iql (alphabetical order), and sets INFLUX_CMD
# so that labdcs.iql runs as the admin. Mirrors labdcs.security.influx (the native stack).
set -eu
# LABDCS_SECRETS_DIR: only for the test that runs this file against a native InfluxDB.
_labdcs_secret() { tr -d '\r\n' < "${LABDCS_SECRETS_DIR:-/run/secrets}/$1"; }
_labdcs_query() { influx -host 127.0.0.1 -port "${INFLUXDB_INIT_PORT:-8086}" "$@"; }
# The first user may be created without credentials: the admin.
_labdcs_query -execute "CREATE USER admin WITH PASSWORD '$(_labdcs_secret influxdb_admin)' WITH ALL PRIVILEGES"
INFLUX_CMD="influx -host 127.0.0.1 -port ${INFLUXDB_INIT_PORT:-8086} -username admin -password $(_labdcs_secret influxdb_admin) -execute "
_labdcs_admin() { _labdcs_query -username admin -password "$(_labdcs_secret influxdb_admin)" -execute "$1"; }
_labdcs_admin 'CREATE DATABASE "labdcs"'
_labdcs_admin "CREATE USER writer WITH PASSWORD '$(_labdcs_secret influxdb_writer)'"
_labdcs_admin 'GRANT WRITE ON "labdcs" TO writer'
_labdcs_admin "CREATE USER reader WITH PASSWORD '$(_labdcs_secret influxdb_reader)'"
_labdcs_admin 'GRANT READ ON "labdcs" TO reader'
_labdcs_admin "CREATE USER experiments WITH PASSWORD '$(_labdcs_secret influxdb_experiments)'"
_labdcs_admin 'GRANT ALL ON "labdcs" TO experiments'
