#!/bin/sh
# One-shot: create and migrate Temporal's persistence and visibility schemas
# on PostgreSQL. Runs in the temporalio/admin-tools image (service
# `temporal-schema` in docker-compose.yml), which ships temporal-sql-tool and
# the versioned schema files under /etc/temporal/schema.
#
# Idempotent: create-database ignores "already exists", setup-schema -v 0.0
# only creates the version tables if missing, and update-schema applies only
# the versions newer than the one recorded in the database. Re-running it after
# pulling a newer temporalio/server + admin-tools pair upgrades the schema.
#
# Connection settings come from the environment (see docker-compose.yml):
#   POSTGRES_SEEDS, DB_PORT, POSTGRES_USER, SQL_PASSWORD, DBNAME, VISIBILITY_DBNAME
set -eu

: "${POSTGRES_SEEDS:=postgresql}"
: "${DB_PORT:=5432}"
: "${POSTGRES_USER:=temporal}"
: "${DBNAME:=temporal}"
: "${VISIBILITY_DBNAME:=temporal_visibility}"
# temporal-sql-tool reads the password from SQL_PASSWORD.
export SQL_PASSWORD="${SQL_PASSWORD:-temporal}"

SCHEMA_ROOT=/etc/temporal/schema/postgresql/v12

echo "Waiting for PostgreSQL at ${POSTGRES_SEEDS}:${DB_PORT}..."
i=0
until nc -z -w 5 "$POSTGRES_SEEDS" "$DB_PORT"; do
  i=$((i + 1))
  if [ "$i" -ge 60 ]; then
    echo "PostgreSQL did not become reachable" >&2
    exit 1
  fi
  sleep 2
done

sqltool() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" "$@"
}

setup_db() {
  db=$1
  dir=$2
  echo "Setting up database '$db' from $dir"
  sqltool --db "$db" create-database
  sqltool --db "$db" setup-schema -v 0.0
  sqltool --db "$db" update-schema -d "$dir"
}

setup_db "$DBNAME" "$SCHEMA_ROOT/temporal/versioned"
setup_db "$VISIBILITY_DBNAME" "$SCHEMA_ROOT/visibility/versioned"

echo "Temporal PostgreSQL schema setup complete"
