#!/usr/bin/env python3
"""Profiling driver: the bench's cold collection, optionally under a wrapper (valgrind, perf).

Starts the simulator's bench scenario (and a fake dump folder when --dump), runs the exporter
(under --wrap, e.g. "valgrind --tool=massif --massif-out-file=/tmp/m.out"), performs --runs
cold collections with the given collect[] subset and prints CPU seconds and VmHWM per run.
Examples:
  python3 tests/bench/profile.py --collect pve --collect n8n
  python3 tests/bench/profile.py --wrap "valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out" --runs 1
"""
import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import bench  # noqa: E402
import harness  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--guests", type=int, default=1000)
    p.add_argument("--archives-per-guest", type=int, default=20)
    p.add_argument("--collect", action="append", default=[])
    p.add_argument("--job-vmid-list", action="store_true", help="the job names every guest in its vmid list")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--dump", metavar="DIR", help="also a 100,000-file dump folder under DIR (made once, kept)")
    p.add_argument("--wrap", default="", help="command prefix for the exporter")
    p.add_argument("--timeout", type=float, default=600)
    args = p.parse_args()
    tmp = tempfile.mkdtemp(prefix="pe-prof-")
    secrets = os.path.join(tmp, "secrets")
    os.makedirs(secrets)
    harness.write_secret(secrets, "bench.token", "sim-read-secret-bench")
    harness.write_secret(secrets, "app.key", "sim-n8n-key-app")
    dump = None
    if args.dump:
        dump = os.path.join(args.dump, "dump")
        if not os.path.isdir(dump) or len(os.listdir(dump)) < bench.DUMP_FILES * 0.9:
            dump = bench.make_dump_folder(args.dump, bench.DUMP_FILES)
    extra = ["--guests", str(args.guests), "--archives-per-guest", str(args.archives_per_guest),
             "--workflows", "5000"] + (["--job-vmid-list"] if args.job_vmid_list else [])
    query = "?" + "&".join("collect[]=" + c for c in args.collect) if args.collect else ""
    with harness.Sim("bench", extra, start_timeout=300) as sim:
        conf = bench.config_text(sim, secrets, "0s", dump).replace("scrape_timeout: 60s",
                                                                    "scrape_timeout: 300s")
        if args.wrap:
            wrapper = os.path.join(tmp, "wrap.sh")
            with open(wrapper, "w") as f:
                f.write("#!/bin/sh\nexec %s %s \"$@\"\n" % (args.wrap, shlex.quote(harness.EXPORTER)))
            os.chmod(wrapper, 0o755)
            harness.EXPORTER = wrapper
        exp = harness.Exporter(conf, wait_ready=False)
        exp.port = int(harness.wait_for(exp._port_from_log, 120, what="exporter listening"))
        exp.url = "http://127.0.0.1:%d" % exp.port
        try:
            pid = exp.proc.pid
            for i in range(args.runs):
                c0 = bench.cpu_seconds(pid)
                t0 = time.monotonic()
                _, _, body = bench.fetch(exp.url + "/metrics" + query, timeout=args.timeout)
                print("run %d: cpu %.3f s wall %.3f s bytes %d VmHWM %.1f MB VmRSS %.1f MB" %
                      (i, bench.cpu_seconds(pid) - c0, time.monotonic() - t0, len(body),
                       bench.status_kb(pid, "VmHWM") / 1e3, bench.status_kb(pid, "VmRSS") / 1e3),
                      flush=True)
            warns = [ln for ln in exp.log_text().splitlines() if "level=warn" in ln]
            for w in warns[:10]:
                print("  " + w[:200])
        finally:
            exp.close()
    subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
