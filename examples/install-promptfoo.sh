#!/usr/bin/env bash
# Installs promptfoo 0.115.0 once into a cache folder (default ~/.cache/bundlectl/promptfoo-0.115.0) and
# prints the path of its executable. The demo and the tests share it.
#
# Needs Node.js 20 and npm. Only the npm registry is used: npm's install scripts are skipped (they would
# download a prebuilt better-sqlite3 from GitHub) and better-sqlite3 is compiled against the headers that
# ship with the machine's Node.js (node-gyp would otherwise download them from nodejs.org).
set -euo pipefail
VERSION=0.115.0
PF_DIR="${BUNDLECTL_PROMPTFOO_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/bundlectl/promptfoo-$VERSION}"
NATIVE="$PF_DIR/node_modules/better-sqlite3/build/Release/better_sqlite3.node"
# one install at a time: two at once (the demo and the tests, or two checkouts) rebuild the same folder under each other
mkdir -p "$(dirname "$PF_DIR")"
if command -v flock >/dev/null; then exec 9>"$PF_DIR.lock" && flock 9; fi
if [ ! -f "$NATIVE" ]; then
  for tool in node npm; do
    command -v "$tool" >/dev/null || { echo "install-promptfoo: $tool is not installed; promptfoo needs Node.js 20 and npm" >&2; exit 1; }
  done
  echo "installing promptfoo $VERSION into $PF_DIR (once; about two minutes)…" >&2
  mkdir -p "$PF_DIR"
  (cd "$PF_DIR" && npm install --no-audit --no-fund --ignore-scripts --loglevel=error "promptfoo@$VERSION" >&2)
  NODE_PREFIX="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
  NODEDIR=()
  [ -f "$NODE_PREFIX/include/node/common.gypi" ] && NODEDIR=(--nodedir="$NODE_PREFIX")
  (cd "$PF_DIR/node_modules/better-sqlite3" && npx --yes node-gyp rebuild --release "${NODEDIR[@]}" >&2) \
    || { echo "install-promptfoo: building better-sqlite3 failed (see above)" >&2; exit 1; }
fi
echo "$PF_DIR/node_modules/.bin/promptfoo"
