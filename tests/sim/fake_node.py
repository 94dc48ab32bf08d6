#!/usr/bin/env python3
"""fake_node.py - writes a fake PVE node tree (procfs, sysfs, pvelib, run) for pve_local tests and the demo.

Usage: fake_node.py --scenario NAME --out DIR [--now EPOCH] [--hz TICKS] [--node NAME]

Point the exporter at it with --path.procfs=DIR/procfs --path.sysfs=DIR/sysfs
--path.pvelib=DIR/pvelib (and rundir DIR/run). Scenarios:
  leak          the incident: main pvescheduler at 17.9 GB RSS, job state last run 4 days ago
  healthy       120 MB RSS, a fresh `jobs` child, jobs ran last night
  stuck-child   a `jobs` child hung for 3 hours
  no-pidfile    healthy, but /run/pvescheduler.pid is missing (found by scan)
  stale-pidfile the pidfile names a `bash` process; the real scheduler runs elsewhere
  none          no scheduler at all (pidfile names a dead pid)
  malformed     status without VmRSS, garbage memory.stat, no btime, one bad job file
Python 3 stdlib only; deterministic for a given --now.
"""
import argparse
import json
import os
import shutil
import time

MAIN_PID = 1234
DAY = 86400
GB = 1000 ** 3


def stat_line(pid, comm, ppid, start_ticks, state="S"):
    """One /proc/<pid>/stat line: field 3 state, 4 ppid, 5..21 filler, 22 starttime, then more."""
    filler = [str(pid), str(pid), "0", "-1", "4194560", "0", "0", "0", "0", "12", "3", "0", "0", "20", "0",
              "1", "0"]
    return "%d (%s) %s %d %s %d 123456789 3000 18446744073709551615\n" % (
        pid, comm, state, ppid, " ".join(filler), start_ticks)


def status_text(comm, pid, ppid, rss_kb):
    lines = ["Name:\t%s" % comm, "Umask:\t0022", "State:\tS (sleeping)", "Tgid:\t%d" % pid,
             "Pid:\t%d" % pid, "PPid:\t%d" % ppid, "VmPeak:\t%8d kB" % ((rss_kb or 0) + 4096)]
    if rss_kb is not None:
        lines.append("VmRSS:\t%8d kB" % rss_kb)
    lines += ["RssAnon:\t%8d kB" % max((rss_kb or 0) - 8000, 0), "Threads:\t1"]
    return "\n".join(lines) + "\n"


class Tree:
    def __init__(self, out, now, hz):
        self.out, self.now, self.hz = out, now, hz
        self.btime = now - 10 * DAY

    def path(self, *parts):
        p = os.path.join(self.out, *parts)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        return p

    def write(self, rel, text):
        with open(self.path(*rel.split("/")), "w") as f:
            f.write(text)

    def proc(self, pid, comm, ppid, started_ago, rss_kb=20000, status=True):
        ticks = int((self.now - started_ago - self.btime) * self.hz)
        self.write("procfs/%d/stat" % pid, stat_line(pid, comm, ppid, ticks))
        self.write("procfs/%d/comm" % pid, comm + "\n")
        if status:
            self.write("procfs/%d/status" % pid, status_text(comm, pid, ppid, rss_kb))

    def base(self, btime=True):
        text = "cpu  1 2 3 4\nintr 0\nctxt 1\n"
        if btime:
            text += "btime %d\n" % self.btime
        self.write("procfs/stat", text + "processes 5000\nprocs_running 1\n")
        self.proc(1, "systemd", 0, 10 * DAY - 5)
        self.proc(2, "kthreadd", 0, 10 * DAY - 5)
        # a decoy whose comm holds ") S 1 (": only the last ')' rule reads it right
        self.proc(4000, "pvescheduler) S", 1, 3600)
        self.proc(999, "bash", 1, 7200)

    def memstat(self, anon, text=None):
        body = text if text is not None else (
            "anon %d\nfile 524288000\nkernel 2097152\nsock 0\nshmem 0\nfile_mapped 1048576\n" % anon)
        self.write("sysfs/fs/cgroup/system.slice/pvescheduler.service/memory.stat", body)
        self.write("sysfs/fs/cgroup/system.slice/pvescheduler.service/memory.current", "%d\n" % (anon + 524288000))

    def job(self, jobid, state):
        self.write("pvelib/jobs/vzdump-%s.json" % jobid, json.dumps(state, indent=2) + "\n")

    def upid(self, node, started):
        return "UPID:%s:00278614:07B4AAEB:%08X:vzdump::root@pam:" % (node, int(started))


