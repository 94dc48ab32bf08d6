/* collector_inventory.c - the backup inventory: per target last backup, max age, OK, restore doc; unlisted guests. */
#include "collector.h"
#include "exempt.h"
#include "inventory.h"
#include "lastknown.h"
#include "log.h"
#include "probe.h"

#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define INV_PROBE_MAX 5.0 /* a file probe never waits longer than this */
#define INV_PROBE_MARGIN 0.2 /* seconds kept after the probes to emit and attach */

static const struct expfmt_desc d_info = {
	"persistence_target_info", EXPFMT_GAUGE,
	"A backup target of the inventory (config targets:), labeled by site, kind, source and severity."};
static const struct expfmt_desc d_last = {
	"persistence_target_last_backup_timestamp_seconds", EXPFMT_GAUGE,
	"Unix time of the target's newest backup; while its source does not answer, the one read last (see "
	"persistence_target_last_backup_remembered); absent when none is known."};
static const struct expfmt_desc d_remembered = {
	"persistence_target_last_backup_remembered", EXPFMT_GAUGE,
	"1 when the last backup time was read in an earlier scrape and is remembered because the source did "
	"not answer in this one (for at most 7 days), 0 when it was read in this scrape."};
static const struct expfmt_desc d_max_age = {"persistence_target_max_age_seconds", EXPFMT_GAUGE,
					     "The target's configured maximum backup age."};
static const struct expfmt_desc d_ok = {
	"persistence_target_ok", EXPFMT_GAUGE,
	"1 when a backup exists, is younger than max_age and its source answered (n8n: and the snapshot "
	"holds at least as many workflows as the live instance)."};
static const struct expfmt_desc d_doc = {
	"persistence_target_restore_documented", EXPFMT_GAUGE,
	"1 when restore_doc is an http(s) URL or a non-empty file; absent when the file could not be checked "
	"in time."};
static const struct expfmt_desc d_copies = {
	"persistence_target_copies", EXPFMT_GAUGE,
	"Places (backup storages of the PVE source, mounts) holding a backup of the target younger than its "
	"max_age that can be restored (verification not failed, vzdump log clean); pve and mount targets "
	"whose "
	"source answered."};
static const struct expfmt_desc d_offsite = {"persistence_target_offsite_copies", EXPFMT_GAUGE,
					     "Of those places, the ones configured as offsite."};
static const struct expfmt_desc d_min_copies = {"persistence_target_min_copies", EXPFMT_GAUGE,
						"The target's min_copies (its policy; default 1)."};
static const struct expfmt_desc d_req_offsite = {"persistence_target_require_offsite", EXPFMT_GAUGE,
						 "1 when the target's policy requires an offsite copy."};
static const struct expfmt_desc d_max_verify = {
	"persistence_target_max_verify_age_seconds", EXPFMT_GAUGE,
	"The target's max_verify_age; absent when verification is not required."};
static const struct expfmt_desc d_verified = {
	"persistence_target_last_verified_timestamp_seconds", EXPFMT_GAUGE,
	"Backup time of the target's newest backup that passed verification; absent when none did or it is "
	"unknown."};
static const struct expfmt_desc d_verify_failed = {
	"persistence_target_verify_failed", EXPFMT_GAUGE,
	"1 when the target's newest backup, or one younger than its max_age (pve), failed verification; 0 "
	"when none did; absent when none of its backups is where verification exists."};
static const struct expfmt_desc d_policy_ok = {
	"persistence_target_policy_ok", EXPFMT_GAUGE,
	"1 when the target meets its restorability policy (copies, offsite, verification, vzdump log), 0 "
	"when not (persistence_target_ok is 0 then too); pve, mount and pbs targets whose source answered."};
static const struct expfmt_desc d_in_inventory = {
	"persistence_pve_guest_in_inventory", EXPFMT_GAUGE,
	"1 when a pve target lists this non-template guest, 0 when no target does."};

/* ---------- file work in the hang-safe probe pool ---------- */

