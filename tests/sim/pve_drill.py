"""pve_drill.py - the restore side of a simulated PVE cluster: nextid, restore, config, power, agent, destroy.

What `persistencectl restore-test` talks to. Guests made by a restore are "scratch" guests; only the
drill token may touch them, and no token may touch the scenario's own guests through these calls.
Every start and config change checks that no netN is up while the guest runs (a violation is
recorded, never refused: tests assert there are none). Knobs (POST /_sim/drill) make the next
restore fail or hang, the guest agent stay silent, or the next destroys fail.
"""

import hashlib
import re
import threading
import time

DRILL_TOKEN = "drill@pve!drill"
DRILL_USER, DRILL_TOKEN_NAME = DRILL_TOKEN.split("!")
POOLS = ("drill",)
DISK_KEY_RE = re.compile(r"^(?:ide|sata|scsi|virtio)\d+$|^(?:efidisk0|tpmstate0)$")
NET_KEY_RE = re.compile(r"^net\d+$")
MP_KEY_RE = re.compile(r"^mp\d+$")
SLOW_SECONDS = 3600.0


class DrillKnobs:
    """Per-cluster behaviour of the restore side; changed through POST /_sim/drill."""

    def __init__(self, restore_seconds=2.0, boot_seconds=1.0):
        self.restore_seconds = restore_seconds
        self.boot_seconds = boot_seconds
        self.step_seconds = 0.3           # start, stop, resume and destroy tasks
        self.restores = []                # queued outcomes: "ok", "fail", "slow"
        self.agent_silent = False         # the guest agent never answers
        self.destroy_failures = 0         # the next N destroy tasks fail, leaving the guest
        self.violations = []              # {"vmid", "net", "what"}: a netN up while running


def fail(status, message, errors=None):
    raise DrillError(status, message, errors)


class DrillError(Exception):
    def __init__(self, status, message, errors=None):
        Exception.__init__(self, message)
        self.status = status
        self.message = message
        self.errors = errors


# ---------------------------------------------------------------- configs
def mac(vmid, n, salt=0):
    h = hashlib.sha1(("%d/%d/%d" % (vmid, n, salt)).encode()).digest()
    return "BC:24:11:%02X:%02X:%02X" % (h[0], h[1], h[2])


def backed_up_config(g):
    """The config a backup of guest g holds (what a restore brings back before overrides)."""
    vmid, name = g["vmid"], g.get("name") or "guest-%d" % g["vmid"]
    if g["type"] == "qemu":
        conf = {"name": name, "memory": "2048", "cores": "2", "ostype": "l26", "agent": "1",
                "onboot": "1", "boot": "order=scsi0;net0", "scsihw": "virtio-scsi-single",
                "scsi0": "local-lvm:vm-%d-disk-0,iothread=1,size=32G" % vmid,
                "net0": "virtio=%s,bridge=vmbr0,firewall=1" % mac(vmid, 0),
                "smbios1": "uuid=6f1c%04x-0000-4000-8000-%012d" % (vmid % 0xffff, vmid)}
        if vmid % 2 == 0:             # some guests have a second NIC on a VLAN
            conf["net1"] = "virtio=%s,bridge=vmbr1,tag=20" % mac(vmid, 1)
        if g.get("no_agent"):
            del conf["agent"]
        return conf
    return {"hostname": name, "memory": "512", "swap": "512", "cores": "1", "ostype": "debian",
            "arch": "amd64", "unprivileged": "1", "onboot": "1",
            "rootfs": "local-lvm:vm-%d-disk-0,size=8G" % vmid,
            "net0": "name=eth0,bridge=vmbr0,hwaddr=%s,ip=dhcp,type=veth" % mac(vmid, 0)}


def parse_prop(value):
    """'virtio=AA,bridge=vmbr0,link_down=1' -> ordered [(key, value)]; a bare word is (word, None)."""
    out = []
    for part in str(value).split(","):
        if "=" in part:
            k, v = part.split("=", 1)
            out.append((k, v))
        elif part:
            out.append((part, None))
    return out


def link_down(value):
    return any(k == "link_down" and v in ("1", "true", "yes", "on") for k, v in parse_prop(value))


