"""Type-checks grafana/dashboards/tidegate.json against @grafana/schema with tsc.

1. `tsc -p tests/metrics` (dashboard_types.ts assigns the imported JSON to the schema's
   Dashboard type) must pass.
2. A control: the same dashboard with its first panel's gridPos broken ("x") must be
   rejected with an error about gridPos, so the check can never pass vacuously (a schema
   that resolved to `any`, a tsconfig that checks nothing).
Needs tests/metrics/node_modules (scripts/setup.sh runs npm ci). Run with /usr/bin/python3.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DASHBOARD = os.path.join(HERE, "..", "..", "grafana", "dashboards", "tidegate.json")
TSC = os.path.join(HERE, "node_modules", "typescript", "bin", "tsc")
SCHEMA = os.path.join(HERE, "node_modules", "@grafana", "schema")
NODE = shutil.which("node") or "node"


def tsc(project):
    r = subprocess.run([NODE, TSC, "--noEmit", "-p", project], capture_output=True, text=True,
                       timeout=120)
    return r.returncode, r.stdout + r.stderr


def broken_copy(tmp):
    with open(DASHBOARD) as f:
        doc = json.load(f)
    doc["panels"][0]["gridPos"] = "x"
    with open(os.path.join(tmp, "broken.json"), "w") as f:
        json.dump(doc, f)
    with open(os.path.join(HERE, "dashboard_types.ts")) as f:
        ts = f.read().replace("../../grafana/dashboards/tidegate.json", "./broken.json")
    with open(os.path.join(tmp, "broken_types.ts"), "w") as f:
        f.write(ts)
    with open(os.path.join(HERE, "tsconfig.json")) as f:
        config = json.load(f)
    config["files"] = ["broken_types.ts"]
    # The temp dir has no node_modules: resolve the schema to the one installed here.
    config["compilerOptions"]["baseUrl"] = "."
    config["compilerOptions"]["paths"] = {"@grafana/schema": [os.path.join(SCHEMA, "dist", "types", "index.d.ts")]}
    config["compilerOptions"]["typeRoots"] = []
    with open(os.path.join(tmp, "tsconfig.json"), "w") as f:
        json.dump(config, f)


def main():
    if not (os.path.exists(TSC) and os.path.isdir(SCHEMA)):
        print("FAIL: tests/metrics/node_modules is missing; run scripts/setup.sh (npm ci)")
        return 1
    rc, out = tsc(HERE)
    if rc != 0:
        print("FAIL: grafana/dashboards/tidegate.json does not match @grafana/schema's Dashboard:\n" + out)
        return 1
    tmp = tempfile.mkdtemp(prefix="tidegate-dash-")
    try:
        broken_copy(tmp)
        rc, out = tsc(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if rc == 0 or "gridPos" not in out:
        print("FAIL: the control (gridPos \"x\") was not rejected; the check is vacuous:\n" + out)
        return 1
    print("PASS: the dashboard type-checks; a broken gridPos is rejected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
