"""pbs.py - one simulated Proxmox Backup Server: datastores, namespaces, snapshots, GC, jobs, tasks.

Answers follow proxmox-backup 3.x (see tests/fixtures/pbs/README.md): `{"data": ...}`, keys with
dashes (tasks with underscores), optional fields omitted, errors as plain text. A datastore's
snapshots come from a list, or from a PVE cluster's PBS storage (so that PVE's and PBS's views of
the same backups agree).
"""

import json
import re
import threading
import time

import calevent
from faults import Reply

TOKEN_RE = re.compile(r"(?:^|\s)PBSAPIToken(?:=| )(\S+)")
READ_TOKEN = "monitor@pbs!exporter"
JOB_TYPES = ("verify", "prune", "sync")
WORKER = {"verify": "verificationjob", "prune": "prunejob", "sync": "syncjob"}
HISTORY_POINTS = 1440
HISTORY_STEP = 1800
# query parameters each route accepts; anything else is a 400, as on PBS
PARAMS = {
    "version": (), "datastores": (), "status": ("verbose",), "gc": (), "namespace": ("parent", "max-depth"),
    "groups": ("ns",), "snapshots": ("ns", "backup-type", "backup-id"), "all_gc": ("store",),
    "jobs": ("store",), "usage": (),
    "tasks": ("start", "limit", "store", "running", "errors", "userfilter", "since", "until",
              "typefilter", "statusfilter"),
}


def text_reply(status, message):
    """PBS errors are plain text, although labelled JSON."""
    return Reply(status, (message + "\n").encode(), ctype="application/json;charset=UTF-8",
                 close=status == 401)


def json_ok(data, **extra):
    body = {"data": data}
    body.update(extra)
    return Reply(200, json.dumps(body, separators=(",", ":")).encode(),
                 ctype="application/json;charset=UTF-8")


def status_reply(status):
    """The answer for a bare status fault on a PBS path."""
    messages = {400: "parameter verification errors", 401: "authentication failed - invalid credentials",
                403: "permission check failed", 404: "Path not found.",
                500: "unable to open chunk store - Input/output error (os error 5)",
                503: "service unavailable"}
    return text_reply(status, messages.get(status, "simulated error"))


def escape_worker_id(s):
    """systemd-style escaping of a UPID's worker id: '/' -> '-', other specials -> \\xNN."""
    out = []
    for ch in s or "":
        if ch == "/":
            out.append("-")
        elif ch.isalnum() or ch in "_.":
            out.append(ch)
        else:
            out.append("\\x%02x" % ord(ch))
    return "".join(out)


def make_upid(node, pid, task_id, start, worker_type, worker_id, auth_id):
    return "UPID:%s:%08X:%08X:%08X:%08X:%s:%s:%s:" % (node, pid, 0xA3F, task_id, start, worker_type,
                                                     escape_worker_id(worker_id), auth_id)


def linear_regression(xs, ys):
    """PBS's least-squares fit (src/tools/statistics.rs): (a, b) of y = a + b x, or None."""
    n = len(xs)
    if n == 0:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    cov = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    var = sum((x - mx) ** 2 for x in xs)
    if var == 0:
        return None
    b = cov / var
    return my - b * mx, b


def snapshot(stype, sid, btime, size, verify=None, verify_upid=None, comment=None, owner=None,
             protected=False, encrypted=False, files=None):
    """A snapshot record; size None = unfinished (a backup being written now)."""
    return {"type": stype, "id": sid, "time": int(btime), "size": size, "verify": verify,
            "verify_upid": verify_upid, "comment": comment, "owner": owner, "protected": protected,
            "encrypted": encrypted, "files": files}


def default_files(stype):
    if stype == "vm":
        return ["qemu-server.conf.blob", "drive-scsi0.img.fidx", "index.json.blob", "client.log.blob"]
    if stype == "ct":
        return ["pct.conf.blob", "root.pxar.didx", "catalog.pcat1.didx", "index.json.blob",
                "client.log.blob"]
    return ["data.pxar.didx", "catalog.pcat1.didx", "index.json.blob"]


