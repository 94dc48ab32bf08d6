"""The PBS collector against the simulator: every metric, every failure path, the inventory outcome.

Expected values are computed here from the simulator's own PBS answers (an independent fold of the
snapshot listings), so the exporter is checked against the API, not against itself.
"""
import json
import os
import re
import shutil
import ssl
import subprocess
import tempfile
import time
import types
import unittest
import urllib.request

from harness import (CTL, PBS_SECRET, PVE_SECRET, Exporter, Sim, check_sanitizer_report, parse_metrics,
                     pbs_source_yaml, promtool_check, pve_source_yaml, samples, value, write_secret)

HOUR = 3600
DAY = 86400
API = "/pbs/pbs1/api2/json"
TOKEN = "PBSAPIToken=monitor@pbs!exporter:" + PBS_SECRET % "pbs1"
GROUP_FAMILIES = ("persistence_pbs_group_snapshots", "persistence_pbs_group_last_backup_timestamp_seconds",
                  "persistence_pbs_group_last_backup_size_bytes",
                  "persistence_pbs_group_last_verified_backup_timestamp_seconds",
                  "persistence_pbs_group_verify_failed_snapshots")

CONFIG = """global:
  scrape_timeout: {timeout}
  cache_ttl: {ttl}
  max_staleness: 5m
pbs:
{pbs}targets:
  - name: shop-vm-200
    pbs: {{source: pbs1, datastore: store1, backup_type: vm, backup_id: "200"}}
    max_age: 26h
  - name: shop-vm-204
    pbs: {{source: pbs1, datastore: store1, backup_type: vm, backup_id: "204"}}
    max_age: 26h
  - name: lab-ct-300
    pbs: {{source: pbs1, datastore: store1, namespace: site-b/lab, backup_type: ct, backup_id: "300"}}
    max_age: 3d
    max_verify_age: 7d
  - name: fileserver
    pbs: {{source: pbs1, datastore: store1, backup_type: host, backup_id: files}}
    max_age: 7h
    max_verify_age: 1d
  - name: offsite-vm-200
    pbs: {{source: pbs1, datastore: offsite, backup_type: vm, backup_id: "200"}}
    max_age: 36h
  - name: gone-vm-999
    pbs: {{source: pbs1, datastore: store1, backup_type: vm, backup_id: "999"}}
    max_age: 26h
"""


def fold(snapshots):
    """{(type, id): facts} the way docs/metrics.md defines them, from one listing."""
    out = {}
    for s in snapshots:
        g = out.setdefault((s["backup-type"], s["backup-id"]),
                           {"n": 0, "last": 0, "size": 0, "verified": 0, "failed": 0, "last_state": None})
        state = (s.get("verification") or {}).get("state")
        if state == "ok":
            g["verified"] = max(g["verified"], s["backup-time"])
        if state == "failed":
            g["failed"] += 1
        if "size" not in s:
            continue
        g["n"] += 1
        if s["backup-time"] > g["last"]:
            g["last"], g["size"], g["last_state"] = s["backup-time"], s["size"], state
    return out


