"""Restorability end to end: the real exporter against the simulator's `restore` scenario and dump folders
with vzdump logs (finished, failed, cut off, missing). Every new metric and each DEGRADED reason."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
import urllib.request

from harness import (CTL, EXPORTER, PVE_SECRET, ROOT, Exporter, Sim, promtool_check, samples, value,
                     write_secret)

HOUR = 3600
DAY = 86400
FAKE_DUMP = os.path.join(ROOT, "tests", "sim", "fake_dump.py")

CONFIG = """global:
  scrape_timeout: 10s
  cache_ttl: 0s
pve:
  - name: shop
    url: {url}/pve/shop
    token_id: "monitor@pve!exporter"
    token_secret_file: {dir}/shop.token
    timeout: 5s
    storages:
      shop-pbs: {{location: onsite}}
      local: {{location: onsite, immutable: false}}
mounts:
  - {{name: nas, path: {nas}, fstype: nfs4, timeout: 3s, dump_dir: dump, timezone: UTC}}
  - {{name: usb, path: {usb}, fstype: nfs4, timeout: 3s, dump_dir: dump, timezone: UTC, location: offsite}}
targets:
  - {{name: shop-mail, pve: {{source: shop, vmid: 204}}, max_age: 26h}}
  - {{name: shop-wiki, pve: {{source: shop, vmid: 208}}, max_age: 26h, max_verify_age: 7d}}
  - {{name: shop-erp, pve: {{source: shop, vmid: 205}}, max_age: 26h, min_copies: 2}}
  - {{name: shop-db, pve: {{source: shop, vmid: 202}}, max_age: 26h, min_copies: 2}}
  - {{name: shop-web, pve: {{source: shop, vmid: 200}}, max_age: 26h, require_offsite: true}}
  - {{name: shop-files, pve: {{source: shop, vmid: 206}}, max_age: 26h}}
  - {{name: nas-100, mount: {{source: nas, vmid: 100}}, max_age: 26h, min_copies: 2, require_offsite: true}}
  - {{name: nas-101, mount: {{source: nas, vmid: 101}}, max_age: 26h}}
  - {{name: nas-102, mount: {{source: nas, vmid: 102}}, max_age: 26h}}
  - {{name: nas-103, mount: {{source: nas, vmid: 103}}, max_age: 26h}}
