#!/usr/bin/env bash
# metrics.sh -- installs what the observability tests need: Debian's prometheus (the
# server and promtool; its service is kept stopped, the tests start their own) and the
# npm packages of tests/metrics/ (typescript, @grafana/schema) that type-check the
# Grafana dashboard. Idempotent, and does nothing slow when everything is in place.
set -euo pipefail
cd "$(dirname "$0")/../.."

sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"

if ! dpkg-query -W -f='${Status}' prometheus 2>/dev/null | grep -q "ok installed"; then
  echo "setup.d/metrics: installing prometheus"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends prometheus
  # The package enables and starts a system-wide prometheus on :9090. The tests start
  # their own on loopback with temporary storage: stop the service, keep it from starting
  # again (systemd and sysvinit links both), and check nothing is left running.
  if [ -d /run/systemd/system ]; then
    $sudo_cmd systemctl stop prometheus >/dev/null 2>&1 || true
  else
    $sudo_cmd service prometheus stop >/dev/null 2>&1 || true
  fi
  if command -v systemctl >/dev/null 2>&1; then
    $sudo_cmd systemctl disable prometheus >/dev/null 2>&1 || true
  fi
  $sudo_cmd update-rc.d prometheus disable >/dev/null 2>&1 || true
  if pgrep -x prometheus >/dev/null 2>&1; then
    echo "setup.d/metrics: warning: a prometheus is running (pid $(pgrep -x prometheus | tr '\n' ' ')); the tests do not need it" >&2
  fi
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "setup.d/metrics: npm is missing (node >= 20 and npm are needed for tests/metrics/)" >&2
  exit 1
fi

# npm ci only when node_modules is missing or older than the lock file: npm writes
# node_modules/.package-lock.json on every install, so its mtime marks the last one.
dir=tests/metrics
if [ -f "$dir/package-lock.json" ]; then
  stamp="$dir/node_modules/.package-lock.json"
  if [ ! -f "$stamp" ] || [ "$dir/package-lock.json" -nt "$stamp" ]; then
    echo "setup.d/metrics: npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
