/* collector_pve.c - the PVE API collector: fetches the answers, hands them to the pure parsers and model, emits. */
#include "collector.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pve_client.h"
#include "pve_model.h"
#include "pve_parse.h"
#include "pve_pbs.h"

/* Response cap for storage content listings (~180 bytes an archive: over a million of them). */
#define PVE_LISTING_MAX_BODY ((size_t)256 << 20)
#define PVE_TASKS "/tasks?typefilter=vzdump&source=all&limit=500"

struct pve_ctx {
	struct collect *c;
	struct pve_client *pc;
	const struct fetch_target *t; /* the read token's, owned by pc */
	struct pve_model m;
	const char **shared_done; /* shared storages already listed */
	size_t nshared_done;
	const char *storage_cfg; /* /storage (read only with pbs: sources), borrowed until the task ends */
	size_t storage_cfg_len;
};

static const struct expfmt_desc d_storage_pbs = {"persistence_pve_storage_pbs_info", EXPFMT_GAUGE,
						 "A PVE storage of type pbs that is (a namespace of) a "
						 "datastore of a configured pbs: source: the same "
						 "backups seen from both sides."};

static size_t pve_count(const struct config *cfg)
{
	return cfg->npve;
}

static const char *pve_source_name(const struct config *cfg, size_t i)
{
	return cfg->pve[i].name;
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

/* A 401 is the source's error, with the operator's hint. */
static void pve_check_auth(struct pve_ctx *x, enum perr e, const char *msg)
{
	if (e == PE_AUTH)
		collect_fail(x->c, "%s: check token_id/secret; PVE delays every 401 by 3 s", msg);
}

/* The parser's verdict on path's answer, its message prefixed like a request's. */
static enum perr pve_parsed(enum perr e, const char *path, const char *why, char *msg, size_t n)
{
	if (e != PE_OK && e != PE_NOMEM)
		snprintf(msg, n, "GET %s: %s", path, why);
	return e;
}

/* Each endpoint's parser, behind one signature (out is the matching struct). */
typedef enum perr (*pve_parse_fn)(const char *body, size_t len, void *out, char *msg, size_t msglen);

static enum perr pve_parse_nodes_fn(const char *b, size_t l, void *o, char *m, size_t n)
{
	return pve_parse_nodes(b, l, o, m, n);
}
static enum perr pve_parse_guests_fn(const char *b, size_t l, void *o, char *m, size_t n)
{
	return pve_parse_guests(b, l, o, m, n);
}
static enum perr pve_parse_jobs_fn(const char *b, size_t l, void *o, char *m, size_t n)
{
	return pve_parse_jobs(b, l, o, m, n);
}
static enum perr pve_parse_tasks_fn(const char *b, size_t l, void *o, char *m, size_t n)
{
	return pve_parse_tasks(b, l, o, m, n);
}
static enum perr pve_parse_service_fn(const char *b, size_t l, void *o, char *m, size_t n)
{
	return pve_parse_service(b, l, o, m, n);
}
static enum perr pve_parse_storages_fn(const char *b, size_t l, void *o, char *m, size_t n)
{
	return pve_parse_storages(b, l, o, m, n);
}

/* GET path and parse it into out. A 401 is recorded as the source's error. */
static enum perr pve_get(struct pve_ctx *x, const char *path, pve_parse_fn parse, void *out, char *msg,
			 size_t n)
{
	const char *body;
	size_t len;
	char why[200];
	enum perr e = collect_get_body(x->c, x->t, path, &body, &len, msg, n);

	pve_check_auth(x, e, msg);
	if (e != PE_OK)
		return e;
	e = pve_parsed(parse(body, len, out, why, sizeof(why)), path, why, msg, n);
	collect_release_body(x->c, body); /* the facts are out: the answer may be packed in the cache now */
	return e;
}

/*
 * Only with pbs: sources configured: /storage (the cluster's storage
 * configuration) says which storage is which PBS datastore. Read early,
 * used when the samples are made; a failure costs only the matching.
 */
static enum perr pve_fetch_storage_config(struct pve_ctx *x)
{
	char msg[256];
	enum perr e;

	if (!x->c->cfg->npbs)
		return PE_OK;
	e = collect_get_body(x->c, x->t, "/storage", &x->storage_cfg, &x->storage_cfg_len, msg, sizeof(msg));
	pve_check_auth(x, e, msg);
	if (e == PE_AUTH || e == PE_NOMEM)
		return e;
	if (e == PE_DENIED)
		pve_log_denied(x, "/storage", "Datastore.Audit on /storage", msg);
	else if (e != PE_OK)
		log_kv(pve_level(x, "storage-config", NULL, msg),
		       "PVE storage configuration unreadable; PBS storages not matched", "source",
		       x->c->source, "err", msg, (const char *)NULL);
	if (e != PE_OK)
		x->storage_cfg = NULL;
	return PE_OK;
}

/* A PVE storage that is a datastore of a pbs: source: published, and kept as facts for copies counting. */
static void pve_pbs_storage(void *ctx, const struct pve_pbs_match *m)
{
	struct pve_ctx *x = ctx;
	char key[300];

	expfmt_add(x->c->out, &d_storage_pbs, 1, "source", x->c->source, "storage", m->storage, "pbs_source",
		   m->pbs_source, "datastore", m->datastore, "namespace", m->ns, NULL);
	snprintf(key, sizeof(key), "storage/%s/pbs_source", m->storage);
	collect_fact_set(x->c, "pve", x->c->source, key, 0, m->pbs_source);
	snprintf(key, sizeof(key), "storage/%s/pbs_datastore", m->storage);
	collect_fact_set(x->c, "pve", x->c->source, key, 0, m->datastore);
	snprintf(key, sizeof(key), "storage/%s/pbs_namespace", m->storage);
	collect_fact_set(x->c, "pve", x->c->source, key, 0, m->ns);
}

static void pve_emit_pbs_storages(struct pve_ctx *x)
{
	char msg[200];

	if (x->storage_cfg && pve_pbs_match_body(x->storage_cfg, x->storage_cfg_len, x->c->cfg,
						 pve_pbs_storage, x, msg, sizeof(msg)) != PE_OK)
		log_kv(pve_level(x, "storage-config", NULL, msg),
		       "PVE storage configuration unreadable; PBS storages not matched", "source",
		       x->c->source, "err", msg, (const char *)NULL);
}

/* /nodes, /cluster/resources and /cluster/backup: without the first two the source is down. */
static enum perr pve_fetch_cluster(struct pve_ctx *x)
{
	struct pve_model *m = &x->m;
	char msg[256];
	enum perr e;

	if ((e = pve_get(x, "/nodes", pve_parse_nodes_fn, &m->nodes, msg, sizeof(msg))) != PE_OK)
		goto fail;
	if ((e = pve_get(x, "/cluster/resources?type=vm", pve_parse_guests_fn, &m->guests, msg,
			 sizeof(msg))) != PE_OK)
		goto fail;
	e = pve_get(x, "/cluster/backup", pve_parse_jobs_fn, &m->jobs, msg, sizeof(msg));
	m->has_jobs = e == PE_OK;
	if (e == PE_DENIED)
		pve_log_denied(x, "/cluster/backup", "Sys.Audit on /", msg);
	else if (e != PE_OK)
		goto fail;
	if (!m->guests.n)
		log_kv(pve_level(x, "noguests", NULL, NULL),
		       "PVE token sees no guests; it needs VM.Audit on /vms", "source", x->c->source,
		       (const char *)NULL);
	return pve_model_start(m);
fail:
	if (e != PE_NOMEM)
		collect_fail(x->c, "%s", msg);
	return e;
}

/* One node-scoped GET: failures cost only this node's data (*ok 1 when it worked). PE_AUTH and PE_NOMEM stop the task. */
static enum perr pve_node_get(struct pve_ctx *x, const char *node, const char *rest, const char *priv,
			      pve_parse_fn parse, void *out, int *ok)
{
	char msg[256], *path = pve_node_path(node, rest, NULL, NULL);
	enum perr e;

	*ok = 0;
	if (!path)
		return PE_NOMEM;
	e = pve_get(x, path, parse, out, msg, sizeof(msg));
	free(path);
	if (e == PE_DENIED)
		pve_log_denied(x, rest, priv, msg);
	else if (e != PE_OK && e != PE_AUTH && e != PE_NOMEM)
		log_kv(pve_level(x, rest, node, msg), "PVE node endpoint failed; only its metrics are absent",
		       "source", x->c->source, "node", node, "err", msg, (const char *)NULL);
	*ok = e == PE_OK;
	return (e == PE_AUTH || e == PE_NOMEM) ? e : PE_OK;
}

/* Tasks, scheduler state and backup storages of every online node. */
static enum perr pve_fetch_nodes(struct pve_ctx *x)
{
	struct pve_model *m = &x->m;
	enum perr e;
	int ok;

	for (size_t i = 0; i < m->nodes.n; i++) {
		const struct pve_node *nd = &m->nodes.v[i];
		struct pve_node_facts *f = &m->nf[i];

		if (!nd->online)
			continue;
		if ((e = pve_node_get(x, nd->name, PVE_TASKS, "Sys.Audit on /nodes/<node>",
				      pve_parse_tasks_fn, &f->tasks, &f->has_tasks)) != PE_OK ||
		    (e = pve_node_get(x, nd->name, "/services/pvescheduler/state",
				      "Sys.Audit on /nodes/<node>", pve_parse_service_fn, &f->sched, &ok)) !=
			    PE_OK ||
		    (e = pve_node_get(x, nd->name, "/storage?content=backup", "Datastore.Audit on /storage",
				      pve_parse_storages_fn, &f->storages, &f->has_storages)) != PE_OK)
			return e;
		if (!ok)
			f->sched = -1;
		m->ntasks += f->tasks.n;
	}
	return PE_OK;
}

/* The first slot of schedule after start, from PVE's own calendar code. */
static enum perr pve_next_due(struct pve_ctx *x, const char *schedule, double start, double *due)
{
	char msg[256], why[200];
	const char *body;
	size_t len;
	struct buf path;
	enum perr e;

	*due = 0;
	buf_init(&path, 4096);
	buf_adds(&path, "/cluster/jobs/schedule-analyze?schedule=");
	fetch_urlencode(&path, schedule);
	buf_addf(&path, "&starttime=%lld&iterations=1", (long long)start);
	if ((e = buf_err(&path)) != PE_OK)
		goto out;
	e = collect_get_body(x->c, x->t, buf_str(&path), &body, &len, msg, sizeof(msg));
	pve_check_auth(x, e, msg);
	if (e == PE_OK)
		e = pve_parsed(pve_parse_calendar(body, len, start, due, why, sizeof(why)), buf_str(&path),
			       why, msg, sizeof(msg));
	if (e == PE_TIMEOUT) { /* the deadline went to slow listings: only this job-node's slot is absent */
		log_kv(pve_level(x, "calendar", schedule, msg),
		       "PVE calendar request got no answer in time; next due slot absent", "source",
		       x->c->source, "err", msg, (const char *)NULL);
		e = PE_OK;
	} else if (e != PE_OK && e != PE_AUTH && e != PE_NOMEM) {
		collect_fail(x->c, "%s", msg);
	}
out:
	buf_free(&path);
	return e;
}

/* Job-nodes with a scheduler task get their next slot before the listings, which may be slow. */
static enum perr pve_eval_jobs(struct pve_ctx *x)
{
	struct pve_model *m = &x->m;
	enum perr e = pve_model_jobnodes(m);

	for (size_t i = 0; i < m->njn && e == PE_OK; i++) {
		struct pve_jobnode *jn = &m->jn[i];
		if (jn->last_run > 0)
			e = pve_next_due(x, m->jobs.v[jn->job].schedule, jn->last_run, &jn->next_due);
	}
	return e;
}

/* Job-nodes without a scheduler task: the newest archive of the job's guests, else now - 7 days. */
static enum perr pve_eval_pending(struct pve_ctx *x)
{
	struct pve_model *m = &x->m;
	enum perr e = PE_OK;

	for (size_t i = 0; i < m->njn && e == PE_OK; i++) {
		struct pve_jobnode *jn = &m->jn[i];
		if (jn->last_run > 0)
			continue;
		double start = pve_model_pending_start(m, jn, collect_now(x->c));
		e = pve_next_due(x, m->jobs.v[jn->job].schedule, start, &jn->next_due);
	}
	return e;
}

/* Lists one storage's archives from one node, counted as they stream. 1 listed, 0 failed; -PE_* to stop. */
static int pve_list_storage(struct pve_ctx *x, const char *node, const char *sid)
{
	char msg[256], *path = pve_node_path(node, "/storage/", sid, "/content?content=backup");
	struct fetch_target t = *x->t;
	const void *listing = NULL;
	enum perr e;

	if (!path)
		return -PE_NOMEM;
	t.max_body = PVE_LISTING_MAX_BODY;
	e = collect_get_parsed(x->c, &t, path, &pve_listing_parser, &listing, msg, sizeof(msg));
	free(path);
	pve_check_auth(x, e, msg);
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
	if (pve_model_add_listing(&x->m, listing, sid) != PE_OK)
		return -PE_NOMEM;
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

/* Lists one backup storage of a node's list, unless a shared one is already done. */
static enum perr pve_fetch_storage(struct pve_ctx *x, const char *node, const struct pve_storage *s,
				   const char **failed, size_t *nfailed)
{
	int r = 0;

	if (s->shared && pve_sid_in(x->shared_done, x->nshared_done, s->sid))
		return PE_OK;
	/* an inactive storage is not listed: PVE would answer "storage is not online" */
	if (s->enabled && s->active)
		r = pve_list_storage(x, node, s->sid);
	if (r < 0)
		return (enum perr) - r;
	if (r > 0 && s->shared)
		x->shared_done[x->nshared_done++] = s->sid;
	else if (r == 0 && s->shared)
		failed[(*nfailed)++] = s->sid; /* another node may still list it */
	else if (r == 0) {
		x->m.incomplete = 1;
		x->m.nfailed++;
	}
	return PE_OK;
}

/* Each local backup storage once per node, each shared one once per cluster. */
static enum perr pve_fetch_archives(struct pve_ctx *x)
{
	struct pve_model *m = &x->m;
	const char **failed;
	size_t cap = 1, nfailed = 0;
	enum perr e = PE_OK;

	for (size_t i = 0; i < m->nodes.n; i++)
		cap += m->nf[i].storages.n;
	x->shared_done = calloc(cap, sizeof(*x->shared_done));
	failed = calloc(cap, sizeof(*failed));
	if (!x->shared_done || !failed) {
		free(failed);
		return PE_NOMEM;
	}
	for (size_t i = 0; i < m->nodes.n && e == PE_OK; i++) {
		if (!m->nf[i].has_storages) { /* offline or failed node: its local archives are unknown */
			m->incomplete = 1;
			continue;
		}
		for (size_t k = 0; k < m->nf[i].storages.n && e == PE_OK; k++)
			e = pve_fetch_storage(x, m->nodes.v[i].name, &m->nf[i].storages.v[k], failed,
					      &nfailed);
	}
	for (size_t i = 0; i < nfailed; i++)
		if (!pve_sid_in(x->shared_done, x->nshared_done, failed[i])) {
			m->incomplete = 1;
			m->nfailed++;
		}
	free(failed);
	return e;
}

/*
 * Facts the inventory judges restorability by: per storage the newest
 * archive whose verification did not fail, and the guest's verification.
 */
static void pve_restore_facts(struct pve_ctx *x, long vmid, const struct pve_restore_guest *r)
{
	const struct pve_restore_stats *a = &r->all;
	const char *src = x->c->source;
	char key[320];

	for (size_t i = 0; i < r->nplaces; i++) {
		snprintf(key, sizeof(key), "guest/%ld/place/%.256s", vmid, r->places[i].storage);
		collect_fact_set(x->c, "pve", src, key, r->places[i].s.newest_intact, NULL);
	}
	if (!a->count)
		return;
	snprintf(key, sizeof(key), "guest/%ld/verifiable", vmid);
	collect_fact_set(x->c, "pve", src, key, (double)a->pbs_archives, NULL);
	snprintf(key, sizeof(key), "guest/%ld/newest_verify", vmid);
	collect_fact_set(x->c, "pve", src, key, a->newest_verify, NULL);
	snprintf(key, sizeof(key), "guest/%ld/last_failed", vmid);
	if (a->last_failed > 0)
		collect_fact_set(x->c, "pve", src, key, a->last_failed, NULL);
	snprintf(key, sizeof(key), "guest/%ld/last_verified", vmid);
	if (a->last_verified > 0)
		collect_fact_set(x->c, "pve", src, key, a->last_verified, NULL);
}

/* The facts later phases read: each guest's newest backup, template flag, name, type and node. */
static void pve_set_facts(struct pve_ctx *x)
{
	const struct pve_model *m = &x->m;
	const char *src = x->c->source;
	char key[64];

	for (size_t i = 0; i < m->guests.n; i++) {
		const struct pve_guest *g = &m->guests.v[i];

		if (m->gs[i].count > 0) {
			snprintf(key, sizeof(key), "guest/%ld/last_backup", g->vmid);
			collect_fact_set(x->c, "pve", src, key, m->gs[i].last_ctime, NULL);
		}
		snprintf(key, sizeof(key), "guest/%ld/template", g->vmid);
		collect_fact_set(x->c, "pve", src, key, g->tmpl, NULL);
		snprintf(key, sizeof(key), "guest/%ld/name", g->vmid);
		collect_fact_set(x->c, "pve", src, key, 0, g->name ? g->name : "");
		snprintf(key, sizeof(key), "guest/%ld/type", g->vmid);
		collect_fact_set(x->c, "pve", src, key, 0, g->type);
		snprintf(key, sizeof(key), "guest/%ld/node", g->vmid);
		collect_fact_set(x->c, "pve", src, key, 0, g->node ? g->node : "");
		if (!m->hidden)
			pve_restore_facts(x, g->vmid, &m->gs[i].restore);
	}
}

/*
 * Gather everything first, then emit: a source that fails on a
 * cluster-wide endpoint publishes nothing but source_up 0.
 */
static enum perr pve_collect(struct collect *c)
{
	struct pve_ctx x = {.c = c};
	enum perr e;

	pve_model_init(&x.m);
	if ((e = pve_client_new(&c->cfg->pve[c->index], &x.pc)) != PE_OK)
		goto out;
	x.t = pve_client_target(x.pc, PVE_TOKEN_READ);
	if ((e = pve_fetch_cluster(&x)) != PE_OK || (e = pve_fetch_storage_config(&x)) != PE_OK ||
	    (e = pve_fetch_nodes(&x)) != PE_OK || (e = pve_eval_jobs(&x)) != PE_OK ||
	    (e = pve_fetch_archives(&x)) != PE_OK)
		goto out;
	if (pve_model_check_hidden(&x.m))
		log_kv(pve_level(&x, "hidden", NULL, NULL),
		       "PVE lists vzdump tasks but no backup archive: the token cannot see archives; "
		       "listing them needs Datastore.Allocate, or Datastore.AllocateSpace + VM.Backup",
		       "source", c->source, (const char *)NULL);
	if ((e = pve_eval_pending(&x)) != PE_OK)
		goto out;
	if ((e = pve_emit(&x.m, c->source, c->out)) == PE_OK) {
		pve_set_facts(&x);
		pve_emit_pbs_storages(&x);
	}
out:
	if (e == PE_NOMEM)
		collect_fail(c, "out of memory");
	pve_client_free(x.pc);
	pve_model_free(&x.m);
	free(x.shared_done);
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
