#!/usr/bin/env bash
# Runs the shop: embedded PostgreSQL under ./data (unless DATABASE_URL is set), demo catalogue
# on first run. Installs the PostgreSQL server binaries if they are missing. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${DATABASE_URL:-}" ] && [ -z "${PGBIN:-}" ] && ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi
cargo build --release --quiet
# Wherever cargo put it: CARGO_TARGET_DIR, build.target-dir of a cargo config, or ./target.
target_dir=$(cargo metadata --no-deps --format-version 1 | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
exec "${target_dir:-target}/release/lms-shop" "$@"