def jobs_ran(t, node, last):
    cfg = {"enabled": 1, "schedule": "02:30"}
    t.job("backup-home-daily", {"state": "stopped", "msg": "OK", "upid": t.upid(node, last), "config": cfg})
    t.job("backup-weekly", {"state": "stopped", "msg": "OK", "upid": t.upid(node, last - 3 * DAY),
                            "config": {"enabled": 1, "schedule": "sun 03:00"}, "updated": int(last - DAY)})
    t.job("backup-new", {"state": "created", "time": int(last - 2 * DAY), "config": cfg})


def scenario(t, name, node):
    last_night = t.now - 8 * 3600
    if name == "leak":
        t.base()
        t.write("run/pvescheduler.pid", "%d\n" % MAIN_PID)
        t.proc(MAIN_PID, "pvescheduler", 1, 9 * DAY, rss_kb=int(17.9 * GB / 1024))
        t.memstat(int(18.2 * GB))
        jobs_ran(t, node, t.now - 4 * DAY)
        return
    if name in ("healthy", "no-pidfile", "stuck-child", "stale-pidfile"):
        t.base()
        if name == "stale-pidfile":
            t.write("run/pvescheduler.pid", "999\n")
        elif name != "no-pidfile":
            t.write("run/pvescheduler.pid", "%d\n" % MAIN_PID)
        t.proc(MAIN_PID, "pvescheduler", 1, 5 * DAY, rss_kb=120 * 1024)
        child_age = 3 * 3600 if name == "stuck-child" else 20
        t.proc(2345, "pvescheduler", MAIN_PID, child_age, rss_kb=90 * 1024)
        t.proc(2346, "pvescheduler", MAIN_PID, 10, rss_kb=80 * 1024)
        t.proc(3456, "task UPID:%s:" % node[:5], 1, 4 * 3600)  # a re-parented vzdump worker
        t.memstat(140 * 1024 * 1024)
        jobs_ran(t, node, last_night)
        return
    if name == "none":
        t.base()
        t.write("run/pvescheduler.pid", "7777\n")
        jobs_ran(t, node, t.now - 4 * DAY)
        return
    if name == "malformed":
        t.base(btime=False)
        t.write("run/pvescheduler.pid", "%d\n" % MAIN_PID)
        t.proc(MAIN_PID, "pvescheduler", 1, 5 * DAY, rss_kb=None)
        t.write("procfs/5000/stat", "5000 (pvescheduler S 1 5000\n")   # no ')' at all
        t.write("procfs/5001/stat", "5001 (pvescheduler) S 1\n")       # too few fields
        t.memstat(0, text="anon lots\n")
        jobs_ran(t, node, last_night)
        t.write("pvelib/jobs/vzdump-broken.json", '{"state":"stopped","upid":')
        t.write("pvelib/jobs/vzdump-badupid.json", '{"state":"stopped","upid":"UPID:pve1:zz"}')
        t.write("pvelib/jobs/vzdump-array.json", '[1,2]')
        return
    raise SystemExit("fake_node: unknown scenario %r" % name)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--now", type=float, default=None)
    ap.add_argument("--hz", type=int, default=os.sysconf("SC_CLK_TCK"))
    ap.add_argument("--node", default="home")
    a = ap.parse_args()
    if os.path.isdir(a.out):
        for sub in ("procfs", "sysfs", "pvelib", "run"):
            shutil.rmtree(os.path.join(a.out, sub), ignore_errors=True)
    t = Tree(a.out, int(a.now if a.now is not None else time.time()), a.hz)
    scenario(t, a.scenario, a.node)
    os.makedirs(os.path.join(a.out, "run"), exist_ok=True)
    os.makedirs(os.path.join(a.out, "pvelib", "jobs"), exist_ok=True)


if __name__ == "__main__":
    main()
