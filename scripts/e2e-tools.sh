#!/usr/bin/env bash
# Installs what the browser journeys need besides Chromium: the axe-core accessibility engine
# (npm), into target/e2e-tools. Prints the path of axe.min.js.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=target/e2e-tools
if [ ! -f "$dir/node_modules/axe-core/axe.min.js" ]; then
  mkdir -p "$dir"
  npm install --silent --no-audit --no-fund --prefix "$dir" axe-core@4 >/dev/null
fi
echo "$PWD/$dir/node_modules/axe-core/axe.min.js"
