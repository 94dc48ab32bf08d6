"""pve.py - one simulated Proxmox VE cluster: its state and its /api2/json answers."""

import json
import random
import re
import threading
import time

import calevent
import pve_drill
from faults import Reply, json_reply

TOKEN_RE = re.compile(r"(?:^|\s)PVEAPIToken(?:=| )([^;]*)")
READ_TOKEN = "monitor@pve!exporter"
ACTION_TOKEN = "ops@pve!actions"
ROOT_ONLY_PARAMS = ("tmpdir", "dumpdir", "script", "job-id")
SERVICES = {
    "chrony": "chrony, an NTP client/server", "corosync": "Corosync Cluster Engine",
    "cron": "Regular background program processing daemon",
    "pve-cluster": "The Proxmox VE cluster filesystem", "pvedaemon": "PVE API Daemon",
    "pveproxy": "PVE API Proxy Server", "pvescheduler": "Proxmox VE scheduler",
    "pvestatd": "PVE Status Daemon", "sshd": "OpenBSD Secure Shell server",
}
CACHE_MAX = 512
SIM_PORT = 0  # the simulator's TCP port once bound (sim.main): PBS storages point at the simulated PBS
MAX_FINISHED_BROADCAST = 25


def pve_error(status, message, errors=None, close=True):
    """A PVE error: message in the reason phrase and (libpve-http-server >= 5.2) in the body."""
    body = {"data": None}
    if errors:
        body["errors"] = errors
    body["message"] = message + "\n"
    return json_reply(body, status, reason=message.split("\n")[0], close=close)


def status_reply(status):
    """The answer for a bare status fault on a PVE path."""
    reasons = {400: "Parameter verification failed.", 401: "Authentication failed!",
               403: "Permission check failed (/, Sys.Audit)", 500: "got timeout",
               501: "Method not implemented", 595: "Connection refused",
               596: "Connection timed out", 597: "Broken pipe", 599: "Connection reset by peer"}
    reason = reasons.get(status, "simulated error")
    if status == 401 or status >= 595:
        return Reply(status, b"", ctype=None, reason=reason, close=True)
    return pve_error(status, reason)


def make_upid(node, pid, pstart, start, ttype, tid, user):
    return "UPID:%s:%08X:%08X:%08X:%s:%s:%s:" % (node, pid, pstart, start, ttype, tid, user)


