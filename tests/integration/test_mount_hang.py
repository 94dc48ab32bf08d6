"""A backup mount that hangs like a dead NFS server (FUSE, tests/fuse/hangfs.c): scrapes stay fast, threads stay bounded."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from harness import BUILD, Exporter, promtool_check, samples, value, wait_for

HANGFS = os.path.join(BUILD, "tests", "hangfs")
FUSECTL = "/sys/fs/fuse/connections"
SCRAPE_TIMEOUT = 3.0
MOUNT_TIMEOUT = 1.0
QUERY = "?collect[]=mount"


def mountinfo_entry(path):
    """(major:minor, fstype) of the mount at path, or None (read from mountinfo: never touches the mount)."""
    found = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if len(fields) > 4 and fields[4] == path and " - " in line:
                found = (fields[2], line.split(" - ", 1)[1].split()[0])
    return found


def ensure_fusectl():
    if not os.path.isdir(FUSECTL):
        return
    with open("/proc/self/mountinfo") as f:
        if any(line.split()[4] == FUSECTL for line in f if len(line.split()) > 4):
            return
    subprocess.run(["mount", "-t", "fusectl", "none", FUSECTL], capture_output=True)


class HangFS:
    """hangfs serving src at mnt; hang() / release() switch it; close() unmounts even while hung."""

    def __init__(self, src, mnt):
        self.mnt = mnt
        self.log = open(os.path.join(os.path.dirname(mnt), "hangfs.log"), "w+")
        self.proc = subprocess.Popen([HANGFS, "--source=" + src, mnt], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self.entry = wait_for(self._mounted, 10, what="hangfs mounted")

    def _mounted(self):
        if self.proc.poll() is not None:
            self.log.seek(0)
            raise AssertionError("hangfs exited %s: %s" % (self.proc.returncode, self.log.read()))
        return mountinfo_entry(self.mnt)

    def hang(self):
        self.proc.send_signal(signal.SIGUSR1)
        wait_for(lambda: "hangfs: hung" in self._log(), 5, what="hangfs hung")

    def release(self):
        self.proc.send_signal(signal.SIGUSR2)

    def _log(self):
        self.log.seek(0)
        return self.log.read()

    def close(self):
        """Releases and aborts every pending request, then detaches the mount: never blocks."""
        if self.proc.poll() is None:
            self.release()
        entry = mountinfo_entry(self.mnt)
        if entry:
            minor = entry[0].split(":")[1]
            abort = os.path.join(FUSECTL, minor, "abort")
            if os.path.exists(abort):
                with open(abort, "w") as f:
                    f.write("1")
            subprocess.run(["umount", "-l", self.mnt], capture_output=True, timeout=10)
            subprocess.run(["fusermount3", "-uz", self.mnt], capture_output=True, timeout=10)
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


class MountHangTest(unittest.TestCase):
    def setUp(self):
        # Fail loudly, never skip: this is the test for SPEC §7's hung-NFS promise.
        self.assertTrue(os.path.exists("/dev/fuse"), "/dev/fuse is missing: FUSE is unavailable here")
        self.assertTrue(os.access(HANGFS, os.X_OK), "%s is missing: run `make %s`" % (HANGFS, HANGFS))
        ensure_fusectl()
        self.dir = tempfile.mkdtemp(prefix="pe-hang-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        src = os.path.join(self.dir, "src")
        os.makedirs(os.path.join(src, "dump"))
        for name, size in (("vzdump-qemu-100-2024_01_15-12_00_00.vma.zst", 4096),
                           ("vzdump-lxc-105-2024_01_16-12_00_00.tar.zst", 2048)):
            with open(os.path.join(src, "dump", name), "wb") as f:
                f.truncate(size)
        # the task log vzdump copies beside the archive: read by the probe worker, never by a scrape
        with open(os.path.join(src, "dump", "vzdump-qemu-100-2024_01_15-12_00_00.log"), "w") as f:
            f.write("2024-01-15 12:00:00 INFO: Starting Backup of VM 100 (qemu)\n"
                    "2024-01-15 12:01:30 INFO: Finished Backup of VM 100 (00:01:30)\n")
        self.mnt = os.path.join(self.dir, "mnt")
        os.mkdir(self.mnt)
        self.fs = HangFS(src, self.mnt)
        config = ("global:\n  scrape_timeout: %gs\n  cache_ttl: 0s\n"
                  "mounts:\n  - name: hang\n    path: %s\n    fstype: fuse.hangfs\n"
                  "    timeout: %gs\n    write_probe: true\n    dump_dir: dump\n    timezone: UTC\n"
                  % (SCRAPE_TIMEOUT, self.mnt, MOUNT_TIMEOUT))
        try:
            self.exp = Exporter(config)
        except BaseException:
            self.fs.close()
            raise
        # Cleanups run last-in first-out: the mount is released (and aborted) first, since a
        # process with a thread blocked in the hung file system cannot exit before that.
        self.addCleanup(self.exp.close)
        self.addCleanup(self.fs.close)

    def scrape(self):
        t0 = time.monotonic()
        text = self.exp.metrics(QUERY, timeout=SCRAPE_TIMEOUT + 10)
        took = time.monotonic() - t0
        # The deadline is the feature under test: a generous bound, not a benchmark.
        self.assertLess(took, SCRAPE_TIMEOUT + 1.0, "scrape took %.2fs with a hung mount" % took)
        return text

    def test_hung_mount(self):
        text = self.scrape()
        promtool_check(text)
        self.assertEqual(value(text, "persistence_mount_present", source="hang"), 1)
        self.assertEqual(value(text, "persistence_mount_responsive", source="hang"), 1)
        # the exporter's own words name the failing step and errno if the probe ever fails here
        self.assertEqual(value(text, "persistence_mount_writable", source="hang"), 1,
                         [l for l in self.exp.log_text().splitlines() if "not writable" in l])
        self.assertEqual(value(text, "persistence_mount_archive_last_timestamp_seconds", source="hang",
                               vmid="100", guest_type="qemu"), 1705320000)
        self.assertEqual(value(text, "persistence_mount_info", source="hang", fstype="fuse.hangfs"), 1)
        self.assertEqual(value(text, "persistence_mount_archive_last_log_ok", source="hang", vmid="100"), 1)
        self.assertEqual(samples(text, "persistence_mount_archive_last_log_ok", source="hang", vmid="105"), [])

        self.fs.hang()
        counts = []
        for i in range(20):
            text = self.scrape()
            self.assertEqual(value(text, "persistence_mount_responsive", source="hang"), 0, "scrape %d" % i)
            self.assertEqual(value(text, "persistence_mount_present", source="hang"), 1)
            self.assertEqual(value(text, "persistence_source_up", source="hang", kind="mount"), 0)
            for name in ("persistence_mount_size_bytes", "persistence_mount_avail_bytes",
                         "persistence_mount_writable", "persistence_mount_archives",
                         "persistence_mount_archive_last_timestamp_seconds",
                         "persistence_mount_archive_last_log_ok"):
                self.assertEqual(samples(text, name, source="hang"), [], "%s while hung" % name)
            time.sleep(0.05)  # let the scrape's own task threads finish before counting
            counts.append(self.exp.threads())
        # One probe in flight for the mount, whatever the number of scrapes.
        self.assertLessEqual(max(counts[1:]), counts[0], "threads grew while hung: %s" % counts)
        self.assertRegex(self.exp.log_text(), r'source=hang err="probe not done')

        self.fs.release()
        wait_for(lambda: value(self.scrape(), "persistence_mount_responsive", source="hang") == 1,
                 15, step=0.2, what="mount responsive again")
        text = self.scrape()
        self.assertEqual(value(text, "persistence_source_up", source="hang", kind="mount"), 1)
        self.assertEqual(len(samples(text, "persistence_mount_size_bytes", source="hang")), 1)

    def test_hung_log_read(self):
        """A server that lists and stats but stalls reading the vzdump log: the scrape never waits for it."""
        text = self.scrape()
        self.assertEqual(value(text, "persistence_mount_archive_last_log_ok", source="hang", vmid="100"), 1)
        self.fs.proc.send_signal(signal.SIGHUP)  # hangfs: only reads of *.log files block
        wait_for(lambda: "hangfs: hung (log reads)" in self.fs._log(), 5, what="hangfs hung on log reads")
        counts = []
        for i in range(10):
            text = self.scrape()
            self.assertEqual(value(text, "persistence_mount_responsive", source="hang"), 0, "scrape %d" % i)
            self.assertEqual(samples(text, "persistence_mount_archive_last_log_ok", source="hang"), [])
            time.sleep(0.05)
            counts.append(self.exp.threads())
        self.assertLessEqual(max(counts[1:]), counts[0], "threads grew while a log read hung: %s" % counts)
        self.fs.release()
        wait_for(lambda: samples(self.scrape(), "persistence_mount_archive_last_log_ok", source="hang",
                                 vmid="100") == [1.0], 15, step=0.2, what="log verdict back")

    def test_unmounted_path_is_down(self):
        """A path that is not a mount point: present 0, the source down, the path itself never touched."""
        self.exp.write_config(open(self.exp.config_path).read().replace(self.mnt, self.dir + "/nothing"))
        self.exp.signal(signal.SIGHUP)
        wait_for(lambda: re.search(r"reload", self.exp.log_text()), 10, what="reload logged")
        text = wait_for(lambda: (lambda t: t if samples(t, "persistence_mount_present", source="hang") == [0.0]
                                 else None)(self.scrape()), 10, step=0.2, what="present 0")
        self.assertEqual(value(text, "persistence_source_up", source="hang", kind="mount"), 0)
        self.assertEqual(samples(text, "persistence_mount_responsive", source="hang"), [])


if __name__ == "__main__":
    unittest.main()
