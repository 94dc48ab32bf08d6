"""The n8n collector against the simulator: live count vs snapshot, pagination, every failure case."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

from harness import (N8N_KEY, ROOT, Exporter, Sim, promtool_check, samples, value, write_secret)

FAKE_SNAPSHOTS = os.path.join(ROOT, "tests", "sim", "fake_n8n_snapshots.py")
LIST = "/n8n/app/api/v1/workflows"

CONFIG = """global:
  scrape_timeout: 10s
  cache_ttl: 0s
n8n:
  - name: app
    url: {url}/n8n/app
    api_key_file: {dir}/{key}
    snapshots: {dir}/snapshots
    timeout: 5s
"""


class N8nTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("incident", extra=("--verbose",))
        cls.dir = tempfile.mkdtemp(prefix="pe-n8n-")
        write_secret(cls.dir, "app.key", N8N_KEY % "app")
        write_secret(cls.dir, "wrong.key", "not-the-n8n-key")
        subprocess.run([sys.executable, FAKE_SNAPSHOTS, "--out", os.path.join(cls.dir, "snapshots"),
                        "--workflows", "35"], check=True, capture_output=True)

    @classmethod
    def tearDownClass(cls):
        cls.sim.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        self.sim.clear_faults()
        self.sim.scenario("incident")

    def start(self, key="app.key"):
        exp = Exporter(CONFIG.format(url=self.sim.url, dir=self.dir, key=key))
        self.addCleanup(exp.close)
        return exp

    def scrape(self, exp):
        body = exp.metrics()
        promtool_check(body)
        for secret in (N8N_KEY % "app", "not-the-n8n-key"):
            self.assertNotIn(secret, body)
            self.assertNotIn(secret, exp.log_text())
        return body

    def workflows(self, body):
        return {s: value(body, "persistence_n8n_workflows", source="app", state=s)
                for s in ("active", "inactive", "archived")}

    def sim_requests(self):
        """Request lines of the list endpoint from the simulator's --verbose log (query included)."""
        with open(os.path.join(self.sim.dir, "sim.log")) as f:
            return re.findall(r'"GET (%s\?[^ ]*) HTTP' % re.escape(LIST), f.read())

    # ----- the incident and the healthy instance -----
    def test_incident_live_1_snapshot_35(self):
        exp = self.start()
        body = self.scrape(exp)
        self.assertEqual(value(body, "persistence_source_up", source="app", kind="n8n"), 1)
        self.assertEqual(self.workflows(body), {"active": 1, "inactive": 0, "archived": 0})
        self.assertEqual(value(body, "persistence_n8n_snapshot_workflows", source="app"), 35)
        self.assertEqual(value(body, "persistence_n8n_snapshots", source="app"), 3)

    def test_healthy_live_35(self):
        self.sim.scenario("healthy")
        exp = self.start()
        body = self.scrape(exp)
        self.assertEqual(self.workflows(body), {"active": 11, "inactive": 21, "archived": 3})
        self.assertEqual(sum(self.workflows(body).values()), 35)

    def test_pagination_limit_250_follows_cursors(self):
        self.sim.control("POST", "/_sim/n8n", {"workflows": 600})
        exp = self.start()
        before = len(self.sim_requests())
        body = self.scrape(exp)
        self.assertEqual(self.workflows(body), {"active": 199, "inactive": 398, "archived": 3})
        reqs = self.sim_requests()[before:]
        self.assertEqual(len(reqs), 3, reqs)
        self.assertEqual(reqs[0], LIST + "?limit=250&excludePinnedData=true")
        for r in reqs[1:]:
            self.assertRegex(r, r"^%s\?limit=250&excludePinnedData=true&cursor=[A-Za-z0-9%%]+$" % LIST)
        self.assertNotEqual(reqs[1], reqs[2])

    # ----- failures: down, no live count (a failed count is not 0), the case in the log -----
    def assert_down(self, exp, body, *fragments):
        self.assertEqual(value(body, "persistence_source_up", source="app", kind="n8n"), 0)
        self.assertEqual(samples(body, "persistence_n8n_workflows"), [])
        # the snapshot side still reports
        self.assertEqual(value(body, "persistence_n8n_snapshot_workflows", source="app"), 35)
        lines = [l for l in exp.log_text().splitlines() if 'msg="source down" kind=n8n source=app' in l]
        self.assertEqual(len(lines), 1, exp.log_text())
        for f in fragments:
            self.assertIn(f, lines[0])

    def test_startup_html(self):
        exp = self.start()
        self.sim.fault(LIST, body="html")
        self.assert_down(exp, self.scrape(exp), "HTTP 200 HTML: n8n is starting up", "/healthz ok")

    def test_404_html(self):
        exp = self.start()
        self.sim.fault(LIST, status=404)
        self.assert_down(exp, self.scrape(exp), "HTTP 404 HTML: the public API is not mounted")

    def test_401_wrong_key(self):
        exp = self.start(key="wrong.key")
        self.assert_down(exp, self.scrape(exp), "HTTP 401 unauthorized: the API key is wrong")

    def test_401_invalid_signature(self):
        exp = self.start()
        self.sim.fault(LIST, status=401, body='{"message":"invalid signature"}')
        self.assert_down(exp, self.scrape(exp), "HTTP 401 invalid signature", "create a new API key")

    def test_401_header_required(self):
        exp = self.start()
        self.sim.fault(LIST, status=401, body='{"message":"\'X-N8N-API-KEY\' header required"}')
        self.assert_down(exp, self.scrape(exp), "HTTP 401: no API key was sent")

    def test_truncated_json(self):
        exp = self.start()
        self.sim.fault(LIST, body="truncated")
        self.assert_down(exp, self.scrape(exp), "not valid JSON (truncated")

    def test_cursor_that_repeats(self):
        self.sim.control("POST", "/_sim/n8n", {"repeat_cursor": True})
        exp = self.start()
        self.assert_down(exp, self.scrape(exp), "pagination cursor repeats after 2 pages")

    def test_error_on_page_2(self):
        self.sim.control("POST", "/_sim/n8n", {"workflows": 600})
        exp = self.start()
        self.sim.fault(LIST + r"\?.*cursor=", status=500, times=1)
        self.assert_down(exp, self.scrape(exp), "n8n workflow list page 2: HTTP 500")
        # the fault was used once: the next scrape counts all 600 again
        body = self.scrape(exp)
        self.assertEqual(sum(self.workflows(body).values()), 600)
        self.assertEqual(value(body, "persistence_source_up", source="app", kind="n8n"), 1)


if __name__ == "__main__":
    unittest.main()
