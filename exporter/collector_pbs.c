/* collector_pbs.c - the Proxmox Backup Server collector: every datastore's requests at once, answers to facts to samples. */
#include "collector.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pbs.h"

#define PBS_MAX_GROUPS 10000 /* groups published per source (5 series each) */
/* Snapshot listings: 400-700 bytes a snapshot, so 60,000 snapshots are about 40 MB. */
#define PBS_LISTING_MAX_BODY ((size_t)256 << 20)
#define PBS_PATH_VERSION "/version"
#define PBS_PATH_STORES "/admin/datastore"
#define PBS_PATH_USAGE "/status/datastore-usage"
#define PBS_PATH_TASKS "/nodes/localhost/tasks?statusfilter=error&limit=500"

/* One selected datastore and the paths of its requests. */
struct pbs_ds {
	char *name;
	char *p_status, *p_gc, *p_ns;
	char **ns; /* namespaces to list (from its namespace list, filtered) */
	size_t nns;
	int ns_done; /* the namespace list was handled */
	int denied; /* a 403 was already logged for this store */
};

struct pbs_ctx {
	struct collect *c;
	const struct config_pbs *p;
	struct fetch_target *t; /* every request but snapshot listings */
	struct fetch_target *tl; /* snapshot listings: the larger response cap */
	struct pbs_facts *f;
	struct pbs_ds *ds;
	size_t nds;
	const char *sync_path;
};

static size_t pbs_count(const struct config *cfg)
{
	return cfg->npbs;
}

static const char *pbs_source_name(const struct config *cfg, size_t i)
{
	return cfg->pbs[i].name;
}

/* The token header is "PBSAPIToken=<user@realm!name>:<secret>". */
static struct fetch_target *pbs_target_new(const struct config_pbs *p, size_t max_body)
{
	struct fetch_target tmpl = {.ca_file = p->tls.ca_file,
				    .fingerprint = p->tls.fingerprint,
				    .insecure = p->tls.insecure_skip_verify,
				    .timeout = p->timeout > 0 ? p->timeout : 10,
				    .max_body = max_body};
	struct fetch_target *t = fetch_target_new(&tmpl);

	if (!t || fetch_target_set_url(t, p->url, "/api2/json", (char *)NULL) != PE_OK ||
	    fetch_target_set_auth(t, "Authorization: PBSAPIToken=", p->token_id ? p->token_id : "", ":",
				  p->token_secret ? p->token_secret : "", (char *)NULL) != PE_OK) {
		fetch_target_free(t);
		return NULL;
	}
	return t;
}

/* "/admin/datastore/<store><tail>" with the store percent-encoded; NULL when out of memory. */
static char *pbs_store_path(const char *store, const char *tail, const char *ns)
{
	struct buf b;

	buf_init(&b, 4096);
	buf_adds(&b, "/admin/datastore/");
	fetch_urlencode(&b, store);
	buf_adds(&b, tail);
	if (ns && *ns) {
		buf_adds(&b, "?ns=");
		fetch_urlencode(&b, ns);
	}
	if (buf_err(&b) != PE_OK) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b, NULL);
}

static void pbs_ds_free(struct pbs_ds *d)
{
	free(d->name);
	free(d->p_status);
	free(d->p_gc);
	free(d->p_ns);
	pbs_strv_free(d->ns, d->nns);
}

static void pbs_ctx_free(struct pbs_ctx *x)
{
	for (size_t i = 0; i < x->nds; i++)
		pbs_ds_free(&x->ds[i]);
	free(x->ds);
	pbs_facts_free(x->f);
	fetch_target_free(x->t);
	fetch_target_free(x->tl);
}

/*
 * GET path as bytes for a parser (2xx, not empty, not HTML). A 401 marks
 * the source down with the hint (PBS answers every failed login after 3 s).
 */
