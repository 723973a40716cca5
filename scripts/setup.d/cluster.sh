# cluster.sh -- sourced by scripts/setup.sh: what cluster mode (gateways sharing each
# room's log through Redis Streams) builds and tests with: Debian's redis-server (7.0)
# and redis-tools (redis-cli), libhiredis-dev (the gateway's client library), and
# python3-redis (4.3 in Debian 12: handy in tests and by hand; bots/redis_process.py
# does not need it). Debian's redis service is kept stopped and disabled: the tests and
# scripts/cluster start their own redis-server on a free loopback port with a temporary
# directory (bots/redis_process.py).
if ensure_debs redis-server redis-tools libhiredis-dev; then
  # The package enables and starts a system-wide redis on 127.0.0.1:6379. Stop it, keep
  # it from starting again (systemd and sysvinit links both), and say so if one is
  # still running.
  if [ -d /run/systemd/system ]; then
    $sudo_cmd systemctl stop redis-server >/dev/null 2>&1 || true
  else
    $sudo_cmd service redis-server stop >/dev/null 2>&1 || true
  fi
  if command -v systemctl >/dev/null 2>&1; then
    $sudo_cmd systemctl disable redis-server >/dev/null 2>&1 || true
  fi
  $sudo_cmd update-rc.d redis-server disable >/dev/null 2>&1 || true
  if pgrep -x redis-server >/dev/null 2>&1; then
    echo "setup.d/cluster: warning: a redis-server is running (pid $(pgrep -x redis-server | tr '\n' ' ')); the tests do not need it, they start their own" >&2
  fi
fi
ensure_debs python3-redis || true
