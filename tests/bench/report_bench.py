#!/usr/bin/env python3
"""make bench, report part: what `persistencectl report` costs over 30 and 90 days of history.

A synthetic history (not the story of tests/report/world.py, which is 30 days of 7 targets):
one exporter scraped every 60 s for 92 days, --targets inventory targets (default 20), each with
persistence_target_info / _ok / _last_backup_timestamp_seconds / _max_age_seconds, the
exporter's `up`, and one gap per target (degraded for 1 + i % 12 hours, with a firing
BackupTargetStale) plus one 3-hour exporter outage (unknown time). It is backfilled with
`promtool tsdb create-blocks-from openmetrics` into one block, cached in
build/report-bench-tsdb/<targets>-<hash of the generating code>, and served by Debian's Prometheus with
compaction off, so nothing else runs while the report is measured.

Per range (30d at the default 5-minute step, 90d at the default 15-minute step) it prints the
median over --runs runs of persistencectl's wall time, CPU time and peak RSS (GNU time), the
Prometheus requests the report made (prometheus_http_requests_total, by handler) and the JSON
report's size; then 30 days of one site (a third of the targets), to show how memory grows with
the targets. Never part of `make test`; PE_BUILD=DIR measures the persistencectl in DIR.
"""
import argparse
import hashlib
import inspect
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "report"))
import backfill  # noqa: E402  (its Prometheus runner)

DAY = 86400
END = 1772323200  # 2026-03-01 00:00 UTC
DAYS = 92  # 90 days reported, 2 more so the first windows are full
START = END - DAYS * DAY
SCRAPE = 60
OFFSET = 17
JOB, INSTANCE = "persistence_exporter", "bench.lan:9709"
EXPORTER_DOWN = (END - 40 * DAY + 13 * 3600, END - 40 * DAY + 16 * 3600)
# (range, its seconds, extra flags): the last row shows how memory grows with the targets
GNU_TIME = "/usr/bin/time"  # Debian package time
RANGES = (("30d", 30 * DAY, ()), ("90d", 90 * DAY, ()), ("30d", 30 * DAY, ("--site=site-0",)))


def gap_of(i):
    """Target i's degraded span: 1 + i % 12 hours from 03:00 of a day spread over the range."""
    day = END - (1 + (i * 7) % 88) * DAY
    return day + 3 * 3600, day + (4 + i % 12) * 3600


def expected_gaps(target, seconds):
    """Gaps the report must find for target over the last seconds: its own, the exporter outage."""
    i = int(target.rsplit("-", 1)[1])
    return (gap_of(i)[0] >= END - seconds) + (EXPORTER_DOWN[0] >= END - seconds)


def write_openmetrics(path, ntargets):
    times = list(range(START + OFFSET, END, SCRAPE))
    down = [EXPORTER_DOWN[0] <= t < EXPORTER_DOWN[1] for t in times]
    with open(path, "w") as f:
        def family(name, rows):
            f.write("# TYPE %s gauge\n" % name)
            for labels, value_at in rows:
                prefix = "%s{%s} " % (name, labels)
                f.write("".join("%s%s %d\n" % (prefix, v, t) for t, v in value_at() if v is not None))

        base = 'instance="%s",job="%s"' % (INSTANCE, JOB)
        family("up", [(base, lambda: ((t, 0 if d else 1) for t, d in zip(times, down)))])

        def per_target(fn):
            rows = []
            for i in range(ntargets):
                labels = '%s,target="bench-%03d"' % (base, i)
                rows.append((labels, (lambda i=i: ((t, None if d else fn(i, t)) for t, d in zip(times, down)))))
            return rows

        f.write("# TYPE persistence_target_info gauge\n")
        for i in range(ntargets):
            labels = '%s,target="bench-%03d",site="site-%d",kind="pve",source="pve-%d",severity="critical"' % (
                base, i, i % 3, i % 3)
            prefix = "persistence_target_info{%s} 1 " % labels
            f.write("".join("%s%d\n" % (prefix, t) for t, d in zip(times, down) if not d))
        family("persistence_target_ok", per_target(lambda i, t: 0 if gap_of(i)[0] <= t < gap_of(i)[1] else 1))
        family("persistence_target_last_backup_timestamp_seconds",
               per_target(lambda i, t: (t - 3600) - (t - 3600) % DAY + 3600 + i * 60
                          if not gap_of(i)[0] - 2 * DAY <= t < gap_of(i)[1] else gap_of(i)[0] - 2 * DAY))
        family("persistence_target_max_age_seconds", per_target(lambda i, t: 93600))
        f.write("# TYPE ALERTS gauge\n")
        for i in range(ntargets):
            g = gap_of(i)
            prefix = ('ALERTS{alertname="BackupTargetStale",alertstate="firing",%s,severity="critical",'
                      'target="bench-%03d"} 1 ' % (base, i))
            f.write("".join("%s%d\n" % (prefix, t) for t in range(g[0] + 47, g[1], SCRAPE)))
        f.write("# EOF\n")
    return len(times)


