#!/usr/bin/env python3
"""Negative tests for tests/dashboards/lint.py: each broken copy of a shipped dashboard must be caught."""
import copy
import json
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lint  # noqa: E402


def load(name):
    with open(os.path.join(lint.ROOT, "dashboards", name), encoding="utf-8") as f:
        return json.load(f)


def first_panel(d, kind=None):
    for p in d["panels"]:
        if p["type"] != "row" and (kind is None or p["type"] == kind):
            return p
    raise AssertionError("no panel")


class LintTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="pe-dashlint-")
        self.base = load("overview.json")

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def problems(self, doc, name="overview.json", raw=None, promql=False):
        path = os.path.join(self.tmp, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(raw if raw is not None else json.dumps(doc))
        linter = lint.Linter()
        linter.check_file(path, {})
        if promql:
            linter.check_promql()
        return "\n".join(linter.problems)

    def mutated(self, fn):
        d = copy.deepcopy(self.base)
        fn(d)
        return self.problems(d)

    def test_shipped_dashboard_is_clean(self):
        self.assertEqual(self.problems(self.base), "")

    def test_invalid_json(self):
        self.assertIn("not valid JSON", self.problems(None, raw='{"uid": "x",'))

    def test_hard_coded_datasource(self):
        def fn(d):
            first_panel(d)["targets"][0]["datasource"] = {"type": "prometheus", "uid": "P1809F7CD0C75ACF3"}
        self.assertIn("hard-coded datasource uid 'P1809F7CD0C75ACF3'", self.mutated(fn))

    def test_panel_datasource_missing(self):
        self.assertIn("is not {uid: ${datasource}}", self.mutated(lambda d: first_panel(d).pop("datasource")))

    def test_no_datasource_variable(self):
        def fn(d):
            d["templating"]["list"] = [v for v in d["templating"]["list"] if v["type"] != "datasource"]
        self.assertIn("exactly one variable named 'datasource'", self.mutated(fn))

    def test_missing_unit_description_title(self):
        self.assertIn("no unit", self.mutated(lambda d: first_panel(d)["fieldConfig"]["defaults"].pop("unit")))
        self.assertIn("no description", self.mutated(lambda d: first_panel(d).__setitem__("description", " ")))
        self.assertIn("no title", self.mutated(lambda d: first_panel(d).__setitem__("title", "")))

    def test_uid_rules(self):
        self.assertIn("not 1-40 characters", self.mutated(lambda d: d.__setitem__("uid", "x" * 41)))
        self.assertIn("not the stable", self.mutated(lambda d: d.__setitem__("uid", "random-1234")))
        linter = lint.Linter()
        for name in ("a", "b"):
            path = os.path.join(self.tmp, name, "overview.json")
            os.makedirs(os.path.dirname(path))
            with open(path, "w") as f:
                json.dump(self.base, f)
        uids = {}
        linter.check_file(os.path.join(self.tmp, "a", "overview.json"), uids)
        linter.check_file(os.path.join(self.tmp, "b", "overview.json"), uids)
        self.assertIn("also used by", "\n".join(linter.problems))

    def test_unknown_metric(self):
        def fn(d):
            first_panel(d)["targets"][0]["expr"] = 'persistence_made_up_metric{job=~"$job"}'
        self.assertIn("metric persistence_made_up_metric is neither documented", self.mutated(fn))

    def test_rate_without_rate_interval(self):
        def fn(d):
            first_panel(d)["targets"][0]["expr"] = 'rate(up{job=~"$job"}[5m])'
        self.assertIn("should use [$__rate_interval]", self.mutated(fn))

    def test_undefined_variable(self):
        def fn(d):
            first_panel(d)["targets"][0]["expr"] = 'up{job=~"$cluster"}'
        self.assertIn("undefined variable $cluster", self.mutated(fn))

    def test_promql_syntax_error(self):
        if not shutil.which("promtool"):
            self.fail("promtool is missing (apt-get install prometheus)")
        d = copy.deepcopy(self.base)
        first_panel(d)["targets"][0]["expr"] = 'sum(up{job=~"$job"}'
        self.assertIn("promtool:", self.problems(d, promql=True))

    def test_export_for_sharing_inputs(self):
        self.assertIn("__inputs", self.mutated(lambda d: d.__setitem__("__inputs", [])))

    def test_metric_names_ignore_labels_and_functions(self):
        self.assertEqual(lint.metric_names('count by (source) (x_a{a="b"} == 0) or vector(0)'), ["x_a"])
        self.assertEqual(lint.metric_names('time() - m:rec{job=~"$job"} * on(job, vmid) group_left(name) i'),
                         ["m:rec", "i"])
        self.assertEqual(lint.metric_names('rate(c_total[$__rate_interval]) > 1e3'), ["c_total"])


if __name__ == "__main__":
    unittest.main()
