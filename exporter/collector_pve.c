/* collector_pve.c - the PVE API collector: guests, archives, jobs, coverage, overdue, tasks, scheduler, storage. */
#include "collector.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "log.h"
#include "pve.h"
#include "pve_client.h"

#define PVE_NO_EVIDENCE_WINDOW (7 * 86400.0) /* look-back when a job has no run evidence */
/* Response cap for storage content listings (~180 bytes an archive: over a million of them). */
#define PVE_LISTING_MAX_BODY ((size_t)256 << 20)

static const struct expfmt_desc d_node_up = {"persistence_pve_node_up", EXPFMT_GAUGE,
					     "1 when PVE reports the node online."};
static const struct expfmt_desc d_guest_info = {"persistence_pve_guest_info", EXPFMT_GAUGE,
						"A guest (qemu VM or lxc container) of the cluster."};
static const struct expfmt_desc d_last_backup = {
	"persistence_pve_guest_last_backup_timestamp_seconds", EXPFMT_GAUGE,
	"Creation time of the guest's newest backup archive over every backup storage."};
static const struct expfmt_desc d_last_size = {"persistence_pve_guest_last_backup_size_bytes", EXPFMT_GAUGE,
					       "Size of the guest's newest backup archive."};
static const struct expfmt_desc d_backups = {
	"persistence_pve_guest_backups", EXPFMT_GAUGE,
	"Number of backup archives of the guest over every backup storage."};
static const struct expfmt_desc d_covered = {"persistence_pve_guest_backup_covered", EXPFMT_GAUGE,
					     "1 when an enabled backup job selects the guest."};
static const struct expfmt_desc d_job_info = {
	"persistence_pve_backup_job_info", EXPFMT_GAUGE,
	"A vzdump backup job (node is empty when it runs on every node)."};
static const struct expfmt_desc d_job_enabled = {"persistence_pve_backup_job_enabled", EXPFMT_GAUGE,
						 "1 when the backup job is enabled."};
static const struct expfmt_desc d_job_last = {
	"persistence_pve_backup_job_last_run_timestamp_seconds", EXPFMT_GAUGE,
	"Start of the job's last run on the node (scheduler vzdump task, else newest archive)."};
static const struct expfmt_desc d_job_due = {"persistence_pve_backup_job_next_due_timestamp_seconds",
					     EXPFMT_GAUGE,
					     "First scheduled slot of the job after its last run."};
static const struct expfmt_desc d_task_end = {"persistence_pve_vzdump_last_task_end_timestamp_seconds",
					      EXPFMT_GAUGE,
					      "End time of the node's newest finished vzdump task."};
static const struct expfmt_desc d_task_ok = {
	"persistence_pve_vzdump_last_task_success", EXPFMT_GAUGE,
	"1 when the node's newest finished vzdump task ended OK or with warnings."};
static const struct expfmt_desc d_task_failed = {
	"persistence_pve_vzdump_last_failure_timestamp_seconds", EXPFMT_GAUGE,
	"End time of the newest failed vzdump task in the node's task list (absent when none failed)."};
static const struct expfmt_desc d_jobs = {
	"persistence_pve_backup_jobs", EXPFMT_GAUGE,
	"Number of backup jobs /cluster/backup lists; absent when it cannot be read."};
static const struct expfmt_desc d_job_guests = {
	"persistence_pve_backup_job_guests", EXPFMT_GAUGE,
	"Guests an enabled, scheduled backup job selects on the node (offline nodes included)."};
static const struct expfmt_desc d_sched_up = {"persistence_pve_scheduler_up", EXPFMT_GAUGE,
					      "1 when the pvescheduler service is active and running."};
static const struct expfmt_desc d_storage_up = {
	"persistence_pve_storage_up", EXPFMT_GAUGE,
	"1 when the backup storage is enabled and active on the node."};
static const struct expfmt_desc d_storage_size = {"persistence_pve_storage_size_bytes", EXPFMT_GAUGE,
						  "Size of the backup storage as seen from the node."};
static const struct expfmt_desc d_storage_avail = {
	"persistence_pve_storage_avail_bytes", EXPFMT_GAUGE,
	"Available space on the backup storage as seen from the node."};

struct pve_node {
	const char *name;
	int online;
	const cJSON *tasks; /* vzdump task list, NULL when it failed */
	const cJSON *storages; /* backup storages, NULL when it failed */
	int sched; /* pve_service_running(), -1 unknown */
};

struct pve_guest {
	long vmid;
	const cJSON *res; /* item of /cluster/resources */
	double last_ctime; /* 0: none */
	double last_size; /* -1: unknown */
	long count;
};

