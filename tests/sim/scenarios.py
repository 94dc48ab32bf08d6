"""scenarios.py - the simulated inventory: every guest, job, storage, workflow and container.

Tests, the demo and docs/simulator.md quote these tables; change them together.
Times are offsets from the moment the scenario is loaded (start-up or POST /_sim/scenario).
"""

import time

import calevent
import docker
import n8n
import pbs
import pve

HOUR = 3600
DAY = 86400
GiB = 1024 ** 3
TiB = 1024 ** 4
PVE9 = {"release": "9.1", "repoid": "9d436f37a0ac4172", "version": "9.1.2"}
PVE8 = {"release": "8.4", "repoid": "2a5fa54a8503f96d", "version": "8.4.14"}
PBS3 = {"release": "2", "repoid": "c2f3a5e0ad5b5d4e2c9d7e6f1b0a9c8d7e6f5a4b", "version": "3.4"}


def node(name, maxcpu, maxmem_gib, fp):
    return {"node": name, "status": "online", "cpu": 0.0312, "maxcpu": maxcpu,
            "mem": 6 * GiB, "maxmem": maxmem_gib * GiB, "disk": 9 * GiB, "maxdisk": 94 * GiB,
            "uptime": 1987654, "level": "", "id": "node/" + name, "type": "node",
            "ssl_fingerprint": ":".join([fp] * 32)}


def guest(vmid, gtype, name, node_name, status="running", **kw):
    g = {"vmid": vmid, "type": gtype, "name": name, "node": node_name, "status": status}
    g.update(kw)
    return g


# ---------------------------------------------------------------- cluster "home"
HOME_NODES = [node("pve1", 8, 32, "A1"), node("pve2", 4, 16, "B2")]

HOME_GUESTS = [
    # vmid, type, name, node: the two incident guests, both selected by backup-home
    guest(100, "qemu", "vaultwarden", "pve1", backup_size=3 * GiB, tags="critical;web"),
    guest(105, "lxc", "paperless", "pve2", backup_size=5 * GiB,
          extra={"template": "0"}),                 # loose typing: numeric string
    # no job selects 112 at all; it holds one old manual, protected archive
    guest(112, "lxc", "sandbox", "pve1", status="stopped"),
    # template; only the *disabled* job backup-home-templates selects it, so PVE's
    # not-backed-up does not list it while an enabled-only coverage check must
    guest(9000, "qemu", "debian12-cloud", "pve2", status="stopped", template=1),
]

HOME_STORAGES = {
    "local": {"type": "dir", "content": "iso,vztmpl,backup,snippets", "shared": 0,
              "total": 100861726720, "used": 7954288640},
    "local-lvm": {"type": "lvmthin", "content": "images,rootdir", "shared": 0,
                  "total": 348160786432, "used": 80162947891},
    "synology-backups": {"type": "nfs", "content": "backup", "shared": 1,
                         "total": 4 * TiB, "used": int(1.7 * TiB)},
}

HOME_JOBS = [
    {"id": "backup-home", "type": "vzdump", "schedule": "02:00", "enabled": 1,
     "storage": "synology-backups", "vmid": "100,105", "mode": "snapshot", "compress": "zstd",
     "notes-template": "{{guestname}}", "repeat-missed": 0,
     "prune-backups": {"keep-daily": "7", "keep-weekly": "4"}},
    {"id": "backup-home-templates", "type": "vzdump", "schedule": "sat 02:00", "enabled": 0,
     "storage": "local", "vmid": "9000", "mode": "stop", "comment": "templates, paused",
     "prune-backups": "keep-last=2"},               # loose typing: property string
]

# ---------------------------------------------------------------- cluster "shop"
SHOP_NODES = [node("shop1", 16, 64, "C3"), node("shop2", 16, 64, "D4")]

