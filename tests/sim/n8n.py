"""n8n.py - one simulated n8n instance: public API v1 workflow listing and /healthz."""

import base64
import json
import random
import string
import time

from faults import Reply, json_reply

MAX_LIMIT = 250
DEFAULT_LIMIT = 100
PROJECT_ID = "NpVX5DkH6f2xCTWs"


def iso_ms(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + ".%03dZ" % int((epoch % 1) * 1000)


def status_reply(status):
    """The answer for a bare status fault on an n8n path."""
    if status == 401:
        return json_reply({"message": "unauthorized"}, 401)
    if status == 404:
        return Reply(404, b"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                     b"<title>Error</title>\n</head>\n<body>\n<pre>Cannot GET /api/v1/workflows</pre>\n"
                     b"</body>\n</html>\n", ctype="text/html; charset=utf-8")
    if status == 503:
        return json_reply({"status": "error"}, 503)
    return json_reply({"message": "Internal Server Error"}, status)


class Instance:
    """Workflows of one instance, pre-serialised once so that big instances page quickly."""

    def __init__(self, name, workflows, now, seed=7):
        rng = random.Random(seed)
        self.name = name
        self.api_key = "sim-n8n-key-" + name
        self.repeat_cursor = False  # control knob: nextCursor never advances
        self.items = []     # (with_pin_bytes, without_pin_bytes)
        self.ids = []
        for i, wf in enumerate(workflows):
            obj = self._workflow(rng, i, wf, now)
            self.ids.append(obj["id"])
            with_pin = dict(obj)
            no_pin = {k: v for k, v in obj.items() if k != "pinData"}
            self.items.append((json.dumps(with_pin, separators=(",", ":")).encode(),
                               json.dumps(no_pin, separators=(",", ":")).encode()))

    @staticmethod
    def _workflow(rng, i, wf, now):
        wid = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(16))
        created = now - 86400 * (200 - i % 180) - rng.random() * 3600
        updated = created + rng.random() * 86400 * 30
        version = "%08x-%04x-4%03x-%04x-%012x" % (rng.getrandbits(32), rng.getrandbits(16),
                                                 rng.getrandbits(12), 0x8000 | rng.getrandbits(14),
                                                 rng.getrandbits(48))
        active = bool(wf.get("active"))
        node = ({"id": "s1", "name": "Schedule", "type": "n8n-nodes-base.scheduleTrigger",
                 "typeVersion": 1.2, "position": [0, 0],
                 "parameters": {"rule": {"interval": [{"field": "hours", "hoursInterval": 1}]}}}
                if active else
                {"id": "n1", "name": "Manual", "type": "n8n-nodes-base.manualTrigger",
                 "typeVersion": 1, "position": [0, 0], "parameters": {}})
        shared = [{"updatedAt": iso_ms(created), "createdAt": iso_ms(created),
                   "role": "workflow:owner", "workflowId": wid, "projectId": PROJECT_ID}]
        active_version = None
        if active:
            active_version = {"updatedAt": iso_ms(updated), "createdAt": iso_ms(updated),
                              "versionId": version, "workflowId": wid, "nodes": [node],
                              "connections": {}, "authors": "Sim Owner", "name": None,
                              "description": None, "autosaved": False}
        return {"updatedAt": iso_ms(updated), "createdAt": iso_ms(created), "id": wid,
                "name": wf["name"], "active": active, "isArchived": bool(wf.get("archived")),
                "nodes": [node], "connections": {},
                "settings": {"executionOrder": "v1", "callerPolicy": "workflowsFromSameOwner",
                             "availableInMCP": False},
                "staticData": None, "meta": None, "pinData": None, "versionId": version,
                "activeVersionId": version if active else None, "triggerCount": 1 if active else 0,
                "shared": shared, "activeVersion": active_version, "tags": wf.get("tags", [])}


def _cursor(limit, offset):
    raw = json.dumps({"limit": limit, "offset": offset}, separators=(",", ":")).encode()
    return base64.b64encode(raw).decode()


def _bad(message, status=400):
    return json_reply({"message": message}, status)


def list_workflows(inst, query):
    if "cursor" in query:
        try:
            cur = json.loads(base64.b64decode(query["cursor"], validate=True))
            limit, offset = int(cur["limit"]), int(cur["offset"])
            if limit < 0 or offset < 0:
                raise ValueError
        except (ValueError, KeyError, TypeError):
            return _bad("An invalid cursor was provided")
    else:
        raw = query.get("limit", str(DEFAULT_LIMIT))
        try:
            limit = int(raw)
        except ValueError:
            return _bad("request/query/limit must be number")
        if limit > MAX_LIMIT:
            return _bad("request/query/limit must be <= %d" % MAX_LIMIT)
        if limit < 1 and limit != 0:
            return _bad("request/query/limit must be >= 1")
        offset = 0
    pick = 1 if str(query.get("excludePinnedData", "")).lower() == "true" else 0
    rows = [inst.items[i][pick] for i in range(len(inst.items))]
    if query.get("active") in ("true", "false"):
        want = query["active"] == "true"
        rows = [r for r in rows if (b'"active":true' in r) == want]
    total = len(rows)
    page = rows[offset:] if limit == 0 else rows[offset:offset + limit]
    nxt = _cursor(limit, offset + limit) if total > offset + limit else None
    if inst.repeat_cursor:      # a broken server: every page points at the second one
        nxt = _cursor(limit, limit)
    body = b'{"data":[' + b",".join(page) + b'],"nextCursor":' + json.dumps(nxt).encode() + b"}"
    return Reply(200, body, ctype="application/json; charset=utf-8")


def handle(inst, method, sub, query, api_key_header):
    if sub in ("/healthz", "/healthz/readiness"):
        return json_reply({"status": "ok"})
    if not sub.startswith("/api/v1/") or method != "GET":
        return Reply(404, ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                           "<title>Error</title>\n</head>\n<body>\n<pre>Cannot %s %s</pre>\n"
                           "</body>\n</html>\n" % (method, sub)).encode(),
                     ctype="text/html; charset=utf-8")
    if api_key_header is None:
        return json_reply({"message": "'X-N8N-API-KEY' header required"}, 401)
    if api_key_header != inst.api_key:
        return json_reply({"message": "unauthorized"}, 401)
    if sub == "/api/v1/workflows":
        return list_workflows(inst, query)
    return json_reply({"message": "not found"}, 404)