struct pve_jobnode {
	const cJSON *job;
	const char *node;
	double last_run; /* 0: no evidence */
	double next_due; /* 0: unknown */
};

struct pve_ctx {
	struct collect *c;
	struct pve_client *pc;
	const struct fetch_target *t; /* the read token's, owned by pc */
	const cJSON *nodes, *vms, *jobs; /* jobs NULL: not readable */
	struct pve_node *node;
	size_t nnode;
	struct pve_guest *guest;
	size_t nguest;
	const char **shared_done; /* shared storages already listed */
	size_t nshared_done;
	struct pve_jobnode *jn;
	size_t njn;
	int incomplete; /* some backup storage could not be listed */
	int hidden; /* tasks visible but no archive at all: the token cannot see archives */
	size_t nlisted, nfailed, narchives, ntasks; /* listings that worked; that failed for good */
};

static size_t pve_count(const struct config *cfg)
{
	return cfg->npve;
}

static const char *pve_source_name(const struct config *cfg, size_t i)
{
	return cfg->pve[i].name;
}

static enum perr pve_ctx_init(struct pve_ctx *x, struct collect *c)
{
	enum perr e;

	memset(x, 0, sizeof(*x));
	x->c = c;
	if ((e = pve_client_new(&c->cfg->pve[c->index], &x->pc)) != PE_OK)
		return e;
	x->t = pve_client_target(x->pc, PVE_TOKEN_READ);
	return PE_OK;
}

static void pve_ctx_free(struct pve_ctx *x)
{
	pve_client_free(x->pc);
	free(x->node);
	free(x->guest);
	free(x->shared_done);
	free(x->jn);
}

/*
 * GET path and return its `data` member (borrowed until the task ends).
 * A 401 is recorded as the source's error with the operator's hint.
 */
static enum perr pve_get(struct pve_ctx *x, const char *path, const cJSON **data, char *msg, size_t n)
{
	cJSON *doc = NULL;
	enum perr e = collect_get_json(x->c, x->t, path, &doc, msg, n);

	*data = NULL;
	if (e == PE_AUTH) {
		collect_fail(x->c, "%s: check token_id/secret; PVE delays every 401 by 3 s", msg);
		return e;
	}
	if (e != PE_OK)
		return e;
	*data = pve_data(doc);
	if (!*data || cJSON_IsNull(*data)) {
		snprintf(msg, n, "GET %s: answer has no data member", path);
		return PE_PARSE;
	}
	return PE_OK;
}

/* pve_get() and require an array (object when want_obj). */
static enum perr pve_get_typed(struct pve_ctx *x, const char *path, int want_obj, const cJSON **data,
			       char *msg, size_t n)
{
	enum perr e = pve_get(x, path, data, msg, n);

	if (e == PE_OK && (want_obj ? !cJSON_IsObject(*data) : !cJSON_IsArray(*data))) {
		snprintf(msg, n, "GET %s: data is not an %s", path, want_obj ? "object" : "array");
		*data = NULL;
		return PE_PARSE;
	}
	return e;
}

/*
 * Warn level for a partial failure: a condition (what, where, and the error
 * text, so a changed error is news) is warned about once an hour, at debug
 * in between, instead of on every scrape.
 */
static enum log_level pve_level(struct pve_ctx *x, const char *what, const char *where, const char *err)
{
	char key[768];
	snprintf(key, sizeof(key), "pve\x1f%s\x1f%s\x1f%s\x1f%s", x->c->source, what, where ? where : "",
		 err ? err : "");
	return collect_warn_level(x->c, key);
}

static void pve_log_denied(struct pve_ctx *x, const char *what, const char *priv, const char *msg)
{
	log_kv(pve_level(x, "denied", what, msg),
	       "PVE permission missing; metrics from this endpoint are absent", "source", x->c->source,
	       "endpoint", what, "needs", priv, "err", msg, (const char *)NULL);
}

static int pve_guest_cmp(const void *a, const void *b)
{
	const struct pve_guest *ga = a, *gb = b;

	return (ga->vmid > gb->vmid) - (ga->vmid < gb->vmid);
}

static struct pve_guest *pve_guest_find(struct pve_ctx *x, long vmid)
{
	struct pve_guest key = {.vmid = vmid};

	if (!x->nguest)
		return NULL;
	return bsearch(&key, x->guest, x->nguest, sizeof(*x->guest), pve_guest_cmp);
}

