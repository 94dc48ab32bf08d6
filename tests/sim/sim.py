#!/usr/bin/env python3
"""sim.py - upstream simulator for persistence_exporter: PVE clusters, n8n, Docker, faults.

Usage: python3 tests/sim/sim.py --scenario seed|incident|healthy|restore|bench [--listen 127.0.0.1]
       [--port 0] [--port-file FILE] [--docker-socket PATH] [--tls-cert C --tls-key K]
       [--fast-401] [--guests N --nodes N --archives-per-guest N --workflows N]
See docs/simulator.md.
"""

import argparse
import collections
import json
import os
import re
import socket
import socketserver
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import docker  # noqa: E402
import faults  # noqa: E402
import n8n  # noqa: E402
import pbs  # noqa: E402
import pve  # noqa: E402
import pve_drill  # noqa: E402
import scenarios  # noqa: E402
from faults import Reply, json_reply  # noqa: E402

MAX_REQUEST_BODY = 1024 * 1024
JOURNAL_MAX = 10000


class Sim:
    """Shared state of one simulator process: the current world, faults, stats, options."""

    def __init__(self, opts):
        self.opts = opts
        self.faults = faults.Faults()
        self.stats = {}
        self.method_stats = {}
        self.journal = collections.deque(maxlen=JOURNAL_MAX)
        self.mutations = collections.deque(maxlen=JOURNAL_MAX)
        self.stats_lock = threading.Lock()
        self.pve_api = pve.PveApi(fast_401=opts.fast_401)
        self.world = self.load(opts.scenario)

    def load(self, name, schedules=None):
        world = scenarios.World(name, self.opts, schedules)
        for cluster in world.clusters.values():
            cluster.drill = pve_drill.DrillKnobs(self.opts.restore_seconds, self.opts.boot_seconds)
        world.prewarm(self.pve_api)
        return world

    def count(self, method, path):
        key = "%s %s" % (method, path)
        with self.stats_lock:
            self.stats[path] = self.stats.get(path, 0) + 1
            self.method_stats[key] = self.method_stats.get(key, 0) + 1
            self.journal.append(key)

    def record_mutation(self, method, path, query, body, headers):
        """Every POST/PUT/DELETE upstream call, with its parameters and token id (never the secret)."""
        m = pve.TOKEN_RE.search(headers.get("Authorization") or "")
        token = m.group(1).rsplit("=", 1)[0] if m and "=" in m.group(1) else None
        try:
            form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        except ValueError:
            form = {}
        with self.stats_lock:
            self.mutations.append({"method": method, "path": path, "query": query, "form": form,
                                   "token": token, "t": time.time()})

    # ----- control API: /_sim/... -----
    def control(self, method, path, body, query=None):
        if path == "/_sim/fault" and method == "POST":
            try:
                n = self.faults.add(json.loads(body or b"null"))
            except (ValueError, TypeError, re.error) as e:
                return json_reply({"error": str(e)}, 400)
            return json_reply({"ok": True, "faults": n})
        if path == "/_sim/fault" and method == "DELETE":
            self.faults.clear()
            return json_reply({"ok": True, "faults": 0})
        if path == "/_sim/fault" and method == "GET":
            return json_reply(self.faults.list())
        if path == "/_sim/scenario" and method == "POST":
            try:
                spec = json.loads(body or b"null")
                name = spec["name"]
                self.world = self.load(name, spec.get("schedules"))
            except (ValueError, TypeError, KeyError) as e:
                return json_reply({"error": "bad scenario: %s" % e}, 400)
            return json_reply({"ok": True, "scenario": name})
        if path == "/_sim/scenario" and method == "GET":
            return json_reply({"scenario": self.world.name})
        if path == "/_sim/stats" and method == "GET":
            with self.stats_lock:
                by_method = (query or {}).get("by") == "method"
                return json_reply(dict(self.method_stats if by_method else self.stats))
        if path == "/_sim/requests" and method == "GET":
            with self.stats_lock:
                return json_reply(list(self.journal))
        if path == "/_sim/mutations" and method == "GET":
            with self.stats_lock:
                return json_reply(list(self.mutations))
        if path == "/_sim/stats/reset" and method == "POST":
            with self.stats_lock:
                self.stats.clear()
                self.method_stats.clear()
                self.journal.clear()
                self.mutations.clear()
            return json_reply({"ok": True})
        if path == "/_sim/drill":
            return self.drill_knobs(method, body, query or {})
        if path == "/_sim/task-result":
            return self.task_result(method, body)
        if path == "/_sim/n8n" and method == "POST":
            return self.n8n_knobs(body)
        if path == "/_sim/pbs" and method == "POST":
            return self.pbs_knobs(body)
        return json_reply({"error": "no such control endpoint"}, 404)

    def task_result(self, method, body):
        """POST: the next vzdump task(s) of a cluster end with this status; DELETE: clear."""
        if method == "DELETE":
            for cluster in self.world.clusters.values():
                cluster.set_task_results([])
            return json_reply({"ok": True})
        if method != "POST":
            return json_reply({"error": "no such control endpoint"}, 404)
        try:
            spec = json.loads(body or b"null")
            cluster = self.world.clusters[spec["cluster"]]
            status = spec["status"]
            times = int(spec.get("times", 1))
            error = spec.get("error", status)
            if not isinstance(status, str) or not status or not isinstance(error, str) or times < 1:
                raise ValueError("status and error must be non-empty strings, times positive")
        except (ValueError, TypeError, KeyError) as e:
            return json_reply({"error": "bad task result: %s" % e}, 400)
        cluster.set_task_results([{"status": status, "error": error}] * times)
        return json_reply({"ok": True, "pending": times})

    def drill_knobs(self, method, body, query):
        """POST: restore-side knobs of one cluster (pve_drill.control); GET ?cluster=: its report."""
        try:
            if method == "GET":
                return json_reply(pve_drill.report(self.world.clusters[query.get("cluster", "home")]))
            if method != "POST":
                return json_reply({"error": "no such control endpoint"}, 404)
            spec = json.loads(body or b"null")
            pve_drill.control(self.world.clusters[spec.get("cluster", "home")], spec)
        except (ValueError, TypeError, KeyError, AttributeError) as e:
            return json_reply({"error": "bad drill knobs: %s" % e}, 400)
        return json_reply({"ok": True})

    def n8n_knobs(self, body):
        """POST {"name": "app", "workflows": N, "repeat_cursor": bool, "api_key": K}: reshape one
        n8n instance (a rebuild: new workflows and a new key the exporter does not have)."""
        try:
            spec = json.loads(body or b"null")
            name = spec.get("name", "app")
            inst = self.world.n8n[name]
            if "workflows" in spec:
                count = int(spec["workflows"])
                if count < 0:
                    raise ValueError("workflows must not be negative")
                inst = n8n.Instance(name, scenarios.n8n_workflows(count), time.time())
            if "repeat_cursor" in spec:
                if not isinstance(spec["repeat_cursor"], bool):
                    raise ValueError("repeat_cursor must be true or false")
                inst.repeat_cursor = spec["repeat_cursor"]
            if "api_key" in spec:
                if not isinstance(spec["api_key"], str) or not spec["api_key"]:
                    raise ValueError("api_key must be a non-empty string")
                inst.api_key = spec["api_key"]
        except (ValueError, TypeError, KeyError, AttributeError) as e:
            return json_reply({"error": "bad n8n knobs: %s" % e}, 400)
        self.world.n8n[name] = inst
        return json_reply({"ok": True, "workflows": len(inst.items), "repeat_cursor": inst.repeat_cursor})

    def pbs_knobs(self, body):
        """POST {"name": "pbs1", "datastore": "offsite", "delay": 3, "denied": true} or {"version": "3.2"}."""
        try:
            spec = json.loads(body or b"null")
            inst = self.world.pbs[spec.get("name", "pbs1")]
            inst.set_knobs(spec)
        except (ValueError, TypeError, KeyError, AttributeError) as e:
            return json_reply({"error": "bad pbs knobs: %s" % e}, 400)
        return json_reply({"ok": True, "version": inst.version["version"],
                           "stores": {n: {"delay": st.delay, "denied": st.denied} for n, st in inst.stores.items()}})

    # ----- upstreams -----
    def route(self, method, path, query, form, headers):
        """(reply, status_reply builder) for an upstream request on the TCP listener."""
        world = self.world
        parts = path.split("/")
        if len(parts) >= 5 and parts[1] == "pve" and parts[3] == "api2" and parts[4] == "json":
            cluster = world.clusters.get(parts[2])
            if cluster is None:
                return pve.status_reply(595), pve.status_reply
            sub = "/" + "/".join(parts[5:]) if len(parts) > 5 else "/"
            reply = self.pve_api.handle(cluster, method, sub.rstrip("/") or "/", query, form,
                                        headers.get("Authorization"))
            return reply, pve.status_reply
        if len(parts) >= 5 and parts[1] == "pbs" and parts[3] == "api2" and parts[4] == "json":
            inst = world.pbs.get(parts[2])
            if inst is None:
                return pbs.status_reply(404), pbs.status_reply
            sub = "/" + "/".join(parts[5:]) if len(parts) > 5 else "/"
            reply = pbs.handle(inst, method, sub.rstrip("/") or "/", query, headers.get("Authorization"),
                               self.opts.fast_401)
            return reply, pbs.status_reply
        if len(parts) >= 3 and parts[1] == "n8n":
            inst = world.n8n.get(parts[2])
            if inst is None:
                return n8n.status_reply(404), n8n.status_reply
            sub = "/" + "/".join(parts[3:])
            return n8n.handle(inst, method, sub, query, headers.get("X-N8N-API-KEY")), n8n.status_reply
        return Reply(404, b"not a simulated upstream\n", ctype="text/plain"), n8n.status_reply


class Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 handler shared by the TCP and the unix-socket listener."""

    protocol_version = "HTTP/1.1"
    server_version = "pve-api-daemon/3.0"
    sys_version = ""
    is_docker = False

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        if self.server.sim.opts.verbose:
            sys.stderr.write("sim: %s\n" % (fmt % args))

    def address_string(self):
        return str(self.client_address[0]) if self.client_address else "unix"

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def do_PUT(self):
        self.dispatch("PUT")

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_REQUEST_BODY:
            raise ValueError("request body too large")
        return self.rfile.read(n) if n else b""

    def parse_form(self, body):
        if not body:
            return {}
        if "json" in (self.headers.get("Content-Type") or ""):
            data = json.loads(body)
            return {k: str(v) for k, v in data.items()} if isinstance(data, dict) else {}
        return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))

    def dispatch(self, method):
        sim = self.server.sim
        url = urlsplit(self.path)
        path, query = url.path, dict(parse_qsl(url.query, keep_blank_values=True))
        try:
            body = self.read_body()
        except ValueError:
            self.send(Reply(413, b"", close=True))
            return
        if path.startswith("/_sim/") and not self.is_docker:
            self.send(sim.control(method, path, body, query))
            return
        sim.count(method, path)
        if method in ("POST", "PUT", "DELETE") and not self.is_docker:
            sim.record_mutation(method, path, query, body, self.headers)
        fault = sim.faults.take(self.path)
        if fault and fault.delay:
            time.sleep(fault.delay)
        if self.is_docker:
            reply = sim.world.docker.handle(method, path, query)
            status_reply = docker.status_reply
        else:
            try:
                form = self.parse_form(body)
            except ValueError:
                form = {}
            reply, status_reply = sim.route(method, path, query, form, self.headers)
        if fault:
            reply = faults.apply(fault, reply, status_reply)
        self.send(reply, head_only=method == "HEAD")

    def send(self, reply, head_only=False):
        self.send_response(reply.status, reply.reason)
        if reply.ctype:
            self.send_header("Content-Type", reply.ctype)
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(reply.length))
        if reply.close or reply.status >= 400 and not self.is_docker:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if head_only:
            return
        try:
            if callable(reply.body):
                reply.body(self.wfile)
            else:
                self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True


class DockerHandler(Handler):
    is_docker = True
    server_version = "Docker/%s" % docker.ENGINE_VERSION

    def do_HEAD(self):
        self.dispatch("HEAD")


class TcpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class UnixServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True


def parse_args(argv):
    p = argparse.ArgumentParser(description="Upstream simulator for persistence_exporter.")
    p.add_argument("--scenario", default="incident", choices=["seed", "incident", "healthy", "restore", "bench"])
    p.add_argument("--listen", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file")
    p.add_argument("--docker-socket")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--fast-401", action="store_true", help="answer bad tokens at once, not after 3 s")
    p.add_argument("--guests", type=int, default=1000, help="bench: number of guests")
    p.add_argument("--nodes", type=int, default=4, help="bench: number of nodes")
    p.add_argument("--archives-per-guest", type=int, default=20, help="bench: archives per guest")
    p.add_argument("--workflows", type=int, default=5000, help="bench: n8n workflows")
    p.add_argument("--pbs-groups", type=int, default=2000, help="bench: PBS backup groups")
    p.add_argument("--pbs-snapshots", type=int, default=30, help="bench: snapshots per PBS group")
    p.add_argument("--job-vmid-list", action="store_true",
                   help="bench: the backup job lists every guest in vmid instead of all=1")
    p.add_argument("--task-seconds", type=float, default=3.0, help="how long a vzdump task runs")
    p.add_argument("--restore-seconds", type=float, default=2.0, help="how long a restore task runs")
    p.add_argument("--boot-seconds", type=float, default=1.0,
                   help="how long a restored VM boots before its guest agent answers")
    p.add_argument("--verbose", action="store_true", help="log every request to stderr")
    opts = p.parse_args(argv)
    if bool(opts.tls_cert) != bool(opts.tls_key):
        p.error("--tls-cert and --tls-key go together")
    if (opts.nodes < 1 or opts.guests < 0 or opts.archives_per_guest < 1 or opts.workflows < 0
            or opts.pbs_groups < 0 or opts.pbs_snapshots < 1):
        p.error("bench sizes must be positive")
    return opts


def start_docker(sim, path):
    if os.path.exists(path):
        os.unlink(path)
    server = UnixServer(path, DockerHandler)
    server.sim = sim
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(argv):
    opts = parse_args(argv)
    sim = Sim(opts)
    family = socket.AF_INET6 if ":" in opts.listen else socket.AF_INET
    TcpServer.address_family = family
    server = TcpServer((opts.listen, opts.port), Handler)
    server.sim = sim
    scheme = "http"
    if opts.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(opts.tls_cert, opts.tls_key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    port = server.server_address[1]
    pve.SIM_PORT = port
    if opts.docker_socket:
        start_docker(sim, opts.docker_socket)
        print("sim: docker engine API on unix:%s" % opts.docker_socket, flush=True)
    host = "[%s]" % opts.listen if family == socket.AF_INET6 else opts.listen
    print("sim: listening on %s://%s:%d" % (scheme, host, port), flush=True)
    if opts.port_file:
        tmp = opts.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, opts.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        if opts.docker_socket and os.path.exists(opts.docker_socket):
            os.unlink(opts.docker_socket)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
