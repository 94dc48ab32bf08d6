"""A real Prometheus holding the thirty days of tests/report/world.py, alerts included.

    python3 tests/report/backfill.py [--serve]

builds the TSDB (or reuses the cached one) and, with --serve, runs Prometheus on it until
Ctrl-C, printing the `persistencectl report` command for it.

How the data is made:
1. world.py's scraped series are written as OpenMetrics and backfilled with
   `promtool tsdb create-blocks-from openmetrics` (Debian's promtool 2.42).
2. The bundled rules (rules/*.yml) are evaluated over those thirty days by a real Prometheus,
   with its own PromQL engine: a Prometheus is started on the backfilled blocks and every
   rule's expression is asked through /api/v1/query_range at the rules' evaluation interval
   (60 s, 30 s after each scrape). Recording rules come first, level by level (a rule that
   reads another recording rule waits until that one is stored), and are backfilled like
   the raw series. Then each alerting rule's answers go through Prometheus' alert state
   machine, re-implemented here (pending, then firing once the expression held for `for:`,
   `keep_firing_for:`, resolved when the expression stops returning the series), giving the
   `ALERTS{alertstate="pending"|"firing"}` series Prometheus would have written.
   So the alerts in the data are what the shipped rules say, with their real names and labels,
   and they change when the rules change.
3. Raw, recorded and ALERTS series go into one final backfill, so the served TSDB has no
   overlapping blocks to compact while the tests run.

Where this differs from a live Prometheus, and why it does not matter here:
- Backfilled data has no staleness markers, so the evaluating Prometheus runs with
  `--query.lookback-delta=1m`: a series that missed one scrape is gone at the next
  evaluation, as a staleness marker would make it.
- While Prometheus itself is down (world.PROMETHEUS_DOWN) no rule is evaluated; afterwards
  every alert starts from pending again (a live Prometheus may restore `for` state from
  ALERTS_FOR_STATE; the difference is at most one `for:` period after that outage, and no
  alert of the story is pending across it).
- Label templates: only `{{ $labels.x }}` is expanded; any other template in a label makes
  this script fail, not guess.

The result is cached in build/report-tsdb/<hash of world.py, the building code here, rules/*.yml
and the promtool version>, so the integration suite (which runs twice in `make test`) builds it
once.
"""
import argparse
import glob
import hashlib
import inspect
import json
import re
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import world  # noqa: E402

EVAL_INTERVAL = 60
EVAL_OFFSET = 47  # 30 s after each scrape
MAX_POINTS = 10000  # per query_range request (Prometheus refuses more than 11,000)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fmt_value(v):
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(int(v)) if v == int(v) and abs(v) < 1e15 else repr(v)


def esc(v):
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def write_families(f, families):
    """families: {name: {labels tuple: (times, values)}}; NaN values are skipped (no sample)."""
    for name in sorted(families):
        f.write("# TYPE %s gauge\n" % name)
        for labels in sorted(families[name]):
            times, values = families[name][labels]
            prefix = "%s{%s} " % (name, ",".join('%s="%s"' % (k, esc(v)) for k, v in labels))
            w = f.write
            for t, v in zip(times, values):
                if v == v:
                    w("%s%s %d\n" % (prefix, fmt_value(v), t))


def group(series, times):
    fams = {}
    for (name, labels), values in series.items():
        fams.setdefault(name, {})[labels] = (times, values)
    return fams


