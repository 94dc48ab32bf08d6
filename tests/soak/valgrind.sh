#!/bin/sh
# valgrind.sh - runs the exporter under valgrind memcheck for a few dozen scrapes while the simulator injects
# faults, stops it with SIGTERM, and fails on any leak (definite/indirect) or invalid access.
# Usage: tests/soak/valgrind.sh [build dir, default build]
set -u
cd "$(dirname "$0")/../.."
build=$(cd "${1:-build}" && pwd)
tmp=$(mktemp -d /tmp/pe-valgrind-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/exporter" <<WRAP
#!/bin/sh
exec valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=9 \
	--log-file=$tmp/valgrind.log $build/persistence_exporter "\$@"
WRAP
chmod +x "$tmp/exporter"
PE_BUILD=$build PE_VALGRIND_WRAPPER="$tmp/exporter" python3 - <<'PY'
import os, sys, tempfile
sys.path.insert(0, "tests/integration")
import harness
from harness import N8N_KEY, PVE_SECRET, Exporter, Sim, write_secret

harness.EXPORTER = os.environ["PE_VALGRIND_WRAPPER"]
CONFIG = """
global: {{scrape_timeout: 8s, cache_ttl: 0s}}
pve:
  - {{name: home, url: "{url}/pve/home", token_id: "monitor@pve!exporter", token_secret_file: "{d}/home.token", timeout: 3s}}
n8n:
  - {{name: app, url: "{url}/n8n/app", api_key_file: "{d}/n8n.key", timeout: 3s}}
"""
FAULTS = [None, {"match": "/", "status": 500}, {"match": "/", "body": "html"}, {"match": "/", "body": "truncated"},
          {"match": "/", "body": "oversize"}, {"match": "/pve/", "status": 596, "body": "empty"},
          {"match": "/", "delay": 4}, {"match": "/n8n/", "status": 401, "body": "{}"}]
with Sim("incident") as sim, tempfile.TemporaryDirectory() as d:
    write_secret(d, "home.token", PVE_SECRET % "home")
    write_secret(d, "n8n.key", N8N_KEY % "app")
    # the listening line is logged at info
    exp = Exporter(CONFIG.format(url=sim.url, d=d))
    n = 0
    for rnd in range(4):
        for f in FAULTS:
            sim.clear_faults()
            if f:
                sim.fault(**f)
            for path in ("/metrics", "/status"):
                status, _, _ = exp.get(path, headers={"X-Prometheus-Scrape-Timeout-Seconds": "6"}, timeout=60)
                n += 1
                assert status == 200, (path, f, status)
    sim.clear_faults()
    rc = exp.stop(timeout=60)
    exp.log.close()
    print("valgrind: %d requests, exporter exit %d" % (n, rc))
    sys.exit(rc)
PY
rc=$?
grep -E "Invalid|uninitialised|at 0x|by 0x" "$tmp/valgrind.log" | head -n 40
grep -E "in use at exit|All heap blocks|definitely lost|indirectly lost|possibly lost|ERROR SUMMARY" "$tmp/valgrind.log" || true
exit $rc
