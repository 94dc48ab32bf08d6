"""The PVE collector against the simulator: the incident, the healthy cluster, every upstream failure."""
import os
import re
import shutil
import tempfile
import time
import unittest

from harness import (PVE_SECRET, Exporter, Sim, parse_metrics, promtool_check, samples, value,
                     write_secret)

HOUR = 3600
DAY = 86400
HOME = "/pve/home/api2/json"

CONFIG = """global:
  scrape_timeout: {timeout}
  cache_ttl: {ttl}
  max_staleness: {staleness}
pve:
  - name: home
    url: {url}/pve/home
    token_id: "monitor@pve!exporter"
    token_secret_file: {dir}/{home_file}
    timeout: 5s
  - name: shop
    url: {url}/pve/shop
    token_id: "monitor@pve!exporter"
    token_secret_file: {dir}/shop.token
    timeout: 5s
"""

SHOP_GUESTS = [str(v) for v in range(200, 213)]


def series(text, name, **labels):
    """(labels, value) of every sample of name whose labels include labels."""
    return [(l, v) for n, l, v in parse_metrics(text)
            if n == name and all(l.get(k) == str(x) for k, x in labels.items())]


class PveBase(unittest.TestCase):
    scenario = "incident"

    @classmethod
    def setUpClass(cls):
        cls.sim = Sim(cls.scenario)
        cls.dir = tempfile.mkdtemp(prefix="pe-pve-")
        write_secret(cls.dir, "home.token", PVE_SECRET % "home")
        write_secret(cls.dir, "shop.token", PVE_SECRET % "shop")
        write_secret(cls.dir, "wrong.token", "not-the-home-secret")

    @classmethod
    def tearDownClass(cls):
        cls.sim.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        self.sim.clear_faults()
        self.sim.scenario(self.scenario)
        self.sim.control("POST", "/_sim/stats/reset")

    def start(self, ttl="0s", staleness="5m", timeout="10s", home_file="home.token"):
        exp = Exporter(CONFIG.format(url=self.sim.url, dir=self.dir, ttl=ttl, staleness=staleness,
                                     timeout=timeout, home_file=home_file))
        self.addCleanup(exp.close)
        return exp

    def scrape(self, exp, **kw):
        body = exp.metrics(**kw)
        promtool_check(body)
        log = exp.log_text()
        for secret in (PVE_SECRET % "home", PVE_SECRET % "shop", "not-the-home-secret"):
            self.assertNotIn(secret, body)
            self.assertNotIn(secret, log)
        return body

    def up(self, body, source):
        return value(body, "persistence_source_up", source=source, kind="pve")

    def assert_shop_intact(self, body):
        self.assertEqual(self.up(body, "shop"), 1)
        now = time.time()
        for vmid in SHOP_GUESTS:
            ts = value(body, "persistence_pve_guest_last_backup_timestamp_seconds", source="shop", vmid=vmid)
            self.assertLess(now - ts, 26 * HOUR, vmid)
        for node in ("shop1", "shop2"):
            self.assertEqual(value(body, "persistence_pve_scheduler_up", source="shop", node=node), 1)

    def log_lines(self, exp, pattern):
        return [l for l in exp.log_text().splitlines() if re.search(pattern, l)]


