#!/usr/bin/env bash
# The whole test suite: installs what is missing, starts a throw-away PostgreSQL, runs
# unit, integration, embedded-mode and browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# axe-core for the accessibility checks of the browser journeys (npm registry).
AXE_JS=$(scripts/e2e-tools.sh)
export AXE_JS

export TEST_PG_DIR=${TEST_PG_DIR:-/tmp/lms-shop-test-pg-$(id -u)}
TEST_DATABASE_URL=$(scripts/test-pg.sh start)
export TEST_DATABASE_URL
trap 'scripts/test-pg.sh stop' EXIT
# Databases of earlier runs are not needed any more.
psql -qAt "$TEST_DATABASE_URL" -c "SELECT datname FROM pg_database WHERE datname LIKE 'test\_%'" |
  while read -r db; do psql -q "$TEST_DATABASE_URL" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null; done

# A real Moodle for tests/api/real_moodle.rs and tests/moodle_binary.rs, when Moodle's source is on this machine (MOODLE_SRC,
# ../shared/moodle or /var/cache/moodle-src): installed on first use, stopped at the end.
moodle_banner() {
  printf '\n%s\n%s\n%s\n\n' "################################################################" \
    "# REAL MOODLE NOT TESTED: $1" \
    "################################################################" >&2
}
moodle_status=0
# Stopped at exit whatever happens (a failed start may have started its cluster).
trap 'scripts/moodle.sh stop >/dev/null 2>&1 || true; scripts/test-pg.sh stop' EXIT
moodle_env=$(scripts/moodle.sh start --fresh) || moodle_status=$?
if [ "$moodle_status" = 0 ]; then
  MOODLE_TEST_URL=$(sed -n 's/.*MOODLE_URL=\([^ ]*\).*/\1/p' <<<"$moodle_env")
  MOODLE_TEST_TOKEN=$(sed -n 's/.*MOODLE_TOKEN=\([^ ]*\).*/\1/p' <<<"$moodle_env")
  MOODLE_TEST_DB_URL=$(sed -n 's/.*MOODLE_DB_URL=\([^ ]*\).*/\1/p' <<<"$moodle_env")
  export MOODLE_TEST_URL MOODLE_TEST_TOKEN MOODLE_TEST_DB_URL
elif [ "$moodle_status" = 3 ]; then
  moodle_banner "no Moodle source (set MOODLE_SRC to a Moodle 4.4/4.5 source dir or tarball)"
  export MOODLE_TESTS=skip
else
  echo "scripts/moodle.sh failed ($moodle_status)" >&2
  exit 1
fi

cargo test --lib --bins --tests "$@"
[ "$moodle_status" = 0 ] || moodle_banner "no Moodle source; the real-Moodle tests checked nothing"
