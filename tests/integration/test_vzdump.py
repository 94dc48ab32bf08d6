"""persistencectl vzdump against the simulator: dry run, execute, scheduler restart, --wait, errors."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import urllib.request

from harness import CTL, EXPORTER, PVE_ACTION_SECRET, PVE_SECRET, Exporter, Sim, value, wait_for, write_secret

READ_ID = "monitor@pve!exporter"
ACTION_ID = "ops@pve!actions"

CONFIG = """global:
  cache_ttl: 0s
pve:
  - name: home
    url: {url}/pve/home
    token_id: "monitor@pve!exporter"
    token_secret_file: {dir}/read.token
    timeout: 5s
{action}"""

ACTION = """    action_token_id: "{id}"
    action_token_secret_file: {dir}/{file}
"""

DRY_100 = """persistencectl vzdump: dry run, nothing is changed
source home: {url}/pve/home/api2/json

GET  /cluster/resources?type=vm   [read token monitor@pve!exporter]
     -> qemu 100 "vaultwarden" on node pve1
GET  /cluster/backup   [read token monitor@pve!exporter]
     -> enabled job backup-home covers 100: storage synology-backups, repeat-missed 0
GET  /nodes/pve1/storage?content=backup   [read token monitor@pve!exporter]
     -> storage synology-backups: nfs, shared, active, {free} GiB free
GET  /nodes/pve1/storage/synology-backups/content?content=backup&vmid=100   [read token monitor@pve!exporter]
     -> {count} archives of 100, newest {when} ({age} ago)

plan (dry run: nothing below is sent; add --execute):
  1. POST /nodes/pve1/vzdump   vmid=100 storage=synology-backups   [action token ops@pve!actions]
     (add --wait to follow the task to its end)

