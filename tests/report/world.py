"""Thirty days of exporter series with known gaps: the story `persistencectl report` is tested on.

Two exporters are scraped by one Prometheus (job `persistence_exporter`, scrape every 60 s at
second 17 of each minute): `pve-home.lan:9709` watches the home cluster, its NFS backup mount and
n8n; `pve-shop.lan:9709` watches the shop cluster. What happens, in UTC:

  2026-02-03 06:00-06:45  Prometheus itself is down: no sample of anything (unknown, "no data")
  2026-02-08 10:00-12:00  the NFS share synology-backups is not mounted: the mount target is
                          down, and PVE sees its storage inactive and no archive of 100 / 105
  2026-02-12 13:00-16:00  the home exporter is down: `up` is 0, nothing else (unknown)
  2026-02-15 09:00        n8n is rebuilt with a new encryption key: the API key is refused (401)
  2026-02-15 10:00        a new key: the API answers, with 1 workflow instead of 35
  2026-02-16 00:30        the nightly snapshot exports that 1 workflow
  2026-02-16 08:00        the 35 workflows are imported back from the 02-15 snapshot; the
                          newest snapshot (1) is smaller than the instance (35) until
  2026-02-17 00:30        the next nightly snapshot (35)
  2026-02-17 ->           pvescheduler on pve1 leaks memory
  2026-02-20 00:00        the seed incident: the scheduler stops starting backup-home
  2026-02-24 04:01        the scheduler is restarted and runs the missed job
  2026-02-26 01:00        the shop's nightly vzdump fails for VM 200 ("job errors"); the
                          next night's run (02-27 01:00) succeeds

Everything else is a healthy daily routine: backup-home at 00:00 (VM 100's archive at
00:04:00, LXC 105's at 00:08:20), backup-shop at 01:00, the n8n export at 00:30, a database
dump on the shop at 02:00. The shop exporter is a newer version that also publishes copies,
verification and restore-drill metrics; the home exporter does not.

`series()` yields every scraped series as (name, labels, [(timestamp, value), ...]). The
expected report (gaps, causes, shares) is written out in tests/integration/test_report.py;
this file only says what happened.
"""
import bisect
import calendar
import math
import time
from array import array


def ts(text):
    """Unix seconds of 'YYYY-MM-DD HH:MM[:SS]' in UTC."""
    fmt = "%Y-%m-%d %H:%M:%S" if text.count(":") == 2 else "%Y-%m-%d %H:%M"
    return calendar.timegm(time.strptime(text, fmt))


DAY = 86400
REPORT_START = ts("2026-01-30 00:00")
REPORT_END = ts("2026-03-01 00:00")
DATA_START = REPORT_START - 2 * DAY  # history for the rules' [1d] and [6h] windows at the start
DATA_END = REPORT_END
SCRAPE_INTERVAL = 60
SCRAPE_OFFSET = 17  # scrapes at second 17: never on a 5-minute window boundary
JOB = "persistence_exporter"
HOME = "pve-home.lan:9709"
SHOP = "pve-shop.lan:9709"

PROMETHEUS_DOWN = (ts("2026-02-03 06:00"), ts("2026-02-03 06:45"))
MOUNT_OUTAGE = (ts("2026-02-08 10:00"), ts("2026-02-08 12:00"))
HOME_EXPORTER_DOWN = (ts("2026-02-12 13:00"), ts("2026-02-12 16:00"))
N8N_REBUILT = ts("2026-02-15 09:00")
N8N_NEW_KEY = ts("2026-02-15 10:00")
N8N_IMPORTED = ts("2026-02-16 08:00")
LEAK_START = ts("2026-02-17 00:00")
STALL_FIRST_MISSED = ts("2026-02-20 00:00")
SCHEDULER_RESTART = ts("2026-02-24 04:00")
RECOVERY_RUN = ts("2026-02-24 04:01")
SHOP_FAILED_RUN = ts("2026-02-26 01:00")

MIB = 1024 * 1024


def within(t, span):
    return span[0] <= t < span[1]


def scrape_times():
    t = DATA_START + SCRAPE_OFFSET
    while t < DATA_END:
        yield t
        t += SCRAPE_INTERVAL


