#!/usr/bin/env bash
# web.sh -- installs what the chat page and its browser tests need: Debian's chromium
# (the tests drive it; no browser is ever downloaded from npm) and the npm packages of
# web/ (fzstd, embedded into the binary) and tests/web/ (playwright-core).
# Idempotent, and does nothing slow when everything is already in place.
set -euo pipefail
cd "$(dirname "$0")/../.."

sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"

if ! dpkg-query -W -f='${Status}' chromium 2>/dev/null | grep -q "ok installed"; then
  echo "setup.d/web: installing chromium"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q chromium
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "setup.d/web: npm is missing (node >= 20 and npm are needed for web/ and tests/web/)" >&2
  exit 1
fi

# npm ci only when node_modules is missing or older than the lock file: npm writes
# node_modules/.package-lock.json on every install, so its mtime marks the last one.
for dir in web tests/web; do
  lock="$dir/package-lock.json"
  stamp="$dir/node_modules/.package-lock.json"
  if [ ! -f "$stamp" ] || [ "$lock" -nt "$stamp" ]; then
    echo "setup.d/web: npm ci in $dir"
    # PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: playwright-core downloads nothing itself, but
    # say so anyway; the tests use /usr/bin/chromium.
    (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  fi
done
