"""persistencectl report against a real Prometheus holding thirty days of history.

The data (tests/report/world.py) is two exporters scraped every minute for 30 days with known
gaps: Prometheus down 45 minutes, a 2-hour NFS mount outage, a 3-hour exporter outage, an n8n
rebuild (401, then 35 -> 1 workflows, then a snapshot smaller than the instance), the seed's
four-day scheduler stall, and a failed vzdump on the shop. tests/report/backfill.py backfills it
with `promtool tsdb create-blocks-from openmetrics` and starts Debian's Prometheus on it.

Why the ALERTS series are derived, not written by hand: the report names the most likely cause
of each gap from the alerts that fired in it, so the test is only as good as those alerts. They
are computed by evaluating the bundled rules (rules/*.yml) over the thirty days with a real
Prometheus' PromQL engine, and running each alerting rule's answers through Prometheus' pending /
firing state machine (`for:`, `keep_firing_for:`). So every alert here has the bundled name,
labels and timing, and when the rules change (renamed alerts, new gap tolerance) the data
changes with them and this test says whether the report still names the right causes.

Each expected gap below is derived by hand from world.py, to the 5-minute step: the scrapes are
at second 17 of each minute, so a state change at hh:mm:ss shows in the window that holds the
first scrape that saw it.
"""
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest
import urllib.parse
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "report"))
sys.path.insert(0, os.path.join(ROOT, "deploy", "demo"))
import backfill  # noqa: E402
import screenshot  # noqa: E402
import vm  # noqa: E402
import world  # noqa: E402
from harness import CTL, check_sanitizer_report  # noqa: E402

T = world.ts
DAY = 86400
RANGE = 30 * DAY
END = "2026-03-01T00:00:00Z"
NODATA_PROM = ("no data: nothing recorded, Prometheus down or not scraping", None, "nothing_recorded")
NODATA_EXPORTER = ("no data: exporter not answering scrapes", "PersistenceExporterDown", "scrape_failed")
PROM_DOWN = (T("2026-02-03 06:00"), T("2026-02-03 06:45")) + NODATA_PROM
HOME_DOWN = (T("2026-02-12 13:00"), T("2026-02-12 16:00")) + NODATA_EXPORTER

def n8n_rebuild_cause():
    """The n8n API refusing the key: the bundled rules' most specific alert for it."""
    import glob
    text = "".join(open(f).read() for f in glob.glob(os.path.join(ROOT, "rules", "*.yml")))
    if "alert: N8nInstanceUnreachable" in text:
        return ("n8n API unreachable or key refused", "N8nInstanceUnreachable")
    return ("source down", "PersistenceSourceDown")


# target -> gaps (start, end, cause text, alertname of the cause, no_data), days fully OK
EXPECTED = {
    "home-vm-100": ([
        PROM_DOWN,
        (T("2026-02-08 10:00"), T("2026-02-08 12:00"), "backup storage down", "PVEBackupStorageDown", None),
        HOME_DOWN,
        # the seed: the 02-19 archive (00:04) is 26 h old at 02-20 02:04; the restarted scheduler's
        # archive of 02-24 04:05 is seen by the 04:05:17 scrape
        (T("2026-02-20 02:00"), T("2026-02-24 04:05"), "backup job overdue", "PVEBackupJobOverdue", None),
    ], 22),
    "home-lxc-105": ([
        PROM_DOWN,
        (T("2026-02-08 10:00"), T("2026-02-08 12:00"), "backup storage down", "PVEBackupStorageDown", None),
        HOME_DOWN,
        (T("2026-02-20 02:05"), T("2026-02-24 04:10"), "backup job overdue", "PVEBackupJobOverdue", None),
    ], 22),
    "nas-lxc-105": ([
        PROM_DOWN,
        (T("2026-02-08 10:00"), T("2026-02-08 12:00"), "backup mount missing", "BackupMountMissing", None),
        HOME_DOWN,
        # the same stall seen on the NAS: no alert ties the mount to the PVE job, so the
        # target's own alert is all the report can name
        (T("2026-02-20 02:05"), T("2026-02-24 04:10"), "backup too old or source down", "BackupTargetStale",
         None),
    ], 22),
    "app-n8n-workflows": ([
        PROM_DOWN,
        HOME_DOWN,
        # the rebuild: the API key is refused for an hour
        (T("2026-02-15 09:00"), T("2026-02-15 10:00")) + n8n_rebuild_cause() + (None,),
        # the drop's aftermath: a 1-workflow snapshot while the instance holds 35 again; the drop
        # alert stopped as the import began, one step before the gap
        (T("2026-02-16 08:00"), T("2026-02-17 00:30"), "n8n workflow count dropped", "N8nWorkflowCountDropped",
         None),
    ], 25),
    "shop-vm-200": ([
        PROM_DOWN,
        (T("2026-02-26 03:00"), T("2026-02-27 01:05"), "backup task failed", "PVEVzdumpTaskFailed", None),
    ], 27),
    "shop-ct-201": ([PROM_DOWN], 29),
    "shop-db-dump": ([PROM_DOWN], 29),
}


