/* inventory.c - the backup inventory report: freeing it, its summary line, and how ages and docs are shown. */
#include "inventory.h"

#include <stdarg.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void inventory_guest_clear(struct inventory_guest *g)
{
	free(g->source);
	free(g->name);
	free(g->node);
	free(g->type);
}

void inventory_report_free(void *report)
{
	struct inventory_report *r = report;
	if (!r)
		return;
	for (size_t i = 0; i < r->nuninventoried; i++)
		inventory_guest_clear(&r->uninventoried[i]);
	free(r->uninventoried);
	for (size_t i = 0; r->targets && i < r->ntargets; i++) {
		for (size_t k = 0; k < r->targets[i].restore.nplaces; k++)
			free(r->targets[i].restore.places[k].name);
		free(r->targets[i].restore.places);
	}
	for (size_t i = 0; i < r->nexempt_guests; i++)
		inventory_guest_clear(&r->exempt_guests[i]);
	free(r->exempt_guests);
	free(r->targets);
	free(r);
}

const char *inventory_state_str(enum inventory_state s)
{
	switch (s) {
	case INVENTORY_OK:
		return "OK";
	case INVENTORY_DEGRADED:
		return "DEGRADED";
	default:
		return "UNKNOWN";
	}
}

void inventory_summary(const struct inventory_report *r, char *out, size_t n)
{
	int len = snprintf(out, n, "%zu/%zu OK, %zu degraded", r->nok, r->ntargets, r->ndegraded);
	if (r->nunknown && len >= 0 && (size_t)len < n)
		snprintf(out + len, n - (size_t)len, ", %zu unknown", r->nunknown);
}

void inventory_format_age(char *out, size_t n, double seconds)
{
	static const struct {
		const char *unit;
		long secs;
	} units[] = {{"d", 86400}, {"h", 3600}, {"m", 60}, {"s", 1}};
	long v = seconds > 0 ? (long)seconds : 0;
	for (size_t i = 0; i < 3; i++) {
		if (v < units[i].secs)
			continue;
		long hi = v / units[i].secs, lo = (v % units[i].secs) / units[i + 1].secs;
		if (lo)
			snprintf(out, n, "%ld%s %ld%s", hi, units[i].unit, lo, units[i + 1].unit);
		else
			snprintf(out, n, "%ld%s", hi, units[i].unit);
		return;
	}
	snprintf(out, n, "%lds", v);
}

void inventory_format_max_age(char *out, size_t n, double seconds)
{
	long v = seconds > 0 ? (long)seconds : 0;
	if (v && v % 86400 == 0)
		snprintf(out, n, "%ldd", v / 86400);
	else if (v && v % 3600 == 0)
		snprintf(out, n, "%ldh", v / 3600);
	else if (v && v % 60 == 0)
		snprintf(out, n, "%ldm", v / 60);
	else
		snprintf(out, n, "%lds", v);
}

int inventory_doc_is_url(const char *doc)
{
	return doc && (strncasecmp(doc, "http://", 7) == 0 || strncasecmp(doc, "https://", 8) == 0) &&
	       doc[doc[4] == ':' ? 7 : 8] != '\0';
}

/* ---------- judging a target from the facts (pure: `now` is passed in) ---------- */

void inventory_set_state(struct inventory_target *t, enum inventory_state st, const char *fmt, ...)
{
	va_list ap;
	t->state = st;
	t->ok = st == INVENTORY_OK;
	va_start(ap, fmt);
	vsnprintf(t->reason, sizeof(t->reason), fmt, ap);
	va_end(ap);
}