class IncidentTest(PveBase):
    def test_incident(self):
        exp = self.start()
        body = self.scrape(exp)
        now = time.time()
        self.assertEqual(self.up(body, "home"), 1)
        # the stalled scheduler: backup-home overdue by more than 3 days on both nodes
        for node in ("pve1", "pve2"):
            due = value(body, "persistence_pve_backup_job_next_due_timestamp_seconds",
                        source="home", backup_job="backup-home", node=node)
            self.assertGreater(now - due, 3 * DAY, node)
            last = value(body, "persistence_pve_backup_job_last_run_timestamp_seconds",
                         source="home", backup_job="backup-home", node=node)
            self.assertAlmostEqual((now - last) / DAY, 4.0, delta=0.1)
            self.assertEqual(value(body, "persistence_pve_scheduler_up", source="home", node=node), 1)
        # the disabled template job gets neither metric
        self.assertEqual(samples(body, "persistence_pve_backup_job_next_due_timestamp_seconds",
                                 backup_job="backup-home-templates"), [])
        self.assertEqual(value(body, "persistence_pve_backup_job_enabled", source="home",
                               backup_job="backup-home-templates"), 0)
        # the two stale guests, ~4 days old
        for vmid in ("100", "105"):
            ts = value(body, "persistence_pve_guest_last_backup_timestamp_seconds", source="home", vmid=vmid)
            self.assertAlmostEqual((now - ts) / DAY, 4.0, delta=0.1, msg=vmid)
            self.assertEqual(value(body, "persistence_pve_guest_backup_covered", source="home", vmid=vmid), 1)
        # uncovered: 112 (no job) and the template 9000 (only a disabled job)
        self.assertEqual(value(body, "persistence_pve_guest_backup_covered", source="home", vmid="112"), 0)
        self.assertEqual(value(body, "persistence_pve_guest_backup_covered", source="home", vmid="9000"), 0)
        covered0 = sorted((l["source"], l["vmid"]) for l, v in
                          series(body, "persistence_pve_guest_backup_covered") if v == 0)
        self.assertEqual(covered0, [("home", "112"), ("home", "9000")])
        self.assertEqual(samples(body, "persistence_pve_guest_last_backup_timestamp_seconds",
                                 source="home", vmid="9000"), [])
        self.assertEqual(value(body, "persistence_pve_guest_backups", source="home", vmid="9000"), 0)
        self.assertEqual(value(body, "persistence_pve_guest_info", source="home", vmid="9000", template="1",
                               guest_type="qemu", node="pve2"), 1)
        # shop: 13 fresh guests, every one covered, no job overdue
        self.assert_shop_intact(body)
        self.assertEqual(len(samples(body, "persistence_pve_guest_info", source="shop")), 13)
        for vmid in SHOP_GUESTS:
            self.assertEqual(value(body, "persistence_pve_guest_backup_covered", source="shop", vmid=vmid), 1)
        dues = series(body, "persistence_pve_backup_job_next_due_timestamp_seconds", source="shop")
        self.assertEqual(sorted({l["backup_job"] for l, _ in dues}),
                         ["backup-shop", "backup-shop-db", "backup-shop-office"])
        for labels, due in dues:
            self.assertGreater(due, now, labels)

    def test_missing_signal_metrics(self):
        """What the rules need to notice a lost due slot and a failure hidden by a later success."""
        exp = self.start()
        body = self.scrape(exp)
        now = time.time()
        self.assertEqual(value(body, "persistence_pve_backup_jobs", source="home"), 2)
        self.assertEqual(value(body, "persistence_pve_backup_jobs", source="shop"), 3)
        # backup-home selects one guest per node; the disabled template job counts nowhere
        guests = sorted((l["backup_job"], l["node"], v) for l, v in
                        series(body, "persistence_pve_backup_job_guests", source="home"))
        self.assertEqual(guests, [("backup-home", "pve1", 1), ("backup-home", "pve2", 1)])
        # shop's office job runs on shop2 only (node: shop2), for its two pool members
        self.assertEqual(value(body, "persistence_pve_backup_job_guests", source="shop",
                               backup_job="backup-shop-office", node="shop2"), 2)
        self.assertEqual(samples(body, "persistence_pve_backup_job_guests", source="shop",
                                 backup_job="backup-shop-office", node="shop1"), [])
        # every job-node with guests has its due slot
        for l, _ in series(body, "persistence_pve_backup_job_guests"):
            self.assertTrue(samples(body, "persistence_pve_backup_job_next_due_timestamp_seconds",
                                    source=l["source"], backup_job=l["backup_job"], node=l["node"]), l)
        # home's run five days before the stall ended "job errors" (the simulator marks that run's
        # task on both nodes); the later runs succeeded, so the newest task is a success
        for node in ("pve1", "pve2"):
            failed = value(body, "persistence_pve_vzdump_last_failure_timestamp_seconds", source="home",
                           node=node)
            self.assertAlmostEqual((now - failed) / DAY, 9.0, delta=0.1)
            self.assertEqual(value(body, "persistence_pve_vzdump_last_task_success", source="home",
                                   node=node), 1)
        # shop1 never failed; shop2's only failure is the old manual run (9 days)
        self.assertEqual(samples(body, "persistence_pve_vzdump_last_failure_timestamp_seconds",
                                 source="shop", node="shop1"), [])
        failed = value(body, "persistence_pve_vzdump_last_failure_timestamp_seconds", source="shop", node="shop2")
        self.assertAlmostEqual((now - failed) / DAY, 9.0, delta=0.1)

    def test_healthy_nothing_overdue(self):
        self.sim.scenario("healthy")
        exp = self.start()
        body = self.scrape(exp)
        now = time.time()
        dues = series(body, "persistence_pve_backup_job_next_due_timestamp_seconds")
        self.assertEqual(len(dues), 6, dues)       # home x2 nodes, shop 2 + 1 + 1
        for labels, due in dues:
            self.assertGreater(due, now, labels)
        for vmid in ("100", "105"):
            ts = value(body, "persistence_pve_guest_last_backup_timestamp_seconds", source="home", vmid=vmid)
            self.assertLess(now - ts, 26 * HOUR, vmid)
        self.assert_shop_intact(body)
        self.assertEqual(self.up(body, "home"), 1)