def snapshot_item(s):
    """The /snapshots item of a snapshot record, in PBS's field order."""
    item = {"backup-type": s["type"], "backup-id": s["id"], "backup-time": s["time"]}
    names = s["files"] or default_files(s["type"])
    if s["size"] is None:  # no manifest yet: finished archives only, without size or crypt-mode
        item["files"] = [{"filename": n} for n in names if n.endswith(".fidx") or n.endswith(".didx")][:1]
        item["owner"] = s["owner"]
        item["protected"] = False
        return item
    if s["comment"]:
        item["comment"] = s["comment"]
    if s["verify"]:
        item["verification"] = {"upid": s["verify_upid"] or "", "state": s["verify"]}
    crypt = "encrypt" if s["encrypted"] else "none"
    files, left = [], s["size"]
    for i, n in enumerate(names):
        entry = {"filename": n}
        if n == "client.log.blob":
            files.append(entry)
            continue
        entry["crypt-mode"] = "sign-only" if n == "index.json.blob" and s["encrypted"] else crypt
        big = n.endswith(".fidx") or n == "root.pxar.didx" or n == "data.pxar.didx"
        size = min(left if big else 400 + 97 * i, left)
        entry["size"] = size
        left -= size
        files.append(entry)
    item["files"] = files
    item["size"] = s["size"]
    item["owner"] = s["owner"]
    item["protected"] = bool(s["protected"])
    return item


