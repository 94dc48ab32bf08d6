"""Headless-Chromium screenshots of the status page, for the README and the integration test.

`python3 deploy/demo/screenshot.py [--out docs/img]` starts the seed incident demo (simulator and
exporter only), then writes status-page.png (1200x1600) and status-page-phone.png (412x900).
The helpers below (chromium, screenshot, dump_dom, png_info, png_rows) are what
tests/integration/test_inventory.py uses too. Debian's `chromium` package provides the browser.
"""
import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))

# Quiet, offline, repeatable: no first-run UI, no background fetches, no GPU, no sandbox (root).
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--force-device-scale-factor=1"]
DESKTOP = (1200, 1600)
PHONE = (412, 900)


def chromium():
    """Path of the chromium binary; raises with the fix when it is not installed."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise RuntimeError("chromium is not installed: run `make deps` (Debian package chromium)")
    return path


def _run(extra, url, timeout):
    profile = tempfile.mkdtemp(prefix="pe-chromium-")
    try:
        args = [chromium()] + FLAGS + ["--user-data-dir=" + profile] + extra + [url]
        p = subprocess.run(args, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if p.returncode != 0:
            raise RuntimeError("chromium exited %d: %s" % (p.returncode, p.stderr.decode(errors="replace")[-2000:]))
        return p
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def screenshot(url, png, size=DESKTOP, timeout=120):
    """Writes a PNG of url as a window of size (width, height)."""
    if os.path.exists(png):
        os.unlink(png)
    _run(["--window-size=%d,%d" % size, "--screenshot=" + png], url, timeout)
    if not os.path.exists(png):
        raise RuntimeError("chromium wrote no screenshot to " + png)
    return png


def dump_dom(url, timeout=120):
    """The DOM chromium built from url, serialized."""
    return _run(["--dump-dom"], url, timeout).stdout.decode("utf-8", "replace")


def png_info(path):
    """(width, height, bit depth, colour type) from the PNG signature and IHDR chunk."""
    with open(path, "rb") as f:
        head = f.read(33)
    if len(head) < 33 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise ValueError("%s is not a PNG" % path)
    width, height, depth, ctype = struct.unpack(">IIBB", head[16:26])
    return width, height, depth, ctype


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def _unfilter(kind, row, prev, bpp):
    if kind == 0:
        return row
    out = bytearray(row)
    for i in range(len(out)):
        a = out[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        pred = a if kind == 1 else b if kind == 2 else (a + b) // 2 if kind == 3 else _paeth(a, b, c)
        out[i] = (out[i] + pred) & 0xFF
    return out


def png_rows(path, nrows):
    """The first nrows rows of an 8-bit RGB/RGBA, non-interlaced PNG as lists of (r, g, b)."""
    width, height, depth, ctype = png_info(path)
    if depth != 8 or ctype not in (2, 6):
        raise ValueError("only 8-bit RGB/RGBA is decoded here (depth %d, type %d)" % (depth, ctype))
    bpp = 3 if ctype == 2 else 4
    with open(path, "rb") as f:
        data = f.read()
    pos, idat = 8, []
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            idat.append(data[pos + 8:pos + 8 + length])
        pos += 12 + length
    raw = zlib.decompressobj().decompress(b"".join(idat), (width * bpp + 1) * min(nrows, height))
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(min(nrows, height)):
        line = raw[y * (stride + 1):(y + 1) * (stride + 1)]
        prev = _unfilter(line[0], line[1:], prev, bpp)
        rows.append([tuple(prev[x:x + 3]) for x in range(0, stride, bpp)])
    return rows


def main():
    sys.path.insert(0, HERE)
    import run  # noqa: E402  (the demo's own start-up)
    import scenario  # noqa: E402
    import stack  # noqa: E402

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "img"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    # a fixed, readable folder: the restore-doc path of home-lxc-105 shows in the picture
    workdir = os.path.join(tempfile.gettempdir(), "persistence-demo")
    shutil.rmtree(workdir, ignore_errors=True)
    st = stack.Stack(workdir)
    try:
        st.start_sim("seed")
        config, flags = scenario.build(os.path.join(st.dir, "demo"), st.sim_url, st.docker_socket, "seed")
        st.start_exporter(os.path.join(run.BUILD, "persistence_exporter"), config, flags)
        for name, size in (("status-page.png", DESKTOP), ("status-page-phone.png", PHONE)):
            path = screenshot(st.exporter_url + "/", os.path.join(args.out, name), size)
            print("wrote %s (%dx%d)" % (path, *png_info(path)[:2]))
    finally:
        st.stop()


if __name__ == "__main__":
    main()
