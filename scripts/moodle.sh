#!/usr/bin/env bash
# A real Moodle for the shop's tests and demos: PHP 8.2 (Debian's packages), its own PostgreSQL
# cluster, Moodle's CLI installer, web services on, the lms-shop service, user, role and token
# (scripts/moodle/setup.php), and PHP's built-in web server.
#
#   scripts/moodle.sh start [--fresh]
#                             installs on first use (under a minute here), starts, prints the
#                             shop's env: LMS=moodle MOODLE_URL=… MOODLE_TOKEN=…
#                             --fresh: back to the state right after installation (the tests:
#                             a shop's bill numbers start again at B0000000001 every run)
#                             (and MOODLE_DB_URL, Moodle's own database, for the tests' checks)
#   scripts/moodle.sh stop    stops the web server and the cluster (the installation stays)
#   scripts/moodle.sh stop-web   stops the web server only (Moodle down; `start` brings it back)
#   scripts/moodle.sh reset   stops and deletes the installation
#   scripts/moodle.sh php F   runs a PHP CLI script F of ours with Moodle's dirroot as cwd
#
# Moodle's source is not on any package registry and is never committed here: MOODLE_SRC names a
# source directory or tarball of Moodle 4.4/4.5; otherwise ../shared/moodle, then
# /var/cache/moodle-src are tried. Exit status 3 = no source (callers say so loudly).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${MOODLE_DIR:-/tmp/lms-shop-moodle}
PORT=${MOODLE_PORT:-8081}
PG_PORT=${MOODLE_PG_PORT:-54370}
URL="http://127.0.0.1:$PORT"
COURSES=${MOODLE_COURSES:-"MOO-101|Moodle basics|1,MOO-102|Moodle advanced|1,MOO-HID|A hidden course|0,MOO-SUPPORT|Customer support|1"}
ADMIN_PASS='Admin-Pass-1!'

say() { echo "moodle.sh: $*" >&2; }