class Store:
    """One datastore: space, usage history, GC state and its namespaces' snapshots."""

    def __init__(self, name, comment, total, used, growth_per_day, gc, created=None):
        self.name = name
        self.comment = comment
        self.total = total
        self.used = used
        self.growth = growth_per_day      # bytes a day, for the usage history
        self.gc = gc                      # {"schedule", "last_start", "last_end", "state"} or None
        self.created = created            # epoch the store got its first RRD point
        self.namespaces = {"": []}        # ns -> [snapshot] or a callable returning one
        self.static = False               # answers may be cached (bench)
        self.delay = 0.0                  # knob: seconds every answer about this store waits
        self.denied = False               # knob: 403 on this store's endpoints
        self.usage_cache = None

    def snapshots(self, ns):
        src = self.namespaces.get(ns)
        return src() if callable(src) else list(src or [])

    def avail(self):
        return self.total - self.used - self.total // 50   # ext4/ZFS keep some space back

    def usage(self, now):
        """history (ratio used/(used+avail), null before creation) and PBS's estimate."""
        if self.usage_cache and self.usage_cache[0] == int(now // HISTORY_STEP):
            return self.usage_cache[1]
        start = int(now // HISTORY_STEP) * HISTORY_STEP - (HISTORY_POINTS - 1) * HISTORY_STEP
        hist, xs, ys = [], [], []
        for i in range(HISTORY_POINTS):
            t = start + i * HISTORY_STEP
            if self.created and t < self.created or i == HISTORY_POINTS - 300:  # one missed point
                hist.append(None)
                continue
            used = max(0, self.used - self.growth * (now - t) / 86400.0)
            ratio = used / (self.total - self.total // 50)  # used + avail at that time
            hist.append(round(ratio, 6))
            xs.append(t)
            ys.append(ratio)
        est = None
        if len(xs) >= 7:
            fit = linear_regression(xs, ys)
            if fit:
                a, b = fit
                est = int((1.0 - a) // b) if b != 0 else 0
        out = {"history": hist, "history-start": start, "history-delta": HISTORY_STEP}
        if est is not None:
            out["estimated-full-date"] = est
        self.usage_cache = (int(now // HISTORY_STEP), out)
        return out


class Job:
    def __init__(self, jtype, jid, store, schedule, config=None, last_start=None, duration=600,
                 state="OK", running=False):
        self.type = jtype
        self.id = jid
        self.store = store
        self.schedule = schedule
        self.config = config or {}
        self.last_start = last_start      # None: never ran
        self.duration = duration
        self.state = state
        self.running = running
        self.created = None
        self.upid = None                  # of the last (or the running) run; set by Instance.add_job

    def last_end(self):
        return None if self.last_start is None else self.last_start + self.duration

    def direction(self):
        return self.config.get("sync-direction", "pull")


class Instance:
    """One PBS node. All reads and knob changes happen under `lock`."""

    def __init__(self, name, version, now, node="pbs1"):
        self.name = name
        self.node = node
        self.version = version            # {"version": "3.4", "release": "1", "repoid": ...}
        self.now = now
        self.stores = {}
        self.jobs = []
        self.tasks = []                   # finished and running task records, any order
        self.lock = threading.RLock()
        self.cache = {}
        self.task_id = 0x40

    def add_job(self, job):
        """A job and the task of its last (or running) run."""
        if job.last_start is not None:
            wid = job.store + ":" + job.id
            if job.type == "prune":
                wid = job.store + (":" + job.config["ns"] if job.config.get("ns") else "")
            if job.type == "sync":
                wid = "%s:%s:%s:%s:%s" % (job.config.get("remote", "-"), job.config.get("remote-store", ""),
                                          job.store, job.config.get("ns", ""), job.id)
            end = None if job.running else job.last_end()
            job.upid = self.add_task(WORKER[job.type], wid, job.last_start, end,
                                     None if job.running else job.state)["upid"]
        self.jobs.append(job)
        return job

    def add_store(self, store):
        """A store and the task of its last (or running) GC."""
        gc = store.gc
        if gc and gc.get("last_start") is not None:
            end = None if gc.get("running") else gc["last_end"]
            gc["upid"] = self.add_task("garbage_collection", store.name, gc["last_start"], end,
                                       None if gc.get("running") else gc.get("state", "OK"))["upid"]
        self.stores[store.name] = store
        return store

    def upid(self, start, worker_type, worker_id, auth_id="root@pam"):
        self.task_id += 1
        return make_upid(self.node, 0x47E, self.task_id, int(start), worker_type, worker_id, auth_id)

    def add_task(self, worker_type, worker_id, start, end=None, status=None, user="root@pam"):
        task = {"upid": self.upid(start, worker_type, worker_id, user), "worker_type": worker_type,
                "worker_id": worker_id, "user": user, "starttime": int(start)}
        if end is not None:
            task["endtime"] = int(end)
            task["status"] = status
        self.tasks.append(task)
        return task

    def version_tuple(self):
        major, minor = self.version["version"].split(".")
        return int(major), int(minor)

    def set_knobs(self, spec):
        """POST /_sim/pbs: {"datastore": name, "delay": s, "denied": bool} or {"version": "3.2"}."""
        with self.lock:
            if "version" in spec:
                v = str(spec["version"])
                if not re.match(r"^\d+\.\d+$", v):
                    raise ValueError("version must be MAJOR.MINOR")
                self.version = dict(self.version, version=v)
            if "datastore" in spec:
                st = self.stores[spec["datastore"]]
                if "delay" in spec:
                    st.delay = float(spec["delay"])
                    if st.delay < 0:
                        raise ValueError("delay must not be negative")
                if "denied" in spec:
                    if not isinstance(spec["denied"], bool):
                        raise ValueError("denied must be true or false")
                    st.denied = spec["denied"]
            self.cache.clear()

    def reset_knobs(self):
        with self.lock:
            for st in self.stores.values():
                st.delay, st.denied = 0.0, False
            self.cache.clear()


# ------------------------------------------------------------------ the API
def auth_ok(inst, header):
    m = TOKEN_RE.search(header or "")
    if not m or ":" not in m.group(1):
        return False
    tokenid, secret = m.group(1).split(":", 1)
    return tokenid == READ_TOKEN and secret == "sim-pbs-secret-" + inst.name


def _check_params(query, route):
    extra = sorted(set(query) - set(PARAMS[route]))
    if extra:
        return text_reply(400, "parameter verification errors\n\n%s: schema does not allow additional "
                               "properties" % extra[0])
    return None


def _int(query, key, default):
    try:
        return int(query.get(key, default))
    except ValueError:
        return None


def _bool(v):
    return str(v).lower() in ("1", "true", "yes", "on")


def get_version(inst, q):
    return json_ok(inst.version)


def get_datastores(inst, q):
    out = []
    for name, st in inst.stores.items():
        # a store seen through namespace privileges only has no comment
        out.append({"comment": None if st.denied else st.comment, "store": name})
    return json_ok(out)


def _store(inst, name):
    st = inst.stores.get(name)
    if st is None:
        return None, text_reply(400, "no such datastore '%s'" % name)
    if st.denied:
        return None, text_reply(403, "permission check failed")
    return st, None


def gc_status(inst, st):
    gc = st.gc or {}
    status = {"disk-bytes": st.used - 4096, "disk-chunks": st.used // (2 << 20),
              "index-data-bytes": st.used * 4, "index-file-count": 12, "pending-bytes": 0,
              "pending-chunks": 0, "removed-bad": gc.get("removed_bad", 0), "removed-bytes": 0,
              "removed-chunks": 0, "still-bad": gc.get("still_bad", 0), "upid": None}
    if gc.get("last_start") is not None:
        status["upid"] = gc.get("upid")
        status["pending-bytes"] = gc.get("pending", 0)
        status["pending-chunks"] = gc.get("pending", 0) // (2 << 20)
    return status


def gc_job_status(inst, st, now):
    gc = st.gc or {}
    item = {"store": st.name}
    item.update(gc_status(inst, st))
    last = now
    if gc.get("last_end") is not None and not gc.get("running"):
        item["last-run-endtime"] = gc["last_end"]
        item["last-run-state"] = gc.get("state", "OK")
        item["duration"] = gc["last_end"] - gc["last_start"]
        last = gc["last_end"]
    if gc.get("schedule"):
        item["schedule"] = gc["schedule"]
        item["next-run"] = calevent.next_event(gc["schedule"], last)
    return item


def get_status(inst, q, name):
    st, err = _store(inst, name)
    if err:
        return err
    out = {"avail": st.avail(), "total": st.total, "used": st.used}
    if _bool(q.get("verbose", 0)):
        counts = {"ct": None, "host": None, "other": None, "vm": None}
        for ns in st.namespaces:
            for s in st.snapshots(ns):
                c = counts[s["type"]] or {"groups": 0, "snapshots": 0, "_g": set()}
                c["_g"].add((ns, s["id"]))
                c["snapshots"] += 1
                counts[s["type"]] = c
        for k, c in counts.items():
            if c:
                c["groups"] = len(c.pop("_g"))
        out["counts"] = counts
        out["gc-status"] = gc_status(inst, st)
    return json_ok(out)


def get_gc(inst, q, name):
    st, err = _store(inst, name)
    if err:
        return err
    return json_ok(gc_job_status(inst, st, int(time.time())))


def get_all_gc(inst, q):
    now = int(time.time())
    names = [q["store"]] if q.get("store") else list(inst.stores)
    out = []
    for name in names:
        st = inst.stores.get(name)
        if st is None or st.denied:
            if q.get("store"):
                return _store(inst, name)[1]
            continue  # the list silently skips stores that fail
        out.append(gc_job_status(inst, st, now))
    return json_ok(out)


def get_namespaces(inst, q, name):
    st, err = _store(inst, name)
    if err:
        return err
    parent = q.get("parent", "")
    depth = _int(q, "max-depth", 7)
    if depth is None:
        return text_reply(400, "parameter verification errors\n\nmax-depth: expected integer")
    out = []
    for ns in st.namespaces:
        if parent and ns != parent and not ns.startswith(parent + "/"):
            continue
        level = len(ns.split("/")) if ns else 0
        plevel = len(parent.split("/")) if parent else 0
        if level - plevel <= depth:
            out.append({"ns": ns})
    return json_ok(out)


def _ns_param(st, q):
    ns = q.get("ns", "")
    if ns not in st.namespaces:
        return None, text_reply(400, "namespace '%s' does not exist" % ns)
    return ns, None


def get_groups(inst, q, name):
    st, err = _store(inst, name)
    if err:
        return err
    ns, err = _ns_param(st, q)
    if err:
        return err
    groups = {}
    for s in st.snapshots(ns):
        g = groups.setdefault((s["type"], s["id"]), {"backup-count": 0, "backup-id": s["id"],
                                                     "backup-type": s["type"], "last-backup": 0,
                                                     "owner": s["owner"]})
        g["backup-count"] += 1
        if s["time"] > g["last-backup"]:
            g["last-backup"] = s["time"]
            g["files"] = [f for f in (s["files"] or default_files(s["type"]))]
    return json_ok(list(groups.values()))


def get_snapshots(inst, q, name):
    st, err = _store(inst, name)
    if err:
        return err
    ns, err = _ns_param(st, q)
    if err:
        return err
    if q.get("backup-type") and q["backup-type"] not in ("vm", "ct", "host"):
        return text_reply(400, "parameter verification errors\n\nbackup-type: value is not defined in "
                               "the enumeration")
    key = ("snapshots", name, tuple(sorted(q.items())))
    if st.static and key in inst.cache:
        return Reply(200, inst.cache[key], ctype="application/json;charset=UTF-8")
    snaps = st.snapshots(ns)
    if q.get("backup-type"):
        snaps = [s for s in snaps if s["type"] == q["backup-type"]]
    if q.get("backup-id"):
        snaps = [s for s in snaps if s["id"] == q["backup-id"]]
    # directory order: group by group, the snapshots of a group unsorted
    snaps.sort(key=lambda s: (s["type"], s["id"], (s["time"] * 7919) % 1000003))
    parts = [json.dumps(snapshot_item(s), separators=(",", ":")) for s in snaps]
    body = ('{"data":[' + ",".join(parts) + "]}").encode()
    if st.static:
        inst.cache[key] = body
    return Reply(200, body, ctype="application/json;charset=UTF-8")


def _job_item(inst, job, now):
    item = {"id": job.id, "store": job.store}
    item.update(job.config)
    if job.schedule:
        item["schedule"] = job.schedule
    if job.config.get("disable"):
        return item  # a disabled job has no next-run
    if job.running:
        item["last-run-upid"] = job.upid
        last = job.last_start
    elif job.last_start is not None:
        item["last-run-upid"] = job.upid
        item["last-run-state"] = job.state
        item["last-run-endtime"] = job.last_end()
        last = job.last_end()
    else:
        last = job.created or now - 30
    if job.schedule:
        item["next-run"] = calevent.next_event(job.schedule, last)
    return item


def get_jobs(inst, q, jtype):
    now = int(time.time())
    q = dict(q)
    direction = "pull"
    if jtype == "sync" and "sync-direction" in q:
        if inst.version_tuple() < (3, 3):
            return text_reply(400, "parameter verification errors\n\nsync-direction: schema does not "
                                   "allow additional properties")
        direction = q.pop("sync-direction")
        if direction not in ("pull", "push", "all"):
            return text_reply(400, "parameter verification errors\n\nsync-direction: value is not "
                                   "defined in the enumeration")
    err = _check_params(q, "jobs")
    if err:
        return err
    out = []
    for job in inst.jobs:
        if job.type != jtype or (q.get("store") and job.store != q["store"]):
            continue
        if inst.stores[job.store].denied:
            continue  # jobs the token may not see are dropped without a word
        if jtype == "sync" and direction != "all" and job.direction() != direction:
            continue
        out.append(_job_item(inst, job, now))
    digest = "%064x" % (abs(hash((jtype, len(out)))) % (1 << 256))
    return json_ok(out, digest=digest)


def get_usage(inst, q):
    now = time.time()
    out = []
    for name, st in inst.stores.items():
        if st.denied:
            out.append({"store": name})  # visible through namespace privileges only
            continue
        item = {"avail": st.avail(), "store": name, "total": st.total, "used": st.used}
        item.update(st.usage(now))
        item["gc-status"] = gc_status(inst, st)
        out.append(item)
    return json_ok(out)


def _task_kind(status):
    if status == "OK":
        return "ok"
    if status.startswith("WARNINGS"):
        return "warning"
    return "unknown" if status == "unknown" else "error"


def get_tasks(inst, q, node):
    start, limit = _int(q, "start", 0), _int(q, "limit", 50)
    since, until = _int(q, "since", 0), _int(q, "until", 0)
    if None in (start, limit, since, until):
        return text_reply(400, "parameter verification errors\n\nlimit: expected integer")
    running = [t for t in inst.tasks if "endtime" not in t]
    done = sorted((t for t in inst.tasks if "endtime" in t), key=lambda t: -t["endtime"])
    out = []
    for t in running + done:
        fin = "endtime" in t
        if _bool(q.get("running", 0)) and fin:
            continue
        if _bool(q.get("errors", 0)) and fin and t["status"] == "OK":
            continue
        if q.get("statusfilter") and (not fin or _task_kind(t["status"]) not in q["statusfilter"].split(",")):
            continue
        if q.get("typefilter") and q["typefilter"] not in t["worker_type"]:
            continue
        if q.get("userfilter") and q["userfilter"] not in t["user"]:
            continue
        if q.get("store") and not (t["worker_id"] or "").startswith(q["store"]):
            continue
        if since and t["starttime"] < since:
            if fin:
                break
            continue
        if until and t["starttime"] > until:
            continue
        item = {"upid": t["upid"], "node": "localhost", "pid": 1150, "pstart": 2623,
                "starttime": t["starttime"], "worker_type": t["worker_type"], "worker_id": t["worker_id"],
                "user": t["user"]}
        if fin:
            item["endtime"] = t["endtime"]
            item["status"] = t["status"]
        out.append(item)
    page = out[start:] if limit == 0 else out[start:start + limit]
    total = start + len(page) + (1 if limit and len(page) == limit else 0)
    return Reply(200, json.dumps({"total": total, "data": page}, separators=(",", ":")).encode(),
                 ctype="application/json;charset=UTF-8")


R = re.compile
ROUTES = [
    (R(r"^/version$"), "version", get_version, None),
    (R(r"^/admin/datastore$"), "datastores", get_datastores, None),
    (R(r"^/admin/datastore/([^/]+)/status$"), "status", get_status, 1),
    (R(r"^/admin/datastore/([^/]+)/gc$"), "gc", get_gc, 1),
    (R(r"^/admin/datastore/([^/]+)/namespace$"), "namespace", get_namespaces, 1),
    (R(r"^/admin/datastore/([^/]+)/groups$"), "groups", get_groups, 1),
    (R(r"^/admin/datastore/([^/]+)/snapshots$"), "snapshots", get_snapshots, 1),
    (R(r"^/admin/gc$"), "all_gc", get_all_gc, None),
    (R(r"^/admin/(verify|prune|sync)$"), "jobs", get_jobs, None),
    (R(r"^/status/datastore-usage$"), "usage", get_usage, "all"),
    (R(r"^/nodes/([^/]+)/tasks$"), "tasks", get_tasks, None),
]


def handle(inst, method, sub, query, auth, fast_401=False):
    """One request below /api2/json; waits out the slow-store knobs outside the lock."""
    if not auth_ok(inst, auth):
        if not fast_401:
            time.sleep(3)
        return text_reply(401, "authentication failed - invalid credentials")
    if method != "GET":
        return text_reply(501, "Method not implemented")
    for regex, route, fn, store_arg in ROUTES:
        m = regex.match(sub)
        if not m:
            continue
        with inst.lock:
            if store_arg == "all":
                delay = max([st.delay for st in inst.stores.values()] or [0])
            elif store_arg:
                st = inst.stores.get(m.group(1))
                delay = st.delay if st else 0
            else:
                delay = 0
        if delay:
            time.sleep(delay)
        with inst.lock:
            if route != "jobs":
                err = _check_params(query, route)
                if err:
                    return err
            return fn(inst, query, *m.groups())
    return text_reply(404, "Path '/api2/json%s' not found." % sub)