class Cluster:
    """The state of one cluster. All mutation happens under `lock` and clears `cache`."""

    def __init__(self, name, nodes, guests, storages, jobs, version, now, seed=1,
                 task_seconds=3.0, restart_seconds=1.0):
        self.name = name
        self.nodes = nodes              # [{"node": "pve1", ...static node fields}]
        self.guests = guests            # [{"vmid", "type", "name", "node", ...}]
        self.storages = storages        # {sid: {"type", "content", "shared", ...}}
        self.jobs = jobs                # [job config as served, without next-run]
        self.version = version
        self.now = now
        self.rng = random.Random(seed)
        self.task_seconds = task_seconds
        self.restart_seconds = restart_seconds
        self.lock = threading.RLock()
        self.cache = {}
        self.archives = {}              # sid (shared) or (sid, node) -> [archive dict]
        self.tasks = {n["node"]: [] for n in nodes}
        self.services = {n["node"]: {s: {"state": "running", "active-state": "active",
                                         "unit-state": "enabled"} for s in SERVICES}
                         for n in nodes}
        self.task_results = []          # outcomes queued by POST /_sim/task-result
        self.next_pid = 100000 + seed * 977
        self.pstart = {n["node"]: 90000000 + i * 1234567 for i, n in enumerate(nodes)}

    # ----- lookups -----
    def node_names(self):
        return [n["node"] for n in self.nodes]

    def guest(self, vmid):
        for g in self.guests:
            if g["vmid"] == vmid:
                return g
        return None

    def storage_on(self, sid, node):
        st = self.storages.get(sid)
        return st if st and (st.get("nodes") is None or node in st["nodes"]) else None

    def archive_key(self, sid, node):
        return sid if int(self.storages[sid].get("shared", 0)) else (sid, node)

    def selected(self, job):
        """Guests a job selects (PVE get_included_guests), ignoring `enabled`."""
        if job.get("pool"):
            chosen = [g for g in self.guests if g.get("pool") == job["pool"]]
        elif job.get("vmid"):
            ids = {int(v) for v in str(job["vmid"]).split(",") if v.strip()}
            chosen = [g for g in self.guests if g["vmid"] in ids]
        elif int(job.get("all", 0)):
            excl = {int(v) for v in str(job.get("exclude", "")).split(",") if v.strip()}
            chosen = [g for g in self.guests if g["vmid"] not in excl]
        else:
            chosen = []
        if job.get("node"):
            chosen = [g for g in chosen if g["node"] == job["node"]]
        return chosen

    # ----- scenario building (also used by finished vzdump tasks) -----
    def new_pid(self):
        self.next_pid += self.rng.randint(3, 400)
        return self.next_pid

    def add_task(self, node, ttype, tid, user, start, end=None, status=None, vmids=None,
                 storage=None, tokenid=None):
        pid = self.new_pid()
        full_user = user + ("!" + tokenid if tokenid else "")
        task = {"upid": make_upid(node, pid, self.pstart[node], start, ttype, tid, full_user),
                "node": node, "pid": pid, "pstart": self.pstart[node], "starttime": start,
                "type": ttype, "id": tid, "user": user}
        if tokenid:
            task["tokenid"] = tokenid
        if end is not None:
            task["endtime"] = end
            task["status"] = status
        task["_vmids"] = vmids or []
        task["_storage"] = storage
        self.tasks[node].append(task)
        self.tasks[node].sort(key=lambda t: -t["starttime"])
        self.cache.clear()
        return task

    def add_archive(self, guest, sid, ctime, size, node=None, extra=None):
        st = self.storages[sid]
        qemu = guest["type"] == "qemu"
        if st["type"] == "pbs":
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ctime))
            volid = "%s:backup/%s/%d/%s" % (sid, "vm" if qemu else "ct", guest["vmid"], stamp)
            fmt = "pbs-vm" if qemu else "pbs-ct"
        else:
            stamp = time.strftime("%Y_%m_%d-%H_%M_%S", time.localtime(ctime))
            fmt = "vma.zst" if qemu else "tar.zst"
            volid = "%s:backup/vzdump-%s-%d-%s.%s" % (sid, guest["type"], guest["vmid"], stamp, fmt)
        arch = {"volid": volid, "content": "backup", "format": fmt, "subtype": guest["type"],
                "vmid": guest["vmid"], "ctime": ctime, "size": size}
        arch.update(extra or {})
        key = self.archive_key(sid, node or guest["node"])
        self.archives.setdefault(key, []).append(arch)
        self.cache.clear()
        return arch

    def guest_size(self, guest):
        base = guest.get("backup_size", 2 * 1024 ** 3)
        return int(base * (0.9 + 0.2 * self.rng.random()))

    def run_job(self, job, start, status=None, failed=(), storage=None):
        """Record one finished scheduled run: a task per node with local guests, an archive
        per guest that did not fail. `status` maps node -> task status (default OK)."""
        sid = storage or job["storage"]
        for node in self.node_names():
            local = [g for g in self.selected(job) if g["node"] == node]
            if not local:
                continue
            t = start
            for g in local:
                t += 40 + self.rng.randint(0, 400)
                if g["vmid"] in failed:
                    continue
                notes = None
                if job.get("notes-template"):
                    notes = job["notes-template"].replace("{{guestname}}", g.get("name", ""))
                self.add_archive(g, sid, t, self.guest_size(g), node,
                                 {"notes": notes} if notes else None)
            tid = str(local[0]["vmid"]) if len(local) == 1 else ""
            st = (status or {}).get(node, "job errors" if failed else "OK")
            self.add_task(node, "vzdump", tid, "root@pam", start, t + 5, st,
                          [g["vmid"] for g in local], sid)

    def set_task_results(self, results):
        with self.lock:
            self.task_results = list(results)

    def take_task_result(self):
        """The queued outcome for the next vzdump task, or None (it ends OK)."""
        return self.task_results.pop(0) if self.task_results else None

    def mutate(self, fn, *args):
        with self.lock:
            fn(*args)
            self.cache.clear()