static enum perr pbs_get(struct pbs_ctx *x, const struct fetch_target *t, const char *path, const char **body,
			 size_t *len, char *msg, size_t n)
{
	enum perr e = collect_get_body(x->c, t, path, body, len, msg, n);

	if (e == PE_AUTH)
		collect_fail(x->c, "%s: check token_id/secret; PBS delays every 401 by 3 s", msg);
	return e;
}

/* A snapshot listing is folded as it arrives: the cache keeps the groups, never the body. */
static void *pbs_listing_open(void)
{
	return pbs_listing_new();
}

static void pbs_listing_take(void *p, const char *data, size_t len)
{
	pbs_listing_feed(p, data, len);
}

static enum perr pbs_listing_close(void *p, const char *content_type, size_t total, char *msg, size_t n)
{
	if (total == 0) {
		snprintf(msg, n, "empty body where JSON was expected");
		return PE_PARSE;
	}
	if (content_type && strstr(content_type, "html")) {
		snprintf(msg, n, "HTML instead of JSON (wrong URL, or a proxy in front of PBS?)");
		return PE_PARSE;
	}
	return pbs_listing_end(p, total, msg, n);
}

static void pbs_listing_drop(void *p)
{
	pbs_listing_free(p);
}

static const struct upcache_parser pbs_listing_parser = {pbs_listing_open, pbs_listing_take,
							 pbs_listing_close, pbs_listing_drop};

/* A parse error in an answer, as "GET <path>: <reason>". */
static void pbs_parse_msg(char *msg, size_t n, const char *path, const char *why)
{
	snprintf(msg, n, "GET %s: %s", path, why);
}

/*
 * The outcome of one read for the inventory: 1 read, 0 failed (str: why),
 * -1 no answer in time. key is "namespaces/<store>" or "listing/<store>/<ns>".
 */
static void pbs_read_fact(struct pbs_ctx *x, const char *what, const char *store, const char *ns, enum perr e,
			  const char *msg)
{
	char key[600];

	snprintf(key, sizeof(key), "%s/%s%s%s", what, store, ns ? "/" : "", ns ? ns : "");
	collect_fact_set(x->c, "pbs", x->c->source, key,
			 e == PE_OK        ? 1
			 : e == PE_TIMEOUT ? -1
					   : 0,
			 e == PE_OK ? NULL : msg);
}

/* Logs a partial failure (rate-limited); a 403 names the privilege. 0 for PE_AUTH/PE_NOMEM: stop the task. */
static int pbs_partial(struct pbs_ctx *x, enum perr e, const char *what, const char *store, const char *priv,
		       const char *msg)
{
	if (e == PE_AUTH || e == PE_NOMEM)
		return 0;
	if (e == PE_DENIED)
		collect_warn(x->c, "PBS permission missing; metrics from this endpoint are absent", "source",
			     x->c->source, "endpoint", what, "datastore", store ? store : "", "needs", priv,
			     "err", msg);
	else
		collect_warn(x->c, "PBS request failed; only its metrics are absent", "source", x->c->source,
			     "endpoint", what, "datastore", store ? store : "", "err", msg);
	return 1;
}

/* /version: sync jobs need `sync-direction=all` from 3.3 on (else only pull jobs are listed), and older PBS refuse it. */
static enum perr pbs_read_version(struct pbs_ctx *x)
{
	char msg[256], why[160];
	const char *body;
	size_t len;
	enum perr e = pbs_get(x, x->t, PBS_PATH_VERSION, &body, &len, msg, sizeof(msg));

	if (e == PE_OK && (e = pbs_parse_version(x->f, body, len, why, sizeof(why))) != PE_OK)
		pbs_parse_msg(msg, sizeof(msg), PBS_PATH_VERSION, why);
	if (e != PE_OK && !pbs_partial(x, e, "/version", NULL, "an authenticated token", msg))
		return e;
	if (e != PE_OK)
		collect_warn(x->c,
			     "PBS version unknown; sync jobs are listed without sync-direction (pull only)",
			     "source", x->c->source);
	x->sync_path = pbs_sync_direction_param(x->f) ? "/admin/sync?sync-direction=all" : "/admin/sync";
	collect_prefetch(x->c, x->t, x->sync_path, NULL);
	return PE_OK;
}

