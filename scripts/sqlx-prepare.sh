#!/usr/bin/env bash
# Regenerates `.sqlx/` (the offline query data that lets the crate build without a database)
# against a scratch database migrated from `migrations/`. Run after changing any SQL.
set -euo pipefail
cd "$(dirname "$0")/.."
base=$(scripts/test-pg.sh start)
db_url=${base/\/postgres\?/\/sqlx_prepare?}
psql -q "$base" -c "DROP DATABASE IF EXISTS sqlx_prepare" -c "CREATE DATABASE sqlx_prepare"
for f in migrations/*.sql; do psql -q -v ON_ERROR_STOP=1 "$db_url" -f "$f" >/dev/null; done
rm -rf .sqlx && mkdir .sqlx
touch src/lib.rs
SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$PWD/.sqlx" DATABASE_URL="$db_url" cargo check --all-targets --quiet
echo "$(ls .sqlx | wc -l) queries recorded in .sqlx/"