/* Age rule shared by every kind; missing is the caller's "what" ("no backup of guest 100 found"). */
void inventory_judge_age(struct inventory_target *t, double now, const char *missing)
{
	if (!t->has_last) {
		inventory_set_state(t, INVENTORY_DEGRADED, "%s", missing);
		return;
	}
	if (now - t->last >= t->max_age) {
		char age[32], max[32];
		inventory_format_age(age, sizeof(age), now - t->last);
		inventory_format_max_age(max, sizeof(max), t->max_age);
		inventory_set_state(t, INVENTORY_DEGRADED, "backup %s old, max %s", age, max);
		return;
	}
	inventory_set_state(t, INVENTORY_OK, "%s", "");
}

/* 1 when the source answered; otherwise sets the verdict and returns 0. */
static int judge_source_up(struct facts *f, struct inventory_target *t)
{
	double up;
	if (!facts_get(f, t->source_kind, t->source, "up", &up, NULL)) {
		inventory_set_state(t, INVENTORY_UNKNOWN, "source %s not collected before the deadline",
				    t->source);
		return 0;
	}
	if (up != 1) {
		t->source_down = 1;
		inventory_set_state(t, INVENTORY_DEGRADED, "source %s down", t->source);
		return 0;
	}
	return 1;
}

static int fact_number(struct facts *f, const char *kind, const char *source, const char *key, double *v)
{
	return facts_get(f, kind, source, key, v, NULL);
}

static void judge_pve(struct facts *f, const struct config_target *ct, double now, struct inventory_target *t)
{
	char key[64], missing[128];
	double tmpl;
	snprintf(key, sizeof(key), "guest/%ld/last_backup", ct->vmid);
	t->has_last = fact_number(f, "pve", ct->source, key, &t->last);
	snprintf(key, sizeof(key), "guest/%ld/template", ct->vmid);
	if (fact_number(f, "pve", ct->source, key, &tmpl))
		snprintf(missing, sizeof(missing), "no backup of guest %ld found", ct->vmid);
	else
		snprintf(missing, sizeof(missing), "guest %ld not found on %s", ct->vmid, ct->source);
	inventory_judge_age(t, now, missing);
}

static void judge_mount(struct facts *f, const struct config_target *ct, double now,
			struct inventory_target *t)
{
	char key[64], missing[128];
	snprintf(key, sizeof(key), "vmid/%ld/last_backup", ct->vmid);
	t->has_last = fact_number(f, "mount", ct->source, key, &t->last);
	snprintf(missing, sizeof(missing), "no archive of guest %ld found on %s", ct->vmid, ct->source);
	inventory_judge_age(t, now, missing);
}

/* A snapshot taken after workflows were lost is not a good backup: it must hold at least the live count. */
static void judge_n8n(struct facts *f, const struct config_target *ct, double now, struct inventory_target *t)
{
	double live, snap;
	t->has_last = fact_number(f, "n8n", ct->source, "snapshot_last", &t->last);
	inventory_judge_age(t, now, "no snapshot found");
	if (!t->ok)
		return;
	int have_live = fact_number(f, "n8n", ct->source, "live_total", &live);
	int have_snap = fact_number(f, "n8n", ct->source, "snapshot_workflows", &snap);
	if (!have_snap)
		inventory_set_state(t, INVENTORY_DEGRADED,
				    "workflows in the newest snapshot could not be counted");
	else if (!have_live)
		inventory_set_state(t, INVENTORY_DEGRADED, "live workflow count unknown");
	else if (snap < live)
		inventory_set_state(t, INVENTORY_DEGRADED, "snapshot holds %.0f workflow%s, live %.0f", snap,
				    snap == 1 ? "" : "s", live);
}

int inventory_pbs_fact(struct facts *f, const struct config_target *ct, const char *what, double *v)
{
	char key[800];
	snprintf(key, sizeof(key), "group/%s/%s/%s/%s/%s", ct->datastore, ct->ns, ct->backup_type,
		 ct->backup_id, what);
	return fact_number(f, "pbs", ct->source, key, v);
}

/*
 * 1 when the PBS read what the target needs (its datastore, then its
 * namespace's snapshot listing); otherwise sets the verdict: a failed or
 * late read is not "no backup", so the last known one is remembered.
 */
