#!/usr/bin/env python3
"""fake_n8n_snapshots.py - writes an n8n snapshot folder for the demo (Python 3 stdlib only).

Usage: fake_n8n_snapshots.py --out DIR [--workflows 35] [--days 3] [--now EPOCH]

Writes DIR/n8n-export-YYYY-MM-DD.json for each of the previous --days days: compact
`n8n export:workflow --all --output=FILE` arrays holding --workflows workflows shaped like
n8n 2.8.4 exports, with mtimes 3, 2 and 1 days ago (at 03:00 local style offsets).
"""
import argparse
import json
import os
import random
import string
import time

DAY = 86400


def nanoid(rng, n=16):
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(n))


def workflow(rng, i, stamp):
    wid = nanoid(rng)
    iso = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(stamp))
    return {
        "updatedAt": iso, "createdAt": iso, "id": wid, "name": "wf-%d" % (i + 1), "description": None,
        "active": i % 3 == 0, "isArchived": i == 34,
        "nodes": [
            {"id": "n1", "name": "Schedule", "type": "n8n-nodes-base.scheduleTrigger", "typeVersion": 1.2,
             "position": [0, 0], "parameters": {"rule": {"interval": [{"field": "hours"}]}}},
            {"id": "n2", "name": "Code", "type": "n8n-nodes-base.code", "typeVersion": 2, "position": [220, 0],
             "parameters": {"jsCode": "return [{json: {ok: \"[{}]\", id: 'x'}}];"}},
        ],
        "connections": {"Schedule": {"main": [[{"node": "Code", "type": "main", "index": 0}]]}},
        "settings": {"executionOrder": "v1", "callerPolicy": "workflowsFromSameOwner", "availableInMCP": False},
        "staticData": None, "meta": None, "pinData": {}, "versionId": "%08x-0000-4000-8000-%012x" % (i, i),
        "activeVersionId": None, "versionCounter": 1, "triggerCount": 1 if i % 3 == 0 else 0,
        "shared": [{"updatedAt": iso, "createdAt": iso, "role": "workflow:owner", "workflowId": wid,
                    "projectId": "NpVX5DkH6f2xCTWs",
                    "project": {"id": "NpVX5DkH6f2xCTWs", "name": "Demo <demo@example.com>", "type": "personal"}}],
        "tags": [],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--workflows", type=int, default=35)
    ap.add_argument("--days", type=int, default=3)
    ap.add_argument("--now", type=float, default=None)
    a = ap.parse_args()
    now = int(a.now if a.now is not None else time.time())
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(35)
    for ago in range(a.days, 0, -1):
        stamp = now - ago * DAY
        name = "n8n-export-%s.json" % time.strftime("%Y-%m-%d", time.gmtime(stamp))
        path = os.path.join(a.out, name)
        data = [workflow(rng, i, stamp - 3600) for i in range(a.workflows)]
        with open(path, "w") as f:
            f.write(json.dumps(data, separators=(",", ":")))
        os.utime(path, (stamp, stamp))
    print("fake_n8n_snapshots: %d files of %d workflows in %s" % (a.days, a.workflows, a.out))


if __name__ == "__main__":
    main()