/* Adds a selected datastore and starts its requests. */
static enum perr pbs_ds_add(struct pbs_ctx *x, const char *name)
{
	struct pbs_ds *d = &x->ds[x->nds];

	memset(d, 0, sizeof(*d));
	pbs_read_fact(x, "datastore", name, NULL, PE_OK, NULL);
	d->name = strdup(name);
	d->p_status = pbs_store_path(name, "/status", NULL);
	d->p_gc = pbs_store_path(name, "/gc", NULL);
	d->p_ns = pbs_store_path(name, "/namespace", NULL);
	x->nds++;
	if (!d->name || !d->p_status || !d->p_gc || !d->p_ns)
		return PE_NOMEM;
	collect_prefetch(x->c, x->t, d->p_status, NULL);
	collect_prefetch(x->c, x->t, d->p_gc, NULL);
	collect_prefetch(x->c, x->t, d->p_ns, NULL);
	if (pbs_ns_selected("", x->p->namespaces, x->p->nnamespaces)) {
		char *root = pbs_store_path(name, "/snapshots", NULL);
		if (!root)
			return PE_NOMEM;
		/* the root always exists: no need to wait for the namespace list */
		collect_prefetch(x->c, x->tl, root, &pbs_listing_parser);
		free(root);
	}
	return PE_OK;
}

/* /admin/datastore (the source is down without it), then the selected stores' requests. */
static enum perr pbs_read_stores(struct pbs_ctx *x)
{
	char msg[256], why[160];
	const char *body;
	size_t len;
	enum perr e = pbs_get(x, x->t, PBS_PATH_STORES, &body, &len, msg, sizeof(msg));

	if (e == PE_OK && (e = pbs_parse_datastores(x->f, body, len, why, sizeof(why))) == PE_PARSE)
		pbs_parse_msg(msg, sizeof(msg), PBS_PATH_STORES, why);
	if (e != PE_OK) {
		collect_fail(x->c, "%s", e == PE_NOMEM ? "out of memory" : msg);
		return e;
	}
	for (size_t i = 0; i < x->p->ndatastores; i++) { /* configured but not listed: down, and said why */
		const char *name = x->p->datastores[i];
		struct pbs_store *s = pbs_store_find(x->f, name);
		if (s && s->listed)
			continue;
		if (!pbs_store_add(x->f, name))
			return PE_NOMEM;
		collect_warn(x->c,
			     "PBS does not list this datastore (deleted, renamed, or the token lacks "
			     "Datastore.Audit on it)",
			     "source", x->c->source, "datastore", name);
	}
	x->ds = calloc(x->f->nstores ? x->f->nstores : 1, sizeof(*x->ds));
	if (!x->ds)
		return PE_NOMEM;
	for (size_t i = 0; i < x->f->nstores; i++) {
		const struct pbs_store *s = &x->f->stores[i];
		if (s->listed && pbs_store_selected(s->name, x->p->datastores, x->p->ndatastores) &&
		    (e = pbs_ds_add(x, s->name)) != PE_OK)
			return e;
	}
	return PE_OK;
}

/* The namespaces of d to list: the selected ones of its namespace list (the root alone without one). */
static enum perr pbs_read_namespaces(struct pbs_ctx *x, struct pbs_ds *d)
{
	char msg[256], why[160], **all = NULL;
	size_t nall = 0, k = 0;
	const char *body;
	size_t len;
	enum perr e = pbs_get(x, x->t, d->p_ns, &body, &len, msg, sizeof(msg));

