# metrics.sh -- sourced by scripts/setup.sh: what the observability tests need: Debian's
# prometheus (server and promtool; its service is kept stopped, the tests start their
# own) and the npm packages of tests/metrics/ (typescript, @grafana/schema) that
# type-check the Grafana dashboard.
if ensure_debs prometheus; then
  # The package enables and starts a system-wide prometheus on :9090. The tests start
  # their own on loopback with temporary storage: stop the service, keep it from starting
  # again (systemd and sysvinit links both), and say so if one is still running.
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
npm_ci_if_stale tests/metrics