def with_new_mac(gtype, value, vmid, n):
    """unique=1: a new MAC (qemu: the model key, LXC: hwaddr)."""
    items = parse_prop(value)
    fresh = mac(vmid, n, salt=int(time.time() * 1000) & 0xffff)
    if gtype == "qemu" and items:
        items[0] = (items[0][0], fresh)
    else:
        items = [(k, fresh if k == "hwaddr" else v) for k, v in items]
    return ",".join(k if v is None else "%s=%s" % (k, v) for k, v in items)


def digest(conf):
    text = "".join("%s: %s\n" % kv for kv in sorted(conf.items()))
    return hashlib.sha1(text.encode()).hexdigest()


# ---------------------------------------------------------------- helpers on the cluster
def knobs(c):
    if not hasattr(c, "drill"):
        c.drill = DrillKnobs()
    return c.drill


def guest_config(c, g):
    if "config" not in g:
        g["config"] = backed_up_config(g)
    return g["config"]


def executing(g):
    """True while the guest's CPUs run (a frozen, just started VM does not)."""
    return g.get("status") == "running" and not g.get("_frozen")


def check_nets(c, g, what):
    """Records a violation for every netN without link_down=1 while the guest executes."""
    if not executing(g):
        return
    for key, value in sorted(guest_config(c, g).items()):
        if NET_KEY_RE.match(key) and not link_down(value):
            knobs(c).violations.append({"vmid": g["vmid"], "net": key, "what": what,
                                        "value": value})


def find_archive(c, node, volid):
    sid = volid.split(":", 1)[0]
    if c.storage_on(sid, node) is None:
        fail(500, "storage '%s' does not exist" % sid)
    for a in c.archives.get(c.archive_key(sid, node), []):
        if a["volid"] == volid:
            return a
    fail(500, "volume '%s' does not exist" % volid)


def scratch_guest(c, role, node, gtype, vmid, priv):
    """The scratch guest vmid on node, or a PVE error (403 for anyone but the drill token)."""
    if role != "drill":
        fail(403, "Permission check failed (/vms/%s, %s)" % (vmid, priv))
    g = c.guest(int(vmid)) if str(vmid).isdigit() else None
    if g is None or g["type"] != gtype or g["node"] != node:
        what = "qemu-server" if gtype == "qemu" else "lxc"
        fail(500, "Configuration file 'nodes/%s/%s/%s.conf' does not exist" % (node, what, vmid))
    if not g.get("_scratch") or g.get("pool") not in POOLS:
        # the drill role is granted on the pool: a guest outside it (a failed restore's stub) is out of reach
        fail(403, "Permission check failed (/vms/%s, %s)" % (vmid, priv))
    return g


def start_task(c, node, ttype, vmid, seconds, finish, *args):
    task = c.add_task(node, ttype, str(vmid), DRILL_USER, int(time.time()), tokenid=DRILL_TOKEN_NAME)
    task["_log"] = []
    timer = threading.Timer(seconds, finish_task, (c, task, finish) + args)
    timer.daemon = True
    task["_timer"] = timer
    timer.start()
    return task


def finish_task(c, task, finish, *args):
    with c.lock:
        if "endtime" in task:                     # aborted meanwhile
            return
        try:
            status = finish(c, task, *args) or "OK"
        except Exception as e:                    # a simulator bug must end the task, not hang it
            status = "sim: internal error: %r" % e
        end_task(c, task, status)


def end_task(c, task, status):
    task["endtime"] = int(time.time())
    task["status"] = status
    task["_log"].append("TASK OK" if status == "OK" else "TASK ERROR: " + status)
    c.cache.clear()


# ---------------------------------------------------------------- GET
def get_nextid(c, q):
    used = {g["vmid"] for g in c.guests}
    if q.get("vmid"):
        v = q["vmid"]
        if not re.match(r"^[1-9][0-9]{2,8}$", v):
            fail(400, "Parameter verification failed.", {"vmid": "value does not look like a valid VM ID"})
        if int(v) in used:
            fail(400, "Parameter verification failed.", {"vmid": "VM %s already exists" % v})
        return v                                   # PVE echoes the parameter: a string
    n = 100
    while n in used:
        n += 1
    return str(n)