	d->ns_done = 1;
	if (e == PE_OK && (e = pbs_parse_namespaces(body, len, &all, &nall, why, sizeof(why))) == PE_PARSE)
		pbs_parse_msg(msg, sizeof(msg), d->p_ns, why);
	pbs_read_fact(x, "namespaces", d->name, NULL, e == PE_NOTFOUND ? PE_OK : e, msg);
	if (e == PE_DENIED)
		d->denied = 1;
	if (e != PE_OK && e != PE_NOTFOUND &&
	    !pbs_partial(x, e, "namespace", d->name, "Datastore.Audit on /datastore/<store>", msg))
		return e;
	if (e != PE_OK) { /* no list (PBS before 2.2 has no namespaces): the root alone */
		if (!(all = calloc(1, sizeof(*all))) || !(all[0] = strdup(""))) {
			free(all);
			return PE_NOMEM;
		}
		nall = 1;
	}
	for (size_t i = 0; i < nall; i++) {
		if (!pbs_ns_selected(all[i], x->p->namespaces, x->p->nnamespaces)) {
			free(all[i]);
			continue;
		}
		all[k++] = all[i];
		if (all[i][0]) {
			char *path = pbs_store_path(d->name, "/snapshots", all[i]);
			if (!path) {
				pbs_strv_free(all, k);
				pbs_strv_free(all + i + 1, 0);
				return PE_NOMEM;
			}
			collect_prefetch(x->c, x->tl, path, &pbs_listing_parser);
			free(path);
		}
	}
	d->ns = all;
	d->nns = k;
	return PE_OK;
}

/*
 * Handles the namespace lists in the order their answers come, so that a
 * slow store never holds back the snapshot listings of the others. At the
 * deadline the rest is taken as it is (cached, or missing).
 */
static enum perr pbs_namespace_lists(struct pbs_ctx *x)
{
	const char **paths = calloc(x->nds ? x->nds : 1, sizeof(*paths));
	size_t *which = calloc(x->nds ? x->nds : 1, sizeof(*which));
	enum perr e = PE_OK;

	if (!paths || !which) {
		e = PE_NOMEM;
		goto out;
	}
	for (;;) {
		size_t n = 0;
		int hit;
		for (size_t i = 0; i < x->nds; i++)
			if (!x->ds[i].ns_done) {
				which[n] = i;
				paths[n++] = x->ds[i].p_ns;
			}
		if (n == 0)
			break;
		hit = collect_wait_any(x->c, x->t, paths, n);
		if ((e = pbs_read_namespaces(x, &x->ds[which[hit < 0 ? 0 : hit]])) != PE_OK)
			break;
	}
out:
	free(paths);
	free(which);
	return e;
}

/* One store's status, GC and snapshot listings. */
static enum perr pbs_read_store(struct pbs_ctx *x, struct pbs_ds *d)
{
	static const char priv[] = "Datastore.Audit on /datastore/<store>";
	char msg[256], why[160];
	const char *body;
	size_t len;
	struct pbs_store *s = pbs_store_find(x->f, d->name);
	enum perr e = pbs_get(x, x->t, d->p_status, &body, &len, msg, sizeof(msg));

