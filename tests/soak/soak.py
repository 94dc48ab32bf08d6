"""make soak: many scrapes from parallel keep-alive clients while the simulator cycles through every fault;
the exporter's RSS must stay flat (within --rss-slack-kb, default 1024) after warm-up."""
import argparse
import http.client
import os
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import BUILD, N8N_KEY, PVE_SECRET, Exporter, Sim, write_secret  # noqa: E402

CONFIG = """
global:
  scrape_timeout: 1s
  cache_ttl: 0s
  max_staleness: 5m
pve:
  - name: shop
    url: {url}/pve/shop
    token_id: "monitor@pve!exporter"
    token_secret_file: {dir}/shop.token
    timeout: 1s
n8n:
  - name: app
    url: {url}/n8n/app
    api_key_file: {dir}/n8n.key
    timeout: 1s
{mounts}targets:
  - name: app-n8n-workflows
    n8n: {{source: app}}
    max_age: 2h
"""

# One fault at a time, in turn; None is a healthy stretch.
FAULTS = [
    None,
    {"match": "/", "delay": 2},
    {"match": "/", "status": 500},
    {"match": "/pve/", "status": 596, "body": "empty"},
    {"match": "/", "body": "html"},
    {"match": "/", "body": "truncated"},
    {"match": "/", "body": "oversize"},
    {"match": "/", "status": 401, "body": "{}"},
    {"match": "/n8n/", "status": 503, "body": "html"},
]

# Scrapes rotate over these so the load mixes the cheap and the expensive paths.
PATHS = ["/metrics", "/metrics?collect[]=n8n", "/metrics?collect[]=pve", "/metrics?collect[]=mount",
         "/status", "/"]


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


class Counter:
    def __init__(self, total):
        self.total, self.done, self.errors = total, 0, 0
        self.lock = threading.Lock()

    def take(self):
        with self.lock:
            if self.done >= self.total:
                return -1
            self.done += 1
            return self.done

    def error(self):
        with self.lock:
            self.errors += 1


def client(port, counter, deadline):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while time.monotonic() < deadline:
        n = counter.take()
        if n < 0:
            break
        try:
            conn.request("GET", PATHS[n % len(PATHS)], headers={"X-Prometheus-Scrape-Timeout-Seconds": "1.5"})
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                counter.error()
        except (OSError, http.client.HTTPException):
            counter.error()
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.close()


def fault_cycler(sim, stop, period, fs):
    i = 0
    while not stop.wait(period):
        i += 1
        f = FAULTS[i % len(FAULTS)]
        sim.clear_faults()
        if f:
            sim.fault(**f)
        if fs:  # the mount hangs like a dead NFS server every other stretch
            fs.hang() if i % 2 else fs.release()


def hung_mount(d):
    """A FUSE mount (tests/fuse/hangfs.c) that can hang, with its config entry; (None, "") without FUSE."""
    hangfs = os.path.join(BUILD, "tests", "hangfs")
    if not (os.path.exists("/dev/fuse") and os.access(hangfs, os.X_OK)):
        print("soak: no FUSE or no %s: running without a hung mount" % hangfs)
        return None, ""
    from test_mount_hang import HangFS, ensure_fusectl
    ensure_fusectl()
    src, mnt = os.path.join(d, "src"), os.path.join(d, "mnt")
    os.makedirs(os.path.join(src, "dump"))
    os.mkdir(mnt)
    with open(os.path.join(src, "dump", "vzdump-qemu-100-2024_01_15-12_00_00.vma.zst"), "wb") as f:
        f.truncate(4096)
    fs = HangFS(src, mnt)
    return fs, ("mounts:\n  - name: nas\n    path: %s\n    fstype: fuse.hangfs\n    timeout: 500ms\n"
                "    dump_dir: dump\n" % mnt)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--scrapes", type=int, default=100000)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--fault-period", type=float, default=3.0)
    p.add_argument("--max-seconds", type=float, default=3000.0)
    p.add_argument("--rss-slack-kb", type=int, default=1024)
    opts = p.parse_args()

    with Sim("healthy") as sim, tempfile.TemporaryDirectory(prefix="pe-soak-") as d:
        write_secret(d, "shop.token", PVE_SECRET % "shop")
        write_secret(d, "n8n.key", N8N_KEY % "app")
        fs, mounts = hung_mount(d)
        try:
            result = soak(opts, sim, fs, CONFIG.format(url=sim.url, dir=d, mounts=mounts))
        finally:
            if fs:
                fs.close()
    return result


def soak(opts, sim, fs, config):
    """Runs the scrapes against one exporter; returns 0 when it stayed up and flat."""
    with Exporter(config, flags=["--log.level=info"]) as exp:
        counter = Counter(opts.scrapes)
        stop = threading.Event()
        deadline = time.monotonic() + opts.max_seconds
        cycler = threading.Thread(target=fault_cycler, args=(sim, stop, opts.fault_period, fs), daemon=True)
        workers = [threading.Thread(target=client, args=(exp.port, counter, deadline))
                   for _ in range(opts.clients)]
        start = time.monotonic()
        rss = {"start": rss_kb(exp.proc.pid)}
        cycler.start()
        for w in workers:
            w.start()
        marks = [("warm", opts.scrapes // 10), ("middle", opts.scrapes // 2)]
        while any(w.is_alive() for w in workers):
            time.sleep(0.5)
            if marks and counter.done >= marks[0][1]:
                rss[marks.pop(0)[0]] = rss_kb(exp.proc.pid)
                print("soak: %s: %d scrapes, RSS %d kB" % (list(rss)[-1], counter.done, rss[list(rss)[-1]]),
                      flush=True)
        for w in workers:
            w.join()
        stop.set()
        cycler.join()
        sim.clear_faults()
        if fs:
            fs.release()
        threads = len(os.listdir("/proc/%d/task" % exp.proc.pid))
        rss["end"] = rss_kb(exp.proc.pid)
        elapsed = time.monotonic() - start
        alive = exp.proc.poll() is None
        rc = exp.stop()
    print("soak: %d scrapes (%d non-200) by %d clients in %.0f s (%.0f/s)"
          % (counter.done, counter.errors, opts.clients, elapsed, counter.done / elapsed))
    print("soak: exporter threads at the end: %d" % threads)
    print("soak: RSS kB start %d, warm %s, middle %s, end %d" % (rss["start"], rss.get("warm"), rss.get("middle"),
                                                                  rss["end"]))
    fails = []
    if not alive or rc != 0:
        fails.append("exporter died or exited %s" % rc)
    if counter.done < opts.scrapes:
        fails.append("only %d of %d scrapes within %.0f s" % (counter.done, opts.scrapes, opts.max_seconds))
    base = rss.get("warm", rss["start"])
    growth = rss["end"] - base
    if growth > opts.rss_slack_kb:
        fails.append("RSS grew %d kB after warm-up (limit %d kB)" % (growth, opts.rss_slack_kb))
    print("soak: RSS growth after warm-up %+d kB (limit %d kB)" % (growth, opts.rss_slack_kb))
    for f in fails:
        print("soak: FAIL: " + f)
    print("soak: %d passed, %d failed" % (1 if not fails else 0, 1 if fails else 0))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