def get_config(c, role, node, gtype, vmid):
    if role not in ("read", "drill"):
        fail(403, "Permission check failed (/vms/%s, VM.Audit)" % vmid)
    g = c.guest(int(vmid)) if vmid.isdigit() else None
    if g is None or g["type"] != gtype or g["node"] != node:
        fail(500, "Configuration file 'nodes/%s/%s/%s.conf' does not exist"
             % (node, "qemu-server" if gtype == "qemu" else "lxc", vmid))
    if role == "drill" and g.get("pool") not in POOLS:
        fail(403, "Permission check failed (/vms/%s, VM.Audit)" % vmid)
    conf = dict(guest_config(c, g))
    if g.get("lock"):
        conf["lock"] = g["lock"]
    conf["digest"] = digest(guest_config(c, g))
    return conf


def get_status_current(c, role, node, gtype, vmid):
    conf = get_config(c, role, node, gtype, vmid)
    g = c.guest(int(vmid))
    out = {"vmid": int(vmid), "status": "running" if g.get("status") == "running" else "stopped",
           "name": conf.get("name") or conf.get("hostname", "")}
    if gtype == "qemu":
        out["qmpstatus"] = "prelaunch" if g.get("_frozen") else out["status"]
        out["agent"] = 1 if conf.get("agent", "0").split(",")[0] in ("1", "enabled=1") else 0
    if g.get("lock"):
        out["lock"] = g["lock"]
    return out


# ---------------------------------------------------------------- restore
def restore(c, role, node, gtype, form):
    """POST /nodes/{node}/qemu with archive= or /nodes/{node}/lxc with ostemplate= and restore=1."""
    archive = form.get("archive") if gtype == "qemu" else form.get("ostemplate")
    if gtype == "lxc" and archive and str(form.get("restore", "0")) not in ("1", "true"):
        fail(501, "sim: creating a container from a template is not simulated (restore=1 only)")
    if not archive and gtype == "qemu":
        return create_empty(c, role, node, form)
    if not archive:
        fail(501, "sim: only restores are simulated (ostemplate= missing)")
    vmid = str(form.get("vmid", ""))
    if not re.match(r"^[1-9][0-9]{2,8}$", vmid):
        fail(400, "Parameter verification failed.", {"vmid": "value does not look like a valid VM ID"})
    vmid = int(vmid)
    if gtype == "qemu":
        for key in form:
            if DISK_KEY_RE.match(key):
                fail(400, "Parameter verification failed.", {key: "option conflicts with option 'archive'"})
    pool = form.get("pool")
    if pool and pool not in POOLS:
        fail(403, "pool '%s' does not exist" % pool)
    if role != "drill":
        fail(403, "Permission check failed (/vms/%d, VM.Allocate)" % vmid)
    storage = form.get("storage")
    want = "images" if gtype == "qemu" else "rootdir"
    if storage:
        st = c.storage_on(storage, node)
        if st is None:
            fail(500, "storage '%s' does not exist" % storage)
        if want not in st["content"].split(","):
            fail(500, "storage '%s' does not support %s" % (storage, "vm images" if gtype == "qemu"
                                                             else "container directories"))
    g = c.guest(vmid)
    force = str(form.get("force", "0")) in ("1", "true")
    if g is not None and not (force and gtype == "qemu"):
        fail(500, "unable to restore VM %d - VM %d already exists on node '%s'" % (vmid, vmid, g["node"]))
    if g is not None:                      # force=1 over an existing VM: it must be the drill's to touch
        g = scratch_guest(c, role, node, gtype, vmid, "VM.Allocate")
        if g.get("lock") or g.get("status") == "running":
            fail(500, "unable to restore VM %d - %s" % (vmid, "VM is locked (%s)" % g["lock"] if g.get("lock")
                                                         else "vm is running"))
        if str(guest_config(c, g).get("protection", "0")) in ("1", "true"):
            fail(500, "unable to restore VM %d - protection mode enabled" % vmid)
    arch = find_archive(c, node, archive)
    if arch["subtype"] != gtype:
        fail(500, "unable to restore %s %d - archive is a %s backup" % (gtype, vmid, arch["subtype"]))
    source = c.guest(arch["vmid"]) or {"vmid": arch["vmid"], "type": gtype}
    if g is None:
        g = {"vmid": vmid, "type": gtype, "node": node, "status": "stopped", "name": "", "_scratch": True,
             "no_rrd": False, "config": {}}
        c.guests.append(g)
    g["lock"] = "create"
    k = knobs(c)
    outcome = k.restores.pop(0) if k.restores else "ok"
    seconds = SLOW_SECONDS if outcome == "slow" else k.restore_seconds
    task = start_task(c, node, "qmrestore" if gtype == "qemu" else "vzrestore", vmid, seconds,
                      finish_restore, g, arch, source, dict(form), outcome)
    task["_log"] += restore_log_start(c, gtype, arch, vmid, storage)
    return task["upid"]