def auth_role(cluster, header):
    """'read', 'action', or the 401 reason phrase."""
    m = TOKEN_RE.search(header or "")
    if not m:
        return None, "No ticket"
    value = m.group(1)
    if "=" not in value:
        return None, "Authentication failed!"
    tokenid, secret = value.rsplit("=", 1)
    if tokenid == READ_TOKEN and secret == "sim-read-secret-" + cluster.name:
        return "read", None
    if tokenid == ACTION_TOKEN and secret == "sim-action-secret-" + cluster.name:
        return "action", None
    if tokenid == pve_drill.DRILL_TOKEN and secret == "sim-drill-secret-" + cluster.name:
        return "drill", None
    return None, "Authentication failed!"


def _ok(data, **extra):
    body = {"data": data}
    body.update(extra)
    return json_reply(body)


def _bool(value):
    return str(value).lower() in ("1", "true", "yes", "on")


def _int(query, key, default):
    try:
        return int(query.get(key, default))
    except ValueError:
        raise ParamError({key: "value '%s' does not look like a valid integer" % query.get(key)})


class ParamError(Exception):
    def __init__(self, errors):
        Exception.__init__(self, "Parameter verification failed.")
        self.errors = errors


class PveApi:
    """Routes one request to a cluster. `opts` carries fast_401."""

    def __init__(self, fast_401=False):
        self.fast_401 = fast_401

    def handle(self, cluster, method, sub, query, form, auth):
        role, why = auth_role(cluster, auth)
        if role is None:
            if not self.fast_401:
                time.sleep(3)
            return Reply(401, b"", ctype=None, reason=why, close=True)
        try:
            ours, data = pve_drill.handle(cluster, role, method, sub, query, form)
            if ours:
                return _ok(data)
            if method == "GET":
                return self.get(cluster, sub, query)
            if method == "POST":
                return self.post(cluster, role, sub, form)
            return pve_error(501, "Method '%s %s' not implemented" % (method, sub))
        except ParamError as e:
            return pve_error(400, "Parameter verification failed.", e.errors)
        except pve_drill.DrillError as e:
            return pve_error(e.status, e.message, e.errors)

    # ----- GET -----
    def get(self, c, sub, query):
        parts = [p for p in sub.split("/") if p]
        if parts[:1] == ["nodes"] and len(parts) >= 2 and parts[1] not in c.node_names():
            return pve_error(500, "hostname lookup '%s' failed - failed to get address info for: "
                             "%s: Name or service not known" % (parts[1], parts[1]))
        for regex, fn, cacheable in GET_ROUTES:
            m = regex.match(sub)
            if not m:
                continue
            if not cacheable:
                with c.lock:
                    return fn(c, query, *m.groups())
            key = (sub, tuple(sorted(query.items())))
            with c.lock:
                hit = c.cache.get(key)
                if hit is None:
                    reply = fn(c, query, *m.groups())
                    if reply.status != 200:
                        return reply
                    if len(c.cache) >= CACHE_MAX:
                        c.cache.clear()
                    c.cache[key] = hit = reply.body
            return Reply(200, hit)
        return pve_error(501, "Method 'GET /api2/json%s' not implemented" % sub)

    # ----- POST -----
    def post(self, c, role, sub, form):
        m = re.match(r"^/nodes/([^/]+)/vzdump$", sub)
        if m:
            return self.vzdump(c, role, m.group(1), form)
        m = re.match(r"^/nodes/([^/]+)/services/([^/]+)/(start|stop|restart|reload)$", sub)
        if m:
            return self.service_action(c, role, *m.groups())
        return pve_error(501, "Method 'POST /api2/json%s' not implemented" % sub)

    def vzdump(self, c, role, node, form):
        if node not in c.node_names():
            return pve_error(500, "hostname lookup '%s' failed - failed to get address info for: "
                             "%s: Name or service not known" % (node, node))
        vmids = []
        for v in str(form.get("vmid", "")).split(","):
            v = v.strip()
            if not v:
                continue
            if not re.match(r"^[1-9][0-9]{2,8}$", v):
                raise ParamError({"vmid": "value does not look like a valid VM ID"})
            vmids.append(int(v))
        if not vmids and not _bool(form.get("all", 0)) and not form.get("pool"):
            raise ParamError({"vmid": "property is missing"})
        if role != "action":
            path = "/vms/%d" % vmids[0] if vmids else "/vms"
            return pve_error(403, "Permission check failed (%s, VM.Backup)" % path)
        for key in ROOT_ONLY_PARAMS:
            if key in form:
                raise ParamError({key: "Only root may set this option."})
        sid = form.get("storage", "local")
        with c.lock:
            if sid not in c.storages:
                return pve_error(500, "storage '%s' does not exist" % sid)
            if "backup" not in c.storages[sid]["content"].split(","):
                return pve_error(500, "storage '%s' does not support backups" % sid)
            job = {"vmid": ",".join(map(str, vmids)), "all": form.get("all", 0),
                   "pool": form.get("pool"), "exclude": form.get("exclude", "")}
            for v in vmids:
                if c.guest(v) is None:
                    return pve_error(500, "unable to find VM '%d'" % v)
            local = [g for g in c.selected(job) if g["node"] == node]
            if (form.get("node") and form["node"] != node) or not local:
                return _ok("OK")
            now = int(time.time())
            tid = str(local[0]["vmid"]) if len(local) == 1 else ""
            task = c.add_task(node, "vzdump", tid, "ops@pve", now, vmids=[g["vmid"] for g in local],
                              storage=sid, tokenid="actions")
            task["_params"] = dict(form)
            task["_outcome"] = c.take_task_result()
            for g in local:
                g["lock"] = "backup"
        timer = threading.Timer(c.task_seconds, finish_vzdump, (c, task))
        timer.daemon = True
        timer.start()
        return _ok(task["upid"])

    def service_action(self, c, role, node, svc, action):
        if role != "action":
            return pve_error(403, "Permission check failed (/nodes/%s, Sys.Modify)" % node)
        if node not in c.node_names():
            return pve_error(500, "hostname lookup '%s' failed" % node)
        if svc not in SERVICES:
            return pve_error(500, "unknown service '%s'" % svc)
        with c.lock:
            task = c.add_task(node, "srv" + action, svc, "ops@pve", int(time.time()),
                              tokenid="actions")
        timer = threading.Timer(c.restart_seconds, finish_service, (c, task, svc, action))
        timer.daemon = True
        timer.start()
        return _ok(task["upid"])