/* By vmid, then by position in /cluster/resources (so the first of duplicates sorts first). */
static int pve_guest_order(const void *a, const void *b)
{
	const struct pve_guest *ga = a, *gb = b;
	int c = pve_guest_cmp(a, b);

	return c ? c : (ga->count > gb->count) - (ga->count < gb->count);
}

static enum perr pve_build_guests(struct pve_ctx *x)
{
	const cJSON *it;
	size_t n = (size_t)cJSON_GetArraySize(x->vms), pos = 0, kept = 0;

	x->guest = calloc(n ? n : 1, sizeof(*x->guest));
	if (!x->guest)
		return PE_NOMEM;
	cJSON_ArrayForEach(it, x->vms)
	{
		double v;
		const char *type = pve_json_str(it, "type");

		if (!pve_json_num(it, "vmid", &v) || v < 0 || v > 999999999 || !type ||
		    (strcmp(type, "qemu") != 0 && strcmp(type, "lxc") != 0))
			continue;
		/* count holds the position until the sort is done */
		x->guest[x->nguest++] = (struct pve_guest){.vmid = (long)v, .res = it, .count = (long)pos++};
	}
	qsort(x->guest, x->nguest, sizeof(*x->guest), pve_guest_order); /* once, not per guest */
	for (size_t i = 0; i < x->nguest; i++) {
		if (kept && x->guest[kept - 1].vmid == x->guest[i].vmid) /* duplicate vmid: keep the first */
			continue;
		x->guest[kept] = x->guest[i];
		x->guest[kept].count = 0;
		x->guest[kept].last_size = -1;
		kept++;
	}
	x->nguest = kept;
	if (!x->nguest)
		log_kv(pve_level(x, "noguests", NULL, NULL),
		       "PVE token sees no guests; it needs VM.Audit on /vms", "source", x->c->source,
		       (const char *)NULL);
	return PE_OK;
}

/* /nodes, /cluster/resources and /cluster/backup: without the first two the source is down. */
static enum perr pve_fetch_cluster(struct pve_ctx *x)
{
	char msg[256];
	enum perr e;

	if ((e = pve_get_typed(x, "/nodes", 0, &x->nodes, msg, sizeof(msg))) != PE_OK)
		goto fail;
	if ((e = pve_get_typed(x, "/cluster/resources?type=vm", 0, &x->vms, msg, sizeof(msg))) != PE_OK)
		goto fail;
	e = pve_get_typed(x, "/cluster/backup", 0, &x->jobs, msg, sizeof(msg));
	if (e == PE_DENIED) {
		pve_log_denied(x, "/cluster/backup", "Sys.Audit on /", msg);
		return PE_OK;
	}
	if (e != PE_OK)
		goto fail;
	return PE_OK;
fail:
	collect_fail(x->c, "%s", msg);
	return e;
}

/* One node-scoped GET: failures cost only this node's data. PE_AUTH and PE_NOMEM stop the task. */
static enum perr pve_node_get(struct pve_ctx *x, const char *node, const char *rest, int want_obj,
			      const char *priv, const cJSON **data)
{
	char msg[256], *path = pve_node_path(node, rest, NULL, NULL);
	enum perr e;

	*data = NULL;
	if (!path)
		return PE_NOMEM;
	e = pve_get_typed(x, path, want_obj, data, msg, sizeof(msg));
	free(path);
	if (e == PE_DENIED)
		pve_log_denied(x, rest, priv, msg);
	else if (e != PE_OK && e != PE_AUTH && e != PE_NOMEM)
		log_kv(pve_level(x, rest, node, msg), "PVE node endpoint failed; only its metrics are absent",
		       "source", x->c->source, "node", node, "err", msg, (const char *)NULL);
	return (e == PE_AUTH || e == PE_NOMEM) ? e : PE_OK;
}

static enum perr pve_fetch_nodes(struct pve_ctx *x)
{
	const cJSON *it;
	size_t n = (size_t)cJSON_GetArraySize(x->nodes);
	enum perr e;

