#!/usr/bin/env python3
"""Checks alert rules against docs: every alert has a severity, summary, description and a runbook_url to the runbook the exporter serves, the runbook exists, and every runbook belongs to an alert."""
import os
import re
import sys

import yaml

SEVERITIES = {"critical", "warning", "info"}
# Every runbook is served by the exporter the alert is about (exporter/runbook.c).
RUNBOOK_URL = "http://{{ $labels.instance }}/runbooks/%s"
# Alerts without an exporter to link to (documented in docs/alerts.md): name -> their runbook_url.
RUNBOOK_EXCEPTIONS = {"PersistenceExporterAbsent": "{{ $externalURL }}/targets"}
NAME_RE = re.compile(r"^[A-Z][A-Za-z0-9]*$")


def load_alerts(rule_files, errors):
    """Returns {alertname: [rule, ...]}; a name may have one rule per severity."""
    alerts = {}
    for path in rule_files:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f) or {}
        for group in doc.get("groups") or []:
            for rule in group.get("rules") or []:
                if "alert" in rule:
                    alerts.setdefault(rule["alert"], []).append((path, rule))
    if not alerts:
        errors.append("no alert rules found in %s" % ", ".join(rule_files))
    return alerts


def check_rule(name, path, rule, runbook_dir, errors):
    where = "%s: %s" % (path, name)
    if not NAME_RE.match(name):
        errors.append("%s: alert name is not CamelCase" % where)
    severity = (rule.get("labels") or {}).get("severity")
    if severity not in SEVERITIES:
        errors.append("%s: severity %r not in %s" % (where, severity, sorted(SEVERITIES)))
    ann = rule.get("annotations") or {}
    for key in ("summary", "description", "runbook_url"):
        if not str(ann.get(key, "")).strip():
            errors.append("%s: annotation %s missing or empty" % (where, key))
    summary = str(ann.get("summary", "")).strip()
    if summary and not summary.endswith("."):
        errors.append("%s: summary should be a sentence ending in a full stop" % where)
    url = str(ann.get("runbook_url", "")).strip()
    want = RUNBOOK_EXCEPTIONS.get(name, RUNBOOK_URL % name)
    if url != want:
        errors.append("%s: runbook_url is %r, want %r" % (where, url, want))
    path = os.path.join(runbook_dir, name + ".md")
    if not os.path.isfile(path):
        errors.append("%s: runbook %s/%s.md does not exist" % (where, runbook_dir, name))
    elif not open(path, encoding="utf-8").read().startswith("# %s\n" % name):
        errors.append("%s: %s does not start with the heading '# %s'" % (where, path, name))


def main(argv):
    root = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
    rules_dir = os.path.join(root, "rules")
    runbook_dir = os.path.join(root, "docs", "runbooks")
    rule_files = sorted(
        os.path.join(rules_dir, f) for f in os.listdir(rules_dir) if f.endswith(".yml")
    )
    errors = []
    alerts = load_alerts(rule_files, errors)
    for name, rules in sorted(alerts.items()):
        severities = [(r.get("labels") or {}).get("severity") for _, r in rules]
        if len(set(severities)) != len(severities):
            errors.append("%s: several rules with the same severity %s" % (name, severities))
        for path, rule in rules:
            check_rule(name, path, rule, runbook_dir, errors)
    alerts_md = os.path.join(root, "docs", "alerts.md")
    table = open(alerts_md, encoding="utf-8").read() if os.path.isfile(alerts_md) else ""
    for name in sorted(alerts):
        if "runbooks/%s.md" % name not in table:
            errors.append("docs/alerts.md: no row linking runbooks/%s.md" % name)
    for f in sorted(os.listdir(runbook_dir)) if os.path.isdir(runbook_dir) else []:
        if f.endswith(".md") and f[:-3] not in alerts:
            errors.append("docs/runbooks/%s: no alert of that name in rules/*.yml" % f)
    for e in errors:
        print("check_runbooks: " + e, file=sys.stderr)
    if errors:
        return 1
    print("check_runbooks: %d alerts, %d rules, every runbook present"
          % (len(alerts), sum(len(r) for r in alerts.values())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
