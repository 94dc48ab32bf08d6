#!/usr/bin/env python3
"""Static checks of dashboards/*.json: datasource variable, uids, titles, descriptions, units, metric names.

Run by tests/lint.sh. Stdlib only; uses promtool (when installed) to parse every query.
Exit 0 when clean, 1 with one line per problem otherwise.
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DS_REFS = ("${datasource}", "$datasource")
GRAFANA_BUILTIN_DS = ("-- Grafana --", "grafana")
NO_UNIT_KINDS = ("row", "text")
UID_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
MIN_SCHEMA = 36
BUILTIN_METRICS = {"ALERTS", "ALERTS_FOR_STATE", "up", "scrape_duration_seconds", "scrape_samples_scraped"}
GRAFANA_VARS = {"__rate_interval", "__interval", "__interval_ms", "__range", "__range_s", "__range_ms",
                "__from", "__to", "__dashboard", "__name", "__org", "__user", "__all"}
# Words in PromQL that are not metric names (functions, aggregations, keywords).
PROMQL_WORDS = set("""
abs absent absent_over_time avg avg_over_time bottomk ceil changes clamp clamp_max clamp_min count
count_over_time count_values day_of_month day_of_week day_of_year days_in_month delta deriv exp floor
group group_left group_right histogram_quantile holt_winters hour idelta increase irate label_join
label_replace last_over_time ln log10 log2 max max_over_time min min_over_time minute month
predict_linear present_over_time quantile quantile_over_time rate resets round scalar sgn sort
sort_desc sqrt stddev stddev_over_time stdvar stdvar_over_time sum sum_over_time time timestamp topk
vector year and or unless by without on ignoring bool offset inf nan
""".split())
RATE_RE = re.compile(r"\b(rate|irate|increase)\s*\(")


def known_metrics():
    """Metric names the dashboards may use: docs/metrics.md, recording rules, the exporter's
    sources, and SPEC.md section 6 when the spec is at hand (PE_SPEC or ../shared/SPEC.md)."""
    names = set(BUILTIN_METRICS)
    name_re = re.compile(r"\bpersistence_[a-z0-9_]+")
    docs = os.path.join(ROOT, "docs", "metrics.md")
    if os.path.exists(docs):
        with open(docs, encoding="utf-8") as f:
            names.update(name_re.findall(f.read()))
    for path in glob.glob(os.path.join(ROOT, "exporter", "*.c")):
        with open(path, encoding="utf-8", errors="replace") as f:
            names.update(m[1:] for m in re.findall(r'"persistence_[a-z0-9_]+', f.read()))
    spec = os.environ.get("PE_SPEC") or os.path.join(ROOT, "..", "shared", "SPEC.md")
    if os.path.exists(spec):
        with open(spec, encoding="utf-8") as f:
            text = f.read()
        m = re.search(r"^## 6\..*?(?=^## 7\.)", text, re.S | re.M)
        if m:
            names.update(name_re.findall(m.group(0)))
    records = set()
    for path in glob.glob(os.path.join(ROOT, "rules", "*.yml")):
        with open(path, encoding="utf-8") as f:
            records.update(re.findall(r"^\s*-?\s*record:\s*['\"]?([A-Za-z0-9_:]+)", f.read(), re.M))
    return names | records, records


def metric_names(expr):
    """Identifiers in a PromQL expression that name series (not functions, labels or keywords)."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)          # string literals
    e = re.sub(r"\{[^}]*\}", "", e)                          # label matchers
    e = re.sub(r"\[[^\]]*\]", "", e)                         # range selectors
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r"\1", e)
    e = re.sub(r"\$\{?\w+\}?", "", e)                        # template variables
    out = []
    for m in re.finditer(r"(?<![\w.])([A-Za-z_:][A-Za-z0-9_:]*)", e):
        word = m.group(1)
        if word in PROMQL_WORDS or re.match(r"^[0-9]", word):
            continue
        if re.match(r"^[smhdwy]$", word):
            continue
        out.append(word)
    return out


def variables_in(text):
    return set(re.findall(r"\$\{?(\w+)", text))