class PbsBase(unittest.TestCase):
    scenario = "incident"

    @classmethod
    def setUpClass(cls):
        cls.sim = Sim(cls.scenario)
        cls.dir = tempfile.mkdtemp(prefix="pe-pbs-")
        write_secret(cls.dir, "pbs1.token", PBS_SECRET % "pbs1")
        write_secret(cls.dir, "wrong.token", "not-the-pbs-secret")
        write_secret(cls.dir, "shop.token", PVE_SECRET % "shop")

    @classmethod
    def tearDownClass(cls):
        cls.sim.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        self.sim.clear_faults()
        self.sim.scenario(self.scenario)     # also resets the PBS knobs

    def start(self, timeout="10s", ttl="0s", secret_file=None, extra=""):
        pbs = pbs_source_yaml(self.sim, secret_file=secret_file, extra=extra).format(secret_dir=self.dir)
        exp = Exporter(CONFIG.format(timeout=timeout, ttl=ttl, pbs=pbs))
        self.addCleanup(exp.close)
        return exp

    def scrape(self, exp, **kw):
        body = exp.metrics(**kw)
        promtool_check(body)
        log = exp.log_text()
        for secret in (PBS_SECRET % "pbs1", "not-the-pbs-secret"):
            self.assertNotIn(secret, body)
            self.assertNotIn(secret, log)
        return body

    def api(self, sub):
        req = urllib.request.Request(self.sim.url + API + sub, headers={"Authorization": TOKEN})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())["data"]

    def knobs(self, **spec):
        self.sim.control("POST", "/_sim/pbs", spec)

    def up(self, body):
        return value(body, "persistence_source_up", source="pbs1", kind="pbs")

    def groups(self, body, datastore=None):
        """{(datastore, namespace, type, id): {family: value}} from the exporter's samples."""
        out = {}
        for name, labels, v in parse_metrics(body):
            if name in GROUP_FAMILIES and (datastore is None or labels["datastore"] == datastore):
                key = (labels["datastore"], labels["namespace"], labels["backup_type"], labels["backup_id"])
                out.setdefault(key, {})[name] = v
        return out

    def expected_groups(self, datastores=("store1", "offsite")):
        out = {}
        for ds in datastores:
            for ns in [n["ns"] for n in self.api("/admin/datastore/%s/namespace" % ds)]:
                q = "?ns=" + ns if ns else ""
                for (t, i), g in fold(self.api("/admin/datastore/%s/snapshots%s" % (ds, q))).items():
                    out[(ds, ns, t, i)] = g
        return out

    def assert_groups(self, body, expected):
        got = self.groups(body)
        self.assertEqual(set(got), set(expected))
        for key, g in expected.items():
            m = got[key]
            self.assertEqual(m["persistence_pbs_group_snapshots"], g["n"], key)
            self.assertEqual(m["persistence_pbs_group_verify_failed_snapshots"], g["failed"], key)
            self.assertEqual(m.get("persistence_pbs_group_last_backup_timestamp_seconds"), g["last"] or None, key)
            self.assertEqual(m.get("persistence_pbs_group_last_backup_size_bytes"), g["size"] if g["last"] else None, key)
            self.assertEqual(m.get("persistence_pbs_group_last_verified_backup_timestamp_seconds"),
                             g["verified"] or None, key)

    def assert_restorability(self, body):
        """Every pbs target that was read publishes its restorability as the PBS listing has it:
        verify_failed is its newest finished snapshot's state, policy_ok 0 exactly when that failed
        or no snapshot passed within max_verify_age; copies stay pve/mount samples."""
        now = time.time()
        groups = self.expected_groups()
        keys = {"shop-vm-200": ("store1", "", "vm", "200"), "shop-vm-204": ("store1", "", "vm", "204"),
                "lab-ct-300": ("store1", "site-b/lab", "ct", "300"), "fileserver": ("store1", "", "host", "files"),
                "offsite-vm-200": ("offsite", "", "vm", "200")}
        max_verify = {"lab-ct-300": 7 * 86400, "fileserver": 86400}
        for target, key in keys.items():
            g = groups[key]
            failed = g["last_state"] == "failed"
            unverified = target in max_verify and (not g["verified"] or now - g["verified"] >= max_verify[target])
            self.assertEqual(value(body, "persistence_target_verify_failed", target=target), int(failed), target)
            self.assertEqual(value(body, "persistence_target_policy_ok", target=target),
                             int(not failed and not unverified), target)
            for fam in ("copies", "offsite_copies", "min_copies", "require_offsite"):
                self.assertEqual(samples(body, "persistence_target_" + fam, target=target), [], (target, fam))

    def log_lines(self, exp, pattern):
        return [l for l in exp.log_text().splitlines() if re.search(pattern, l)]


