"""The Debian package, end to end: `scripts/package` on the build tree (TIDEGATE_BUILD_DIR)
makes tidegate_<version>_amd64.deb; `dpkg -i` installs it into this machine; the
installed /usr/bin/tidegate prints its version and serves with the shipped
/etc/tidegate/tidegate.toml; `systemd-analyze verify` accepts the installed unit;
`dpkg -r` removes everything but the conffile and `dpkg -P` that too; lintian finds no
errors in the .deb. Needs root.
Run with /usr/bin/python3.
"""
import glob
import os
import subprocess
import sys
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bots"))
from gateway_process import GatewayProcess  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
BUILD = os.environ.get("TIDEGATE_BUILD_DIR", "build")
VERSION = os.environ.get("TIDEGATE_VERSION", "")
UNIT = "/usr/lib/systemd/system/tidegate.service"
CONFIG = "/etc/tidegate/tidegate.toml"


def run(*cmd, **kw):
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=240, **kw)


def installed():
    r = run("dpkg-query", "-W", "-f=${Status}", "tidegate")
    return r.returncode == 0 and "installed" in r.stdout and "not-installed" not in r.stdout


class Package(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.fail("installing a package needs root (dpkg -i)")
        if installed() or os.path.exists(CONFIG):  # left by an earlier, interrupted run
            run("dpkg", "-P", "tidegate")

    def tearDown(self):
        run("dpkg", "-P", "tidegate")

    def test_build_install_run_remove(self):
        for old in glob.glob(os.path.join(BUILD, "tidegate_*.deb")):
            os.remove(old)
        r = run(os.path.join(ROOT, "scripts", "package"), os.path.abspath(BUILD))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        debs = glob.glob(os.path.join(BUILD, "tidegate_%s_*.deb" % VERSION))
        self.assertEqual(len(debs), 1, os.listdir(BUILD))
        self.assertEqual(os.path.realpath(r.stdout.strip()), os.path.realpath(debs[0]))
        deb = debs[0]
        self.assertRegex(os.path.basename(deb), r"^tidegate_\d+\.\d+\.\d+_amd64\.deb$")

        # Debian's own checks: warnings allowed (no manual page yet), errors not.
        r = run("lintian", "--allow-root", deb)
        errors = [x for x in r.stdout.splitlines() if x.startswith("E:")]
        self.assertEqual(errors, [], r.stdout + r.stderr)

        info = run("dpkg-deb", "-f", deb, "Depends").stdout
        for lib in ("libuv1", "libzstd1", "libwslay1", "libssl3", "libsystemd0"):
            self.assertIn(lib, info)  # computed from the binary by dpkg-shlibdeps

        r = run("dpkg", "-i", deb)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(installed())
        for path in ("/usr/bin/tidegate", UNIT, CONFIG,
                     "/usr/share/tidegate/grafana/dashboards/tidegate.json",
                     "/usr/share/tidegate/prometheus/tidegate-alerts.yml",
                     "/usr/share/doc/tidegate/README.md", "/usr/share/doc/tidegate/copyright",
                     "/usr/share/doc/tidegate/changelog.gz"):
            self.assertTrue(os.path.exists(path), path)

        r = run("/usr/bin/tidegate", "--version")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith("tidegate %s " % VERSION), r.stdout)

        # The installed binary with the shipped configuration (on free ports).
        gw = GatewayProcess("/usr/bin/tidegate", ["--config", CONFIG, "--metrics-listen",
                                                  "127.0.0.1:0"], metrics=True)
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % gw.port, timeout=5) as resp:
                self.assertEqual(resp.status, 200)
        finally:
            code = gw.stop()
        self.assertEqual(code, 0)

        r = run("systemd-analyze", "verify", UNIT)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

        r = run("dpkg", "-r", "tidegate")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertFalse(os.path.exists("/usr/bin/tidegate"))
        self.assertFalse(os.path.exists(UNIT))
        self.assertFalse(os.path.exists("/usr/share/tidegate"))
        self.assertTrue(os.path.exists(CONFIG), "a conffile stays after remove")
        r = run("dpkg", "-P", "tidegate")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertFalse(os.path.exists(CONFIG), "purge removes the conffile")


if __name__ == "__main__":
    unittest.main()
