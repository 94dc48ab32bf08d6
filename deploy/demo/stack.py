"""Starts the demo/e2e stack on loopback: simulator, exporter, Prometheus, Alertmanager.

Shared by `make run` (deploy/demo/run.py) and the full-stack test, so both run the
same wiring. Every process gets a temporary folder and a free port; stop() ends all.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def wait_http(url, timeout=30, proc=None, what=None):
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("%s exited with %s" % (what or url, proc.returncode))
        try:
            return http_get(url, 2)
        except Exception as e:  # not up yet
            last = e
            time.sleep(0.1)
    raise RuntimeError("%s not ready after %ss: %s" % (what or url, timeout, last))


class Stack:
    def __init__(self, workdir=None, keep=False):
        self.dir = workdir or tempfile.mkdtemp(prefix="pe-stack-")
        os.makedirs(self.dir, exist_ok=True)
        self.keep = keep
        self.procs = []

    def spawn(self, name, args, **kw):
        log = open(os.path.join(self.dir, name + ".log"), "w")
        p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, **kw)
        self.procs.append((name, p, log))
        return p

    def log(self, name):
        with open(os.path.join(self.dir, name + ".log")) as f:
            return f.read()

    def start_sim(self, scenario="incident", extra=()):
        port_file = os.path.join(self.dir, "sim.port")
        self.docker_socket = os.path.join(self.dir, "docker.sock")
        p = self.spawn("sim", [sys.executable, os.path.join(ROOT, "tests/sim/sim.py"), "--scenario", scenario,
                               "--listen", "127.0.0.1", "--port", "0", "--port-file", port_file,
                               "--docker-socket", self.docker_socket] + list(extra))
        end = time.monotonic() + 20
        while time.monotonic() < end:
            if p.poll() is not None:
                raise RuntimeError("simulator exited: " + self.log("sim"))
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            time.sleep(0.05)
        self.sim_url = "http://127.0.0.1:%s" % open(port_file).read().strip()
        return self.sim_url

    def start_exporter(self, binary, config_path, flags=()):
        p = self.spawn("exporter", [binary, "--config.file=" + config_path,
                                    "--web.listen-address=127.0.0.1:0", "--web.enable-lifecycle"] + list(flags))
        end = time.monotonic() + 20
        while time.monotonic() < end:
            if p.poll() is not None:
                raise RuntimeError("exporter exited: " + self.log("exporter"))
            m = re.search(r"msg=listening .*port=(\d+)", self.log("exporter"))
            if m:
                self.exporter_url = "http://127.0.0.1:%s" % m.group(1)
                return self.exporter_url
            time.sleep(0.05)
        raise RuntimeError("exporter did not start: " + self.log("exporter"))

    def start_alertmanager(self):
        port = free_port()
        cfg = os.path.join(self.dir, "alertmanager.yml")
        with open(cfg, "w") as f:
            f.write("route:\n  receiver: default\n  group_by: [alertname, target]\n"
                    "  group_wait: 1s\n  group_interval: 5s\n  repeat_interval: 1h\n"
                    "receivers:\n  - name: default\n")
        p = self.spawn("alertmanager", ["prometheus-alertmanager", "--config.file=" + cfg,
                                        "--storage.path=" + os.path.join(self.dir, "amdata"),
                                        "--web.listen-address=127.0.0.1:%d" % port,
                                        "--cluster.listen-address="])
        self.alertmanager_url = "http://127.0.0.1:%d" % port
        wait_http(self.alertmanager_url + "/-/ready", 30, p, "alertmanager")
        return self.alertmanager_url

    def start_prometheus(self, rule_files, interval="5s"):
        port = free_port()
        cfg = os.path.join(self.dir, "prometheus.yml")
        target = self.exporter_url.split("//", 1)[1]
        am = self.alertmanager_url.split("//", 1)[1]
        # Prometheus refuses a scrape_timeout above the interval (the tests use 2-5 s).
        secs = int(interval[:-1]) * {"s": 1, "m": 60}[interval[-1]]
        timeout = "%ds" % min(4, secs)
        with open(cfg, "w") as f:
            f.write(
                "global:\n  scrape_interval: %s\n  evaluation_interval: %s\n"
                "rule_files:\n%s"
                "alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['%s']\n"
                "scrape_configs:\n  - job_name: persistence_exporter\n    scrape_timeout: %s\n"
                "    static_configs:\n      - targets: ['%s']\n"
                % (interval, interval, "".join("  - %s\n" % r for r in rule_files), am, timeout, target))
        p = self.spawn("prometheus", ["prometheus", "--config.file=" + cfg,
                                      "--storage.tsdb.path=" + os.path.join(self.dir, "tsdb"),
                                      "--web.listen-address=127.0.0.1:%d" % port, "--web.enable-lifecycle"])
        self.prometheus_url = "http://127.0.0.1:%d" % port
        wait_http(self.prometheus_url + "/-/ready", 30, p, "prometheus")
        return self.prometheus_url

    def query(self, expr):
        url = self.prometheus_url + "/api/v1/query?query=" + urllib.parse.quote(expr)
        doc = json.loads(http_get(url, 10))
        if doc.get("status") != "success":
            raise RuntimeError("query %r failed: %s" % (expr, doc))
        return doc["data"]

    def alertmanager_alerts(self):
        return json.loads(http_get(self.alertmanager_url + "/api/v2/alerts", 10))

    def stop(self):
        for name, p, log in reversed(self.procs):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
            log.close()
        self.procs = []
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


import urllib.parse  # noqa: E402  (used by Stack.query)
