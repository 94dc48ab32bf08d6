#!/usr/bin/env python3
"""make bench: collection cost at scale, warm /metrics serving next to nginx, growth, upstream requests.

Prints one table to stdout; every number is the median of several runs. Never part of `make test`.
Installs wrk and nginx-light when they are missing (as root; otherwise says what to install).
Options: --runs N (collections per measurement, default 5), --wrk-runs N (default 3),
--duration S (seconds per wrk run, default 3), --quick (fewer and shorter runs),
--only one-job|pbs|collection (just those rows; collection: the 1,000-guest collection and
the dump folder scan, without the wrk serving runs). PE_BUILD=DIR measures the binaries in DIR.
"""
import argparse
import gzip
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from harness import Exporter, Sim, write_secret  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
FAKE_DUMP = os.path.join(ROOT, "tests", "sim", "fake_dump.py")
DUMP_FILES = 100_000

TARGET_CPU = 0.5  # s exporter CPU per cold collection (1,000 guests)
TARGET_RSS = 20 * 1024 * 1024  # bytes, VmHWM
TARGET_RATIO = 0.5  # warm throughput / nginx
# One backup job naming every guest in its vmid list, 20 archives each on one shared storage.
TARGET_JOB_CPU = 0.5  # s exporter CPU per cold collection, 10,000 guests
TARGET_JOB_RSS = 25e6  # bytes, VmHWM, 10,000 guests
TARGET_JOB_CPU_1K = 0.06  # s exporter CPU per cold collection, 1,000 guests (the PVE part)
# A PBS with 2,000 backup groups x 30 snapshots in one datastore (one 36 MB snapshot listing).
PBS_GROUPS, PBS_SNAPSHOTS = 2000, 30


# ---------------------------------------------------------------- tools

def ensure_tools():
    """wrk and nginx (nginx-light) from Debian; installed here when missing."""
    if shutil.which("wrk") and nginx_bin():
        return
    if os.geteuid() != 0:
        sys.exit("bench: needs wrk and nginx-light: apt-get install -y wrk nginx-light")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    # Keep Debian's postinst from starting a system nginx on port 80 (the usual policy-rc.d trick).
    policy = "/usr/sbin/policy-rc.d"
    own_policy = not os.path.exists(policy)
    if own_policy:
        with open(policy, "w") as f:
            f.write("#!/bin/sh\nexit 101\n")
        os.chmod(policy, 0o755)
    try:
        cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "wrk", "nginx-light"]
        if subprocess.run(cmd, env=env).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], env=env, check=True)
            subprocess.run(cmd, env=env, check=True)
    finally:
        if own_policy:
            os.unlink(policy)
    if not (shutil.which("wrk") and nginx_bin()):
        sys.exit("bench: wrk or nginx still missing after apt-get")


def nginx_bin():
    return shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- process figures

