"""The backup inventory end to end on the demo's 20 targets (deploy/demo/scenario.py).

The summary must read the same on the status page, in /status, from `persistencectl status`
and in /metrics; `persistencectl vzdump --execute --wait` closes the loop (17/20 -> 18/20);
headless Chromium renders the page (screenshots checked by size, dimensions and pixels).
"""
import html.parser
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from harness import (CTL, N8N_KEY, PBS_SECRET, PVE_ACTION_SECRET, PVE_SECRET, ROOT, Exporter, Sim, check_sanitizer_report,
                     parse_metrics, samples, value)

sys.path.insert(0, os.path.join(ROOT, "deploy", "demo"))
import scenario  # noqa: E402
import screenshot  # noqa: E402

INCIDENT_LINE = "backup.status: 17/20 OK, 3 degraded"
HEALTHY_LINE = "backup.status: 20/20 OK, 0 degraded"
AFTER_LINE = "backup.status: 18/20 OK, 2 degraded"
DEGRADED = {"home-vm-100", "home-lxc-105", "app-n8n-workflows"}
TARGETS = (["home-vm-100", "home-lxc-105", "app-n8n-workflows"]
           + ["shop-%s" % name for _, name in scenario.SHOP_GUESTS] + list(scenario.FILE_TARGETS))
SECRETS = [PVE_SECRET % "home", PVE_SECRET % "shop", PVE_ACTION_SECRET % "home",
           PVE_ACTION_SECRET % "shop", N8N_KEY % "app", PBS_SECRET % "pbs1", "sim-drill-secret-home",
           "sim-drill-secret-shop"]
TEXT_COLUMNS = ["SITE", "TARGET", "KIND", "LAST BACKUP", "AGE", "MAX AGE", "STATE", "RESTORE", "REASON"]

# Pixel colours of the summary box (exporter/status.c CSS): degraded and all-OK backgrounds.
BG_DEGRADED = (0xfc, 0xe8, 0xe6)
BG_OK = (0xe6, 0xf4, 0xea)


class Demo:
    """The simulator plus the exporter on the demo's config and fake node tree for one scenario."""

    def __init__(self, name, cache_ttl=None, sim_extra=()):
        self.sim = Sim(name, extra=sim_extra)
        self.dir = tempfile.mkdtemp(prefix="pe-inventory-")
        self.exp = None
        try:
            self.config, self.flags = scenario.build(self.dir, self.sim.url, self.sim.docker_socket, name)
            with open(self.config) as f:
                text = f.read()
            if cache_ttl is not None:
                self.assert_in("  cache_ttl: 5s\n", text)
                text = text.replace("  cache_ttl: 5s\n", "  cache_ttl: %s\n" % cache_ttl)
                with open(self.config, "w") as f:
                    f.write(text)
            self.exp = Exporter(text, self.flags)
        except BaseException:
            self.close()
            raise

    @staticmethod
    def assert_in(needle, haystack):
        if needle not in haystack:
            raise AssertionError("%r not in the demo config" % needle)

    def close(self):
        try:
            if self.exp:
                self.exp.close()            # fails on a sanitizer report in the exporter's log
        finally:
            self.sim.close()
            shutil.rmtree(self.dir, ignore_errors=True)

    # ----- the four views -----
    def page(self):
        status, headers, body = self.exp.get("/")
        if status != 200 or not headers.get("Content-Type", "").startswith("text/html"):
            raise AssertionError("GET /: %d %s" % (status, headers))
        return Page(body)

    def status_json(self):
        status, _, body = self.exp.get("/status")
        if status != 200:
            raise AssertionError("GET /status: %d %s" % (status, body))
        return json.loads(body)

    def metrics(self):
        return self.exp.metrics()

    def ctl(self, *args, timeout=120):
        cmd = [CTL] + list(args[:1]) + ["--config.file=" + self.config] + list(args[1:])
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        check_sanitizer_report(p.stderr, "persistencectl " + args[0])
        for s in SECRETS:
            if s in p.stdout + p.stderr:
                raise AssertionError("secret %s printed by %s" % (s, cmd))
        return p

    def ctl_status(self, *args):
        return self.ctl("status", *(list(self.flags) + list(args)))


