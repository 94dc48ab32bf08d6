#!/usr/bin/env python3
"""Creates a vzdump dump folder (sparse archives, .log/.notes side files, matching mtimes) for the demo and the bench.

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


def touch(path, size, mtime):
    with open(path, "wb") as f:
        if size:
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
            touch(os.path.join(args.out, stem + ".log"), 0, end)
            touch(os.path.join(args.out, name + ".notes"), 0, end)
            files += 3
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
    ap.add_argument("--now", type=float, default=0, help="Unix time to build around (default: now)")
    args = ap.parse_args(argv)
    n = make(args)
    print("fake_dump: %d files in %s" % (n, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