def cpu_seconds(pid):
    """utime + stime of the whole process (exited threads included), in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def status_kb(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def fetch(url, headers=None, timeout=120):
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, dict(r.headers), r.read()


# ---------------------------------------------------------------- the dump folder

def dump_names(n, guests=1000):
    """vzdump-<type>-<vmid>-YYYY_MM_DD-HH_MM_SS.<ext>: n archives spread over guests, one a day."""
    t0 = time.time() - 86400
    for i in range(n):
        vmid = 1000 + i % guests
        day = i // guests
        kind, ext = ("lxc", "tar.zst") if vmid % 3 == 2 else ("qemu", "vma.zst")
        ts = time.strftime("%Y_%m_%d-%H_%M_%S", time.localtime(t0 - day * 86400 + (i % 60)))
        yield "vzdump-%s-%d-%s.%s" % (kind, vmid, ts, ext)


def make_dump_folder(base, n):
    """A folder of n sparse archives; tests/sim/fake_dump.py makes it once it exists."""
    dump = os.path.join(base, "dump")
    os.makedirs(dump, exist_ok=True)
    if os.path.exists(FAKE_DUMP):  # archives with .log and .notes side files: 3 files each
        per_guest = max(1, n // (3 * 1000))
        subprocess.run([sys.executable, FAKE_DUMP, "--out", dump, "--guests", "1000", "--first-vmid",
                        "1000", "--per-guest", str(per_guest), "--timezone", "UTC"],
                       check=True, stdout=subprocess.DEVNULL)
        return dump
    for name in dump_names(n):
        fd = os.open(os.path.join(dump, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.ftruncate(fd, 1 << 30)  # sparse: a plausible size, no disk used
        os.close(fd)
    return dump


def mount_point_of(path):
    p = os.path.realpath(path)
    while not os.path.ismount(p):
        p = os.path.dirname(p)
    return p


# ---------------------------------------------------------------- one exporter against one sim

def config_text(sim, secrets, cache_ttl, dump=None):
    text = ("global:\n  scrape_timeout: 60s\n  cache_ttl: %s\n"
            "pve:\n  - name: bench\n    url: %s/pve/bench\n    token_id: \"monitor@pve!exporter\"\n"
            "    token_secret_file: %s/bench.token\n    timeout: 60s\n"
            "n8n:\n  - name: app\n    url: %s/n8n/app\n    api_key_file: %s/app.key\n    timeout: 60s\n"
            % (cache_ttl, sim.url, secrets, sim.url, secrets))
    if dump:
        mp = mount_point_of(dump)
        rel = os.path.relpath(dump, mp)
        text += ("mounts:\n  - name: dump\n    path: %s\n    dump_dir: %s\n    timeout: 60s\n"
                 "    timezone: UTC\n"
                 % (mp, rel))
    return text


def pve_only_config(sim, secrets):
    """Only the PVE source: the rows that measure the PVE part alone."""
    return ("global:\n  scrape_timeout: 120s\n  cache_ttl: 0s\n"
            "pve:\n  - name: bench\n    url: %s/pve/bench\n    token_id: \"monitor@pve!exporter\"\n"
            "    token_secret_file: %s/bench.token\n    timeout: 120s\n" % (sim.url, secrets))


def pbs_only_config(sim, secrets):
    """Only the bench PBS: the row that measures the PBS collector alone."""
    return ("global:\n  scrape_timeout: 120s\n  cache_ttl: 0s\n"
            "pbs:\n  - name: bench\n    url: %s/pbs/bench\n    token_id: \"monitor@pbs!exporter\"\n"
            "    token_secret_file: %s/pbs-bench.token\n    timeout: 120s\n" % (sim.url, secrets))


def has_collector(exp, name):
    try:
        fetch(exp.url + "/metrics?collect[]=" + name)
        return True
    except urllib.error.HTTPError:
        return False


def collect_once(exp, sim, query=""):
    """One cold collection: (cpu s, wall s, bytes, upstream requests by path)."""
    sim.control("POST", "/_sim/stats/reset")
    c0 = cpu_seconds(exp.proc.pid)
    t0 = time.monotonic()
    _, _, body = fetch(exp.url + "/metrics" + query)
    wall = time.monotonic() - t0
    cpu = cpu_seconds(exp.proc.pid) - c0
    return cpu, wall, len(body), sim.stats() or {}


def measure_collection(exp, sim, runs, query=""):
    res = [collect_once(exp, sim, query) for _ in range(runs)]
    return {
        "cpu": statistics.median(r[0] for r in res),
        "wall": statistics.median(r[1] for r in res),
        "bytes": res[-1][2],
        "stats": res[-1][3],
        "hwm": status_kb(exp.proc.pid, "VmHWM") * 1024,
    }


# ---------------------------------------------------------------- wrk and nginx

WRK_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
WRK_P99 = re.compile(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", re.M)
WRK_ERR = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
WRK_NON2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")


def wrk(url, conns, gz, duration):
    args = ["wrk", "-t", str(min(conns, 2)), "-c", str(conns), "-d", "%ss" % duration, "--latency",
            "--timeout", "10s"]
    if gz:
        args += ["-H", "Accept-Encoding: gzip"]
    out = subprocess.run(args + [url], capture_output=True, text=True).stdout
    rps = float(WRK_RPS.search(out).group(1)) if WRK_RPS.search(out) else 0.0
    m = WRK_P99.search(out)
    p99 = float(m.group(1)) * {"us": 1e-6, "ms": 1e-3, "s": 1.0}[m.group(2)] if m else float("nan")
    errs = sum(int(x) for x in WRK_ERR.search(out).groups()) if WRK_ERR.search(out) else 0
    errs += int(WRK_NON2XX.search(out).group(1)) if WRK_NON2XX.search(out) else 0
    return rps, p99, errs


def wrk_median(url, conns, gz, duration, runs):
    res = [wrk(url, conns, gz, duration) for _ in range(runs)]
    return (statistics.median(r[0] for r in res), statistics.median(r[1] for r in res),
            max(r[2] for r in res))


NGINX_CONF = """worker_processes auto;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    {more_temp}
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    gzip {gzip};
    gzip_types text/plain;
    gzip_min_length 0;
    gzip_comp_level {level};
    server {{
        listen 127.0.0.1:{port};
        root {d};
        location = /metrics {{
            default_type "text/plain; version=0.0.4; charset=utf-8";
            try_files /metrics.txt =404;
        }}
    }}
}}
"""


class Nginx:
    """nginx serving body as a static /metrics on a free loopback port."""

    def __init__(self, body, gz):
        self.dir = tempfile.mkdtemp(prefix="pe-bench-nginx-")
        os.chmod(self.dir, 0o755)  # workers run as nobody when started by root
        with open(os.path.join(self.dir, "metrics.txt"), "wb") as f:
            f.write(body)
        os.chmod(os.path.join(self.dir, "metrics.txt"), 0o644)
        self.port = free_port()
        self.url = "http://127.0.0.1:%d/metrics" % self.port
        self.proc = None
        for more in ("uwsgi_temp_path {d}/uwsgi;\n    scgi_temp_path {d}/scgi;", ""):
            conf = os.path.join(self.dir, "nginx.conf")
            with open(conf, "w") as f:
                f.write(NGINX_CONF.format(d=self.dir, port=self.port, gzip="on" if gz else "off",
                                          level=1, more_temp=more.format(d=self.dir)))
            if subprocess.run([nginx_bin(), "-t", "-q", "-c", conf, "-p", self.dir],
                              capture_output=True).returncode == 0:
                break
        self.proc = subprocess.Popen([nginx_bin(), "-c", conf, "-p", self.dir],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                fetch(self.url)
                return
            except OSError:
                time.sleep(0.05)
        self.close()
        raise RuntimeError("nginx did not start; see " + conf)

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------- sections

def path_group(path):
    """/pve/bench/api2/json/nodes/bench3/tasks -> /pve/bench/api2/json/nodes/{node}/tasks."""
    return re.sub(r"/nodes/[^/]+", "/nodes/{node}", path)


def n_plus_one(stats, guests):
    """Paths asked more than once, or any endpoint group asked per guest."""
    bad = [p for p, n in stats.items() if n > 1 and "/n8n/" not in p and "schedule-analyze" not in p]
    groups = {}
    for p, n in stats.items():
        groups[path_group(p)] = groups.get(path_group(p), 0) + n
    bad += [g for g, n in groups.items() if n >= guests / 10]
    return bad


class Bench:
    def __init__(self, args):
        self.args = args
        self.rows = []
        self.misses = []
        self.tmp = tempfile.mkdtemp(prefix="pe-bench-")
        self.secrets = os.path.join(self.tmp, "secrets")
        os.makedirs(self.secrets)
        write_secret(self.secrets, "bench.token", "sim-read-secret-bench")
        write_secret(self.secrets, "app.key", "sim-n8n-key-app")
        write_secret(self.secrets, "pbs-bench.token", "sim-pbs-secret-bench")

    def row(self, section, what, value, target="", ok=None):
        self.rows.append((section, what, value, target, "" if ok is None else ("ok" if ok else "MISS")))
        if ok is False:
            self.misses.append("%s: %s = %s (target %s)" % (section, what, value, target))
        print("  %-11s %-52s %s" % (section, what, value), file=sys.stderr, flush=True)

    def sim(self, guests, per_guest=20):
        extra = ["--guests", str(guests), "--archives-per-guest", str(per_guest), "--workflows", "5000"]
        return Sim("bench", extra, start_timeout=300)  # 10,000 guests take a while to build

    def exporter(self, sim, cache_ttl, dump=None):
        return Exporter(config_text(sim, self.secrets, cache_ttl, dump))

    def collection(self, sim, dump):
        with self.exporter(sim, "0s", dump) as exp:
            fetch(exp.url + "/metrics")  # first scrape: connections, lazy init
            m = measure_collection(exp, sim, self.args.runs)
            sec = "collection"
            self.row(sec, "exporter CPU per cold collection (1,000 guests)", "%.3f s" % m["cpu"],
                     "< %.1f s" % TARGET_CPU, m["cpu"] < TARGET_CPU)
            self.row(sec, "wall time per cold collection", "%.3f s" % m["wall"])
            self.row(sec, "peak RSS (VmHWM)", "%.1f MB" % (m["hwm"] / 1e6), "< 20 MB",
                     m["hwm"] < TARGET_RSS)
            self.row(sec, "/metrics size", "%.0f kB" % (m["bytes"] / 1e3))
            p = measure_collection(exp, sim, self.args.runs, "?collect[]=pve&collect[]=n8n")
            self.row(sec, "  of which pve + n8n only: CPU | wall", "%.3f s | %.3f s" % (p["cpu"], p["wall"]))
            self.upstream(m["stats"], 1000)
            if dump and has_collector(exp, "mount"):
                d = measure_collection(exp, sim, self.args.runs, "?collect[]=mount")
                files = len(os.listdir(dump))
                self.row("mount", "scan of a %d-file dump folder: CPU" % files, "%.3f s" % d["cpu"])
                self.row("mount", "scan wall time", "%.3f s" % d["wall"])
                self.row("mount", "peak RSS after scans (VmHWM, whole exporter)",
                         "%.1f MB" % (d["hwm"] / 1e6))
                _, _, body = fetch(exp.url + "/metrics?collect[]=mount")
                self.row("mount", "  of which vzdump logs read (last 64 KiB of each guest's newest)",
                         "%d" % body.count(b"persistence_mount_archive_last_log_ok{"))
            elif dump:
                self.row("mount", "100,000-file dump folder scan", "n/a (no mount collector yet)")

    def one_job(self):
        """10,000 (and 1,000) guests selected by one job's vmid list, 20 archives each on one
        shared storage: coverage must not re-read the list per guest, and memory must not
        grow with the number of archives."""
        sec = "one job"
        for guests, cpu_target, rss_target in ((1000, TARGET_JOB_CPU_1K, None),
                                               (10000, TARGET_JOB_CPU, TARGET_JOB_RSS)):
            extra = ["--guests", str(guests), "--archives-per-guest", "20", "--workflows", "0",
                     "--job-vmid-list"]
            with Sim("bench", extra, start_timeout=600) as sim, \
                    Exporter(pve_only_config(sim, self.secrets)) as exp:
                fetch(exp.url + "/metrics")  # first scrape: connections, lazy init
                m = measure_collection(exp, sim, self.args.runs)
                what = "%6d guests x 20 archives, vmid list: cold CPU" % guests
                self.row(sec, what, "%.3f s" % m["cpu"], "<= %.2f s" % cpu_target, m["cpu"] <= cpu_target)
                self.row(sec, "  wall | /metrics size", "%.3f s | %.0f kB" % (m["wall"], m["bytes"] / 1e3))
                ok = None if rss_target is None else m["hwm"] <= rss_target
                self.row(sec, "  peak RSS (VmHWM)", "%.1f MB" % (m["hwm"] / 1e6),
                         "" if rss_target is None else "<= %.0f MB" % (rss_target / 1e6), ok)
                warns = sorted(set(re.findall(r'level=warn msg="([^"]+)"', exp.log_text())))
                if warns:
                    self.row(sec, "  exporter warnings (collection incomplete)", "; ".join(warns)[:90],
                             "none", False)

    def pbs(self):
        """The PBS collector alone, next to the PVE rows: 2,000 groups x 30 snapshots (60,000 snapshots,
        a 36 MB listing), a GC, three jobs. CPU and peak RSS of a fresh exporter per cold collection."""
        sec = "pbs"
        extra = ["--guests", "1", "--archives-per-guest", "1", "--workflows", "0",
                 "--pbs-groups", str(PBS_GROUPS), "--pbs-snapshots", str(PBS_SNAPSHOTS)]
        with Sim("bench", extra, start_timeout=600) as sim, Exporter(pbs_only_config(sim, self.secrets)) as exp:
            fetch(exp.url + "/metrics")  # first scrape: connections, lazy init
            m = measure_collection(exp, sim, self.args.runs)
            what = "%d groups x %d snapshots: exporter CPU per cold collection" % (PBS_GROUPS, PBS_SNAPSHOTS)
            self.row(sec, what, "%.3f s" % m["cpu"])
            self.row(sec, "  wall | /metrics size", "%.3f s | %.0f kB" % (m["wall"], m["bytes"] / 1e3))
            self.row(sec, "  peak RSS (VmHWM)", "%.1f MB" % (m["hwm"] / 1e6))
            groups = len(re.findall(rb"^persistence_pbs_group_snapshots\{", fetch(exp.url + "/metrics")[2], re.M))
            self.row(sec, "  groups published", str(groups), str(PBS_GROUPS), groups == PBS_GROUPS)
            pbs = {p: n for p, n in m["stats"].items() if p.startswith("/pbs/")}
            self.row(sec, "  upstream requests per collection", str(sum(pbs.values())))
            warns = sorted(set(re.findall(r'level=warn msg="([^"]+)"', exp.log_text())))
            if warns:
                self.row(sec, "  exporter warnings (collection incomplete)", "; ".join(warns)[:90], "none", False)

    def upstream(self, stats, guests):
        total = sum(stats.values())
        groups = {}
        for p, n in stats.items():
            groups[path_group(p)] = groups.get(path_group(p), 0) + n
        self.row("upstream", "requests per collection (total)", str(total))
        for g in sorted(groups):
            self.row("upstream", "  " + g.replace("/pve/bench/api2/json", "pve:"), str(groups[g]))
        shared = sum(n for p, n in stats.items() if p.endswith("/storage/bench-nfs/content"))
        self.row("upstream", "shared storage bench-nfs content listed", "%d time(s)" % shared, "1",
                 shared == 1)
        bad = n_plus_one(stats, guests)
        self.row("upstream", "N+1 patterns", ", ".join(bad) or "none", "none", not bad)

    def serving(self, sim):
        with self.exporter(sim, "5m") as exp:
            _, _, plain = fetch(exp.url + "/metrics")
            url = exp.url + "/metrics"
            for gz in (False, True):
                ngx = Nginx(plain, gz)
                try:
                    for conns in (1, 8, 64):
                        ours = wrk_median(url, conns, gz, self.args.duration, self.args.wrk_runs)
                        theirs = wrk_median(ngx.url, conns, gz, self.args.duration, self.args.wrk_runs)
                        self.serving_row(conns, gz, ours, theirs)
                finally:
                    ngx.close()
            self.row("serving", "exporter peak RSS after the wrk runs",
                     "%.1f MB" % (status_kb(exp.proc.pid, "VmHWM") / 1e3))

    def serving_row(self, conns, gz, ours, theirs):
        ratio = ours[0] / theirs[0] if theirs[0] else 0.0
        what = "warm /metrics %s, %2d conn: req/s ours | nginx" % ("gzip " if gz else "plain", conns)
        val = "%8.0f | %8.0f  ratio %.2f" % (ours[0], theirs[0], ratio)
        self.row("serving", what, val, ">= %.1f" % TARGET_RATIO, ratio >= TARGET_RATIO)
        errs = "" if not (ours[2] or theirs[2]) else "  errors %d | %d" % (ours[2], theirs[2])
        self.row("serving", "  p99 latency ours | nginx",
                 "%7.2f ms | %7.2f ms%s" % (ours[1] * 1e3, theirs[1] * 1e3, errs))

    def growth(self, per_guest):
        sizes = (100, 1000, 10000)
        res = {}
        sec = "growth/%d" % per_guest
        for g in sizes:
            with self.sim(g, per_guest) as sim, self.exporter(sim, "0s") as exp:
                fetch(exp.url + "/metrics")
                m = measure_collection(exp, sim, self.args.runs)
                res[g] = m
                self.row(sec, "%6d guests x %d archives: CPU | wall | RSS | requests" % (g, per_guest),
                         "%.3f s | %.3f s | %.1f MB | %d" % (m["cpu"], m["wall"], m["hwm"] / 1e6,
                                                             sum(m["stats"].values())))
                warns = sorted(set(re.findall(r'level=warn msg="([^"]+)"', exp.log_text())))
                if warns:
                    self.row(sec, "  exporter warnings (collection incomplete)", "; ".join(warns)[:90],
                             "none", False)
        for a, b in zip(sizes, sizes[1:]):
            k = b / a
            rc = res[b]["cpu"] / max(res[a]["cpu"], 1.0 / CLK_TCK)
            rw = res[b]["wall"] / res[a]["wall"]
            rr = res[b]["hwm"] / res[a]["hwm"]
            lin = rc <= k * 1.2 and rw <= k * 1.2 and rr <= k * 1.2
            self.row(sec, "x%d guests (%d -> %d): CPU | wall | RSS ratio" % (k, a, b),
                     "x%.1f | x%.1f | x%.1f" % (rc, rw, rr), "<= x%d (linear)" % k, lin)
        ra, rb = sum(res[100]["stats"].values()), sum(res[10000]["stats"].values())
        self.row(sec, "upstream requests 100 -> 10,000 guests", "%d -> %d" % (ra, rb), "constant", ra == rb)

    def run(self):
        if self.args.only == "one-job":
            self.one_job()
            self.print_table()
            return
        if self.args.only == "pbs":
            self.pbs()
            self.print_table()
            return
        if self.args.only == "collection":
            with self.sim(1000) as sim:
                self.collection(sim, make_dump_folder(os.path.join(self.tmp, "mnt"), DUMP_FILES))
            self.print_table()
            return
        ensure_tools()
        print("bench: building a %d-file dump folder ..." % DUMP_FILES, file=sys.stderr, flush=True)
        dump = make_dump_folder(os.path.join(self.tmp, "mnt"), DUMP_FILES)
        with self.sim(1000) as sim:
            self.collection(sim, dump)
            self.serving(sim)
        self.one_job()
        self.pbs()
        if not self.args.skip_growth:
            self.growth(20)  # the 10,000-guest content list is ~35 MB (listings may be 256 MiB)
            self.growth(5)
        self.print_table()

    def print_table(self):
        w = [max(len(str(r[i])) for r in self.rows) for i in range(5)]
        head = ("section", "measure", "value (median)", "target", "")
        w = [max(a, len(b)) for a, b in zip(w, head)]
        line = "  ".join("%-*s" % (w[i], head[i]) for i in range(5))
        print(line.rstrip())
        print("-" * len(line))
        for r in self.rows:
            print("  ".join("%-*s" % (w[i], r[i]) for i in range(5)).rstrip())
        print()
        print("runs: %d collections, %d x %ss wrk per cell; %d CPUs" %
              (self.args.runs, self.args.wrk_runs, self.args.duration, os.cpu_count()))
        print("nginx: static file, worker_processes auto, sendfile; gzip rows compress per request "
              "(gzip_comp_level 1, nginx's default); the exporter gzips once per rendering.")
        print("errors: failed connections + non-2xx; at 64 connections the exporter accepts 32 per "
              "client address (conn_limit 64, half per address) and refuses the rest by design.")
        print("targets missed: " + ("; ".join(self.misses) if self.misses else "none"))

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--wrk-runs", type=int, default=3)
    p.add_argument("--duration", type=int, default=3)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--skip-growth", action="store_true")
    p.add_argument("--only", choices=["one-job", "pbs", "collection"], help="run one section alone")
    args = p.parse_args()
    if args.quick:
        args.runs, args.wrk_runs, args.duration = 3, 1, 2
    b = Bench(args)
    try:
        b.run()
    except BaseException:
        b.print_table()  # what was measured before the failure
        raise
    finally:
        b.close()


if __name__ == "__main__":
    main()