class Page(html.parser.HTMLParser):
    """The status page as data: the summary line and its class, and each table's rows of cell texts
    by the <h2> above it."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.text = text
        self.summary, self.summary_class = None, None
        self.tables = {}
        self._h2 = self._cell = self._in = None
        self._row = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "h2":
            self._h2 = ""
            self._in = "h2"
        elif tag == "p" and "summary" in (a.get("class") or "").split():
            self.summary, self.summary_class, self._in = "", a["class"], "summary"
        elif tag == "table":
            self._table = self.tables.setdefault(self._h2, [])
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("h2", "p"):
            self._in = None
        elif tag in ("td", "th") and self._row is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self._table.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._in == "h2":
            self._h2 += data
        elif self._in == "summary":
            self.summary += data
        if self._cell is not None:
            self._cell += data

    def targets(self):
        """{target: state} from the "Backup targets" table."""
        rows = self.tables["Backup targets"]
        head = rows[0]
        t, s = head.index("target"), head.index("state")
        return {r[t]: r[s] for r in rows[1:]}


def text_table(out):
    """persistencectl's aligned target table as {target: state}, cut at the header's column starts."""
    lines = out.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("SITE  "))
    head, pos, cols = lines[start], 0, []
    for name in TEXT_COLUMNS:
        pos = head.index(name, pos)
        cols.append(pos)
        pos += len(name)
    states = {}
    for line in lines[start + 1:]:
        if not line.strip():
            break
        cells = [line[a:b].strip() for a, b in zip(cols, cols[1:] + [None])]
        states[cells[1]] = cells[6]
    return states


def metric_states(text):
    """{target: "OK"|"not OK"} from persistence_target_ok."""
    out = {}
    for t in TARGETS:
        v = value(text, "persistence_target_ok", target=t)
        out[t] = "OK" if v == 1 else "not OK"
    return out


def as_ok(states):
    return {t: ("OK" if s == "OK" else "not OK") for t, s in states.items()}


class InventoryViews:
    """Checks shared by the incident and healthy scenarios."""

    line = None
    verdict = None
    expected = None  # {target: state}

    def check_page(self, page):
        self.assertEqual(page.summary, self.line)
        self.assertEqual(page.targets(), self.expected)

    def check_json(self, doc):
        n = len(TARGETS)
        nbad = sum(1 for s in self.expected.values() if s != "OK")
        self.assertEqual(doc["summary"], {"ok": n - nbad, "degraded": nbad, "unknown": 0, "total": n,
                                          "evaluated": True, "line": self.line})
        self.assertEqual({t["name"]: t["state"] for t in doc["targets"]}, self.expected)
        for t in doc["targets"]:
            self.assertEqual(t["ok"], t["state"] == "OK", t)
        self.assertEqual(len(doc["targets"]), n)

    def test_page_summary_and_states(self):
        self.check_page(self.demo.page())

    def test_status_json_summary_and_states(self):
        self.check_json(self.demo.status_json())

    def test_ctl_text_summary_states_and_exit_code(self):
        p = self.demo.ctl_status()
        self.assertEqual(p.returncode, self.verdict, p.stdout + p.stderr)
        self.assertEqual(p.stdout.splitlines()[-1], self.line)
        self.assertEqual(text_table(p.stdout), self.expected)
        self.assertNotIn("\033[", p.stdout)          # not a terminal: no colours
        self.assertIn("synology-backups  mount      UP", p.stdout)
        self.assertIn("home              pve_local  UP", p.stdout)

    def test_ctl_json_agrees(self):
        p = self.demo.ctl_status("--format=json")
        self.assertEqual(p.returncode, self.verdict, p.stdout + p.stderr)
        self.check_json(json.loads(p.stdout))

    def test_every_view_agrees_with_metrics(self):
        m = self.demo.metrics()
        want = as_ok(self.expected)
        self.assertEqual(metric_states(m), want)
        self.assertEqual(len(samples(m, "persistence_target_ok")), len(TARGETS))
        self.assertEqual(len(samples(m, "persistence_target_info")), len(TARGETS))
        self.assertEqual(as_ok(self.demo.page().targets()), want)
        self.assertEqual(as_ok({t["name"]: t["state"] for t in self.demo.status_json()["targets"]}), want)
        self.assertEqual(as_ok(text_table(self.demo.ctl_status().stdout)), want)
        for kind in ("pve", "pve_local", "mount", "n8n", "docker"):
            self.assertTrue(all(v == 1 for v in samples(m, "persistence_source_up", kind=kind)), kind)

    def test_no_secret_on_the_page_or_in_status(self):
        body = self.demo.page().text + json.dumps(self.demo.status_json())
        for s in SECRETS:
            self.assertNotIn(s, body)


class IncidentTest(InventoryViews, unittest.TestCase):
    line = INCIDENT_LINE
    verdict = 1
    expected = {t: ("DEGRADED" if t in DEGRADED else "OK") for t in TARGETS}

    @classmethod
    def setUpClass(cls):
        cls.demo = Demo("seed")
        cls.tmp = tempfile.mkdtemp(prefix="pe-shot-")

    @classmethod
    def tearDownClass(cls):
        cls.demo.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_page_marks_degraded(self):
        page = self.demo.page()
        self.assertEqual(page.summary_class, "summary bad")
        self.assertIn('<tr class="st-bad"><td>home</td><td>home-lxc-105</td>', page.text)
        rows = {r[1]: r for r in page.tables["Backup targets"][1:]}
        self.assertEqual(rows["home-vm-100"][-1], "backup 4d old, max 26h")
        self.assertEqual(rows["app-n8n-workflows"][-1][:7], "backup ")

    def test_uninventoried_guest_everywhere(self):
        m = self.demo.metrics()
        self.assertEqual(value(m, "persistence_pve_guest_in_inventory", source="home", vmid="112"), 0)
        self.assertEqual(value(m, "persistence_pve_guest_in_inventory", source="home", vmid="105"), 1)
        self.assertEqual(value(m, "persistence_pve_guest_in_inventory", source="shop", vmid="212"), 1)
        zeros = [(l["source"], l["vmid"]) for n, l, v in parse_metrics(m)
                 if n == "persistence_pve_guest_in_inventory" and v == 0]
        self.assertEqual(zeros, [("home", "112")])
        self.assertEqual(self.demo.page().tables["Guests in no target"],
                         [["source", "vmid", "name", "type", "node"], ["home", "112", "sandbox", "lxc", "pve1"]])
        self.assertEqual(self.demo.status_json()["uninventoried"],
                         [{"source": "home", "vmid": 112, "name": "sandbox", "type": "lxc", "node": "pve1"}])
        self.assertIn("\nGuests in no target:\n  home/112 sandbox (lxc on pve1)\n", self.demo.ctl_status().stdout)

    # ----- headless Chromium -----
    def test_chromium_renders_the_summary(self):
        dom = screenshot.dump_dom(self.demo.exp.url + "/")
        self.assertIn(">" + INCIDENT_LINE + "</p>", dom)
        self.assertIn("home-lxc-105", dom)

    def test_chromium_screenshot_desktop(self):
        png = screenshot.screenshot(self.demo.exp.url + "/", os.path.join(self.tmp, "desktop.png"), (1200, 1600))
        self.assertEqual(screenshot.png_info(png)[:2], (1200, 1600))
        self.assertGreater(os.path.getsize(png), 50000)     # a page of text, not a blank canvas
        rows = screenshot.png_rows(png, 200)
        colours = [px for row in rows for px in row]
        # the degraded summary box is drawn near the top: thousands of its background pixels
        self.assertGreater(colours.count(BG_DEGRADED), 20000)
        self.assertEqual(colours.count(BG_OK), 0)
        self.assertGreater(len(set(colours)), 50)            # text was drawn (anti-aliased shades)

    def test_chromium_screenshot_phone(self):
        png = screenshot.screenshot(self.demo.exp.url + "/", os.path.join(self.tmp, "phone.png"), (412, 900))
        self.assertEqual(screenshot.png_info(png)[:2], (412, 900))
        self.assertGreater(os.path.getsize(png), 20000)
        colours = [px for row in screenshot.png_rows(png, 150) for px in row]
        self.assertGreater(colours.count(BG_DEGRADED), 5000)


class HealthyTest(InventoryViews, unittest.TestCase):
    line = HEALTHY_LINE
    verdict = 0
    expected = {t: "OK" for t in TARGETS}

    @classmethod
    def setUpClass(cls):
        cls.demo = Demo("healthy")

    @classmethod
    def tearDownClass(cls):
        cls.demo.close()

    def test_page_marks_ok(self):
        page = self.demo.page()
        self.assertEqual(page.summary_class, "summary ok")
        self.assertNotIn('class="st-bad"', page.text)

    def test_chromium_screenshot_is_green(self):
        tmp = tempfile.mkdtemp(prefix="pe-shot-")
        try:
            png = screenshot.screenshot(self.demo.exp.url + "/", os.path.join(tmp, "ok.png"), (1200, 1600))
            colours = [px for row in screenshot.png_rows(png, 200) for px in row]
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self.assertGreater(colours.count(BG_OK), 20000)
        self.assertEqual(colours.count(BG_DEGRADED), 0)


class RestoreDemoTest(unittest.TestCase):
    """`make run`'s scenario: the incident plus one target degraded by each restorability reason."""

    REASONS = {
        "shop-mail": r"newest backup failed verification",
        "shop-wiki": r"newest verified backup (8d 23h|9d) old, max 7d",
        "shop-erp": r"1 copy, policy wants 2",
        "shop-web-frontend": r"no offsite copy",
        "shop-postgres-usb": r"newest backup's log reports an error: Backup of VM 202 failed",
    }

    @classmethod
    def setUpClass(cls):
        cls.demo = Demo("restore")

    @classmethod
    def tearDownClass(cls):
        cls.demo.close()

    def test_each_reason_degrades_a_target(self):
        st = self.demo.status_json()
        self.assertEqual(st["summary"]["line"], "backup.status: 13/21 OK, 8 degraded")
        targets = {t["name"]: t for t in st["targets"]}
        for name, pattern in self.REASONS.items():
            self.assertEqual(targets[name]["state"], "DEGRADED", name)
            self.assertRegex(targets[name]["reason"], "^" + pattern, name)
        # the seed incident's three are still there, and postgres meets its two-copy policy
        for name in DEGRADED:
            self.assertEqual(targets[name]["state"], "DEGRADED", name)
        self.assertEqual(targets["shop-postgres"]["state"], "OK")
        self.assertEqual(targets["shop-postgres"]["restorability"]["copies"], 2)
        self.assertEqual({t for t, x in targets.items() if x["state"] != "OK"}, set(self.REASONS) | DEGRADED)

    def test_metrics_agree(self):
        text = self.demo.exp.metrics()
        self.assertEqual(value(text, "persistence_target_verify_failed", target="shop-mail"), 1)
        self.assertEqual(value(text, "persistence_target_copies", target="shop-erp"), 1)
        self.assertEqual(value(text, "persistence_target_offsite_copies", target="shop-web-frontend"), 0)
        self.assertEqual(value(text, "persistence_mount_archive_last_log_ok", source="usb-offsite", vmid="202"), 0)
        self.assertEqual(value(text, "persistence_mount_archive_last_log_ok", source="synology-backups", vmid="100"), 1)
        self.assertEqual(sum(v for n, l, v in parse_metrics(text) if n == "persistence_target_ok"), 13)


