#!/usr/bin/env bash
# Installs the Debian packages the benchmark peers need, if they are missing:
#   python3-uvloop   Python asyncio on uvloop (bench/asyncio)
#   python3-gevent   gevent peers (bench/gevent)
#   python3-aiohttp  aiohttp HTTP server peer (bench/web)
#   wrk              HTTP load generator (bench/web)
# It never fails the bench: a package it cannot install only means that peer is skipped, and the
# bench says so in its notes. Set WEFT_BENCH_NO_INSTALL=1 to skip this step entirely.
# With arguments it installs only those packages: scripts/run-tests.mjs asks for python3-aiohttp,
# which the web tests run against (its peers are aiohttp servers and clients), so that `npm test`
# on a fresh machine has it; a test that still cannot start its peer fails saying what it needs.
set -u

packages=(python3-uvloop python3-gevent python3-aiohttp wrk)
[ $# -gt 0 ] && packages=("$@")

if [ "${WEFT_BENCH_NO_INSTALL:-}" = 1 ]; then
  echo "bench deps: WEFT_BENCH_NO_INSTALL=1, not installing anything"
  exit 0
fi

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  echo "bench deps: no apt-get here (not Debian?); peers needing ${packages[*]} will be skipped"
  exit 0
fi

missing=()
for p in "${packages[@]}"; do
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo=()
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    echo "bench deps: missing ${missing[*]} and not root (no passwordless sudo): those peers will be skipped"
    exit 0
  fi
fi

echo "bench deps: installing ${missing[*]}"
# Another apt run may hold the dpkg lock for a while: wait for it rather than fail at once.
apt_opts=(-o DPkg::Lock::Timeout=120 -q)
export DEBIAN_FRONTEND=noninteractive
if ! timeout 300 "${sudo[@]}" apt-get "${apt_opts[@]}" update >/dev/null 2>&1; then
  echo "bench deps: apt-get update failed; trying to install from the package lists already here"
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! timeout 600 "${sudo[@]}" apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
  tail -n 3 "$log"
  # One package that cannot be had must not stop the others.
  for p in "${missing[@]}"; do
    timeout 300 "${sudo[@]}" apt-get "${apt_opts[@]}" install -y --no-install-recommends "$p" >/dev/null 2>&1 ||
      echo "bench deps: could not install $p: the peers that need it will be skipped"
  done
fi
exit 0