def last_scrape_before(x):
    """The last scrape time strictly before x."""
    k = -((DATA_START + SCRAPE_OFFSET - x) // SCRAPE_INTERVAL) - 1
    return DATA_START + SCRAPE_OFFSET + k * SCRAPE_INTERVAL


def prometheus_up(t):
    """False while Prometheus itself is down: it scrapes nothing and evaluates no rule."""
    return not within(t, PROMETHEUS_DOWN)


def newest(times, t):
    """The newest entry of the sorted list times that is <= t, or None."""
    i = bisect.bisect_right(times, t)
    return times[i - 1] if i else None


def daily(first, hhmm_seconds, skip=lambda day: False, extra=()):
    """Sorted times: one per day at the given offset after midnight, from first's day on."""
    out = []
    day = first - first % DAY
    while day < DATA_END + DAY:
        if not skip(day):
            out.append(day + hhmm_seconds)
        day += DAY
    return sorted(out + list(extra))


class Home:
    """pve-home.lan:9709: PVE cluster home (pve1, pve2), the NFS mount, n8n 'app'."""

    instance = HOME
    # backup-home starts at 00:00:05 each day, except while the scheduler is stalled; the
    # restarted scheduler runs the missed job at 04:01 (repeat-missed).
    runs = daily(DATA_START - DAY, 5, skip=lambda d: STALL_FIRST_MISSED <= d < SCHEDULER_RESTART,
                 extra=(RECOVERY_RUN,))
    vm100 = [r + 235 for r in runs]  # archive ctime, 00:04:00
    lxc105 = [r + 495 for r in runs]  # 00:08:20
    snapshots = daily(DATA_START - DAY, 1800)  # n8n export at 00:30

    def up(self, t):
        return not within(t, HOME_EXPORTER_DOWN)

    def mounted(self, t):
        return not within(t, MOUNT_OUTAGE)

    def last_backup(self, vmid, t):
        """Newest archive PVE can see: none while the NFS storage is offline."""
        if not self.mounted(t):
            return None
        return newest(self.vm100 if vmid == 100 else self.lxc105, t)

    def next_due(self, t):
        last = newest(self.runs, t)
        return last - last % DAY + DAY

    def scheduler_rss(self, t):
        if LEAK_START <= t < SCHEDULER_RESTART:
            return 160 * MIB + (t - LEAK_START) / (SCHEDULER_RESTART - LEAK_START) * 17.9e9
        return 160 * MIB

    def n8n_api_up(self, t):
        return not (N8N_REBUILT <= t < N8N_NEW_KEY)

    def n8n_live(self, t):
        """Workflows the API lists (active, inactive); None while the key is refused."""
        if not self.n8n_api_up(t):
            return None
        if N8N_NEW_KEY <= t < N8N_IMPORTED:
            return (1, 0)
        return (30, 5)

    def snapshot(self, t):
        """(time, workflow count) of the newest export: it holds what the instance held."""
        last = newest(self.snapshots, t)
        live = self.n8n_live(last) or (30, 5)
        return last, sum(live)

    def targets(self, t):
        """(name, site, kind, source, severity, max_age, last_backup, ok, restore_documented, remembered).

        While a source does not answer, the exporter publishes the last backup time it read
        (remembered 1) and the target is not OK (docs/metrics.md, "Remembered while the source
        is down"). PVE itself answers during the mount outage, without the archives."""
        out = []
        pve_up = True
        for name, vmid in (("home-vm-100", 100), ("home-lxc-105", 105)):
            last = self.last_backup(vmid, t)
            ok = pve_up and last is not None and t - last < 26 * 3600
            out.append((name, "home", "pve", "home", "critical", 26 * 3600, last, ok, 1, 0))
        mounted = self.mounted(t)
        last = newest(self.lxc105, t if mounted else MOUNT_OUTAGE[0] - 1)
        ok = mounted and last is not None and t - last < 26 * 3600
        out.append(("nas-lxc-105", "home", "mount", "synology-backups", "warning", 26 * 3600, last, ok, 0,
                    int(not mounted)))
        snap_time, snap_count = self.snapshot(t)
        live = self.n8n_live(t)
        ok = live is not None and t - snap_time < 26 * 3600 and snap_count >= sum(live)
        out.append(("app-n8n-workflows", "home", "n8n", "app", "critical", 26 * 3600, snap_time, ok, 1,
                    int(live is None)))
        return out

    def sample(self, t):
        """Every series this exporter publishes at scrape time t: {(name, labels tuple): value}."""
        s = {}

        def put(name, value, **labels):
            if value is not None:
                s[(name, tuple(sorted(labels.items())))] = float(value)

        for kind, source, down in (("pve", "home", None), ("pve_local", "home", None),
                                   ("mount", "synology-backups", MOUNT_OUTAGE),
                                   ("n8n", "app", (N8N_REBUILT, N8N_NEW_KEY))):
            up = not (down and within(t, down))
            put("persistence_source_up", int(up), source=source, kind=kind)
            put("persistence_source_last_success_timestamp_seconds", t if up else last_scrape_before(down[0]),
                source=source, kind=kind)
        for collector in ("pve", "pve_local", "mount", "n8n", "inventory"):
            put("persistence_scrape_collector_success", 1, collector=collector)
        put("persistence_config_last_reload_successful", 1)
        # PVE
        run = newest(self.runs, t)
        for node, vmid in (("pve1", 100), ("pve2", 105)):
            put("persistence_pve_guest_last_backup_timestamp_seconds", self.last_backup(vmid, t),
                source="home", vmid=str(vmid))
            put("persistence_pve_backup_job_last_run_timestamp_seconds", run, source="home",
                backup_job="backup-home", node=node)
            put("persistence_pve_backup_job_next_due_timestamp_seconds", self.next_due(t), source="home",
                backup_job="backup-home", node=node)
            put("persistence_pve_scheduler_up", 1, source="home", node=node)
            put("persistence_pve_node_up", 1, source="home", node=node)
            put("persistence_pve_vzdump_last_task_success", 1, source="home", node=node)
            put("persistence_pve_storage_up", int(self.mounted(t)), source="home", node=node,
                storage="synology-backups")
        put("persistence_pve_backup_job_enabled", 1, source="home", backup_job="backup-home")
        put("persistence_pve_backup_jobs", 1, source="home")
        for node in ("pve1", "pve2"):
            put("persistence_pve_backup_job_guests", 1, source="home", backup_job="backup-home", node=node)
        put("persistence_pve_scheduler_process_up", 1, source="home", node="pve1")
        put("persistence_pve_scheduler_resident_memory_bytes", round(self.scheduler_rss(t)), source="home",
            node="pve1")
        # the NFS mount: only presence is known while it is not mounted
        put("persistence_mount_present", int(self.mounted(t)), source="synology-backups")
        if self.mounted(t):
            put("persistence_mount_responsive", 1, source="synology-backups")
            put("persistence_mount_writable", 1, source="synology-backups")
            put("persistence_mount_archive_last_timestamp_seconds", newest(self.lxc105, t),
                source="synology-backups", vmid="105")
        # n8n
        live = self.n8n_live(t)
        if live is not None:
            put("persistence_n8n_workflows", live[0], source="app", state="active")
            put("persistence_n8n_workflows", live[1], source="app", state="inactive")
            put("persistence_n8n_workflows", 0, source="app", state="archived")
        snap_time, snap_count = self.snapshot(t)
        put("persistence_n8n_snapshot_last_timestamp_seconds", snap_time, source="app")
        put("persistence_n8n_snapshot_workflows", snap_count, source="app")
        add_targets(put, self.targets(t))
        return s


class Shop:
    """pve-shop.lan:9709: PVE cluster shop (node shop1), a newer exporter with restorability metrics."""

    instance = SHOP
    runs = daily(DATA_START - DAY, 3600)  # backup-shop at 01:00
    vm200 = [r + 120 for r in runs if r != SHOP_FAILED_RUN]  # no archive of 200 from the failed run
    ct201 = [r + 150 for r in runs]
    dumps = daily(DATA_START - DAY, 7200 + 60)  # the database dump at 02:01

    def up(self, t):
        return True

    def task_ok(self, t):
        """The newest finished vzdump task (ends 3 minutes after the start) succeeded."""
        ended = newest([r + 180 for r in self.runs], t)
        return ended != SHOP_FAILED_RUN + 180

    def targets(self, t):
        out = []
        for name, sev, times, doc in (("shop-vm-200", "critical", self.vm200, 1),
                                      ("shop-ct-201", "warning", self.ct201, 0)):
            last = newest(times, t)
            out.append((name, "shop", "pve", "shop", sev, 26 * 3600, last, t - last < 26 * 3600, doc, 0))
        last = newest(self.dumps, t)
        out.append(("shop-db-dump", "shop", "file", "", "info", 26 * 3600, last, t - last < 26 * 3600, 1, 0))
        return out

    def sample(self, t):
        s = {}

        def put(name, value, **labels):
            if value is not None:
                s[(name, tuple(sorted(labels.items())))] = float(value)

        put("persistence_source_up", 1, source="shop", kind="pve")
        put("persistence_source_last_success_timestamp_seconds", t, source="shop", kind="pve")
        for collector in ("pve", "inventory"):
            put("persistence_scrape_collector_success", 1, collector=collector)
        put("persistence_config_last_reload_successful", 1)
        for vmid, times in (("200", self.vm200), ("201", self.ct201)):
            put("persistence_pve_guest_last_backup_timestamp_seconds", newest(times, t), source="shop", vmid=vmid)
        run = newest(self.runs, t)
        put("persistence_pve_backup_job_last_run_timestamp_seconds", run, source="shop",
            backup_job="backup-shop", node="shop1")
        put("persistence_pve_backup_job_next_due_timestamp_seconds", run - run % DAY + DAY + 3600, source="shop",
            backup_job="backup-shop", node="shop1")
        put("persistence_pve_backup_job_enabled", 1, source="shop", backup_job="backup-shop")
        put("persistence_pve_backup_jobs", 1, source="shop")
        put("persistence_pve_backup_job_guests", 2, source="shop", backup_job="backup-shop", node="shop1")
        put("persistence_pve_scheduler_up", 1, source="shop", node="shop1")
        put("persistence_pve_node_up", 1, source="shop", node="shop1")
        put("persistence_pve_vzdump_last_task_success", int(self.task_ok(t)), source="shop", node="shop1")
        put("persistence_pve_vzdump_last_task_end_timestamp_seconds", newest([r + 180 for r in self.runs], t),
            source="shop", node="shop1")
        failed = SHOP_FAILED_RUN + 180
        put("persistence_pve_vzdump_last_failure_timestamp_seconds", failed if t >= failed else None,
            source="shop", node="shop1")
        put("persistence_pve_storage_up", 1, source="shop", node="shop1", storage="pbs-shop")
        targets = self.targets(t)
        add_targets(put, targets)
        # restorability (issue 17) and restore drills (issue 19): the shop exporter has them
        for name, *_rest in targets:
            last = _rest[5]
            put("persistence_target_copies", 2 if name == "shop-vm-200" else 1, target=name)
            put("persistence_target_offsite_copies", 1 if name == "shop-vm-200" else 0, target=name)
            put("persistence_target_last_verified_timestamp_seconds", last + 3600 if t >= last + 3600 else None,
                target=name)
        put("persistence_target_restore_test_last_success_timestamp_seconds", ts("2026-02-20 10:00"),
            target="shop-vm-200")
        put("persistence_target_restore_test_last_result", 1, target="shop-vm-200")
        put("persistence_target_restore_test_duration_seconds", 840, target="shop-vm-200")
        put("persistence_target_restore_test_last_success_timestamp_seconds", ts("2026-01-15 10:00"),
            target="shop-ct-201")
        put("persistence_target_restore_test_last_result", 0 if t >= ts("2026-02-22 10:00") else 1,
            target="shop-ct-201")
        put("persistence_target_restore_test_duration_seconds", 1260, target="shop-ct-201")
        return s


def add_targets(put, targets):
    for name, site, kind, source, severity, max_age, last, ok, documented, remembered in targets:
        put("persistence_target_info", 1, target=name, site=site, kind=kind, source=source, severity=severity)
        put("persistence_target_max_age_seconds", max_age, target=name)
        put("persistence_target_last_backup_timestamp_seconds", last, target=name)
        if last is not None:
            put("persistence_target_last_backup_remembered", remembered, target=name)
        put("persistence_target_ok", int(bool(ok)), target=name)
        put("persistence_target_restore_documented", documented, target=name)


EXPORTERS = (Home(), Shop())


def series():
    """Every series Prometheus would have stored: ({(name, labels tuple): values}, times), where
    values[i] is the sample at times[i] (NaN: none)."""
    times = list(scrape_times())
    out = {}

    def store(key, i, v):
        a = out.get(key)
        if a is None:
            a = out[key] = array("d", [math.nan]) * len(times)
        a[i] = v

    for i, t in enumerate(times):
        if not prometheus_up(t):
            continue
        for exp in EXPORTERS:
            base = (("instance", exp.instance), ("job", JOB))
            up = exp.up(t)
            store(("up", base), i, 1.0 if up else 0.0)
            if not up:
                continue
            for (name, labels), v in exp.sample(t).items():
                store((name, tuple(sorted(labels + base))), i, v)
    return out, times