# ----- task completion (timer threads) -----
def finish_vzdump(c, task):
    with c.lock:
        params = task.get("_params", {})
        sid = task["_storage"]
        outcome = task.get("_outcome")
        for vmid in task["_vmids"]:
            g = c.guest(vmid)
            g.pop("lock", None)
            if outcome:
                continue
            extra = {}
            if params.get("notes-template"):
                extra["notes"] = (params["notes-template"].replace("{{guestname}}", g.get("name", ""))
                                  .replace("{{vmid}}", str(vmid)).replace("{{node}}", g["node"])
                                  .replace("{{cluster}}", c.name))
            if _bool(params.get("protected", 0)):
                extra["protected"] = 1
            c.add_archive(g, sid, int(time.time()), c.guest_size(g), task["node"], extra)
        task["endtime"] = int(time.time())
        task["status"] = outcome["status"] if outcome else "OK"
        c.cache.clear()


def finish_service(c, task, svc, action):
    with c.lock:
        st = c.services[task["node"]][svc]
        if action == "stop":
            st.update({"state": "dead", "active-state": "inactive"})
        else:
            st.update({"state": "running", "active-state": "active"})
        task["endtime"] = int(time.time())
        task["status"] = "OK"
        c.cache.clear()


# ----- GET handlers: fn(cluster, query, *path groups) -> Reply -----
def get_version(c, q):
    return _ok(c.version)


def get_nodes(c, q):
    return _ok([dict(n) for n in c.nodes])


def guest_resource(c, g):
    item = {"id": "%s/%d" % (g["type"], g["vmid"]), "vmid": g["vmid"], "node": g["node"],
            "type": g["type"], "status": g.get("status", "running")}
    running = item["status"] == "running"
    if not g.get("no_rrd"):
        item.update({"name": g["name"], "template": g.get("template", 0),
                     "uptime": g.get("uptime", 86400 * 12 + g["vmid"]) if running else 0,
                     "maxcpu": g.get("maxcpu", 2), "cpu": 0.0123 if running else 0,
                     "maxmem": g.get("maxmem", 2147483648),
                     "mem": 812345344 if running else 0, "maxdisk": g.get("maxdisk", 34359738368),
                     "disk": 0 if g["type"] == "qemu" else 1234567890,
                     "netin": 4567890 if running else 0, "netout": 234567 if running else 0,
                     "diskread": 345678901 if running else 0, "diskwrite": 45678901 if running else 0})
    else:
        item["status"] = "unknown"
    for key in ("pool", "tags", "lock", "hastate"):
        if g.get(key):
            item[key] = g[key]
    item.update(g.get("extra", {}))
    return item


