#!/usr/bin/env bash
# setup.sh -- installs everything tidegate builds, runs and tests with: Debian 12
# packages (apt-get; clang for the fuzzers and sanitizer builds, clang-format for the
# formatting check) and the npm packages of web/ and tests/. Idempotent, and fast when
# everything is already installed.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"

# ensure_debs PKG...: installs the Debian packages that are not installed yet (apt-get
# update only then). Returns 0 when it installed something, 1 when all were there.
ensure_debs() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 1
  echo "setup: installing ${missing[*]}"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# npm_ci_if_stale DIR: npm ci in DIR when node_modules is missing or older than the lock
# file (npm writes node_modules/.package-lock.json at every install: its mtime marks the
# last one). Never downloads a browser: the tests use Debian's chromium.
npm_ci_if_stale() {
  local dir=$1 stamp="$1/node_modules/.package-lock.json"
  command -v npm >/dev/null 2>&1 || { echo "setup: npm is missing (node >= 20 and npm are needed for $dir)" >&2; return 1; }
  if [ ! -f "$stamp" ] || [ "$dir/package-lock.json" -nt "$stamp" ]; then
    echo "setup: npm ci in $dir"
    (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  fi
}

ensure_debs \
  build-essential cmake ninja-build pkg-config \
  libuv1-dev libwslay-dev libzstd-dev prometheus-cpp-dev libcli11-dev libgtest-dev \
  libhttp-parser-dev libssl-dev rapidjson-dev libsystemd-dev zlib1g-dev \
  python3 python3-websockets python3-zstandard \
  clang libclang-rt-dev clang-format lintian || true

# Parts with needs of their own (browser tests, Prometheus, npm packages); they are
# sourced, so they use the two functions above.
for part in scripts/setup.d/*.sh; do
  [ -e "$part" ] || continue
  # shellcheck source=/dev/null
  . "$part"
done