/* One probe job: an optional glob and restore docs to stat. Owns its strings. */
struct inv_job {
	char *pattern; /* NULL: no glob */
	size_t matches;
	double newest; /* newest mtime of the matches; 0 when none */
	int glob_failed; /* glob() itself failed (not "no match") */
	char **docs;
	int *doc_ok;
	size_t ndocs;
};

static void inv_job_free(void *arg)
{
	struct inv_job *j = arg;
	if (!j)
		return;
	free(j->pattern);
	for (size_t i = 0; i < j->ndocs; i++)
		free(j->docs[i]);
	free(j->docs);
	free(j->doc_ok);
	free(j);
}

/* The doc paths are copied; NULL entries are allowed (nothing to check). */
static struct inv_job *inv_job_new(const char *pattern, const char *const *docs, size_t ndocs)
{
	struct inv_job *j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->docs = calloc(ndocs ? ndocs : 1, sizeof(*j->docs));
	j->doc_ok = calloc(ndocs ? ndocs : 1, sizeof(*j->doc_ok));
	j->ndocs = ndocs;
	int ok = j->docs && j->doc_ok && (!pattern || (j->pattern = strdup(pattern)) != NULL);
	for (size_t i = 0; ok && i < ndocs; i++)
		if (docs[i] && (j->docs[i] = strdup(docs[i])) == NULL)
			ok = 0;
	if (!ok) {
		if (!j->docs)
			j->ndocs = 0;
		inv_job_free(j);
		return NULL;
	}
	return j;
}