static int judge_pbs_read(struct facts *f, const struct config_target *ct, struct inventory_target *t,
			  const char *where)
{
	char key[600];
	const char *why = NULL;
	double v;
	snprintf(key, sizeof(key), "datastore/%s", ct->datastore);
	if (!fact_number(f, "pbs", ct->source, key, &v)) {
		inventory_set_state(t, INVENTORY_DEGRADED, "datastore %s not found on %s", ct->datastore,
				    ct->source);
		return 0;
	}
	snprintf(key, sizeof(key), "listing/%s/%s", ct->datastore, ct->ns);
	if (!facts_get(f, "pbs", ct->source, key, &v, &why)) {
		/* not listed: the namespace does not exist, or its datastore's namespace list failed */
		snprintf(key, sizeof(key), "namespaces/%s", ct->datastore);
		if (!facts_get(f, "pbs", ct->source, key, &v, &why)) {
			v = -1;
		} else if (v == 1) {
			inventory_set_state(t, INVENTORY_DEGRADED, "no namespace '%s' in datastore %s",
					    ct->ns, ct->datastore);
			return 0;
		}
	}
	t->answered = v == 1;
	if (v == -1)
		inventory_set_state(t, INVENTORY_UNKNOWN, "snapshots of %s not read in time", where);
	else if (v != 1)
		inventory_set_state(t, INVENTORY_DEGRADED, "snapshots of %s could not be read: %.100s", where,
				    why ? why : "");
	return v == 1;
}

/* The group's newest finished snapshot (its verification is the restorability policy's). */
static void judge_pbs(struct facts *f, const struct config_target *ct, double now, struct inventory_target *t)
{
	char where[300], missing[400];
	double n;
	if (ct->ns[0])
		snprintf(where, sizeof(where), "%s (namespace %s)", ct->datastore, ct->ns);
	else
		snprintf(where, sizeof(where), "%s", ct->datastore);
	if (!judge_pbs_read(f, ct, t, where))
		return;
	t->has_last = inventory_pbs_fact(f, ct, "last_backup", &t->last);
	snprintf(missing, sizeof(missing), "no %sbackup of %s/%s in %s",
		 inventory_pbs_fact(f, ct, "snapshots", &n) ? "finished " : "", ct->backup_type,
		 ct->backup_id, where);
	inventory_judge_age(t, now, missing);
}

void inventory_judge_source(struct facts *f, const struct config_target *ct, double now,
			    struct inventory_target *t)
{
	if (!judge_source_up(f, t))
		return;
	t->answered = 1;
	if (ct->kind == TARGET_PVE)
		judge_pve(f, ct, now, t);
	else if (ct->kind == TARGET_MOUNT)
		judge_mount(f, ct, now, t);
	else if (ct->kind == TARGET_PBS)
		judge_pbs(f, ct, now, t);
	else
		judge_n8n(f, ct, now, t);
}

void inventory_target_init(struct inventory_target *t, const struct config_target *ct)
{
	static const char *const source_kinds[] = {"pve", "mount", "n8n", NULL, "pbs"};
	t->name = ct->name;
	t->site = ct->site ? ct->site : "";
	t->kind = config_target_kind_str(ct->kind);
	t->source_kind = (unsigned)ct->kind < 5 ? source_kinds[ct->kind] : NULL;
	t->source = ct->source && t->source_kind ? ct->source : "";
	t->severity = ct->severity ? ct->severity : "warning";
	t->restore_doc = ct->restore_doc && ct->restore_doc[0] ? ct->restore_doc : NULL;
	t->max_age = ct->max_age;
	t->doc_known = 1;
	t->documented = inventory_doc_is_url(t->restore_doc);
	t->counts_places = ct->kind == TARGET_PVE || ct->kind == TARGET_MOUNT;
	t->policy = t->counts_places || ct->kind == TARGET_PBS ? &ct->policy : NULL;
}