	x->node = calloc(n ? n : 1, sizeof(*x->node));
	if (!x->node)
		return PE_NOMEM;
	cJSON_ArrayForEach(it, x->nodes)
	{
		struct pve_node *nd = &x->node[x->nnode];
		const char *status = pve_json_str(it, "status");
		const cJSON *st = NULL;

		nd->name = pve_json_str(it, "node");
		if (!nd->name || !*nd->name)
			continue;
		x->nnode++;
		nd->sched = -1;
		nd->online = status && strcmp(status, "online") == 0;
		if (!nd->online)
			continue;
		if ((e = pve_node_get(x, nd->name, "/tasks?typefilter=vzdump&source=all&limit=500", 0,
				      "Sys.Audit on /nodes/<node>", &nd->tasks)) != PE_OK ||
		    (e = pve_node_get(x, nd->name, "/services/pvescheduler/state", 1,
				      "Sys.Audit on /nodes/<node>", &st)) != PE_OK ||
		    (e = pve_node_get(x, nd->name, "/storage?content=backup", 0,
				      "Datastore.Audit on /storage", &nd->storages)) != PE_OK)
			return e;
		if (st)
			nd->sched = pve_service_running(st);
		if (nd->tasks)
			x->ntasks += (size_t)cJSON_GetArraySize(nd->tasks);
	}
	return PE_OK;
}

static int pve_storage_has_backup(const cJSON *s)
{
	const char *content = pve_json_str(s, "content");
	const char *p = content;

	if (!content) /* the list was already filtered by content=backup */
		return 1;
	while ((p = strstr(p, "backup")) != NULL) {
		if ((p == content || p[-1] == ',') && (p[6] == '\0' || p[6] == ','))
			return 1;
		p += 6;
	}
	return 0;
}

/* One usable archive of a listing, staged until the whole listing parsed. */
struct pve_archive {
	long vmid;
	double ctime, size;
};

/* What collect_get_json_each() fills while walking one content listing. */
struct pve_listing {
	struct pve_archive *a;
	size_t n, cap;
	int nomem;
};

static void pve_listing_item(void *ctx, const cJSON *it)
{
	struct pve_listing *l = ctx;
	struct pve_archive a;

	if (l->nomem || !pve_archive_parse(it, &a.vmid, &a.ctime, &a.size))
		return;
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 256;
		struct pve_archive *na = realloc(l->a, ncap * sizeof(*na));
		if (!na) {
			l->nomem = 1;
			return;
		}
		l->a = na;
		l->cap = ncap;
	}
	l->a[l->n++] = a;
}

static void pve_add_archives(struct pve_ctx *x, const struct pve_listing *l)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct pve_archive *a = &l->a[i];
		struct pve_guest *g = pve_guest_find(x, a->vmid);

		x->narchives++;
		if (!g)
			continue;
		g->count++;
		if (a->ctime > g->last_ctime || (a->ctime == g->last_ctime && a->size > g->last_size)) {
			g->last_ctime = a->ctime;
			g->last_size = a->size;
		}
	}
}

/*
 * GETs one storage listing, element by element (a shared storage can hold
 * tens of thousands of archives: no cJSON tree of the whole list), under
 * the larger response cap for listings.
 */
static enum perr pve_get_listing(struct pve_ctx *x, const char *path, struct pve_listing *l, char *msg,
				 size_t n)
{
	struct fetch_target t = *x->t;
	enum perr e;

	t.max_body = PVE_LISTING_MAX_BODY;
	e = collect_get_json_each(x->c, &t, path, "data", pve_listing_item, l, msg, n);
	if (e == PE_AUTH)
		collect_fail(x->c, "%s: check token_id/secret; PVE delays every 401 by 3 s", msg);
	if (e == PE_OK && l->nomem)
		e = PE_NOMEM;
	return e;
}

/* Lists one storage's archives from one node. 1 listed, 0 failed; -PE_* to stop. */
static int pve_list_storage(struct pve_ctx *x, const char *node, const char *sid)
{
	char msg[256], *path = pve_node_path(node, "/storage/", sid, "/content?content=backup");
	struct pve_listing l = {NULL, 0, 0, 0};
	enum perr e;

	if (!path)
		return -PE_NOMEM;
	e = pve_get_listing(x, path, &l, msg, sizeof(msg));
	free(path);
	if (e == PE_OK)
		pve_add_archives(x, &l);
	free(l.a);
	if (e == PE_AUTH || e == PE_NOMEM)
		return -(int)e;
	if (e == PE_DENIED)
		pve_log_denied(x, "storage content", "Datastore.Audit or Datastore.AllocateSpace on /storage",
			       msg);
	else if (e != PE_OK)
		log_kv(pve_level(x, "content", sid, msg), "PVE storage content listing failed", "source",
		       x->c->source, "node", node, "storage", sid, "err", msg, (const char *)NULL);
	if (e != PE_OK)
		return 0;
	x->nlisted++;
	return 1;
}

/* 1 when sid is in the list. */
static int pve_sid_in(const char *const *list, size_t n, const char *sid)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], sid) == 0)
			return 1;
	return 0;
}