find_source() {
  local candidates=("${MOODLE_SRC:-}" "$ROOT/../shared/moodle" /var/cache/moodle-src)
  for c in "${candidates[@]}"; do
    [ -n "$c" ] || continue
    if [ -f "$c/version.php" ] && [ -f "$c/lib/setup.php" ]; then echo "$c"; return; fi
    if [ -f "$c/moodle/version.php" ]; then echo "$c/moodle"; return; fi
    if [ -f "$c" ] && [[ "$c" == *.tgz || "$c" == *.tar.gz || "$c" == *.zip ]]; then echo "$c"; return; fi
    if [ -d "$c" ]; then
      local t; t=$(ls "$c"/*.tgz "$c"/*.tar.gz "$c"/*.zip 2>/dev/null | head -1 || true)
      [ -n "$t" ] && { echo "$t"; return; }
    fi
  done
  return 1
}

install_php() {
  local pkgs=(php8.2-cli php8.2-pgsql php8.2-xml php8.2-mbstring php8.2-curl php8.2-zip php8.2-gd php8.2-intl php8.2-soap)
  local missing=()
  for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return
  say "installing ${missing[*]}"
  local SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
}

pg_url() { TEST_PG_DIR="$DIR/pg" TEST_PG_PORT=$PG_PORT TEST_PG_DURABLE= "$ROOT/scripts/test-pg.sh" "$@"; }

write_config() {
  cat > "$DIR/www/config.php" <<PHP
<?php
unset(\$CFG);
global \$CFG;
\$CFG = new stdClass();
\$CFG->dbtype = 'pgsql';
\$CFG->dblibrary = 'native';
\$CFG->dbhost = 'localhost';
\$CFG->dbname = 'moodle';
\$CFG->dbuser = 'postgres';
\$CFG->dbpass = '';
\$CFG->prefix = 'mdl_';
\$CFG->dboptions = ['dbsocket' => '$DIR/pg', 'dbport' => $PG_PORT];
\$CFG->wwwroot = '$URL';
\$CFG->dataroot = '$DIR/data';
\$CFG->admin = 'admin';
\$CFG->directorypermissions = 02770;
\$CFG->noemailever = true;
// The built-in server has no PATH_INFO rewriting.
\$CFG->slasharguments = 0;
require_once(__DIR__ . '/lib/setup.php');
PHP
}

server_running() { [ -f "$DIR/php.pid" ] && kill -0 "$(cat "$DIR/php.pid")" 2>/dev/null; }

start() {
  local src
  if ! src=$(find_source); then
    say "NO MOODLE SOURCE: set MOODLE_SRC to a Moodle 4.4/4.5 source directory or tarball"
    exit 3
  fi
  install_php
  # A predictable path under /tmp: it must be ours, or someone else's code would run as us.
  if [ -e "$DIR" ] && [ ! -O "$DIR" ]; then say "$DIR belongs to someone else: set MOODLE_DIR"; exit 1; fi
  mkdir -p "$DIR" "$DIR/data"
  # 755: the postgres user must reach the cluster inside; the token file is kept private.
  chmod 755 "$DIR"
  if [ ! -f "$DIR/www/version.php" ]; then
    say "copying Moodle from $src"
    rm -rf "$DIR/www.tmp" && mkdir -p "$DIR/www.tmp"
    case "$src" in
      *.zip) (cd "$DIR/www.tmp" && unzip -q "$src") ;;
      *.tgz|*.tar.gz) tar -xzf "$src" -C "$DIR/www.tmp" ;;
      *) cp -a "$src/." "$DIR/www.tmp/" ;;
    esac
    # An archive holds a moodle/ folder; a directory is the dirroot itself.
    if [ -f "$DIR/www.tmp/moodle/version.php" ]; then mv "$DIR/www.tmp/moodle" "$DIR/www" && rm -rf "$DIR/www.tmp"
    else mv "$DIR/www.tmp" "$DIR/www"; fi
    rm -f "$DIR/www/config.php"
  fi
  write_config
  local db; db=$(pg_url start)
  if [ ! -f "$DIR/installed" ]; then
    psql -qAt "$db" -c "DROP DATABASE IF EXISTS moodle" >/dev/null
    psql -qAt "$db" -c "CREATE DATABASE moodle ENCODING 'UTF8'" >/dev/null
    rm -rf "$DIR/data" && mkdir -p "$DIR/data"
    say "installing Moodle (CLI installer; about a minute)"
    local t0=$SECONDS
    (cd "$DIR/www" && php -d max_input_vars=5000 admin/cli/install_database.php --agree-license \
        --adminuser=admin --adminpass="$ADMIN_PASS" --adminemail=admin@example.org \
        --fullname="lms-shop test Moodle" --shortname=lmsshoptest >"$DIR/install.log" 2>&1) ||
      { say "install failed, see $DIR/install.log"; tail -20 "$DIR/install.log" >&2; exit 1; }
    (umask 077; cd "$DIR/www" && php "$ROOT/scripts/moodle/setup.php" --courses="$COURSES" > "$DIR/token") ||
      { say "setup failed"; exit 1; }
    echo $((SECONDS - t0)) > "$DIR/install-seconds"
    psql -qAt "$db" -c "CREATE DATABASE moodle_pristine TEMPLATE moodle" >/dev/null
    touch "$DIR/installed" "$DIR/just-installed"
    say "installed in $(cat "$DIR/install-seconds") s"
  fi
  if [ "$fresh" = 1 ] && [ ! -f "$DIR/just-installed" ]; then
    stop_server
    psql -qAt "$db" -c "DROP DATABASE IF EXISTS moodle WITH (FORCE)" >/dev/null
    psql -qAt "$db" -c "CREATE DATABASE moodle TEMPLATE moodle_pristine" >/dev/null
    # Moodle's file caches describe the database they were built from.
    rm -rf "$DIR/data/cache" "$DIR/data/localcache" "$DIR/data/sessions" "$DIR/data/temp" "$DIR/data/muc"
  fi
  rm -f "$DIR/just-installed"
  if ! server_running; then
    # Its own session (so `stop` ends the master and its workers as one process group), every
    # descriptor redirected (so a caller reading this script's output is not held open), and
    # the pid written by the server's own shell (setsid may fork: `$!` would be the wrong one).
    rm -f "$DIR/php.pid"
    (cd "$DIR/www" && PHP_CLI_SERVER_WORKERS=4 exec setsid bash -c \
        'echo $$ > "$1"; exec php -d max_input_vars=5000 -S "127.0.0.1:$2"' _ "$DIR/php.pid" "$PORT") \
        </dev/null >"$DIR/server.log" 2>&1 &
    for _ in $(seq 1 50); do [ -s "$DIR/php.pid" ] && break; sleep 0.1; done
    for _ in $(seq 1 100); do
      curl -fsS -o /dev/null "$URL/login/index.php" 2>/dev/null && break
      sleep 0.2
    done
  fi
  curl -fsS -o /dev/null "$URL/login/index.php" || { say "the web server does not answer, see $DIR/server.log"; exit 1; }
  echo "LMS=moodle MOODLE_URL=$URL MOODLE_TOKEN=$(tail -1 "$DIR/token") MOODLE_DB_URL=${db%/postgres*}/moodle?host=$DIR/pg"
}

stop_server() {
  if server_running; then kill -- -"$(cat "$DIR/php.pid")" 2>/dev/null || kill "$(cat "$DIR/php.pid")" || true; fi
  rm -f "$DIR/php.pid"
}

stop() {
  stop_server
  [ -d "$DIR/pg" ] && pg_url stop
  return 0
}

case "${1:-start}" in
  start) fresh=0; [ "${2:-}" = --fresh ] && fresh=1; start ;;
  stop) stop ;;
  stop-web) stop_server ;;
  reset) stop; rm -rf "$DIR" ;;
  php) shift; f=$(cd "$(dirname "$1")" && pwd)/$(basename "$1"); shift; cd "$DIR/www" && php "$f" "$@" ;;
  *) echo "usage: $0 start|stop|reset|php FILE [ARGS]" >&2; exit 2 ;;
esac
