"""Secrets never leak: token secrets and API keys are absent from logs, /metrics, /, /status and persistencectl."""
import os
import shutil
import subprocess
import tempfile
import unittest
import uuid

from harness import CTL, N8N_KEY, PBS_SECRET, PVE_ACTION_SECRET, PVE_SECRET, Exporter, Sim, write_secret

CONFIG = """
global:
  scrape_timeout: 4s
  cache_ttl: 0s
  max_staleness: 1s
pve:
  - name: home
    url: {pve_url}/pve/home
    token_id: "monitor@pve!exporter"
    token_secret_file: {dir}/home.token
    action_token_id: "ops@pve!actions"
    action_token_secret_file: {dir}/home-action.token
    timeout: 2s
{tls}
  - name: shop
    url: {url}/pve/shop
    token_id: "monitor@pve!exporter"
    token_secret: "{shop_secret}"
    timeout: 2s
n8n:
  - name: app
    url: {url}/n8n/app
    api_key_file: {dir}/n8n.key
    timeout: 2s
pbs:
  - name: pbs1
    url: {url}/pbs/pbs1
    token_id: "monitor@pbs!exporter"
    token_secret_file: {dir}/pbs1.token
    timeout: 2s
targets:
  - name: home-vm-100
    pve: {{source: home, vmid: 100}}
    max_age: 26h
  - name: app-n8n-workflows
    n8n: {{source: app}}
    max_age: 2h
"""

# Every fault kind of the simulator (docs/simulator.md), on every upstream path.
FAULTS = [
    {"match": "/pve/", "delay": 3},
    {"match": "/n8n/", "delay": 3},
    {"match": "/pbs/", "delay": 3},
    {"match": "/pbs/", "status": 401},
    {"match": "/pbs/pbs1/api2/json/admin/datastore/store1/", "status": 403},
    {"match": "/pve/", "status": 401, "body": '{"data":null}'},
    {"match": "/n8n/", "status": 401, "body": '{"message":"unauthorized"}'},
    {"match": "/pve/", "status": 403, "body": '{"data":null}'},
    {"match": "/pve/home/api2/json/nodes", "status": 500},
    {"match": "/pve/.*/nodes/", "status": 595, "body": "empty"},
    {"match": "/pve/.*/nodes/", "status": 596, "body": "empty"},
    {"match": "/n8n/", "status": 503, "body": "html"},
    {"match": "/", "body": "html"},
    {"match": "/", "body": "truncated"},
    {"match": "/", "body": "oversize"},
    {"match": "/", "body": "empty"},
]

SCRAPE = {"X-Prometheus-Scrape-Timeout-Seconds": "3"}


class SecretsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("incident")
        # a second simulator behind TLS with a throw-away certificate, for the pinning failure
        cls.certdir = tempfile.mkdtemp(prefix="pe-secrets-tls-")
        cert = os.path.join(cls.certdir, "sim.crt")
        key = os.path.join(cls.certdir, "sim.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", cert],
                       check=True, capture_output=True)
        try:
            cls.tls_sim = Sim("incident", extra=("--tls-cert", cert, "--tls-key", key))
        except Exception:
            cls.sim.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.sim.close()
        cls.tls_sim.close()
        shutil.rmtree(cls.certdir, ignore_errors=True)

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pe-secrets-")

    def tearDown(self):
        self.sim.clear_faults()
        shutil.rmtree(self.dir, ignore_errors=True)

    def config(self, secrets, tls=False):
        write_secret(self.dir, "home.token", secrets["home"])
        write_secret(self.dir, "home-action.token", secrets["action"])
        write_secret(self.dir, "n8n.key", secrets["n8n"])
        write_secret(self.dir, "pbs1.token", secrets["pbs"])
        tls_entry = ""
        if tls:
            # the simulator's certificate, pinned with a fingerprint that does not match it
            tls_entry = ("  - name: pinned\n    url: https://127.0.0.1:%d/pve/home\n"
                         "    token_id: \"monitor@pve!exporter\"\n    token_secret_file: %s/home.token\n"
                         "    tls: {fingerprint: \"%s\"}\n    timeout: 2s"
                         % (self.tls_sim.port, self.dir, ":".join(["AB"] * 32)))
        return CONFIG.format(url=self.sim.url, pve_url=self.sim.url, dir=self.dir, tls=tls_entry,
                             shop_secret=secrets["shop"])

    def outputs(self, exp, secrets):
        """Everything a person or Prometheus can read, after every fault kind."""
        seen = []
        for f in [None] + FAULTS:
            self.sim.clear_faults()
            if f:
                self.sim.fault(**f)
            for path in ("/metrics", "/", "/status"):
                status, hdrs, body = exp.get(path, headers=SCRAPE, timeout=30)
                seen.append(("%s after %s" % (path, f), "%s\n%s\n%s" % (status, hdrs, body)))
        self.sim.clear_faults()
        cfg = exp.config_path
        for args in (["status", "--config.file=" + cfg], ["status", "--config.file=" + cfg, "--format=json"],
                     ["vzdump", "--config.file=" + cfg, "--source=home", "--vmid=100"],
                     ["vzdump", "--config.file=" + cfg, "--source=home", "--vmid=105"]):
            p = subprocess.run([CTL] + args, capture_output=True, text=True, timeout=60)
            seen.append(("persistencectl " + " ".join(args), p.stdout + p.stderr))
        self.sim.fault("/", status=500)
        p = subprocess.run([CTL, "status", "--config.file=" + cfg], capture_output=True, text=True, timeout=60)
        seen.append(("persistencectl status with 500s", p.stdout + p.stderr))
        self.sim.clear_faults()
        exp.stop()
        seen.append(("exporter log", exp.log_text()))
        return seen

    def assert_absent(self, seen, secrets):
        self.assertTrue(any("msg=" in text for what, text in seen if what == "exporter log"))
        for what, text in seen:
            for name, secret in secrets.items():
                self.assertNotIn(secret, text, "%s secret leaked in %s" % (name, what))

    def run_with(self, secrets, tls=False):
        with Exporter(self.config(secrets, tls), flags=["--log.level=debug"]) as exp:
            seen = self.outputs(exp, secrets)
        self.assert_absent(seen, secrets)
        return seen

    def test_right_keys_never_appear(self):
        secrets = {"home": PVE_SECRET % "home", "action": PVE_ACTION_SECRET % "home",
                   "n8n": N8N_KEY % "app", "shop": PVE_SECRET % "shop", "pbs": PBS_SECRET % "pbs1"}
        seen = self.run_with(secrets)
        # the right keys worked before the faults: the sources were up
        first = dict(seen)["/metrics after None"]
        self.assertIn('persistence_source_up{source="home",kind="pve"} 1', first)
        self.assertIn('persistence_source_up{source="app",kind="n8n"} 1', first)
        self.assertIn('persistence_source_up{source="pbs1",kind="pbs"} 1', first)

    def test_wrong_keys_never_appear(self):
        tag = uuid.uuid4().hex
        secrets = {"home": "wrong-pve-" + tag, "action": "wrong-action-" + tag,
                   "n8n": "wrong-n8n-" + tag, "shop": "wrong-shop-" + tag, "pbs": "wrong-pbs-" + tag}
        seen = self.run_with(secrets, tls=True)
        first = dict(seen)["/metrics after None"]
        self.assertIn('persistence_source_up{source="home",kind="pve"} 0', first)
        self.assertIn('persistence_source_up{source="app",kind="n8n"} 0', first)
        self.assertIn('persistence_source_up{source="pinned",kind="pve"} 0', first)
        self.assertIn('persistence_source_up{source="pbs1",kind="pbs"} 0', first)
        self.assertRegex(dict(seen)["exporter log"], r"(?i)(fingerprint|tls|certificate|pin)")


if __name__ == "__main__":
    unittest.main()