"""


def fmt_age(secs):
    s = max(int(secs), 0)
    if s >= 86400:
        return "%dd %dh" % (s // 86400, s % 86400 // 3600)
    if s >= 3600:
        return "%dh %dm" % (s // 3600, s % 3600 // 60)
    if s >= 60:
        return "%dm %ds" % (s // 60, s % 60)
    return "%ds" % s


class VzdumpTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("incident", extra=("--task-seconds", "1"))
        cls.dir = tempfile.mkdtemp(prefix="pe-vzdump-")
        write_secret(cls.dir, "read.token", PVE_SECRET % "home")
        write_secret(cls.dir, "action.token", PVE_ACTION_SECRET % "home")
        write_secret(cls.dir, "wrong.token", "not-the-secret")

    @classmethod
    def tearDownClass(cls):
        cls.sim.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        self.sim.scenario("incident")
        self.sim.clear_faults()
        self.sim.control("DELETE", "/_sim/task-result")
        self.sim.control("POST", "/_sim/stats/reset")

    # ----- helpers -----
    def config(self, action_id=ACTION_ID, action_file="action.token"):
        action = ACTION.format(id=action_id, dir=self.dir, file=action_file) if action_id else ""
        path = os.path.join(self.dir, "config-%s.yml" % (action_file if action_id else "none"))
        with open(path, "w") as f:
            f.write(CONFIG.format(url=self.sim.url, dir=self.dir, action=action))
        return path

    def ctl(self, *args, config=None, timeout=120):
        cmd = [CTL, "vzdump", "--config.file=" + (config or self.config()), "--source=home"] + list(args)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        for secret in (PVE_SECRET % "home", PVE_ACTION_SECRET % "home", "not-the-secret"):
            self.assertNotIn(secret, p.stdout + p.stderr)
        return p

    def pve_get(self, sub):
        req = urllib.request.Request(self.sim.url + "/pve/home/api2/json" + sub,
                                     headers={"Authorization": "PVEAPIToken=%s=%s" % (READ_ID, PVE_SECRET % "home")})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())["data"]

    def journal(self):
        return self.sim.control("GET", "/_sim/requests")

    def methods(self):
        return {k.split(" ")[0] for k in self.sim.control("GET", "/_sim/stats?by=method")}

    def archives(self, vmid):
        items = self.pve_get("/nodes/pve1/storage/synology-backups/content?content=backup&vmid=%d" % vmid)
        return [a["ctime"] for a in items]

    # ----- dry run -----
    def test_dry_run_prints_every_request_and_sends_only_gets(self):
        p = self.ctl("--vmid=100")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, "")
        self.assertEqual(self.journal(), ["GET /pve/home/api2/json/cluster/resources",
                                          "GET /pve/home/api2/json/cluster/backup",
                                          "GET /pve/home/api2/json/nodes/pve1/storage",
                                          "GET /pve/home/api2/json/nodes/pve1/storage/synology-backups/content"])
        ctimes = self.archives(100)
        storage = [s for s in self.pve_get("/nodes/pve1/storage?content=backup") if s["storage"] == "synology-backups"][0]
        newest = max(ctimes)
        expected = DRY_100.format(url=self.sim.url, free="%.1f" % (storage["avail"] / 1024.0 ** 3),
                                  count=len(ctimes), age=fmt_age(time.time() - newest),
                                  when=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(newest)))
        self.assertEqual(p.stdout, expected)

    def test_dry_run_lxc_explains_tmpdir_and_repeat_missed(self):
        p = self.ctl("--vmid=105", "--restart-scheduler", "--wait")
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout
        self.assertIn("     -> lxc 105 \"paperless\" on node pve2\n", out)
        self.assertIn("note: 105 is an LXC container.", out)
        self.assertIn("this request is sent WITHOUT tmpdir", out)
        self.assertIn("add the line `tmpdir: /var/tmp` to /etc/vzdump.conf", out)
        self.assertIn("pvesh set /cluster/backup/backup-home --tmpdir /var/tmp", out)
        self.assertIn("Job backup-home has repeat-missed 0: its missed runs are skipped", out)
        steps = [l.strip()[:8] for l in out.splitlines() if l.startswith("  ") and l.strip()[:2] in ("1.", "2.", "3.", "4.", "5.")]
        self.assertEqual(steps, ["1. POST ", "2. GET  ", "3. POST ", "4. GET  ", "5. GET  "])
        self.assertIn("1. POST /nodes/pve2/services/pvescheduler/restart", out)
        self.assertIn("3. POST /nodes/pve2/vzdump   vmid=105 storage=synology-backups", out)
        self.assertEqual(self.methods(), {"GET"})
        self.assertEqual(self.sim.control("GET", "/_sim/stats"),
                         {k.split(" ", 1)[1]: v for k, v in self.sim.control("GET", "/_sim/stats?by=method").items()})

    def test_storage_needs_a_covering_job_or_the_flag(self):
        p = self.ctl("--vmid=112")                       # 112: no job covers it
        self.assertEqual(p.returncode, 2)
        self.assertIn("no enabled backup job covers 112", p.stdout)
        self.assertIn("give the target storage with --storage=ID", p.stderr)
        p = self.ctl("--vmid=9000")                      # only a disabled job covers 9000
        self.assertEqual(p.returncode, 2)
        self.assertIn("no enabled backup job covers 9000", p.stdout)
        p = self.ctl("--vmid=112", "--storage=local")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("1. POST /nodes/pve1/vzdump   vmid=112 storage=local", p.stdout)
        self.assertIn("1 archive of 112", p.stdout)
        p = self.ctl("--vmid=100", "--storage=local-lvm")  # not a backup storage
        self.assertEqual(p.returncode, 2)
        self.assertIn("storage local-lvm is not an enabled backup storage on node pve1", p.stderr)
        self.assertEqual(self.methods(), {"GET"})

    def test_usage_errors(self):
        cases = [(("--vmid=abc",), "is not a VM id"), ((), "--vmid=ID is required"),
                 (("--vmid=100", "--vmid=105"), "given twice"), (("--vmid=100", "--bogus"), "unknown argument"),
                 (("--vmid=100", "--storage=a/b"), "is not a storage id")]
        for args, msg in cases:
            p = self.ctl(*args)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn(msg, p.stderr, args)
        p = subprocess.run([CTL, "vzdump", "--config.file=" + self.config(), "--source=nope", "--vmid=100"],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("no pve source named 'nope'", p.stderr)
        self.assertIn(" home", p.stderr)
        p = self.ctl("--vmid=777")
        self.assertEqual(p.returncode, 2)
        self.assertIn("guest 777 is not in /cluster/resources", p.stderr)

    # ----- execute -----
    def test_execute_restart_then_backup_and_wait(self):
        before = max(self.archives(105))
        p = self.ctl("--vmid=105", "--restart-scheduler", "--execute", "--wait")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("-> srvrestart ended OK: pvescheduler restarted", p.stdout)
        self.assertIn("  | TASK OK\n", p.stdout)
        self.assertIn("-> backup task ended OK", p.stdout)
        self.assertRegex(p.stdout, r"-> now \d+ archives of 105, newest \S+ \(\d+s ago\)")
        # the restart task ended before the vzdump POST was sent
        j = self.journal()
        restart = j.index("POST /pve/home/api2/json/nodes/pve2/services/pvescheduler/restart")
        dump = j.index("POST /pve/home/api2/json/nodes/pve2/vzdump")
        self.assertLess(restart, dump)
        self.assertTrue(any("/srvrestart:" in k or ":srvrestart:" in k for k in j[restart:dump]), j)
        tasks = {t["type"]: t for t in self.pve_get("/nodes/pve2/tasks?source=all")
                 if t.get("tokenid") == "actions"}
        self.assertEqual(tasks["srvrestart"]["status"], "OK")
        self.assertLessEqual(tasks["srvrestart"]["endtime"], tasks["vzdump"]["starttime"])
        self.assertEqual(tasks["vzdump"]["status"], "OK")      # tmpdir was not sent (it would be a 400)
        # one audit line per mutation, naming the token id, never the secret
        audits = [l for l in p.stderr.splitlines() if "msg=audit" in l]
        self.assertEqual(len(audits), 2, p.stderr)
        self.assertIn('what="POST /nodes/pve2/services/pvescheduler/restart"', audits[0])
        self.assertIn('what="POST /nodes/pve2/vzdump vmid=105&storage=synology-backups"', audits[1])
        for a in audits:
            self.assertIn("who=ops@pve!actions", a)
            self.assertIn("upid=UPID:pve2:", a)
            self.assertIn("result=started", a)
        self.assertIn("tmpdir=/var/tmp not sent", p.stderr)
        # the loop closes: the new archive is fresh in the API and in the exporter
        newest = max(self.archives(105))
        self.assertGreater(newest, before)
        self.assertLess(time.time() - newest, 60)
        with Exporter(open(self.config()).read()) as exp:
            m = exp.metrics()
        ts = value(m, "persistence_pve_guest_last_backup_timestamp_seconds", source="home", vmid="105")
        self.assertLess(time.time() - ts, 60)

    def test_execute_without_wait_returns_the_task(self):
        p = self.ctl("--vmid=100", "--execute")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"-> UPID:pve1:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:vzdump:100:ops@pve!actions:\n")
        self.assertIn("run with --wait", p.stdout)
        posts = [k for k in self.journal() if k.startswith("POST")]
        self.assertEqual(posts, ["POST /pve/home/api2/json/nodes/pve1/vzdump"])

    def test_wait_reports_a_failed_task(self):
        self.sim.control("POST", "/_sim/task-result",
                         {"cluster": "home", "status": "job errors",
                          "error": "command 'tar cpf - ...' failed: exit code 2"})
        before = max(self.archives(105))
        p = self.ctl("--vmid=105", "--execute", "--wait")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("  | TASK ERROR: job errors\n", p.stdout)
        self.assertIn("the backup task failed: job errors", p.stderr)
        self.assertIn("ERROR: Backup of VM 105 failed - command 'tar cpf - ...' failed: exit code 2", p.stderr)
        self.assertIn("task: UPID:pve2:", p.stderr)
        self.assertEqual(max(self.archives(105)), before)

    def test_answer_without_upid_means_nothing_started(self):
        for body, shown in (('{"data":null}', "null"), ('{"data":"OK"}', "OK")):
            self.sim.fault("/nodes/pve1/vzdump", body=body, times=1)
            p = self.ctl("--vmid=100", "--execute", "--wait")
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            self.assertIn("PVE answered %s without a task: nothing was started" % shown, p.stderr)
            self.assertIn("guest 100 is not on node pve1", p.stderr)
            self.assertNotIn("/tasks/", "".join(self.journal()))
            audits = [l for l in p.stderr.splitlines() if "msg=audit" in l]
            self.assertEqual(len(audits), 1)
            self.assertIn("upid=\"\"", audits[0])
            self.sim.control("POST", "/_sim/stats/reset")

    # ----- refusals and errors -----
    def test_no_action_token_refuses_before_sending(self):
        cfg = self.config(action_id=None)
        p = self.ctl("--vmid=105", "--restart-scheduler", config=cfg)
        self.assertEqual(p.returncode, 0)
        self.assertIn("[action token (none configured)]", p.stdout)
        self.assertIn("note: no action token is configured for this source", p.stdout)
        p = self.ctl("--vmid=105", "--restart-scheduler", "--execute", "--wait", config=cfg)
        self.assertEqual(p.returncode, 1)
        self.assertIn("refused: source home has no action token configured; nothing was sent", p.stderr)
        self.assertEqual(self.methods(), {"GET"})
        self.assertNotIn("msg=audit", p.stderr)

    def test_token_without_rights_gets_pve_403_explained(self):
        write_secret(self.dir, "readasaction.token", PVE_SECRET % "home")
        cfg = self.config(action_id=READ_ID, action_file="readasaction.token")
        p = self.ctl("--vmid=105", "--execute", config=cfg)
        self.assertEqual(p.returncode, 1)
        self.assertIn("403 Permission check failed (/vms/105, VM.Backup): token monitor@pve!exporter lacks "
                      "VM.Backup on /vms/105", p.stderr)
        p = self.ctl("--vmid=105", "--execute", "--restart-scheduler", config=cfg)
        self.assertEqual(p.returncode, 1)
        self.assertIn("lacks Sys.Modify on /nodes/pve2", p.stderr)
        self.assertIn("no backup was started", p.stderr)
        posts = [k for k in self.journal() if k.startswith("POST")]
        self.assertEqual(posts, ["POST /pve/home/api2/json/nodes/pve2/vzdump",
                                 "POST /pve/home/api2/json/nodes/pve2/services/pvescheduler/restart"])

    def test_wrong_action_secret_is_a_401(self):
        cfg = self.config(action_file="wrong.token")
        p = self.ctl("--vmid=100", "--execute", config=cfg)
        self.assertEqual(p.returncode, 1)
        self.assertIn("401 authentication failed: PVE refused token ops@pve!actions", p.stderr)

    # ----- the action secret is persistencectl's, never the daemon's -----
    def test_daemon_that_cannot_read_the_action_secret_starts_and_serves(self):
        """The operator's 0600 action secret: the exporter's user cannot read it; persistencectl can."""
        d = tempfile.mkdtemp(prefix="pe-action-")
        try:
            os.chmod(d, 0o755)
            write_secret(d, "read.token", PVE_SECRET % "home")
            write_secret(d, "action.token", PVE_ACTION_SECRET % "home")
            os.chmod(os.path.join(d, "action.token"), 0o600)
            cfg = os.path.join(d, "config.yml")
            with open(cfg, "w") as f:
                f.write(CONFIG.format(url=self.sim.url, dir=d, action=ACTION.format(id=ACTION_ID, dir=d, file="action.token")))
            os.chmod(cfg, 0o644)
            if os.geteuid() == 0:
                self.assertTrue(shutil.which("setpriv"), "setpriv (util-linux) is needed to drop root")
                os.chown(os.path.join(d, "read.token"), 65534, 65534)   # the exporter's own user reads its token
                prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
            else:
                os.chmod(os.path.join(d, "action.token"), 0o000)        # the owner is refused too
                prefix = []
            log_path = os.path.join(d, "exporter.log")
            with open(log_path, "w+") as log:
                proc = subprocess.Popen(prefix + [EXPORTER, "--config.file=" + cfg, "--web.listen-address=127.0.0.1:0"],
                                        stdout=log, stderr=subprocess.STDOUT)
                try:
                    port = wait_for(lambda: _port(log_path, proc), 15, what="exporter listening")
                    with urllib.request.urlopen("http://127.0.0.1:%s/metrics" % port, timeout=30) as r:
                        text = r.read().decode()
                    self.assertIn('persistence_source_up{source="home",kind="pve"} 1', text)
                    self.assertIn('persistence_config_last_reload_successful 1', text)
                    # a reload reads the config again: still no action secret needed (setpriv execs: same pid)
                    proc.send_signal(signal.SIGHUP)
                    wait_for(lambda: "config reloaded" in open(log_path).read(), 15, what="the reload")
                    self.assertNotIn("reload failed", open(log_path).read())
                finally:
                    proc.terminate()
                    proc.wait(10)
            logged = open(log_path).read()
            self.assertNotIn("action.token", logged)   # never opened, so nothing to say about it
            self.assertNotIn(PVE_ACTION_SECRET % "home", logged)
            self.assertEqual(proc.returncode, 0, logged)
            p = subprocess.run(prefix + [EXPORTER, "--config.check", "--config.file=" + cfg],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            # the operator (root here, or the owner once the mode is back) runs the backup with it
            os.chmod(os.path.join(d, "action.token"), 0o600)
            self.sim.control("POST", "/_sim/stats/reset")
            p = self.ctl("--vmid=100", "--execute", config=cfg)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertIn("who=ops@pve!actions", p.stderr)
            self.assertIn("result=started", p.stderr)
            self.assertEqual([k for k in self.journal() if k.startswith("POST")],
                             ["POST /pve/home/api2/json/nodes/pve1/vzdump"])
            if os.geteuid() == 0:
                # the exporter's user running persistencectl: refused, naming the file, before any request
                self.sim.control("POST", "/_sim/stats/reset")
                p = subprocess.run(prefix + [CTL, "vzdump", "--config.file=" + cfg, "--source=home", "--vmid=100",
                                             "--execute"], capture_output=True, text=True, timeout=60)
                self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
                self.assertEqual(p.stderr, "persistencectl vzdump: the action token ops@pve!actions of source home: "
                                 "cannot read secret file %s/action.token: Permission denied; nothing was sent\n" % d)
                self.assertNotIn(PVE_ACTION_SECRET % "home", p.stdout + p.stderr)
                self.assertEqual(self.journal(), [])
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_missing_action_secret_file(self):
        """A dry run needs only the path; --execute reads the file and names it when it cannot."""
        cfg = self.config(action_file="no-such-action.token")
        p = self.ctl("--vmid=105", "--restart-scheduler", config=cfg)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("1. POST /nodes/pve2/services/pvescheduler/restart   [action token ops@pve!actions]", p.stdout)
        self.assertNotIn("no action token is configured", p.stdout)
        self.sim.control("POST", "/_sim/stats/reset")
        p = self.ctl("--vmid=105", "--restart-scheduler", "--execute", "--wait", config=cfg)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertEqual(p.stdout, "")
        self.assertEqual(p.stderr, "persistencectl vzdump: the action token ops@pve!actions of source home: cannot "
                         "read secret file %s/no-such-action.token: No such file or directory; nothing was sent\n"
                         % self.dir)
        self.assertEqual(self.journal(), [])
        write_secret(self.dir, "empty-action.token", "")
        p = self.ctl("--vmid=105", "--execute", config=self.config(action_file="empty-action.token"))
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn("secret file %s/empty-action.token is empty; nothing was sent" % self.dir, p.stderr)
        self.assertEqual(self.journal(), [])

    def test_proxy_errors_and_server_errors_are_explained(self):
        self.sim.fault("/cluster/resources", status=596)
        p = self.ctl("--vmid=100")
        self.assertEqual(p.returncode, 1)
        self.assertIn("596 the PVE node could not be reached through the API proxy", p.stderr)
        self.sim.clear_faults()
        self.sim.fault("/nodes/pve1/vzdump", status=500, body='{"data":null,"message":"storage \'x\' is not online\\n"}')
        p = self.ctl("--vmid=100", "--execute")
        self.assertEqual(p.returncode, 1)
        self.assertIn("the backup could not be started: 500 storage 'x' is not online", p.stderr)
        self.sim.clear_faults()
        self.sim.fault("/cluster/backup", body="html")
        p = self.ctl("--vmid=100")
        self.assertEqual(p.returncode, 2)       # the job (and so the storage) could not be read
        self.assertIn("not readable: 200 but the answer is not a JSON object", p.stdout)
        self.assertIn("--storage=ID", p.stderr)

    def test_timeout(self):
        self.sim.fault("/cluster/resources", delay=8, times=1)
        t0 = time.monotonic()
        p = self.ctl("--vmid=100")
        self.assertEqual(p.returncode, 1)
        self.assertIn("timeout", p.stderr)
        self.assertLess(time.monotonic() - t0, 8)   # the source's 5 s timeout is the deadline


def _port(log_path, proc):
    if proc.poll() is not None:
        raise AssertionError("exporter exited %s: %s" % (proc.returncode, open(log_path).read()))
    m = re.search(r"msg=listening .*port=(\d+)", open(log_path).read())
    return m.group(1) if m else None


if __name__ == "__main__":
    unittest.main()
