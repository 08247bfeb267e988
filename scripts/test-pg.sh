#!/usr/bin/env bash
# Starts (or reuses) a throw-away PostgreSQL cluster for the test suite and prints its URL.
# Usage: scripts/test-pg.sh start|stop   (dir: $TEST_PG_DIR, default /tmp/lms-shop-test-pg)
set -euo pipefail
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
DIR=${TEST_PG_DIR:-/tmp/lms-shop-test-pg}
PORT=${TEST_PG_PORT:-54329}
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "${1:-start}" in
start)
  if [ ! -f "$DIR/PG_VERSION" ]; then
    mkdir -p "$DIR"
    [ "$(id -u)" = 0 ] && chown postgres: "$DIR"
    as_pg "$PGBIN/initdb" -D "$DIR" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    cat >> "$DIR/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$DIR'
port = $PORT
max_connections = 300
shared_buffers = 256MB
CONF
    # The suite makes hundreds of short-lived databases: durability is not wanted there.
    # The benchmark keeps PostgreSQL's defaults (TEST_PG_DURABLE=1), as in production.
    if [ -z "${TEST_PG_DURABLE:-}" ]; then
      printf "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n" >> "$DIR/postgresql.conf"
    fi
  fi
  if ! as_pg "$PGBIN/pg_ctl" -D "$DIR" status >/dev/null 2>&1; then
    as_pg "$PGBIN/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w start >/dev/null
  fi
  echo "postgres://postgres@localhost:$PORT/postgres?host=$DIR"
  ;;
stop)
  as_pg "$PGBIN/pg_ctl" -D "$DIR" -m fast stop >/dev/null 2>&1 || true
  ;;
esac
