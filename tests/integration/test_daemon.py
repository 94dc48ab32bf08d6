"""The daemon itself: flags, config check, endpoints, reload, deadline, SIGTERM."""
import os
import signal
import subprocess
import tempfile
import time
import unittest

from harness import (CTL, EXPORTER, Exporter, Sim, promtool_check, samples, value, wait_for,
                     write_secret)

GOOD = """
global:
  scrape_timeout: 3s
  cache_ttl: 0s
pve:
  - name: home
    url: {url}/pve/home
    token_id: "monitor@pve!exporter"
    token_secret_file: {dir}/home.token
    timeout: 10s
"""

BROKEN = """global:
  scrape_timeout: 10x
pve:
  - name: home
    url: http://x
    token_id: a@pve!b
    token_secret_file: /nonexistent/secret
    bogus_key: 1
"""


class FlagsTest(unittest.TestCase):
    def test_version(self):
        p = subprocess.run([EXPORTER, "--version"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0)
        self.assertIn("persistence_exporter", p.stdout)

    def test_unknown_flag_exits_2_with_usage(self):
        p = subprocess.run([EXPORTER, "--no-such-flag"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("usage:", p.stderr)

    def test_config_check_lists_every_problem(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "broken.yml")
            with open(path, "w") as f:
                f.write(BROKEN)
            p = subprocess.run([EXPORTER, "--config.file=" + path, "--config.check"],
                               capture_output=True, text=True)
            self.assertEqual(p.returncode, 1)
            lines = [l for l in p.stderr.splitlines() if l.startswith(path + ":")]
            self.assertGreaterEqual(len(lines), 3, p.stderr)
            self.assertTrue(any(l.startswith(path + ":2:") and "duration" in l for l in lines), p.stderr)
            self.assertTrue(any(":8:" in l and "bogus_key" in l for l in lines), p.stderr)
            self.assertTrue(any("/nonexistent/secret" in l for l in lines), p.stderr)

    def test_bad_config_at_start_exits_1(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "broken.yml")
            with open(path, "w") as f:
                f.write(BROKEN)
            p = subprocess.run([EXPORTER, "--config.file=" + path, "--web.listen-address=127.0.0.1:0"],
                               capture_output=True, text=True, timeout=20)
            self.assertEqual(p.returncode, 1)
            self.assertIn(path + ":2:", p.stderr)


class DaemonTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("incident")

    @classmethod
    def tearDownClass(cls):
        cls.sim.close()

    def setUp(self):
        self.sim.clear_faults()

    def start(self, flags=()):
        d = tempfile.mkdtemp(prefix="pe-secrets-")
        write_secret(d, "home.token", "sim-read-secret-home")
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", d]))
        exp = Exporter(GOOD.format(url=self.sim.url, dir=d), flags=flags)
        self.addCleanup(exp.close)
        return exp, d

    def test_endpoints(self):
        exp, _ = self.start()
        self.assertEqual(exp.get("/-/healthy")[0], 200)
        self.assertEqual(exp.get("/-/ready")[0], 200)
        self.assertEqual(exp.get("/nope")[0], 404)
        self.assertEqual(exp.get("/metrics", method="POST")[0], 405)
        self.assertEqual(exp.get("/-/reload", method="POST")[0] in (403, 405), True)
        status, hdrs, body = exp.get("/metrics")
        self.assertEqual(status, 200)
        self.assertEqual(hdrs["Content-Type"], "text/plain; version=0.0.4; charset=utf-8")
        promtool_check(body)
        self.assertEqual(value(body, "persistence_config_last_reload_successful"), 1)
        self.assertEqual(len(samples(body, "persistence_exporter_build_info")), 1)
        status, hdrs, gz = exp.get("/metrics", headers={"Accept-Encoding": "gzip"})
        self.assertEqual(hdrs.get("Content-Encoding"), "gzip")
        self.assertIn("persistence_exporter_build_info", gz)
        self.assertEqual(exp.get("/")[0], 200)
        status, hdrs, body = exp.get("/status")
        self.assertEqual(status, 200)
        self.assertIn("application/json", hdrs["Content-Type"])
        self.assertEqual(exp.get("/metrics?collect[]=nosuch")[0], 400)

    def test_reload_good_and_bad(self):
        exp, d = self.start(flags=["--web.enable-lifecycle"])
        before = value(exp.metrics(), "persistence_config_last_reload_success_timestamp_seconds")
        time.sleep(1.1)
        exp.signal(signal.SIGHUP)
        wait_for(lambda: value(exp.metrics(), "persistence_config_last_reload_success_timestamp_seconds")
                 > before, 10, what="reload timestamp to move")
        exp.write_config("pve: [ {name: broken\n")
        self.assertEqual(exp.get("/-/reload", method="POST")[0], 200)
        wait_for(lambda: value(exp.metrics(), "persistence_config_last_reload_successful") == 0, 10,
                 what="failed reload to show")
        # still serving with the old config
        self.assertEqual(exp.get("/-/healthy")[0], 200)
        self.assertIn("reload failed", exp.log_text())
        exp.write_config(GOOD.format(url=self.sim.url, dir=d))
        exp.signal(signal.SIGHUP)
        wait_for(lambda: value(exp.metrics(), "persistence_config_last_reload_successful") == 1, 10,
                 what="good reload to show")

    def test_deadline_held_when_upstream_hangs(self):
        exp, _ = self.start()
        self.sim.fault("/pve/home/", delay=20)
        t0 = time.monotonic()
        body = exp.metrics(headers={"X-Prometheus-Scrape-Timeout-Seconds": "2"})
        took = time.monotonic() - t0
        self.assertLess(took, 3.0, "answered after %.1fs with a 2s scrape timeout" % took)
        self.assertEqual(value(body, "persistence_source_up", source="home", kind="pve"), 0)
        promtool_check(body)

    def test_sigterm_stops_cleanly(self):
        exp, _ = self.start()
        exp.metrics()
        self.assertEqual(exp.stop(timeout=10), 0)

    def test_sigterm_stops_requests_in_flight(self):
        """Upstream requests still running after the scrape (the upstream hangs 20 s, the source's
        timeout is 10 s) are stopped at SIGTERM, not waited out, and none runs during exit."""
        exp, _ = self.start()
        self.sim.fault("/pve/home/", delay=20)
        body = exp.metrics(headers={"X-Prometheus-Scrape-Timeout-Seconds": "2"})
        self.assertEqual(value(body, "persistence_source_up", source="home", kind="pve"), 0)
        self.assertEqual(exp.stop(timeout=10), 0)
        self.assertNotIn("still running at exit", exp.log_text())


if __name__ == "__main__":
    unittest.main()
