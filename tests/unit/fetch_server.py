#!/usr/bin/env python3
"""fetch_server.py - a small HTTP(S)/unix-socket server for the fetch unit tests.

Usage:
  fetch_server.py --port-file FILE [--log FILE] [--tls-cert C --tls-key K]
  fetch_server.py --unix PATH --port-file FILE [--log FILE]

Listens on 127.0.0.1 with port 0 (or on a unix socket), writes the port
(or "unix") to --port-file once it accepts connections, and appends one
line "METHOD PATH" per request that reached the HTTP layer to --log.

Paths:
  /json             200, a small JSON document
  /slow?delay=S     sleeps S seconds, then 200 JSON
  /big?n=N          200 with N bytes and a Content-Length
  /stream?n=N       200 with N bytes, no Content-Length (read until close)
  /redirect         302 to /json?from=redirect
  /echo             200, JSON with method, path, lower-cased headers, body
"""

import argparse
import json
import os
import socket
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG_LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    server_version = "fetch-test/1"
    log_path = None

    def log_message(self, fmt, *args):  # keep test output quiet
        pass

    def record(self):
        if not Handler.log_path:
            return
        with LOG_LOCK, open(Handler.log_path, "a", encoding="utf-8") as f:
            f.write("%s %s\n" % (self.command, self.path))
            f.flush()

    def send(self, status, body, ctype="application/json", length=True, extra=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if length:
            self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass  # the client gave up (timeout, size cap): expected

    def route(self):
        self.record()
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query)
        n = int(q.get("n", ["0"])[0])
        if url.path == "/json":
            self.send(200, b'{"data":[1,2,3]}', "application/json; charset=utf-8")
        elif url.path == "/slow":
            time.sleep(float(q.get("delay", ["5"])[0]))
            self.send(200, b'{"slow":true}')
        elif url.path == "/big":
            self.send(200, b"x" * n, "text/plain")
        elif url.path == "/stream":
            self.send(200, b"y" * n, "text/plain", length=False)
        elif url.path == "/redirect":
            self.send(302, b"redirecting", "text/plain", extra={"Location": "/json?from=redirect"})
        elif url.path == "/echo":
            blen = int(self.headers.get("Content-Length", "0") or "0")
            body = self.rfile.read(blen).decode("utf-8", "replace") if blen else ""
            doc = {
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body,
            }
            self.send(200, json.dumps(doc).encode(), "application/json")
        else:
            self.send(404, b'{"error":"not found"}')

    do_GET = route
    do_POST = route
    do_PUT = route
    do_DELETE = route
    do_PATCH = route  # never sent by fetch: test_bad_arguments checks it does not arrive


class QuietMixin:
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # failed TLS handshakes and dropped clients are part of the tests


class TCPServer(QuietMixin, ThreadingHTTPServer):
    pass


class UnixServer(QuietMixin, socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    def get_request(self):
        conn, _ = super().get_request()
        return conn, ("unix", 0)  # BaseHTTPRequestHandler wants a (host, port) pair


def write_ready(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    os.rename(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--unix")
    args = ap.parse_args()
    Handler.log_path = args.log

    if args.unix:
        if os.path.exists(args.unix):
            os.unlink(args.unix)
        srv = UnixServer(args.unix, Handler)
        ready = "unix"
    else:
        srv = TCPServer(("127.0.0.1", 0), Handler)
        if args.tls_cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(args.tls_cert, args.tls_key)
            # Handshake lazily in the handler thread so a failing client never blocks accept().
            srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
        ready = str(srv.server_address[1])
    write_ready(args.port_file, ready)
    scheme = "unix" if args.unix else ("https" if args.tls_cert else "http")
    print("fetch_server: listening (%s) %s" % (scheme, ready), flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