def backfill(om_path, tsdb):
    span = world.DATA_END - world.DATA_START + 2 * world.DAY
    p = subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", "-q",
                        "--max-block-duration=%dh" % (span // 3600), om_path, tsdb],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("promtool backfill of %s failed: %s%s" % (om_path, p.stdout, p.stderr))


class Prometheus:
    """A Prometheus on loopback serving tsdb, with no scrape job and no rules of its own."""

    def __init__(self, tsdb, lookback=None, extra=(), tls=False):
        self.dir = tempfile.mkdtemp(prefix="pe-report-prom-")
        cfg = os.path.join(self.dir, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1m\nscrape_configs: []\n")
        self.port = free_port()
        self.url = "%s://127.0.0.1:%d" % ("https" if tls else "http", self.port)
        self.tls = tls
        args = ["prometheus", "--config.file=" + cfg, "--storage.tsdb.path=" + tsdb,
                "--storage.tsdb.retention.time=100y", "--web.listen-address=127.0.0.1:%d" % self.port]
        if lookback:
            args.append("--query.lookback-delta=" + lookback)
        self.log_path = os.path.join(self.dir, "prometheus.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(args + list(extra), stdout=self.log, stderr=subprocess.STDOUT)
        self.wait_ready()

    def wait_ready(self, timeout=60):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("prometheus exited %s: %s" % (self.proc.returncode, open(self.log_path).read()))
            if self.tls:  # behind client certificates: its log says when it serves
                with open(self.log_path) as f:
                    if "Server is ready to receive web requests" in f.read():
                        return
                time.sleep(0.1)
                continue
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise RuntimeError("prometheus not ready after %ss" % timeout)

    def api(self, path, **params):
        data = urllib.parse.urlencode(params).encode()
        try:
            with urllib.request.urlopen(self.url + path, data=data, timeout=120) as r:
                doc = json.loads(r.read())
        except urllib.error.HTTPError as e:
            doc = json.loads(e.read() or b"{}")
        if doc.get("status") != "success":
            raise RuntimeError("%s %s: %s" % (path, params, doc))
        return doc["data"]

    def query_range(self, expr, times):
        """{labels tuple: {t: value}} of expr at each of the evenly spaced times."""
        out = {}
        step = times[1] - times[0]
        for i in range(0, len(times), MAX_POINTS):
            chunk = times[i:i + MAX_POINTS]
            data = self.api("/api/v1/query_range", query=expr, start=chunk[0], end=chunk[-1], step=step)
            for s in data["result"]:
                labels = tuple(sorted(s["metric"].items()))
                d = out.setdefault(labels, {})
                for t, v in s["values"]:
                    d[int(t)] = float(v)
        return out

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def load_rules(rule_files):
    """[(kind, rule dict)] in file and group order; only one evaluation interval (60 s) is supported."""
    out = []
    for path in rule_files:
        with open(path) as f:
            doc = yaml.safe_load(f) or {}
        for g in doc.get("groups", []):
            interval = g.get("interval")
            if interval not in (None, "1m", "60s"):
                raise RuntimeError("%s: group %s evaluates every %s; only 1m is emulated" % (path, g["name"], interval))
            for r in g.get("rules", []):
                for v in (r.get("labels") or {}).values():
                    if "{{" in LABEL_TEMPLATE.sub("", str(v)):
                        raise RuntimeError("%s: templated label in %s is not emulated" % (path, r))
                out.append(("record" if "record" in r else "alert", r))
    return out


LABEL_TEMPLATE = re.compile(r"\{\{\s*\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}")


def expand(value, labels):
    """An alert label's value with {{ $labels.x }} replaced, as Prometheus' templates do."""
    return LABEL_TEMPLATE.sub(lambda m: labels.get(m.group(1), ""), str(value))


def duration(s):
    if not s:
        return 0
    total, num = 0, ""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    i = 0
    while i < len(s):
        if s[i].isdigit():
            num += s[i]
            i += 1
            continue
        u = "ms" if s[i:i + 2] == "ms" else s[i]
        total += int(num) * units[u]
        num = ""
        i += len(u)
    return total


def eval_times():
    t = world.DATA_START + EVAL_OFFSET
    out = []
    while t < world.DATA_END:
        out.append(t)
        t += EVAL_INTERVAL
    return out


def levels(records):
    """Recording rules in evaluation levels: a rule comes after every recording rule it reads."""
    names = {r["record"] for r in records}
    done, out = set(), []
    pending = list(records)
    while pending:
        level = [r for r in pending
                 if not any(n in r["expr"] for n in names - done if n != r["record"])]
        if not level:
            raise RuntimeError("recording rules depend on each other in a cycle")
        out.append(level)
        done |= {r["record"] for r in level}
        pending = [r for r in pending if r not in level]
    return out


def record_series(prom, rule, times):
    res = prom.query_range(rule["expr"], times)
    out = {}
    extra = rule.get("labels") or {}
    for labels, points in res.items():
        lab = dict(labels)
        lab.pop("__name__", None)
        lab.update({k: str(v) for k, v in extra.items()})
        key = (rule["record"], tuple(sorted(lab.items())))
        out[key] = [points.get(t, math.nan) for t in times]
    return out


def alert_series(prom, rule, times):
    """The ALERTS series of one alerting rule: Prometheus' pending/firing state machine."""
    res = prom.query_range(rule["expr"], times)
    hold = duration(rule.get("for"))
    keep = duration(rule.get("keep_firing_for"))
    extra = rule.get("labels") or {}
    by_time = {}
    for labels, points in res.items():
        lab = dict(labels)
        lab.pop("__name__", None)
        lab.update({k: expand(v, dict(labels)) for k, v in extra.items()})
        lab["alertname"] = rule["alert"]
        key = tuple(sorted(lab.items()))
        for t in points:
            by_time.setdefault(t, set()).add(key)
    active = {}  # key -> [active_at, firing, last_seen]
    out = {}
    prev = None
    for i, t in enumerate(times):
        if prev is not None and t - prev > EVAL_INTERVAL:
            active = {}  # Prometheus was down: it starts over
        prev = t
        now = by_time.get(t, set())
        for key in now:
            a = active.setdefault(key, [t, False, t])
            a[2] = t
        for key in list(active):
            a = active[key]
            if key not in now:
                if a[1] and keep and t - a[2] < keep:
                    pass
                else:
                    del active[key]
                    continue
            if not a[1] and t - a[0] >= hold:
                a[1] = True
            state = "firing" if a[1] else "pending"
            skey = ("ALERTS", tuple(sorted(key + (("alertstate", state),))))
            vals = out.get(skey)
            if vals is None:
                vals = out[skey] = [math.nan] * len(times)
            vals[i] = 1.0
    return out


def cache_key(rule_files):
    """Hash of what the data depends on: world.py, the code below that builds it, the rules, promtool."""
    h = hashlib.sha256()
    for fn in (fmt_value, esc, write_families, group, backfill, load_rules, expand, duration, eval_times, levels,
               record_series, alert_series, build):
        h.update(inspect.getsource(fn).encode())
    h.update(repr((EVAL_INTERVAL, EVAL_OFFSET, LABEL_TEMPLATE.pattern)).encode())
    for path in [os.path.join(HERE, "world.py")] + sorted(rule_files):
        with open(path, "rb") as f:
            h.update(os.path.basename(path).encode() + b"\0" + f.read())
    v = subprocess.run(["promtool", "--version"], capture_output=True, text=True)
    h.update((v.stdout + v.stderr).encode())
    return h.hexdigest()[:16]


def build(dest, rule_files, log=print):
    """Makes the final TSDB in dest (which must not exist)."""
    work = tempfile.mkdtemp(prefix="pe-report-build-", dir=os.path.dirname(dest))
    try:
        t0 = time.monotonic()
        series, scrape_t = world.series()
        om = os.path.join(work, "raw.om")
        with open(om, "w") as f:
            write_families(f, group(series, scrape_t))
            raw_end = f.tell()
            f.write("# EOF\n")
        del series
        log("report data: %d MB of OpenMetrics in %.1fs" % (raw_end >> 20, time.monotonic() - t0))
        eval_tsdb = os.path.join(work, "eval")
        backfill(om, eval_tsdb)
        rules = load_rules(rule_files)
        times = [t for t in eval_times() if world.prometheus_up(t)]
        derived = {}
        records = [r for kind, r in rules if kind == "record"]
        for level in levels(records):
            prom = Prometheus(eval_tsdb, lookback="1m")
            try:
                got = {}
                for r in level:
                    got.update(record_series(prom, r, times))
            finally:
                prom.close()
            derived.update(got)
            lom = os.path.join(work, "level.om")
            with open(lom, "w") as f:
                write_families(f, group(got, times))
                f.write("# EOF\n")
            if got:
                backfill(lom, eval_tsdb)
        prom = Prometheus(eval_tsdb, lookback="1m")
        try:
            for kind, r in rules:
                if kind == "alert":
                    derived.update(alert_series(prom, r, times))
        finally:
            prom.close()
        with open(om, "r+") as f:
            f.seek(raw_end)
            f.truncate()
            write_families(f, group(derived, times))
            f.write("# EOF\n")
        final = os.path.join(work, "tsdb")
        backfill(om, final)
        os.rename(final, dest)
        log("report data: %d recorded/ALERTS series, built in %.1fs" % (len(derived), time.monotonic() - t0))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def rule_files(folder=None):
    return sorted(glob.glob(os.path.join(folder or os.path.join(ROOT, "rules"), "*.yml")))


def tsdb(log=print, rules=None):
    """The cached TSDB folder for the current world, rules (default: rules/) and promtool; built when missing."""
    files = rule_files(rules)
    base = os.path.join(ROOT, "build", "report-tsdb")
    os.makedirs(base, exist_ok=True)
    dest = os.path.join(base, cache_key(files))
    if not os.path.isdir(dest):
        try:
            build(dest, files, log)
        except OSError as e:  # another run built it at the same time
            if not os.path.isdir(dest):
                raise RuntimeError("cannot build %s: %s" % (dest, e))
        # keep the four newest builds (other rule sets, older worlds), drop the rest
        old = sorted((os.path.getmtime(p), p) for p in glob.glob(os.path.join(base, "*")) if os.path.isdir(p))
        for _, p in old[:-4]:
            if p != dest and not os.path.basename(p).startswith("pe-report-build-"):
                shutil.rmtree(p, ignore_errors=True)
    return dest


def serve_copy(src, extra=(), tls=False):
    """A Prometheus on a private copy of the TSDB (Prometheus writes into its data folder)."""
    copy = tempfile.mkdtemp(prefix="pe-report-tsdb-")
    shutil.rmtree(copy)
    shutil.copytree(src, copy)
    try:
        prom = Prometheus(copy, extra=extra, tls=tls)
    except Exception:
        shutil.rmtree(copy, ignore_errors=True)
        raise
    prom.copy = copy
    return prom


def screenshots(path, out):
    """The README's pictures: the HTML report of the thirty days in headless Chromium."""
    sys.path.insert(0, os.path.join(ROOT, "deploy", "demo"))
    import screenshot
    prom = serve_copy(path)
    tmp = tempfile.mkdtemp(prefix="pe-report-shot-")
    try:
        html = os.path.join(tmp, "report.html")
        end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(world.REPORT_END))
        with open(html, "wb") as f:
            subprocess.run([os.path.join(ROOT, "build", "persistencectl"), "report", "--prometheus.url=" + prom.url,
                            "--end=" + end, "--format=html"], stdout=f, check=False)
        os.makedirs(out, exist_ok=True)
        for name, size in (("report.png", (1200, 1800)), ("report-phone.png", (412, 1400))):
            png = screenshot.screenshot("file://" + html, os.path.join(out, name), size)
            print("wrote %s (%dx%d)" % (png, *screenshot.png_info(png)[:2]))
    finally:
        prom.close()
        shutil.rmtree(prom.copy, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--serve", action="store_true", help="run Prometheus on the data until Ctrl-C or SIGTERM")
    ap.add_argument("--rules", help="derive the alerts from this folder's *.yml instead of rules/")
    ap.add_argument("--screenshot", metavar="DIR",
                    help="write report.png and report-phone.png of the HTML report to DIR (docs/img)")
    args = ap.parse_args()
    path = tsdb(rules=args.rules)
    print("TSDB: " + path, flush=True)
    if args.screenshot:
        screenshots(path, args.screenshot)
    if args.serve:
        signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))  # stop Prometheus and clean up
        prom = serve_copy(path)
        try:
            print("Prometheus: %s\n  build/persistencectl report --prometheus.url=%s --end=%s --range=30d"
                  % (prom.url, prom.url, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(world.REPORT_END))))
            sys.stdout.flush()
            signal.pause()
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            prom.close()
            shutil.rmtree(prom.copy, ignore_errors=True)


if __name__ == "__main__":
    main()