class IncidentTest(PbsBase):
    def test_every_metric(self):
        exp = self.start()
        body = self.scrape(exp)
        now = time.time()
        self.assertEqual(self.up(body), 1)
        # datastores: space as PBS reports it, and PBS's own estimate (offsite full in ~10 days)
        for st in self.api("/status/datastore-usage"):
            ds = st["store"]
            self.assertEqual(value(body, "persistence_pbs_datastore_up", source="pbs1", datastore=ds), 1)
            for fam, key in (("size", "total"), ("used", "used"), ("avail", "avail")):
                self.assertEqual(value(body, "persistence_pbs_datastore_%s_bytes" % fam, datastore=ds), st[key])
            self.assertEqual(value(body, "persistence_pbs_datastore_estimated_full_timestamp_seconds",
                                   datastore=ds), st["estimated-full-date"])
        full = value(body, "persistence_pbs_datastore_estimated_full_timestamp_seconds", datastore="offsite")
        self.assertAlmostEqual((full - now) / DAY, 10.4, delta=0.6)
        # GC: store1 OK with a bad chunk left, offsite's last GC failed
        for ds in ("store1", "offsite"):
            gc = self.api("/admin/datastore/%s/gc" % ds)
            self.assertEqual(value(body, "persistence_pbs_gc_last_run_timestamp_seconds", datastore=ds),
                             gc["last-run-endtime"])
            self.assertEqual(value(body, "persistence_pbs_gc_next_due_timestamp_seconds", datastore=ds), gc["next-run"])
            self.assertEqual(value(body, "persistence_pbs_gc_pending_bytes", datastore=ds), gc["pending-bytes"])
            self.assertEqual(value(body, "persistence_pbs_gc_removed_bad_chunks", datastore=ds), gc["removed-bad"])
        self.assertEqual(value(body, "persistence_pbs_gc_last_run_success", datastore="store1"), 1)
        self.assertEqual(value(body, "persistence_pbs_gc_last_run_success", datastore="offsite"), 0)
        self.assertEqual(value(body, "persistence_pbs_gc_still_bad_chunks", datastore="store1"), 1)
        # jobs: all seven (the push job needs sync-direction=all), the failed verify, the overdue sync
        jobs = {(l["job_type"], l["job_id"]): l for n, l, v in parse_metrics(body) if n == "persistence_pbs_job_info"}
        self.assertEqual(set(jobs), {("verify", "v-store1"), ("verify", "v-offsite"), ("prune", "p-store1"),
                                     ("prune", "p-offsite"), ("sync", "s-siteb-pull"), ("sync", "s-offsite"),
                                     ("sync", "s-push-cloud")})
        self.assertEqual(jobs[("sync", "s-offsite")]["schedule"], "05:00")
        self.assertEqual(jobs[("sync", "s-offsite")]["datastore"], "offsite")
        for kind in ("verify", "prune", "sync"):
            path = "/admin/sync?sync-direction=all" if kind == "sync" else "/admin/" + kind
            for j in self.api(path):
                lab = {"job_type": kind, "job_id": j["id"], "datastore": j["store"]}
                self.assertEqual(value(body, "persistence_pbs_job_enabled", **lab), 0 if j.get("disable") else 1)
                if "next-run" in j:
                    self.assertEqual(value(body, "persistence_pbs_job_next_due_timestamp_seconds", **lab), j["next-run"])
                else:
                    self.assertEqual(samples(body, "persistence_pbs_job_next_due_timestamp_seconds", **lab), [])
                if "last-run-state" in j:
                    self.assertEqual(value(body, "persistence_pbs_job_last_run_timestamp_seconds", **lab),
                                     j["last-run-endtime"])
                    self.assertEqual(value(body, "persistence_pbs_job_last_run_success", **lab),
                                     1 if j["last-run-state"] == "OK" else 0)
        self.assertEqual(value(body, "persistence_pbs_job_last_run_success", job_id="v-store1"), 0)
        due = value(body, "persistence_pbs_job_next_due_timestamp_seconds", job_id="s-offsite")
        self.assertGreater(now - due, 20 * HOUR)  # the offsite copy is overdue
        self.assertEqual(samples(body, "persistence_pbs_job_last_run_success", job_id="p-offsite"), [])
        # failed tasks: newest failure per worker type
        tasks = self.api("/nodes/localhost/tasks?statusfilter=error&limit=500")
        newest = {}
        for t in tasks:
            newest[t["worker_type"]] = max(newest.get(t["worker_type"], 0), t["endtime"])
        self.assertEqual(set(newest), {"backup", "verificationjob", "garbage_collection"})
        for wt, end in newest.items():
            self.assertEqual(value(body, "persistence_pbs_task_last_failure_timestamp_seconds", worker_type=wt), end)
        # groups: every namespace of both stores, folded independently
        expected = self.expected_groups()
        self.assert_groups(body, expected)
        self.assertIn(("store1", "site-b/lab", "ct", "300"), expected)
        self.assertEqual(value(body, "persistence_pbs_group_verify_failed_snapshots", datastore="store1",
                               namespace="", backup_id="204"), 1)
        # the host backup running now (started 60 s before the scenario loaded) counts for nothing:
        # the newest finished one is the last 6-hourly slot at least 10 minutes before the load
        files = value(body, "persistence_pbs_group_last_backup_timestamp_seconds", backup_id="files")
        self.assertGreater(now - files, 600)
        self.assertEqual(samples(body, "persistence_pbs_group_last_verified_backup_timestamp_seconds",
                                 backup_id="300"), [])
        self.assertEqual(self.log_lines(exp, "level=warn.*PBS"), [])

    def test_requests_once_each_and_in_parallel(self):
        exp = self.start()
        self.sim.control("POST", "/_sim/stats/reset")
        self.scrape(exp)
        stats = self.sim.stats()
        pbs = {p[len(API):]: n for p, n in stats.items() if p.startswith(API)}
        self.assertEqual(set(pbs), {"/version", "/admin/datastore", "/status/datastore-usage", "/admin/verify",
                                    "/admin/prune", "/admin/sync", "/nodes/localhost/tasks",
                                    "/admin/datastore/store1/status", "/admin/datastore/store1/gc",
                                    "/admin/datastore/store1/namespace", "/admin/datastore/store1/snapshots",
                                    "/admin/datastore/offsite/status", "/admin/datastore/offsite/gc",
                                    "/admin/datastore/offsite/namespace", "/admin/datastore/offsite/snapshots"})
        self.assertEqual(pbs["/admin/datastore/store1/snapshots"], 3)   # "", site-b, site-b/lab
        self.assertEqual({p: n for p, n in pbs.items() if p != "/admin/datastore/store1/snapshots"},
                         {p: 1 for p in pbs if p != "/admin/datastore/store1/snapshots"})

    def test_inventory(self):
        exp = self.start()
        body = self.scrape(exp)
        ok = {t: value(body, "persistence_target_ok", target=t) for t in
              ("shop-vm-200", "shop-vm-204", "lab-ct-300", "fileserver", "offsite-vm-200", "gone-vm-999")}
        self.assertEqual(ok, {"shop-vm-200": 1, "shop-vm-204": 1, "lab-ct-300": 0, "fileserver": 1,
                              "offsite-vm-200": 0, "gone-vm-999": 0})
        self.assertEqual(value(body, "persistence_target_info", target="lab-ct-300", kind="pbs", source="pbs1"), 1)
        last = value(body, "persistence_target_last_backup_timestamp_seconds", target="shop-vm-200")
        self.assertEqual(last, value(body, "persistence_pbs_group_last_backup_timestamp_seconds",
                                     datastore="store1", namespace="", backup_id="200"))
        self.assertEqual(value(body, "persistence_target_last_verified_timestamp_seconds", target="fileserver"),
                         value(body, "persistence_pbs_group_last_verified_backup_timestamp_seconds",
                               backup_id="files"))
        self.assertEqual(samples(body, "persistence_target_last_verified_timestamp_seconds", target="lab-ct-300"), [])
        # verification is the restorability policy's: the rules tell it from staleness by policy_ok
        self.assert_restorability(body)
        self.assertEqual(value(body, "persistence_target_max_verify_age_seconds", target="lab-ct-300"), 7 * 86400)
        self.assertEqual(value(body, "persistence_target_max_verify_age_seconds", target="fileserver"), 86400)
        self.assertEqual(samples(body, "persistence_target_max_verify_age_seconds", target="shop-vm-200"), [])
        self.assertEqual(value(body, "persistence_target_policy_ok", target="lab-ct-300"), 0)   # never verified
        self.assertEqual(value(body, "persistence_target_verify_failed", target="lab-ct-300"), 0)
        self.assertEqual(value(body, "persistence_target_policy_ok", target="fileserver"), 1)
        self.assertEqual(value(body, "persistence_target_policy_ok", target="offsite-vm-200"), 1)   # only stale
        self.assertEqual(samples(body, "persistence_target_verify_failed", target="gone-vm-999"), [])
        reasons = {t["name"]: t for t in json.loads(exp.get("/status")[2])["targets"]}
        self.assertEqual(reasons["lab-ct-300"]["reason"], "no verified backup")
        self.assertRegex(reasons["offsite-vm-200"]["reason"], r"^backup [23]d \d+h old, max 36h$")
        self.assertEqual(reasons["gone-vm-999"]["reason"], "no backup of vm/999 in store1")
        self.assertEqual(reasons["shop-vm-200"]["state"], "OK")
        # the page and persistencectl list the PBS targets and the PBS source
        page = exp.get("/")[2]
        for name in ("shop-vm-204", "lab-ct-300", "no verified backup"):
            self.assertIn(name, page)
        self.assertRegex(page, r"<td>pbs1</td><td>pbs</td>")
        cfg = exp.config_path
        p = subprocess.run([CTL, "status", "--config.file=" + cfg], capture_output=True, text=True, timeout=120,
                           stdin=subprocess.DEVNULL)
        check_sanitizer_report(p.stderr, "persistencectl status")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"lab-ct-300 +pbs .*DEGRADED +.*no verified backup")
        self.assertRegex(p.stdout, r"pbs1 +pbs +UP")
        self.assertNotIn(PBS_SECRET % "pbs1", p.stdout + p.stderr)