SITES = {"home-vm-100": "home", "home-lxc-105": "home", "nas-lxc-105": "home", "app-n8n-workflows": "home",
         "shop-vm-200": "shop", "shop-ct-201": "shop", "shop-db-dump": "shop"}


def seconds(gaps, nodata):
    return sum(g[1] - g[0] for g in gaps if (g[4] is not None) == nodata)


def fmt(t):
    import time
    return time.strftime("%Y-%m-%d %H:%MZ", time.gmtime(t))


def run_report(url, *args, env=None):
    p = subprocess.run([CTL, "report", "--prometheus.url=" + url] + list(args), capture_output=True,
                       timeout=120, env=env)
    out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
    check_sanitizer_report(err, "persistencectl report")
    return p.returncode, out, err


class ReportData(unittest.TestCase):
    """The report of the thirty days, in every format, against the real Prometheus."""

    @classmethod
    def setUpClass(cls):
        missing = [b for b in ("prometheus", "promtool") if not shutil.which(b)]
        if missing:
            raise AssertionError("the report test needs %s (apt-get install prometheus)" % ", ".join(missing))
        cls.prom = backfill.serve_copy(backfill.tsdb(log=lambda m: print(m, file=sys.stderr)))
        cls.tmp = tempfile.mkdtemp(prefix="pe-report-")
        cls.json_rc, out, cls.json_err = run_report(cls.prom.url, "--end=" + END, "--format=json")
        cls.doc = json.loads(out)
        cls.targets = {t["target"]: t for t in cls.doc["targets"]}

    @classmethod
    def tearDownClass(cls):
        cls.prom.close()
        shutil.rmtree(cls.prom.copy, ignore_errors=True)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def report(self, *args):
        return run_report(self.prom.url, "--end=" + END, *args)

    # ----- the numbers (JSON has all of them) -----
    def test_range_and_step(self):
        self.assertEqual(self.json_rc, 1, self.json_err)
        self.assertEqual(self.json_err, "")
        self.assertEqual(self.doc["start"], T("2026-01-30 00:00"))
        self.assertEqual(self.doc["end"], T("2026-03-01 00:00"))
        self.assertEqual(self.doc["step_seconds"], 300)  # 30 days stay under 11,000 points per series
        self.assertEqual(sorted(self.targets), sorted(EXPECTED))

    def test_gaps_and_causes(self):
        for name, (gaps, _) in EXPECTED.items():
            got = self.targets[name]["gaps"]
            want = [(g[0], g[1], g[2], g[3], g[4]) for g in gaps]
            have = [(g["start"], g["end"], g["cause"], (g["alert"] or {}).get("alertname"), g["no_data"])
                    for g in got]
            self.assertEqual(have, want, name)
            for g in got:
                self.assertEqual(g["seconds"], g["end"] - g["start"])
                self.assertEqual(g["degraded_seconds"] + g["unknown_seconds"], g["seconds"])

    def test_shares_unknown_and_days(self):
        for name, (gaps, days_ok) in EXPECTED.items():
            t = self.targets[name]
            unknown, degraded = seconds(gaps, True), seconds(gaps, False)
            self.assertEqual(t["unknown_seconds"], unknown, name)
            self.assertEqual(t["degraded_seconds"], degraded, name)
            self.assertEqual(t["ok_seconds"], RANGE - unknown - degraded, name)
            self.assertAlmostEqual(t["ok_ratio"], (RANGE - unknown - degraded) / RANGE, places=9)
            self.assertEqual((t["days_ok"], t["days"]), (days_ok, 30), name)
            self.assertFalse(t["met_policy"])
            longest = max(gaps, key=lambda g: (g[1] - g[0], g[0]))
            self.assertEqual(t["gaps"][t["longest_gap"]]["start"], longest[0], name)
            self.assertEqual(t["site"], SITES[name])
        # the exporter outage is unknown for the home exporter only; Prometheus' own for everyone
        self.assertEqual(self.targets["home-vm-100"]["unknown_seconds"], 45 * 60 + 3 * 3600)
        self.assertEqual(self.targets["shop-ct-201"]["unknown_seconds"], 45 * 60)

    def test_summary(self):
        s = self.doc["summary"]
        self.assertEqual((s["targets"], s["met_policy"], s["at_least_99_percent"]), (7, 0, 2))
        total_unknown = sum(seconds(g, True) for g, _ in EXPECTED.values())
        self.assertAlmostEqual(s["unknown_ratio"], total_unknown / (7 * RANGE), places=9)
        self.assertEqual(s["line"], "report: 2/7 targets >= 99 % in policy, 0/7 for the whole range; "
                                    "0.3 % of the time unknown")
        sites = {x["site"]: x for x in self.doc["sites"]}
        self.assertEqual((sites["home"]["targets"], sites["home"]["at_least_99_percent"]), (4, 0))
        self.assertEqual((sites["shop"]["targets"], sites["shop"]["at_least_99_percent"]), (3, 2))

    def test_facts_at_the_end(self):
        vm = self.targets["home-vm-100"]
        self.assertEqual(vm["newest_backup"], T("2026-02-28 00:04"))
        self.assertEqual(vm["age_seconds"], T("2026-03-01 00:00") - T("2026-02-28 00:04"))
        self.assertEqual(vm["max_age_seconds"], 26 * 3600)
        self.assertTrue(vm["restore_documented"])
        self.assertFalse(self.targets["nas-lxc-105"]["restore_documented"])
        # the home exporter has no restorability metrics: unknown, not 0
        self.assertIsNone(vm["copies"])
        self.assertIsNone(vm["restore_test"]["last_success"])
        shop = self.targets["shop-vm-200"]
        self.assertEqual((shop["copies"], shop["offsite_copies"]), (2, 1))
        self.assertEqual(shop["last_verified"], T("2026-02-28 02:02"))
        self.assertEqual(shop["restore_test"], {"last_success": T("2026-02-20 10:00"), "last_result": 1,
                                                "duration_seconds": 840})
        self.assertEqual(self.targets["shop-ct-201"]["restore_test"]["last_result"], 0)
        self.assertIsNone(self.targets["shop-db-dump"]["restore_test"]["last_result"])

    # ----- every format -----
    def test_text(self):
        rc, out, err = self.report()
        self.assertEqual((rc, err), (1, ""))
        lines = out.splitlines()
        self.assertEqual(lines[0], "Backup compliance report, 2026-01-30 00:00Z -> 2026-03-01 00:00Z "
                                   "(30d in steps of 5m)")
        self.assertEqual(lines[-1], self.doc["summary"]["line"])
        row = next(l for l in lines if l.startswith("home  home-vm-100 "))
        self.assertEqual(row.split()[2:12], ["85.5", "%", "22/30", "4", "4d", "2h", "5m", "3h", "45m", "2026-02-28"])
        self.assertIn("  2026-02-20 02:00Z -> 2026-02-24 04:05Z  4d 2h 5m   backup job overdue "
                      "(PVEBackupJobOverdue); also PVESchedulerMemoryHigh, BackupTargetStale\n", out)
        # what else fired depends on the rules (PersistenceSourceDown may count the outage too)
        self.assertTrue(any(l.startswith("  2026-02-12 13:00Z -> 2026-02-12 16:00Z  3h         no data: exporter "
                                         "not answering scrapes (PersistenceExporterDown)") for l in lines), out)
        self.assertIn("  home  0/4 targets in policy for the whole range, 0/4 >= 99 %", out)
        # columns of the restorability metrics: the shop has them
        self.assertIn("COPIES", lines[3])
        self.assertIn("RESTORE TEST", lines[3])
        self.assertIn("2 (1 offsite)", out)
        self.assertIn("failed, last ok 2026-01-15 10:00Z", out)

    def test_text_without_restorability_metrics(self):
        rc, out, _ = self.report("--site=home")
        self.assertEqual(rc, 1)
        self.assertNotIn("COPIES", out)
        self.assertNotIn("VERIFIED", out)
        self.assertNotIn("RESTORE TEST", out)
        self.assertNotIn("shop-", out)
        self.assertTrue(out.endswith("report: 0/4 targets >= 99 % in policy, 0/4 for the whole range; "
                                     "0.5 % of the time unknown\n"), out[-200:])

    def test_markdown(self):
        rc, out, _ = self.report("--format=markdown")
        self.assertEqual(rc, 1)
        self.assertTrue(out.startswith("# Backup compliance report, 2026-01-30 00:00Z → 2026-03-01 00:00Z"))
        self.assertIn("| home | home-vm-100 | 85.5 % | 22/30 | 4 | 4d 2h 5m | 3h 45m |", out)
        self.assertIn("| 2026-02-16 08:00Z | 2026-02-17 00:30Z | 16h 30m | n8n workflow count dropped "
                      "(N8nWorkflowCountDropped) | BackupTargetStale |", out)
        self.assertIn("**report: 2/7 targets ≥ 99 % in policy, 0/7 for the whole range", out)

    def test_csv(self):
        rc, out, _ = self.report("--format=csv")
        self.assertEqual(rc, 1)
        rows = {r["target"]: r for r in csv.DictReader(io.StringIO(out))}
        self.assertEqual(sorted(rows), sorted(EXPECTED))
        for name, (gaps, days_ok) in EXPECTED.items():
            r = rows[name]
            self.assertEqual(int(r["unknown_seconds"]), seconds(gaps, True), name)
            self.assertEqual(int(r["degraded_seconds"]), seconds(gaps, False), name)
            self.assertEqual((int(r["days_ok"]), int(r["days"]), int(r["gaps"])), (days_ok, 30, len(gaps)))
            self.assertEqual(r["met_policy"], "false")
        vm = rows["home-vm-100"]
        self.assertEqual((vm["longest_gap_start"], vm["longest_gap_end"]), ("2026-02-20T02:00:00Z",
                                                                           "2026-02-24T04:05:00Z"))
        self.assertEqual((vm["longest_gap_cause"], vm["longest_gap_alert"]), ("backup job overdue",
                                                                             "PVEBackupJobOverdue"))
        self.assertEqual(vm["copies"], "")  # unknown, not 0
        self.assertEqual(rows["shop-vm-200"]["copies"], "2")
        self.assertEqual(rows["shop-ct-201"]["restore_test_last_result"], "0")

    def test_html(self):
        rc, out, _ = self.report("--format=html")
        self.assertEqual(rc, 1)
        self.assertTrue(out.startswith("<!DOCTYPE html>"))
        # one self-contained file: inline CSS and SVG, nothing fetched, no script
        for outside in ("<link", "<script", "src=", "@import", "url("):
            self.assertNotIn(outside, out)
        self.assertEqual(out.count('<svg class="timeline"'), 7)
        self.assertIn("@media print", out)
        self.assertIn("@media (max-width:40rem)", out)
        path = os.path.join(self.tmp, "report.html")
        with open(path, "w") as f:
            f.write(out)
        dom = screenshot.dump_dom("file://" + path)
        self.assertIn("backup job overdue (PVEBackupJobOverdue)", dom)
        self.assertIn("report: 2/7 targets ≥ 99 % in policy", dom)

    def test_html_in_chromium(self):
        rc, out, _ = self.report("--format=html")
        path = os.path.join(self.tmp, "shot.html")
        with open(path, "w") as f:
            f.write(out)
        png = screenshot.screenshot("file://" + path, os.path.join(self.tmp, "report.png"), (1200, 1600))
        self.assertEqual(screenshot.png_info(png)[:2], (1200, 1600))
        colours = [px for row in screenshot.png_rows(png, 1600) for px in row]
        # the timelines are drawn: green OK, red degraded, grey unknown
        self.assertGreater(colours.count((0x2e, 0x7d, 0x32)), 20000)
        self.assertGreater(colours.count((0xc6, 0x28, 0x28)), 2000)
        self.assertGreater(colours.count((0x9e, 0x9e, 0x9e)), 100)
        phone = screenshot.screenshot("file://" + path, os.path.join(self.tmp, "phone.png"), (412, 900))
        colours = [px for row in screenshot.png_rows(phone, 900) for px in row]
        self.assertGreater(colours.count((0x2e, 0x7d, 0x32)), 3000)

    # ----- options -----
    def test_step_hour(self):
        rc, out, _ = self.report("--format=json", "--step=1h", "--target=home-vm-100", "--target=shop-ct-201")
        self.assertEqual(rc, 1)
        doc = json.loads(out)
        t = {x["target"]: x for x in doc["targets"]}
        self.assertEqual(sorted(t), ["home-vm-100", "shop-ct-201"])
        gaps = [(g["start"], g["end"]) for g in t["home-vm-100"]["gaps"]]
        # to the hour now; the 45-minute Prometheus outage is most of its hour: unknown, not OK
        self.assertEqual(gaps, [(T("2026-02-03 06:00"), T("2026-02-03 07:00")),
                                (T("2026-02-08 10:00"), T("2026-02-08 12:00")),
                                (T("2026-02-12 13:00"), T("2026-02-12 16:00")),
                                (T("2026-02-20 02:00"), T("2026-02-24 05:00"))])
        self.assertEqual(t["shop-ct-201"]["unknown_seconds"], 3600)

    def test_exit_0_when_met(self):
        rc, out, err = run_report(self.prom.url, "--end=2026-02-25", "--range=7d", "--site=shop")
        self.assertEqual((rc, err), (0, ""), out)
        self.assertTrue(out.endswith("report: 3/3 targets >= 99 % in policy, 3/3 for the whole range\n"))
        self.assertIn("shop  shop-vm-200   100.0 %  7/7      0     -", out)

    def test_exit_2_errors(self):
        cases = [
            (["--range=30d"], None, "--prometheus.url is required"),
            (["--prometheus.url=" + self.prom.url, "--format=pdf"], None, "--format=pdf"),
            (["--prometheus.url=" + self.prom.url, "--range=forever"], None, "--range=forever"),
            (["--prometheus.url=" + self.prom.url, "--end=yesterday"], None, "--end=yesterday"),
            (["--prometheus.url=" + self.prom.url, "--step=1m", "--end=" + END], None, "use a larger --step"),
            (["--prometheus.url=" + self.prom.url, "--end=" + END, "--target=nope"], None,
             "target nope: no persistence_target_info series in the range"),
            (["--prometheus.url=" + self.prom.url, "--end=" + END, "--site=nowhere"], None,
             "site nowhere: no target in the range"),
            (["--prometheus.url=" + self.prom.url, "--end=2020-01-01"], None, "no persistence_target_info series"),
            (["--prometheus.url=http://127.0.0.1:1"], None, "cannot query Prometheus at http://127.0.0.1:1"),
            (["--prometheus.url=" + self.prom.url + "/nothing/here", "--end=" + END], None, "HTTP 404"),
            (["--prometheus.url=https://u:pw@prom.lan"], None, "must not hold credentials"),
            (["--prometheus.url=" + self.prom.url, "--bogus"], None, "unknown flag --bogus"),
        ]
        for args, _, message in cases:
            p = subprocess.run([CTL, "report"] + args, capture_output=True, timeout=60)
            err = p.stderr.decode()
            self.assertEqual(p.returncode, 2, (args, err))
            self.assertIn(message, err, args)
            self.assertEqual(p.stdout, b"", args)