class Linter:
    def __init__(self):
        self.problems = []
        self.exprs = []          # (where, expr) for the promtool parse check
        self.known, self.records = known_metrics()

    def bad(self, where, msg):
        self.problems.append("%s: %s" % (where, msg))

    def check_ds(self, where, ds):
        if isinstance(ds, str):
            if ds not in DS_REFS:
                self.bad(where, "datasource %r is not ${datasource}" % ds)
            return
        if not isinstance(ds, dict) or ds.get("uid") not in DS_REFS:
            self.bad(where, "datasource %s is not {uid: ${datasource}}" % json.dumps(ds))
        elif ds.get("type") not in (None, "prometheus"):
            self.bad(where, "datasource type %r is not prometheus" % ds.get("type"))

    def check_expr(self, where, expr, defined):
        if not expr.strip():
            self.bad(where, "empty query")
            return
        for var in variables_in(expr) - defined - GRAFANA_VARS:
            self.bad(where, "uses undefined variable $%s" % var)
        for m in RATE_RE.finditer(expr):
            window = re.match(r"[^\[]*\[([^\]]*)\]", expr[m.end():])
            if not window or window.group(1) != "$__rate_interval":
                self.bad(where, "%s() should use [$__rate_interval]" % m.group(1))
        for name in metric_names(expr):
            if name not in self.known:
                self.bad(where, "metric %s is neither documented (docs/metrics.md, SPEC section 6) "
                                "nor a recording rule in rules/" % name)
        self.exprs.append((where, expr))

    def check_panel(self, where, p, defined):
        kind = p.get("type")
        where = "%s panel %s %r" % (where, p.get("id"), p.get("title"))
        if not p.get("title"):
            self.bad(where, "no title")
        if kind == "row":
            for sub in p.get("panels", []):
                self.check_panel(where, sub, defined)
            return
        if kind in NO_UNIT_KINDS:
            return
        if not (p.get("description") or "").strip():
            self.bad(where, "no description")
        unit = p.get("fieldConfig", {}).get("defaults", {}).get("unit")
        if not unit:
            self.bad(where, "no unit (fieldConfig.defaults.unit)")
        self.check_ds(where, p.get("datasource"))
        tgts = p.get("targets") or []
        if not tgts:
            self.bad(where, "no targets")
        refs = [t.get("refId") for t in tgts]
        if len(set(refs)) != len(refs):
            self.bad(where, "duplicate refIds %s" % refs)
        for t in tgts:
            tw = "%s target %s" % (where, t.get("refId"))
            self.check_ds(tw, t.get("datasource"))
            self.check_expr(tw, t.get("expr", ""), defined)
        if "gridPos" not in p:
            self.bad(where, "no gridPos")

    def check_variables(self, where, d):
        vs = d.get("templating", {}).get("list", [])
        names = [v.get("name") for v in vs]
        dsv = [v for v in vs if v.get("type") == "datasource"]
        if len(dsv) != 1 or dsv[0].get("name") != "datasource" or dsv[0].get("query") != "prometheus":
            self.bad(where, "needs exactly one variable named 'datasource' of type datasource, query prometheus")
        elif dsv[0].get("label") != "Data source":
            self.bad(where, "datasource variable should be labelled 'Data source'")
        if len(set(names)) != len(names):
            self.bad(where, "duplicate variable names %s" % names)
        defined = set(names)
        for v in vs:
            if v.get("type") != "query":
                continue
            vw = "%s variable %s" % (where, v.get("name"))
            self.check_ds(vw, v.get("datasource"))
            q = v.get("query")
            q = q.get("query", "") if isinstance(q, dict) else (q or "")
            m = re.match(r"^\s*label_values\((.*),\s*(\w+)\s*\)\s*$", q)
            if not m:
                self.bad(vw, "query %r is not label_values(<selector>, <label>)" % q)
                continue
            self.check_expr(vw, m.group(1), defined)
            if v.get("refresh") not in (1, 2):
                self.bad(vw, "should refresh on load or time change")
        return defined

    def walk_datasources(self, where, node):
        """No hard-coded datasource uid anywhere in the document."""
        if isinstance(node, dict):
            ds = node.get("datasource")
            if isinstance(ds, dict) and ds.get("uid") not in DS_REFS + GRAFANA_BUILTIN_DS:
                self.bad(where, "hard-coded datasource uid %r" % ds.get("uid"))
            elif isinstance(ds, str) and ds not in DS_REFS + GRAFANA_BUILTIN_DS:
                self.bad(where, "hard-coded datasource %r" % ds)
            for v in node.values():
                self.walk_datasources(where, v)
        elif isinstance(node, list):
            for v in node:
                self.walk_datasources(where, v)

    def check_file(self, path, uids):
        where = os.path.relpath(path, ROOT)
        try:
            with open(path, encoding="utf-8") as f:
                d = json.load(f)
        except (OSError, ValueError) as e:
            self.bad(where, "not valid JSON: %s" % e)
            return
        if not isinstance(d, dict):
            self.bad(where, "not a dashboard object")
            return
        if "__inputs" in d or "__requires" in d:
            self.bad(where, "has __inputs/__requires (export for sharing externally breaks provisioning)")
        uid = d.get("uid")
        stem = os.path.splitext(os.path.basename(path))[0]
        if not isinstance(uid, str) or not UID_RE.match(uid):
            self.bad(where, "uid %r is not 1-40 characters of [A-Za-z0-9_-]" % uid)
        elif uid != "persistence-" + stem:
            self.bad(where, "uid %r is not the stable 'persistence-%s'" % (uid, stem))
        if uid in uids:
            self.bad(where, "uid %r also used by %s" % (uid, uids[uid]))
        uids[uid] = where
        if d.get("id") is not None:
            self.bad(where, "id must be null (Grafana assigns it)")
        for key in ("title", "description", "tags"):
            if not d.get(key):
                self.bad(where, "no %s" % key)
        if not isinstance(d.get("schemaVersion"), int) or d["schemaVersion"] < MIN_SCHEMA:
            self.bad(where, "schemaVersion %r older than %d" % (d.get("schemaVersion"), MIN_SCHEMA))
        defined = self.check_variables(where, d)
        panels = d.get("panels") or []
        if not panels:
            self.bad(where, "no panels")
        ids = []
        for p in panels:
            ids.append(p.get("id"))
            ids.extend(s.get("id") for s in p.get("panels", []))
            self.check_panel(where, p, defined)
        if len(set(ids)) != len(ids):
            self.bad(where, "duplicate panel ids")
        self.walk_datasources(where, d)

    def check_promql(self):
        """Parses every query with promtool: each becomes a recording rule (Grafana's variables
        replaced by a regex or a duration), and `promtool check rules` reports syntax errors."""
        promtool = shutil.which("promtool")
        if not promtool:
            print("dashboards lint: promtool not found; queries were not parsed", file=sys.stderr)
            return
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "dashboard-queries.yml")
            with open(path, "w", encoding="utf-8") as f:
                f.write("groups:\n")
                for i, (where, expr) in enumerate(self.exprs):
                    f.write("  - name: q%d\n    rules:\n      - record: dashboard:query:%d\n"
                            "        expr: %s\n" % (i, i, json.dumps(grafana_to_promql(expr))))
            r = subprocess.run([promtool, "check", "rules", path], capture_output=True, text=True)
            if r.returncode != 0:
                for line in (r.stdout + r.stderr).splitlines():
                    m = re.search(r"group \"q(\d+)\"", line)
                    if m:
                        self.bad(self.exprs[int(m.group(1))][0], "promtool: " + line.strip())
                if not any("promtool" in p for p in self.problems):
                    self.bad("promtool", (r.stdout + r.stderr).strip())