class PveStorageMatchTest(PbsBase):
    def test_shop_pbs_is_store1(self):
        """shop's PVE storage shop-pbs is pbs1's store1 (same server and port): published, so copies of
        one place are never counted as two; without pbs: sources PVE's /storage is not even asked."""
        pve = "pve:\n" + pve_source_yaml(self.sim, "shop").format(secret_dir=self.dir)
        pbs = pbs_source_yaml(self.sim).format(secret_dir=self.dir)
        # erp (205) is backed up to shop-pbs only, db (202) to shop-pbs and a second storage
        targets = ("targets:\n  - {name: shop-erp, pve: {source: shop, vmid: 205}, max_age: 26h}\n"
                   "  - {name: shop-db, pve: {source: shop, vmid: 202}, max_age: 26h}\n")
        exp = Exporter(CONFIG.split("targets:")[0].format(timeout="10s", ttl="0s", pbs=pbs) + pve + targets)
        self.addCleanup(exp.close)
        body = self.scrape(exp)
        self.assertEqual([(l["storage"], l["pbs_source"], l["datastore"], l["namespace"])
                          for n, l, v in parse_metrics(body) if n == "persistence_pve_storage_pbs_info"],
                         [("shop-pbs", "pbs1", "store1", "")])
        self.assertEqual(value(body, "persistence_source_up", source="shop", kind="pve"), 1)
        self.assertNotIn(PVE_SECRET % "shop", exp.log_text())
        copies = {t: value(body, "persistence_target_copies", target=t) for t in ("shop-erp", "shop-db")}
        self.sim.control("POST", "/_sim/stats/reset")
        plain = Exporter("pve:\n" + pve_source_yaml(self.sim, "shop").format(secret_dir=self.dir) + targets)
        self.addCleanup(plain.close)
        body = plain.metrics()
        self.assertEqual(samples(body, "persistence_pve_storage_pbs_info"), [])
        self.assertNotIn("/pve/shop/api2/json/storage", self.sim.stats())
        # the PBS as a source adds no copy: shop-pbs and pbs1's store1 are one place
        self.assertEqual(copies, {"shop-erp": 1, "shop-db": 2})
        self.assertEqual({t: value(body, "persistence_target_copies", target=t) for t in copies}, copies)