class OutageTest(unittest.TestCase):
    """A PVE outage does not erase what was known: the stale targets keep their last backup time."""

    @classmethod
    def setUpClass(cls):
        cls.demo = Demo("seed", cache_ttl="0s")

    @classmethod
    def tearDownClass(cls):
        cls.demo.close()

    def test_last_backup_remembered_while_home_is_down(self):
        d = self.demo
        before = d.metrics()
        known = {t: value(before, "persistence_target_last_backup_timestamp_seconds", target=t)
                 for t in ("home-vm-100", "home-lxc-105")}
        for t in known:
            self.assertEqual(value(before, "persistence_target_last_backup_remembered", target=t), 0)
        d.sim.fault("/pve/home/", status=500)
        try:
            during = d.metrics()
            doc = d.status_json()
            page = d.page()
        finally:
            d.sim.clear_faults()
        self.assertEqual(value(during, "persistence_source_up", source="home", kind="pve"), 0)
        for t, ts in known.items():
            self.assertEqual(value(during, "persistence_target_last_backup_timestamp_seconds", target=t), ts)
            self.assertEqual(value(during, "persistence_target_last_backup_remembered", target=t), 1)
            self.assertEqual(value(during, "persistence_target_ok", target=t), 0)
        by_name = {t["name"]: t for t in doc["targets"]}
        self.assertTrue(by_name["home-vm-100"]["last_backup_remembered"])
        self.assertFalse(by_name["shop-erp"]["last_backup_remembered"])
        self.assertIn("(remembered)", page.text)
        after = d.metrics()
        self.assertEqual(value(after, "persistence_target_last_backup_remembered", target="home-vm-100"), 0)