def create_empty(c, role, node, form):
    """POST /nodes/{node}/qemu without archive: an empty VM (no disks), in its pool once the task ends."""
    vmid = str(form.get("vmid", ""))
    if not re.match(r"^[1-9][0-9]{2,8}$", vmid):
        fail(400, "Parameter verification failed.", {"vmid": "value does not look like a valid VM ID"})
    vmid = int(vmid)
    for key in form:
        if DISK_KEY_RE.match(key) or NET_KEY_RE.match(key):
            fail(501, "sim: only empty VMs (no disks, no netN) are created")
    pool = form.get("pool")
    if pool and pool not in POOLS:
        fail(403, "pool '%s' does not exist" % pool)
    if role != "drill":
        fail(403, "Permission check failed (/vms/%d, VM.Allocate)" % vmid)
    if c.guest(vmid) is not None:
        fail(500, "unable to create VM %d - VM %d already exists on node '%s'" % (vmid, vmid, c.guest(vmid)["node"]))
    conf = {k: v for k, v in form.items() if k not in ("vmid", "pool")}
    conf.update({"smbios1": "uuid=00000000-0000-4000-8000-%012d" % vmid, "vmgenid": "sim", "boot": " ",
                 "meta": "creation-qemu=9.2.0,ctime=%d" % int(time.time())})
    g = {"vmid": vmid, "type": "qemu", "node": node, "status": "stopped", "lock": "create",
         "name": conf.get("name", ""), "_scratch": True, "no_rrd": False, "config": conf}
    c.guests.append(g)
    return start_task(c, node, "qmcreate", vmid, knobs(c).step_seconds, finish_create, g, pool)["upid"]


def finish_create(c, task, g, pool):
    g.pop("lock", None)
    if pool:
        g["pool"] = pool


def restore_log_start(c, gtype, arch, vmid, storage):
    pbs = arch["format"].startswith("pbs")
    if gtype == "qemu" and pbs:
        return ["new volume ID is '%s:vm-%d-disk-0'" % (storage or "local-lvm", vmid),
                "restore proxmox backup image: /usr/bin/pbs-restore --repository sim@pbs@pbs:store1 "
                "%s drive-scsi0.img.fidx /dev/pve/vm-%d-disk-0" % (arch["volid"].split(":", 1)[1], vmid)]
    if gtype == "qemu":
        return ["restore vma archive: zstd -q -d -c %s | vma extract -v -r "
                "/var/tmp/vzdumptmp%d.fifo - /var/tmp/vzdumptmp%d" % (arch["volid"], vmid, vmid),
                "CFG: size: 512 name: qemu-server.conf",
                "DEV: dev_id=1 size: 34359738368 devname: drive-scsi0",
                "new volume ID is '%s:vm-%d-disk-0'" % (storage or "local-lvm", vmid)]
    return ["recovering backed-up configuration from '%s'" % arch["volid"],
            "restoring '%s' now.." % arch["volid"]]