class RestoreScenarioTest(PbsBase):
    """The `restore` scenario: the newest snapshot of shop's vm/204 failed verification."""
    scenario = "restore"

    def test_newest_failed_verification(self):
        exp = self.start()
        body = self.scrape(exp)
        self.assertEqual(value(body, "persistence_target_ok", target="shop-vm-204"), 0)
        self.assertEqual(value(body, "persistence_target_ok", target="shop-vm-200"), 1)
        reasons = {t["name"]: t for t in json.loads(exp.get("/status")[2])["targets"]}
        self.assertEqual(reasons["shop-vm-204"]["reason"], "newest backup failed verification")
        self.assertEqual(reasons["shop-vm-204"]["state"], "DEGRADED")
        # fresh but not restorable: policy_ok 0 and verify_failed 1 (BackupVerifyFailed, not
        # BackupTargetStale); vm/200 beside it passes
        self.assertEqual(value(body, "persistence_target_policy_ok", target="shop-vm-204"), 0)
        self.assertEqual(value(body, "persistence_target_verify_failed", target="shop-vm-204"), 1)
        self.assertEqual(value(body, "persistence_target_policy_ok", target="shop-vm-200"), 1)
        self.assertEqual(value(body, "persistence_target_verify_failed", target="shop-vm-200"), 0)
        self.assert_restorability(body)
        # the backup is fresh, and it is the one PBS lists: only its verification is wrong
        self.assertEqual(value(body, "persistence_target_last_backup_timestamp_seconds", target="shop-vm-204"),
                         value(body, "persistence_pbs_group_last_backup_timestamp_seconds", datastore="store1",
                               namespace="", backup_id="204"))
        self.assertEqual(value(body, "persistence_pbs_group_verify_failed_snapshots", datastore="store1",
                               namespace="", backup_id="204"), 2)
        self.assert_groups(body, self.expected_groups())


class HealthyTest(PbsBase):
    scenario = "healthy"

    def test_healthy(self):
        exp = self.start()
        body = self.scrape(exp)
        now = time.time()
        self.assertEqual(self.up(body), 1)
        for n, l, v in parse_metrics(body):
            if n in ("persistence_pbs_job_last_run_success", "persistence_pbs_gc_last_run_success",
                     "persistence_pbs_datastore_up"):
                self.assertEqual(v, 1, (n, l))
            if n in ("persistence_pbs_job_next_due_timestamp_seconds", "persistence_pbs_gc_next_due_timestamp_seconds"):
                # PBS starts a due job within its minute: a slot may have just passed, no more
                self.assertGreater(v, now - 120, (n, l))
            if n in ("persistence_pbs_group_verify_failed_snapshots", "persistence_pbs_gc_still_bad_chunks"):
                self.assertEqual(v, 0, l)
        self.assertGreater(now - value(body, "persistence_pbs_task_last_failure_timestamp_seconds",
                                       worker_type="backup"), 10 * DAY)
        self.assert_groups(body, self.expected_groups())
        ok = {n: l for n, l, v in parse_metrics(body) if n == "persistence_target_ok" and v == 1}
        self.assertEqual(len(samples(body, "persistence_target_ok")), 6)
        self.assertEqual(value(body, "persistence_target_ok", target="offsite-vm-200"), 1)
        self.assertEqual(value(body, "persistence_target_ok", target="shop-vm-204"), 1)
        self.assertEqual(value(body, "persistence_target_ok", target="gone-vm-999"), 0)
        self.assertTrue(ok)


