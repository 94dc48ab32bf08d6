#!/usr/bin/env python3
"""Writes a copy of rules/*.yml with every alert's `for:` shortened, for the full-stack test only; never touches the shipped rules."""
import argparse
import glob
import os
import re
import sys

FOR_RE = re.compile(r"^(\s*)for:\s*\S+\s*(#.*)?$")
DURATION_RE = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")


def rewrite(text, duration):
    """Returns (new_text, count): each `for: <d>` line becomes `for: <duration>`."""
    out, count = [], 0
    for line in text.splitlines(keepends=True):
        m = FOR_RE.match(line.rstrip("\n"))
        if m:
            out.append("%sfor: %s  # shortened by tests/rules/shorten_for.py\n" % (m.group(1), duration))
            count += 1
        else:
            out.append(line)
    return "".join(out), count


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_rules = os.path.normpath(os.path.join(here, "..", "..", "rules"))
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("outdir", help="directory to write the shortened copies to (created)")
    ap.add_argument("--for", dest="duration", default="0s", help="new for: duration (default 0s)")
    ap.add_argument("--rules", default=default_rules, help="directory of rule files (default: rules/)")
    args = ap.parse_args()

    if not DURATION_RE.match(args.duration):
        sys.exit("shorten_for: %r is not a Prometheus duration" % args.duration)
    src = os.path.realpath(args.rules)
    dst = os.path.realpath(args.outdir)
    if dst == src or dst.startswith(src + os.sep):
        sys.exit("shorten_for: refusing to write into %s: the shipped rules stay as they are" % src)
    files = sorted(glob.glob(os.path.join(src, "*.yml")))
    if not files:
        sys.exit("shorten_for: no rule files in %s" % src)
    os.makedirs(dst, exist_ok=True)
    total = 0
    for path in files:
        with open(path, encoding="utf-8") as f:
            text, count = rewrite(f.read(), args.duration)
        with open(os.path.join(dst, os.path.basename(path)), "w", encoding="utf-8") as f:
            f.write(text)
        total += count
        print("%s: %d for: clauses -> %s" % (os.path.basename(path), count, args.duration))
    print("shorten_for: wrote %d files to %s" % (len(files), dst))
    return 0


if __name__ == "__main__":
    sys.exit(main())
