"""test_sim.py - smoke tests of the upstream simulator: every endpoint, every fault kind."""

import base64
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import calevent  # noqa: E402
import pve_drill  # noqa: E402

READ = {"home": "PVEAPIToken=monitor@pve!exporter=sim-read-secret-home",
        "shop": "PVEAPIToken=monitor@pve!exporter=sim-read-secret-shop",
        "bench": "PVEAPIToken=monitor@pve!exporter=sim-read-secret-bench"}
ACTION = {"home": "PVEAPIToken=ops@pve!actions=sim-action-secret-home"}
DRILL = {"home": "PVEAPIToken=drill@pve!drill=sim-drill-secret-home",
         "shop": "PVEAPIToken=drill@pve!drill=sim-drill-secret-shop"}
N8N_KEY = {"X-N8N-API-KEY": "sim-n8n-key-app"}
PBS = {"Authorization": "PBSAPIToken=monitor@pbs!exporter:sim-pbs-secret-pbs1"}
DAY = 86400


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=10):
        http.client.HTTPConnection.__init__(self, "localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


class SimProcess:
    """A simulator subprocess on a free port."""

    def __init__(self, *args, tls=None):
        self.dir = tempfile.mkdtemp(prefix="simtest-")
        self.port_file = os.path.join(self.dir, "port")
        self.docker = os.path.join(self.dir, "docker.sock")
        cmd = [sys.executable, os.path.join(HERE, "sim.py"), "--port", "0",
               "--port-file", self.port_file, "--docker-socket", self.docker] + list(args)
        if tls:
            cmd += ["--tls-cert", tls[0], "--tls-key", tls[1]]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 60
        while not os.path.exists(self.port_file):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("simulator did not start: %s" % self.proc.stderr.read())
            time.sleep(0.05)
        with open(self.port_file) as f:
            self.port = int(f.read())
        while not os.path.exists(self.docker):
            time.sleep(0.05)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.proc.stdout.close()
        self.proc.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def request(self, method, path, headers=None, body=None, timeout=30):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            hdrs = dict(headers or {})
            if isinstance(body, dict):
                body = json.dumps(body)
                hdrs["Content-Type"] = "application/json"
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            return resp.status, resp.reason, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()

    def pve(self, cluster, sub, token=None, method="GET", form=None):
        headers = {"Authorization": token or READ[cluster]}
        body = None
        if form is not None:
            body = "&".join("%s=%s" % kv for kv in form.items())
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        return self.request(method, "/pve/%s/api2/json%s" % (cluster, sub), headers, body)

    def pve_data(self, cluster, sub):
        status, _, _, body = self.pve(cluster, sub)
        assert status == 200, (sub, status, body)
        return json.loads(body)["data"]

    def pbs(self, sub, name="pbs1", headers=None):
        return self.request("GET", "/pbs/%s/api2/json%s" % (name, sub), headers or PBS)

    def pbs_data(self, sub, name="pbs1", headers=None):
        status, _, _, body = self.pbs(sub, name, headers)
        assert status == 200, (sub, status, body)
        return json.loads(body)["data"]

    def docker_get(self, path):
        conn = UnixConnection(self.docker)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()


def newest_by_vmid(archives):
    out = {}
    for a in archives:
        out[a["vmid"]] = max(out.get(a["vmid"], 0), a["ctime"])
    return out


class IncidentTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = SimProcess("--scenario", "incident", "--fast-401", "--task-seconds", "1")

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def setUp(self):
        self.sim.request("DELETE", "/_sim/fault")

    def test_version_and_nodes(self):
        self.assertEqual(self.sim.pve_data("home", "/version")["release"], "9.1")
        nodes = self.sim.pve_data("home", "/nodes")
        self.assertEqual([n["node"] for n in nodes], ["pve1", "pve2"])
        self.assertEqual(len(nodes[0]["ssl_fingerprint"].split(":")), 32)
        self.assertEqual([n["node"] for n in self.sim.pve_data("shop", "/nodes")], ["shop1", "shop2"])

    def test_resources(self):
        vms = {g["vmid"]: g for g in self.sim.pve_data("home", "/cluster/resources?type=vm")}
        self.assertEqual(sorted(vms), [100, 105, 112, 9000])
        self.assertEqual((vms[100]["type"], vms[100]["name"], vms[100]["node"]), ("qemu", "vaultwarden", "pve1"))
        self.assertEqual((vms[105]["type"], vms[105]["name"], vms[105]["node"]), ("lxc", "paperless", "pve2"))
        self.assertEqual(vms[105]["template"], "0")      # loose typing on purpose
        self.assertEqual(vms[9000]["template"], 1)
        shop = {g["vmid"]: g for g in self.sim.pve_data("shop", "/cluster/resources?type=vm")}
        self.assertEqual(len(shop), 13)
        self.assertNotIn("name", shop[212])
        self.assertEqual(shop[212]["status"], "unknown")
        self.assertEqual(shop[206]["pool"], "office")
        storages = self.sim.pve_data("home", "/cluster/resources?type=storage")
        self.assertIn("storage/pve2/synology-backups", [s["id"] for s in storages])
        everything = self.sim.pve_data("home", "/cluster/resources")
        self.assertEqual({r.get("type") for r in everything}, {"node", "qemu", "lxc", "storage"})
        status, _, _, body = self.sim.pve("home", "/cluster/resources?type=bogus")
        self.assertEqual(status, 400)
        self.assertIn("type", json.loads(body)["errors"])

    def test_storage_lists_shared_on_every_node(self):
        for nd in ("pve1", "pve2"):
            st = {s["storage"]: s for s in self.sim.pve_data("home", "/nodes/%s/storage?content=backup" % nd)}
            self.assertEqual(sorted(st), ["local", "synology-backups"])
            self.assertEqual(st["synology-backups"]["shared"], 1)
            self.assertEqual(st["local"]["shared"], 0)
        all_st = self.sim.pve_data("home", "/nodes/pve1/storage")
        self.assertIn("local-lvm", [s["storage"] for s in all_st])
        pbs = self.sim.pve_data("shop", "/nodes/shop1/storage?content=backup")
        self.assertEqual([s["shared"] for s in pbs if s["storage"] == "shop-pbs"], ["1"])

    def test_home_archives_are_four_days_old(self):
        path = "/nodes/%s/storage/synology-backups/content?content=backup"
        a1 = self.sim.pve_data("home", path % "pve1")
        a2 = self.sim.pve_data("home", path % "pve2")
        self.assertEqual(a1, a2)   # a shared storage lists the same archives from any node
        newest = newest_by_vmid(a1)
        now = time.time()
        for vmid in (100, 105):
            age = now - newest[vmid]
            self.assertGreater(age, 4 * DAY - 3600)
            self.assertLess(age, 4 * DAY + 3600)
        for a in a1:
            self.assertTrue(a["volid"].startswith("synology-backups:backup/vzdump-%s-%d-" % (a["subtype"], a["vmid"])))
            self.assertIn(a["format"], ("vma.zst", "tar.zst"))
        self.assertEqual([a["volid"].lower() for a in a1], sorted(a["volid"].lower() for a in a1))
        only = self.sim.pve_data("home", (path % "pve1") + "&vmid=105")
        self.assertEqual({a["vmid"] for a in only}, {105})
        local = self.sim.pve_data("home", "/nodes/pve1/storage/local/content?content=backup")
        self.assertEqual(local[0]["protected"], 1)
        self.assertEqual(self.sim.pve_data("home", "/nodes/pve2/storage/local/content?content=backup"), [])
        status, reason, _, body = self.sim.pve("home", "/nodes/pve1/storage/nope/content")
        self.assertEqual(status, 500)
        self.assertIn("nope", json.loads(body)["message"])

    def test_shop_backed_up_within_18h(self):
        archives = self.sim.pve_data("shop", "/nodes/shop1/storage/shop-pbs/content?content=backup")
        newest = newest_by_vmid(archives)
        self.assertEqual(len(newest), 13)
        for vmid, ctime in newest.items():
            self.assertLess(time.time() - ctime, 18 * 3600, vmid)
        self.assertTrue(any(isinstance(a["size"], str) for a in archives))
        self.assertTrue(any("verification" in a for a in archives))
        self.assertTrue(all(a["volid"].startswith("shop-pbs:backup/") for a in archives))

    def test_jobs(self):
        jobs = {j["id"]: j for j in self.sim.pve_data("home", "/cluster/backup")}
        home = jobs["backup-home"]
        self.assertEqual((home["schedule"], home["storage"], home["enabled"], home["vmid"]),
                         ("02:00", "synology-backups", 1, "100,105"))
        self.assertGreater(home["next-run"], time.time())
        self.assertEqual(jobs["backup-home-templates"]["enabled"], 0)
        shop = {j["id"]: j for j in self.sim.pve_data("shop", "/cluster/backup")}
        self.assertNotIn("enabled", shop["backup-shop"])
        self.assertEqual(shop["backup-shop"]["all"], 1)
        self.assertEqual(shop["backup-shop-office"]["pool"], "office")
        one = self.sim.pve_data("home", "/cluster/backup/backup-home")
        self.assertEqual(one["id"], "backup-home")

    def test_not_backed_up(self):
        self.assertEqual(self.sim.pve_data("home", "/cluster/backup-info/not-backed-up"),
                         [{"vmid": 112, "type": "lxc", "name": "sandbox"}])
        self.assertEqual(self.sim.pve_data("shop", "/cluster/backup-info/not-backed-up"), [])

    def test_node_tasks(self):
        status, _, _, body = self.sim.pve("home", "/nodes/pve1/tasks?typefilter=vzdump")
        doc = json.loads(body)
        tasks = doc["data"]
        self.assertGreater(doc["total"], 5)
        newest_job = max(t["starttime"] for t in tasks if t["user"] == "root@pam")
        self.assertGreater(time.time() - newest_job, 4 * DAY)
        for t in tasks:
            self.assertEqual(t["type"], "vzdump")
            self.assertTrue(t["upid"].startswith("UPID:pve1:"))
            self.assertIn(":%08X:vzdump:" % t["starttime"], t["upid"])
        page = self.sim.pve_data("home", "/nodes/pve1/tasks?typefilter=vzdump&limit=2&start=1")
        self.assertEqual([t["upid"] for t in page], [t["upid"] for t in tasks[1:3]])
        statuses = {t["status"] for t in self.sim.pve_data("home", "/nodes/pve2/tasks?typefilter=vzdump")}
        self.assertIn("job errors", statuses)
        shop2 = self.sim.pve_data("shop", "/nodes/shop2/tasks?typefilter=vzdump&limit=500")
        self.assertEqual(shop2[0]["status"], "WARNINGS: 1")   # newest backup-shop run on shop2
        self.assertIn("WARNINGS: 1", [t["status"] for t in shop2])
        tok = [t for t in shop2 if t.get("tokenid")]
        self.assertEqual((tok[0]["user"], tok[0]["id"]), ("monitor@pve", "205"))
        since = self.sim.pve_data("shop", "/nodes/shop1/tasks?typefilter=vzdump&since=%d" % (time.time() - DAY))
        self.assertTrue(all(t["starttime"] >= time.time() - DAY - 5 for t in since))

    def test_cluster_tasks_capped(self):
        tasks = self.sim.pve_data("shop", "/cluster/tasks")
        per_node = {}
        for t in tasks:
            per_node[t["node"]] = per_node.get(t["node"], 0) + 1
            self.assertIn(t["saved"], ("0", "1"))
        self.assertTrue(all(n <= 25 for n in per_node.values()), per_node)

    def test_services(self):
        for nd in ("pve1", "pve2"):
            st = self.sim.pve_data("home", "/nodes/%s/services/pvescheduler/state" % nd)
            self.assertEqual((st["state"], st["active-state"], st["desc"]), ("running", "active", "Proxmox VE scheduler"))
        names = [s["service"] for s in self.sim.pve_data("home", "/nodes/pve1/services")]
        self.assertIn("pvescheduler", names)
        status, _, _, _ = self.sim.pve("home", "/nodes/pve9/services")
        self.assertEqual(status, 500)

    def test_scenario_with_a_replaced_schedule(self):
        """schedules replaces a job's calendar before the history is made: healthy runs follow it."""
        try:
            status, _, _, _ = self.sim.request("POST", "/_sim/scenario", body={
                "name": "healthy", "schedules": {"home": {"backup-home": "13:17"}}})
            self.assertEqual(status, 200)
            job = [j for j in self.sim.pve_data("home", "/cluster/backup") if j["id"] == "backup-home"][0]
            self.assertEqual(job["schedule"], "13:17")
            newest = max(t["starttime"] for t in self.sim.pve_data("home", "/nodes/pve1/tasks?typefilter=vzdump"))
            self.assertEqual(newest, calevent.next_event("13:17", newest - 86400))   # on a 13:17 slot
            self.assertLessEqual(newest, time.time())
            status, _, _, _ = self.sim.request("POST", "/_sim/scenario", body={
                "name": "healthy", "schedules": {"home": {"backup-home": "bogus"}}})
            self.assertEqual(status, 400)
        finally:
            self.sim.request("POST", "/_sim/scenario", body={"name": "incident"})

    def test_schedule_analyze(self):
        start = int(time.time())
        for sched in ("02:00", "*-*-* 01:30", "sat 02:00", "mon..fri 21:00", "*/6:00"):
            data = self.sim.pve_data("home", "/cluster/jobs/schedule-analyze?schedule=%s&starttime=%d&iterations=1"
                                     % (sched.replace(" ", "%20"), start))
            self.assertEqual(len(data), 1)
            self.assertEqual(data[0]["timestamp"], calevent.next_event(sched, start))
        status, _, _, body = self.sim.pve("home", "/cluster/jobs/schedule-analyze?schedule=bogus")
        self.assertEqual(status, 400)
        self.assertIn("schedule", json.loads(body)["errors"])

    def test_auth(self):
        status, reason, headers, body = self.sim.pve("home", "/version", token="PVEAPIToken=monitor@pve!exporter=wrong")
        self.assertEqual((status, reason, body), (401, "Authentication failed!", b""))
        status, reason, _, _ = self.sim.request("GET", "/pve/home/api2/json/version")
        self.assertEqual((status, reason), (401, "No ticket"))
        status, _, _, _ = self.sim.pve("home", "/version", token=READ["shop"])
        self.assertEqual(status, 401)
        self.assertEqual(self.sim.pve("home", "/nope")[0], 501)

    def test_read_token_cannot_post(self):
        status, reason, _, body = self.sim.pve("home", "/nodes/pve2/vzdump", method="POST",
                                               form={"vmid": "105", "storage": "synology-backups"})
        self.assertEqual(status, 403)
        self.assertEqual(reason, "Permission check failed (/vms/105, VM.Backup)")
        self.assertEqual(json.loads(body), {"data": None, "message": "Permission check failed (/vms/105, VM.Backup)\n"})
        status, reason, _, _ = self.sim.pve("home", "/nodes/pve1/services/pvescheduler/restart", method="POST", form={})
        self.assertEqual((status, reason), (403, "Permission check failed (/nodes/pve1, Sys.Modify)"))

    def test_vzdump_param_checks(self):
        post = lambda form: self.sim.pve("home", "/nodes/pve2/vzdump", token=ACTION["home"], method="POST", form=form)
        status, _, _, body = post({"vmid": "105", "storage": "synology-backups", "tmpdir": "/var/tmp"})
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(body)["errors"], {"tmpdir": "Only root may set this option."})
        status, _, _, body = post({"vmid": "x1"})
        self.assertEqual(json.loads(body)["errors"], {"vmid": "value does not look like a valid VM ID"})
        status, _, _, body = post({"storage": "local"})
        self.assertEqual(status, 400)
        status, _, _, body = post({"vmid": "100", "storage": "synology-backups"})   # 100 lives on pve1
        self.assertEqual((status, json.loads(body)), (200, {"data": "OK"}))

    def test_vzdump_loop(self):
        status, _, _, body = self.sim.pve("home", "/nodes/pve2/vzdump", token=ACTION["home"], method="POST",
                                          form={"vmid": "105", "storage": "synology-backups", "mode": "snapshot",
                                                "notes-template": "{{guestname}}"})
        self.assertEqual(status, 200)
        upid = json.loads(body)["data"]
        self.assertRegex(upid, r"^UPID:pve2:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:vzdump:105:ops@pve!actions:$")
        st = self.sim.pve_data("home", "/nodes/pve2/tasks/%s/status" % upid)
        self.assertEqual(st["status"], "running")
        running = self.sim.pve_data("home", "/nodes/pve2/tasks?source=active")
        self.assertEqual(running[0]["status"], "RUNNING")
        deadline = time.time() + 20
        while st["status"] == "running" and time.time() < deadline:
            time.sleep(0.2)
            st = self.sim.pve_data("home", "/nodes/pve2/tasks/%s/status" % upid)
        self.assertEqual((st["status"], st["exitstatus"]), ("stopped", "OK"))
        newest = newest_by_vmid(self.sim.pve_data("home", "/nodes/pve1/storage/synology-backups/content?content=backup"))
        self.assertLess(time.time() - newest[105], 60)
        tasks = self.sim.pve_data("home", "/nodes/pve2/tasks?typefilter=vzdump&limit=1")
        self.assertEqual((tasks[0]["upid"], tasks[0]["status"], tasks[0]["tokenid"]), (upid, "OK", "actions"))
        log = self.sim.pve_data("home", "/nodes/pve2/tasks/%s/log" % upid)
        self.assertEqual(log[-1], {"n": len(log), "t": "TASK OK"})

    def test_restart_scheduler(self):
        status, _, _, body = self.sim.pve("home", "/nodes/pve1/services/pvescheduler/restart",
                                          token=ACTION["home"], method="POST", form={})
        upid = json.loads(body)["data"]
        self.assertIn(":srvrestart:pvescheduler:ops@pve!actions:", upid)
        deadline = time.time() + 20
        while True:
            st = self.sim.pve_data("home", "/nodes/pve1/tasks/%s/status" % upid)
            if st["status"] == "stopped" or time.time() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(st["exitstatus"], "OK")
        bad = self.sim.pve("home", "/nodes/pve1/tasks/UPID:garbage/status")
        self.assertEqual(bad[0], 400)

    # ----- n8n -----
    def test_n8n(self):
        status, _, headers, body = self.sim.request("GET", "/n8n/app/api/v1/workflows?excludePinnedData=true", N8N_KEY)
        doc = json.loads(body)
        self.assertEqual((status, len(doc["data"]), doc["nextCursor"]), (200, 1, None))
        self.assertIs(doc["data"][0]["active"], True)
        self.assertNotIn("pinData", doc["data"][0])
        self.assertEqual(json.loads(self.sim.request("GET", "/n8n/app/healthz")[3]), {"status": "ok"})
        status, _, _, body = self.sim.request("GET", "/n8n/app/api/v1/workflows")
        self.assertEqual((status, json.loads(body)), (401, {"message": "'X-N8N-API-KEY' header required"}))
        status, _, _, body = self.sim.request("GET", "/n8n/app/api/v1/workflows", {"X-N8N-API-KEY": "nope"})
        self.assertEqual((status, json.loads(body)), (401, {"message": "unauthorized"}))
        status, _, headers, body = self.sim.request("GET", "/n8n/app/api/v2/x", N8N_KEY)
        self.assertEqual(status, 404)
        self.assertIn("text/html", headers["Content-Type"])

    def test_n8n_knobs(self):
        def page(cursor=None):
            q = "limit=250" + ("&cursor=" + cursor if cursor else "")
            return json.loads(self.sim.request("GET", "/n8n/app/api/v1/workflows?" + q, N8N_KEY)[3])
        try:
            status, _, _, body = self.sim.request("POST", "/_sim/n8n", body={"workflows": 600})
            self.assertEqual((status, json.loads(body)["workflows"]), (200, 600))
            seen, cursor, pages = 0, None, 0
            while True:
                doc = page(cursor)
                seen, cursor, pages = seen + len(doc["data"]), doc["nextCursor"], pages + 1
                if cursor is None:
                    break
            self.assertEqual((seen, pages), (600, 3))
            self.assertEqual(self.sim.request("POST", "/_sim/n8n", body={"repeat_cursor": True})[0], 200)
            second = page()["nextCursor"]
            self.assertEqual(json.loads(base64.b64decode(second)), {"limit": 250, "offset": 250})
            self.assertEqual(page(second)["nextCursor"], second)          # never advances
            self.assertEqual(page(page(second)["nextCursor"])["nextCursor"], second)
            # a rebuild: a new key; the old one is refused like a wrong key
            self.assertEqual(self.sim.request("POST", "/_sim/n8n", body={"workflows": 1, "api_key": "k2"})[0], 200)
            status, _, _, body = self.sim.request("GET", "/n8n/app/api/v1/workflows", N8N_KEY)
            self.assertEqual((status, json.loads(body)), (401, {"message": "unauthorized"}))
            status, _, _, body = self.sim.request("GET", "/n8n/app/api/v1/workflows", {"X-N8N-API-KEY": "k2"})
            self.assertEqual((status, len(json.loads(body)["data"])), (200, 1))
            for bad in ({"workflows": -1}, {"repeat_cursor": "yes"}, {"name": "nope"}, {"api_key": ""}):
                self.assertEqual(self.sim.request("POST", "/_sim/n8n", body=bad)[0], 400, bad)
        finally:
            self.sim.request("POST", "/_sim/scenario", body={"name": "incident"})
        self.assertEqual(len(page()["data"]), 1)       # a scenario switch undoes the knobs
        self.assertIsNone(page()["nextCursor"])

    # ----- docker -----
    def test_docker(self):
        status, headers, body = self.sim.docker_get("/v1.43/containers/json?all=1")
        self.assertEqual(status, 200)
        containers = {c["Labels"]["com.docker.compose.service"]: c for c in json.loads(body)}
        self.assertEqual(sorted(containers), ["certbot", "redis", "roundcube", "stalwart"])
        stalwart = containers["stalwart"]["Mounts"][0]
        self.assertEqual((stalwart["Type"], stalwart["Name"], stalwart["Destination"]),
                         ("volume", "communications-stack_stalwart-data", "/opt/stalwart"))
        self.assertEqual(containers["stalwart"]["Labels"]["com.docker.compose.project"], "communications-stack")
        rc = {m["Type"]: m for m in containers["roundcube"]["Mounts"]}
        self.assertEqual(rc["bind"]["Source"], "/srv/roundcube/config")
        self.assertIn("tmpfs", rc)
        anon = containers["redis"]["Mounts"][0]
        self.assertRegex(anon["Name"], r"^[0-9a-f]{64}$")
        self.assertEqual(containers["certbot"]["State"], "exited")
        running = json.loads(self.sim.docker_get("/containers/json")[2])
        self.assertEqual(len(running), 3)
        vols = json.loads(self.sim.docker_get("/v1.43/volumes")[2])["Volumes"]
        labels = {v["Name"]: v["Labels"] for v in vols}
        self.assertEqual(labels[anon["Name"]], {"com.docker.volume.anonymous": ""})
        status, headers, body = self.sim.docker_get("/_ping")
        self.assertEqual((status, body, headers["Api-Version"]), (200, b"OK", "1.43"))
        self.assertEqual(json.loads(self.sim.docker_get("/version")[2])["ApiVersion"], "1.43")
        self.assertEqual(self.sim.docker_get("/v1.43/nope")[0], 404)


class FaultTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = SimProcess("--scenario", "incident", "--fast-401")

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def setUp(self):
        self.sim.request("DELETE", "/_sim/fault")

    def fault(self, **spec):
        status, _, _, body = self.sim.request("POST", "/_sim/fault", body=spec)
        self.assertEqual(status, 200, body)

    def test_bad_fault_rejected(self):
        self.assertEqual(self.sim.request("POST", "/_sim/fault", body={"delay": 1})[0], 400)
        self.assertEqual(self.sim.request("POST", "/_sim/fault", body={"match": "("})[0], 400)

    def test_status_faults_have_pve_bodies(self):
        self.fault(match="/pve/home/api2/json/version", status=500)
        status, reason, _, body = self.sim.pve("home", "/version")
        self.assertEqual(status, 500)
        self.assertEqual(json.loads(body), {"data": None, "message": reason + "\n"})
        self.sim.request("DELETE", "/_sim/fault")
        for code in (595, 596):
            self.fault(match="/nodes$", status=code, times=1)
            status, reason, _, body = self.sim.pve("home", "/nodes")
            self.assertEqual((status, body), (code, b""))
            self.assertTrue(reason)
        self.assertEqual(self.sim.pve("home", "/nodes")[0], 200)   # times=1 used up

    def test_times_and_clear(self):
        self.fault(match="/version", status=503, times=2)
        self.assertEqual([self.sim.pve("home", "/version")[0] for _ in range(3)], [503, 503, 200])
        self.fault(match="/version", status=500)
        self.assertEqual(json.loads(self.sim.request("GET", "/_sim/fault")[3])[0]["status"], 500)
        self.sim.request("DELETE", "/_sim/fault")
        self.assertEqual(self.sim.pve("home", "/version")[0], 200)

    def test_match_includes_query(self):
        self.fault(match=r"type=vm", status=500)
        self.assertEqual(self.sim.pve("home", "/cluster/resources?type=vm")[0], 500)
        self.assertEqual(self.sim.pve("home", "/cluster/resources?type=storage")[0], 200)

    def test_delay(self):
        self.fault(match="/version", delay=0.5, times=1)
        t0 = time.monotonic()
        self.assertEqual(self.sim.pve("home", "/version")[0], 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.5)

    def test_html(self):
        self.fault(match="/n8n/app/api/v1/workflows", body="html")
        status, _, headers, body = self.sim.request("GET", "/n8n/app/api/v1/workflows", N8N_KEY)
        self.assertEqual(status, 200)
        self.assertIn("text/html", headers["Content-Type"])
        self.assertIn(b"n8n is starting up", body)

    def test_truncated(self):
        full = self.sim.pve("home", "/cluster/resources?type=vm")[3]
        self.fault(match="resources", body="truncated")
        status, _, _, body = self.sim.pve("home", "/cluster/resources?type=vm")
        self.assertEqual(status, 200)
        self.assertEqual(body, full[: len(full) // 2])
        self.assertRaises(ValueError, json.loads, body)

    def test_oversize_streams_64_mib(self):
        self.fault(match="/nodes/pve1/tasks", body="oversize", times=1)
        conn = http.client.HTTPConnection("127.0.0.1", self.sim.port, timeout=60)
        conn.request("GET", "/pve/home/api2/json/nodes/pve1/tasks", headers={"Authorization": READ["home"]})
        resp = conn.getresponse()
        self.assertEqual(int(resp.getheader("Content-Length")), 64 * 1024 * 1024)
        total, first = 0, resp.read(9)
        total += len(first)
        while True:
            chunk = resp.read(1 << 20)
            if not chunk:
                break
            total += len(chunk)
        conn.close()
        self.assertEqual((first, total), (b'{"data":[', 64 * 1024 * 1024))

    def test_empty_and_literal(self):
        self.fault(match="/version", body="empty", times=1)
        status, _, _, body = self.sim.pve("home", "/version")
        self.assertEqual((status, body), (200, b""))
        self.fault(match="/n8n/app/api/v1/", status=401, body='{"message":"invalid signature"}')
        status, _, headers, body = self.sim.request("GET", "/n8n/app/api/v1/workflows", N8N_KEY)
        self.assertEqual((status, json.loads(body)), (401, {"message": "invalid signature"}))
        self.assertIn("application/json", headers["Content-Type"])

    def test_docker_fault(self):
        self.fault(match="/containers/json", status=500, times=1)
        status, _, body = self.sim.docker_get("/v1.43/containers/json")
        self.assertEqual(status, 500)
        self.assertIn("message", json.loads(body))

    def test_stats(self):
        self.sim.request("POST", "/_sim/stats/reset")
        for _ in range(3):
            self.sim.pve("home", "/nodes?x=1")
        self.sim.docker_get("/_ping")
        stats = json.loads(self.sim.request("GET", "/_sim/stats")[3])
        self.assertEqual(stats["/pve/home/api2/json/nodes"], 3)
        self.assertEqual(stats["/_ping"], 1)
        self.assertNotIn("/_sim/stats", stats)
        self.sim.request("POST", "/_sim/stats/reset")
        self.assertEqual(json.loads(self.sim.request("GET", "/_sim/stats")[3]), {})

    def test_stats_by_method_and_request_journal(self):
        self.sim.request("POST", "/_sim/stats/reset")
        self.sim.pve("home", "/nodes")
        self.sim.pve("home", "/nodes/pve1/services/pvescheduler/restart", token=ACTION["home"],
                     method="POST", form={})
        self.sim.pve("home", "/version?x=1")
        by_method = json.loads(self.sim.request("GET", "/_sim/stats?by=method")[3])
        self.assertEqual(by_method, {"GET /pve/home/api2/json/nodes": 1,
                                     "POST /pve/home/api2/json/nodes/pve1/services/pvescheduler/restart": 1,
                                     "GET /pve/home/api2/json/version": 1})
        journal = json.loads(self.sim.request("GET", "/_sim/requests")[3])
        self.assertEqual(journal, ["GET /pve/home/api2/json/nodes",
                                   "POST /pve/home/api2/json/nodes/pve1/services/pvescheduler/restart",
                                   "GET /pve/home/api2/json/version"])
        self.sim.request("POST", "/_sim/stats/reset")
        self.assertEqual(json.loads(self.sim.request("GET", "/_sim/requests")[3]), [])
        self.assertEqual(json.loads(self.sim.request("GET", "/_sim/stats?by=method")[3]), {})

    def test_task_result_makes_next_vzdump_fail(self):
        bad = self.sim.request("POST", "/_sim/task-result", body={"cluster": "nope", "status": "x"})
        self.assertEqual(bad[0], 400)
        ok = self.sim.request("POST", "/_sim/task-result",
                              body={"cluster": "home", "status": "job errors",
                                    "error": "command 'tar' failed: exit code 2"})
        self.assertEqual(ok[0], 200)
        before = newest_by_vmid(self.sim.pve_data("home", "/nodes/pve2/storage/synology-backups/content?content=backup"))
        upids = []
        for _ in range(2):   # the first task fails, the one after it succeeds again
            status, _, _, body = self.sim.pve("home", "/nodes/pve2/vzdump", token=ACTION["home"], method="POST",
                                              form={"vmid": "105", "storage": "synology-backups"})
            self.assertEqual(status, 200, body)
            upid = json.loads(body)["data"]
            upids.append(upid)
            deadline = time.time() + 20
            while time.time() < deadline:
                st = self.sim.pve_data("home", "/nodes/pve2/tasks/%s/status" % upid)
                if st["status"] == "stopped":
                    break
                time.sleep(0.2)
            if len(upids) == 1:
                self.assertEqual(st["exitstatus"], "job errors")
                log = [l["t"] for l in self.sim.pve_data("home", "/nodes/pve2/tasks/%s/log" % upid)]
                self.assertIn("ERROR: Backup of VM 105 failed - command 'tar' failed: exit code 2", log)
                self.assertEqual(log[-1], "TASK ERROR: job errors")
                after = newest_by_vmid(self.sim.pve_data(
                    "home", "/nodes/pve2/storage/synology-backups/content?content=backup"))
                self.assertEqual(after[105], before[105])    # no archive from a failed run
            else:
                self.assertEqual(st["exitstatus"], "OK")
        self.assertEqual(self.sim.request("DELETE", "/_sim/task-result")[0], 200)


class RestoreSideTest(unittest.TestCase):
    """nextid, restore (qemu, LXC, PBS), config edits, start/resume/stop, agent ping, destroy, knobs."""

    @classmethod
    def setUpClass(cls):
        cls.sim = SimProcess("--scenario", "incident", "--fast-401", "--restore-seconds", "0.3",
                             "--boot-seconds", "0.3")

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def setUp(self):
        self.sim.request("POST", "/_sim/scenario", body={"name": "incident"})
        self.sim.request("POST", "/_sim/stats/reset")

    def call(self, method, sub, form=None, cluster="home", token=None, ok=True):
        status, _, _, body = self.sim.pve(cluster, sub, token=token or DRILL[cluster], method=method, form=form)
        doc = json.loads(body) if body else None
        if ok:
            self.assertEqual(status, 200, (method, sub, body))
            return doc["data"]
        return status, doc

    def wait(self, node, upid, cluster="home"):
        deadline = time.time() + 20
        while time.time() < deadline:
            st = self.call("GET", "/nodes/%s/tasks/%s/status" % (node, upid), cluster=cluster)
            if st["status"] == "stopped":
                return st["exitstatus"]
            time.sleep(0.05)
        self.fail("task %s did not end" % upid)

    def newest(self, cluster, node, sid, vmid):
        items = self.sim.pve_data(cluster, "/nodes/%s/storage/%s/content?content=backup&vmid=%d" % (node, sid, vmid))
        return max(items, key=lambda a: a["ctime"])["volid"]

    def report(self, cluster="home"):
        return json.loads(self.sim.request("GET", "/_sim/drill?cluster=" + cluster)[3])

    def restore_qemu(self, vmid=9900, **extra):
        form = {"vmid": str(vmid), "archive": self.newest("home", "pve1", "synology-backups", 100),
                "storage": "local-lvm", "pool": "drill", "unique": "1", "onboot": "0"}
        form.update(extra)
        return self.call("POST", "/nodes/pve1/qemu", form)

    def test_nextid(self):
        self.assertEqual(self.call("GET", "/cluster/nextid?vmid=9900"), "9900")
        status, doc = self.call("GET", "/cluster/nextid?vmid=100", ok=False)
        self.assertEqual((status, doc["errors"]), (400, {"vmid": "VM 100 already exists"}))
        self.assertEqual(self.call("GET", "/cluster/nextid"), "101")

    def test_qemu_restore_edit_boot_destroy(self):
        upid = self.restore_qemu()
        self.assertIn(":qmrestore:9900:drill@pve!drill:", upid)
        self.assertEqual(self.call("GET", "/nodes/pve1/qemu/9900/config", token=READ["home"])["lock"], "create")
        # until the restore ends the guest is not in the pool, so the drill token cannot touch it yet
        status, doc = self.call("PUT", "/nodes/pve1/qemu/9900/config", {"onboot": "0"}, ok=False)
        self.assertEqual((status, doc["message"]), (403, "Permission check failed (/vms/9900, VM.Config.Options)\n"))
        self.assertEqual(self.wait("pve1", upid), "OK")
        conf = self.call("GET", "/nodes/pve1/qemu/9900/config")
        self.assertNotIn("lock", conf)
        self.assertEqual((conf["onboot"], conf["name"], conf["agent"]), ("0", "vaultwarden", "1"))
        self.assertTrue(conf["scsi0"].startswith("local-lvm:vm-9900-disk-0"))
        backed_up = pve_drill.backed_up_config({"vmid": 100, "type": "qemu", "name": "vaultwarden"})
        self.assertTrue(backed_up["net0"].startswith("virtio=BC:24:11:"))
        self.assertNotEqual(conf["net0"].split(",")[0], backed_up["net0"].split(",")[0])   # unique=1
        vm = [g for g in self.sim.pve_data("home", "/cluster/resources?type=vm") if g["vmid"] == 9900][0]
        self.assertEqual((vm["pool"], vm["status"]), ("drill", "stopped"))
        status, doc = self.call("PUT", "/nodes/pve1/qemu/9900/config", {"onboot": "1", "digest": "0" * 40}, ok=False)
        self.assertIn("detected modified configuration", doc["message"])
        edit = {"net0": conf["net0"] + ",link_down=1", "net1": conf["net1"] + ",link_down=1", "freeze": "1",
                "digest": conf["digest"]}
        self.assertIsNone(self.call("PUT", "/nodes/pve1/qemu/9900/config", edit))
        self.assertEqual(self.wait("pve1", self.call("POST", "/nodes/pve1/qemu/9900/status/start", {})), "OK")
        cur = self.call("GET", "/nodes/pve1/qemu/9900/status/current")
        self.assertEqual((cur["status"], cur["qmpstatus"]), ("running", "prelaunch"))
        status, doc = self.call("POST", "/nodes/pve1/qemu/9900/agent/ping", {}, ok=False)
        self.assertEqual(doc["message"], "QEMU guest agent is not running\n")
        self.assertEqual(self.wait("pve1", self.call("POST", "/nodes/pve1/qemu/9900/status/resume", {})), "OK")
        deadline = time.time() + 10
        while self.call("POST", "/nodes/pve1/qemu/9900/agent/ping", {}, ok=False)[0] != 200:
            self.assertLess(time.time(), deadline)
            time.sleep(0.05)
        status, doc = self.call("DELETE", "/nodes/pve1/qemu/9900?purge=1&destroy-unreferenced-disks=1", ok=False)
        self.assertEqual((status, doc["message"]), (500, "VM 9900 is running - destroy failed\n"))
        self.assertEqual(self.wait("pve1", self.call("POST", "/nodes/pve1/qemu/9900/status/stop", {})), "OK")
        self.assertEqual(self.wait("pve1", self.call("DELETE", "/nodes/pve1/qemu/9900?purge=1&destroy-unreferenced-disks=1")), "OK")
        rep = self.report()
        self.assertEqual((rep["scratch"], rep["violations"]), ([], []))
        muts = json.loads(self.sim.request("GET", "/_sim/mutations")[3])
        self.assertEqual([(m["method"], m["path"].split("/api2/json")[1]) for m in muts],
                         [("POST", "/nodes/pve1/qemu"), ("PUT", "/nodes/pve1/qemu/9900/config"),
                          ("PUT", "/nodes/pve1/qemu/9900/config"), ("PUT", "/nodes/pve1/qemu/9900/config"),
                          ("POST", "/nodes/pve1/qemu/9900/status/start"),
                          ("POST", "/nodes/pve1/qemu/9900/agent/ping"),
                          ("POST", "/nodes/pve1/qemu/9900/status/resume")]
                         + [("POST", "/nodes/pve1/qemu/9900/agent/ping")] * (len(muts) - 10)
                         + [("DELETE", "/nodes/pve1/qemu/9900"), ("POST", "/nodes/pve1/qemu/9900/status/stop"),
                            ("DELETE", "/nodes/pve1/qemu/9900")])
        self.assertEqual(muts[0]["token"], "drill@pve!drill")
        self.assertEqual(muts[-1]["query"], {"purge": "1", "destroy-unreferenced-disks": "1"})

    def test_net_up_while_running_is_recorded(self):
        self.assertEqual(self.wait("pve1", self.restore_qemu()), "OK")
        self.assertEqual(self.wait("pve1", self.call("POST", "/nodes/pve1/qemu/9900/status/start", {})), "OK")
        rep = self.report()
        self.assertEqual(sorted(v["net"] for v in rep["violations"]), ["net0", "net1"])
        self.assertEqual(rep["violations"][0]["what"], "start")

    def test_lxc_restore_unique_rebuilds_nets(self):
        archive = self.newest("home", "pve2", "synology-backups", 105)
        upid = self.call("POST", "/nodes/pve2/lxc", {"vmid": "9901", "ostemplate": archive, "restore": "1",
                                                     "storage": "local-lvm", "pool": "drill", "unique": "1",
                                                     "net0": "name=eth0,bridge=vmbr9,link_down=1"})
        self.assertIn(":vzrestore:9901:", upid)
        self.assertEqual(self.wait("pve2", upid), "OK")
        conf = self.call("GET", "/nodes/pve2/lxc/9901/config")
        self.assertIn("bridge=vmbr0", conf["net0"])      # the passed net0 was dropped
        self.assertNotIn("link_down", conf["net0"])
        self.assertEqual(conf["hostname"], "paperless")
        edit = {"net0": conf["net0"] + ",link_down=1", "digest": conf["digest"]}
        self.call("PUT", "/nodes/pve2/lxc/9901/config", edit)
        self.assertEqual(self.wait("pve2", self.call("POST", "/nodes/pve2/lxc/9901/status/start", {})), "OK")
        self.assertEqual(self.call("GET", "/nodes/pve2/lxc/9901/status/current")["status"], "running")
        self.assertEqual(self.wait("pve2", self.call("DELETE", "/nodes/pve2/lxc/9901?force=1&purge=1")), "OK")
        self.assertEqual(self.report(), {"scratch": [], "violations": [], "restores": [],
                                         "agent_silent": False, "destroy_failures": 0})

    def test_pbs_restore(self):
        archive = self.newest("shop", "shop1", "shop-pbs", 200)
        self.assertRegex(archive, r"^shop-pbs:backup/vm/200/\d{4}-\d\d-\d\dT")
        upid = self.call("POST", "/nodes/shop1/qemu", {"vmid": "9900", "archive": archive, "storage": "local-zfs",
                                                       "pool": "drill", "unique": "1"}, cluster="shop")
        self.assertEqual(self.wait("shop1", upid, "shop"), "OK")
        log = [l["t"] for l in self.call("GET", "/nodes/shop1/tasks/%s/log" % upid, cluster="shop")]
        self.assertTrue(any("restore proxmox backup image" in l for l in log), log)

    def test_failing_restore_leaves_a_stub(self):
        self.sim.request("POST", "/_sim/drill", body={"cluster": "home", "restores": ["fail"]})
        upid = self.restore_qemu()
        status = self.wait("pve1", upid)
        self.assertIn("failed: exit code 133", status)
        log = [l["t"] for l in self.call("GET", "/nodes/pve1/tasks/%s/log" % upid)]
        self.assertIn("VM 9900 state is NOT cleaned up.", log[-2])
        rep = self.report()
        self.assertEqual([(g["vmid"], g["config"], g["pool"], g["lock"]) for g in rep["scratch"]],
                         [(9900, {}, None, None)])
        # the stub is outside the pool: the drill token (granted on the pool) may neither read nor remove it
        status, doc = self.call("DELETE", "/nodes/pve1/qemu/9900?purge=1", ok=False)
        self.assertEqual((status, doc["message"]), (403, "Permission check failed (/vms/9900, VM.Allocate)\n"))
        self.assertEqual(self.call("GET", "/nodes/pve1/qemu/9900/config", ok=False)[0], 403)
        self.assertEqual(self.call("GET", "/nodes/pve1/qemu/9900/config", token=READ["home"]), {"digest": pve_drill.digest({})})
        self.assertEqual(self.sim.request("POST", "/_sim/drill", body={"admin_destroy": [9900]})[0], 200)
        self.assertEqual(self.report()["scratch"], [])

    def test_slow_restore_and_abort(self):
        self.sim.request("POST", "/_sim/drill", body={"cluster": "home", "restores": ["slow"]})
        upid = self.restore_qemu()
        time.sleep(0.6)
        st = self.call("GET", "/nodes/pve1/tasks/%s/status" % upid)
        self.assertEqual(st["status"], "running")
        self.assertIsNone(self.call("DELETE", "/nodes/pve1/tasks/%s" % upid))
        self.assertEqual(self.wait("pve1", upid), "received interrupt")
        self.assertEqual([(g["lock"], g["pool"]) for g in self.report()["scratch"]], [(None, None)])

    def test_agent_silent_and_destroy_failing_once(self):
        self.sim.request("POST", "/_sim/drill", body={"cluster": "home", "agent_silent": True,
                                                      "destroy_failures": 1})
        self.assertEqual(self.wait("pve1", self.restore_qemu()), "OK")
        self.call("POST", "/nodes/pve1/qemu/9900/status/start", {})
        time.sleep(1)
        status, doc = self.call("POST", "/nodes/pve1/qemu/9900/agent/ping", {}, ok=False)
        self.assertEqual(doc["message"], "QEMU guest agent is not running\n")
        self.assertEqual(self.wait("pve1", self.call("POST", "/nodes/pve1/qemu/9900/status/stop", {})), "OK")
        first = self.wait("pve1", self.call("DELETE", "/nodes/pve1/qemu/9900?purge=1"))
        self.assertIn("in use", first)
        self.assertEqual(len(self.report()["scratch"]), 1)
        self.assertEqual(self.wait("pve1", self.call("DELETE", "/nodes/pve1/qemu/9900?purge=1")), "OK")
        self.assertEqual(self.report()["scratch"], [])

    def test_refusals(self):
        archive = self.newest("home", "pve1", "synology-backups", 100)
        form = {"vmid": "9900", "archive": archive, "storage": "local-lvm"}
        self.assertEqual(self.call("POST", "/nodes/pve1/qemu", form, token=READ["home"], ok=False)[0], 403)
        self.assertEqual(self.call("POST", "/nodes/pve1/qemu", form, token=ACTION["home"], ok=False)[0], 403)
        status, doc = self.call("POST", "/nodes/pve1/qemu", dict(form, pool="nope"), ok=False)
        self.assertEqual((status, doc["message"]), (403, "pool 'nope' does not exist\n"))
        status, doc = self.call("POST", "/nodes/pve1/qemu", dict(form, scsi0="local-lvm:1"), ok=False)
        self.assertEqual(doc["errors"], {"scsi0": "option conflicts with option 'archive'"})
        status, doc = self.call("POST", "/nodes/pve1/qemu", dict(form, vmid="100"), ok=False)
        self.assertIn("already exists", doc["message"])
        status, doc = self.call("POST", "/nodes/pve1/qemu", dict(form, storage="synology-backups"), ok=False)
        self.assertIn("does not support vm images", doc["message"])
        # production guests are out of the drill token's reach
        for method, sub in (("DELETE", "/nodes/pve1/qemu/100"), ("POST", "/nodes/pve1/qemu/100/status/stop"),
                            ("PUT", "/nodes/pve1/qemu/100/config")):
            status, doc = self.call(method, sub, {"onboot": "0"} if method == "PUT" else None, ok=False)
            self.assertEqual(status, 403, (method, sub))
        self.assertEqual(self.sim.request("POST", "/_sim/drill", body={"restores": ["maybe"]})[0], 400)
        self.assertEqual(self.sim.request("POST", "/_sim/drill", body={"cluster": "nope"})[0], 400)


class PbsTest(unittest.TestCase):
    """The PBS pbs1: stores, namespaces, snapshots that agree with shop-pbs, jobs, GC, tasks, knobs."""

    @classmethod
    def setUpClass(cls):
        cls.sim = SimProcess("--scenario", "incident", "--fast-401")

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def setUp(self):
        self.sim.request("POST", "/_sim/scenario", body={"name": "incident"})

    def knobs(self, **spec):
        status, _, _, body = self.sim.request("POST", "/_sim/pbs", body=spec)
        self.assertEqual(status, 200, body)

    def test_stores_and_namespaces(self):
        self.assertEqual(self.sim.pbs_data("/version")["version"], "3.4")
        stores = self.sim.pbs_data("/admin/datastore")
        self.assertEqual([s["store"] for s in stores], ["store1", "offsite"])
        self.assertIsNone(stores[1]["comment"])
        self.assertEqual([n["ns"] for n in self.sim.pbs_data("/admin/datastore/store1/namespace")],
                         ["", "site-b", "site-b/lab"])
        st = self.sim.pbs_data("/admin/datastore/offsite/status?verbose=1")
        self.assertLess(st["avail"], st["total"] - st["used"])
        self.assertEqual(st["counts"]["host"], None)
        self.assertEqual(self.sim.pbs("/admin/datastore/store1/snapshots?ns=nope")[0], 400)

    def test_snapshots_agree_with_pve(self):
        archives = self.sim.pve_data("shop", "/nodes/shop1/storage/shop-pbs/content?content=backup")
        snaps = self.sim.pbs_data("/admin/datastore/store1/snapshots")
        finished = [s for s in snaps if "size" in s]
        self.assertEqual(sorted((str(a["vmid"]), a["ctime"]) for a in archives),
                         sorted((s["backup-id"], s["backup-time"]) for s in finished if s["backup-type"] != "host"))
        running = [s for s in snaps if "size" not in s]
        self.assertEqual([(s["backup-type"], s["backup-id"]) for s in running], [("host", "files")])
        self.assertNotIn("verification", running[0])
        failed = [s for s in finished if s.get("verification", {}).get("state") == "failed"]
        self.assertEqual([(s["backup-id"]) for s in failed], ["204"])
        lab = self.sim.pbs_data("/admin/datastore/store1/snapshots?ns=site-b/lab")
        self.assertEqual({s["backup-id"] for s in lab}, {"300"})
        one = self.sim.pbs_data("/admin/datastore/store1/snapshots?backup-type=vm&backup-id=204")
        self.assertEqual({s["backup-id"] for s in one}, {"204"})
        groups = self.sim.pbs_data("/admin/datastore/store1/groups")
        self.assertEqual(len(groups), 14)
        # PVE's storage.cfg points shop-pbs at this simulator's PBS, datastore store1
        cfg = {s["storage"]: s for s in self.sim.pve_data("shop", "/storage?type=pbs")}
        self.assertEqual((cfg["shop-pbs"]["server"], cfg["shop-pbs"]["port"], cfg["shop-pbs"]["datastore"]),
                         ("127.0.0.1", self.sim.port, "store1"))

    def test_jobs_gc_and_overdue_sync(self):
        now = time.time()
        sync = {j["id"]: j for j in self.sim.pbs_data("/admin/sync?sync-direction=all")}
        self.assertEqual(set(sync), {"s-siteb-pull", "s-offsite", "s-push-cloud"})
        self.assertLess(sync["s-offsite"]["next-run"], now - 3600)   # overdue
        self.assertGreater(sync["s-siteb-pull"]["next-run"], now)
        pull_only = {j["id"] for j in self.sim.pbs_data("/admin/sync")}
        self.assertEqual(pull_only, {"s-siteb-pull", "s-offsite"})
        verify = {j["id"]: j for j in self.sim.pbs_data("/admin/verify")}
        self.assertTrue(verify["v-store1"]["last-run-state"].startswith("verification failed"))
        prune = {j["id"]: j for j in self.sim.pbs_data("/admin/prune")}
        self.assertNotIn("next-run", prune["p-offsite"])
        self.assertNotIn("last-run-state", prune["p-offsite"])
        gc = self.sim.pbs_data("/admin/datastore/offsite/gc")
        self.assertTrue(gc["last-run-state"].startswith("unable to access chunk store"))
        self.assertEqual(self.sim.pbs_data("/admin/datastore/store1/gc")["still-bad"], 1)
        self.assertEqual(len(self.sim.pbs_data("/admin/gc")), 2)
        status, _, _, body = self.sim.pbs("/admin/verify?foo=1")
        self.assertEqual((status, body.split(b"\n")[-2]), (400, b"foo: schema does not allow additional properties"))

    def test_usage_and_tasks(self):
        now = time.time()
        usage = {u["store"]: u for u in self.sim.pbs_data("/status/datastore-usage")}
        self.assertEqual(len(usage["store1"]["history"]), 1440)
        self.assertIsNone(usage["offsite"]["history"][0])     # created 20 days ago
        self.assertAlmostEqual((usage["offsite"]["estimated-full-date"] - now) / DAY, 10.4, delta=0.5)
        status, _, _, body = self.sim.pbs("/nodes/localhost/tasks?statusfilter=error&limit=500")
        doc = json.loads(body)
        self.assertEqual(sorted(t["worker_type"] for t in doc["data"]),
                         ["backup", "garbage_collection", "verificationjob"])
        self.assertTrue(all(t["node"] == "localhost" for t in doc["data"]))
        everything = json.loads(self.sim.pbs("/nodes/pbs1/tasks?limit=3")[3])
        self.assertEqual((len(everything["data"]), everything["total"]), (3, 4))
        self.assertNotIn("endtime", everything["data"][0])   # the running backup comes first

    def test_auth_and_knobs(self):
        status, _, hdrs, body = self.sim.pbs("/version", headers={"Authorization": "PBSAPIToken=x@pbs!y:z"})
        self.assertEqual((status, body), (401, b"authentication failed - invalid credentials\n"))
        self.assertEqual(self.sim.pbs_data("/version", headers={
            "Authorization": "PBSAPIToken monitor@pbs!exporter:sim-pbs-secret-pbs1"})["version"], "3.4")
        self.knobs(datastore="offsite", denied=True)
        self.assertEqual(self.sim.pbs("/admin/datastore/offsite/status")[0], 403)
        self.assertEqual(self.sim.pbs("/admin/datastore/store1/status")[0], 200)
        self.assertNotIn("v-offsite", {j["id"] for j in self.sim.pbs_data("/admin/verify")})
        self.assertEqual(self.sim.pbs_data("/status/datastore-usage")[1], {"store": "offsite"})
        self.knobs(datastore="store1", delay=1.0)
        t0 = time.monotonic()
        self.sim.pbs_data("/admin/datastore/store1/snapshots")
        self.assertGreaterEqual(time.monotonic() - t0, 0.9)
        self.knobs(version="3.2")
        self.assertEqual(self.sim.pbs("/admin/sync?sync-direction=all")[0], 400)
        self.assertEqual(self.sim.request("POST", "/_sim/pbs", body={"datastore": "nope"})[0], 400)
        self.sim.request("POST", "/_sim/scenario", body={"name": "incident"})   # knobs reset
        self.assertEqual(self.sim.pbs("/admin/datastore/offsite/status")[0], 200)

    def test_healthy(self):
        self.sim.request("POST", "/_sim/scenario", body={"name": "healthy"})
        now = time.time()
        for kind in ("verify", "prune", "sync"):
            for job in self.sim.pbs_data("/admin/%s?sync-direction=all" % kind if kind == "sync" else "/admin/" + kind):
                if "last-run-state" in job:
                    self.assertEqual(job["last-run-state"], "OK", job["id"])
                    self.assertGreater(job["next-run"], now, job["id"])
        for store in ("store1", "offsite"):
            gc = self.sim.pbs_data("/admin/datastore/%s/gc" % store)
            self.assertEqual((gc["last-run-state"], gc["still-bad"]), ("OK", 0))
        snaps = self.sim.pbs_data("/admin/datastore/store1/snapshots")
        self.assertFalse([s for s in snaps if s.get("verification", {}).get("state") == "failed"])


class ScenarioSwitchTest(unittest.TestCase):
    def test_healthy_after_switch(self):
        sim = SimProcess("--scenario", "incident", "--fast-401")
        try:
            status, _, _, body = sim.request("POST", "/_sim/scenario", body={"name": "healthy"})
            self.assertEqual(status, 200, body)
            self.assertEqual(sim.request("POST", "/_sim/scenario", body={"name": "nope"})[0], 400)
            archives = sim.pve_data("home", "/nodes/pve1/storage/synology-backups/content?content=backup")
            for vmid, ctime in newest_by_vmid(archives).items():
                self.assertLess(time.time() - ctime, 18 * 3600, vmid)
            ids, cursor, active, archived = [], None, 0, 0
            while True:
                q = "limit=10" + ("&cursor=" + cursor if cursor else "")
                doc = json.loads(sim.request("GET", "/n8n/app/api/v1/workflows?" + q, N8N_KEY)[3])
                ids += [w["id"] for w in doc["data"]]
                active += sum(w["active"] for w in doc["data"])
                archived += sum(w["isArchived"] for w in doc["data"])
                cursor = doc["nextCursor"]
                if cursor is None:
                    break
            self.assertEqual((len(ids), len(set(ids)), active, archived), (35, 35, 11, 3))
            doc = json.loads(sim.request("GET", "/n8n/app/api/v1/workflows?limit=0", N8N_KEY)[3])
            self.assertEqual(len(doc["data"]), 35)
            self.assertEqual(json.loads(base64.b64decode(doc["nextCursor"])), {"limit": 0, "offset": 0})
            for q, msg in (("limit=251", "request/query/limit must be <= 250"),
                           ("limit=abc", "request/query/limit must be number"),
                           ("cursor=garbage", "An invalid cursor was provided")):
                status, _, _, body = sim.request("GET", "/n8n/app/api/v1/workflows?" + q, N8N_KEY)
                self.assertEqual((status, json.loads(body)), (400, {"message": msg}))
        finally:
            sim.stop()


class BenchTest(unittest.TestCase):
    def test_bench_sizes(self):
        sim = SimProcess("--scenario", "bench", "--guests", "60", "--nodes", "3",
                         "--archives-per-guest", "4", "--workflows", "520", "--pbs-groups", "40",
                         "--pbs-snapshots", "3")
        try:
            self.assertEqual(len(sim.pve_data("bench", "/nodes")), 3)
            self.assertEqual(len(sim.pve_data("bench", "/cluster/resources?type=vm")), 60)
            archives = sim.pve_data("bench", "/nodes/bench2/storage/bench-nfs/content?content=backup")
            self.assertEqual(len(archives), 240)
            doc = json.loads(sim.request("GET", "/n8n/app/api/v1/workflows?limit=250", N8N_KEY)[3])
            self.assertEqual(len(doc["data"]), 250)
            self.assertEqual(json.loads(base64.b64decode(doc["nextCursor"])), {"limit": 250, "offset": 250})
            snaps = sim.pbs_data("/admin/datastore/bench/snapshots", name="bench",
                                 headers={"Authorization": "PBSAPIToken=monitor@pbs!exporter:sim-pbs-secret-bench"})
            self.assertEqual((len(snaps), len({s["backup-id"] for s in snaps})), (40 * 3, 40))
        finally:
            sim.stop()


class SlowAuthAndTlsTest(unittest.TestCase):
    def test_401_is_delayed_like_pve(self):
        sim = SimProcess("--scenario", "incident")
        try:
            t0 = time.monotonic()
            self.assertEqual(sim.pve("home", "/version", token="PVEAPIToken=x@pve!y=z")[0], 401)
            self.assertGreaterEqual(time.monotonic() - t0, 2.5)
        finally:
            sim.stop()

    @unittest.skipUnless(shutil.which("openssl"), "openssl not installed")
    def test_tls(self):
        import ssl
        d = tempfile.mkdtemp()
        cert, key = os.path.join(d, "c.pem"), os.path.join(d, "k.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        sim = SimProcess("--scenario", "incident", tls=(cert, key))
        try:
            ctx = ssl.create_default_context(cafile=cert)
            conn = http.client.HTTPSConnection("127.0.0.1", sim.port, context=ctx, timeout=10)
            conn.request("GET", "/pve/home/api2/json/version", headers={"Authorization": READ["home"]})
            resp = conn.getresponse()
            self.assertEqual(json.loads(resp.read())["data"]["version"], "9.1.2")
            conn.close()
        finally:
            sim.stop()
            shutil.rmtree(d, ignore_errors=True)


class RestorabilityTest(unittest.TestCase):
    """shop-pbs through PVE: verification ok / failed / absent, protected, encrypted; the `restore` scenario."""

    @classmethod
    def setUpClass(cls):
        cls.sim = SimProcess("--scenario", "restore", "--fast-401")

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def newest_first(self, vmid):
        items = self.sim.pve_data("shop", "/nodes/shop2/storage/shop-pbs/content?content=backup")
        return sorted((a for a in items if a["vmid"] == vmid), key=lambda a: -a["ctime"])

    def test_flags_pass_through(self):
        states = {a.get("verification", {}).get("state") for a in
                  self.sim.pve_data("shop", "/nodes/shop1/storage/shop-pbs/content?content=backup")}
        self.assertEqual(states, {None, "ok", "failed"})
        files = self.newest_first(206)
        self.assertTrue(files and all(a["encrypted"].count(":") == 31 for a in files))
        erp = self.newest_first(205)
        self.assertEqual(erp[0].get("protected"), 1)
        self.assertTrue(all("protected" not in a for a in erp[1:]))
        self.assertTrue(all("encrypted" not in a for a in erp))
        # PBS sees the same flags on the same snapshots
        snaps = self.sim.pbs_data("/admin/datastore/store1/snapshots?backup-type=ct&backup-id=206")
        self.assertTrue(all(f.get("crypt-mode") in ("encrypt", "sign-only") for s in snaps
                            for f in s["files"] if "crypt-mode" in f))
        vm205 = self.sim.pbs_data("/admin/datastore/store1/snapshots?backup-type=vm&backup-id=205")
        self.assertEqual([s["protected"] for s in sorted(vm205, key=lambda s: -s["backup-time"])][:2], [True, False])

    def test_newest_failed_and_old_verification(self):
        now = time.time()
        mail = self.newest_first(204)
        self.assertEqual(mail[0]["verification"]["state"], "failed")
        fields = mail[0]["verification"]["upid"].split(":")
        self.assertEqual(len(fields), 10)                              # PBS's UPID: a task id before the start
        self.assertAlmostEqual(int(fields[5], 16), now - 2 * 3600, delta=120)
        wiki = self.newest_first(208)
        verified = [a for a in wiki if a.get("verification", {}).get("state") == "ok"]
        self.assertEqual(len(verified), 1)
        self.assertAlmostEqual(now - verified[0]["ctime"], 9 * DAY, delta=120)
        self.assertLess(now - wiki[0]["ctime"], DAY)


    def test_seed_has_no_failed_verification(self):
        """The seed incident alone: the stalled scheduler and n8n, no snapshot PVE lists is corrupt."""
        try:
            status, _, _, body = self.sim.request("POST", "/_sim/scenario", body={"name": "seed"})
            self.assertEqual(status, 200, body)
            items = self.sim.pve_data("shop", "/nodes/shop1/storage/shop-pbs/content?content=backup")
            self.assertEqual([a for a in items if a.get("verification", {}).get("state") == "failed"], [])
            self.assertNotEqual(self.newest_first(204)[0].get("verification", {}).get("state"), "failed")
        finally:
            self.sim.request("POST", "/_sim/scenario", body={"name": "restore"})


class CalendarTest(unittest.TestCase):
    def test_formats(self):
        base = time.mktime((2026, 9, 21, 14, 13, 20, 0, 0, -1))   # a Monday, local time
        cases = {"02:00": (22, 2, 0), "*-*-* 01:30": (22, 1, 30), "sat 02:00": (26, 2, 0),
                 "mon..fri 21:00": (21, 21, 0), "*/6:00": (21, 18, 0), "06,18:30": (21, 18, 30),
                 "*/30": (21, 14, 30), "3/6:15": (21, 15, 15), "weekly": (28, 0, 0)}
        for sched, (day, hour, minute) in cases.items():
            lt = time.localtime(calevent.next_event(sched, base))
            self.assertEqual((lt.tm_mday, lt.tm_hour, lt.tm_min), (day, hour, minute), sched)
        slot = calevent.next_event("02:00", base)
        self.assertEqual(calevent.next_event("02:00", slot) - slot, DAY)
        for bad in ("", "funday 02:00", "25:00", "*/0:00", "a b c"):
            self.assertRaises(ValueError, calevent.Schedule, bad)


class PbsScheduleTest(unittest.TestCase):
    """The PBS scenario at any time of day: a healthy job's next run is ahead, only the stopped
    offsite sync of the incident is overdue (built in-process at chosen clocks, no server)."""

    def test_next_runs_over_a_weekend(self):
        import scenarios  # noqa: E402  (the builders, called with a chosen `now`)
        import pbs  # noqa: E402
        opts = type("Opts", (), {"task_seconds": 0})()
        saturday = int(time.mktime((2026, 11, 28, 0, 0, 0, 0, 0, -1)))  # sat 06:00 / 22:00, sun 02:00 slots
        checked = 0
        for hour in range(48):
            for minute in (1, 16, 31):   # just after the :00, :15 and :30 slots
                now = saturday + hour * 3600 + minute * 60 + 7
                shop = scenarios.build_shop(now, opts)
                for incident in (False, True):
                    inst = scenarios.build_pbs(now, incident, shop)
                    for job in inst.jobs:
                        item = pbs._job_item(inst, job, now)
                        if "next-run" not in item:
                            continue
                        overdue = incident and job.id == "s-offsite"
                        self.assertEqual(item["next-run"] <= now, overdue, (time.ctime(now), incident, job.id))
                        checked += 1
                    for store in inst.stores.values():
                        gc = pbs.gc_job_status(inst, store, now)
                        self.assertGreater(gc["next-run"], now, (time.ctime(now), incident, store.name))
                        self.assertLessEqual(gc["last-run-endtime"], now)
        self.assertEqual(checked, 48 * 3 * 2 * 6)   # seven jobs, p-offsite disabled


if __name__ == "__main__":
    unittest.main()