class FailureTest(PbsBase):
    def test_401(self):
        exp = self.start(secret_file="wrong.token")
        body = self.scrape(exp)
        self.assertEqual(self.up(body), 0)
        self.assertEqual([n for n, l, v in parse_metrics(body) if n.startswith("persistence_pbs_")], [])
        self.assertTrue(self.log_lines(exp, "source down.*pbs1.*HTTP 401.*check token_id/secret"))
        self.assertEqual(value(body, "persistence_target_ok", target="shop-vm-200"), 0)
        reasons = {t["name"]: t["reason"] for t in json.loads(exp.get("/status")[2])["targets"]}
        self.assertTrue(reasons["shop-vm-200"].startswith("source pbs1 down"), reasons)

    def test_403_on_one_datastore(self):
        self.knobs(datastore="offsite", denied=True)
        exp = self.start()
        body = self.scrape(exp)
        self.assertEqual(self.up(body), 1)
        self.assertEqual(value(body, "persistence_pbs_datastore_up", datastore="offsite"), 0)
        self.assertEqual(value(body, "persistence_pbs_datastore_up", datastore="store1"), 1)
        for fam in ("size_bytes", "avail_bytes", "used_bytes", "estimated_full_timestamp_seconds"):
            self.assertEqual(samples(body, "persistence_pbs_datastore_" + fam, datastore="offsite"), [])
        self.assertEqual(samples(body, "persistence_pbs_gc_last_run_success", datastore="offsite"), [])
        self.assertEqual(self.groups(body, "offsite"), {})
        # store1 is whole: every group of every namespace, its GC, its jobs
        store1 = {k: g for k, g in self.expected_groups(("store1",)).items()}
        self.assertEqual(set(self.groups(body)), set(store1))
        self.assertEqual(value(body, "persistence_pbs_gc_still_bad_chunks", datastore="store1"), 1)
        # PBS drops the jobs of a store the token cannot see
        self.assertEqual({l["datastore"] for n, l, v in parse_metrics(body) if n == "persistence_pbs_job_info"},
                         {"store1"})
        denied = self.log_lines(exp, "level=warn.*PBS permission missing.*datastore=offsite.*Datastore.Audit")
        self.assertTrue(denied)
        self.assertEqual(len(denied), 1)   # one line for the store, not one per request
        reasons = {t["name"]: t["reason"] for t in json.loads(exp.get("/status")[2])["targets"]}
        self.assertRegex(reasons["offsite-vm-200"], r"^snapshots of offsite could not be read: .*HTTP 403")

    def test_5xx(self):
        self.sim.fault("/pbs/pbs1/api2/json/admin/datastore$", status=500)
        exp = self.start()
        body = self.scrape(exp)
        self.assertEqual(self.up(body), 0)
        self.assertEqual([n for n, l, v in parse_metrics(body) if n.startswith("persistence_pbs_")], [])
        self.assertTrue(self.log_lines(exp, "source down.*pbs1.*GET /admin/datastore: HTTP 500"))
        # a 500 on one snapshot listing costs that namespace only
        self.sim.clear_faults()
        self.sim.fault("/store1/snapshots\\?ns=site-b$", status=500)
        self.sim.fault("/status/datastore-usage", status=503)
        self.sim.fault("/admin/verify", status=500)
        body = self.scrape(exp)
        self.assertEqual(self.up(body), 1)
        got = self.groups(body)
        self.assertNotIn(("store1", "site-b", "vm", "100"), got)
        self.assertIn(("store1", "site-b/lab", "ct", "300"), got)
        self.assertIn(("store1", "", "vm", "200"), got)
        self.assertEqual(samples(body, "persistence_pbs_datastore_estimated_full_timestamp_seconds"), [])
        self.assertEqual(value(body, "persistence_pbs_datastore_up", datastore="store1"), 1)
        self.assertEqual(samples(body, "persistence_pbs_job_info", job_type="verify"), [])
        self.assertEqual(len(samples(body, "persistence_pbs_job_info", job_type="sync")), 3)
        self.assertTrue(self.log_lines(exp, "PBS request failed.*snapshots.*HTTP 500"))

    def test_malformed_json(self):
        exp = self.start()
        for body_kind, pattern in (("truncated", "invalid or truncated JSON near byte"),
                                   ("html", "HTML instead of JSON"), ("empty", "empty body"),
                                   ('{"data":{"store":"x"}}', "data is not an array")):
            self.sim.clear_faults()
            self.sim.fault("/pbs/pbs1/api2/json/admin/datastore$", body=body_kind)
            body = self.scrape(exp)
            self.assertEqual(self.up(body), 0, body_kind)
            self.assertEqual([n for n, l, v in parse_metrics(body) if n.startswith("persistence_pbs_")], [])
            self.assertTrue(self.log_lines(exp, "source down.*pbs1.*" + re.escape(pattern)), body_kind)
        # a truncated snapshot listing: that store's root groups are absent, nothing is half-counted
        self.sim.clear_faults()
        self.sim.fault("/store1/snapshots$", body="truncated")
        self.sim.fault("/admin/datastore/offsite/gc", body='{"data":[1,2]}')
        self.sim.fault("/admin/prune", body="{\"data\":[{\"id\":")
        body = self.scrape(exp)
        self.assertEqual(self.up(body), 1)
        got = self.groups(body)
        self.assertFalse([k for k in got if k[0] == "store1" and k[1] == ""])
        self.assertIn(("store1", "site-b", "vm", "100"), got)
        self.assertEqual(samples(body, "persistence_pbs_gc_last_run_success", datastore="offsite"), [])
        self.assertEqual(value(body, "persistence_pbs_gc_last_run_success", datastore="store1"), 1)
        self.assertEqual(samples(body, "persistence_pbs_job_info", job_type="prune"), [])
        self.assertTrue(self.log_lines(exp, "PBS request failed.*GET /admin/datastore/store1/snapshots: invalid"))
        self.assertTrue(self.log_lines(exp, "PBS request failed.*offsite/gc: data is not an object"))

    def test_timeout_one_slow_datastore(self):
        """store1 answers after 4 s, the scrape has 3 s: offsite is whole in every scrape, no scrape
        waits past its deadline, and store1 comes from the cache once its answers have arrived."""
        self.knobs(datastore="store1", delay=4)
        exp = self.start(timeout="3s")
        offsite = set(self.expected_groups(("offsite",)))
        t0 = time.monotonic()
        body = self.scrape(exp)
        self.assertLess(time.monotonic() - t0, 3.5)
        self.assertEqual(self.up(body), 1)
        self.assertEqual(value(body, "persistence_pbs_datastore_up", datastore="store1"), 0)
        self.assertEqual(value(body, "persistence_pbs_datastore_up", datastore="offsite"), 1)
        self.assertEqual(set(self.groups(body, "offsite")), offsite)
        self.assertEqual(self.groups(body, "store1"), {})
        self.assertEqual(len(samples(body, "persistence_pbs_job_info")), 7)
        self.assertTrue(self.log_lines(exp, "PBS request failed.*datastore=store1.*no answer before the scrape deadline"))
        self.assertEqual(value(body, "persistence_target_ok", target="shop-vm-200"), 0)
        self.assertEqual(samples(body, "persistence_target_last_backup_timestamp_seconds", target="shop-vm-200"), [])
        self.assertEqual(value(body, "persistence_target_ok", target="offsite-vm-200"), 0)   # stale, but read
        self.assertEqual(len(samples(body, "persistence_target_last_backup_timestamp_seconds",
                                     target="offsite-vm-200")), 1)
        # every later scrape: still within its deadline, offsite whole; store1 fills in from the cache
        # (the root listing first, the namespaces below it one scrape later: their listing is asked
        # for once the namespace list is known)
        store1 = set(self.expected_groups(("store1",)))
        end = time.monotonic() + 60
        while True:
            time.sleep(1)
            t0 = time.monotonic()
            body = self.scrape(exp)
            self.assertLess(time.monotonic() - t0, 3.5)
            self.assertEqual(set(self.groups(body, "offsite")), offsite)
            if set(self.groups(body, "store1")) == store1:
                break
            self.assertLess(time.monotonic(), end, "store1 never came from the cache")
        self.assertEqual(value(body, "persistence_pbs_datastore_up", datastore="store1"), 1)
        self.assertEqual(value(body, "persistence_pbs_gc_last_run_success", datastore="store1"), 1)
        self.assertEqual(value(body, "persistence_target_ok", target="shop-vm-200"), 1)

    def test_pbs_before_3_3(self):
        self.knobs(version="3.2")
        exp = self.start()
        body = self.scrape(exp)
        # no sync-direction (a 400 on 3.2): the pull jobs are there, the push job is not listed
        self.assertEqual({l["job_id"] for n, l, v in parse_metrics(body)
                          if n == "persistence_pbs_job_info" and l["job_type"] == "sync"},
                         {"s-siteb-pull", "s-offsite"})
        self.assertEqual(self.log_lines(exp, "level=warn.*PBS"), [])

    def test_selection(self):
        def exporter(extra):
            pbs = pbs_source_yaml(self.sim, extra=extra).format(secret_dir=self.dir)
            exp = Exporter(CONFIG.split("targets:")[0].format(timeout="10s", ttl="0s", pbs=pbs))
            self.addCleanup(exp.close)
            return exp

        body = self.scrape(exporter('    datastores: [store1]\n    namespaces: ["", site-b]\n'))
        self.assertEqual({l["datastore"] for n, l, v in parse_metrics(body) if n == "persistence_pbs_datastore_up"},
                         {"store1"})
        self.assertEqual({k[1] for k in self.groups(body)}, {"", "site-b", "site-b/lab"})
        self.assertEqual({l["datastore"] for n, l, v in parse_metrics(body) if n == "persistence_pbs_job_info"},
                         {"store1"})
        self.sim.control("POST", "/_sim/stats/reset")
        exp = exporter("    datastores: [offsite, nope]\n    namespaces: [site-b]\n")
        body = self.scrape(exp)
        self.assertEqual(value(body, "persistence_pbs_datastore_up", datastore="nope"), 0)
        self.assertEqual(value(body, "persistence_pbs_datastore_up", datastore="offsite"), 1)
        self.assertEqual(self.groups(body), {})   # offsite has no site-b namespace
        stats = self.sim.stats()
        self.assertNotIn(API + "/admin/datastore/store1/status", stats)
        self.assertNotIn(API + "/admin/datastore/offsite/snapshots", stats)
        self.assertTrue(self.log_lines(exp, "PBS does not list this datastore.*datastore=nope"))