def storage_resource(c, node, sid, st):
    return {"id": "storage/%s/%s" % (node, sid), "storage": sid, "node": node, "type": "storage",
            "plugintype": st["type"], "content": st["content"], "shared": st.get("shared", 0),
            "status": "available" if int(st.get("active", 1)) else "unknown",
            "disk": st.get("used", 0), "maxdisk": st.get("total", 0)}


def get_resources(c, q):
    rtype = q.get("type")
    if rtype not in (None, "vm", "storage", "node", "sdn", "pool"):
        raise ParamError({"type": "value '%s' does not have a value in the enumeration "
                                  "'vm, storage, node, sdn'" % rtype})
    out = []
    if rtype in (None, "node"):
        for n in c.nodes:
            item = {"id": "node/" + n["node"], "type": "node", "node": n["node"],
                    "status": n.get("status", "online"), "cgroup-mode": 2}
            for key in ("cpu", "maxcpu", "mem", "maxmem", "disk", "maxdisk", "uptime", "level"):
                if key in n:
                    item[key] = n[key]
            out.append(item)
    if rtype in (None, "vm"):
        out.extend(guest_resource(c, g) for g in c.guests)
    if rtype in (None, "storage"):
        for node in c.node_names():
            for sid, st in c.storages.items():
                if c.storage_on(sid, node):
                    out.append(storage_resource(c, node, sid, st))
    return _ok(out)


def get_jobs(c, q):
    now = int(time.time())
    out = []
    for job in c.jobs:
        item = dict(job)
        try:
            item["next-run"] = calevent.next_event(job["schedule"], now)
        except ValueError:
            pass
        out.append(item)
    return _ok(out)


def get_job(c, q, job_id):
    for item in get_jobs_list(c):
        if item["id"] == job_id:
            return _ok(item)
    return pve_error(500, "job '%s' does not exist" % job_id)


def get_jobs_list(c):
    return json.loads(get_jobs(c, {}).body)["data"]


def get_not_backed_up(c, q):
    covered = set()
    for job in c.jobs:
        covered.update(g["vmid"] for g in c.selected(job))
    out = []
    for g in sorted(c.guests, key=lambda g: g["vmid"]):
        if g["vmid"] in covered:
            continue
        item = {"vmid": g["vmid"], "type": g["type"]}
        if g.get("name") and not g.get("no_rrd"):
            item["name"] = g["name"]
        out.append(item)
    return _ok(out)


def public_task(t, with_saved=False):
    item = {k: v for k, v in t.items() if not k.startswith("_")}
    if with_saved:
        item["saved"] = "1" if "endtime" in t else "0"
    return item


def get_cluster_tasks(c, q):
    out = []
    for node in c.node_names():
        running = [t for t in c.tasks[node] if "endtime" not in t]
        finished = [t for t in c.tasks[node] if "endtime" in t][:MAX_FINISHED_BROADCAST]
        out.extend(public_task(t, True) for t in running + finished)
    out.sort(key=lambda t: -t["starttime"])
    return _ok(out)


def _task_matches(t, q):
    source = q.get("source", "archive")
    running = "endtime" not in t
    if source == "archive" and running or source == "active" and not running:
        return False
    if q.get("typefilter") and t["type"] != q["typefilter"]:
        return False
    if q.get("vmid") and t["id"] != q["vmid"]:
        return False
    if q.get("userfilter") and q["userfilter"] not in t["user"]:
        return False
    if _bool(q.get("errors", 0)) and (running or t["status"] == "OK"):
        return False
    if q.get("since") and t["starttime"] < int(q["since"]):
        return False
    if q.get("until") and t["starttime"] > int(q["until"]):
        return False
    if q.get("statusfilter") and not running:
        kind = ("ok" if t["status"] == "OK" else "warning" if t["status"].startswith("WARNINGS")
                else "unknown" if t["status"] == "unexpected status" else "error")
        if kind not in q["statusfilter"].split(","):
            return False
    return True