/* Lists one backup storage item of a node's list, unless a shared one is already done. */
static enum perr pve_fetch_storage(struct pve_ctx *x, const struct pve_node *nd, const cJSON *s,
				   const char **failed, size_t *nfailed)
{
	const char *sid = pve_json_str(s, "storage");
	int shared = pve_json_bool(s, "shared", 0), r = 0;

	if (!sid || !*sid || !pve_storage_has_backup(s))
		return PE_OK;
	if (shared && pve_sid_in(x->shared_done, x->nshared_done, sid))
		return PE_OK;
	/* an inactive storage is not listed: PVE would answer "storage is not online" */
	if (pve_json_bool(s, "enabled", 1) && pve_json_bool(s, "active", 0))
		r = pve_list_storage(x, nd->name, sid);
	if (r < 0)
		return (enum perr) - r;
	if (r > 0 && shared)
		x->shared_done[x->nshared_done++] = sid;
	else if (r == 0 && shared)
		failed[(*nfailed)++] = sid; /* another node may still list it */
	else if (r == 0) {
		x->incomplete = 1;
		x->nfailed++;
	}
	return PE_OK;
}

/* Each local backup storage once per node, each shared one once per cluster. */
static enum perr pve_fetch_archives(struct pve_ctx *x)
{
	const char **failed;
	size_t cap = 1, nfailed = 0;
	enum perr e = PE_OK;

	for (size_t i = 0; i < x->nnode; i++)
		if (x->node[i].storages)
			cap += (size_t)cJSON_GetArraySize(x->node[i].storages);
	x->shared_done = calloc(cap, sizeof(*x->shared_done));
	failed = calloc(cap, sizeof(*failed));
	if (!x->shared_done || !failed) {
		e = PE_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < x->nnode && e == PE_OK; i++) {
		const struct pve_node *nd = &x->node[i];
		const cJSON *s;

		if (!nd->storages) { /* offline or failed node: its local archives are unknown */
			x->incomplete = 1;
			continue;
		}
		cJSON_ArrayForEach(s, nd->storages)
		{
			if ((e = pve_fetch_storage(x, nd, s, failed, &nfailed)) != PE_OK)
				break;
		}
	}
	for (size_t i = 0; i < nfailed; i++)
		if (!pve_sid_in(x->shared_done, x->nshared_done, failed[i])) {
			x->incomplete = 1;
			x->nfailed++;
		}
out:
	free(failed);
	return e;
}

/*
 * A token without Datastore.Allocate (or AllocateSpace + VM.Backup) gets an
 * empty list, not an error: vzdump tasks visible but no archive anywhere.
 */
static void pve_check_hidden(struct pve_ctx *x)
{
	/* a failed listing (too large, timed out...) proves nothing about permissions */
	if (x->ntasks > 0 && x->nlisted > 0 && x->nfailed == 0 && x->narchives == 0) {
		x->hidden = 1;
		log_kv(pve_level(x, "hidden", NULL, NULL),
		       "PVE lists vzdump tasks but no backup archive: the token cannot see archives; "
		       "listing them needs Datastore.Allocate, or Datastore.AllocateSpace + VM.Backup",
		       "source", x->c->source, (const char *)NULL);
	}
	if (x->hidden) {
		x->incomplete = 1;
		for (size_t i = 0; i < x->nguest; i++)
			x->guest[i].count = 0;
	}
}

/* Newest scheduler-started vzdump task on the node that can belong to job (its starttime), 0 if none. */
static double pve_job_task_evidence(struct pve_ctx *x, const cJSON *job, const struct pve_node *nd)
{
	const cJSON *t;
	double best = 0;

	cJSON_ArrayForEach(t, nd->tasks)
	{
		const char *type = pve_json_str(t, "type");
		const char *id = pve_json_str(t, "id");
		double start, v;

		if ((type && strcmp(type, "vzdump") != 0) || !pve_task_by_scheduler(t) ||
		    !pve_json_num(t, "starttime", &start) || start <= best)
			continue;
		if (id && *id) { /* a single-guest run: that guest must be one of the job's */
			struct pve_guest *g = pve_json_num(t, "id", &v) ? pve_guest_find(x, (long)v) : NULL;
			if (!g || !pve_job_selects(job, g->res))
				continue;
		}
		best = start;
	}
	return best;
}