SHOP_GUESTS = [
    guest(200, "qemu", "web-frontend", "shop1", tags="web"),
    guest(201, "qemu", "web-backend", "shop1"),
    guest(202, "lxc", "postgres", "shop1", backup_size=12 * GiB),
    guest(203, "lxc", "redis", "shop1", backup_size=GiB // 2),
    guest(204, "qemu", "mail", "shop2", backup_size=20 * GiB),
    guest(205, "qemu", "erp", "shop2", backup_size=15 * GiB),
    guest(206, "lxc", "files", "shop2", pool="office", backup_size=40 * GiB),
    guest(207, "lxc", "monitoring", "shop1"),
    guest(208, "lxc", "wiki", "shop2", pool="office"),
    guest(209, "lxc", "vpn", "shop1", backup_size=GiB // 4),
    guest(210, "qemu", "ci-runner", "shop2", status="stopped"),
    guest(211, "qemu", "pos-gateway", "shop1", hastate="started"),
    guest(212, "lxc", "dns", "shop2", no_rrd=True),  # no RRD data: no name/template, status unknown
]

SHOP_STORAGES = {
    "local": {"type": "dir", "content": "backup,iso,vztmpl", "shared": 0,
              "total": 100861726720, "used": 31254288640},
    "local-zfs": {"type": "zfspool", "content": "images,rootdir", "shared": 0,
                  "total": 1798000000000, "used": 402000000000},
    "shop-pbs": {"type": "pbs", "content": "backup", "shared": 1,
                 "total": 8 * TiB, "used": 3 * TiB, "extra": {"shared": "1"},  # loose: "1"
                 # storage.cfg: the simulated PBS pbs1, datastore store1, root namespace
                 "config": {"server": "127.0.0.1", "port": "sim", "datastore": "store1",
                            "username": "pve-shop@pbs!shop"}},
}

SHOP_JOBS = [
    # enabled is absent: PVE treats that as enabled
    {"id": "backup-shop", "type": "vzdump", "schedule": "*-*-* 01:30", "storage": "shop-pbs",
     "all": 1, "mode": "snapshot", "notes-template": "{{guestname}}",
     "prune-backups": {"keep-daily": "14"}},
    {"id": "backup-shop-db", "type": "vzdump", "schedule": "*/6:00", "enabled": "1",  # loose: "1"
     "storage": "local", "vmid": "202", "mode": "snapshot", "compress": "zstd"},
    {"id": "backup-shop-office", "type": "vzdump", "schedule": "mon..fri 21:00", "enabled": 1,
     "storage": "shop-pbs", "pool": "office", "mode": "suspend", "node": "shop2"},
]

# ---------------------------------------------------------------- PBS "pbs1"
# store1's root namespace holds what shop's `shop-pbs` storage writes (the same snapshots PVE lists);
# the rest is here. Times are offsets before the scenario is loaded.
PBS_SITEB_VM = "100"                 # store1/site-b: vm/100 pulled from remote pbs-siteb
PBS_LAB_CT = "300"                   # store1/site-b/lab: ct/300, never verified
PBS_VERIFY_FAILED = (204, 1)         # incident: vmid, age rank (0 = newest) of the corrupt snapshot

# Restorability facts on shop's PBS storage, as PVE passes them through (every scenario):
SHOP_ENCRYPTED_VMID = 206            # files: client-side encrypted, PVE shows the key fingerprint
SHOP_ENCRYPTION_KEY = ":".join(["3c", "9a", "41", "d7", "0e", "b2", "58", "6f"] * 4)
SHOP_PROTECTED_VMID = 205            # erp: its newest snapshot is protected from pruning
# The `restore` scenario (the incident plus): mail's newest snapshot failed verification; wiki's
# snapshots are unverified but for one 9 days old.
RESTORE_NEWEST_FAILED_VMID = 204
RESTORE_UNVERIFIED_VMID = 208
RESTORE_LAST_VERIFIED_AGE = 9 * 86400
PBS_JOBS = [
    # type, id, store, schedule, config
    ("verify", "v-store1", "store1", "03:30", {"ignore-verified": True, "outdated-after": 30}),
    ("verify", "v-offsite", "offsite", "sat 06:00", {"ignore-verified": False,
                                                     "comment": "full re-verify of the offsite copy"}),
    ("prune", "p-store1", "store1", "daily", {"keep-daily": 7, "keep-weekly": 4}),
    ("prune", "p-offsite", "offsite", "daily", {"keep-daily": 14, "disable": True,
                                                "comment": "disabled until the offsite disk is replaced"}),
    ("sync", "s-siteb-pull", "store1", "0/6:15", {"ns": "site-b", "owner": "sync-siteb@pbs",
                                                  "remote": "pbs-siteb", "remote-store": "backup",
                                                  "remove-vanished": True}),
    ("sync", "s-offsite", "offsite", "05:00", {"remote-store": "store1", "group-filter": ["exclude:type:host"],
                                               "transfer-last": 3, "max-depth": 0}),
    ("sync", "s-push-cloud", "store1", "sat 22:00", {"sync-direction": "push", "remote": "cloud",
                                                     "remote-store": "pbs-cloud"}),
]

# ---------------------------------------------------------------- n8n "app" and Docker
N8N_HEALTHY = 35            # 11 active, 21 inactive, 3 archived (archived is never active)
N8N_INCIDENT = 1            # one live workflow after the rebuild

DOCKER_CONTAINERS = [
    {"id": "5f1c0c3b2a9e" + "4d7b" * 13, "name": "communications-stack-stalwart-1",
     "image": "stalwartlabs/mail-server:v0.10.7", "state": "running", "command": "/usr/local/bin/entrypoint.sh",
     "project": "communications-stack", "service": "stalwart",
     "ports": [{"IP": "0.0.0.0", "PrivatePort": 993, "PublicPort": 993, "Type": "tcp"},
               {"IP": "0.0.0.0", "PrivatePort": 25, "PublicPort": 25, "Type": "tcp"}],
     "mounts": [{"Type": "volume", "Name": "communications-stack_stalwart-data",
                 "Destination": "/opt/stalwart"}]},
    {"id": "9a7e21d44c10" + "be02" * 13, "name": "communications-stack-roundcube-1",
     "image": "roundcube/roundcubemail:1.6.9-apache", "state": "running",
     "command": "/docker-entrypoint.sh apache2-foreground",
     "project": "communications-stack", "service": "roundcube", "ip": "172.20.0.3",
     "mounts": [{"Type": "bind", "Source": "/srv/roundcube/config",
                 "Destination": "/var/roundcube/config", "Mode": "ro", "RW": False},
                {"Type": "tmpfs", "Destination": "/tmp"}]},
    {"id": "c3d9f0a8e7b6" + "11aa" * 13, "name": "communications-stack-redis-1",
     "image": "redis:7.2-alpine", "state": "running", "command": "docker-entrypoint.sh redis-server",
     "project": "communications-stack", "service": "redis", "ip": "172.20.0.4",
     "mounts": [{"Type": "volume", "Name": "3f9c1b2d4e5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
                 "Destination": "/data", "Mode": ""}]},
    {"id": "0b8e7d6c5a4f" + "9c3e" * 13, "name": "communications-stack-certbot-1",
     "image": "certbot/certbot:v2.11.0", "state": "exited", "command": "certbot renew",
     "project": "communications-stack", "service": "certbot",
     "mounts": [{"Type": "bind", "Source": "/srv/letsencrypt", "Destination": "/etc/letsencrypt"}]},
]

DOCKER_VOLUMES = [
    {"name": "communications-stack_stalwart-data",
     "labels": {"com.docker.compose.project": "communications-stack",
                "com.docker.compose.version": "2.21.0",
                "com.docker.compose.volume": "stalwart-data"}},
    {"name": "3f9c1b2d4e5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
     "labels": {"com.docker.volume.anonymous": ""}},
]


# ---------------------------------------------------------------- builders
def n8n_workflows(count):
    """count workflows: the last 3 of a big enough set archived, every third of the rest active.
    n8n deactivates a workflow when it archives it, so an archived one is never active."""
    wfs = []
    for i in range(count):
        archived = count >= 10 and i >= count - 3
        wfs.append({"name": "wf-%d" % (i + 1), "active": i % 3 == 0 and not archived, "archived": archived})
    if count == 1:
        wfs = [{"name": "sched-1", "active": True}]
    return wfs


def schedule_slots(schedule, until, count):
    """The last `count` slots of a calendar event at or before `until`, oldest first."""
    sched = calevent.Schedule(schedule)
    t, slots = until - (count + 2) * 8 * DAY, []
    while True:
        t = sched.next_after(t)
        if t > until:
            return slots[-count:]
        slots.append(t)


def daily_runs(cluster, job_id, newest_age, count, now, every=DAY, status=None, failed=None, align=True):
    """Record `count` runs of a job. With align (a working scheduler) the runs start on the job's
    own schedule slots, the newest being the last slot at least `newest_age` seconds ago, so
    the next slot after it is still ahead and the job is not overdue. Without align (the
    stalled scheduler) the newest run is exactly `newest_age` ago and runs are `every` apart.
    `status`/`failed` map a run index (0 = newest) to {node: status} / failing vmids."""
    job = next(j for j in cluster.jobs if j["id"] == job_id)
    if align:
        starts = schedule_slots(job["schedule"], int(now - newest_age), count)
    else:
        starts = [int(now - newest_age - k * every) for k in range(count - 1, -1, -1)]
    for i, start in enumerate(starts):
        k = len(starts) - 1 - i
        cluster.run_job(job, start, (status or {}).get(k), (failed or {}).get(k, ()))


def job_list(jobs, schedules):
    """Copies of jobs, with the schedules given by job id replaced."""
    out = [dict(j) for j in jobs]
    for j in out:
        if j["id"] in (schedules or {}):
            calevent.Schedule(schedules[j["id"]])  # a bad calendar event fails the load, not later
            j["schedule"] = schedules[j["id"]]
    return out


def build_home(now, incident, opts, schedules=None):
    c = pve.Cluster("home", [dict(n) for n in HOME_NODES], [dict(g) for g in HOME_GUESTS],
                    {k: dict(v) for k, v in HOME_STORAGES.items()}, job_list(HOME_JOBS, schedules),
                    PVE9, now, seed=11, task_seconds=opts.task_seconds)
    # incident: the schedulers stopped starting jobs 4 days ago (newest run 4 d + 10 min ago)
    if incident:
        daily_runs(c, "backup-home", 4 * DAY + 600, 8, now, failed={5: (105,)}, align=False)
    else:
        daily_runs(c, "backup-home", 0, 8, now, failed={5: (105,)})
    c.add_archive(c.guest(112), "local", int(now - 41 * DAY), 734003200, "pve1",
                  {"notes": "before upgrade", "protected": 1})
    c.add_task("pve1", "vzdump", "112", "root@pam", int(now - 41 * DAY - 300),
               int(now - 41 * DAY + 20), "OK", [112], "local")
    return c


def verify_upid(start):
    """The UPID of a verify job run on pbs1 (PBS's form: a task id before the start time)."""
    return pbs.make_upid("pbs1", 0x4A9, 0x2A7, int(start), "verificationjob", "store1:v-store1", "root@pam")


def shop_restorability(c, now, restore):
    """PBS snapshot flags on shop-pbs: an encrypted guest, a protected snapshot, and in the
    `restore` scenario a newest snapshot that failed verification and a guest verified 9 days ago."""
    snaps = lambda vmid: sorted((a for a in c.archives["shop-pbs"] if a["vmid"] == vmid), key=lambda a: -a["ctime"])
    for a in snaps(SHOP_ENCRYPTED_VMID):
        a["encrypted"] = SHOP_ENCRYPTION_KEY
    snaps(SHOP_PROTECTED_VMID)[0]["protected"] = 1
    if not restore:
        return
    snaps(RESTORE_NEWEST_FAILED_VMID)[0]["verification"] = {"state": "failed", "upid": verify_upid(now - 2 * HOUR)}
    for a in snaps(RESTORE_UNVERIFIED_VMID):
        a.pop("verification", None)
    c.add_archive(c.guest(RESTORE_UNVERIFIED_VMID), "shop-pbs", int(now - RESTORE_LAST_VERIFIED_AGE),
                  c.guest_size(c.guest(RESTORE_UNVERIFIED_VMID)), None,
                  {"notes": "wiki", "verification": {"state": "ok",
                                                     "upid": verify_upid(now - RESTORE_LAST_VERIFIED_AGE + 5 * HOUR)}})


def build_shop(now, opts, restore=False):
    c = pve.Cluster("shop", [dict(n) for n in SHOP_NODES], [dict(g) for g in SHOP_GUESTS],
                    {k: dict(v) for k, v in SHOP_STORAGES.items()}, [dict(j) for j in SHOP_JOBS],
                    PVE8, now, seed=23, task_seconds=opts.task_seconds)
    daily_runs(c, "backup-shop", 0, 7, now, status={0: {"shop2": "WARNINGS: 1"}})
    daily_runs(c, "backup-shop-db", 0, 12, now)
    daily_runs(c, "backup-shop-office", 0, 3, now)
    # a manual single-guest run by another token, like the fixture's
    c.add_task("shop2", "vzdump", "205", "monitor@pve", int(now - 9 * DAY), int(now - 9 * DAY + 500),
               "could not activate storage 'shop-pbs': storage 'shop-pbs' is not online",
               [205], "shop-pbs", tokenid="tok")
    # loose typing on one archive: size as a numeric string
    newest = max(c.archives["shop-pbs"], key=lambda a: a["ctime"])
    newest["size"] = str(newest["size"])
    # PBS verification state on some snapshots
    for a in c.archives["shop-pbs"][::3]:
        a["verification"] = {"state": "ok", "upid": "UPID:pbs:000016F6:00037CAD:00000001:%08X:"
                                                    "verify_datastore:store1:root@pam:" % a["ctime"]}
    shop_restorability(c, now, restore)
    return c


def build_bench(now, opts):
    nodes = [node("bench%d" % (i + 1), 32, 256, "%02X" % (i + 16)) for i in range(opts.nodes)]
    guests = []
    for i in range(opts.guests):
        gtype = "lxc" if i % 3 == 2 else "qemu"
        guests.append(guest(1000 + i, gtype, "guest-%d" % (1000 + i), nodes[i % opts.nodes]["node"],
                            backup_size=GiB + (i % 17) * 256 * 1024 ** 2))
    storages = {"local": {"type": "dir", "content": "backup,iso,vztmpl", "shared": 0,
                          "total": 100861726720, "used": 7954288640},
                "bench-nfs": {"type": "nfs", "content": "backup", "shared": 1,
                              "total": 100 * TiB, "used": 40 * TiB}}
    jobs = [{"id": "backup-bench", "type": "vzdump", "schedule": "02:00", "enabled": 1,
             "storage": "bench-nfs", "all": 1, "mode": "snapshot", "compress": "zstd"}]
    if opts.job_vmid_list:  # the job names every guest in its vmid list instead of all=1
        del jobs[0]["all"]
        jobs[0]["vmid"] = ",".join(str(g["vmid"]) for g in guests)
    c = pve.Cluster("bench", nodes, guests, storages, jobs, PVE9, now, seed=5,
                    task_seconds=opts.task_seconds)
    daily_runs(c, "backup-bench", 6 * HOUR, opts.archives_per_guest, now)
    return c


def last_slot(schedule, before):
    """The newest slot of schedule at or before `before`."""
    return schedule_slots(schedule, int(before), 1)[-1]


def finished_run(schedule, now, duration):
    """(start, end) of a run at the newest slot of schedule that has finished by `now`.

    A run that would still be going is cut short to have ended a second ago, so the next
    slot after it is in the future whatever the time of day: a healthy job is never shown
    overdue because the scenario was built just after one of its slots."""
    start = last_slot(schedule, now)
    return start, max(start + 1, min(start + duration, int(now) - 1))


def shop_pbs_snapshots(cluster, extra):
    """store1's root namespace: shop's `shop-pbs` archives as PBS snapshots, plus `extra`."""
    def read():
        with cluster.lock:
            archives = [dict(a) for a in cluster.archives.get("shop-pbs", [])]
        out = []
        for a in archives:
            ver = a.get("verification") or {}
            out.append(pbs.snapshot("vm" if a["subtype"] == "qemu" else "ct", str(a["vmid"]), a["ctime"],
                                    int(a["size"]), ver.get("state"), ver.get("upid"), a.get("notes"),
                                    "pve-shop@pbs!shop", bool(a.get("protected")), bool(a.get("encrypted"))))
        return out + extra
    return read


def offsite_copies(source, sync_job, verify_job, keep):
    """offsite's snapshots: the newest `keep` vm/ct snapshots per group as of the sync's last run,
    verified by the offsite verify job when it ran after them (else the source's state)."""
    def read():
        cut = sync_job.last_end()
        groups = {}
        for snap in source():
            if snap["type"] != "host" and snap["size"] is not None and snap["time"] <= cut:
                groups.setdefault((snap["type"], snap["id"]), []).append(snap)
        out = []
        for snaps in groups.values():
            for snap in sorted(snaps, key=lambda x: -x["time"])[:keep]:
                copy = dict(snap, owner="root@pam")
                if verify_job.last_end() and verify_job.last_end() > cut:
                    copy["verify"], copy["verify_upid"] = "ok", verify_job.upid
                out.append(copy)
        return out
    return read


def build_pbs(now, incident, shop, corrupt=True):
    """corrupt: the incident's failed verification of a vm/204 snapshot (not in the seed scenario)."""
    inst = pbs.Instance("pbs1", dict(PBS3), now)
    upid = lambda start, node="pbs1": pbs.make_upid(node, 0x4A9, 0x2A7, int(start), "verificationjob",
                                                    "store1:v-store1", "root@pam")
    # store1 root: host/files every 6 h by proxmox-backup-client, the newest still being written
    files = [pbs.snapshot("host", "files", last_slot("0/6:00", now - 600 - k * 6 * HOUR), 510 * GiB + k * 3 * GiB,
                          "ok" if k >= 2 else None, upid(now - k * 6 * HOUR + 1800), "fileserver fs01",
                          "files@pbs") for k in range(7)]
    files.append(pbs.snapshot("host", "files", now - 60, None, owner="files@pbs"))   # being written now
    inst.add_task("backup", "store1:host/files", now - 60, user="files@pbs")
    if incident and corrupt:  # the verify job found a corrupt chunk in one of vm/204's snapshots
        vmid, rank = PBS_VERIFY_FAILED
        snaps = sorted((a for a in shop.archives["shop-pbs"] if a["vmid"] == vmid), key=lambda a: -a["ctime"])
        snaps[rank]["verification"] = {"state": "failed", "upid": upid(now - 26 * HOUR)}
    store1 = pbs.Store("store1", "shop cluster, ZFS mirror", 8 * TiB, 3 * TiB + 217 * GiB, 9 * GiB,
                       {"schedule": "daily", "state": "OK", "pending": 2 * GiB,
                        "still_bad": 1 if incident else 0})
    store1.gc["last_start"], store1.gc["last_end"] = finished_run("daily", now, 1282)
    root = shop_pbs_snapshots(shop, files)
    store1.namespaces = {
        "": root,
        "site-b": [pbs.snapshot("vm", PBS_SITEB_VM, last_slot("03:15", now - k * DAY), 50 * GiB + k * GiB,
                                "ok" if k else None, pbs.make_upid("pbs-siteb", 0x1C2, 0x91, int(now - k * DAY),
                                                                   "verificationjob", "backup:v-siteb",
                                                                   "root@pam"), "siteb-erp", "sync-siteb@pbs")
                   for k in range(3)],
        "site-b/lab": [pbs.snapshot("ct", PBS_LAB_CT, now - k * DAY - 2 * HOUR, 3 * GiB, owner="sync-siteb@pbs")
                       for k in (1, 2)],
    }
    inst.add_store(store1)
    jobs = {}
    for jtype, jid, store, sched, config in PBS_JOBS:
        job = pbs.Job(jtype, jid, store, sched, dict(config))
        job.created = now - 90 * DAY
        if not config.get("disable"):
            duration = {"verify": 1900, "prune": 40, "sync": 600}[jtype]
            if jid == "s-offsite" and incident:  # the offsite copy stopped: the slot after its last run is past
                job.last_start, job.duration = last_slot(sched, now - 2 * DAY), duration
            else:
                start, end = finished_run(sched, now, duration)
                job.last_start, job.duration = start, end - start
            if jid == "v-store1" and incident:
                job.state = "verification failed - please check the log for details"
        jobs[jid] = inst.add_job(job)
    offsite_used = (1700 if incident else 800) * 1000 ** 3
    offsite = pbs.Store("offsite", None, 2000 * 1000 ** 3, offsite_used, (25 if incident else 4) * 1000 ** 3,
                        {"schedule": "sun 02:00",
                         "state": "unable to access chunk store - Input/output error (os error 5)"
                         if incident else "OK"}, created=now - 20 * DAY)
    offsite.gc["last_start"], offsite.gc["last_end"] = finished_run("sun 02:00", now, 252)
    offsite.namespaces = {"": offsite_copies(root, jobs["s-offsite"], jobs["v-offsite"], 3)}
    inst.add_store(offsite)
    if incident:
        inst.add_task("backup", "store1:ct/203", now - 20 * HOUR, now - 20 * HOUR + 412,
                      "backup ended but finished flag is not set.", "pve-shop@pbs!shop")
    else:
        inst.add_task("backup", "store1:ct/203", now - 12 * DAY, now - 12 * DAY + 412,
                      "connection reset by peer", "pve-shop@pbs!shop")
    inst.add_task("logrotate", None, now - 3 * HOUR, now - 3 * HOUR + 2, "OK")
    return inst


def build_pbs_bench(now, opts):
    """One datastore with opts.pbs_groups groups of opts.pbs_snapshots finished snapshots each."""
    inst = pbs.Instance("bench", dict(PBS3), now)
    snaps = []
    for g in range(opts.pbs_groups):
        stype = "ct" if g % 3 == 2 else "vm"
        for k in range(opts.pbs_snapshots):
            t = now - 6 * HOUR - k * DAY - g
            snaps.append(pbs.snapshot(stype, str(1000 + g), t, 20 * GiB + g * 1024 + k,
                                      "ok" if k % 7 else None, "UPID:bench:00000001:00000002:00000003:"
                                      "00000004:verificationjob:bench\\x3av:root@pam:", "guest-%d" % (1000 + g),
                                      "pve@pbs!bench"))
    st = pbs.Store("bench", "bench store", 100 * TiB, 40 * TiB, 200 * GiB,
                   {"schedule": "daily", "state": "OK"})
    st.gc["last_start"], st.gc["last_end"] = finished_run("daily", now, 900)
    st.namespaces = {"": snaps}
    st.static = True
    inst.add_store(st)
    for jtype, sched in (("verify", "03:30"), ("prune", "daily"), ("sync", "05:00")):
        job = pbs.Job(jtype, jtype[0] + "-bench", "bench", sched, {"remote-store": "x"} if jtype == "sync" else {})
        start, end = finished_run(sched, now, job.duration)
        job.last_start, job.duration = start, end - start
        inst.add_job(job)
    return inst


class World:
    """Everything one scenario serves."""

    def __init__(self, name, opts, schedules=None):
        """schedules: {"home": {"backup-home": "14:37"}} replaces job schedules before the
        history is made (healthy runs follow the replaced schedule)."""
        now = time.time()
        self.name = name
        if name == "bench":
            self.clusters = {"bench": build_bench(now, opts)}
            self.pbs = {"bench": build_pbs_bench(now, opts)}
            workflows = n8n_workflows(opts.workflows)
        elif name in ("seed", "incident", "healthy", "restore"):
            # seed: the seed incident alone (no PBS snapshot PVE lists failed verification);
            # incident: plus the PBS problems; restore: plus what makes backups unrestorable
            incident = name != "healthy"
            self.clusters = {"home": build_home(now, incident, opts, (schedules or {}).get("home")),
                             "shop": build_shop(now, opts, restore=name == "restore")}
            self.pbs = {"pbs1": build_pbs(now, incident, self.clusters["shop"], corrupt=name != "seed")}
            workflows = n8n_workflows(N8N_INCIDENT if incident else N8N_HEALTHY)
        else:
            raise ValueError("unknown scenario '%s'" % name)
        self.n8n = {"app": n8n.Instance("app", workflows, now)}
        self.docker = docker.Engine(DOCKER_CONTAINERS, DOCKER_VOLUMES, now)

    def prewarm(self, api):
        """Serialise the usual GET answers once, so that the first scrape is fast too."""
        for c in self.clusters.values():
            paths = ["/version", "/nodes", "/cluster/backup-info/not-backed-up", "/cluster/tasks"]
            for nd in c.node_names():
                paths += ["/nodes/%s/storage" % nd, "/nodes/%s/services/pvescheduler/state" % nd]
            for path in paths:
                api.get(c, path, {})
            api.get(c, "/cluster/resources", {"type": "vm"})
            for nd in c.node_names():
                api.get(c, "/nodes/%s/storage" % nd, {"content": "backup"})
                api.get(c, "/nodes/%s/tasks" % nd, {"typefilter": "vzdump"})
                for sid in c.storages:
                    if c.storage_on(sid, nd) and "backup" in c.storages[sid]["content"]:
                        api.get(c, "/nodes/%s/storage/%s/content" % (nd, sid), {"content": "backup"})