def get_node_tasks(c, q, node):
    start = _int(q, "start", 0)
    limit = _int(q, "limit", 50)
    for key in ("since", "until"):
        _int(q, key, 0)
    hits = [t for t in c.tasks[node] if _task_matches(t, q)]
    page = hits[start:start + limit]
    items = []
    for t in page:
        item = public_task(t)
        if "endtime" not in t:
            item["status"] = "RUNNING"
        items.append(item)
    return _ok(items, total=len(hits))


def find_task(c, node, upid):
    if not re.match(r"^UPID:[^:]+:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8}:[^:]+:[^:]*:[^:]+:$", upid):
        raise ParamError({"upid": "unable to parse worker upid '%s'" % upid})
    for t in c.tasks.get(node, []):
        if t["upid"] == upid:
            return t
    return None


def get_task_status(c, q, node, upid):
    t = find_task(c, node, upid)
    if t is None:
        return pve_error(500, "unable to open file '/var/log/pve/tasks/%s/%s' - No such file or "
                         "directory" % (upid.split(":")[4][-1] if upid.count(":") > 4 else "0", upid))
    item = {k: v for k, v in public_task(t).items() if k not in ("endtime", "status")}
    if "endtime" in t:
        item.update({"status": "stopped", "exitstatus": t["status"]})
    else:
        item["status"] = "running"
    return _ok(item)


def task_log_lines(c, t):
    if "_log" in t:
        return list(t["_log"])
    if t["type"] != "vzdump":
        lines = ["starting %s of %s" % (t["type"][3:], t["id"])] if t["type"].startswith("srv") else []
    else:
        lines = ["INFO: starting new backup job: vzdump %s --storage %s --mode snapshot%s"
                 % (" ".join(map(str, t["_vmids"])), t["_storage"],
                    " --quiet 1" if t["user"] == "root@pam" else "")]
        for vmid in t["_vmids"]:
            g = c.guest(vmid) or {"type": "qemu", "name": ""}
            lines.append("INFO: Starting Backup of VM %d (%s)" % (vmid, g["type"]))
            if "endtime" in t and t.get("_outcome"):
                lines.append("ERROR: Backup of VM %d failed - %s" % (vmid, t["_outcome"]["error"]))
            elif "endtime" in t:
                lines.append("INFO: Finished Backup of VM %d" % vmid)
        if "endtime" in t:
            lines.append("INFO: Backup job finished %s" % ("successfully" if t["status"] == "OK"
                                                            else "with errors"))
    if "endtime" in t:
        lines.append("TASK OK" if t["status"] == "OK" else
                     "TASK " + t["status"] if t["status"].startswith("WARNINGS") else
                     "TASK ERROR: " + t["status"])
    return lines


def get_task_log(c, q, node, upid):
    t = find_task(c, node, upid)
    if t is None:
        return pve_error(500, "unable to open file - No such file or directory")
    lines = task_log_lines(c, t)
    start = _int(q, "start", 0)
    limit = _int(q, "limit", 50)
    items = [{"n": i + 1, "t": text} for i, text in enumerate(lines)][start:start + limit]
    return _ok(items, total=len(lines))


def get_node_storage(c, q, node):
    want = q.get("content")
    out = []
    for sid, st in sorted(c.storages.items()):
        if not c.storage_on(sid, node):
            continue
        if q.get("storage") and q["storage"] != sid:
            continue
        if want and (not int(st.get("enabled", 1)) or
                     not set(want.split(",")) & set(st["content"].split(","))):
            continue
        if "enabled" in q and _bool(q["enabled"]) != bool(int(st.get("enabled", 1))):
            continue
        active = int(st.get("active", 1))
        item = {"storage": sid, "type": st["type"], "content": st["content"], "active": active,
                "enabled": st.get("enabled", 1), "shared": st.get("shared", 0),
                "total": st.get("total", 0) if active else 0,
                "used": st.get("used", 0) if active else 0,
                "avail": st.get("total", 0) - st.get("used", 0) if active else 0}
        if item["total"]:
            item["used_fraction"] = item["used"] / item["total"]
        item.update(st.get("extra", {}))
        out.append(item)
    return _ok(out)


