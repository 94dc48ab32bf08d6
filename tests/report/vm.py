"""VictoriaMetrics (Debian's victoria-metrics) holding the same series as the test's Prometheus.

The report promises plain PromQL that Prometheus-compatible backends answer too. This copies,
from a Prometheus serving tests/report/backfill.py's data, every raw sample of the series the
report reads (persistence_target_*, up, ALERTS) into a VictoriaMetrics on loopback through its
JSON-line import API, so the same report can be asked of both and compared.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import world

# Metric names whose raw samples are copied; one query each keeps the answers small.
METRICS = ("up", "ALERTS", "persistence_target_info", "persistence_target_ok",
           "persistence_target_last_backup_timestamp_seconds", "persistence_target_max_age_seconds",
           "persistence_target_restore_documented", "persistence_target_copies",
           "persistence_target_offsite_copies", "persistence_target_last_verified_timestamp_seconds",
           "persistence_target_restore_test_last_success_timestamp_seconds",
           "persistence_target_restore_test_last_result", "persistence_target_restore_test_duration_seconds")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class VictoriaMetrics:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="pe-report-vm-")
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.log = open(os.path.join(self.dir, "vm.log"), "w")
        self.proc = subprocess.Popen(
            ["victoria-metrics", "-storageDataPath=" + os.path.join(self.dir, "data"),
             "-httpListenAddr=127.0.0.1:%d" % self.port, "-retentionPeriod=100y", "-search.disableCache",
             "-loggerLevel=WARN"], stdout=self.log, stderr=subprocess.STDOUT)
        end = time.monotonic() + 60
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("victoria-metrics exited %s: %s" % (self.proc.returncode, self.log_text()))
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        raise RuntimeError("victoria-metrics not ready: " + self.log_text())

    def log_text(self):
        with open(os.path.join(self.dir, "vm.log")) as f:
            return f.read()

    def copy_from(self, prom):
        """Every raw sample of METRICS in the data's span, from prom into this VictoriaMetrics."""
        span = "%ds" % (world.DATA_END - world.DATA_START + 3600)
        n = 0
        for name in METRICS:
            data = prom.api("/api/v1/query", query="%s[%s]" % (name, span), time=world.DATA_END)
            lines = []
            for s in data["result"]:
                ts = [int(round(float(t) * 1000)) for t, _ in s["values"]]
                vals = [float(v) for _, v in s["values"]]
                lines.append(json.dumps({"metric": s["metric"], "values": vals, "timestamps": ts}))
                n += len(ts)
            if lines:
                req = urllib.request.Request(self.url + "/api/v1/import", data="\n".join(lines).encode(),
                                             method="POST")
                with urllib.request.urlopen(req, timeout=120) as r:
                    r.read()
        with urllib.request.urlopen(self.url + "/internal/force_flush", timeout=60) as r:
            r.read()
        return n

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