class TlsTest(unittest.TestCase):
    """A PBS behind TLS with its own self-signed certificate, as PBS installs itself: trusted when
    its fingerprint is pinned or its certificate is the ca_file, refused by default and on a
    wrong pin, and then before any request (the token never reaches an unverified server)."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="pe-pbs-tls-")
        cls.cert, key = os.path.join(cls.dir, "pbs.crt"), os.path.join(cls.dir, "pbs.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", cls.cert], check=True, capture_output=True)
        out = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", cls.cert],
                             check=True, capture_output=True, text=True).stdout
        cls.fingerprint = out.strip().split("=", 1)[1]            # AB:CD:... as PBS shows it
        write_secret(cls.dir, "pbs1.token", PBS_SECRET % "pbs1")
        cls.sim = Sim("incident", extra=("--tls-cert", cls.cert, "--tls-key", key))
        cls.https = types.SimpleNamespace(url="https://127.0.0.1:%d" % cls.sim.port)
        cls.ctx = ssl.create_default_context(cafile=cls.cert)

    @classmethod
    def tearDownClass(cls):
        cls.sim.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def sim_control(self, method, path):
        req = urllib.request.Request(self.https.url + path, method=method)
        with urllib.request.urlopen(req, timeout=10, context=self.ctx) as r:
            raw = r.read()
        return json.loads(raw) if raw.strip() else None

    def scrape_with(self, tls):
        """source_up, the store1 groups published, the PBS requests the simulator answered, the log."""
        self.sim_control("POST", "/_sim/stats/reset")
        pbs = pbs_source_yaml(self.https).format(secret_dir=self.dir) + ("    tls: %s\n" % tls if tls else "")
        with Exporter(CONFIG.split("targets:")[0].format(timeout="10s", ttl="0s", pbs=pbs)) as exp:
            body = exp.metrics()
            log = exp.log_text()
        self.assertNotIn(PBS_SECRET % "pbs1", body + log)
        groups = samples(body, "persistence_pbs_group_snapshots", datastore="store1")
        asked = [p for p in self.sim_control("GET", "/_sim/stats") if p.startswith(API)]
        return value(body, "persistence_source_up", source="pbs1", kind="pbs"), len(groups), asked, log

    def test_fingerprint_pinned(self):
        for fp in (self.fingerprint, self.fingerprint.lower()):   # as openssl and as PBS print it
            up, groups, asked, log = self.scrape_with('{fingerprint: "%s"}' % fp)
            self.assertEqual(up, 1, log)
            self.assertGreater(groups, 10)

    def test_ca_file(self):
        up, groups, asked, log = self.scrape_with("{ca_file: %s}" % self.cert)
        self.assertEqual(up, 1, log)
        self.assertGreater(groups, 10)

    def test_unverified_gets_nothing(self):
        wrong = ":".join(["AB"] * 32)
        for tls in ('{fingerprint: "%s"}' % wrong, None):
            up, groups, asked, log = self.scrape_with(tls)
            self.assertEqual(up, 0, tls)
            self.assertEqual(groups, 0)
            self.assertEqual(asked, [], tls)   # refused during the handshake: no request, no token sent
            self.assertRegex(log, r"(?i)source down.*pbs1.*(fingerprint|certificate)")


if __name__ == "__main__":
    unittest.main()
