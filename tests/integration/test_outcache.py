"""The rendered-output cache: reuse within cache_ttl, single-flight, reload invalidation, status sharing."""
import shutil
import signal
import tempfile
import threading
import unittest

from harness import Exporter, Sim, value, wait_for, write_secret

CONFIG = """
global:
  scrape_timeout: 10s
  cache_ttl: {ttl}
pve:
  - name: home
    url: {url}/pve/home
    token_id: "monitor@pve!exporter"
    token_secret_file: {dir}/home.token
    timeout: 8s
"""

RESOURCES = "/pve/home/api2/json/cluster/resources"


class OutputCacheTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("incident")

    @classmethod
    def tearDownClass(cls):
        cls.sim.close()

    def setUp(self):
        self.sim.clear_faults()

    def run_exporter(self, ttl):
        secrets = self.secret_dir()
        return Exporter(CONFIG.format(ttl=ttl, url=self.sim.url, dir=secrets))

    def secret_dir(self):
        d = tempfile.mkdtemp(prefix="pe-oc-")
        self.addCleanup(shutil.rmtree, d, True)
        write_secret(d, "home.token", "sim-read-secret-home")
        return d

    def concurrent_metrics(self, exp, n, headers=None):
        out = [None] * n

        def one(i):
            out[i] = exp.get("/metrics", headers=headers)

        ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(30)
        return out

    def test_concurrent_scrapes_share_one_collection(self):
        with self.run_exporter("30s") as exp:
            # The upstream is slow, so the two scrapes overlap.
            self.sim.fault("/cluster/resources", delay=1.0)
            self.sim.control("POST", "/_sim/stats/reset")
            res = self.concurrent_metrics(exp, 2)
            self.assertEqual([r[0] for r in res], [200, 200])
            # One rendering: even the per-collector duration samples are byte-identical.
            self.assertEqual(res[0][2], res[1][2])
            self.assertEqual(self.sim.stats().get(RESOURCES), 1, self.sim.stats())
            # A later scrape within the TTL, gzipped or not, reuses it without asking upstream.
            self.sim.control("POST", "/_sim/stats/reset")
            st, hdrs, body = exp.get("/metrics", headers={"Accept-Encoding": "gzip"})
            self.assertEqual(hdrs.get("Content-Encoding"), "gzip")
            self.assertEqual(body, res[0][2])
            self.assertEqual(exp.get("/status")[0], 200)
            self.assertEqual(exp.get("/")[0], 200)
            self.assertEqual(sum(self.sim.stats().values()), 0, self.sim.stats())

    def test_reload_invalidates(self):
        with self.run_exporter("5m") as exp:
            first = exp.metrics()
            self.assertEqual(exp.metrics(), first)  # cached
            before = value(first, "persistence_config_last_reload_success_timestamp_seconds")
            exp.signal(signal.SIGHUP)
            wait_for(lambda: exp.log_text().count("config reloaded") >= 1, 10, what="reload")
            after = exp.metrics()
            self.assertGreater(value(after, "persistence_config_last_reload_success_timestamp_seconds"),
                               before)
            self.assertNotEqual(after, first)

    def test_filters_are_cached_apart(self):
        with self.run_exporter("5m") as exp:
            full = exp.metrics()
            only = exp.metrics("?collect[]=pve")
            self.assertIn("persistence_pve_", full)
            self.assertNotEqual(full, only)
            self.assertEqual(exp.metrics("?collect[]=pve&collect[]=pve"), only)
            self.assertEqual(exp.get("/metrics?collect[]=nope")[0], 400)

    def test_ttl_zero_renders_every_time(self):
        with self.run_exporter("0s") as exp:
            self.sim.control("POST", "/_sim/stats/reset")
            exp.metrics()
            exp.metrics()
            self.assertEqual(self.sim.stats().get(RESOURCES), 2, self.sim.stats())


if __name__ == "__main__":
    unittest.main()
