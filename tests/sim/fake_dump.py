#!/usr/bin/env python3
"""Creates a vzdump dump folder (sparse archives, .log/.notes side files, matching mtimes) for the demo and the bench.

Each archive gets the task log vzdump copies beside it ("<base name>.log"): a finished backup by
default; --failed-log-vmids makes the newest archive's log end in an ERROR: line (the archive was
written, a later step failed), --truncated-log-vmids cuts it off mid-line, --missing-log-vmids
leaves it out.

Defaults agree with the simulator's `home` cluster (SPEC §9): guests 100..., LXC 105, and
VM 100 and LXC 105 whose newest archives are four days old while the others are fresh.

  python3 tests/sim/fake_dump.py --out /tmp/nas/dump --guests 6 --per-guest 3
  python3 tests/sim/fake_dump.py --out /tmp/bench/dump --guests 1000 --per-guest 33   # ~100,000 files
"""
import argparse
import datetime
import os
import sys

try:
    from zoneinfo import ZoneInfo
except ImportError:  # Python < 3.9
    ZoneInfo = None


def parse_ids(s):
    return [int(x) for x in s.split(",") if x.strip()] if s else []


def archive_name(guest_type, vmid, local):
    ext = "vma.zst" if guest_type == "qemu" else "tar.zst"
    return "vzdump-%s-%d-%s.%s" % (guest_type, vmid, local.strftime("%Y_%m_%d-%H_%M_%S"), ext)


def log_text(guest_type, vmid, start, archive, state, tz):
    """A vzdump task log as PVE::VZDump writes it: "YYYY-MM-DD HH:MM:SS LEVEL: text" lines."""
    def stamp(dt):
        return datetime.datetime.fromtimestamp(start + dt, tz).strftime("%Y-%m-%d %H:%M:%S")
    lines = [(0, "INFO", "Starting Backup of VM %d (%s)" % (vmid, guest_type)),
             (0, "INFO", "status = running"),
             (0, "INFO", "backup mode: snapshot"),
             (1, "INFO", "creating vzdump archive '%s'" % archive),
             (110, "INFO", "archive file size: 3.02GB")]
    if state == "failed":
        lines += [(111, "INFO", "marking backup as protected"),
                  (111, "ERROR", "Backup of VM %d failed - unable to set protected flag - the number of "
                   "protected backups per guest is limited to 5" % vmid)]
    else:
        lines += [(112, "INFO", "Finished Backup of VM %d (00:01:52)" % vmid)]
    text = "".join("%s %s: %s\n" % (stamp(dt), level, msg) for dt, level, msg in lines)
    if state == "truncated":
        text = text[:text.index("archive file size") + 12]  # the copy stopped mid-line
    return text


def touch(path, size, mtime, text=None):
    with open(path, "wb") as f:
        if text is not None:
            f.write(text.encode())
        elif size:
            f.truncate(size)  # sparse: no disk space used
    os.utime(path, (mtime, mtime))


def make(args):
    tz = datetime.timezone.utc
    if args.timezone:
        if ZoneInfo is None:
            sys.exit("fake_dump: --timezone needs Python 3.9+")
        tz = ZoneInfo(args.timezone)
    now = args.now if args.now else datetime.datetime.now(datetime.timezone.utc).timestamp()
    os.makedirs(args.out, exist_ok=True)
    stale = set(parse_ids(args.stale_vmids))
    lxc = set(parse_ids(args.lxc_vmids))
    log_state = {}
    for state in ("failed", "truncated", "missing"):
        for vmid in parse_ids(getattr(args, state + "_log_vmids")):
            log_state[vmid] = state
    files = 0
    for i in range(args.guests):
        vmid = args.first_vmid + i
        guest_type = "lxc" if vmid in lxc else "qemu"
        newest = now - (args.stale_days * 86400 if vmid in stale else args.fresh_hours * 3600)
        for k in range(args.per_guest):
            start = int(newest - k * 86400)
            local = datetime.datetime.fromtimestamp(start, tz)
            name = archive_name(guest_type, vmid, local)
            end = start + 120  # the archive is finished two minutes after its start
            touch(os.path.join(args.out, name), args.size, end)
            stem = name.rsplit(".", 2)[0] if name.endswith(".zst") else name
            state = log_state.get(vmid, "finished") if k == 0 else "finished"
            if state != "missing":
                touch(os.path.join(args.out, stem + ".log"), 0, end,
                      log_text(guest_type, vmid, start, os.path.join(args.out, name), state, tz))
                files += 1
            touch(os.path.join(args.out, name + ".notes"), 0, end)
            files += 2
    for p in range(args.partial):
        start = int(now - (p + 2) * 86400)
        local = datetime.datetime.fromtimestamp(start, tz)
        vmid = args.first_vmid + p % max(args.guests, 1)
        touch(os.path.join(args.out, archive_name("qemu", vmid, local) + ".dat"), 0, start)
        files += 1
    return files


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="dump folder to create or fill")
    ap.add_argument("--guests", type=int, default=6)
    ap.add_argument("--first-vmid", type=int, default=100)
    ap.add_argument("--per-guest", type=int, default=3, help="archives per guest, one a day")
    ap.add_argument("--lxc-vmids", default="105", help="comma-separated vmids that are containers")
    ap.add_argument("--stale-vmids", default="100,105")
    ap.add_argument("--stale-days", type=float, default=4)
    ap.add_argument("--fresh-hours", type=float, default=6, help="age of the newest archive of other guests")
    ap.add_argument("--timezone", default="", help="IANA zone of the names (the PVE node's); default UTC")
    ap.add_argument("--size", type=int, default=0, help="sparse size of each archive in bytes")
    ap.add_argument("--partial", type=int, default=0, help="leftover *.dat files older than a day")
    ap.add_argument("--failed-log-vmids", default="", help="newest archive's log reports an ERROR:")
    ap.add_argument("--truncated-log-vmids", default="", help="newest archive's log is cut off")
    ap.add_argument("--missing-log-vmids", default="", help="newest archive has no log")
    ap.add_argument("--now", type=float, default=0, help="Unix time to build around (default: now)")
    args = ap.parse_args(argv)
    n = make(args)
    print("fake_dump: %d files in %s" % (n, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
