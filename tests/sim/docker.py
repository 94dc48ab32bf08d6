"""docker.py - a Docker Engine API v1.43 (Engine 24.0) subset served on a unix socket."""

import re

from faults import Reply
from faults import json_reply as _json_reply

API_VERSION = "1.43"
ENGINE_VERSION = "24.0.7"


def json_reply(obj, status=200, **kw):
    """Engine answers carry plain application/json."""
    kw.setdefault("ctype", "application/json")
    return _json_reply(obj, status, **kw)


def status_reply(status):
    """The answer for a bare status fault on a Docker path (Engine error shape)."""
    return json_reply({"message": "simulated daemon error (status %d)" % status}, status)


def _mount(m):
    """Engine MountPoint, field order as the engine prints it."""
    if m["Type"] == "volume":
        return {"Type": "volume", "Name": m["Name"],
                "Source": "/var/lib/docker/volumes/%s/_data" % m["Name"],
                "Destination": m["Destination"], "Driver": "local", "Mode": m.get("Mode", "z"),
                "RW": m.get("RW", True), "Propagation": ""}
    if m["Type"] == "bind":
        return {"Type": "bind", "Source": m["Source"], "Destination": m["Destination"],
                "Mode": m.get("Mode", ""), "RW": m.get("RW", True), "Propagation": "rprivate"}
    return {"Type": m["Type"], "Source": "", "Destination": m["Destination"], "Mode": "",
            "RW": True, "Propagation": ""}


def container_json(c, now):
    labels = dict(c.get("labels", {}))
    if c.get("project"):
        labels.update({"com.docker.compose.project": c["project"],
                       "com.docker.compose.service": c["service"],
                       "com.docker.compose.container-number": "1",
                       "com.docker.compose.oneoff": "False",
                       "com.docker.compose.version": "2.21.0",
                       "com.docker.compose.project.working_dir": "/srv/" + c["project"],
                       "com.docker.compose.project.config_files":
                           "/srv/%s/compose.yaml" % c["project"]})
    running = c["state"] == "running"
    network = (c.get("project") or "bridge") + ("_default" if c.get("project") else "")
    return {"Id": c["id"], "Names": ["/" + c["name"]], "Image": c["image"],
            "ImageID": "sha256:" + c["id"][::-1], "Command": c.get("command", ""),
            "Created": now - c.get("age", 86400 * 9), "Ports": c.get("ports", []),
            "Labels": labels, "State": c["state"],
            "Status": c.get("status", "Up 3 days" if running else "Exited (0) 2 days ago"),
            "HostConfig": {"NetworkMode": network},
            "NetworkSettings": {"Networks": {network: {
                "IPAMConfig": None, "Links": None, "Aliases": None, "NetworkID": c["id"][:64][::-1],
                "EndpointID": c["id"] if running else "", "Gateway": "172.20.0.1" if running else "",
                "IPAddress": c.get("ip", "172.20.0.2") if running else "", "IPPrefixLen": 16 if running else 0,
                "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
                "MacAddress": "02:42:ac:14:00:02" if running else "", "DriverOpts": None}}},
            "Mounts": [_mount(m) for m in c.get("mounts", [])]}


def volume_json(v, created):
    return {"CreatedAt": created, "Driver": "local", "Labels": v.get("labels"),
            "Mountpoint": "/var/lib/docker/volumes/%s/_data" % v["name"], "Name": v["name"],
            "Options": v.get("options"), "Scope": "local"}


class Engine:
    def __init__(self, containers, volumes, now):
        self.containers = containers
        self.volumes = volumes
        self.now = int(now)

    def handle(self, method, path, query):
        m = re.match(r"^/v([0-9]+\.[0-9]+)(/.*)$", path)
        if m:
            version, path = m.groups()
            if tuple(map(int, version.split("."))) > tuple(map(int, API_VERSION.split("."))):
                return json_reply({"message": "client version %s is too new. Maximum supported API "
                                              "version is %s" % (version, API_VERSION)}, 400)
        headers = {"Api-Version": API_VERSION, "Docker-Experimental": "false", "Ostype": "linux",
                   "Server": "Docker/%s (linux)" % ENGINE_VERSION}
        if method not in ("GET", "HEAD"):
            return json_reply({"message": "page not found"}, 404, headers=headers)
        if path == "/_ping":
            return Reply(200, b"OK", ctype="text/plain; charset=utf-8",
                         headers=dict(headers, **{"Cache-Control": "no-cache, no-store, must-revalidate",
                                                  "Pragma": "no-cache"}))
        if path == "/version":
            return json_reply(self.version(), headers=headers)
        if path == "/containers/json":
            show_all = query.get("all", "0") in ("1", "true", "True")
            items = [container_json(c, self.now) for c in self.containers
                     if show_all or c["state"] == "running"]
            return json_reply(items, headers=headers)
        if path == "/volumes":
            created = "2026-03-14T09:12:44Z"
            return json_reply({"Volumes": [volume_json(v, created) for v in self.volumes],
                               "Warnings": None}, headers=headers)
        return json_reply({"message": "page not found"}, 404, headers=headers)

    @staticmethod
    def version():
        return {"Platform": {"Name": "Docker Engine - Community"},
                "Components": [{"Name": "Engine", "Version": ENGINE_VERSION,
                                "Details": {"ApiVersion": API_VERSION, "Arch": "amd64",
                                            "BuildTime": "2023-10-26T09:07:41.000000000+00:00",
                                            "Experimental": "false", "GitCommit": "311b9ff",
                                            "GoVersion": "go1.20.10", "KernelVersion": "6.1.0-13-amd64",
                                            "MinAPIVersion": "1.12", "Os": "linux"}}],
                "Version": ENGINE_VERSION, "ApiVersion": API_VERSION, "MinAPIVersion": "1.12",
                "GitCommit": "311b9ff", "GoVersion": "go1.20.10", "Os": "linux", "Arch": "amd64",
                "KernelVersion": "6.1.0-13-amd64", "BuildTime": "2023-10-26T09:07:41.000000000+00:00"}


