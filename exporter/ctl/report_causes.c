/* report_causes.c - which firing alert explains a target's gap: alert names -> causes, alert labels -> targets. */
#include "report.h"

#include <string.h>

/*
 * The bundled alerts (docs/alerts.md) and those of the restorability and
 * restore-drill issues, as causes. Rank: 1 the exporter itself, 2 the thing
 * that stops backups, 3 a failed backup or check, 4 a source that does not
 * answer, 5-6 conditions that may explain it, 9 the target's own symptom
 * alerts (used only when nothing better fired). 0: never a cause.
 */
static const struct report_cause {
	const char *alert;
	const char *text;
	int rank;
} report_causes[] = {
	{"PersistenceExporterDown", "exporter down", 1},
	{"PersistenceExporterAbsent", "exporter not scraped", 1},
	{"PVEBackupJobOverdue", "backup job overdue", 2},
	{"PVESchedulerDown", "pvescheduler not running", 2},
	{"PVENodeOffline", "PVE node offline", 2},
	{"N8nInstanceUnreachable", "n8n API unreachable or key refused", 2},
	{"BackupMountMissing", "backup mount missing", 2},
	{"BackupMountUnresponsive", "backup mount unresponsive", 2},
	{"BackupMountNotWritable", "backup mount not writable", 2},
	{"PVEBackupStorageDown", "backup storage down", 2},
	{"N8nWorkflowCountDropped", "n8n workflow count dropped", 2},
	{"BackupVerifyFailed", "backup failed verification", 2},
	{"PVEVzdumpTaskFailed", "backup task failed", 3},
	{"PVESchedulerChildStuck", "pvescheduler stuck", 3},
	{"PVEBackupJobDueUnknown", "backup job's next slot unknown", 3},
	{"BackupLogReportsFailure", "backup log reports a failure", 3},
	{"BackupTargetRestoreTestFailed", "restore test failed", 3},
	{"PersistenceSourceDown", "source down", 4},
	{"PersistenceCollectorFailing", "collector failing", 4},
	{"PVESchedulerMemoryHigh", "pvescheduler memory high", 5},
	{"PVEBackupStorageAlmostFull", "backup storage almost full", 5},
	{"BackupMountAlmostFull", "backup mount almost full", 5},
	{"N8nSnapshotStale", "n8n snapshot stale", 5},
	{"BackupTargetTooFewCopies", "too few copies", 5},
	{"BackupTargetNoOffsiteCopy", "no offsite copy", 5},
	{"BackupUnverified", "backup not verified in time", 5},
	{"BackupTargetRestoreUntested", "restore not tested in time", 5},
	{"BackupTargetRestoreSlowerThanRTO", "restore slower than the RTO", 5},
	{"PVEBackupStorageFillingUp", "backup storage filling up", 6},
	{"BackupMountFillingUp", "backup mount filling up", 6},
	{"BackupMountPartialFiles", "partial backup files on the mount", 6},
	{"PersistenceConfigReloadFailed", "config reload failed", 6},
	{"BackupTargetStale", "backup too old or source down", 9},
	{"BackupTargetNeverBackedUp", "no backup found", 9},
	/* about guests, documentation or containers: never why a target was not OK */
	{"PVEGuestNotCovered", NULL, 0},
	{"PVEGuestNotInInventory", NULL, 0},
	{"BackupTargetRestoreUndocumented", NULL, 0},
	{"AnonymousVolumeOnStatefulContainer", NULL, 0},
};

#define REPORT_UNKNOWN_RANK 7

static const struct report_cause *report_cause_find(const char *alertname)
{
	for (size_t i = 0; i < sizeof(report_causes) / sizeof(report_causes[0]); i++)
		if (strcmp(report_causes[i].alert, alertname) == 0)
			return &report_causes[i];
	return NULL;
}

const char *report_alert_label(const struct report_alert *a, const char *name)
{
	for (size_t i = 0; i < a->nlabels; i++)
		if (strcmp(a->labels[i].name, name) == 0)
			return a->labels[i].value;
	return NULL;
}

int report_cause_of(const struct report_alert *a, const char **text, int *rank)
{
	const char *name = report_alert_label(a, "alertname");
	const char *severity = report_alert_label(a, "severity");
	if (!name)
		return 0;
	const struct report_cause *c = report_cause_find(name);
	if (c) {
		*text = c->text;
		*rank = c->rank;
		return c->rank > 0;
	}
	if (!severity || (strcmp(severity, "critical") != 0 && strcmp(severity, "warning") != 0))
		return 0;
	*text = name;
	*rank = REPORT_UNKNOWN_RANK;
	return 1;
}

/* 1 when the alert's label name is absent or equals want. */
static int report_label_fits(const struct report_alert *a, const char *name, const char *want)
{
	const char *v = report_alert_label(a, name);
	return !v || strcmp(v, want) == 0;
}

/* Source kinds whose alerts concern a target of kind: its own, and pve_local for pve. */
static int report_kind_fits(const char *alert_kind, const char *target_kind)
{
	return strcmp(alert_kind, target_kind) == 0 ||
	       (strcmp(alert_kind, "pve_local") == 0 && strcmp(target_kind, "pve") == 0);
}

int report_alert_concerns(const struct report_alert *a, const struct report_target *t)
{
	const char *target = report_alert_label(a, "target");
	const char *source = report_alert_label(a, "source");
	const char *kind = report_alert_label(a, "kind");
	const char *name = report_alert_label(a, "alertname");
	if (!report_alert_label(a, "instance"))
		/* an alert about no exporter in particular: only ours (absent(up)) mean every target */
		return name && report_cause_find(name) && !target && !source;
	if (!report_label_fits(a, "instance", t->instance) || !report_label_fits(a, "job", t->job))
		return 0;
	if (target)
		return strcmp(target, t->name) == 0;
	if (report_alert_label(a, "vmid"))
		return 0; /* a guest: the report does not know which target watches it */
	if (source)
		return t->source && strcmp(source, t->source) == 0 &&
		       (!kind || report_kind_fits(kind, t->kind));
	return 1; /* the exporter itself */
}
