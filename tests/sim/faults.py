"""faults.py - injected upstream failures: the fault list, matching, and the bodies they produce."""

import json
import re
import threading

OVERSIZE_BYTES = 64 * 1024 * 1024
BODY_KINDS = ("html", "truncated", "oversize", "empty")

# What n8n serves on /api/v1/* while its database migrations run (status 200, text/html).
N8N_STARTING_HTML = (
    b"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\" />\n"
    b"<title>n8n is starting up</title>\n"
    b"<style>body{font-family:sans-serif;text-align:center;margin-top:20vh}</style>\n"
    b"</head>\n<body>\n<h1>n8n is starting up. Please wait</h1>\n"
    b"<script>setTimeout(function(){window.location.reload()},1000)</script>\n"
    b"</body>\n</html>\n"
)


class Reply:
    """One HTTP answer. `body` is bytes, or a callable writing to a file object (streamed)."""

    def __init__(self, status=200, body=b"", ctype="application/json;charset=UTF-8",
                 reason=None, headers=None, length=None, close=False):
        self.status = status
        self.reason = reason
        self.body = body
        self.ctype = ctype
        self.headers = headers or {}
        self.length = length if length is not None else (len(body) if isinstance(body, bytes) else None)
        self.close = close


def json_reply(obj, status=200, reason=None, **kw):
    return Reply(status, json.dumps(obj, separators=(",", ":")).encode(), reason=reason, **kw)


class Fault:
    def __init__(self, spec):
        if not isinstance(spec, dict) or not isinstance(spec.get("match"), str):
            raise ValueError("fault needs a string 'match' (python regex)")
        self.match_text = spec["match"]
        self.regex = re.compile(spec["match"])
        self.delay = float(spec.get("delay", 0) or 0)
        self.status = spec.get("status")
        if self.status is not None:
            self.status = int(self.status)
            if not 100 <= self.status <= 999:
                raise ValueError("status out of range")
        self.body = spec.get("body")
        if self.body is not None and not isinstance(self.body, str):
            raise ValueError("body must be a string")
        self.times = spec.get("times")
        if self.times is not None:
            self.times = int(self.times)
            if self.times <= 0:
                raise ValueError("times must be positive")
        if self.delay < 0:
            raise ValueError("delay must not be negative")

    def describe(self):
        return {"match": self.match_text, "delay": self.delay, "status": self.status,
                "body": self.body, "times": self.times}


class Faults:
    """Thread-safe list of active faults; the first one whose regex matches a request wins."""

    def __init__(self):
        self.lock = threading.Lock()
        self.items = []

    def add(self, spec):
        fault = Fault(spec)
        with self.lock:
            self.items.append(fault)
            return len(self.items)

    def clear(self):
        with self.lock:
            self.items = []

    def list(self):
        with self.lock:
            return [f.describe() for f in self.items]

    def take(self, target):
        """The fault for this request (path incl. query), consuming one of its `times`."""
        with self.lock:
            for fault in self.items:
                if fault.regex.search(target):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self.items.remove(fault)
                    return fault
        return None


def _oversize_writer(out):
    """Stream OVERSIZE_BYTES of JSON-looking text (never closed) without holding it in memory."""
    head = b'{"data":['
    item = b'{"vmid":100,"pad":"' + b"x" * 1000 + b'"},'
    chunk = item * 64
    out.write(head)
    left = OVERSIZE_BYTES - len(head)
    while left > 0:
        piece = chunk if left >= len(chunk) else chunk[:left]
        out.write(piece)
        left -= len(piece)


def apply(fault, reply, status_reply):
    """Turn the normal `reply` into the faulty one. `status_reply(status)` builds the
    upstream-flavoured error answer (PVE, n8n or Docker body) for a bare status fault."""
    body = fault.body
    if body is None:
        return status_reply(fault.status) if fault.status is not None else reply
    status = fault.status if fault.status is not None else (200 if body != "truncated" else reply.status)
    if body == "html":
        return Reply(status, N8N_STARTING_HTML, ctype="text/html; charset=utf-8")
    if body == "truncated":
        data = reply.body if isinstance(reply.body, bytes) else b'{"data":[{"vmid":100}]}'
        return Reply(status, data[: len(data) // 2], ctype=reply.ctype, headers=reply.headers)
    if body == "oversize":
        return Reply(status, _oversize_writer, length=OVERSIZE_BYTES)
    if body == "empty":
        return Reply(status, b"", ctype=reply.ctype)
    data = body.encode()
    try:
        json.loads(data)
        ctype = "application/json;charset=UTF-8"
    except ValueError:
        ctype = "text/plain; charset=utf-8"
    return Reply(status, data, ctype=ctype)
