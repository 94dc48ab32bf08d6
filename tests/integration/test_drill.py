"""persistencectl restore-test against the simulator: exact call sequences, isolation, every failure mode,
nothing left behind, the state file, file and n8n drills, dry runs that send nothing."""
import gzip
import io
import json
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
import unittest

from harness import CTL, PVE_SECRET, ROOT, Exporter, Sim, promtool_check, samples, value, wait_for, write_secret

DRILL_ID = "drill@pve!drill"
DRILL_SECRET = "sim-drill-secret-%s"

CONFIG = """global:
  cache_ttl: 0s
  drill_state_file: {dir}/drills.jsonl
pve:
  - name: home
    url: {url}/pve/home
    token_id: "monitor@pve!exporter"
    token_secret_file: {dir}/home.token
    timeout: 5s
    drill:
      token_id: "drill@pve!drill"
      token_secret_file: {dir}/home-drill.token
      vmid_range: [9900, 9909]
      storage: local-lvm
      pool: drill
      boot_timeout: {boot}
      restore_timeout: {restore}
  - name: shop
    url: {url}/pve/shop
    token_id: "monitor@pve!exporter"
    token_secret_file: {dir}/shop.token
    timeout: 5s
    drill: {{token_id: "drill@pve!drill", token_secret_file: {dir}/shop-drill.token, vmid_range: [9900, 9909],
            storage: local-zfs, pool: drill}}
  - name: nodrill
    url: {url}/pve/home
    token_id: "monitor@pve!exporter"
    token_secret_file: {dir}/home.token
n8n:
  - {{name: app, url: {url}/n8n/app, api_key_file: {dir}/n8n.key, snapshots: {dir}/n8n-snapshots}}
mounts:
  - {{name: nfs, path: /, dump_dir: tmp}}
targets:
  - {{name: home-vm-100, pve: {{source: home, vmid: 100}}, max_age: 26h, max_restore_test_age: 30d, rto: 2h}}
  - {{name: home-ct-105, pve: {{source: home, vmid: 105}}, max_age: 26h}}
  - {{name: shop-vm-200, pve: {{source: shop, vmid: 200}}, max_age: 26h}}
  - {{name: no-drill, pve: {{source: nodrill, vmid: 100}}, max_age: 26h}}
  - {{name: db-dumps, file: {{path: "{dir}/dumps/*.tar.gz"}}, max_age: 26h}}
  - {{name: n8n-app, n8n: {{source: app}}, max_age: 26h}}
  - {{name: nfs-100, mount: {{source: nfs, vmid: 100}}, max_age: 26h}}
"""


def compress_runs(seq):
    """Consecutive agent pings collapse into one (how many depends on timing)."""
    out = []
    for item in seq:
        if not (out and out[-1] == item and item.endswith("/agent/ping")):
            out.append(item)
    return out


class DrillTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("incident", extra=("--restore-seconds", "0.6", "--boot-seconds", "0.5"))
        cls.dir = tempfile.mkdtemp(prefix="pe-drill-")
        for cluster in ("home", "shop"):
            write_secret(cls.dir, "%s.token" % cluster, PVE_SECRET % cluster)
            write_secret(cls.dir, "%s-drill.token" % cluster, DRILL_SECRET % cluster)
        write_secret(cls.dir, "n8n.key", "sim-n8n-key-app")
        os.makedirs(os.path.join(cls.dir, "dumps"))
        os.makedirs(os.path.join(cls.dir, "n8n-snapshots"))

    @classmethod
    def tearDownClass(cls):
        cls.sim.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        self.sim.scenario("incident")
        self.sim.control("POST", "/_sim/drill", {"cluster": "home", "step_seconds": 0.1})
        self.sim.control("POST", "/_sim/drill", {"cluster": "shop", "step_seconds": 0.1})
        self.sim.control("POST", "/_sim/stats/reset")
        self.state = os.path.join(self.dir, "drills.jsonl")
        if os.path.exists(self.state):
            os.unlink(self.state)

    # ----- helpers -----
    def config(self, boot="20s", restore="20s"):
        path = os.path.join(self.dir, "config-%s-%s.yml" % (boot, restore))
        with open(path, "w") as f:
            f.write(CONFIG.format(url=self.sim.url, dir=self.dir, boot=boot, restore=restore))
        return path

    def cmd(self, target, *args, config=None):
        return [CTL, "restore-test", "--config.file=" + (config or self.config()), "--target=" + target,
                "--poll-interval=100ms"] + list(args)

    def check_secrets(self, text):
        for secret in (PVE_SECRET % "home", PVE_SECRET % "shop", DRILL_SECRET % "home", DRILL_SECRET % "shop"):
            self.assertNotIn(secret, text)

    def ctl(self, target, *args, config=None, timeout=120):
        p = subprocess.run(self.cmd(target, *args, config=config), capture_output=True, text=True, timeout=timeout)
        self.check_secrets(p.stdout + p.stderr)
        return p

    def mutations(self, cluster="home"):
        prefix = "/pve/%s/api2/json" % cluster
        return [m for m in self.sim.control("GET", "/_sim/mutations") if m["path"].startswith(prefix)]

    def calls(self, cluster="home"):
        prefix = "/pve/%s/api2/json" % cluster
        return compress_runs(["%s %s" % (m["method"], m["path"][len(prefix):]) for m in self.mutations(cluster)])

    def report(self, cluster="home"):
        return self.sim.control("GET", "/_sim/drill?cluster=" + cluster)

    def assert_nothing_left(self, cluster="home"):
        rep = self.report(cluster)
        self.assertEqual(rep["scratch"], [], "scratch guests left on %s" % cluster)
        self.assertEqual(rep["violations"], [], "a netN was up while a guest ran")
        vms = [g for g in self.pve_get(cluster, "/cluster/resources?type=vm") if 9900 <= g["vmid"] <= 9909]
        self.assertEqual(vms, [])

    def pve_get(self, cluster, sub):
        import urllib.request
        req = urllib.request.Request(self.sim.url + "/pve/%s/api2/json%s" % (cluster, sub),
                                     headers={"Authorization": "PVEAPIToken=monitor@pve!exporter=%s"
                                              % (PVE_SECRET % cluster)})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())["data"]

    def records(self):
        if not os.path.exists(self.state):
            return []
        with open(self.state) as f:
            return [json.loads(line) for line in f]

    def newest_volid(self, cluster, node, sid, vmid):
        items = self.pve_get(cluster, "/nodes/%s/storage/%s/content?content=backup&vmid=%d" % (node, sid, vmid))
        return max(items, key=lambda a: a["ctime"])["volid"]

    # ----- dry runs -----
    def test_dry_run_sends_no_post_put_or_delete(self):
        for target in ("home-vm-100", "home-ct-105", "shop-vm-200"):
            p = self.ctl(target, "--boot")
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertIn("dry run, nothing is changed", p.stdout)
            self.assertIn("plan (dry run: nothing below is sent; add --execute):", p.stdout)
        methods = {k.split(" ")[0] for k in self.sim.control("GET", "/_sim/stats?by=method")}
        self.assertEqual(methods, {"GET"})
        self.assertEqual(self.sim.control("GET", "/_sim/mutations"), [])
        self.assertEqual(self.records(), [])          # a dry run records nothing
        for target in ("db-dumps", "n8n-app"):
            p = self.ctl(target)
            self.assertEqual(p.returncode, 0 if target == "n8n-app" else 1, p.stdout + p.stderr)
        self.assertEqual(self.records(), [])

    def test_dry_run_plan(self):
        volid = self.newest_volid("home", "pve1", "synology-backups", 100)
        p = self.ctl("home-vm-100", "--boot")
        out = p.stdout
        self.assertIn("       -> qemu 100 \"vaultwarden\" on node pve1\n", out)
        self.assertIn("       -> newest: %s (" % volid, out)
        self.assertIn("GET    /cluster/nextid?vmid=9900   [drill token drill@pve!drill]\n       -> 9900 is free", out)
        steps = [l.split()[1] + " " + l.split()[2] for l in out.splitlines() if l[:5].strip().rstrip(".").isdigit()]
        self.assertEqual(steps, ["POST /nodes/pve1/qemu", "POST /nodes/pve1/qemu", "GET /nodes/pve1/tasks/<upid>/status",
                                 "GET /nodes/pve1/qemu/9900/config", "PUT /nodes/pve1/qemu/9900/config",
                                 "GET /nodes/pve1/qemu/9900/config", "POST /nodes/pve1/qemu/9900/status/start,",
                                 "POST /nodes/pve1/qemu/9900/status/resume", "POST .../agent/ping",
                                 "POST /nodes/pve1/qemu/9900/status/stop", "append the"])
        self.assertIn("archive=%s force=1 storage=local-lvm pool=drill unique=1 onboot=0 protection=0 "
                      "name=drill-home-100 description=\"persistence_exporter restore drill of target home-vm-100"
                      % volid, out)
        self.assertIn("every netN with link_down=1, freeze=1, digest", out)
        self.assertIn("DELETE /nodes/pve1/qemu/9900?purge=1&destroy-unreferenced-disks=1", out)

    # ----- the exact sequences -----
    def test_qemu_drill_exact_sequence(self):
        volid = self.newest_volid("home", "pve1", "synology-backups", 100)
        p = self.ctl("home-vm-100", "--boot", "--execute")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(self.calls(), [
            "POST /nodes/pve1/qemu",                      # the empty placeholder in the pool
            "POST /nodes/pve1/qemu",                      # the restore over it
            "PUT /nodes/pve1/qemu/9900/config",           # every netN down, frozen
            "POST /nodes/pve1/qemu/9900/status/start",
            "POST /nodes/pve1/qemu/9900/status/resume",
            "POST /nodes/pve1/qemu/9900/agent/ping",
            "POST /nodes/pve1/qemu/9900/status/stop",
            "DELETE /nodes/pve1/qemu/9900"])
        muts = self.mutations()
        self.assertEqual({m["token"] for m in muts}, {DRILL_ID})
        placeholder, restore, put = muts[0]["form"], muts[1]["form"], muts[2]["form"]
        self.assertEqual(placeholder["pool"], "drill")
        self.assertNotIn("archive", placeholder)
        self.assertEqual({k: restore[k] for k in ("vmid", "archive", "force", "storage", "pool", "unique", "onboot",
                                                  "protection", "name")},
                         {"vmid": "9900", "archive": volid, "force": "1", "storage": "local-lvm", "pool": "drill",
                          "unique": "1", "onboot": "0", "protection": "0", "name": "drill-home-100"})
        self.assertTrue(restore["description"].startswith("persistence_exporter restore drill of target home-vm-100"))
        self.assertEqual(sorted(put), ["digest", "freeze", "net0", "net1"])
        self.assertTrue(put["net0"].endswith(",link_down=1") and put["net1"].endswith(",link_down=1"))
        self.assertEqual(put["freeze"], "1")
        self.assertEqual(muts[-1]["query"], {"purge": "1", "destroy-unreferenced-disks": "1"})
        # the isolation was read back before the start
        journal = self.sim.control("GET", "/_sim/requests")
        put_at = journal.index("PUT /pve/home/api2/json/nodes/pve1/qemu/9900/config")
        start_at = journal.index("POST /pve/home/api2/json/nodes/pve1/qemu/9900/status/start")
        self.assertIn("GET /pve/home/api2/json/nodes/pve1/qemu/9900/config", journal[put_at:start_at])
        self.assert_nothing_left()
        rec = self.records()
        self.assertEqual(len(rec), 1)
        self.assertEqual((rec[0]["target"], rec[0]["kind"], rec[0]["archive"], rec[0]["result"], rec[0]["reason"]),
                         ("home-vm-100", "pve", volid, "ok", ""))
        self.assertGreater(rec[0]["restore_seconds"], 0.5)
        self.assertGreater(rec[0]["boot_seconds"], 0.4)
        self.assertLessEqual(rec[0]["started"], rec[0]["finished"])
        self.assertIn("restore test of home-vm-100: OK (restore ", p.stdout)
        # one audit line per mutation, with the drill token's id
        audits = [l for l in p.stderr.splitlines() if "msg=audit" in l]
        self.assertEqual(len(audits), len(muts) - len([m for m in muts if m["path"].endswith("/agent/ping")]))
        self.assertTrue(all("who=drill@pve!drill" in l for l in audits))

    def test_lxc_drill_exact_sequence(self):
        volid = self.newest_volid("home", "pve2", "synology-backups", 105)
        p = self.ctl("home-ct-105", "--boot", "--execute")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(self.calls(), [
            "POST /nodes/pve2/lxc",
            "PUT /nodes/pve2/lxc/9900/config",
            "POST /nodes/pve2/lxc/9900/status/start",
            "POST /nodes/pve2/lxc/9900/status/stop",
            "DELETE /nodes/pve2/lxc/9900"])
        muts = self.mutations()
        self.assertEqual((muts[0]["form"]["ostemplate"], muts[0]["form"]["restore"], muts[0]["form"]["hostname"]),
                         (volid, "1", "drill-home-105"))
        self.assertNotIn("force", muts[0]["form"])
        self.assertTrue(muts[1]["form"]["net0"].endswith(",link_down=1"))
        self.assertNotIn("freeze", muts[1]["form"])
        self.assertEqual(muts[-1]["query"], {"purge": "1", "destroy-unreferenced-disks": "1", "force": "1"})
        self.assert_nothing_left()
        self.assertEqual(self.records()[0]["result"], "ok")

    def test_pbs_snapshot_drill(self):
        volid = self.newest_volid("shop", "shop1", "shop-pbs", 200)
        self.assertRegex(volid, r"^shop-pbs:backup/vm/200/")
        p = self.ctl("shop-vm-200", "--execute")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        restore = self.mutations("shop")[1]["form"]
        self.assertEqual((restore["archive"], restore["storage"]), (volid, "local-zfs"))
        self.assertEqual(self.calls("shop"), ["POST /nodes/shop1/qemu", "POST /nodes/shop1/qemu",
                                              "PUT /nodes/shop1/qemu/9900/config", "DELETE /nodes/shop1/qemu/9900"])
        self.assert_nothing_left("shop")
        rec = self.records()[0]
        self.assertEqual((rec["archive"], rec["result"], rec["boot_seconds"]), (volid, "ok", None))

    # ----- failure modes: each is recorded, and leaves nothing -----
    def failed_drill(self, target, knobs, *args, config=None, reason=None, rc=1):
        self.sim.control("POST", "/_sim/drill", dict(knobs, cluster="home"))
        p = self.ctl(target, "--execute", *args, config=config)
        self.assertEqual(p.returncode, rc, p.stdout + p.stderr)
        self.assert_nothing_left()
        rec = self.records()[-1]
        self.assertEqual(rec["result"], "failed")
        if reason:
            self.assertIn(reason, rec["reason"])
        return p, rec

    def test_restore_task_fails(self):
        p, rec = self.failed_drill("home-vm-100", {"restores": ["fail"]}, "--boot",
                                   reason="restore task failed: command 'set -o pipefail")
        self.assertIn("the restore task failed", p.stderr)
        self.assertIn("  | zstd: error 70 : Write error : cannot write block : Broken pipe", p.stderr)
        self.assertIn("  | TASK ERROR: command", p.stderr)
        self.assertEqual((rec["restore_seconds"], rec["boot_seconds"]), (None, None))
        self.assertEqual(self.calls()[-1], "DELETE /nodes/pve1/qemu/9900")
        self.assertNotIn("POST /nodes/pve1/qemu/9900/status/start", self.calls())
        p, rec = self.failed_drill("home-ct-105", {"restores": ["fail"]}, reason="restore task failed: unable to restore CT")

    def test_restore_slower_than_the_timeout_is_aborted(self):
        p, rec = self.failed_drill("home-vm-100", {"restores": ["slow"]}, "--boot",
                                   config=self.config(restore="2s"), reason="restore did not end within 2s: aborted")
        calls = self.calls()
        self.assertEqual(calls[:2], ["POST /nodes/pve1/qemu", "POST /nodes/pve1/qemu"])
        self.assertTrue(calls[2].startswith("DELETE /nodes/pve1/tasks/UPID:pve1:"), calls)
        self.assertEqual(calls[3:], ["DELETE /nodes/pve1/qemu/9900"])
        self.assertIn("-> the restore task ended: received interrupt", p.stdout)

    def test_agent_never_answers(self):
        p, rec = self.failed_drill("home-vm-100", {"agent_silent": True}, "--boot", config=self.config(boot="2s"),
                                   reason="boot: no guest agent answer within the boot timeout of 2s")
        self.assertGreater(rec["restore_seconds"], 0)
        self.assertIsNone(rec["boot_seconds"])
        self.assertEqual(self.calls()[-2:], ["POST /nodes/pve1/qemu/9900/status/stop", "DELETE /nodes/pve1/qemu/9900"])

    def test_destroy_failing_once_is_retried(self):
        self.sim.control("POST", "/_sim/drill", {"cluster": "home", "destroy_failures": 1})
        p = self.ctl("home-vm-100", "--execute")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("destroy failed, retrying: the destroy task ended: lvremove", p.stderr)
        deletes = [m for m in self.mutations() if m["method"] == "DELETE"]
        self.assertEqual(len(deletes), 2)
        self.assert_nothing_left()
        self.assertEqual(self.records()[-1]["result"], "ok")

    def test_destroy_that_keeps_failing_is_reported(self):
        self.sim.control("POST", "/_sim/drill", {"cluster": "home", "destroy_failures": 3})
        p = self.ctl("home-vm-100", "--execute")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("scratch guest 9900 is left on node pve1", p.stderr)
        self.assertIn("qm destroy 9900 --purge --destroy-unreferenced-disks 1", p.stderr)
        self.assertEqual(len([m for m in self.mutations() if m["method"] == "DELETE"]), 3)
        self.assertEqual(self.records()[-1]["result"], "ok")          # the restore itself was proven
        # the next drill removes the leftover first and says so
        self.sim.control("POST", "/_sim/stats/reset")
        p = self.ctl("home-vm-100", "--execute")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("9900 is left over by an earlier drill: removing it first", p.stdout)
        self.assertEqual(self.calls()[0], "DELETE /nodes/pve1/qemu/9900")
        self.assertEqual(self.mutations()[1]["form"]["vmid"], "9901")
        self.assert_nothing_left()

    def test_keep_on_failure_then_next_drill_cleans_up(self):
        self.sim.control("POST", "/_sim/drill", {"cluster": "home", "agent_silent": True})
        p = self.ctl("home-vm-100", "--execute", "--boot", "--keep-on-failure", config=self.config(boot="2s"))
        self.assertEqual(p.returncode, 1)
        self.assertIn("--keep-on-failure: scratch guest 9900 stays for inspection", p.stdout)
        rep = self.report()
        self.assertEqual([g["vmid"] for g in rep["scratch"]], [9900])
        self.assertEqual(rep["violations"], [])        # running, but every link down
        self.sim.control("POST", "/_sim/drill", {"cluster": "home", "agent_silent": False})
        p = self.ctl("home-ct-105", "--execute")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("9900 is left over by an earlier drill: removing it first", p.stdout)
        self.assert_nothing_left()

    def test_scratch_guest_is_shown_exempt_not_in_no_target(self):
        """While a drill's scratch guest exists, every view lists it apart, with the reason."""
        self.sim.control("POST", "/_sim/drill", {"cluster": "home", "agent_silent": True})
        p = self.ctl("home-vm-100", "--execute", "--boot", "--keep-on-failure", config=self.config(boot="2s"))
        self.assertEqual(p.returncode, 1)
        self.assertEqual([g["vmid"] for g in self.report()["scratch"]], [9900])
        name = [g["name"] for g in self.pve_get("home", "/cluster/resources?type=vm") if g["vmid"] == 9900][0]
        with open(self.config()) as f:
            text = f.read()
        with Exporter(text) as exp:
            m = exp.metrics()
            self.assertEqual(value(m, "persistence_pve_guest_in_inventory", source="home", vmid="9900"), 0)
            self.assertEqual(value(m, "persistence_pve_guest_exempt", source="home", vmid="9900"), 1)
            doc = json.loads(exp.get("/status")[2])
            un = {(g["source"], g["vmid"]) for g in doc["uninventoried"]}
            self.assertIn(("home", 112), un)                 # the incident's sandbox: really in no target
            self.assertNotIn(("home", 9900), un)
            self.assertIn(("nodrill", 9900), un)             # the same cluster seen by a source without a drill
            ex = [g for g in doc["uninventoried_exempt"] if g["source"] == "home"]
            self.assertEqual(ex, [{"source": "home", "vmid": 9900, "name": name, "type": "qemu", "node": "pve1",
                                   "exempt_reason": "restore drill scratch range"}])
            page = exp.get("/")[2]
            none_at, exempt_at = page.index("<h2>Guests in no target</h2>"), page.index("<h2>Exempt guests in no target</h2>")
            row = "<tr><td>home</td><td>9900</td><td>%s</td><td>qemu</td><td>pve1</td>" \
                  "<td>restore drill scratch range</td></tr>" % name
            self.assertGreater(page.index(row), exempt_at)
            self.assertNotIn("<tr><td>home</td><td>9900</td>", page[none_at:exempt_at])
        st = subprocess.run([CTL, "status", "--config.file=" + self.config()], capture_output=True, text=True,
                            timeout=60)
        self.check_secrets(st.stdout + st.stderr)
        guests = st.stdout[st.stdout.index("\nGuests in no target:"):]
        none_part, exempt_part = guests.split("\nExempt guests in no target (pve[].exempt, drill scratch range):\n")
        self.assertIn("  home/112 sandbox (lxc on pve1)\n", none_part)
        self.assertNotIn("home/9900", none_part)
        self.assertIn("  home/9900 %s (qemu on pve1): restore drill scratch range\n" % name, exempt_part)

    def interrupted(self, args, knobs, wait_for_call, signals=(signal.SIGINT,), config=None):
        self.sim.control("POST", "/_sim/drill", dict(knobs, cluster="home"))
        proc = subprocess.Popen(self.cmd("home-vm-100", "--execute", *args, config=config),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_for(lambda: wait_for_call in self.calls(), 30, what=wait_for_call)
            for sig in signals:
                proc.send_signal(sig)
                time.sleep(0.3)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.check_secrets(out + err)
        return proc.returncode, out, err

    def test_sigint_during_the_restore_waits_then_cleans_up(self):
        rc, out, err = self.interrupted(("--boot",), {"restore_seconds": 2}, "POST /nodes/pve1/qemu")
        self.assertEqual(rc, 130, out + err)
        self.assertIn("interrupted: waiting for the restore task to end", err)
        self.assert_nothing_left()
        calls = self.calls()
        self.assertNotIn("POST /nodes/pve1/qemu/9900/status/start", calls)
        self.assertFalse(any(c.startswith("DELETE /nodes/pve1/tasks/") for c in calls), calls)
        self.assertEqual(calls[-1], "DELETE /nodes/pve1/qemu/9900")
        self.assertEqual(self.records()[-1]["reason"], "interrupted by signal 2")

    def test_second_signal_aborts_the_restore(self):
        rc, out, err = self.interrupted((), {"restores": ["slow"]}, "POST /nodes/pve1/qemu",
                                        signals=(signal.SIGTERM, signal.SIGTERM))
        self.assertEqual(rc, 143, out + err)
        self.assertTrue(any(c.startswith("DELETE /nodes/pve1/tasks/") for c in self.calls()))
        self.assert_nothing_left()                     # the aborted restore's stub is in the pool: removed
        self.assertIn("interrupted by signal 15", self.records()[-1]["reason"])

    def test_sigint_during_the_boot(self):
        rc, out, err = self.interrupted(("--boot",), {"agent_silent": True}, "POST /nodes/pve1/qemu/9900/agent/ping")
        self.assertEqual(rc, 130, out + err)
        self.assertEqual(self.calls()[-2:], ["POST /nodes/pve1/qemu/9900/status/stop", "DELETE /nodes/pve1/qemu/9900"])
        self.assert_nothing_left()
        self.assertEqual(self.records()[-1]["result"], "failed")

    # ----- errors before anything is changed -----
    def test_usage_and_config_errors(self):
        cases = [("no-such", (), 2, "no target named 'no-such'"), ("no-drill", (), 2, "source nodrill has no drill: section"),
                 ("nfs-100", (), 2, "is a mount target")]
        for target, args, rc, msg in cases:
            p = self.ctl(target, "--execute", *args)
            self.assertEqual(p.returncode, rc, (target, p.stderr))
            self.assertIn(msg, p.stderr)
        with open(self.config()) as f:
            text = f.read()
        missing = os.path.join(self.dir, "config-missing-secret.yml")
        with open(missing, "w") as f:
            f.write(text.replace("%s/home-drill.token" % self.dir, "/nonexistent/home-drill.token"))
        p = self.ctl("home-vm-100", "--execute", config=missing)
        self.assertEqual(p.returncode, 2)
        self.assertIn("the drill token of source home: cannot read secret file /nonexistent/home-drill.token: "
                      "No such file or directory", p.stderr)
        p = subprocess.run([CTL, "restore-test", "--target=x"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--config.file=FILE is required", p.stderr)
        p = subprocess.run([CTL, "restore-test", "--config.file=x", "--target=a", "--bogus"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertEqual(self.sim.control("GET", "/_sim/mutations"), [])
        self.assertEqual(self.records(), [])

    def test_wrong_drill_token_fails_before_any_change(self):
        write_secret(self.dir, "home-drill.token", "not-the-secret")
        try:
            p = self.ctl("home-vm-100", "--execute")
        finally:
            write_secret(self.dir, "home-drill.token", DRILL_SECRET % "home")
        self.assertEqual(p.returncode, 1)
        self.assertIn("401 authentication failed: PVE refused token drill@pve!drill", p.stdout + p.stderr)
        self.assertEqual(self.sim.control("GET", "/_sim/mutations"), [])
        self.assertIn("no scratch id", self.records()[-1]["reason"])

    def test_one_drill_per_source_at_a_time(self):
        lock = self.state + ".home.lock"
        with open(lock, "w") as f:
            import fcntl
            fcntl.flock(f, fcntl.LOCK_EX)
            p = self.ctl("home-vm-100", "--execute")
        self.assertEqual(p.returncode, 1)
        self.assertIn("another restore drill is running on home", p.stderr)
        self.assertEqual(self.sim.control("GET", "/_sim/mutations"), [])

    # ----- file and n8n targets -----
    def make_tar_gz(self, name, corrupt=False):
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for i in range(3):
                data = os.urandom(20000)
                info = tarfile.TarInfo("db/part-%d.sql" % i)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        blob = gzip.compress(raw.getvalue())
        if corrupt:
            blob = blob[:len(blob) // 2] + bytes([blob[len(blob) // 2] ^ 0xff]) + blob[len(blob) // 2 + 1:]
        path = os.path.join(self.dir, "dumps", name)
        with open(path, "wb") as f:
            f.write(blob)
        return path

    def test_file_target(self):
        for f in os.listdir(os.path.join(self.dir, "dumps")):
            os.unlink(os.path.join(self.dir, "dumps", f))
        old = self.make_tar_gz("a.tar.gz")
        os.utime(old, (time.time() - 3600, time.time() - 3600))
        good = self.make_tar_gz("b.tar.gz")
        p = self.ctl("db-dumps", "--execute")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("newest: %s" % good, p.stdout)
        self.assertIn("gzip, tar: ", p.stdout)
        self.assertIn("3 tar members, end marker present", p.stdout)
        bad = self.make_tar_gz("c.tar.gz", corrupt=True)
        p = self.ctl("db-dumps", "--execute")
        self.assertEqual(p.returncode, 1)
        self.assertIn("the archive is not whole", p.stderr)
        rec = self.records()
        self.assertEqual([(r["kind"], r["archive"], r["result"]) for r in rec],
                         [("file", good, "ok"), ("file", bad, "failed")])
        self.assertIn("gzip: ", rec[1]["reason"])
        self.assertIsNone(rec[1]["restore_seconds"])
        self.assertEqual(self.sim.control("GET", "/_sim/mutations"), [])

    def test_n8n_target(self):
        snaps = os.path.join(self.dir, "n8n-snapshots")
        for f in os.listdir(snaps):
            os.unlink(os.path.join(snaps, f))
        src = os.path.join(ROOT, "tests", "fixtures", "n8n", "export-workflow-all.n8n-2.8.4.json")
        shutil.copy(src, os.path.join(snaps, "2025-11-01.json"))
        p = self.ctl("n8n-app", "--execute")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("6 workflows, each with nodes and connections", p.stdout)
        with open(os.path.join(snaps, "2025-11-02.json"), "w") as f:
            json.dump([{"name": "ok", "nodes": [{"id": "a"}], "connections": {}},
                       {"name": "Invoices", "nodes": [{"id": "a"}]}], f)
        p = self.ctl("n8n-app", "--execute")
        self.assertEqual(p.returncode, 1)
        rec = self.records()
        self.assertEqual([r["result"] for r in rec], ["ok", "failed"])
        self.assertEqual(rec[1]["reason"], "1 of 2 workflows cannot work: 2025-11-02.json: workflow 2 \"Invoices\": "
                                           "no connections")


    # ----- the systemd timer example -----
    def test_timer_example_drills_one_target_at_a_time(self):
        unit = os.path.join(ROOT, "deploy", "persistence-restore-drill.service")
        with open(unit) as f:
            text = f.read()
        exec_start = [l for l in text.splitlines() if l.startswith("ExecStart=")]
        self.assertEqual(len(exec_start), 1)
        cmd = exec_start[0][len("ExecStart="):]
        self.assertTrue(cmd.startswith("/bin/sh -c '") and cmd.endswith("'"), cmd)
        script = cmd[len("/bin/sh -c '"):-1].replace("$$", "$").replace("/usr/local/bin/persistencectl", CTL)
        self.make_tar_gz("t.tar.gz")
        env = dict(os.environ, DRILL_CONFIG=self.config(), DRILL_TARGETS="home-vm-100 home-ct-105 db-dumps",
                   DRILL_FLAGS="--boot --poll-interval=100ms")
        p = subprocess.run(["/bin/sh", "-c", script], env=env, capture_output=True, text=True, timeout=300)
        self.check_secrets(p.stdout + p.stderr)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        rec = self.records()
        self.assertEqual([(r["target"], r["result"]) for r in rec],
                         [("home-vm-100", "ok"), ("home-ct-105", "ok"), ("db-dumps", "ok")])
        for a, b in zip(rec, rec[1:]):
            self.assertLessEqual(a["finished"], b["started"])           # one at a time
        self.assert_nothing_left()
        # a failing drill fails the run, but the next target is still drilled
        self.sim.control("POST", "/_sim/drill", {"cluster": "home", "restores": ["fail"]})
        p = subprocess.run(["/bin/sh", "-c", script], env=env, capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 1)
        self.assertEqual([r["result"] for r in self.records()[3:]], ["failed", "ok", "ok"])
        # the units load (systemd-analyze verify; paths and user swapped for this machine)
        tmp = tempfile.mkdtemp(prefix="pe-units-")
        try:
            with open(os.path.join(tmp, "persistence-restore-drill.service"), "w") as f:
                f.write(text.replace("/usr/local/bin/persistencectl", CTL)
                        .replace("EnvironmentFile=/etc/default/", "EnvironmentFile=%s/" % tmp)
                        .replace("User=persistence-drill", "User=root").replace("Group=persistence_exporter", "Group=root"))
            shutil.copy(os.path.join(ROOT, "deploy", "persistence-restore-drill.env"),
                        os.path.join(tmp, "persistence-restore-drill"))
            shutil.copy(os.path.join(ROOT, "deploy", "persistence-restore-drill.timer"), tmp)
            v = subprocess.run(["systemd-analyze", "verify", os.path.join(tmp, "persistence-restore-drill.service"),
                                os.path.join(tmp, "persistence-restore-drill.timer")], capture_output=True, text=True)
            self.assertEqual((v.returncode, v.stdout + v.stderr), (0, ""))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    # ----- the exporter reads the state file -----
    def test_exporter_publishes_drills_and_the_status_page_shows_them(self):
        p = self.ctl("home-vm-100", "--boot", "--execute")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.sim.control("POST", "/_sim/drill", {"cluster": "home", "restores": ["fail"]})
        p = self.ctl("home-ct-105", "--execute")
        self.assertEqual(p.returncode, 1)
        ok, failed = self.records()
        with open(self.config()) as f:
            text = f.read()
        # the daemon never reads a drill token: a secret file it cannot read does not stop it
        text = text.replace("%s/shop-drill.token" % self.dir, "/nonexistent/shop-drill.token")
        with Exporter(text) as exp:
            m = exp.metrics()
            promtool_check(m)
            self.assertEqual(value(m, "persistence_target_restore_test_last_result", target="home-vm-100"), 1)
            self.assertEqual(value(m, "persistence_target_restore_test_last_result", target="home-ct-105"), 0)
            self.assertAlmostEqual(value(m, "persistence_target_restore_test_last_success_timestamp_seconds",
                                         target="home-vm-100"), ok["finished"], places=2)
            self.assertAlmostEqual(value(m, "persistence_target_restore_test_duration_seconds", target="home-vm-100"),
                                   ok["restore_seconds"] + ok["boot_seconds"], places=2)
            self.assertEqual(samples(m, "persistence_target_restore_test_last_success_timestamp_seconds",
                                     target="home-ct-105"), [])
            self.assertEqual(value(m, "persistence_target_restore_test_max_age_seconds", target="home-vm-100"), 30 * 86400)
            self.assertEqual(value(m, "persistence_target_rto_seconds", target="home-vm-100"), 7200)
            self.assertEqual(samples(m, "persistence_target_rto_seconds", target="home-ct-105"), [])
            self.assertEqual(value(m, "persistence_restore_test_state_readable"), 1)
            # the scratch range is exempt from coverage and inventory alerts (scratch guests come and go)
            exempt = samples(m, "persistence_pve_guest_exempt", source="home", reason="restore drill scratch range")
            self.assertEqual(len(exempt), 10)
            self.assertEqual(value(m, "persistence_pve_guest_exempt", source="home", vmid="9905"), 1)
            status, _, page = exp.get("/")
            self.assertEqual(status, 200)
            self.assertRegex(page, r'<br><span class="muted">restore tested \d+s ago, \d+ s</span>')
            self.assertIn('<br><span class="bad">restore test failed ', page)
            status, _, body = exp.get("/status")
            targets = {t["name"]: t for t in json.loads(body)["targets"]}
            self.assertEqual(targets["home-vm-100"]["restore_test"]["last_result"], "ok")
            self.assertEqual(targets["home-ct-105"]["restore_test"]["last_result"], "failed")
            self.assertIn("restore task failed", targets["home-ct-105"]["restore_test"]["last_reason"])
            self.assertIsNone(targets["db-dumps"]["restore_test"])
        st = subprocess.run([CTL, "status", "--config.file=" + self.config()], capture_output=True, text=True,
                            timeout=60)
        self.check_secrets(st.stdout + st.stderr)
        self.assertIn("RESTORE TEST", st.stdout)
        self.assertRegex(st.stdout, r"home-vm-100 .* restore tested \d+s ago, \d+ s")


if __name__ == "__main__":
    unittest.main()
