"""Builds the demo's working folder: secrets, a fake PVE node, the NAS stand-in, n8n snapshots,
file backups and the 20-target config that `make run` and the end-to-end tests use.

The inventory (20 targets): the 13 shop guests, home VM 100 and LXC 105, the n8n
workflows, and four file backups. In the seed incident (scenario `seed`) home 100, home 105
and n8n are degraded, so the summary reads 17/20 OK, 3 degraded; healthy reads 20/20.
`incident` adds the PBS problems (a snapshot of shop VM 204 failed verification).

`restore` (what `make run` shows) is the incident plus restorability: places and a policy in
the config, a second backup mount (an offsite USB disk) whose newest vzdump log of shop's
postgres reports an error, and a 21st target on it. Each new reason degrades a target:
shop-mail (newest backup failed verification), shop-wiki (newest verified backup 9 days old,
max 7d), shop-erp (1 copy, policy wants 2), shop-web-frontend (no offsite copy) and
shop-postgres-usb (the log): 13/21 OK, 8 degraded.
"""
import os
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SIM_DIR = os.path.join(ROOT, "tests", "sim")
HOUR = 3600
DAY = 86400

SHOP_GUESTS = [(200, "web-frontend"), (201, "web-backend"), (202, "postgres"), (203, "redis"),
               (204, "mail"), (205, "erp"), (206, "files"), (207, "monitoring"), (208, "wiki"),
               (209, "vpn"), (210, "ci-runner"), (211, "pos-gateway"), (212, "dns")]
FILE_TARGETS = ["stalwart-data", "gitea-dump", "homeassistant-config", "unifi-autobackup"]
SECRETS = {
    "home.token": "sim-read-secret-home",
    "shop.token": "sim-read-secret-shop",
    "home-actions.token": "sim-action-secret-home",
    "shop-actions.token": "sim-action-secret-shop",
    "n8n.key": "sim-n8n-key-app",
    "pbs1.token": "sim-pbs-secret-pbs1",
    "home-drill.token": "sim-drill-secret-home",
    "shop-drill.token": "sim-drill-secret-shop",
}
DRILL_TARGET = "home-vm-100"   # make run drills it once (docs/restore-drills.md)


def _run(script, *args):
    subprocess.run([sys.executable, os.path.join(SIM_DIR, script)] + [str(a) for a in args],
                   check=True, stdout=subprocess.DEVNULL)


def _write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def _touch(path, mtime, size=4096):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.truncate(size)
    os.utime(path, (mtime, mtime))


def _mountinfo(nas, usb=None):
    """A mountinfo that says the NAS stand-in folder (and the USB disk's) is a mount (the demo needs no root)."""
    text = ("22 1 253:0 / / rw,relatime shared:1 - ext4 /dev/mapper/pve-root rw,errors=remount-ro\n"
            "871 22 0:85 / %s rw,relatime shared:460 - nfs4 synology.lan:/volume1/pve-backups "
            "rw,vers=4.1,rsize=131072,wsize=131072,hard,proto=tcp,timeo=600\n") % nas.replace(" ", "\\040")
    if usb:
        text += "872 22 8:33 / %s rw,relatime shared:461 - ext4 /dev/sdc1 rw\n" % usb.replace(" ", "\\040")
    return text


def _nas(nas, incident, now):
    """vzdump archives of home 100 and 105 on the NAS: 4 days old in the incident."""
    age = ["--stale-vmids", "100,105", "--stale-days", 4] if incident else ["--fresh-hours", 5]
    for vmid in (100, 105):
        _run("fake_dump.py", "--out", os.path.join(nas, "dump"), "--first-vmid", vmid, "--guests", 1,
             "--lxc-vmids", "105", "--per-guest", 8, "--timezone", "UTC", "--now", int(now), *age)


def _usb(usb, now):
    """The offsite USB disk: weekly vzdumps of shop's postgres (LXC 202); the newest run's log ends in an error."""
    _run("fake_dump.py", "--out", os.path.join(usb, "dump"), "--first-vmid", 202, "--guests", 1,
         "--lxc-vmids", "202", "--per-guest", 3, "--stale-vmids", "", "--fresh-hours", 30,
         "--timezone", "UTC", "--now", int(now), "--failed-log-vmids", "202")


def _snapshots(folder, incident, now):
    """n8n exports of 35 workflows; in the incident the nightly export stopped with the rebuild."""
    _run("fake_n8n_snapshots.py", "--out", folder, "--workflows", 35, "--days", 3, "--now", int(now))
    files = sorted(os.path.join(folder, f) for f in os.listdir(folder))
    newest_age = 30 * HOUR if incident else HOUR
    for i, path in enumerate(reversed(files)):
        t = now - newest_age - i * DAY
        os.utime(path, (t, t))


# Restorability in the `restore` scenario: where each storage is, and the targets' policies.
RESTORE_STORAGES = {"home": ["      synology-backups: {location: onsite}"],
                    "shop": ["      shop-pbs: {location: onsite}", "      local: {location: onsite}"]}
RESTORE_POLICY = {"erp": "min_copies: 2", "postgres": "min_copies: 2", "web-frontend": "require_offsite: true",
                  "wiki": "max_verify_age: 7d"}