class ReportVictoriaMetrics(unittest.TestCase):
    """The same report from VictoriaMetrics (Debian's victoria-metrics), holding the same samples."""

    @classmethod
    def setUpClass(cls):
        if not shutil.which("victoria-metrics"):
            raise AssertionError("the report test needs victoria-metrics (make deps)")
        cls.prom = backfill.serve_copy(backfill.tsdb())
        try:
            cls.vm = vm.VictoriaMetrics()
            cls.samples = cls.vm.copy_from(cls.prom)
        except BaseException:
            cls.prom.close()
            shutil.rmtree(cls.prom.copy, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.vm.close()
        cls.prom.close()
        shutil.rmtree(cls.prom.copy, ignore_errors=True)

    def test_same_report_as_prometheus(self):
        self.assertGreater(self.samples, 1000000)
        docs = []
        for url in (self.prom.url, self.vm.url):
            rc, out, err = run_report(url, "--end=" + END, "--format=json")
            self.assertEqual((rc, err), (1, ""), url)
            doc = json.loads(out)
            self.assertEqual(doc.pop("prometheus"), url)
            docs.append(doc)
        self.assertEqual(len(docs[1]["targets"]), 7)
        self.assertEqual(docs[1], docs[0])


class FakePrometheus:
    """A stand-in for broken or protected query front ends: answers as self.mode says, records headers."""

    def __init__(self):
        self.mode = "empty"
        self.headers = []
        self.forms = []  # each request's form fields
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                fake.headers.append(dict(self.headers))
                fake.forms.append(urllib.parse.parse_qs(body.decode()))
                mode = fake.mode
                if mode == "html":
                    self.reply(200, "text/html", b"<html><body>Sign in</body></html>")
                elif mode == "401":
                    self.reply(401, "text/plain", b"Unauthorized")
                elif mode == "bad_data":
                    self.reply(400, "application/json", json.dumps(
                        {"status": "error", "errorType": "bad_data", "error": "1:10: parse error"}).encode())
                elif mode == "slow":
                    import time
                    time.sleep(4)
                    self.reply(200, "application/json", b"{}")
                else:
                    self.reply(200, "application/json", json.dumps(
                        {"status": "success", "data": {"resultType": "matrix", "result": []}}).encode())

            def reply(self, code, ctype, body):
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up first (the timeout case)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class ReportClient(unittest.TestCase):
    """How the report reaches a Prometheus: errors in words, credentials from the config file, never shown."""

    @classmethod
    def setUpClass(cls):
        cls.fake = FakePrometheus()
        cls.dir = tempfile.mkdtemp(prefix="pe-report-client-")

    @classmethod
    def tearDownClass(cls):
        cls.fake.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def write(self, name, text, mode=0o600):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def test_errors_in_words(self):
        for mode, words in (("html", "HTTP 200 text/html, not a Prometheus API answer"),
                            ("401", "HTTP 401: Prometheus (or a proxy in front of it) wants credentials"),
                            ("bad_data", "refused the query: bad_data: 1:10: parse error"),
                            ("slow", "cannot query Prometheus at")):
            self.fake.mode = mode
            rc, out, err = run_report(self.fake.url, "--prometheus.timeout=1s")
            self.assertEqual((rc, out), (2, ""), mode)
            self.assertIn(words, err, mode)

    def test_selection_in_the_first_query(self):
        """--target and --site go into the query that finds the targets: only their timelines are fetched."""
        self.fake.mode = "empty"
        self.fake.forms.clear()
        rc, out, err = run_report(self.fake.url, "--site=shop", "--site=a.b", "--target=shop-vm-200")
        self.assertEqual((rc, out), (2, ""))
        self.assertIn("target shop-vm-200: no persistence_target_info series in the range", err)
        self.assertEqual(len(self.fake.forms), 1)
        self.assertIn('persistence_target_info{target=~"shop-vm-200",site=~"shop|a\\\\.b"}[300s]',
                      self.fake.forms[0]["query"][0])

    def test_bearer_token_from_file(self):
        self.fake.mode = "empty"
        self.fake.headers.clear()
        token = self.write("token", "tok-Secret-123\n")
        cfg = self.write("prom.yml", "authorization:\n  credentials_file: %s\n" % token)
        rc, out, err = run_report(self.fake.url, "--prometheus.config.file=" + cfg)
        self.assertEqual(rc, 2)
        self.assertIn("no persistence_target_info series", err)
        self.assertEqual(self.fake.headers[0]["Authorization"], "Bearer tok-Secret-123")
        self.assertNotIn("tok-Secret", out + err)
        self.fake.mode = "401"
        rc, out, err = run_report(self.fake.url, "--prometheus.config.file=" + cfg)
        self.assertIn("the credentials of --prometheus.config.file were refused", err)
        self.assertNotIn("tok-Secret", out + err)

    def test_bad_config_file(self):
        cfg = self.write("bad.yml", "basic_auth:\n  password: x\noauth2: {}\n")
        rc, out, err = run_report(self.fake.url, "--prometheus.config.file=" + cfg)
        self.assertEqual(rc, 2)
        self.assertIn("bad.yml:2:3: basic_auth: missing required key \"username\"", err)
        self.assertIn("bad.yml:3:9: oauth2: not supported", err)


class ReportTLS(unittest.TestCase):
    """A Prometheus behind TLS, client certificates and basic auth (its own --web.config.file)."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="pe-report-tls-")
        d = cls.dir
        for name, subj in (("server", "/CN=127.0.0.1"), ("client", "/CN=persistencectl")):
            extra = ["-addext", "subjectAltName=IP:127.0.0.1"] if name == "server" else []
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                            "-nodes", "-days", "2", "-subj", subj, "-keyout", os.path.join(d, name + ".key"),
                            "-out", os.path.join(d, name + ".crt")] + extra, check=True, capture_output=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt
            hashed = crypt.crypt("Pass-w0rd-report", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 10))
        web = os.path.join(d, "web.yml")
        with open(web, "w") as f:
            f.write("tls_server_config:\n  cert_file: %s/server.crt\n  key_file: %s/server.key\n"
                    "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: %s/client.crt\n"
                    "basic_auth_users:\n  report: '%s'\n" % (d, d, d, hashed))
        cls.prom = backfill.serve_copy(backfill.tsdb(), extra=("--web.config.file=" + web,), tls=True)

    @classmethod
    def tearDownClass(cls):
        cls.prom.close()
        shutil.rmtree(cls.prom.copy, ignore_errors=True)
        shutil.rmtree(cls.dir, ignore_errors=True)

    def config(self, password="Pass-w0rd-report", cert=True):
        d = self.dir
        with open(os.path.join(d, "password"), "w") as f:
            f.write(password + "\n")
        os.chmod(os.path.join(d, "password"), 0o600)
        path = os.path.join(d, "prom.yml")
        with open(path, "w") as f:
            f.write("basic_auth:\n  username: report\n  password_file: password\n"
                    "tls_config:\n  ca_file: server.crt\n")
            if cert:
                f.write("  cert_file: client.crt\n  key_file: client.key\n")
        return path

    def test_report_over_tls_with_auth(self):
        rc, out, err = run_report(self.prom.url, "--end=" + END, "--site=shop",
                                  "--prometheus.config.file=" + self.config())
        self.assertEqual(rc, 1, err)
        self.assertIn("Prometheus: " + self.prom.url + "\n", out)
        self.assertIn("shop-vm-200", out)
        self.assertNotIn("Pass-w0rd", out + err)

    def test_refusals(self):
        # no CA: the self-signed certificate is not trusted (verification is on by default)
        rc, _, err = run_report(self.prom.url, "--end=" + END)
        self.assertEqual(rc, 2)
        self.assertIn("cannot query Prometheus at " + self.prom.url, err)
        # no client certificate: the TLS handshake is refused
        rc, _, err = run_report(self.prom.url, "--end=" + END, "--prometheus.config.file=" + self.config(cert=False))
        self.assertEqual(rc, 2)
        self.assertIn("cannot query Prometheus", err)
        # a wrong password
        rc, out, err = run_report(self.prom.url, "--end=" + END,
                                  "--prometheus.config.file=" + self.config(password="wrong-Pass-9"))
        self.assertEqual(rc, 2)
        self.assertIn("HTTP 401: the credentials of --prometheus.config.file were refused", err)
        self.assertNotIn("wrong-Pass", out + err)


if __name__ == "__main__":
    unittest.main()
