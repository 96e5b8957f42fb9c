#!/bin/sh
# Runs once, on a new PostgreSQL data directory (docker-entrypoint-initdb.d): SpiceDB's
# own login role and database, apart from Gatehouse's. The password comes from the
# container's environment (SPICEDB_DB_PASSWORD), never from this file.
set -eu
psql -v ON_ERROR_STOP=1 -U postgres -v pw="$SPICEDB_DB_PASSWORD" <<'SQL'
CREATE ROLE spicedb LOGIN PASSWORD :'pw';
CREATE DATABASE spicedb OWNER spicedb;
SQL
