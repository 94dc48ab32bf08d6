"""The inhibit rules of deploy/alertmanager/alertmanager-example.yml in a real Alertmanager.

Posts alerts shaped like the bundled rules' (same names and labels) to Alertmanager 0.25 running
the example file (receivers replaced: nothing is sent) and asserts which ones are suppressed and
by what. A warning never hides a critical alert; no stale target is hidden behind its source.
"""
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "deploy", "demo"))
import stack  # noqa: E402

EXAMPLE = os.path.join(ROOT, "deploy", "alertmanager", "alertmanager-example.yml")
J = {"job": "persistence_exporter", "instance": "pve1:9709"}


def alert(name, severity, **labels):
    return dict(J, alertname=name, severity=severity, **labels)


# name: (labels, expected state); "suppressed" alerts name the alert that inhibits them.
ALERTS = {
    # the mount is missing: its source-down and not-writable alerts follow from it
    "mount-missing": (alert("BackupMountMissing", "critical", source="nas"), "active"),
    "mount-source-down": (alert("PersistenceSourceDown", "warning", source="nas", kind="mount"),
                          "mount-missing"),
    "mount-not-writable": (alert("BackupMountNotWritable", "critical", source="nas"), "mount-missing"),
    # a PVE source down hides its collector's failure, not another collector's
    "pve-down": (alert("PersistenceSourceDown", "warning", source="home", kind="pve"), "active"),
    "pve-collector": (alert("PersistenceCollectorFailing", "warning", collector="pve", kind="pve"),
                      "pve-down"),
    "docker-collector": (alert("PersistenceCollectorFailing", "warning", collector="docker", kind="docker"),
                         "active"),
    # ... and never a target: a stale target stays paged through its source's outage
    "stale-target": (alert("BackupTargetStale", "critical", target="home-vm-100", site="home", kind="pve",
                           source="home"), "active"),
    "never-target": (alert("BackupTargetNeverBackedUp", "warning", target="home-lxc-105", site="home",
                           kind="pve", source="home"), "active"),
    # the escalated critical hides the warning of the same source, not that of pve_local "home"
    "pve-down-critical": (alert("PersistenceSourceDown", "critical", source="home", kind="pve"), "active"),
    "pve-local-down": (alert("PersistenceSourceDown", "warning", source="home", kind="pve_local"), "active"),
    # n8n: the rebuilt-instance page says more than "source down"
    "n8n-unreachable": (alert("N8nInstanceUnreachable", "critical", source="app", kind="n8n"), "active"),
    "n8n-down": (alert("PersistenceSourceDown", "critical", source="app", kind="n8n"), "n8n-unreachable"),
    # a stopped scheduler explains the overdue job on its node only
    "sched-down": (alert("PVESchedulerDown", "critical", source="home", node="pve1"), "active"),
    "overdue-pve1": (alert("PVEBackupJobOverdue", "critical", source="home", node="pve1",
                           backup_job="backup-home"), "sched-down"),
    "overdue-pve2": (alert("PVEBackupJobOverdue", "critical", source="home", node="pve2",
                           backup_job="backup-home"), "active"),
    # a node offline (warning) never hides the critical it causes
    "node-offline": (alert("PVENodeOffline", "warning", source="home", node="pve2"), "active"),
    "due-unknown": (alert("PVEBackupJobDueUnknown", "critical", source="home", node="pve2",
                          backup_job="backup-home"), "active"),
}
# pve-down is itself hidden by pve-down-critical (same alert and subject, lower severity)
ALERTS["pve-down"] = (ALERTS["pve-down"][0], "pve-down-critical")


def fingerprint_key(labels):
    return tuple(sorted(labels.items()))


class InhibitRulesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not shutil.which("prometheus-alertmanager") or not shutil.which("amtool"):
            raise AssertionError("needs prometheus-alertmanager and amtool (deploy/install-deps.sh)")
        cls.dir = tempfile.mkdtemp(prefix="pe-am-")
        with open(EXAMPLE) as f:
            cfg = yaml.safe_load(f)
        # the example's routes and inhibit rules as shipped; receivers that send nothing
        cfg["receivers"] = [{"name": r["name"]} for r in cfg["receivers"]]
        path = os.path.join(cls.dir, "alertmanager.yml")
        with open(path, "w") as f:
            yaml.safe_dump(cfg, f)
        subprocess.run(["amtool", "check-config", path], check=True, stdout=subprocess.DEVNULL)
        port = stack.free_port()
        cls.log = open(os.path.join(cls.dir, "am.log"), "w")
        cls.proc = subprocess.Popen(["prometheus-alertmanager", "--config.file=" + path,
                                     "--storage.path=" + os.path.join(cls.dir, "data"),
                                     "--web.listen-address=127.0.0.1:%d" % port, "--cluster.listen-address="],
                                    stdout=cls.log, stderr=subprocess.STDOUT, start_new_session=True)
        cls.url = "http://127.0.0.1:%d" % port
        try:
            stack.wait_http(cls.url + "/-/ready", 30, cls.proc, "alertmanager")
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.proc.poll() is None:
            cls.proc.terminate()
            try:
                cls.proc.wait(10)
            except subprocess.TimeoutExpired:
                cls.proc.kill()
                cls.proc.wait()
        cls.log.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def post(self, alerts):
        now = datetime.datetime.now(datetime.timezone.utc)
        body = [{"labels": a, "annotations": {"summary": "test"},
                 "startsAt": now.isoformat(), "endsAt": (now + datetime.timedelta(hours=1)).isoformat()}
                for a in alerts]
        req = urllib.request.Request(self.url + "/api/v2/alerts", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            self.assertEqual(r.status, 200)

    def states(self):
        got = json.loads(stack.http_get(self.url + "/api/v2/alerts", 10))
        by_labels = {fingerprint_key(a["labels"]): a for a in got}
        fp_name = {a["fingerprint"]: name for name, (labels, _) in ALERTS.items()
                   for a in got if fingerprint_key(a["labels"]) == fingerprint_key(labels)}
        out = {}
        for name, (labels, _) in ALERTS.items():
            a = by_labels.get(fingerprint_key(labels))
            if a is None:
                out[name] = "missing"
            elif a["status"]["state"] == "suppressed":
                inhibitors = sorted(fp_name.get(fp, fp) for fp in a["status"]["inhibitedBy"])
                out[name] = ",".join(inhibitors) or "silenced"
            else:
                out[name] = a["status"]["state"]
        return out

    def test_inhibitions(self):
        self.post([labels for labels, _ in ALERTS.values()])
        want = {name: state for name, (_, state) in ALERTS.items()}
        end = time.monotonic() + 20
        got = {}
        while time.monotonic() < end:   # the inhibitor sees posted alerts asynchronously
            got = self.states()
            if got == want:
                break
            time.sleep(0.2)
        self.assertEqual(got, want)


if __name__ == "__main__":
    unittest.main()