	if (e == PE_OK && (e = pbs_parse_status(s, body, len, why, sizeof(why))) == PE_PARSE)
		pbs_parse_msg(msg, sizeof(msg), d->p_status, why);
	if (e != PE_OK && !(d->denied && e == PE_DENIED) && !pbs_partial(x, e, "status", d->name, priv, msg))
		return e;
	d->denied |= e == PE_DENIED;
	e = pbs_get(x, x->t, d->p_gc, &body, &len, msg, sizeof(msg));
	if (e == PE_OK && (e = pbs_parse_gc(s, body, len, why, sizeof(why))) == PE_PARSE)
		pbs_parse_msg(msg, sizeof(msg), d->p_gc, why);
	if (e != PE_OK && !(d->denied && e == PE_DENIED) && !pbs_partial(x, e, "gc", d->name, priv, msg))
		return e;
	for (size_t i = 0; i < d->nns; i++) {
		char *path = pbs_store_path(d->name, "/snapshots", d->ns[i]);
		const void *listing = NULL;
		if (!path)
			return PE_NOMEM;
		e = collect_get_parsed(x->c, x->tl, path, &pbs_listing_parser, &listing, msg, sizeof(msg));
		if (e == PE_AUTH)
			collect_fail(x->c, "%s: check token_id/secret; PBS delays every 401 by 3 s", msg);
		if (e == PE_OK &&
		    (e = pbs_store_add_listing(s, d->ns[i], listing, why, sizeof(why))) == PE_INVAL)
			pbs_parse_msg(msg, sizeof(msg), path, why);
		pbs_read_fact(x, "listing", d->name, d->ns[i], e, msg);
		free(path);
		if (e != PE_OK && !(d->denied && e == PE_DENIED) &&
		    !pbs_partial(x, e, "snapshots", d->name, priv, msg))
			return e;
	}
	if (s->skipped)
		collect_warn(x->c, "PBS snapshot items with unexpected types were skipped", "source",
			     x->c->source, "datastore", d->name);
	return PE_OK;
}

/* The server-wide answers: usage estimates, the three job lists, failed tasks. */
static enum perr pbs_read_server(struct pbs_ctx *x)
{
	static const struct {
		enum pbs_job_type type;
		const char *path, *priv;
	} jobs[] = {
		{PBS_JOB_VERIFY, "/admin/verify",
		 "Datastore.Audit (or Datastore.Verify) on /datastore/<store>"},
		{PBS_JOB_PRUNE, "/admin/prune",
		 "Datastore.Audit (or Datastore.Modify) on /datastore/<store>"},
		{PBS_JOB_SYNC, NULL,
		 "Datastore.Audit on the target store and Remote.Audit on /remote/<remote>"},
	};
	char msg[256], why[160];
	const char *body;
	size_t len;
	enum perr e = pbs_get(x, x->t, PBS_PATH_USAGE, &body, &len, msg, sizeof(msg));

	if (e == PE_OK &&
	    (e = pbs_parse_usage(x->f, body, len, collect_now(x->c), why, sizeof(why))) == PE_PARSE)
		pbs_parse_msg(msg, sizeof(msg), PBS_PATH_USAGE, why);
	if (e != PE_OK && !pbs_partial(x, e, "datastore-usage", NULL, "Datastore.Audit on /datastore", msg))
		return e;
	for (size_t i = 0; i < sizeof(jobs) / sizeof(jobs[0]); i++) {
		const char *path = jobs[i].path ? jobs[i].path : x->sync_path;
		e = pbs_get(x, x->t, path, &body, &len, msg, sizeof(msg));
		if (e == PE_OK &&
		    (e = pbs_parse_jobs(x->f, jobs[i].type, body, len, why, sizeof(why))) == PE_PARSE)
			pbs_parse_msg(msg, sizeof(msg), path, why);
		if (e != PE_OK && !pbs_partial(x, e, path, NULL, jobs[i].priv, msg))
			return e;
	}
	e = pbs_get(x, x->t, PBS_PATH_TASKS, &body, &len, msg, sizeof(msg));
	if (e == PE_OK && (e = pbs_parse_tasks(x->f, body, len, why, sizeof(why))) == PE_PARSE)
		pbs_parse_msg(msg, sizeof(msg), PBS_PATH_TASKS, why);
	if (e != PE_OK && !pbs_partial(x, e, "tasks", NULL, "Sys.Audit on /system/tasks", msg))
		return e;
	return PE_OK;
}

/* One fact of a group: prefix ("group/<store>/<ns>/<type>/<id>/") + what. */
static void pbs_group_fact(struct pbs_ctx *x, const char *prefix, const char *what, double v)
{
	char key[1024];

	snprintf(key, sizeof(key), "%s%s", prefix, what);
	collect_fact_set(x->c, "pbs", x->c->source, key, v, NULL);
}