/* Newest archive of the job's guests on the node, 0 if none (or archives are hidden). */
static double pve_job_archive_evidence(struct pve_ctx *x, const cJSON *job, const char *node, int *nsel)
{
	double best = 0;

	*nsel = 0;
	for (size_t i = 0; i < x->nguest; i++) {
		const struct pve_guest *g = &x->guest[i];
		const char *gnode = pve_json_str(g->res, "node");

		if (!gnode || strcmp(gnode, node) != 0 || !pve_job_selects(job, g->res))
			continue;
		(*nsel)++;
		if (!x->hidden && g->last_ctime > best)
			best = g->last_ctime;
	}
	return best;
}

/* The first slot of schedule after start, from PVE's own calendar code. */
static enum perr pve_next_due(struct pve_ctx *x, const char *schedule, double start, double *due)
{
	char msg[256];
	const cJSON *list, *it;
	struct buf path;
	enum perr e;

	*due = 0;
	buf_init(&path, 4096);
	buf_adds(&path, "/cluster/jobs/schedule-analyze?schedule=");
	fetch_urlencode(&path, schedule);
	buf_addf(&path, "&starttime=%lld&iterations=1", (long long)start);
	if ((e = buf_err(&path)) != PE_OK)
		goto out;
	e = pve_get_typed(x, buf_str(&path), 0, &list, msg, sizeof(msg));
	if (e == PE_TIMEOUT) { /* the deadline went to slow listings: only this job-node's slot is absent */
		log_kv(pve_level(x, "calendar", schedule, msg),
		       "PVE calendar request got no answer in time; next due slot absent", "source",
		       x->c->source, "err", msg, (const char *)NULL);
		e = PE_OK;
		goto out;
	}
	if (e != PE_OK) {
		if (e != PE_AUTH)
			collect_fail(x->c, "%s", msg);
		goto out;
	}
	cJSON_ArrayForEach(it, list)
	{
		double ts;
		if (pve_json_num(it, "timestamp", &ts) && ts > start && (*due == 0 || ts < *due))
			*due = ts;
	}
out:
	buf_free(&path);
	return e;
}

/*
 * One job on one node, before the archive listings: a scheduler task gives
 * the last run and the next due slot at once. Without one the job-node
 * waits for pve_eval_pending(). Asking PVE's calendar before listing the
 * storages keeps a slow listing from eating the time these requests need.
 */
static enum perr pve_eval_jobnode(struct pve_ctx *x, const cJSON *job, const struct pve_node *nd)
{
	struct pve_jobnode *jn;
	int nsel;

	(void)pve_job_archive_evidence(x, job, nd->name, &nsel); /* no archives yet: only counts guests */
	if (nsel == 0) /* no local guest: the node's scheduler starts nothing for this job */
		return PE_OK;
	jn = &x->jn[x->njn++];
	*jn = (struct pve_jobnode){
		.job = job, .node = nd->name, .last_run = pve_job_task_evidence(x, job, nd)};
	if (jn->last_run == 0)
		return PE_OK;
	return pve_next_due(x, pve_json_str(job, "schedule"), jn->last_run, &jn->next_due);
}

/* Job-nodes without a scheduler task: the newest archive of the job's guests, else now - 7 days. */
static enum perr pve_eval_pending(struct pve_ctx *x)
{
	for (size_t i = 0; i < x->njn; i++) {
		struct pve_jobnode *jn = &x->jn[i];
		double start;
		int nsel;
		enum perr e;

		if (jn->last_run > 0)
			continue;
		jn->last_run = pve_job_archive_evidence(x, jn->job, jn->node, &nsel);
		/* the fallback start is whole hours, so that its calendar request can be cached */
		start = jn->last_run > 0 ? jn->last_run
					 : floor((collect_now(x->c) - PVE_NO_EVIDENCE_WINDOW) / 3600) * 3600;
		if ((e = pve_next_due(x, pve_json_str(jn->job, "schedule"), start, &jn->next_due)) != PE_OK)
			return e;
	}
	return PE_OK;
}

static enum perr pve_eval_jobs(struct pve_ctx *x)
{
	const cJSON *job;
	enum perr e;

	if (!x->jobs)
		return PE_OK;
	x->jn = calloc((size_t)cJSON_GetArraySize(x->jobs) * (x->nnode ? x->nnode : 1) + 1, sizeof(*x->jn));
	if (!x->jn)
		return PE_NOMEM;
	cJSON_ArrayForEach(job, x->jobs)
	{
		const char *id = pve_json_str(job, "id");
		const char *schedule = pve_json_str(job, "schedule");
		const char *jnode = pve_json_str(job, "node");

		if (!id || !schedule || !*schedule || !pve_job_enabled(job))
			continue;
		for (size_t i = 0; i < x->nnode; i++) {
			const struct pve_node *nd = &x->node[i];

			if (!nd->online || !nd->tasks || (jnode && *jnode && strcmp(jnode, nd->name) != 0))
				continue;
			if ((e = pve_eval_jobnode(x, job, nd)) != PE_OK)
				return e;
		}
	}
	return PE_OK;
}

