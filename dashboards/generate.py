#!/usr/bin/env python3
"""Writes the Grafana dashboards dashboards/*.json (classic JSON model); --check compares instead.

The JSON files are the product (provision or import them); this script keeps them consistent:
one `datasource` variable used by every panel and query, stable uids, units and descriptions
everywhere. Edit here, run `python3 dashboards/generate.py`, commit both. Stdlib only.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DS = {"type": "prometheus", "uid": "${datasource}"}
SCHEMA_VERSION = 39
TAGS = ["persistence_exporter", "backups"]
# Alerts shipped in rules/*.yml (the firing-alerts table shows only these).
ALERT_RE = "Persistence.*|PVE.*|PBS.*|Backup.*|N8n.*|AnonymousVolume.*"
DAY = 86400


# ---------------------------------------------------------------- building blocks
def target(expr, legend="", table=False, ref="A"):
    t = {"datasource": DS, "refId": ref, "expr": expr, "legendFormat": legend or "__auto",
         "range": not table, "instant": table}
    if table:
        t["format"] = "table"
    return t


def targets(*specs, table=False):
    """specs: (expr, legend) pairs; refIds A, B, C... in order."""
    return [target(e, l, table, chr(ord("A") + i)) for i, (e, l) in enumerate(specs)]


def thresholds(*steps, mode="absolute"):
    """steps: base colour, then (value, colour) pairs."""
    out = [{"color": steps[0], "value": None}]
    out += [{"color": c, "value": v} for v, c in steps[1:]]
    return {"mode": mode, "steps": out}


def mapping(*pairs):
    """pairs: (value, text, colour)."""
    opts = {str(v): {"text": t, "color": c, "index": i} for i, (v, t, c) in enumerate(pairs)}
    return [{"type": "value", "options": opts}]


UP = mapping((1, "UP", "green"), (0, "DOWN", "red"))
OK = mapping((1, "OK", "green"), (0, "DEGRADED", "red"))
YESNO = mapping((1, "yes", "green"), (0, "no", "red"))
GREEN_RED = thresholds("green", (1, "red"))


def panel(kind, title, desc, unit, tgts, w, h, thr=None, mappings=None, options=None, custom=None,
          overrides=None, transformations=None, decimals=None):
    defaults = {"unit": unit, "mappings": mappings or [], "thresholds": thr or thresholds("green")}
    if custom is not None:
        defaults["custom"] = custom
    if decimals is not None:
        defaults["decimals"] = decimals
    if mappings and thr is None:
        defaults["color"] = {"mode": "thresholds"}
    p = {"type": kind, "title": title, "description": desc, "datasource": DS, "targets": tgts,
         "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
         "options": options or {}, "_w": w, "_h": h}
    if transformations:
        p["transformations"] = transformations
    return p


def stat(title, desc, unit, tgts, w=6, h=4, thr=None, mappings=None, text_mode="auto", color_mode="background"):
    opts = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": color_mode, "graphMode": "none", "textMode": text_mode,
            "justifyMode": "auto", "orientation": "auto"}
    return panel("stat", title, desc, unit, tgts, w, h, thr, mappings, opts)


def timeseries(title, desc, unit, tgts, w=12, h=8, thr=None, threshold_style="off", min_zero=False):
    custom = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10, "showPoints": "never",
              "spanNulls": False, "thresholdsStyle": {"mode": threshold_style}}
    p = panel("timeseries", title, desc, unit, tgts, w, h, thr, None,
              {"legend": {"displayMode": "table", "placement": "bottom", "calcs": ["lastNotNull"]},
               "tooltip": {"mode": "multi", "sort": "desc"}}, custom)
    if min_zero:
        p["fieldConfig"]["defaults"]["min"] = 0
    return p


def bargauge(title, desc, unit, tgts, w=12, h=8, thr=None, lo=0, hi=1):
    p = panel("bargauge", title, desc, unit, tgts, w, h, thr, None,
              {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
               "displayMode": "gradient", "orientation": "horizontal", "showUnfilled": True})
    p["fieldConfig"]["defaults"].update({"min": lo, "max": hi})
    return p


def column(ref, name, unit=None, thr=None, mappings=None, cell=None):
    props = [{"id": "displayName", "value": name}]
    if unit:
        props.append({"id": "unit", "value": unit})
    if thr:
        props.append({"id": "thresholds", "value": thr})
    if mappings:
        props.append({"id": "mappings", "value": mappings})
    if cell:
        props.append({"id": "custom.cellOptions", "value": {"type": cell}})
    return {"matcher": {"id": "byName", "options": "Value #" + ref}, "properties": props}


def table(title, desc, tgts, columns, hide=(), w=24, h=9, unit="short", sort=None):
    """A merged instant table: one row per label set, one value column per query."""
    exclude = {k: True for k in ("Time", "__name__", "job", "instance") + tuple(hide)}
    trans = [{"id": "merge", "options": {}},
             {"id": "organize", "options": {"excludeByName": exclude, "indexByName": {}, "renameByName": {}}}]
    if sort:
        trans.append({"id": "sortBy", "options": {"sort": [{"field": sort[0], "desc": sort[1]}]}})
    return panel("table", title, desc, unit, tgts, w, h, None, None,
                 {"showHeader": True, "cellHeight": "sm", "footer": {"show": False}},
                 {"align": "auto", "cellOptions": {"type": "auto"}, "filterable": True},
                 columns, trans)


def row(title):
    return {"type": "row", "title": title, "collapsed": False, "panels": [], "_w": 24, "_h": 1}


def var_datasource():
    return {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
            "current": {}, "hide": 0, "includeAll": False, "multi": False, "options": [], "refresh": 1,
            "regex": "", "skipUrlSync": False}


def var_query(name, label, query, all_value=".*"):
    return {"name": name, "label": label, "type": "query", "datasource": DS,
            "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
            "definition": query, "refresh": 2, "includeAll": True, "multi": True, "allValue": all_value,
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]}, "options": [],
            "hide": 0, "regex": "", "skipUrlSync": False, "sort": 1}


def var_job():
    return var_query("job", "Job", "label_values(persistence_exporter_build_info, job)", ".+")


def layout(panels):
    """Assigns ids and gridPos left to right, wrapping at 24 columns."""
    x = y = row_h = 0
    out = []
    for i, p in enumerate(panels, 1):
        w, h = p.pop("_w"), p.pop("_h")
        if x + w > 24 or p["type"] == "row":
            x, y, row_h = 0, y + row_h, 0
        p["id"] = i
        p["gridPos"] = {"x": x, "y": y, "w": w, "h": h}
        x += w
        row_h = max(row_h, h)
        if p["type"] == "row":
            x, y, row_h = 0, y + h, 0
        out.append(p)
    return out


def dashboard(uid, title, desc, variables, panels, links=True):
    d = {"id": None, "uid": uid, "title": title, "description": desc, "tags": TAGS,
         "timezone": "browser", "editable": True, "graphTooltip": 1, "refresh": "1m",
         "schemaVersion": SCHEMA_VERSION, "version": 1, "fiscalYearStartMonth": 0, "liveNow": False,
         "time": {"from": "now-24h", "to": "now"}, "timepicker": {},
         "annotations": {"list": [{"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                                   "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
                                   "name": "Annotations & Alerts", "type": "dashboard"}]},
         "templating": {"list": [var_datasource(), var_job()] + variables},
         "panels": layout(panels)}
    if links:
        d["links"] = [{"type": "dashboards", "tags": ["persistence_exporter"], "asDropdown": True,
                       "title": "Backup dashboards", "includeVars": True, "keepTime": True,
                       "icon": "external link", "targetBlank": False, "tooltip": "", "url": ""}]
    return d


# ---------------------------------------------------------------- overview
def overview():
    f = 'job=~"$job"'
    fs = 'job=~"$job", site=~"$site"'
    info = 'persistence_target_info{%s}' % fs

    def in_site(expr):
        return "%s and on(job, instance, target) %s" % (expr, info)

    ratio = "target:persistence_target_backup_age_seconds:last_known{%s} / on(job, instance, target) persistence_target_max_age_seconds{%s}" % (f, f)
    alerts = 'ALERTS{alertstate="firing", alertname=~"%s"}' % ALERT_RE
    panels = [
        row("Summary"),
        stat("Targets OK", "Inventory targets whose backup exists, is younger than its max_age and whose "
             "source is up (persistence_target_ok = 1), next to the number of targets. "
             "Recording rules site:persistence_targets_ok:sum and site:persistence_targets:count.", "short",
             targets(("sum(site:persistence_targets_ok:sum{%s})" % fs, "OK"),
                     ("sum(site:persistence_targets:count{%s})" % fs, "targets")),
             w=5, thr=thresholds("blue"), text_mode="value_and_name"),
        stat("Degraded targets", "Targets that are not OK: backup too old, missing, or its source down. "
             "Any value above 0 needs a look at the table below.", "short",
             targets(("sum(site:persistence_targets:count{%s}) - sum(site:persistence_targets_ok:sum{%s})" % (fs, fs), "degraded")),
             w=4, thr=GREEN_RED),
        stat("OK per site", "OK targets and all targets per site (the `site` of each inventory target).",
             "short", targets(("sum by (site) (site:persistence_targets_ok:sum{%s})" % fs, "{{site}} OK"),
                              ("sum by (site) (site:persistence_targets:count{%s})" % fs, "{{site}} targets")),
             w=9, thr=thresholds("blue"), text_mode="value_and_name"),
        stat("Firing alerts", "Alerts from the bundled rules (rules/*.yml) that are firing now, from the "
             "ALERTS series of this Prometheus.", "short",
             targets(("count(%s) or vector(0)" % alerts, "firing")), w=3, thr=GREEN_RED),
        stat("Sources down", "Configured sources (PVE clusters, PBS servers, mounts, n8n, Docker) whose last collection "
             "failed (persistence_source_up = 0).", "short",
             targets(("count(persistence_source_up{%s} == 0) or vector(0)" % f, "down")), w=3, thr=GREEN_RED),
        bargauge("OK ratio per site", "Share of each site's targets that are OK.", "percentunit",
                 targets(("sum by (site) (site:persistence_targets_ok:sum{%s}) / sum by (site) (site:persistence_targets:count{%s})"
                          % (fs, fs), "{{site}}")),
                 w=24, h=4, thr=thresholds("red", (0.95, "orange"), (1, "green"))),
        row("Targets"),
        table("Backup targets", "Every inventory target: last backup age (target:persistence_target_backup_age_seconds:last_known), "
              "its max_age, age as a share of max_age (red at 100 %), OK state and whether a restore path "
              "is documented. A target without any backup has no age.",
              targets((info, ""),
                      (in_site("target:persistence_target_backup_age_seconds:last_known{%s}" % f), ""),
                      (in_site("persistence_target_max_age_seconds{%s}" % f), ""),
                      (in_site(ratio), ""),
                      (in_site("persistence_target_ok{%s}" % f), ""),
                      (in_site("persistence_target_restore_documented{%s}" % f), ""), table=True),
              [column("B", "Age", "s"),
               column("C", "Max age", "s"),
               column("D", "Age / max age", "percentunit", thresholds("green", (0.8, "orange"), (1, "red")),
                      cell="color-background"),
               column("E", "State", mappings=OK, cell="color-background"),
               column("F", "Restore doc", mappings=YESNO, cell="color-text")],
              hide=("Value #A",), h=12, sort=("Value #D", True)),
        timeseries("Backup age relative to max age", "Each target's backup age divided by its max_age. "
                   "Above 100 % (the red line) the target is stale; a healthy daily backup saw-tooths "
                   "below it.", "percentunit",
                   targets((in_site(ratio), "{{target}}")), w=24,
                   thr=thresholds("green", (1, "red")), threshold_style="line", min_zero=True),
        table("Restorability per target", "Per target with a restorability policy: places holding a backup "
              "younger than max_age (persistence_target_copies) against min_copies, offsite copies "
              "(persistence_target_offsite_copies) and whether one is required, age of the newest verified backup "
              "(persistence_target_last_verified_timestamp_seconds), a backup within max_age that failed "
              "verification (persistence_target_verify_failed) and whether the policy is met "
              "(persistence_target_policy_ok).",
              targets((in_site("persistence_target_copies{%s}" % f), ""),
                      (in_site("persistence_target_min_copies{%s}" % f), ""),
                      (in_site("persistence_target_offsite_copies{%s}" % f), ""),
                      (in_site("persistence_target_require_offsite{%s}" % f), ""),
                      (in_site("time() - persistence_target_last_verified_timestamp_seconds{%s}" % f), ""),
                      (in_site("persistence_target_verify_failed{%s}" % f), ""),
                      (in_site("persistence_target_policy_ok{%s}" % f), ""), table=True),
              [column("A", "Copies", "short"),
               column("B", "Min copies", "short"),
               column("C", "Offsite", "short"),
               column("D", "Offsite required", mappings=YESNO, cell="color-text"),
               column("E", "Verified backup age", "s"),
               column("F", "Verify failed", mappings=mapping((1, "FAILED", "red"), (0, "no", "green")),
                      cell="color-background"),
               column("G", "Policy", mappings=OK, cell="color-background")],
              h=10, sort=("Value #G", False)),
        row("Alerts"),
        table("Firing alerts", "Alerts of the bundled rules firing now (ALERTS{alertstate=\"firing\"}). "
              "Each has a runbook in docs/runbooks/<alertname>.md.",
              targets((alerts, ""), table=True), [], hide=("Value", "alertstate"), h=8,
              sort=("severity", False)),
        row("Sources and exporter"),
        stat("Sources", "Last collection of each configured source: UP or DOWN (persistence_source_up). "
             "The exporter's log and status page say why a source is down.", "short",
             targets(("persistence_source_up{%s}" % f, "{{kind}} {{source}}")), w=12, mappings=UP,
             thr=thresholds("red", (1, "green")), text_mode="value_and_name"),
        stat("Exporter scrape", "Prometheus' own `up` for the exporter: 0 when a scrape fails or times out.",
             "short", targets(('up{%s}' % f, "{{instance}}")), w=4, mappings=UP,
             thr=thresholds("red", (1, "green")), text_mode="value_and_name"),
        stat("Collectors failing", "Collectors whose last run failed (persistence_scrape_collector_success = 0).",
             "short", targets(("count(persistence_scrape_collector_success{%s} == 0) or vector(0)" % f, "failing")),
             w=4, thr=GREEN_RED),
        stat("Config reload", "Whether the last configuration (re)load succeeded "
             "(persistence_config_last_reload_successful). A failed reload keeps the old config.",
             "short", targets(("persistence_config_last_reload_successful{%s}" % f, "{{instance}}")), w=4,
             mappings=OK, thr=thresholds("red", (1, "green"))),
        timeseries("Collector duration", "Time each collector took in a scrape "
                   "(persistence_scrape_collector_duration_seconds).", "s",
                   targets(("persistence_scrape_collector_duration_seconds{%s}" % f, "{{collector}}"))),
        timeseries("Time since last good answer per source", "time() - "
                   "persistence_source_last_success_timestamp_seconds: how stale each source's data is.",
                   "s", targets(("time() - persistence_source_last_success_timestamp_seconds{%s}" % f,
                                 "{{kind}} {{source}}")), min_zero=True),
        row("Docker volumes"),
        stat("Anonymous volumes", "Anonymous Docker volumes mounted by containers "
             "(persistence_docker_anonymous_volumes). Their data is lost on `docker compose down`; "
             "stateful data belongs on a named volume or a bind mount.", "short",
             targets(("sum by (source) (persistence_docker_anonymous_volumes{%s})" % f, "{{source}}")),
             w=6, h=8, thr=thresholds("green", (1, "orange")), text_mode="value_and_name"),
        table("Container mounts", "Every container mount by type (bind, volume, anonymous, tmpfs) from the "
              "Docker Engine API (persistence_docker_container_mount_info).",
              targets(("persistence_docker_container_mount_info{%s}" % f, ""), table=True), [],
              hide=("Value",), w=18, h=8, sort=("mount_type", False)),
    ]
    return dashboard("persistence-overview", "Backups / Overview",
                     "Backup inventory of persistence_exporter: targets OK per site, stale targets, "
                     "firing alerts, sources.",
                     [var_query("site", "Site", "label_values(persistence_target_info{job=~\"$job\"}, site)")],
                     panels)


# ---------------------------------------------------------------- PVE
def pve():
    s = 'job=~"$job", source=~"$source"'
    guest_join = "* on(job, instance, source, vmid) group_left(name) persistence_pve_guest_info{%s}" % s
    enabled = "and on(job, instance, source, backup_job) (persistence_pve_backup_job_enabled{%s} == 1)" % s
    not_tpl = "* on(job, instance, source, vmid) group_left() persistence_pve_guest_info{%s, template=\"0\"}" % s
    panels = [
        row("Guests"),
        stat("Guests", "PVE guests (VMs and containers, templates excluded) in the selected clusters.", "short",
             targets(('count by (source) (persistence_pve_guest_info{%s, template="0"})' % s, "{{source}}")),
             w=6, thr=thresholds("blue"), text_mode="value_and_name"),
        stat("Not covered by an enabled job", "Guests (not templates) that no enabled backup job selects "
             "(persistence_pve_guest_backup_covered = 0): no scheduled backup will ever be made.", "short",
             targets(("count((persistence_pve_guest_backup_covered{%s} == 0) %s) or vector(0)" % (s, not_tpl),
                      "uncovered")), w=6, thr=thresholds("green", (1, "orange"))),
        stat("Not in the inventory", "Guests (not templates) that no inventory target lists "
             "(persistence_pve_guest_in_inventory = 0): nobody stated how fresh their backup must be.",
             "short", targets(("count((persistence_pve_guest_in_inventory{%s} == 0) %s) or vector(0)" % (s, not_tpl),
                               "not in inventory")), w=6, thr=thresholds("green", (1, "blue"))),
        stat("Overdue backup jobs", "Enabled jobs whose next slot after their last run passed more than "
             "30 minutes ago (backup_job:persistence_pve_backup_job_overdue_seconds:last_known > 1800): the scheduler did not "
             "start them.", "short",
             targets(("count((backup_job:persistence_pve_backup_job_overdue_seconds:last_known{%s} > 1800) %s) or vector(0)" % (s, enabled),
                      "overdue")), w=6, thr=GREEN_RED),
        table("Guest backups", "Per guest: newest archive age over every backup storage "
              "(guest:persistence_pve_guest_backup_age_seconds:last10m; orange after 26 h, red after 2 days), archive "
              "count, newest archive size, whether an enabled job covers it, and whether an inventory "
              "target lists it. No age means no archive (or archives hidden from the API token).",
              targets(("persistence_pve_guest_info{%s}" % s, ""),
                      ("guest:persistence_pve_guest_backup_age_seconds:last10m{%s}" % s, ""),
                      ("persistence_pve_guest_backups{%s}" % s, ""),
                      ("persistence_pve_guest_last_backup_size_bytes{%s}" % s, ""),
                      ("persistence_pve_guest_backup_covered{%s}" % s, ""),
                      ("persistence_pve_guest_in_inventory{%s}" % s, ""), table=True),
              [column("B", "Backup age", "s", thresholds("green", (26 * 3600, "orange"), (2 * DAY, "red")),
                      cell="color-background"),
               column("C", "Archives", "short"),
               column("D", "Newest size", "bytes"),
               column("E", "Covered", mappings=YESNO, cell="color-text"),
               column("F", "In inventory", mappings=YESNO, cell="color-text")],
              hide=("Value #A",), h=10, sort=("Value #B", True)),
        timeseries("Guest backup age", "Age of each guest's newest backup archive. A daily job draws a "
                   "saw-tooth under 1 day; a line that keeps rising is a guest no longer backed up.", "s",
                   targets(("guest:persistence_pve_guest_backup_age_seconds:last10m{%s} %s" % (s, guest_join),
                            "{{source}} {{vmid}} {{name}}")), w=24,
                   thr=thresholds("green", (26 * 3600, "red")), threshold_style="line", min_zero=True),
        row("Restorability per guest"),
        table("Backups per guest and storage", "Per guest and backup storage: age of the newest archive there "
              "(time() - persistence_pve_guest_storage_last_backup_timestamp_seconds; orange after 26 h, red "
              "after 2 days) and how many archives it holds (persistence_pve_guest_storage_backups). A guest "
              "on one storage only has one copy: one lost NAS loses every backup.",
              targets(("time() - persistence_pve_guest_storage_last_backup_timestamp_seconds{%s}" % s, ""),
                      ("persistence_pve_guest_storage_backups{%s}" % s, ""), table=True),
              [column("A", "Newest backup age", "s", thresholds("green", (26 * 3600, "orange"), (2 * DAY, "red")),
                      cell="color-background"),
               column("B", "Archives", "short")],
              h=10, sort=("Value #A", True)),
        table("Verification per guest", "Guests with backups on a Proxmox Backup Server storage: age of the "
              "newest backup that passed verification "
              "(time() - persistence_pve_guest_last_verified_backup_timestamp_seconds; orange after 7 days), "
              "how long ago that verification ran (persistence_pve_guest_last_verify_timestamp_seconds), "
              "backups that failed verification (persistence_pve_guest_verify_failed_backups; red: those "
              "cannot be restored), and whether the newest backup is protected and encrypted.",
              targets(("time() - persistence_pve_guest_last_verified_backup_timestamp_seconds{%s}" % s, ""),
                      ("time() - persistence_pve_guest_last_verify_timestamp_seconds{%s}" % s, ""),
                      ("persistence_pve_guest_verify_failed_backups{%s}" % s, ""),
                      ("persistence_pve_guest_last_backup_protected{%s}" % s, ""),
                      ("persistence_pve_guest_last_backup_encrypted{%s}" % s, ""), table=True),
              [column("A", "Verified backup age", "s", thresholds("green", (7 * DAY, "orange")),
                      cell="color-background"),
               column("B", "Verify ran", "s"),
               column("C", "Failed verification", "short", thresholds("green", (1, "red")), cell="color-background"),
               column("D", "Newest protected", mappings=YESNO, cell="color-text"),
               column("E", "Newest encrypted", mappings=YESNO, cell="color-text")],
              h=10, sort=("Value #C", True)),
        row("Backup jobs"),
        table("Backup jobs", "Every vzdump job of /cluster/backup with its schedule, storage, node restriction "
              "and whether it is enabled.",
              targets(("persistence_pve_backup_job_info{%s}" % s, ""),
                      ("persistence_pve_backup_job_enabled{%s}" % s, ""), table=True),
              [column("B", "Enabled", mappings=YESNO, cell="color-text")],
              hide=("Value #A",), w=12, h=8),
        table("Job runs per node", "Per job and node: time since the job last ran there and how far the "
              "first slot after that run is in the past (time() - next_due, recording rule "
              "backup_job:persistence_pve_backup_job_overdue_seconds:last_known; negative = not due yet, red after 30 minutes).",
              targets(("time() - persistence_pve_backup_job_last_run_timestamp_seconds{%s}" % s, ""),
                      ("backup_job:persistence_pve_backup_job_overdue_seconds:last_known{%s}" % s, ""), table=True),
              [column("A", "Since last run", "s"),
               column("B", "Overdue by", "s", thresholds("green", (1800, "red")), cell="color-background")],
              w=12, h=8, unit="s"),
        timeseries("Job overdue (time() - next_due)", "How long ago each enabled job's next slot passed; "
                   "negative while the slot is ahead. The red line is the 30 minute grace of "
                   "PVEBackupJobOverdue.", "s",
                   targets(("backup_job:persistence_pve_backup_job_overdue_seconds:last_known{%s}" % s,
                            "{{source}} {{backup_job}} @ {{node}}")),
                   thr=thresholds("green", (1800, "red")), threshold_style="line"),
        table("Last vzdump task per node", "The newest finished vzdump task of each node (manual runs "
              "included): how long ago it ended and whether it succeeded (OK or WARNINGS).",
              targets(("time() - persistence_pve_vzdump_last_task_end_timestamp_seconds{%s}" % s, ""),
                      ("persistence_pve_vzdump_last_task_success{%s}" % s, ""), table=True),
              [column("A", "Ended", "s"), column("B", "Result", mappings=OK, cell="color-background")],
              w=12, h=8, unit="s"),
        row("pvescheduler"),
        stat("pvescheduler service", "pvescheduler.service active and running, per node, from the PVE API "
             "(persistence_pve_scheduler_up). Stays UP when the scheduler hangs: watch the job overdue "
             "and memory panels.", "short",
             targets(("persistence_pve_scheduler_up{%s}" % s, "{{source}} {{node}}")), w=8,
             mappings=UP, thr=thresholds("red", (1, "green")), text_mode="value_and_name"),
        stat("pvescheduler process (node-local)", "Main pvescheduler process found in /proc by an exporter "
             "running on the node with `local: true` (persistence_pve_scheduler_process_up).", "short",
             targets(("persistence_pve_scheduler_process_up{%s}" % s, "{{source}} {{node}}")), w=8,
             mappings=UP, thr=thresholds("red", (1, "green")), text_mode="value_and_name"),
        stat("pvescheduler uptime", "Time since the main pvescheduler process started "
             "(time() - persistence_pve_scheduler_start_time_seconds).", "s",
             targets(("time() - persistence_pve_scheduler_start_time_seconds{%s}" % s, "{{source}} {{node}}")),
             w=8, thr=thresholds("blue"), text_mode="value_and_name", color_mode="value"),
        timeseries("pvescheduler resident memory", "RSS of the main pvescheduler process "
                   "(persistence_pve_scheduler_resident_memory_bytes). Healthy: 100-300 MB. The incident "
                   "this exists for reached 17.9 GB while no job started. Lines at 1 GiB and 4 GiB.",
                   "bytes", targets(("persistence_pve_scheduler_resident_memory_bytes{%s}" % s, "{{source}} {{node}}")),
                   w=8, thr=thresholds("green", (1073741824, "orange"), (4294967296, "red")),
                   threshold_style="line", min_zero=True),
        timeseries("pvescheduler cgroup anonymous memory", "`anon` of the pvescheduler.service cgroup "
                   "(persistence_pve_scheduler_cgroup_anon_bytes): leaked memory of the main process and "
                   "its children, without page cache.", "bytes",
                   targets(("persistence_pve_scheduler_cgroup_anon_bytes{%s}" % s, "{{source}} {{node}}")),
                   w=8, min_zero=True),
        timeseries("Oldest pvescheduler child", "Age of the oldest child of the main process "
                   "(persistence_pve_scheduler_oldest_child_age_seconds, 0 when none). A jobs child lives "
                   "seconds; one older than 10 minutes (red line) blocks all scheduling.", "s",
                   targets(("persistence_pve_scheduler_oldest_child_age_seconds{%s}" % s, "{{source}} {{node}}")),
                   w=8, thr=thresholds("green", (600, "red")), threshold_style="line", min_zero=True),
        table("Job state files (node-local)", "Time since each job last ran according to the node's "
              "/var/lib/pve-manager/jobs/vzdump-<job>.json (persistence_pve_job_state_last_run_timestamp_seconds).",
              targets(("time() - persistence_pve_job_state_last_run_timestamp_seconds{%s}" % s, ""), table=True),
              [column("A", "Since last run", "s")], w=24, h=6, unit="s"),
        row("Nodes and backup storage"),
        stat("Nodes", "PVE nodes online (persistence_pve_node_up).", "short",
             targets(("persistence_pve_node_up{%s}" % s, "{{source}} {{node}}")), w=12,
             mappings=UP, thr=thresholds("red", (1, "green")), text_mode="value_and_name"),
        stat("Backup storages", "Backup storages enabled and active per node (persistence_pve_storage_up).",
             "short", targets(("persistence_pve_storage_up{%s}" % s, "{{source}} {{node}} {{storage}}")), w=12,
             mappings=UP, thr=thresholds("red", (1, "green")), text_mode="value_and_name"),
        bargauge("Backup storage free", "Free share of each backup storage (recording rule "
                 "storage:persistence_pve_storage_avail:ratio_last10m). Red below 10 %.", "percentunit",
                 targets(("storage:persistence_pve_storage_avail:ratio_last10m{%s}" % s, "{{source}} {{node}} {{storage}}")),
                 thr=thresholds("red", (0.1, "orange"), (0.2, "green"))),
        timeseries("Backup storage available", "Available bytes per backup storage "
                   "(persistence_pve_storage_avail_bytes), published only while the storage is up.", "bytes",
                   targets(("persistence_pve_storage_avail_bytes{%s}" % s, "{{source}} {{node}} {{storage}}")),
                   min_zero=True),
    ]
    return dashboard("persistence-pve", "Backups / Proxmox VE",
                     "Proxmox VE backups: guest backup ages and coverage, backup jobs and whether they "
                     "are overdue, the last vzdump task, pvescheduler health and backup storage space.",
                     [var_query("source", "PVE cluster",
                                "label_values(persistence_pve_node_up{job=~\"$job\"}, source)")], panels)


# ---------------------------------------------------------------- PBS
def pbs():
    s = 'job=~"$job", source=~"$source"'
    d = 'job=~"$job", source=~"$source", datastore=~"$datastore"'
    jobkey = "on(job, instance, source, job_type, job_id)"
    panels = [
        row("Summary"),
        stat("Datastores", "Datastores whose status request succeeded (persistence_pbs_datastore_up): UP, or "
             "DOWN when PBS could not open the store, refused the token (403) or it is in maintenance.",
             "short", targets(("persistence_pbs_datastore_up{%s}" % d, "{{source}} {{datastore}}")), w=8,
             mappings=UP, thr=thresholds("red", (1, "green")), text_mode="value_and_name"),
        stat("Failed jobs", "Verify, prune and sync jobs whose last run failed "
             "(persistence_pbs_job_last_run_success = 0), and datastores whose last garbage collection "
             "failed.", "short",
             targets(("count(persistence_pbs_job_last_run_success{%s} == 0) or vector(0)" % d, "jobs"),
                     ("count(persistence_pbs_gc_last_run_success{%s} == 0) or vector(0)" % d, "GC")),
             w=4, thr=GREEN_RED, text_mode="value_and_name"),
        stat("Overdue", "Enabled jobs and GCs whose next slot after their last run passed more than 30 "
             "minutes ago (time() - persistence_pbs_job_next_due_timestamp_seconds > 1800, the same for "
             "persistence_pbs_gc_next_due_timestamp_seconds): the PBS did not run them.", "short",
             targets(("count((time() - persistence_pbs_job_next_due_timestamp_seconds{%s} > 1800) and %s "
                      "(persistence_pbs_job_enabled == 1)) or vector(0)" % (d, jobkey), "jobs"),
                     ("count(time() - persistence_pbs_gc_next_due_timestamp_seconds{%s} > 1800) or vector(0)" % d,
                      "GC")), w=4, thr=GREEN_RED, text_mode="value_and_name"),
        stat("Snapshots failing verification", "Snapshots whose last verification failed, over every group "
             "(sum of persistence_pbs_group_verify_failed_snapshots). They cannot be restored.", "short",
             targets(("sum(persistence_pbs_group_verify_failed_snapshots{%s}) or vector(0)" % d, "failed")),
             w=4, thr=GREEN_RED),
        stat("Bad chunks left", "Chunks a verify marked bad that are still on disk after the last GC "
             "(persistence_pbs_gc_still_bad_chunks).", "short",
             targets(("sum(persistence_pbs_gc_still_bad_chunks{%s}) or vector(0)" % d, "still bad")),
             w=4, thr=thresholds("green", (1, "orange"))),
        row("Datastores"),
        table("Datastores", "Per datastore: used share, available bytes, PBS's own estimate of how long until "
              "it is full (persistence_pbs_datastore_estimated_full_timestamp_seconds - time(); empty when "
              "usage is flat or shrinking), and the last garbage collection: how long ago it ended, its "
              "result and the bytes it will free next time.",
              targets(("persistence_pbs_datastore_used_bytes{%s} / persistence_pbs_datastore_size_bytes{%s}"
                       % (d, d), ""),
                      ("persistence_pbs_datastore_avail_bytes{%s}" % d, ""),
                      ("persistence_pbs_datastore_estimated_full_timestamp_seconds{%s} - time()" % d, ""),
                      ("time() - persistence_pbs_gc_last_run_timestamp_seconds{%s}" % d, ""),
                      ("persistence_pbs_gc_last_run_success{%s}" % d, ""),
                      ("persistence_pbs_gc_pending_bytes{%s}" % d, ""), table=True),
              [column("A", "Used", "percentunit", thresholds("green", (0.8, "orange"), (0.9, "red")),
                      cell="color-background"),
               column("B", "Available", "bytes"),
               column("C", "Full in", "s", thresholds("red", (7 * DAY, "orange"), (30 * DAY, "green")),
                      cell="color-text"),
               column("D", "Last GC", "s"),
               column("E", "GC result", mappings=OK, cell="color-background"),
               column("F", "GC pending", "bytes")], h=7),
        timeseries("Used share", "Used bytes over size per datastore (persistence_pbs_datastore_used_bytes / "
                   "persistence_pbs_datastore_size_bytes). The red line is 90 %.", "percentunit",
                   targets(("persistence_pbs_datastore_used_bytes{%s} / persistence_pbs_datastore_size_bytes{%s}"
                            % (d, d), "{{source}} {{datastore}}")),
                   thr=thresholds("green", (0.9, "red")), threshold_style="line", min_zero=True),
        timeseries("Time until full (PBS estimate)", "persistence_pbs_datastore_estimated_full_timestamp_seconds "
                   "- time(): PBS's linear fit over its 30-day usage history. A gap means PBS has no estimate "
                   "(flat or shrinking usage). The red line is 7 days.", "s",
                   targets(("persistence_pbs_datastore_estimated_full_timestamp_seconds{%s} - time()" % d,
                            "{{source}} {{datastore}}")),
                   thr=thresholds("red", (7 * DAY, "green")), threshold_style="line", min_zero=True),
        row("Jobs"),
        table("Verify, prune and sync jobs", "Every job with its datastore and schedule: whether it is "
              "enabled, how long ago its last run ended, its result, and time() - next_due (negative while "
              "the next slot is ahead; red more than 30 minutes past it: overdue). A sync job is the offsite "
              "copy.",
              targets(("persistence_pbs_job_info{%s}" % d, ""),
                      ("persistence_pbs_job_enabled{%s}" % d, ""),
                      ("time() - persistence_pbs_job_last_run_timestamp_seconds{%s}" % d, ""),
                      ("persistence_pbs_job_last_run_success{%s}" % d, ""),
                      ("time() - persistence_pbs_job_next_due_timestamp_seconds{%s}" % d, ""), table=True),
              [column("B", "Enabled", mappings=YESNO, cell="color-text"),
               column("C", "Last run", "s"),
               column("D", "Result", mappings=OK, cell="color-background"),
               column("E", "Past next slot", "s", thresholds("green", (1800, "red")), cell="color-background")],
              hide=("Value #A",), h=9, sort=("Value #E", True)),
        timeseries("Jobs: time past the next slot", "time() - persistence_pbs_job_next_due_timestamp_seconds "
                   "per job, and the same for GC: negative while the slot is ahead, climbing when a slot "
                   "passes without a run. The red line is the 30 minute grace.", "s",
                   targets(("time() - persistence_pbs_job_next_due_timestamp_seconds{%s}" % d,
                            "{{source}} {{job_type}} {{job_id}}"),
                           ("time() - persistence_pbs_gc_next_due_timestamp_seconds{%s}" % d,
                            "{{source}} GC {{datastore}}")),
                   thr=thresholds("green", (1800, "red")), threshold_style="line"),
        table("Failed tasks", "The newest failed task per worker type (persistence_pbs_task_last_failure_"
              "timestamp_seconds): how long ago it ended. Backups, verifies, GC and syncs that failed show "
              "here even when a later run succeeded.",
              targets(("time() - persistence_pbs_task_last_failure_timestamp_seconds{%s}" % s, ""), table=True),
              [column("A", "Failed", "s", thresholds("red", (DAY, "orange"), (7 * DAY, "green")),
                      cell="color-text")], w=12, h=9, unit="s", sort=("Value", False)),
        row("Backup groups"),
        table("Backup groups", "Per backup group (datastore, namespace, type, id): finished snapshots, age of "
              "the newest (orange after 26 h, red after 2 days), age of the newest snapshot that passed "
              "verification, snapshots that failed verification, and the newest snapshot's size. A running "
              "backup is not counted until it finishes.",
              targets(("persistence_pbs_group_snapshots{%s}" % d, ""),
                      ("time() - persistence_pbs_group_last_backup_timestamp_seconds{%s}" % d, ""),
                      ("time() - persistence_pbs_group_last_verified_backup_timestamp_seconds{%s}" % d, ""),
                      ("persistence_pbs_group_verify_failed_snapshots{%s}" % d, ""),
                      ("persistence_pbs_group_last_backup_size_bytes{%s}" % d, ""), table=True),
              [column("A", "Snapshots", "short"),
               column("B", "Newest", "s", thresholds("green", (26 * 3600, "orange"), (2 * DAY, "red")),
                      cell="color-background"),
               column("C", "Newest verified", "s"),
               column("D", "Verify failed", "short", GREEN_RED, cell="color-text"),
               column("E", "Size", "bytes")], h=12, sort=("Value #B", True)),
        timeseries("Newest backup age per group", "time() - persistence_pbs_group_last_backup_timestamp_seconds: "
                   "a daily backup saw-tooths under a day; a line that keeps rising is a group no longer "
                   "backed up.", "s",
                   targets(("time() - persistence_pbs_group_last_backup_timestamp_seconds{%s}" % d,
                            "{{datastore}} {{namespace}} {{backup_type}}/{{backup_id}}")), w=24,
                   thr=thresholds("green", (26 * 3600, "red")), threshold_style="line", min_zero=True),
    ]
    return dashboard("persistence-pbs", "Backups / PBS",
                     "Proxmox Backup Server: datastore space and PBS's full-date estimate, garbage "
                     "collection, verify / prune / sync jobs and whether they are overdue, failed tasks, and "
                     "every backup group's newest and newest verified snapshot.",
                     [var_query("source", "PBS", "label_values(persistence_pbs_datastore_up{job=~\"$job\"}, source)"),
                      var_query("datastore", "Datastore",
                                "label_values(persistence_pbs_datastore_up{job=~\"$job\", source=~\"$source\"}, "
                                "datastore)")],
                     panels)


# ---------------------------------------------------------------- mounts
def mounts():
    m = 'job=~"$job", source=~"$source"'
    panels = [
        row("State"),
        stat("Mounted", "The path is a mount point of the expected type in /proc/self/mountinfo "
             "(persistence_mount_present). When it is not, backups land on the local disk.", "short",
             targets(("persistence_mount_present{%s}" % m, "{{source}}")), mappings=mapping(
                 (1, "MOUNTED", "green"), (0, "MISSING", "red")), thr=thresholds("red", (1, "green")),
             text_mode="value_and_name"),
        stat("Responsive", "The last statvfs/scan probe finished within the mount's timeout "
             "(persistence_mount_responsive). A hung NFS server makes it 0 without blocking scrapes.",
             "short", targets(("persistence_mount_responsive{%s}" % m, "{{source}}")),
             mappings=mapping((1, "RESPONSIVE", "green"), (0, "HUNG", "red")),
             thr=thresholds("red", (1, "green")), text_mode="value_and_name"),
        stat("Writable", "The write probe could create and remove a file (persistence_mount_writable).",
             "short", targets(("persistence_mount_writable{%s}" % m, "{{source}}")), mappings=YESNO,
             thr=thresholds("red", (1, "green")), text_mode="value_and_name"),
        stat("Partial files", "Leftover partial files (*.dat, *.tmp) in the dump folder "
             "(persistence_mount_partial_files): interrupted or running backups.", "short",
             targets(("persistence_mount_partial_files{%s}" % m, "{{source}}")),
             thr=thresholds("green", (1, "orange")), text_mode="value_and_name"),
        table("Mounts", "What is mounted at each configured path: file system type and device "
              "(persistence_mount_info).",
              targets(("persistence_mount_info{%s}" % m, ""), table=True), [], hide=("Value",), h=5),
        row("Probe and space"),
        timeseries("Probe duration", "How long the last mount probe took "
                   "(persistence_mount_probe_duration_seconds). A slow NFS server shows here first.", "s",
                   targets(("persistence_mount_probe_duration_seconds{%s}" % m, "{{source}}")), w=8, min_zero=True),
        bargauge("Free space", "Available share of each mount (recording rule mount:persistence_mount_avail:ratio_last10m). "
                 "Red below 10 %.", "percentunit",
                 targets(("mount:persistence_mount_avail:ratio_last10m{%s}" % m, "{{source}}")), w=8,
                 thr=thresholds("red", (0.1, "orange"), (0.2, "green"))),
        timeseries("Size and available", "Mount size and available bytes (persistence_mount_size_bytes, "
                   "persistence_mount_avail_bytes).", "bytes",
                   targets(("persistence_mount_size_bytes{%s}" % m, "{{source}} size"),
                           ("persistence_mount_avail_bytes{%s}" % m, "{{source}} available")), w=8, min_zero=True),
        row("vzdump archives in the dump folder"),
        table("Archives per guest", "Per guest found in the dump folder: number of vzdump archives, age and "
              "size of the newest (persistence_mount_archives, persistence_mount_archive_last_*).",
              targets(("persistence_mount_archives{%s}" % m, ""),
                      ("time() - persistence_mount_archive_last_timestamp_seconds{%s}" % m, ""),
                      ("persistence_mount_archive_last_size_bytes{%s}" % m, ""), table=True),
              [column("A", "Archives", "short"),
               column("B", "Newest age", "s", thresholds("green", (26 * 3600, "orange"), (2 * DAY, "red")),
                      cell="color-background"),
               column("C", "Newest size", "bytes")], w=12, h=8, sort=("Value #B", True)),
        timeseries("Newest archive age", "Age of each guest's newest archive on the mount.", "s",
                   targets(("time() - persistence_mount_archive_last_timestamp_seconds{%s}" % m,
                            "{{source}} {{guest_type}} {{vmid}}")), w=12,
                   thr=thresholds("green", (26 * 3600, "red")), threshold_style="line", min_zero=True),
        stat("vzdump log of the newest archive", "Per guest: the task log vzdump wrote beside its newest archive "
             "(persistence_mount_archive_last_log_ok): OK when it shows \"Finished Backup of VM\" and no ERROR: "
             "line, FAILED otherwise (an error, or a log cut off). Guests without a log are not shown.", "short",
             targets(("persistence_mount_archive_last_log_ok{%s}" % m, "{{source}} {{vmid}}")), w=24,
             mappings=mapping((1, "OK", "green"), (0, "FAILED", "red")), thr=thresholds("red", (1, "green")),
             text_mode="value_and_name"),
    ]
    return dashboard("persistence-mounts", "Backups / Mounts",
                     "Backup mounts (for example a NAS over NFS): mounted, responsive, writable, space, "
                     "the vzdump archives in the dump folder and leftover partial files.",
                     [var_query("source", "Mount", "label_values(persistence_mount_present{job=~\"$job\"}, source)")],
                     panels)


# ---------------------------------------------------------------- n8n
def n8n():
    n = 'job=~"$job", source=~"$source"'
    panels = [
        row("Workflows"),
        stat("Live workflows", "Workflows the n8n API lists, every state (recording rule "
             "source:persistence_n8n_workflows:sum_last10m). Absent, not 0, when the API cannot be read.", "short",
             targets(("source:persistence_n8n_workflows:sum_last10m{%s}" % n, "{{source}}")), w=4, thr=thresholds("blue"),
             text_mode="value_and_name", color_mode="value"),
        stat("In the newest snapshot", "Workflows held by the newest export snapshot "
             "(persistence_n8n_snapshot_workflows).", "short",
             targets(("persistence_n8n_snapshot_workflows{%s}" % n, "{{source}}")), w=4, thr=thresholds("blue"),
             text_mode="value_and_name", color_mode="value"),
        stat("Live / snapshot", "Live workflows as a share of the newest snapshot. Below 90 % "
             "N8nWorkflowCountDropped fires: workflows were lost (restore them from the snapshot).",
             "percentunit", targets(("source:persistence_n8n_workflows:sum_last10m{%s} / on(job, instance, source) "
                                     "persistence_n8n_snapshot_workflows{%s}" % (n, n), "{{source}}")),
             w=4, thr=thresholds("red", (0.9, "green")), text_mode="value_and_name"),
        stat("Snapshot age", "Age of the newest snapshot (recording rule source:persistence_n8n_snapshot_age_seconds:last10m). "
             "Red after 26 hours: the daily export stopped.", "s",
             targets(("source:persistence_n8n_snapshot_age_seconds:last10m{%s}" % n, "{{source}}")), w=4,
             thr=thresholds("green", (26 * 3600, "red")), text_mode="value_and_name"),
        stat("Snapshots kept", "Snapshot files or folders in the `snapshots:` location (persistence_n8n_snapshots).",
             "short", targets(("persistence_n8n_snapshots{%s}" % n, "{{source}}")), w=4, thr=thresholds("blue"),
             text_mode="value_and_name", color_mode="value"),
        stat("n8n API", "Whether the last collection read the n8n API (persistence_source_up{kind=\"n8n\"}).",
             "short", targets(('persistence_source_up{%s, kind="n8n"}' % n, "{{source}}")), w=4,
             mappings=UP, thr=thresholds("red", (1, "green")), text_mode="value_and_name"),
        timeseries("Workflows by state and snapshot", "Live workflows by state (active, inactive, archived), "
                   "their total, and the count in the newest snapshot. A total falling below the snapshot "
                   "line is the 35 -> 1 rebuild incident.", "short",
                   targets(("persistence_n8n_workflows{%s}" % n, "{{source}} {{state}}"),
                           ("source:persistence_n8n_workflows:sum_last10m{%s}" % n, "{{source}} live total"),
                           ("persistence_n8n_snapshot_workflows{%s}" % n, "{{source}} snapshot")),
                   w=16, min_zero=True),
        timeseries("Snapshot age", "Age of the newest snapshot over time; the red line is 26 hours.", "s",
                   targets(("source:persistence_n8n_snapshot_age_seconds:last10m{%s}" % n, "{{source}}")), w=8,
                   thr=thresholds("green", (26 * 3600, "red")), threshold_style="line", min_zero=True),
    ]
    return dashboard("persistence-n8n", "Backups / n8n",
                     "n8n workflows: live count by state against the newest export snapshot, and the "
                     "snapshot's age.",
                     [var_query("source", "n8n instance",
                                "label_values(persistence_source_up{job=~\"$job\", kind=\"n8n\"}, source)")],
                     panels)


DASHBOARDS = {"overview.json": overview, "pve.json": pve, "pbs.json": pbs, "mounts.json": mounts,
              "n8n.json": n8n}


def render(fn):
    return json.dumps(fn(), indent=2, sort_keys=False) + "\n"


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for name, fn in DASHBOARDS.items():
        path = os.path.join(HERE, name)
        text = render(fn)
        if check:
            try:
                with open(path, encoding="utf-8") as f:
                    if f.read() != text:
                        stale.append(name)
            except FileNotFoundError:
                stale.append(name)
        else:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
    if stale:
        print("dashboards: out of date with dashboards/generate.py: %s (run python3 dashboards/generate.py)"
              % ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