/*
 * Facts for every group: what pbs targets are judged by, and what copies
 * counting needs to find a guest's backups in every datastore of this PBS
 * (docs/metrics.md, "Facts for the inventory").
 */
static void pbs_group_facts(struct pbs_ctx *x)
{
	char prefix[900];

	for (size_t i = 0; i < x->f->nstores; i++) {
		const struct pbs_store *s = &x->f->stores[i];
		for (size_t k = 0; k < s->ngroups; k++) {
			const struct pbs_group *g = &s->groups[k];
			snprintf(prefix, sizeof(prefix), "group/%s/%s/%s/%s/", s->name, g->ns, g->type,
				 g->id);
			pbs_group_fact(x, prefix, "snapshots", (double)g->snapshots);
			pbs_group_fact(x, prefix, "verify_failed", (double)g->verify_failed);
			pbs_group_fact(x, prefix, "last_state", g->last_state);
			if (g->last_backup > 0)
				pbs_group_fact(x, prefix, "last_backup", g->last_backup);
			if (g->last_verified > 0)
				pbs_group_fact(x, prefix, "last_verified", g->last_verified);
		}
	}
}

static void pbs_emit_all(struct pbs_ctx *x)
{
	size_t dropped;

	pbs_facts_select(x->f, x->p->datastores, x->p->ndatastores);
	pbs_facts_sort(x->f);
	dropped = pbs_emit(x->f, x->c->source, PBS_MAX_GROUPS, x->c->out);
	if (dropped) {
		char key[300], n[32];
		snprintf(key, sizeof(key),
			 "pbs\x1f"
			 "cap\x1f%s\x1f%zu",
			 x->c->source, dropped);
		snprintf(n, sizeof(n), "%zu", dropped);
		if (collect_once(x->c, key))
			log_warn("PBS backup groups left out of the persistence_pbs_group_* series (more "
				 "than 10000)",
				 "source", x->c->source, "dropped", n);
	}
	pbs_group_facts(x);
}

/*
 * Every request is started before any answer is waited for: the
 * datastores are asked at the same time, so the slowest sets the pace,
 * and an answer still missing at the deadline is served from the cache.
 */
static enum perr pbs_collect(struct collect *c)
{
	struct pbs_ctx x = {.c = c, .p = &c->cfg->pbs[c->index]};
	enum perr e = PE_NOMEM;

	x.f = pbs_facts_new();
	x.t = pbs_target_new(x.p, 0);
	x.tl = pbs_target_new(x.p, PBS_LISTING_MAX_BODY);
	if (!x.f || !x.t || !x.tl)
		goto out;
	collect_prefetch(c, x.t, PBS_PATH_STORES, NULL);
	collect_prefetch(c, x.t, PBS_PATH_VERSION, NULL);
	collect_prefetch(c, x.t, PBS_PATH_USAGE, NULL);
	collect_prefetch(c, x.t, "/admin/verify", NULL);
	collect_prefetch(c, x.t, "/admin/prune", NULL);
	collect_prefetch(c, x.t, PBS_PATH_TASKS, NULL);
	if ((e = pbs_read_stores(&x)) != PE_OK || (e = pbs_read_version(&x)) != PE_OK ||
	    (e = pbs_namespace_lists(&x)) != PE_OK)
		goto out;
	for (size_t i = 0; i < x.nds; i++)
		if ((e = pbs_read_store(&x, &x.ds[i])) != PE_OK)
			goto out;
	if ((e = pbs_read_server(&x)) != PE_OK)
		goto out;
	pbs_emit_all(&x);
out:
	if (e == PE_NOMEM)
		collect_fail(c, "out of memory");
	pbs_ctx_free(&x);
	return e;
}

const struct collector collector_pbs = {
	.name = "pbs",
	.kind = "pbs",
	.phase = 0,
	.count = pbs_count,
	.source_name = pbs_source_name,
	.collect = pbs_collect,
};