def _config(d, sim_url, docker_socket, restore=False):
    s = d["secrets"]
    lines = [
        "# Demo configuration written by deploy/demo/scenario.py",
        "global:", "  scrape_timeout: 10s", "  cache_ttl: 5s", "  max_staleness: 5m",
        "  drill_state_file: %s" % d["drills"],
        "pve:",
        "  - name: home", "    url: %s/pve/home" % sim_url, '    token_id: "monitor@pve!exporter"',
        "    token_secret_file: %s/home.token" % s, '    action_token_id: "ops@pve!actions"',
        "    action_token_secret_file: %s/home-actions.token" % s, "    timeout: 5s",
        "    local: true", "    local_node: pve1",
        '    drill: {token_id: "drill@pve!drill", token_secret_file: %s/home-drill.token,' % s,
        "            vmid_range: [9900, 9999], storage: local-lvm, pool: drill, boot_timeout: 2m}",
    ] + (["    storages:"] + RESTORE_STORAGES["home"] if restore else []) + [
        "  - name: shop", "    url: %s/pve/shop" % sim_url, '    token_id: "monitor@pve!exporter"',
        "    token_secret_file: %s/shop.token" % s, '    action_token_id: "ops@pve!actions"',
        "    action_token_secret_file: %s/shop-actions.token" % s, "    timeout: 5s",
        '    drill: {token_id: "drill@pve!drill", token_secret_file: %s/shop-drill.token,' % s,
        "            vmid_range: [9900, 9999], storage: local-zfs, pool: drill, boot_timeout: 2m}",
    ] + (["    storages:"] + RESTORE_STORAGES["shop"] if restore else []) + [
        "mounts:",
        "  - name: synology-backups", "    path: %s" % d["nas"], "    fstype: nfs4", "    timeout: 3s",
        "    write_probe: true", "    dump_dir: dump", "    timezone: UTC",
    ] + (["  - name: usb-offsite", "    path: %s" % d["usb"], "    fstype: ext4", "    timeout: 3s",
          "    dump_dir: dump", "    timezone: UTC", "    location: offsite"] if restore else []) + [
        "n8n:",
        "  - name: app", "    url: %s/n8n/app" % sim_url, "    api_key_file: %s/n8n.key" % s,
        "    snapshots: %s" % d["snapshots"], "    timeout: 5s",
        "docker:",
        "  - name: comms", "    socket: %s" % docker_socket,
        "pbs:",
        "  - name: pbs1", "    url: %s/pbs/pbs1" % sim_url, '    token_id: "monitor@pbs!exporter"',
        "    token_secret_file: %s/pbs1.token" % s, "    timeout: 5s",
        "targets:",
        "  - name: home-vm-100", "    site: home", "    severity: critical", "    pve: {source: home, vmid: 100}",
        "    max_age: 26h", "    restore_doc: https://wiki.example/restore/home-vm-100",
        "  - name: home-lxc-105", "    site: home", "    severity: critical", "    pve: {source: home, vmid: 105}",
        "    max_age: 26h", "    restore_doc: %s" % d["restore_doc"],
        "  - name: app-n8n-workflows", "    site: home", "    severity: critical", "    n8n: {source: app}",
        "    max_age: 26h", "    restore_doc: https://wiki.example/restore/n8n",
    ]
    for vmid, name in SHOP_GUESTS:
        lines += ["  - name: shop-%s" % name, "    site: shop",
                  "    severity: %s" % ("critical" if vmid in (202, 204, 205) else "warning"),
                  "    pve: {source: shop, vmid: %d}" % vmid, "    max_age: 26h"]
        if vmid != 210:
            lines.append("    restore_doc: https://wiki.example/restore/shop-%s" % name)
        if restore and name in RESTORE_POLICY:
            lines.append("    " + RESTORE_POLICY[name])
    if restore:
        lines += ["  - name: shop-postgres-usb", "    site: shop", "    severity: warning",
                  "    mount: {source: usb-offsite, vmid: 202}", "    max_age: 8d",
                  "    restore_doc: https://wiki.example/restore/shop-postgres"]
    for name in FILE_TARGETS:
        lines += ["  - name: %s" % name, "    site: home", "    severity: warning",
                  '    file: {path: "%s/%s/*.tar.zst"}' % (d["files"], name), "    max_age: 26h",
                  "    restore_doc: https://wiki.example/restore/%s" % name]
    return "\n".join(lines) + "\n"


def build(workdir, sim_url, docker_socket, scenario="incident", now=None):
    """Writes everything under workdir; returns (config path, extra exporter flags)."""
    now = now or time.time()
    incident = scenario != "healthy"
    restore = scenario == "restore"
    d = {k: os.path.join(workdir, k) for k in ("secrets", "node", "nas", "usb", "snapshots", "files")}
    d["drills"] = os.path.join(workdir, "drills.jsonl")
    for name, value in SECRETS.items():
        _write(os.path.join(d["secrets"], name), value + "\n", 0o600)
    _run("fake_node.py", "--scenario", "leak" if incident else "healthy", "--out", d["node"],
         "--now", int(now), "--node", "pve1")
    os.makedirs(d["nas"], exist_ok=True)
    _write(os.path.join(d["node"], "procfs", "self", "mountinfo"), _mountinfo(d["nas"], d["usb"] if restore else None))
    _nas(d["nas"], incident, now)
    if restore:
        _usb(d["usb"], now)
    _snapshots(d["snapshots"], incident, now)
    for i, name in enumerate(FILE_TARGETS):
        for k in range(3):
            _touch(os.path.join(d["files"], name, "%s-%d.tar.zst" % (name, k)), now - (3 + i + k * 24) * HOUR)
    d["restore_doc"] = os.path.join(workdir, "restore", "home-lxc-105.md")
    _write(d["restore_doc"], "# Restore paperless (home LXC 105)\n\npct restore 105 <archive> --storage local-lvm\n")
    path = os.path.join(workdir, "config.yml")
    _write(path, _config(d, sim_url, docker_socket, restore))
    flags = ["--path.procfs=" + os.path.join(d["node"], "procfs"),
             "--path.sysfs=" + os.path.join(d["node"], "sysfs"),
             "--path.pvelib=" + os.path.join(d["node"], "pvelib"),
             "--path.rundir=" + os.path.join(d["node"], "run")]
    return path, flags