static void pve_emit_nodes(struct pve_ctx *x)
{
	struct expfmt *o = x->c->out;
	const char *src = x->c->source;

	for (size_t i = 0; i < x->nnode; i++) {
		const struct pve_node *nd = &x->node[i];
		const cJSON *t, *last = NULL;
		double end, best = 0, failed = 0;

		expfmt_add(o, &d_node_up, nd->online, "source", src, "node", nd->name, NULL);
		if (nd->sched >= 0)
			expfmt_add(o, &d_sched_up, nd->sched, "source", src, "node", nd->name, NULL);
		cJSON_ArrayForEach(t, nd->tasks)
		{
			enum pve_task_result r = pve_task_classify(t);

			if (r == PVE_TASK_RUNNING || !pve_json_num(t, "endtime", &end))
				continue;
			if (r == PVE_TASK_FAILED && end > failed)
				failed = end;
			if (end > best) {
				best = end;
				last = t;
			}
		}
		if (last) {
			expfmt_add(o, &d_task_end, best, "source", src, "node", nd->name, NULL);
			expfmt_add(o, &d_task_ok, pve_task_success(pve_task_classify(last)), "source", src,
				   "node", nd->name, NULL);
		}
		if (failed > 0)
			expfmt_add(o, &d_task_failed, failed, "source", src, "node", nd->name, NULL);
	}
}

static void pve_emit_storages(struct pve_ctx *x)
{
	struct expfmt *o = x->c->out;
	const char *src = x->c->source;

	for (size_t i = 0; i < x->nnode; i++) {
		const cJSON *s;

		cJSON_ArrayForEach(s, x->node[i].storages)
		{
			const char *sid = pve_json_str(s, "storage"), *n = x->node[i].name;
			int up = pve_json_bool(s, "enabled", 1) && pve_json_bool(s, "active", 0);
			double v;

			if (!sid || !*sid || !pve_storage_has_backup(s))
				continue;
			expfmt_add(o, &d_storage_up, up, "source", src, "node", n, "storage", sid, NULL);
			if (up && pve_json_num(s, "total", &v))
				expfmt_add(o, &d_storage_size, v, "source", src, "node", n, "storage", sid,
					   NULL);
			if (up && pve_json_num(s, "avail", &v))
				expfmt_add(o, &d_storage_avail, v, "source", src, "node", n, "storage", sid,
					   NULL);
		}
	}
}

static void pve_emit_guest(struct pve_ctx *x, const struct pve_guest *g)
{
	struct expfmt *o = x->c->out;
	const char *src = x->c->source, *name = pve_json_str(g->res, "name");
	const char *node = pve_json_str(g->res, "node"), *type = pve_json_str(g->res, "type");
	int tmpl = pve_json_bool(g->res, "template", 0);
	char id[24], key[64];

	snprintf(id, sizeof(id), "%ld", g->vmid);
	expfmt_add(o, &d_guest_info, 1, "source", src, "vmid", id, "node", node ? node : "", "guest_type",
		   type, "name", name ? name : "", "template", tmpl ? "1" : "0", NULL);
	if (g->count > 0) {
		expfmt_add(o, &d_last_backup, g->last_ctime, "source", src, "vmid", id, NULL);
		if (g->last_size >= 0)
			expfmt_add(o, &d_last_size, g->last_size, "source", src, "vmid", id, NULL);
		snprintf(key, sizeof(key), "guest/%ld/last_backup", g->vmid);
		collect_fact_set(x->c, "pve", src, key, g->last_ctime, NULL);
	}
	if (!x->incomplete)
		expfmt_add(o, &d_backups, (double)g->count, "source", src, "vmid", id, NULL);
	if (x->jobs)
		expfmt_add(o, &d_covered, pve_guest_covered(x->jobs, g->res), "source", src, "vmid", id,
			   NULL);
	snprintf(key, sizeof(key), "guest/%ld/template", g->vmid);
	collect_fact_set(x->c, "pve", src, key, tmpl, NULL);
	snprintf(key, sizeof(key), "guest/%ld/name", g->vmid);
	collect_fact_set(x->c, "pve", src, key, 0, name ? name : "");
	snprintf(key, sizeof(key), "guest/%ld/type", g->vmid);
	collect_fact_set(x->c, "pve", src, key, 0, type);
	snprintf(key, sizeof(key), "guest/%ld/node", g->vmid);
	collect_fact_set(x->c, "pve", src, key, 0, node ? node : "");
}

