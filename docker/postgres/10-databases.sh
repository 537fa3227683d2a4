#!/bin/sh
# Databases of the demo stack, created once on an empty data directory (the postgres image's
# /docker-entrypoint-initdb.d convention). Used by docker-compose.yml and by helm/demo-postgres (symlink).
# smart_home is the monolith's (CDC source); each extracted service owns its database; strangler is the proxy
# fleet's control database (PROXY_CONTROL_DATABASE_URL).
set -eu
psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
  -v monolith="$MONOLITH_PASSWORD" -v dm="$DEVICE_MANAGEMENT_PASSWORD" -v tel="$TELEMETRY_PASSWORD" \
  -v strangler="$STRANGLER_PASSWORD" <<'SQL'
CREATE ROLE monolith LOGIN PASSWORD :'monolith';
CREATE DATABASE smart_home OWNER monolith;
CREATE ROLE device_management LOGIN PASSWORD :'dm';
CREATE DATABASE device_management OWNER device_management;
CREATE ROLE telemetry LOGIN PASSWORD :'tel';
CREATE DATABASE telemetry OWNER telemetry;
CREATE ROLE strangler LOGIN PASSWORD :'strangler';
CREATE DATABASE strangler OWNER strangler;
REVOKE ALL ON DATABASE smart_home, device_management, telemetry, strangler FROM PUBLIC;
SQL