def grafana_to_promql(expr):
    """What Prometheus receives for `expr` with every variable at 'All' and fixed intervals."""
    e = expr.replace("$__rate_interval", "1m").replace("$__interval", "30s").replace("$__range", "1h")
    e = re.sub(r"\$\{?datasource\}?", "", e)
    return re.sub(r"\$\{?(\w+)\}?", ".*", e)


def main():
    files = sorted(glob.glob(os.path.join(ROOT, "dashboards", "*.json")))
    lint = Linter()
    if not files:
        lint.bad("dashboards", "no dashboards/*.json")
    gen = os.path.join(ROOT, "dashboards", "generate.py")
    if os.path.exists(gen):
        r = subprocess.run([sys.executable, gen, "--check"], capture_output=True, text=True)
        if r.returncode != 0:
            lint.bad("dashboards", r.stderr.strip() or "generate.py --check failed")
    uids = {}
    for path in files:
        lint.check_file(path, uids)
    lint.check_promql()
    for p in lint.problems:
        print("dashboards lint: " + p, file=sys.stderr)
    if not lint.problems:
        print("dashboards lint: %d dashboards, %d queries ok" % (len(files), len(lint.exprs)))
    return 1 if lint.problems else 0


if __name__ == "__main__":
    sys.exit(main())