"""

REASONS = {
    "shop-mail": r"newest backup failed verification",
    "shop-wiki": r"newest verified backup (8d 23h|9d|9d 0h) old, max 7d",
    "shop-erp": r"1 copy, policy wants 2",
    "shop-web": r"no offsite copy",
    "nas-101": r"newest backup's log reports an error: Backup of VM 101 failed - unable to set protected flag",
    "nas-102": r"newest backup's log does not show it finished",
}
OK = {"shop-db", "shop-files", "nas-100", "nas-103"}


def mountinfo(paths):
    lines = ["22 1 253:0 / / rw,relatime shared:1 - ext4 /dev/mapper/pve-root rw"]
    for i, p in enumerate(paths):
        lines.append("%d 22 0:%d / %s rw,relatime shared:%d - nfs4 nas.lan:/volume1/pve%d rw,vers=4.1"
                     % (900 + i, 80 + i, p, 400 + i, i))
    return "\n".join(lines) + "\n"


class RestoreTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("restore")
        cls.dir = tempfile.mkdtemp(prefix="pe-restore-")
        try:
            write_secret(cls.dir, "shop.token", PVE_SECRET % "shop")
            cls.nas, cls.usb = os.path.join(cls.dir, "nas"), os.path.join(cls.dir, "usb")
            dump = [sys.executable, FAKE_DUMP, "--guests", "4", "--first-vmid", "100", "--per-guest", "3",
                    "--lxc-vmids", "", "--stale-vmids", "", "--fresh-hours", "2", "--timezone", "UTC",
                    "--failed-log-vmids", "101", "--truncated-log-vmids", "102", "--missing-log-vmids", "103"]
            subprocess.run(dump + ["--out", os.path.join(cls.nas, "dump")], check=True, stdout=subprocess.DEVNULL)
            subprocess.run([sys.executable, FAKE_DUMP, "--guests", "1", "--first-vmid", "100", "--per-guest", "2",
                            "--lxc-vmids", "", "--stale-vmids", "", "--fresh-hours", "5", "--timezone", "UTC",
                            "--out", os.path.join(cls.usb, "dump")], check=True, stdout=subprocess.DEVNULL)
            proc = os.path.join(cls.dir, "proc", "self")
            os.makedirs(proc)
            with open(os.path.join(proc, "mountinfo"), "w") as f:
                f.write(mountinfo([cls.nas, cls.usb]))
            cls.config = CONFIG.format(url=cls.sim.url, dir=cls.dir, nas=cls.nas, usb=cls.usb)
            cls.exp = Exporter(cls.config, ["--path.procfs=" + os.path.join(cls.dir, "proc")])
        except BaseException:
            cls.sim.close()
            shutil.rmtree(cls.dir, ignore_errors=True)
            raise
        cls.text = cls.exp.metrics()

    @classmethod
    def tearDownClass(cls):
        cls.exp.close()
        cls.sim.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def listing(self):
        """What the simulated PVE lists: {vmid: [(storage, item)]}, local storages of both nodes merged."""
        out = {}
        for node, sid in (("shop1", "shop-pbs"), ("shop1", "local"), ("shop2", "local")):
            req = urllib.request.Request(
                "%s/pve/shop/api2/json/nodes/%s/storage/%s/content?content=backup" % (self.sim.url, node, sid),
                headers={"Authorization": "PVEAPIToken=monitor@pve!exporter=" + PVE_SECRET % "shop"})
            with urllib.request.urlopen(req, timeout=10) as r:
                data = json.loads(r.read())["data"]
            for item in data:
                out.setdefault(item["vmid"], []).append((sid, item))
        return out

    def test_metrics_are_valid(self):
        promtool_check(self.text)
        self.assertEqual(value(self.text, "persistence_source_up", source="shop", kind="pve"), 1)

    def test_per_guest_and_storage(self):
        for vmid, items in self.listing().items():
            for sid in {s for s, _ in items}:
                mine = [i for s, i in items if s == sid]
                self.assertEqual(value(self.text, "persistence_pve_guest_storage_backups", source="shop",
                                       vmid=vmid, storage=sid), len(mine), (vmid, sid))
                self.assertEqual(value(self.text, "persistence_pve_guest_storage_last_backup_timestamp_seconds",
                                       source="shop", vmid=vmid, storage=sid), max(i["ctime"] for i in mine))
        # postgres is on two storages, every other guest on the PBS only
        self.assertEqual(len(samples(self.text, "persistence_pve_guest_storage_backups", vmid="202")), 2)
        self.assertEqual(len(samples(self.text, "persistence_pve_guest_storage_backups", vmid="205")), 1)

    def test_verification_protected_encrypted(self):
        for vmid, items in self.listing().items():
            pbs = [i for s, i in items if s == "shop-pbs"]
            newest = max((i for _, i in items), key=lambda i: (i["ctime"], i.get("verification", {}).get("state") == "failed"))
            ok = [i for i in pbs if i.get("verification", {}).get("state") == "ok"]
            failed = [i for i in pbs if i.get("verification", {}).get("state") == "failed"]
            self.assertEqual(value(self.text, "persistence_pve_guest_verify_failed_backups", source="shop",
                                   vmid=vmid), len(failed), vmid)
            if ok:
                best = max(ok, key=lambda i: i["ctime"])
                self.assertEqual(value(self.text, "persistence_pve_guest_last_verified_backup_timestamp_seconds",
                                       source="shop", vmid=vmid), best["ctime"], vmid)
                start = int(best["verification"]["upid"].split(":")[5], 16)
                self.assertEqual(value(self.text, "persistence_pve_guest_last_verify_timestamp_seconds",
                                       source="shop", vmid=vmid), start, vmid)
            else:
                self.assertEqual(samples(self.text, "persistence_pve_guest_last_verified_backup_timestamp_seconds",
                                         vmid=vmid), [])
            self.assertEqual(value(self.text, "persistence_pve_guest_last_backup_protected", source="shop",
                                   vmid=vmid), 1 if newest.get("protected") else 0, vmid)
            enc = samples(self.text, "persistence_pve_guest_last_backup_encrypted", source="shop", vmid=vmid)
            self.assertEqual(enc, [1.0 if newest.get("encrypted") else 0.0] if newest["format"].startswith("pbs-")
                             else [], vmid)
        # the scenario's own facts, stated plainly
        self.assertEqual(value(self.text, "persistence_pve_guest_last_backup_encrypted", vmid="206"), 1)
        self.assertEqual(value(self.text, "persistence_pve_guest_last_backup_protected", vmid="205"), 1)
        self.assertGreaterEqual(value(self.text, "persistence_pve_guest_verify_failed_backups", vmid="204"), 1)
        # postgres's newest archive is on `local` (every 6 h): PVE says nothing about encryption there
        self.assertEqual(samples(self.text, "persistence_pve_guest_last_backup_encrypted", vmid="202"), [])
        self.assertEqual(value(self.text, "persistence_pve_guest_last_backup_encrypted", vmid="200"), 0)

    def test_vzdump_logs(self):
        self.assertEqual(value(self.text, "persistence_mount_archive_last_log_ok", source="nas", vmid="100"), 1)
        self.assertEqual(value(self.text, "persistence_mount_archive_last_log_ok", source="nas", vmid="101"), 0)
        self.assertEqual(value(self.text, "persistence_mount_archive_last_log_ok", source="nas", vmid="102"), 0)
        self.assertEqual(samples(self.text, "persistence_mount_archive_last_log_ok", source="nas", vmid="103"), [])
        self.assertEqual(value(self.text, "persistence_mount_archive_last_log_ok", source="usb", vmid="100"), 1)

    def test_target_metrics(self):
        t = self.text
        self.assertEqual(value(t, "persistence_target_verify_failed", target="shop-mail"), 1)
        self.assertEqual(value(t, "persistence_target_policy_ok", target="shop-mail"), 0)
        self.assertEqual(value(t, "persistence_target_ok", target="shop-mail"), 0)
        self.assertEqual(value(t, "persistence_target_max_verify_age_seconds", target="shop-wiki"), 7 * DAY)
        self.assertAlmostEqual(value(t, "persistence_target_last_verified_timestamp_seconds", target="shop-wiki"),
                               value(t, "persistence_pve_guest_last_verified_backup_timestamp_seconds", vmid="208"))
        self.assertEqual(value(t, "persistence_target_copies", target="shop-erp"), 1)
        self.assertEqual(value(t, "persistence_target_min_copies", target="shop-erp"), 2)
        self.assertEqual(value(t, "persistence_target_copies", target="shop-db"), 2)
        self.assertEqual(value(t, "persistence_target_policy_ok", target="shop-db"), 1)
        self.assertEqual(value(t, "persistence_target_offsite_copies", target="shop-web"), 0)
        self.assertEqual(value(t, "persistence_target_require_offsite", target="shop-web"), 1)
        self.assertEqual(value(t, "persistence_target_copies", target="nas-100"), 2)
        self.assertEqual(value(t, "persistence_target_offsite_copies", target="nas-100"), 1)
        self.assertEqual(value(t, "persistence_target_copies", target="nas-101"), 0)  # its newest log failed
        self.assertEqual(samples(t, "persistence_target_verify_failed", target="nas-100"), [])
        self.assertEqual(samples(t, "persistence_target_max_verify_age_seconds", target="shop-mail"), [])

    def test_degraded_reasons(self):
        status, _, body = self.exp.get("/status")
        self.assertEqual(status, 200)
        targets = {t["name"]: t for t in json.loads(body)["targets"]}
        for name, pattern in REASONS.items():
            self.assertEqual(targets[name]["state"], "DEGRADED", name)
            self.assertRegex(targets[name]["reason"], "^" + pattern, name)
        for name in OK:
            self.assertEqual(targets[name]["state"], "OK", (name, targets[name]["reason"]))
        r = targets["nas-100"]["restorability"]
        self.assertEqual((r["copies"], r["offsite_copies"], r["min_copies"], r["require_offsite"]), (2, 1, 2, True))
        self.assertEqual({p["name"]: p["location"] for p in r["places"]}, {"nas": "onsite", "usb": "offsite"})
        self.assertIs(targets["shop-files"]["restorability"]["verify_failed"], False)  # on the PBS, none failed
        self.assertIsNone(targets["nas-100"]["restorability"]["verify_failed"])  # a mount verifies nothing

    def test_page_and_persistencectl(self):
        status, _, page = self.exp.get("/")
        self.assertEqual(status, 200)
        self.assertIn("2 copies, 1 offsite", page)
        self.assertIn("newest backup failed verification", page)
        p = subprocess.run([CTL, "status", "--config.file=" + self.exp.config_path,
                            "--path.procfs=" + os.path.join(self.dir, "proc")],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("COPIES", p.stdout)
        self.assertRegex(p.stdout, r"shop-erp .*DEGRADED .*1 copy, 0 offsite .*1 copy, policy wants 2")
        self.assertRegex(p.stdout, r"nas-102 .*DEGRADED .*newest backup's log does not show it finished")


class ConfigCheckTest(unittest.TestCase):
    """--config.check reports every bad restorability key with file:line:col and exits 1."""

    def test_bad_keys(self):
        d = tempfile.mkdtemp(prefix="pe-restore-cfg-")
        self.addCleanup(shutil.rmtree, d, True)
        write_secret(d, "t.token", "x")
        path = os.path.join(d, "config.yml")
        with open(path, "w") as f:
            f.write("global:\n  policy: {min_copies: 0}\n"
                    "pve:\n  - name: home\n    url: https://pve.lan:8006\n    token_id: a@pve!b\n"
                    "    token_secret_file: t.token\n    storages: {nfs: {location: elsewhere}}\n"
                    "mounts:\n  - {name: usb, path: /mnt/usb, location: 3}\n"
                    "targets:\n  - {name: a, mount: {source: usb, vmid: 100}, max_age: 26h, max_verify_age: 7d}\n")
        p = subprocess.run([EXPORTER, "--config.file=" + path, "--config.check"], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        out = p.stdout + p.stderr
        for want in (path + ":2:24: global.policy.min_copies: invalid min_copies \"0\"",
                     path + ":8:32: pve[0].storages.nfs.location: invalid location \"elsewhere\"",
                     path + ":10:43: mounts[0].location: invalid location \"3\"",
                     path + ":12:78: targets[0].max_verify_age: max_verify_age does not apply to mount targets"):
            self.assertIn(want, out)


if __name__ == "__main__":
    unittest.main()