/* A restore doc on disk counts when it is a regular file that is not empty. */
static int doc_file_ok(const char *path)
{
	struct stat st;
	return path && stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

/* Runs on a probe worker: may block forever on a dead NFS server, harmlessly. */
static void inv_job_run(void *arg)
{
	struct inv_job *j = arg;
	if (j->pattern) {
		glob_t g;
		int rc = glob(j->pattern, 0, NULL, &g);
		if (rc == 0) {
			for (size_t i = 0; i < g.gl_pathc; i++) {
				struct stat st;
				if (stat(g.gl_pathv[i], &st) != 0 ||
				    !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
					continue;
				j->matches++;
				if ((double)st.st_mtime > j->newest)
					j->newest = (double)st.st_mtime;
			}
		} else if (rc != GLOB_NOMATCH) {
			j->glob_failed = 1;
		}
		globfree(&g);
	}
	for (size_t i = 0; i < j->ndocs; i++)
		j->doc_ok[i] = doc_file_ok(j->docs[i]);
}

/*
 * Runs j under key with a timeout bounded by INV_PROBE_MAX and the scrape's
 * deadline. PE_OK: j is done and still ours. Otherwise the pool (or we,
 * when nothing was started) already disposed of j.
 */
static enum perr inv_probe(struct collect *c, const char *key, struct inv_job *j)
{
	double timeout = collect_remaining(c) - INV_PROBE_MARGIN;
	if (timeout > INV_PROBE_MAX)
		timeout = INV_PROBE_MAX;
	struct probe_pool *pool = collect_probes(c);
	if (timeout <= 0 || !pool) {
		inv_job_free(j);
		return PE_TIMEOUT;
	}
	enum perr rc = probe_run(pool, key, inv_job_run, j, inv_job_free, timeout);
	if (rc != PE_OK)
		collect_warn(c, "inventory file probe not done in time", "key", key, "err", err_str(rc));
	return rc;
}

/* ---------- judging one target ---------- */

static const char *restore_doc_path(const struct config_target *ct)
{
	return ct->restore_doc && ct->restore_doc[0] && !inventory_doc_is_url(ct->restore_doc)
		       ? ct->restore_doc
		       : NULL;
}

/* The newest matching file through the probe pool; the target's restore doc is checked in the same job. */
static void judge_file(struct collect *c, const struct config_target *ct, struct inventory_target *t)
{
	const char *doc = restore_doc_path(ct);
	struct inv_job *j = inv_job_new(ct->file_glob, &doc, 1);
	char key[512];
	snprintf(key, sizeof(key), "file:%s", ct->name);
	enum perr rc = j ? inv_probe(c, key, j) : PE_NOMEM; /* on failure j is gone */
	if (rc != PE_OK) {
		t->doc_known = !doc;
		inventory_set_state(t, INVENTORY_UNKNOWN, "%s",
				    rc == PE_TIMEOUT ? "no answer from the file system in time (hung mount?)"
						     : err_str(rc));
		return;
	}
	t->has_last = j->matches > 0;
	t->last = j->newest;
	t->answered = !j->glob_failed;
	t->documented = doc ? j->doc_ok[0] : t->documented;
	if (j->glob_failed)
		inventory_set_state(t, INVENTORY_DEGRADED, "cannot read %s", ct->file_glob);
	else
		inventory_judge_age(t, collect_now(c), "no file matches the pattern");
	inv_job_free(j);
}

/* What the memory knows a target by: its name and what it watches, so a changed target starts afresh. */
static void memory_key(const struct config_target *ct, char *out, size_t n)
{
	snprintf(out, n, "target\x1f%s\x1f%s\x1f%s\x1f%ld\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s", ct->name,
		 config_target_kind_str(ct->kind), ct->source ? ct->source : "", ct->vmid,
		 ct->file_glob ? ct->file_glob : "", ct->datastore ? ct->datastore : "", ct->ns ? ct->ns : "",
		 ct->backup_type ? ct->backup_type : "", ct->backup_id ? ct->backup_id : "");
}

/*
 * While the source answers, its newest backup (or that it has none) is
 * remembered; while it does not, the remembered time stands in, so an
 * outage never hides a backup known to be stale. A remembered time is a
 * lower bound: the true newest backup can only be that old or newer.
 */
static void remember_last(struct collect *c, const struct config_target *ct, struct inventory_target *t)
{
	struct lastknown *m = collect_memory(c);
	char key[1024];
	double v, at;
	if (!m)
		return;
	memory_key(ct, key, sizeof(key));
	if (t->answered && !t->has_last) {
		lastknown_forget(m, key);
	} else if (t->answered) {
		enum perr rc = lastknown_put(m, key, t->last, collect_now(c));
		if (rc != PE_OK)
			collect_warn(c, "cannot remember a target's last backup", "target", ct->name, "err",
				     err_str(rc));
	} else if (!t->has_last && lastknown_get(m, key, collect_now(c), &v, &at)) {
		t->has_last = 1;
		t->last = v;
		t->remembered = 1;
	}
}

/* Fills t from the config entry and judges it (restore docs on disk are checked later, together). */
static void judge_target(struct collect *c, const struct config_target *ct, struct inventory_target *t)
{
	inventory_target_init(t, ct);
	if (ct->kind == TARGET_FILE)
		judge_file(c, ct, t);
	else
		inventory_judge_source(collect_facts(c), ct, collect_now(c), t);
	if (t->answered && t->policy)
		inventory_judge_restore(collect_facts(c), c->cfg, ct, collect_now(c), t);
	remember_last(c, ct, t);
}

/* Restore docs on disk of the non-file targets: one bounded probe job checks them all. */
static void check_docs(struct collect *c, struct inventory_report *r)
{
	const struct config *cfg = c->cfg;
	const char **paths = calloc(cfg->ntargets ? cfg->ntargets : 1, sizeof(*paths));
	size_t any = 0;
	if (!paths) {
		for (size_t i = 0; i < cfg->ntargets; i++)
			if (cfg->targets[i].kind != TARGET_FILE && restore_doc_path(&cfg->targets[i]))
				r->targets[i].doc_known = 0;
		return;
	}
	for (size_t i = 0; i < cfg->ntargets; i++)
		if (cfg->targets[i].kind != TARGET_FILE && (paths[i] = restore_doc_path(&cfg->targets[i])))
			any++;
	if (!any) {
		free(paths);
		return;
	}
	struct inv_job *j = inv_job_new(NULL, paths, cfg->ntargets);
	enum perr rc = j ? inv_probe(c, "inventory:docs", j) : PE_NOMEM;
	for (size_t i = 0; i < cfg->ntargets; i++) {
		if (!paths[i])
			continue;
		r->targets[i].doc_known = rc == PE_OK; /* unchecked: the metric is left out */
		r->targets[i].documented = rc == PE_OK && j->doc_ok[i];
	}
	if (rc == PE_OK)
		inv_job_free(j);
	free(paths);
}

/* ---------- PVE guests no target lists ---------- */

struct guest_list {
	long *vmids;
	size_t n, cap;
	int failed;
};

/* Collects the vmid of every "guest/<vmid>/template" fact (each guest has one). */
static void guest_list_add(void *ctx, const char *key, double v, const char *str)
{
	struct guest_list *l = ctx;
	char *end;
	(void)str;
	long vmid = strtol(key + strlen("guest/"), &end, 10);
	if (strcmp(end, "/template") != 0 || end == key + strlen("guest/") || v == 1)
		return;
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 32;
		long *nv = realloc(l->vmids, ncap * sizeof(*nv));
		if (!nv) {
			l->failed = 1;
			return;
		}
		l->vmids = nv;
		l->cap = ncap;
	}
	l->vmids[l->n++] = vmid;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return (x > y) - (x < y);
}

static int guest_listed(const struct config *cfg, const char *source, long vmid)
{
	for (size_t i = 0; i < cfg->ntargets; i++) {
		const struct config_target *t = &cfg->targets[i];
		if (t->kind == TARGET_PVE && t->vmid == vmid && t->source && strcmp(t->source, source) == 0)
			return 1;
	}
	return 0;
}

static char *guest_fact_str(struct collect *c, const char *source, long vmid, const char *what)
{
	char key[64];
	const char *s = NULL;
	snprintf(key, sizeof(key), "guest/%ld/%s", vmid, what);
	if (!collect_fact_get(c, "pve", source, key, NULL, &s) || !s)
		s = "";
	return strdup(s);
}

/* Appends a guest no target lists to the report (apart when exempt); 0 on allocation failure. */
static int report_add_guest(struct collect *c, struct inventory_report *r, const struct config_pve *p,
			    long vmid)
{
	const char *reason = exempt_guest_reason(p, vmid);
	struct inventory_guest **list = reason ? &r->exempt_guests : &r->uninventoried;
	size_t *n = reason ? &r->nexempt_guests : &r->nuninventoried;
	struct inventory_guest *ng = realloc(*list, (*n + 1) * sizeof(*ng));
	if (!ng)
		return 0;
	*list = ng;
	struct inventory_guest *g = &ng[*n];
	g->vmid = vmid;
	g->exempt_reason = reason;
	g->source = strdup(p->name);
	g->name = guest_fact_str(c, p->name, vmid, "name");
	g->node = guest_fact_str(c, p->name, vmid, "node");
	g->type = guest_fact_str(c, p->name, vmid, "type");
	(*n)++;
	if (!g->source || !g->name || !g->node || !g->type) {
		inventory_guest_clear(g);
		(*n)--;
		return 0;
	}
	return 1;
}

static enum perr inventory_guests(struct collect *c, struct inventory_report *r)
{
	enum perr rc = PE_OK;
	for (size_t i = 0; i < c->cfg->npve; i++) {
		const char *src = c->cfg->pve[i].name;
		struct guest_list l = {NULL, 0, 0, 0};
		collect_fact_each(c, "pve", src, "guest/", guest_list_add, &l);
		if (l.failed)
			rc = PE_NOMEM;
		if (l.n > 1)
			qsort(l.vmids, l.n, sizeof(*l.vmids), cmp_long);
		for (size_t k = 0; k < l.n; k++) {
			if (k > 0 && l.vmids[k] == l.vmids[k - 1])
				continue;
			char id[24];
			int listed = guest_listed(c->cfg, src, l.vmids[k]);
			snprintf(id, sizeof(id), "%ld", l.vmids[k]);
			expfmt_add(c->out, &d_in_inventory, listed, "source", src, "vmid", id, NULL);
			if (!listed && !report_add_guest(c, r, &c->cfg->pve[i], l.vmids[k]))
				rc = PE_NOMEM;
		}
		free(l.vmids);
	}
	return rc;
}

/* ---------- the collector ---------- */

/* The restorability samples: the policy always, what was found only when it was judged. */
static void emit_restore(struct collect *c, const struct inventory_target *t)
{
	const struct inventory_restore *r = &t->restore;
	if (t->has_verified)
		expfmt_add(c->out, &d_verified, t->verified, "target", t->name, NULL);
	if (!t->policy)
		return;
	if (t->counts_places) {
		expfmt_add(c->out, &d_min_copies, (double)t->policy->min_copies, "target", t->name, NULL);
		expfmt_add(c->out, &d_req_offsite, t->policy->require_offsite, "target", t->name, NULL);
	}
	if (t->policy->max_verify_age > 0)
		expfmt_add(c->out, &d_max_verify, t->policy->max_verify_age, "target", t->name, NULL);
	if (!r->known)
		return;
	if (t->counts_places) {
		expfmt_add(c->out, &d_copies, (double)r->copies, "target", t->name, NULL);
		expfmt_add(c->out, &d_offsite, (double)r->offsite_copies, "target", t->name, NULL);
	}
	if (r->verify_failed >= 0)
		expfmt_add(c->out, &d_verify_failed, r->verify_failed, "target", t->name, NULL);
	expfmt_add(c->out, &d_policy_ok, r->policy_ok, "target", t->name, NULL);
}

static void emit_target(struct collect *c, const struct inventory_target *t)
{
	expfmt_add(c->out, &d_info, 1, "target", t->name, "site", t->site, "kind", t->kind, "source",
		   t->source, "severity", t->severity, NULL);
	if (t->has_last) {
		expfmt_add(c->out, &d_last, t->last, "target", t->name, NULL);
		expfmt_add(c->out, &d_remembered, t->remembered, "target", t->name, NULL);
	}
	expfmt_add(c->out, &d_max_age, t->max_age, "target", t->name, NULL);
	expfmt_add(c->out, &d_ok, t->ok, "target", t->name, NULL);
	emit_restore(c, t);
	if (t->doc_known)
		expfmt_add(c->out, &d_doc, t->documented, "target", t->name, NULL);
}

static enum perr inventory_collect(struct collect *c)
{
	const struct config *cfg = c->cfg;
	struct inventory_report *r = calloc(1, sizeof(*r));
	if (!r || !(r->targets = calloc(cfg->ntargets ? cfg->ntargets : 1, sizeof(*r->targets)))) {
		free(r);
		collect_fail(c, "out of memory");
		return PE_NOMEM;
	}
	r->ntargets = cfg->ntargets;
	for (size_t i = 0; i < cfg->ntargets; i++)
		judge_target(c, &cfg->targets[i], &r->targets[i]);
	check_docs(c, r);
	for (size_t i = 0; i < r->ntargets; i++) {
		const struct inventory_target *t = &r->targets[i];
		r->nok += t->state == INVENTORY_OK;
		r->ndegraded += t->state == INVENTORY_DEGRADED;
		r->nunknown += t->state == INVENTORY_UNKNOWN;
		emit_target(c, t);
	}
	enum perr rc = inventory_guests(c, r);
	collect_attach(c, INVENTORY_ATTACHMENT, r, inventory_report_free);
	if (rc != PE_OK)
		collect_fail(c, "out of memory");
	return rc;
}

static size_t inventory_count(const struct config *cfg)
{
	return cfg->ntargets || cfg->npve ? 1 : 0;
}

const struct collector collector_inventory = {
	.name = "inventory",
	.kind = NULL,
	.phase = 1,
	.count = inventory_count,
	.source_name = NULL,
	.collect = inventory_collect,
};
