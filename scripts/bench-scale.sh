#!/usr/bin/env bash
# The years-of-data benchmark (issue 16): a small and a large generated shop on a durable
# PostgreSQL, then every page of the issue's table on both, in one run.
#   SCALE (default 1: 2 000 000 seats, 1.8 GB) sizes the large one; the databases are kept
#   between runs (generated once, a few minutes); BENCH_SCALE_DROP=1 drops them at the end.
#   BENCH_ONLY=<part of a row's name> measures those rows only.
set -euo pipefail
cd "$(dirname "$0")/.."
export TEST_PG_DIR=${TEST_PG_DIR:-/tmp/lms-shop-scale-pg-$(id -u)}
export TEST_PG_PORT=${TEST_PG_PORT:-54352}
export TEST_PG_DURABLE=1
SCALE=${SCALE:-1}
SERVER_URL=$(scripts/test-pg.sh start)
psql() { command psql -X -q -v ON_ERROR_STOP=1 "$SERVER_URL" "$@"; }
cargo build --release --bin lms-shop
db_url() { echo "${SERVER_URL/\/postgres\?//$1?}"; }
ensure_db() { # name scale
  if [ "$(psql -tAc "SELECT 1 FROM pg_database WHERE datname = '$1'")" != 1 ]; then
    psql -c "CREATE DATABASE $1"
    echo "generating $1 at scale $2…"
    DATABASE_URL=$(db_url "$1") RUST_LOG=warn target/release/lms-shop generate-data "$2"
  fi
}
SMALL=scale_small
BIG=scale_$(echo "$SCALE" | tr -c '0-9\n' '_')
ensure_db "$SMALL" 0.01
ensure_db "$BIG" "$SCALE"
psql -tAc "SELECT '$BIG: ' || pg_size_pretty(pg_database_size('$BIG'))"
BENCH_SMALL_URL=$(db_url "$SMALL") BENCH_BIG_URL=$(db_url "$BIG") cargo bench --bench scale
if [ -n "${BENCH_SCALE_DROP:-}" ]; then
  psql -c "DROP DATABASE $SMALL WITH (FORCE)" -c "DROP DATABASE $BIG WITH (FORCE)"
fi
