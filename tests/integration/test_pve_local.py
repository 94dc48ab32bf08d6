"""pve with `local: true`: the exporter reads fake node trees (tests/sim/fake_node.py) through --path.* flags."""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

from harness import PVE_SECRET, ROOT, Exporter, Sim, promtool_check, samples, value, write_secret

FAKE_NODE = os.path.join(ROOT, "tests", "sim", "fake_node.py")
DAY = 86400

CONFIG = """global:
  cache_ttl: 0s
pve:
  - name: home
    url: {url}/pve/home
    token_id: "monitor@pve!exporter"
    token_secret_file: {dir}/home.token
    timeout: 5s
    local: true
    local_node: pve1
"""


class PveLocalTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("incident")
        cls.dir = tempfile.mkdtemp(prefix="pe-local-")
        write_secret(cls.dir, "home.token", PVE_SECRET % "home")

    @classmethod
    def tearDownClass(cls):
        cls.sim.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def scrape_node(self, scenario):
        tree = os.path.join(self.dir, scenario)
        subprocess.run([sys.executable, FAKE_NODE, "--scenario", scenario, "--out", tree, "--node", "pve1"],
                       check=True, capture_output=True)
        flags = ["--path.procfs=%s/procfs" % tree, "--path.sysfs=%s/sysfs" % tree,
                 "--path.pvelib=%s/pvelib" % tree, "--path.rundir=%s/run" % tree]
        exp = Exporter(CONFIG.format(url=self.sim.url, dir=self.dir), flags=flags)
        self.addCleanup(exp.close)
        body = exp.metrics()
        promtool_check(body)
        # the node-local source and the API source are both up and independent
        self.assertEqual(value(body, "persistence_source_up", source="home", kind="pve_local"), 1)
        self.assertEqual(value(body, "persistence_source_up", source="home", kind="pve"), 1)
        return exp, body

    def local(self, body, name, **labels):
        return value(body, "persistence_pve_" + name, source="home", node="pve1", **labels)

    def test_leak(self):
        _, body = self.scrape_node("leak")
        self.assertEqual(self.local(body, "scheduler_process_up"), 1)
        self.assertAlmostEqual(self.local(body, "scheduler_resident_memory_bytes") / 1e9, 17.9, delta=0.05)
        self.assertAlmostEqual(self.local(body, "scheduler_cgroup_anon_bytes") / 1e9, 18.2, delta=0.05)
        self.assertAlmostEqual((time.time() - self.local(body, "scheduler_start_time_seconds")) / DAY, 9,
                               delta=0.01)
        last = self.local(body, "job_state_last_run_timestamp_seconds", backup_job="backup-home-daily")
        self.assertAlmostEqual((time.time() - last) / DAY, 4, delta=0.01)
        self.assertEqual(len(samples(body, "persistence_pve_job_state_last_run_timestamp_seconds")), 3)
        self.assertEqual(self.local(body, "scheduler_oldest_child_age_seconds"), 0)

    def test_stuck_child(self):
        _, body = self.scrape_node("stuck-child")
        self.assertEqual(self.local(body, "scheduler_process_up"), 1)
        self.assertAlmostEqual(self.local(body, "scheduler_oldest_child_age_seconds") / 3600, 3, delta=0.02)
        self.assertLess(self.local(body, "scheduler_resident_memory_bytes"), 200e6)

    def test_no_scheduler(self):
        exp, body = self.scrape_node("none")
        self.assertEqual(self.local(body, "scheduler_process_up"), 0)
        for name in ("scheduler_resident_memory_bytes", "scheduler_start_time_seconds",
                     "scheduler_oldest_child_age_seconds"):
            self.assertEqual(samples(body, "persistence_pve_" + name), [], name)
        # the job state files still tell when the jobs last ran
        self.assertTrue(samples(body, "persistence_pve_job_state_last_run_timestamp_seconds",
                                backup_job="backup-home-daily"))
        self.assertIn('msg="no pvescheduler process found" source=home node=pve1', exp.log_text())


if __name__ == "__main__":
    unittest.main()
