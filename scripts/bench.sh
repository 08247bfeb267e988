#!/usr/bin/env bash
# The load benchmark: release build, a throw-away PostgreSQL, one table printed.
set -euo pipefail
cd "$(dirname "$0")/.."
export TEST_PG_DIR=${TEST_PG_DIR:-/tmp/lms-shop-bench-pg-$(id -u)}
export TEST_PG_PORT=${TEST_PG_PORT:-54331}
export TEST_PG_DURABLE=1
BENCH_DATABASE_URL=$(scripts/test-pg.sh start)
export BENCH_DATABASE_URL
[ -n "${BENCH_KEEP_DB:-}" ] || trap 'scripts/test-pg.sh stop' EXIT
cargo bench --bench load