/*
 * How many guests an enabled, scheduled job selects on each node, offline
 * nodes included: the rules expect a next due slot wherever this is > 0.
 */
static enum perr pve_emit_job_guests(struct pve_ctx *x, const cJSON *job, const char *id)
{
	const char *jnode = pve_json_str(job, "node"), *sched = pve_json_str(job, "schedule");
	size_t *count;

	if (!sched || !*sched || !pve_job_enabled(job) || !x->nnode)
		return PE_OK;
	if (!(count = calloc(x->nnode, sizeof(*count))))
		return PE_NOMEM;
	for (size_t i = 0; i < x->nguest; i++) {
		const char *gnode = pve_json_str(x->guest[i].res, "node");
		size_t k = 0;

		if (!gnode || (jnode && *jnode && strcmp(jnode, gnode) != 0))
			continue;
		while (k < x->nnode && strcmp(x->node[k].name, gnode) != 0)
			k++;
		if (k < x->nnode && pve_job_selects(job, x->guest[i].res))
			count[k]++;
	}
	for (size_t k = 0; k < x->nnode; k++)
		if (count[k])
			expfmt_add(x->c->out, &d_job_guests, (double)count[k], "source", x->c->source,
				   "backup_job", id, "node", x->node[k].name, NULL);
	free(count);
	return PE_OK;
}

static enum perr pve_emit_jobs(struct pve_ctx *x)
{
	struct expfmt *o = x->c->out;
	const char *src = x->c->source;
	const cJSON *job;
	enum perr e;

	if (x->jobs)
		expfmt_add(o, &d_jobs, (double)cJSON_GetArraySize(x->jobs), "source", src, NULL);
	cJSON_ArrayForEach(job, x->jobs)
	{
		const char *id = pve_json_str(job, "id"), *sched = pve_json_str(job, "schedule");
		const char *storage = pve_json_str(job, "storage"), *node = pve_json_str(job, "node");

		if (!id || !*id)
			continue;
		expfmt_add(o, &d_job_info, 1, "source", src, "backup_job", id, "schedule", sched ? sched : "",
			   "storage", storage ? storage : "", "node", node ? node : "", NULL);
		expfmt_add(o, &d_job_enabled, pve_job_enabled(job), "source", src, "backup_job", id, NULL);
		if ((e = pve_emit_job_guests(x, job, id)) != PE_OK)
			return e;
	}
	for (size_t i = 0; i < x->njn; i++) {
		const struct pve_jobnode *jn = &x->jn[i];
		const char *id = pve_json_str(jn->job, "id");

		if (jn->last_run > 0)
			expfmt_add(o, &d_job_last, jn->last_run, "source", src, "backup_job", id, "node",
				   jn->node, NULL);
		if (jn->next_due > 0)
			expfmt_add(o, &d_job_due, jn->next_due, "source", src, "backup_job", id, "node",
				   jn->node, NULL);
	}
	return PE_OK;
}

/*
 * Gather everything first, then emit: a source that fails on a
 * cluster-wide endpoint publishes nothing but source_up 0.
 */
static enum perr pve_collect(struct collect *c)
{
	struct pve_ctx x;
	enum perr e;

	if ((e = pve_ctx_init(&x, c)) != PE_OK)
		goto out;
	if ((e = pve_fetch_cluster(&x)) != PE_OK || (e = pve_build_guests(&x)) != PE_OK ||
	    (e = pve_fetch_nodes(&x)) != PE_OK || (e = pve_eval_jobs(&x)) != PE_OK ||
	    (e = pve_fetch_archives(&x)) != PE_OK)
		goto out;
	pve_check_hidden(&x);
	if ((e = pve_eval_pending(&x)) != PE_OK)
		goto out;
	pve_emit_nodes(&x);
	pve_emit_storages(&x);
	for (size_t i = 0; i < x.nguest; i++)
		pve_emit_guest(&x, &x.guest[i]);
	e = pve_emit_jobs(&x);
out:
	if (e == PE_NOMEM)
		collect_fail(c, "out of memory");
	pve_ctx_free(&x);
	return e;
}

const struct collector collector_pve = {
	.name = "pve",
	.kind = "pve",
	.phase = 0,
	.count = pve_count,
	.source_name = pve_source_name,
	.collect = pve_collect,
};