def tsdb(ntargets):
    """The cached TSDB folder for ntargets; built when missing."""
    data = [inspect.getsource(gap_of), inspect.getsource(write_openmetrics),
            repr((END, DAYS, SCRAPE, OFFSET, JOB, INSTANCE, EXPORTER_DOWN))]
    key = hashlib.sha256("".join(data).encode()).hexdigest()[:12]
    base = os.path.join(ROOT, "build", "report-bench-tsdb")
    dest = os.path.join(base, "%d-%s" % (ntargets, key))
    if os.path.isdir(dest):
        return dest
    os.makedirs(base, exist_ok=True)
    for old in os.listdir(base):  # older builds (5 MB each)
        if old.startswith("%d-" % ntargets):
            shutil.rmtree(os.path.join(base, old), ignore_errors=True)
    work = tempfile.mkdtemp(prefix="pe-report-bench-build-", dir=base)
    try:
        om = os.path.join(work, "history.om")
        t0 = time.monotonic()
        n = write_openmetrics(om, ntargets)
        print("report bench: %d targets x %d scrapes written in %.0fs (%d MB), backfilling ..." % (
            ntargets, n, time.monotonic() - t0, os.path.getsize(om) >> 20), file=sys.stderr, flush=True)
        out = os.path.join(work, "tsdb")
        p = subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", "-q",
                            "--max-block-duration=%dh" % ((DAYS + 2) * 24), om, out], capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError("promtool backfill failed: " + p.stdout + p.stderr)
        os.remove(om)
        os.rename(out, dest)
        print("report bench: TSDB built in %.0fs" % (time.monotonic() - t0), file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dest


def prom_requests(url):
    """{handler: requests} of the query API from Prometheus' own metrics."""
    with urllib.request.urlopen(url + "/metrics", timeout=30) as r:
        text = r.read().decode()
    out = {}
    for m in re.finditer(r'^prometheus_http_requests_total\{code="(\d+)",handler="(/api/v1/[a-z_]+)"\} (\S+)$',
                         text, re.M):
        out[m.group(2)] = out.get(m.group(2), 0) + int(float(m.group(3)))
    return out


def run_report(ctl, url, rng, extra=()):
    """(wall s, CPU s, peak RSS bytes, stdout bytes) of one report.

    The peak RSS comes from GNU time (%M): a child forked from this Python process would report
    Python's own high-water mark (Linux keeps it across exec), not persistencectl's.
    """
    with tempfile.TemporaryDirectory() as tmp:
        out_path, stat_path = os.path.join(tmp, "out"), os.path.join(tmp, "time")
        t0 = time.monotonic()
        with open(out_path, "wb") as out:
            p = subprocess.run([GNU_TIME, "-o", stat_path, "-f", "%U %S %M", ctl, "report", "--prometheus.url=" + url,
                                "--range=" + rng, "--end=%d" % END, "--format=json"] + list(extra),
                               stdout=out, stderr=subprocess.PIPE)
        wall = time.monotonic() - t0
        with open(stat_path) as f:
            user, system, rss_kb = f.read().split()[-3:]
        with open(out_path, "rb") as f:
            body = f.read()
    if p.returncode not in (0, 1):
        raise RuntimeError("persistencectl report --range=%s exited %d: %s" % (
            rng, p.returncode, p.stderr.decode(errors="replace")))
    return wall, float(user) + float(system), int(rss_kb) * 1024, body


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", type=int, default=20)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    for tool in ("prometheus", "promtool"):
        if not shutil.which(tool):
            sys.exit("report bench: needs %s (make deps)" % tool)
    if not os.access(GNU_TIME, os.X_OK):
        if os.geteuid() != 0:
            sys.exit("report bench: needs GNU time: apt-get install -y time")
        subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "time"], check=True,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    ctl = os.path.join(os.environ.get("PE_BUILD", os.path.join(ROOT, "build")), "persistencectl")
    if not os.access(ctl, os.X_OK):
        sys.exit("report bench: %s is missing (make)" % ctl)
    prom = backfill.serve_copy(tsdb(args.targets), extra=("--storage.tsdb.min-block-duration=2h",
                                                         "--storage.tsdb.max-block-duration=2h"))
    rows = []
    try:
        for rng, seconds, extra in RANGES:
            run_report(ctl, prom.url, rng, extra)  # warm Prometheus' page cache once
            before = prom_requests(prom.url)
            res = [run_report(ctl, prom.url, rng, extra) for _ in range(args.runs)]
            after = prom_requests(prom.url)
            doc = json.loads(res[-1][3])
            per_run = {h: (after.get(h, 0) - before.get(h, 0)) / args.runs for h in after}
            queries = " + ".join("%g %s" % (n, h.rsplit("/", 1)[1]) for h, n in sorted(per_run.items()) if n)
            # the figures are only worth printing if the report found what the history holds
            bad = [t["target"] for t in doc["targets"] if len(t["gaps"]) != expected_gaps(t["target"], seconds)]
            want = len([i for i in range(args.targets) if not extra or i % 3 == 0])
            if len(doc["targets"]) != want or bad:
                raise RuntimeError("report over %s: %d targets, wrong gaps for %s" % (rng, len(doc["targets"]), bad))
            rows.append((rng, len(doc["targets"]), "%ds" % doc["step_seconds"], "%.2f" % statistics.median(r[0] for r in res),
                         "%.2f" % statistics.median(r[1] for r in res),
                         "%.1f" % (statistics.median(r[2] for r in res) / 1e6), queries,
                         "%d" % (len(res[-1][3]) >> 10)))
    finally:
        prom.close()
        shutil.rmtree(prom.copy, ignore_errors=True)
    head = ("range", "targets", "step", "wall s", "CPU s", "peak RSS MB", "Prometheus requests per report", "JSON KiB")
    w = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    print("persistencectl report, one exporter scraped every 60 s for %d days, median of %d runs" % (DAYS, args.runs))
    for r in [head] + rows:
        print("  ".join("%-*s" % (w[i], r[i]) for i in range(len(head))).rstrip())


if __name__ == "__main__":
    main()
