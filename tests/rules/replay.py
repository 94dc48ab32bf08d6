#!/usr/bin/env python3
"""Record and replay: the bundled rules against what the real exporter publishes, minute by minute.

The real exporter (build/persistence_exporter, or $PE_BUILD) runs against the simulator
(tests/sim/) through a 500-minute timeline. Its wall clock is moved forward one minute per scrape
with libfaketime (the monotonic clock it uses for deadlines stays real), so every minute has its
own recorded /metrics. The recordings become promtool input series: timestamps shifted to
promtool's clock (replay minute 0 = 0 s), stale markers where series vanish, `up` 0 and every
series stale on a failed scrape or while the exporter restarts. promtool then evaluates the
bundled rules (rules/*.yml) at 1-minute resolution and this script asserts, for every minute,
exactly which critical alerts fire, plus the detection times docs/alerts.md promises.

Timeline (replay minutes; the world is the simulator's "healthy" scenario, frozen from minute 0):
    every m % 20 == 19   Prometheus' scrape fails (up 0, stale markers)
    45, 350              the exporter restarts (no scrape that minute; 350 is inside the outage)
    90                   backup-home's slot passes; pvescheduler has stalled: nothing runs
    ~215                 home's two guests pass their 26 h max age
    160                  n8n is rebuilt: 1 workflow, a new database refuses the exporter's key (401)
    230                  the operator gives the exporter a new key (reload): n8n lists 1 of 35
    260-439              the PVE cluster "home" is down (595 on every request), 3 hours

Usage: replay.py [--keep DIR] [--minutes N]. Exit status 0 when every assertion holds; it fails
loudly (non-zero, with the reason) when the exporter, libfaketime or promtool is missing.
"""
import argparse
import glob
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
os.environ.setdefault("PE_BUILD", os.path.join(ROOT, "build"))
os.environ["TZ"] = "UTC"  # the simulator reads calendar events in its local zone
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402  (Sim, Exporter, parse_metrics: the integration suite's)

MINUTES = 500
SLOT = 90                  # backup-home's slot, minutes after the start
REBUILD = 160              # n8n rebuilt: new database, the exporter's key refused
NEW_KEY = 230              # the exporter gets a key of the rebuilt instance
OUTAGE = (260, 440)        # home down: [start, end)
RESTARTS = (45, 350)       # no scrape that minute, a new exporter process from the next
MAX_AGE_MIN = 26 * 60      # the targets' max_age
KEEP_FIRING_MIN = 15       # PersistenceSourceDown's keep_firing_for
INSTANCE = "replay:9709"
JOB = "persistence_exporter"
N8N_KEY = "sim-n8n-key-app"
N8N_NEW_KEY = "sim-n8n-key-app-after-rebuild"


def failed_scrape(m):
    """Prometheus' scrape of minute m fails: every 20 minutes, and while the exporter restarts."""
    return m % 20 == 19 or m in RESTARTS


class ReplayError(Exception):
    pass


def libfaketime():
    found = sorted(glob.glob("/usr/lib/*/faketime/libfaketimeMT.so.1"))
    if not found:
        raise ReplayError("libfaketime is missing (apt-get install libfaketime; deploy/install-deps.sh)")
    return found[0]


CONFIG = """# written by tests/rules/replay.py
global:
  scrape_timeout: 40s     # generous: a loaded machine must not turn a slow answer into an outage
  cache_ttl: 0s
pve:
  - name: home
    url: {sim}/pve/home
    token_id: "monitor@pve!exporter"
    token_secret_file: {dir}/home.token
    timeout: 20s
    exempt:
      - {{vmid: 112, reason: "scratch container, rebuilt from git"}}
n8n:
  - name: app
    url: {sim}/n8n/app
    api_key_file: {dir}/n8n.key
    snapshots: {dir}/snapshots
    timeout: 20s
targets:
  - name: home-vm-100
    site: home
    severity: critical
    pve: {{source: home, vmid: 100}}
    max_age: 26h
    restore_doc: https://wiki.example/restore/home-vm-100
  - name: home-lxc-105
    site: home
    severity: critical
    pve: {{source: home, vmid: 105}}
    max_age: 26h
    restore_doc: https://wiki.example/restore/home-lxc-105
  - name: app-n8n-workflows
    site: home
    severity: critical
    n8n: {{source: app}}
    max_age: 26h
    restore_doc: https://wiki.example/restore/n8n
"""


class Recorder:
    """Drives the simulator and the exporter through the timeline; records /metrics per minute."""

    def __init__(self, work, minutes):
        self.work = work
        self.minutes = minutes
        self.clock_file = os.path.join(work, "faketime")
        self.preload = libfaketime()
        self.exp = None
        self.process = 0
        self.sim = harness.Sim("healthy")
        # The replay's minute 0, on a minute boundary a little ahead (so the world, built now,
        # is just older than it): the exporter's clock reads start + 60 s * minute at each scrape.
        self.start = (math.floor(time.time() / 60) + 2) * 60
        slot = time.gmtime(self.start + SLOT * 60)
        self.sim.control("POST", "/_sim/scenario",
                         {"name": "healthy", "schedules": {"home": {"backup-home": "%02d:%02d" % (
                             slot.tm_hour, slot.tm_min)}}})
        self.world_built = time.time()
        harness.write_secret(work, "home.token", harness.PVE_SECRET % "home")
        harness.write_secret(work, "n8n.key", N8N_KEY)
        self.snapshots(os.path.join(work, "snapshots"))
        self.config = CONFIG.format(sim=self.sim.url, dir=work)
        self.frames = []   # per minute: None (failed scrape) or [(name, labels, value)]
        self.scraped_at = {}

    def snapshots(self, folder):
        """Three nightly exports of 35 workflows, the newest an hour before minute 0."""
        subprocess.run([sys.executable, os.path.join(ROOT, "tests", "sim", "fake_n8n_snapshots.py"),
                        "--out", folder, "--workflows", "35", "--days", "3", "--now", str(int(self.start))],
                       check=True, stdout=subprocess.DEVNULL)
        for i, name in enumerate(sorted(os.listdir(folder), reverse=True)):
            t = self.start - 3600 - i * 86400
            os.utime(os.path.join(folder, name), (t, t))

    def set_clock(self, virtual):
        """The exporter's wall clock reads `virtual` now (and runs on from there)."""
        offset = math.ceil(virtual - time.time())
        tmp = self.clock_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%+ds\n" % offset)
        os.replace(tmp, self.clock_file)

    def start_exporter(self, minute):
        self.set_clock(self.start + minute * 60 - 20)   # it started 20 s before this minute's scrape
        self.exp = harness.Exporter(self.config, env={
            "LD_PRELOAD": self.preload, "FAKETIME_TIMESTAMP_FILE": self.clock_file, "FAKETIME_NO_CACHE": "1",
            # deadlines run on CLOCK_MONOTONIC: leave it and monotonic condition waits alone
            "FAKETIME_DONT_FAKE_MONOTONIC": "1", "FAKETIME_FORCE_MONOTONIC_FIX": "0"})
        self.process += 1

    def stop_exporter(self):
        if self.exp:
            self.exp.close()
            self.exp = None

    def event(self, m):
        """What happens at minute m, before its scrape."""
        if m == REBUILD:
            self.sim.control("POST", "/_sim/n8n", {"name": "app", "workflows": 1, "api_key": N8N_NEW_KEY})
        if m == NEW_KEY:
            harness.write_secret(self.work, "n8n.key", N8N_NEW_KEY)
            self.set_clock(self.start + m * 60 - 5)
            before = self.exp.log_text().count("config reloaded")
            self.exp.signal(signal.SIGHUP)
            harness.wait_for(lambda: self.exp.log_text().count("config reloaded") > before, 10,
                             what="the exporter to reload its configuration")
        if m == OUTAGE[0]:
            self.sim.fault("/pve/home/", status=595)
        if m == OUTAGE[1]:
            self.sim.clear_faults()
        if m in RESTARTS:
            self.stop_exporter()

    def run(self):
        self.start_exporter(0)
        for m in range(self.minutes):
            self.event(m)
            if self.exp is None and not failed_scrape(m):
                self.start_exporter(m)
            if failed_scrape(m):
                self.frames.append(None)
                continue
            self.set_clock(self.start + m * 60)
            body = self.exp.metrics(timeout=60)
            self.frames.append(harness.parse_metrics(body))
            self.check_frame(m, self.frames[-1])
        self.stop_exporter()

    def check_frame(self, m, frame):
        """What the conversion relies on, checked on the real output: the clock moved, sources as planned."""
        up = {l["source"]: v for n, l, v in frame if n == "persistence_source_up"}
        last = {l["source"]: v for n, l, v in frame if n == "persistence_source_last_success_timestamp_seconds"}
        want = {"home": 0 if OUTAGE[0] <= m < OUTAGE[1] else 1, "app": 0 if REBUILD <= m < NEW_KEY else 1}
        if up != want:
            raise ReplayError("minute %d: sources up %s, the timeline says %s" % (m, up, want))
        for source, v in up.items():
            if v == 1 and not 0 <= last[source] - (self.start + m * 60) < 45:
                raise ReplayError("minute %d: %s's last success %.1f is not the faked clock %d (libfaketime "
                                  "not in effect?)" % (m, source, last[source], self.start + m * 60))
        remembered = {l["target"]: v for n, l, v in frame if n == "persistence_target_last_backup_remembered"}
        if OUTAGE[0] <= m < OUTAGE[1] and m < RESTARTS[1]:
            if remembered.get("home-vm-100") != 1:
                raise ReplayError("minute %d: home is down but the exporter does not publish the remembered "
                                  "last backup of home-vm-100: %s" % (m, remembered))
        if OUTAGE[0] <= m < OUTAGE[1] and m > RESTARTS[1] and "home-vm-100" in remembered:
            raise ReplayError("minute %d: a restarted exporter cannot remember home-vm-100" % m)

    def close(self):
        try:
            self.stop_exporter()
        finally:
            self.sim.close()


# ---------------------------------------------------------------- recordings -> promtool input
def is_timestamp(name):
    return name.endswith("_timestamp_seconds") or name.endswith("_time_seconds")


def selector(name, labels):
    def esc(v):
        return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    inner = ", ".join('%s="%s"' % (k, esc(v)) for k, v in sorted(labels.items()))
    return "%s{%s}" % (name, inner)


def input_series(frames, start):
    """promtool input_series: one per series ever seen, plus up; shifted timestamps, stale markers."""
    keys = {}
    for frame in frames:
        for name, labels, _ in frame or ():
            full = dict(labels, job=JOB, instance=INSTANCE)
            keys.setdefault((name, tuple(sorted(full.items()))), None)
    series = []
    for name, items in keys:
        values, present_before = [], False
        for frame in frames:
            v = None
            for n, l, val in frame or ():
                if n == name and tuple(sorted(dict(l, job=JOB, instance=INSTANCE).items())) == items:
                    v = val
                    break
            if v is None:
                values.append("stale" if present_before else "_")
                present_before = False
                continue
            if is_timestamp(name):
                if v < 1e9:
                    raise ReplayError("%s = %r is not a Unix time" % (name, v))
                v -= start
            values.append(repr(float(v)))
            present_before = True
        series.append({"series": selector(name, dict(items)), "values": " ".join(values)})
    up = " ".join("0" if f is None else "1" for f in frames)
    series.append({"series": selector("up", {"job": JOB, "instance": INSTANCE}), "values": up})
    return series


# ---------------------------------------------------------------- what must fire
def last_good(frames, source, before):
    for m in range(before - 1, -1, -1):
        f = frames[m]
        if f and any(n == "persistence_source_up" and l["source"] == source and v == 1 for n, l, v in f):
            return m
    raise ReplayError("%s never answered before minute %d" % (source, before))


def expected_critical(frames, start, minutes):
    """[(labels, first minute, end minute)] of every critical alert, from the timeline."""
    base = {"alertstate": "firing", "severity": "critical", "job": JOB, "instance": INSTANCE}
    out = []
    # the stalled scheduler: slot + 30 min grace, first evaluation past it, + for 15m
    for node in ("pve1", "pve2"):
        out.append((dict(base, alertname="PVEBackupJobOverdue", source="home", backup_job="backup-home",
                         node=node), SLOT + 46, minutes))
    # the rebuilt n8n: 31 minutes after its last good answer, until the new key works
    n8n_last = last_good(frames, "app", REBUILD)
    out.append((dict(base, alertname="N8nInstanceUnreachable", source="app", kind="n8n"), n8n_last + 31, NEW_KEY))
    out.append((dict(base, alertname="PersistenceSourceDown", source="app", kind="n8n"), n8n_last + 31,
                NEW_KEY + KEEP_FIRING_MIN))
    # the new key shows 1 of 35 workflows: 2 minutes later
    out.append((dict(base, alertname="N8nWorkflowCountDropped", source="app"), NEW_KEY + 2, minutes))
    # home down 3 hours: critical (it has critical targets) 31 minutes after its last good answer
    home_last = last_good(frames, "home", OUTAGE[0])
    out.append((dict(base, alertname="PersistenceSourceDown", source="home", kind="pve"), home_last + 31,
                OUTAGE[1] + KEEP_FIRING_MIN))
    # the two guests pass their max age (world frozen at minute 0) and stay paged through the outage
    for target in ("home-vm-100", "home-lxc-105"):
        lb = [v for n, l, v in frames[0] if n == "persistence_target_last_backup_timestamp_seconds"
              and l["target"] == target][0] - start
        stale = math.floor((lb + MAX_AGE_MIN * 60) / 60) + 1   # first minute with age > max_age
        out.append((dict(base, alertname="BackupTargetStale", target=target, site="home", kind="pve",
                         source="home"), stale + 15, minutes))
    return out


def alerts_at(expect, m):
    return [{"labels": selector("ALERTS", labels), "value": 1}
            for labels, first, end in expect if first <= m < end]


def promql_tests(expect, frames, minutes):
    tests = []
    for m in range(minutes):
        tests.append({"expr": 'ALERTS{alertstate="firing", severity="critical"}', "eval_time": "%dm" % m,
                      "exp_samples": alerts_at(expect, m)})
    # warnings at their edges: a source is down 11 minutes after its last good answer
    for source, kind, before in (("app", "n8n", REBUILD), ("home", "pve", OUTAGE[0])):
        first = last_good(frames, source, before) + 11
        labels = {"alertname": "PersistenceSourceDown", "alertstate": "firing", "severity": "warning",
                  "job": JOB, "instance": INSTANCE, "source": source, "kind": kind}
        q = 'ALERTS{alertname="PersistenceSourceDown", severity="warning", source="%s"}' % source
        tests.append({"expr": q, "eval_time": "%dm" % (first - 1), "exp_samples": []})
        tests.append({"expr": q, "eval_time": "%dm" % first,
                      "exp_samples": [{"labels": selector("ALERTS", labels), "value": 1}]})
    return tests


def requirements(expect):
    """docs/alerts.md's worst cases, checked on the expectation before promtool checks it against the rules."""
    first = {(l["alertname"], l.get("source"), l.get("target"), l.get("node")): f for l, f, _ in expect}
    checks = [
        ("stalled scheduler <= slot + 60 min", first[("PVEBackupJobOverdue", "home", None, "pve1")] - SLOT <= 60),
        ("n8n rebuilt <= 35 min", first[("N8nInstanceUnreachable", "app", None, None)] - REBUILD <= 35),
        ("n8n drop <= 5 min after the scrape that sees it",
         first[("N8nWorkflowCountDropped", "app", None, None)] - NEW_KEY <= 5),
        ("the stale targets are paged before the outage",
         max(first[("BackupTargetStale", "home", t, None)] for t in ("home-vm-100", "home-lxc-105")) < OUTAGE[0]),
    ]
    bad = [name for name, ok in checks if not ok]
    if bad:
        raise ReplayError("the timeline does not exercise: " + "; ".join(bad))
    return first


def write_test(path, frames, start, minutes):
    expect = expected_critical(frames, start, minutes)
    first = requirements(expect)
    doc = {"rule_files": sorted(glob.glob(os.path.join(ROOT, "rules", "*.yml"))),
           "evaluation_interval": "1m",
           "tests": [{"name": "record and replay", "interval": "1m",
                      "input_series": input_series(frames, start),
                      "promql_expr_test": promql_tests(expect, frames, minutes)}]}
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)   # JSON is YAML
    return first


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", help="keep the recordings and the promtool test in this folder")
    ap.add_argument("--minutes", type=int, default=MINUTES)
    args = ap.parse_args(argv)
    if args.minutes < OUTAGE[1] + 20:
        sys.exit("replay: --minutes must cover the outage")
    for tool in ("promtool",):
        if not shutil.which(tool):
            print("replay: FAILED: %s is missing (deploy/install-deps.sh)" % tool, file=sys.stderr)
            return 1
    if not os.access(harness.EXPORTER, os.X_OK):
        print("replay: FAILED: no exporter binary at %s (make all)" % harness.EXPORTER, file=sys.stderr)
        return 1
    work = args.keep or tempfile.mkdtemp(prefix="pe-replay-")
    os.makedirs(work, exist_ok=True)
    t0 = time.monotonic()
    rec = None
    try:
        rec = Recorder(work, args.minutes)
        rec.run()
        print("replay: recorded %d minutes (%d scrapes, %d exporter processes) in %.1f s"
              % (args.minutes, sum(1 for f in rec.frames if f), rec.process, time.monotonic() - t0))
        path = os.path.join(work, "replay.test.yml")
        first = write_test(path, rec.frames, rec.start, args.minutes)
        p = subprocess.run(["promtool", "test", "rules", path], capture_output=True, text=True)
        if p.returncode != 0:
            print(p.stdout[-20000:] + p.stderr[-5000:], file=sys.stderr)
            print("replay: FAILED: the bundled rules do not fire as required (test file: %s)" % path,
                  file=sys.stderr)
            args.keep = work
            return 1
        print("replay: detection (minutes): stalled scheduler slot+%d, n8n rebuilt +%d, n8n drop +%d, "
              "stale targets paged through the %d-minute outage"
              % (first[("PVEBackupJobOverdue", "home", None, "pve1")] - SLOT,
                 first[("N8nInstanceUnreachable", "app", None, None)] - REBUILD,
                 first[("N8nWorkflowCountDropped", "app", None, None)] - NEW_KEY, OUTAGE[1] - OUTAGE[0]))
        print("replay: %d minutes asserted, 0 failed" % args.minutes)
        return 0
    except (ReplayError, AssertionError, OSError, subprocess.CalledProcessError) as e:
        print("replay: FAILED: %s" % e, file=sys.stderr)
        args.keep = work
        return 1
    finally:
        if rec:
            rec.close()
        if args.keep:
            print("replay: files in %s" % work, file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