def get_storage_config(c, q):
    """/storage: the cluster's storage.cfg entries (a PBS storage names its server and datastore)."""
    out = []
    for sid, st in sorted(c.storages.items()):
        if q.get("type") and q["type"] != st["type"]:
            continue
        item = {"storage": sid, "type": st["type"], "content": st["content"], "digest": "%040x" % len(sid)}
        if int(st.get("shared", 0)) and st["type"] not in ("pbs", "nfs", "cifs"):
            item["shared"] = 1
        if st.get("nodes"):
            item["nodes"] = ",".join(st["nodes"])
        item.update(st.get("config", {}))
        if st["type"] == "pbs" and item.get("port") == "sim":
            item["port"] = SIM_PORT
        out.append(item)
    return _ok(out)


def get_storage_content(c, q, node, sid):
    st = c.storage_on(sid, node)
    if st is None:
        return pve_error(500, "storage '%s' does not exist" % sid)
    if not int(st.get("active", 1)):
        return pve_error(500, "storage '%s' is not online" % sid)
    if q.get("content") and "backup" not in q["content"].split(","):
        return _ok([])
    items = c.archives.get(c.archive_key(sid, node), [])
    if q.get("vmid"):
        vmid = _int(q, "vmid", 0)
        items = [a for a in items if a["vmid"] == vmid]
    return _ok(sorted(items, key=lambda a: a["volid"].lower()))


def get_services(c, q, node):
    return _ok([service_item(c, node, s) for s in sorted(SERVICES)])


def service_item(c, node, svc):
    item = {"service": svc, "name": svc, "desc": SERVICES[svc]}
    item.update(c.services[node][svc])
    return item


def get_service_state(c, q, node, svc):
    if svc not in SERVICES:
        return pve_error(500, "unknown service '%s'" % svc)
    return _ok(service_item(c, node, svc))


def get_schedule_analyze(c, q):
    if not q.get("schedule"):
        raise ParamError({"schedule": "property is missing and it is not optional"})
    start = _int(q, "starttime", int(time.time()))
    iterations = _int(q, "iterations", 10)
    if not 1 <= iterations <= 100:
        raise ParamError({"iterations": "value must be between 1 and 100"})
    try:
        sched = calevent.Schedule(q["schedule"])
        out, t = [], start
        for _ in range(iterations):
            t = sched.next_after(t)
            out.append({"timestamp": t, "utc": time.asctime(time.gmtime(t))})
    except ValueError as e:
        raise ParamError({"schedule": "unable to parse calendar event - %s" % e})
    return _ok(out)


def get_jobs_index(c, q):
    return _ok([{"subdir": "realm-sync"}, {"subdir": "schedule-analyze"}])


R = re.compile
GET_ROUTES = [
    (R(r"^/version$"), get_version, True),
    (R(r"^/nodes$"), get_nodes, True),
    (R(r"^/cluster/resources$"), get_resources, True),
    (R(r"^/cluster/backup$"), get_jobs, False),          # next-run moves with now
    (R(r"^/cluster/backup/([^/]+)$"), get_job, False),
    (R(r"^/cluster/backup-info/not-backed-up$"), get_not_backed_up, True),
    (R(r"^/cluster/tasks$"), get_cluster_tasks, True),
    (R(r"^/cluster/jobs$"), get_jobs_index, True),
    (R(r"^/cluster/jobs/schedule-analyze$"), get_schedule_analyze, True),
    (R(r"^/nodes/([^/]+)/tasks$"), get_node_tasks, True),
    (R(r"^/nodes/([^/]+)/tasks/([^/]+)/status$"), get_task_status, False),
    (R(r"^/nodes/([^/]+)/tasks/([^/]+)/log$"), get_task_log, False),
    (R(r"^/storage$"), get_storage_config, True),
    (R(r"^/nodes/([^/]+)/storage$"), get_node_storage, True),
    (R(r"^/nodes/([^/]+)/storage/([^/]+)/content$"), get_storage_content, True),
    (R(r"^/nodes/([^/]+)/services$"), get_services, True),
    (R(r"^/nodes/([^/]+)/services/([^/]+)/state$"), get_service_state, True),
]