class FailureTest(PveBase):
    def test_401_marks_down_once_and_is_not_retried_in_a_loop(self):
        exp = self.start(ttl="30s", home_file="wrong.token")
        body = self.scrape(exp)
        self.assertEqual(self.up(body, "home"), 0)
        self.assertEqual(samples(body, "persistence_pve_guest_info", source="home"), [])
        self.assert_shop_intact(body)
        body = self.scrape(exp)
        self.assertEqual(self.up(body, "home"), 0)
        stats = self.sim.stats()
        # the collection stops at the first 401, and the 401 is cached like any answer
        self.assertEqual(stats.get(HOME + "/nodes"), 1, stats)
        self.assertEqual([k for k in stats if k.startswith(HOME) and k != HOME + "/nodes"], [])
        lines = self.log_lines(exp, r'msg="source down" kind=pve source=home ')
        self.assertEqual(len(lines), 1, lines)     # logged once, not once per scrape
        self.assertIn("HTTP 401", lines[0])
        self.assertIn("check token_id/secret", lines[0])

    def test_403_on_one_node_services_loses_only_its_scheduler_up(self):
        exp = self.start()
        self.sim.fault(HOME + "/nodes/pve1/services/", status=403)
        body = self.scrape(exp)
        self.assertEqual(self.up(body, "home"), 1)
        self.assertEqual(samples(body, "persistence_pve_scheduler_up", source="home", node="pve1"), [])
        self.assertEqual(value(body, "persistence_pve_scheduler_up", source="home", node="pve2"), 1)
        # everything else of pve1 is still there
        self.assertEqual(len(samples(body, "persistence_pve_vzdump_last_task_success", source="home")), 2)
        self.assertEqual(len(samples(body, "persistence_pve_backup_job_next_due_timestamp_seconds",
                                     source="home")), 2)
        self.assertEqual(len(samples(body, "persistence_pve_guest_backups", source="home")), 4)
        lines = self.log_lines(exp, "PVE permission missing")
        self.assertTrue(lines)
        self.assertIn("Sys.Audit", lines[0])
        self.assertIn("pvescheduler", lines[0])
        self.assert_shop_intact(body)
        # the same condition on the next scrapes is not warned about again (no log spam)
        self.scrape(exp)
        self.scrape(exp)
        self.assertEqual(len(self.log_lines(exp, "level=warn msg=\"PVE permission missing")), 1)

    def test_403_on_backup_jobs_loses_the_job_count(self):
        exp = self.start()
        self.sim.fault(HOME + "/cluster/backup", status=403)
        body = self.scrape(exp)
        self.assertEqual(self.up(body, "home"), 1)
        for name in ("persistence_pve_backup_jobs", "persistence_pve_backup_job_guests",
                     "persistence_pve_backup_job_next_due_timestamp_seconds"):
            self.assertEqual(samples(body, name, source="home"), [], name)
        self.assertEqual(value(body, "persistence_pve_backup_jobs", source="shop"), 3)

    def test_node_errors_cost_only_that_node(self):
        exp = self.start()
        for status in (500, 595, 596):
            with self.subTest(status=status):
                self.sim.clear_faults()
                self.sim.fault(HOME + "/nodes/pve1/", status=status)
                body = self.scrape(exp)
                self.assertEqual(self.up(body, "home"), 1)
                for name in ("persistence_pve_scheduler_up", "persistence_pve_vzdump_last_task_success",
                             "persistence_pve_storage_up"):
                    self.assertEqual(samples(body, name, source="home", node="pve1"), [], name)
                    self.assertTrue(samples(body, name, source="home", node="pve2"), name)
                self.assertEqual(samples(body, "persistence_pve_backup_job_next_due_timestamp_seconds",
                                         source="home", node="pve1"), [])
                self.assertLess(value(body, "persistence_pve_backup_job_next_due_timestamp_seconds",
                                      source="home", backup_job="backup-home", node="pve2"),
                                time.time() - 3 * DAY)
                self.assertEqual(value(body, "persistence_pve_node_up", source="home", node="pve1"), 1)
                # the job still selects a guest there: the rules see a job-node without a due slot
                self.assertEqual(value(body, "persistence_pve_backup_job_guests", source="home",
                                       backup_job="backup-home", node="pve1"), 1)
                # the shared NFS storage is still listed through pve2
                for vmid in ("100", "105"):
                    self.assertTrue(samples(body, "persistence_pve_guest_last_backup_timestamp_seconds",
                                            source="home", vmid=vmid), vmid)
                # pve1's local storage is unknown: no (partial) archive counts
                self.assertEqual(samples(body, "persistence_pve_guest_backups", source="home"), [])
                self.assertTrue(self.log_lines(exp, r"PVE node endpoint failed.*node=pve1.*HTTP %d" % status))
                self.assert_shop_intact(body)

    def assert_home_down(self, exp, body, fragment):
        self.assertEqual(self.up(body, "home"), 0)
        self.assertEqual([n for n in ("persistence_pve_guest_info", "persistence_pve_node_up",
                                      "persistence_pve_guest_backup_covered")
                          if samples(body, n, source="home")], [])
        self.assert_shop_intact(body)
        lines = self.log_lines(exp, r'msg="source down" kind=pve source=home ')
        self.assertTrue(lines and fragment in lines[-1], (fragment, lines))

    def test_html_instead_of_json(self):
        exp = self.start()
        self.sim.fault(HOME + "/cluster/resources", body="html")
        self.assert_home_down(exp, self.scrape(exp), "HTML instead of JSON")

    def test_truncated_body(self):
        exp = self.start()
        self.sim.fault(HOME + "/nodes$", body="truncated")
        self.assert_home_down(exp, self.scrape(exp), "invalid or truncated JSON")

    def test_oversize_body_is_capped(self):
        exp = self.start()
        self.sim.fault(HOME + "/cluster/resources", body="oversize")
        self.assert_home_down(exp, self.scrape(exp), "response larger than")
        with open("/proc/%d/status" % exp.proc.pid) as f:
            rss_kb = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
        # the 64 MiB body is cut at the 16 MiB cap; ASan builds use more, hence the wide bound
        self.assertLess(rss_kb * 1024, 160 * 1024 ** 2)

    def test_empty_archive_lists_while_tasks_exist(self):
        exp = self.start()
        self.sim.fault(HOME + "/nodes/[^/]+/storage/[^/]+/content", body='{"data":[]}')
        body = self.scrape(exp)
        self.assertEqual(self.up(body, "home"), 1)
        self.assertEqual(samples(body, "persistence_pve_guest_backups", source="home"), [])
        self.assertEqual(samples(body, "persistence_pve_guest_last_backup_timestamp_seconds", source="home"), [])
        self.assertEqual(len(samples(body, "persistence_pve_guest_info", source="home")), 4)
        lines = self.log_lines(exp, "no backup archive")
        self.assertTrue(lines)
        self.assertIn("Datastore.Allocate", lines[0])
        self.assertIn("source=home", lines[0])
        self.assert_shop_intact(body)