def finish_restore(c, task, g, arch, source, form, outcome):
    gtype = g["type"]
    if outcome in ("fail",):
        task["_log"].append("progress 43%% (read %d bytes)" % (arch["size"] * 43 // 100))
        err = ("command 'set -o pipefail && zstd -q -d -c %s | vma extract -v -r "
               "/var/tmp/vzdumptmp%d.fifo - /var/tmp/vzdumptmp%d' failed: exit code 133"
               % (arch["volid"], g["vmid"], g["vmid"]) if gtype == "qemu" else
               "unable to restore CT %d - command 'tar xpf - --zstd --totals' failed: exit code 2"
               % g["vmid"])
        if gtype == "qemu":
            task["_log"].append("zstd: error 70 : Write error : cannot write block : Broken pipe")
        restore_failed(c, task, g)
        return err
    conf = backed_up_config(source)
    for key, value in form.items():
        if key in ("vmid", "archive", "ostemplate", "restore", "storage", "pool", "unique", "force",
                   "bwlimit", "start", "ignore-unpack-errors", "unprivileged"):
            continue
        conf[key] = value
    storage = form.get("storage") or "local-lvm"
    for key in list(conf):
        if DISK_KEY_RE.match(key) or key == "rootfs" or MP_KEY_RE.match(key):
            conf[key] = re.sub(r"^[^:]+:vm-\d+-", "%s:vm-%d-" % (storage, g["vmid"]), conf[key])
    if str(form.get("unique", "0")) in ("1", "true"):
        if gtype == "lxc":                         # unique=1 rebuilds netN from the backup
            backed = backed_up_config(source)
            conf = {k: v for k, v in conf.items() if not NET_KEY_RE.match(k)}
            conf.update({k: v for k, v in backed.items() if NET_KEY_RE.match(k)})
        for key in list(conf):
            if NET_KEY_RE.match(key):
                conf[key] = with_new_mac(gtype, conf[key], g["vmid"], int(key[3:]))
    g["config"] = conf
    g["name"] = conf.get("name") or conf.get("hostname", "")
    g.pop("lock", None)
    if form.get("pool"):
        g["pool"] = form["pool"]
    task["_log"] += ["progress 100%% (read %d bytes)" % arch["size"],
                     "total bytes read %d, sparse bytes 0 (0%%)" % arch["size"], "rescan volumes..."]
    return "OK"


def restore_failed(c, task, g):
    """qemu keeps a config stub (PVE: 'VM N state is NOT cleaned up'; over an existing VM the temporary
    'memory: 128', still in its pool); a new container is removed."""
    g.pop("lock", None)
    if g["type"] == "qemu":
        task["_log"].append("error before or during data restore, some or all disks were not "
                            "completely restored. VM %d state is NOT cleaned up." % g["vmid"])
        g["config"] = {"memory": "128"} if g.get("pool") else {}
    elif g in c.guests:
        c.guests.remove(g)


def admin_destroy(c, vmid):
    """What root does with `qm destroy N --purge`: removes any scratch guest (control API)."""
    with c.lock:
        g = c.guest(int(vmid))
        if g is None or not g.get("_scratch"):
            raise ValueError("no scratch guest %s" % vmid)
        c.guests.remove(g)
        c.cache.clear()


def abort_task(c, role, node, upid):
    for t in c.tasks.get(node, []):
        if t["upid"] != upid:
            continue
        if role == "read" or (role == "drill") != (t.get("tokenid") == DRILL_TOKEN_NAME):
            fail(403, "Permission check failed (/nodes/%s, Sys.Modify)" % node)
        if "endtime" in t:
            return None
        if t.get("_timer"):
            t["_timer"].cancel()
        g = c.guest(int(t["id"])) if t["id"].isdigit() else None
        if g is not None and t["type"] in ("qmrestore", "vzrestore"):
            restore_failed(c, t, g)
        t["_log"].append("received interrupt")
        end_task(c, t, "received interrupt")
        return None
    fail(500, "no such task")


# ---------------------------------------------------------------- config, power, agent
def put_config(c, role, node, gtype, vmid, form):
    keys = [k for k in form if k not in ("digest", "delete")]
    priv = ("VM.Config.Network" if any(NET_KEY_RE.match(k) for k in keys) else
            "VM.PowerMgmt" if "freeze" in keys else "VM.Config.Options")
    g = scratch_guest(c, role, node, gtype, vmid, priv)
    conf = guest_config(c, g)
    if g.get("lock"):
        fail(500, "VM is locked (%s)" % g["lock"] if gtype == "qemu" else "CT is locked (%s)" % g["lock"])
    if form.get("digest") and form["digest"] != digest(conf):
        fail(500, "detected modified configuration - file changed by other user? Try again.")
    for key in keys:
        if DISK_KEY_RE.match(key) or key == "rootfs":
            fail(500, "sim: disk changes are not simulated")
        conf[key] = form[key]
    for key in str(form.get("delete", "")).split(","):
        conf.pop(key.strip(), None)
    g["name"] = conf.get("name") or conf.get("hostname", "")
    check_nets(c, g, "config change while running")
    return None


def power(c, role, node, gtype, vmid, action):
    g = scratch_guest(c, role, node, gtype, vmid, "VM.PowerMgmt")
    if g.get("lock"):
        fail(500, "VM is locked (%s)" % g["lock"])
    k = knobs(c)
    prefix = "qm" if gtype == "qemu" else "vz"
    if action == "start":
        if g.get("status") == "running":
            fail(500, "VM %s already running" % vmid)
        if not guest_config(c, g):
            fail(500, "sim: guest %s has no disks to boot from" % vmid)
        return start_task(c, node, prefix + "start", vmid, k.step_seconds, finish_start, g)["upid"]
    if action == "resume":
        if gtype != "qemu":
            fail(501, "Method 'POST /nodes/%s/lxc/%s/status/resume' not implemented" % (node, vmid))
        if g.get("status") != "running":
            fail(500, "VM %s not running" % vmid)
        return start_task(c, node, "qmresume", vmid, k.step_seconds, finish_resume, g)["upid"]
    if action == "stop":
        return start_task(c, node, prefix + "stop", vmid, k.step_seconds, finish_stop, g)["upid"]
    fail(501, "Method 'POST /nodes/%s/%s/%s/status/%s' not implemented" % (node, gtype, vmid, action))


def finish_start(c, task, g):
    g["status"] = "running"
    g["_frozen"] = g["type"] == "qemu" and str(guest_config(c, g).get("freeze", "0")) in ("1", "true")
    g["_booted_at"] = None if g["_frozen"] else time.time()
    check_nets(c, g, "start")
    task["_log"].append("sim: guest %d started%s" % (g["vmid"], " (frozen)" if g["_frozen"] else ""))


def finish_resume(c, task, g):
    g["_frozen"] = False
    g["_booted_at"] = time.time()
    check_nets(c, g, "resume")


def finish_stop(c, task, g):
    g["status"] = "stopped"
    g["_frozen"] = False


def agent_ping(c, role, node, vmid):
    if role != "drill":
        fail(403, "Permission check failed (/vms/%s, VM.GuestAgent.Audit|VM.GuestAgent.Unrestricted)" % vmid)
    g = scratch_guest(c, role, node, "qemu", vmid, "VM.GuestAgent.Audit")
    if g.get("status") != "running":
        fail(500, "VM %s is not running" % vmid)
    if guest_config(c, g).get("agent", "0").split(",")[0] not in ("1", "enabled=1"):
        fail(500, "No QEMU guest agent configured")
    booted = g.get("_booted_at")
    if knobs(c).agent_silent or booted is None or time.time() - booted < knobs(c).boot_seconds:
        fail(500, "QEMU guest agent is not running")
    return {"result": {}}


# ---------------------------------------------------------------- destroy
def destroy(c, role, node, gtype, vmid, query):
    g = scratch_guest(c, role, node, gtype, vmid, "VM.Allocate")
    conf = guest_config(c, g)
    what = "VM" if gtype == "qemu" else "CT"
    if str(conf.get("protection", "0")) in ("1", "true"):
        fail(500, "can't remove %s %s - protection mode enabled" % (what, vmid))
    if g.get("lock"):
        fail(500, "%s is locked (%s)" % (what, g["lock"]))
    force = str(query.get("force", "0")) in ("1", "true")
    if g.get("status") == "running" and not (gtype == "lxc" and force):
        fail(500, "%s %s is running - destroy failed" % (what, vmid))
    k = knobs(c)
    prefix = "qm" if gtype == "qemu" else "vz"
    return start_task(c, node, prefix + "destroy", vmid, k.step_seconds, finish_destroy, g,
                      dict(query))["upid"]


def finish_destroy(c, task, g, query):
    k = knobs(c)
    if k.destroy_failures > 0:
        k.destroy_failures -= 1
        return ("lvremove 'pve/vm-%d-disk-0' error:   Logical volume pve/vm-%d-disk-0 in use."
                % (g["vmid"], g["vmid"]))
    if str(query.get("purge", "0")) in ("1", "true"):
        task["_log"].append("purging VM %d from related configurations.." % g["vmid"])
    if g in c.guests:
        c.guests.remove(g)
    return "OK"


# ---------------------------------------------------------------- routing
R = re.compile
GUEST = r"^/nodes/([^/]+)/(qemu|lxc)/([^/]+)"


def handle(c, role, method, sub, query, form):
    """(True, data) when the request is one of ours, (False, None) otherwise; raises DrillError."""
    with c.lock:
        if method != "GET":
            c.cache.clear()
        if method == "GET":
            if sub == "/cluster/nextid":
                return True, get_nextid(c, query)
            m = R(GUEST + r"/config$").match(sub)
            if m:
                return True, get_config(c, role, *m.groups())
            m = R(GUEST + r"/status/current$").match(sub)
            if m:
                return True, get_status_current(c, role, *m.groups())
            if sub == "/pools":
                return True, [{"poolid": p} for p in POOLS]
            return False, None
        if method == "POST":
            m = R(r"^/nodes/([^/]+)/(qemu|lxc)$").match(sub)
            if m:
                return True, restore(c, role, m.group(1), m.group(2), form)
            m = R(GUEST + r"/status/(start|stop|resume)$").match(sub)
            if m:
                return True, power(c, role, *m.groups())
            m = R(r"^/nodes/([^/]+)/qemu/([^/]+)/agent/ping$").match(sub)
            if m:
                return True, agent_ping(c, role, *m.groups())
            return False, None
        if method == "PUT":
            m = R(GUEST + r"/config$").match(sub)
            if m:
                return True, put_config(c, role, *m.groups(), form)
            return False, None
        if method == "DELETE":
            m = R(GUEST + r"$").match(sub)
            if m:
                return True, destroy(c, role, *m.groups(), query)
            m = R(r"^/nodes/([^/]+)/tasks/([^/]+)$").match(sub)
            if m:
                return True, abort_task(c, role, *m.groups())
        return False, None


def control(c, spec):
    """POST /_sim/drill for one cluster: restore outcomes, agent, destroy failures, timings."""
    k = knobs(c)
    with c.lock:
        for outcome in spec.get("restores", []):
            if outcome not in ("ok", "fail", "slow"):
                raise ValueError("restores: each is ok, fail or slow")
            k.restores.append(outcome)
        for vmid in spec.get("admin_destroy", []):
            admin_destroy(c, vmid)
        if "agent_silent" in spec:
            k.agent_silent = bool(spec["agent_silent"])
        if "destroy_failures" in spec:
            k.destroy_failures = int(spec["destroy_failures"])
        for key in ("restore_seconds", "boot_seconds", "step_seconds"):
            if key in spec:
                value = float(spec[key])
                if value < 0:
                    raise ValueError("%s must not be negative" % key)
                setattr(k, key, value)


def report(c):
    """GET /_sim/drill: scratch guests still there, violations, queued knobs."""
    k = knobs(c)
    with c.lock:
        scratch = [{"vmid": g["vmid"], "type": g["type"], "node": g["node"], "status": g.get("status"),
                    "lock": g.get("lock"), "pool": g.get("pool"), "config": dict(g.get("config", {}))}
                   for g in c.guests if g.get("_scratch")]
        return {"scratch": scratch, "violations": list(k.violations), "restores": list(k.restores),
                "agent_silent": k.agent_silent, "destroy_failures": k.destroy_failures}
