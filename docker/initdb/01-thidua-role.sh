#!/bin/sh
# Runs once, when the PostgreSQL volume is new: the bot's own role owns its database and is NOT a
# superuser (it cannot read other databases, load extensions or the server's files).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<SQL
CREATE ROLE thidua LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '${THIDUA_DB_PASSWORD}';
CREATE DATABASE thidua OWNER thidua;
REVOKE ALL ON DATABASE thidua FROM PUBLIC;
SQL