class ClosingTheLoopTest(unittest.TestCase):
    """The operator's fix from the runbook, then a fresh scrape: home LXC 105 is OK again."""

    @classmethod
    def setUpClass(cls):
        cls.demo = Demo("seed", cache_ttl="0s", sim_extra=("--task-seconds", "1"))

    @classmethod
    def tearDownClass(cls):
        cls.demo.close()

    def test_vzdump_execute_wait_turns_105_ok(self):
        d = self.demo
        self.assertEqual(d.status_json()["summary"]["line"], INCIDENT_LINE)
        p = d.ctl("vzdump", "--source=home", "--vmid=105", "--restart-scheduler", "--execute", "--wait")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("-> backup task ended OK", p.stdout)
        doc = d.status_json()
        self.assertEqual(doc["summary"]["line"], AFTER_LINE)
        states = {t["name"]: t["state"] for t in doc["targets"]}
        self.assertEqual(states, {t: ("DEGRADED" if t in DEGRADED - {"home-lxc-105"} else "OK") for t in TARGETS})
        lxc = [t for t in doc["targets"] if t["name"] == "home-lxc-105"][0]
        self.assertLess(lxc["age_seconds"], 120)
        self.assertEqual(lxc["reason"], "")
        m = d.metrics()
        self.assertEqual(value(m, "persistence_target_ok", target="home-lxc-105"), 1)
        self.assertEqual(value(m, "persistence_target_ok", target="home-vm-100"), 0)
        self.assertEqual(metric_states(m), as_ok(states))
        self.assertEqual(d.page().summary, AFTER_LINE)
        p = d.ctl_status()
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertEqual(p.stdout.splitlines()[-1], AFTER_LINE)
        self.assertEqual(text_table(p.stdout)["home-lxc-105"], "OK")


if __name__ == "__main__":
    unittest.main()
