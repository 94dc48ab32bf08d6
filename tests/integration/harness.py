"""Integration-test harness: starts the simulator and the real exporter binary on loopback."""
import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("PE_BUILD", os.path.join(ROOT, "build"))
EXPORTER = os.path.join(BUILD, "persistence_exporter")
CTL = os.path.join(BUILD, "persistencectl")
SIM = os.path.join(ROOT, "tests", "sim", "sim.py")

# Secrets the simulator accepts; tests grep outputs for them.
PVE_SECRET = "sim-read-secret-%s"
PVE_ACTION_SECRET = "sim-action-secret-%s"
N8N_KEY = "sim-n8n-key-%s"
PBS_SECRET = "sim-pbs-secret-%s"


def wait_for(pred, timeout=10.0, step=0.05, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    raise AssertionError("timed out waiting for %s" % what)


class Sim:
    """The upstream simulator (tests/sim/sim.py) on a free port."""

    def __init__(self, scenario="incident", extra=(), start_timeout=15):
        self.dir = tempfile.mkdtemp(prefix="pe-sim-")
        self.port_file = os.path.join(self.dir, "port")
        self.docker_socket = os.path.join(self.dir, "docker.sock")
        self.log = open(os.path.join(self.dir, "sim.log"), "w+")
        args = [sys.executable, SIM, "--scenario", scenario, "--listen", "127.0.0.1", "--port", "0",
                "--port-file", self.port_file, "--docker-socket", self.docker_socket, "--fast-401"]
        self.proc = subprocess.Popen(args + list(extra), stdout=self.log, stderr=subprocess.STDOUT)
        self.port = int(wait_for(self._read_port, start_timeout, what="simulator port"))
        self.url = "http://127.0.0.1:%d" % self.port

    def _read_port(self):
        if self.proc.poll() is not None:
            self.log.seek(0)
            raise AssertionError("simulator exited: " + self.log.read())
        try:
            with open(self.port_file) as f:
                s = f.read().strip()
            return s if s else None
        except FileNotFoundError:
            return None

    def control(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            raw = r.read()
        return json.loads(raw) if raw.strip() else None

    def fault(self, match, **kw):
        kw["match"] = match
        return self.control("POST", "/_sim/fault", kw)

    def clear_faults(self):
        return self.control("DELETE", "/_sim/fault")

    def scenario(self, name):
        return self.control("POST", "/_sim/scenario", {"name": name})

    def stats(self):
        return self.control("GET", "/_sim/stats")

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def write_secret(directory, name, value):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(value + "\n")
    os.chmod(path, 0o600)
    return path


class Exporter:
    """The real persistence_exporter on 127.0.0.1 with an ephemeral port."""

    def __init__(self, config_text, flags=(), env=None, wait_ready=True):
        self.dir = tempfile.mkdtemp(prefix="pe-exp-")
        self.config_path = os.path.join(self.dir, "config.yml")
        self.write_config(config_text)
        self.log_path = os.path.join(self.dir, "exporter.log")
        self.log = open(self.log_path, "w+")
        args = [EXPORTER, "--config.file=" + self.config_path,
                "--web.listen-address=127.0.0.1:0"] + list(flags)
        e = dict(os.environ)
        e.update(env or {})
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=e)
        self.port = None
        if wait_ready:
            try:
                self.port = int(wait_for(self._port_from_log, 15, what="exporter listening"))
            except AssertionError:
                self.proc.kill()  # never leave an orphan behind a failed start
                self.proc.wait()
                raise
            self.url = "http://127.0.0.1:%d" % self.port

    def write_config(self, text):
        with open(self.config_path, "w") as f:
            f.write(text)

    def log_text(self):
        with open(self.log_path) as f:
            return f.read()

    def _port_from_log(self):
        if self.proc.poll() is not None:
            raise AssertionError("exporter exited %s: %s" % (self.proc.returncode, self.log_text()))
        m = re.search(r"msg=listening .*port=(\d+)", self.log_text())
        return m.group(1) if m else None

    def get(self, path, headers=None, timeout=30, method="GET"):
        req = urllib.request.Request(self.url + path, headers=headers or {}, method=method)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                body = r.read()
                status, hdrs = r.status, dict(r.headers)
        except urllib.error.HTTPError as e:
            body, status, hdrs = e.read(), e.code, dict(e.headers)
        if hdrs.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        return status, hdrs, body.decode("utf-8", "replace")

    def metrics(self, query="", headers=None, timeout=30):
        status, _, body = self.get("/metrics" + query, headers, timeout)
        if status != 200:
            raise AssertionError("GET /metrics: %d %s" % (status, body))
        return body

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=10):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("exporter did not stop on SIGTERM within %ss" % timeout)
        return self.proc.returncode

    def threads(self):
        return len(os.listdir("/proc/%d/task" % self.proc.pid))

    def close(self):
        try:
            self.stop()
            check_sanitizer_report(self.log_text(), "exporter")
        finally:
            self.log.close()
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def check_sanitizer_report(text, what):
    """Fails when a sanitizer (ASan build) reported anything in a process's output."""
    for mark in SANITIZER_MARKS:
        i = text.find(mark)
        if i >= 0:
            raise AssertionError("%s: sanitizer report:\n%s" % (what, text[max(0, i - 200):i + 3000]))


SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """Returns a list of (name, labels dict, float value)."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE_RE.match(line)
        if not m:
            raise AssertionError("unparsable exposition line: %r" % line)
        labels = dict(LABEL_RE.findall(m.group(3) or ""))
        out.append((m.group(1), labels, float(m.group(4))))
    return out


def samples(text, name, **labels):
    """Values of every sample of `name` whose labels include `labels`."""
    return [v for n, l, v in parse_metrics(text)
            if n == name and all(l.get(k) == str(x) for k, x in labels.items())]


def value(text, name, **labels):
    vals = samples(text, name, **labels)
    if len(vals) != 1:
        raise AssertionError("%s%s: expected one sample, got %d" % (name, labels, len(vals)))
    return vals[0]


def promtool_check(text):
    """Asserts `promtool check metrics` accepts text silently."""
    p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(), capture_output=True)
    out = (p.stdout + p.stderr).decode()
    if p.returncode != 0 or out.strip():
        raise AssertionError("promtool check metrics: rc=%d %s" % (p.returncode, out))


def pbs_source_yaml(sim, instance="pbs1", name=None, secret_file=None, extra=""):
    """A pbs: list entry for one simulated PBS; its secret goes to {secret_dir}/<instance>.token."""
    return ("  - name: %s\n    url: %s/pbs/%s\n    token_id: \"monitor@pbs!exporter\"\n"
            "    token_secret_file: {secret_dir}/%s\n    timeout: 5s\n%s"
            % (name or instance, sim.url, instance, secret_file or instance + ".token", extra))


def pve_source_yaml(sim, cluster, name=None, extra=""):
    """A pve: list entry for one simulated cluster; secrets go to files in the exporter's dir."""
    return ("  - name: %s\n    url: %s/pve/%s\n    token_id: \"monitor@pve!exporter\"\n"
            "    token_secret_file: {secret_dir}/%s.token\n    timeout: 5s\n%s"
            % (name or cluster, sim.url, cluster, cluster, extra))