class SlowListingTest(PveBase):
    """Storage listings slower than the scrape deadline: the answer is on time, the cache fills in."""

    def last_backups(self, body):
        return {l["vmid"] for l, _ in series(body, "persistence_pve_guest_last_backup_timestamp_seconds",
                                              source="home")}

    def timed_scrape(self, exp):
        t0 = time.monotonic()
        body = self.scrape(exp, headers={"X-Prometheus-Scrape-Timeout-Seconds": "2"})
        took = time.monotonic() - t0
        self.assertLess(took, 3.0, "answered after %.1fs with a 2s scrape timeout" % took)
        return body

    def test_slow_listing_served_from_cache_within_max_staleness(self):
        exp = self.start(staleness="4s")
        self.sim.fault(HOME + "/nodes/.*/content", delay=2.5)
        # 1: no listing yet: the source is up with what it has, no archive facts
        t0 = time.monotonic()
        body = self.timed_scrape(exp)
        self.assertEqual(self.up(body, "home"), 1)
        self.assertEqual(self.last_backups(body), set())
        self.assertEqual(samples(body, "persistence_pve_guest_backups", source="home"), [])
        self.assertTrue(self.log_lines(exp, "storage content listing failed.*no answer before the scrape deadline"))
        # the calendar requests were made before the listings: the overdue metric is already there
        for node in ("pve1", "pve2"):
            due = value(body, "persistence_pve_backup_job_next_due_timestamp_seconds", source="home",
                        backup_job="backup-home", node=node)
            self.assertGreater(time.time() - due, 3 * DAY)
        self.assert_shop_intact(body)
        # 2: the background fetches finished: their answers are served while a refresh runs
        time.sleep(max(0, t0 + 3.2 - time.monotonic()))
        before = self.sim.stats().get(HOME + "/nodes/pve1/storage/synology-backups/content", 0)
        body = self.timed_scrape(exp)
        self.assertEqual(self.last_backups(body), {"100", "105", "112"})
        self.assertEqual(value(body, "persistence_pve_guest_backups", source="home", vmid="100"), 8)
        self.assertGreater(self.sim.stats()[HOME + "/nodes/pve1/storage/synology-backups/content"], before,
                           "no refresh was started")
        # 3: the upstream stops answering; past max_staleness (4s) the old listing is dropped
        self.sim.clear_faults()
        self.sim.fault(HOME + "/nodes/.*/content", delay=30)
        time.sleep(2.5 + 4 + 1.0)
        body = self.timed_scrape(exp)
        self.assertEqual(self.up(body, "home"), 1)
        self.assertEqual(self.last_backups(body), set())
        self.assert_shop_intact(body)


if __name__ == "__main__":
    unittest.main()
