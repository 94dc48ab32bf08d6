/* collector_n8n.c - n8n: live workflow count from the public API, newest snapshot from files. */
#include "collector.h"
#include "log.h"
#include "n8n.h"
#include "n8n_snapshot.h"
#include "probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Following nextCursor stops here: 1000 pages of 250 is far beyond any real instance. */
#define N8N_MAX_PAGES 1000

static const struct expfmt_desc d_workflows = {
	"persistence_n8n_workflows", EXPFMT_GAUGE,
	"Workflows the n8n public API lists, by state (active, inactive, archived)."};
static const struct expfmt_desc d_snap_time = {"persistence_n8n_snapshot_last_timestamp_seconds",
					       EXPFMT_GAUGE,
					       "Modification time of the newest n8n workflow snapshot."};
static const struct expfmt_desc d_snap_workflows = {"persistence_n8n_snapshot_workflows", EXPFMT_GAUGE,
						    "Workflows held by the newest n8n workflow snapshot."};
static const struct expfmt_desc d_snaps = {"persistence_n8n_snapshots", EXPFMT_GAUGE,
					   "n8n workflow snapshots (export files or folders) found."};

static size_t n8n_count(const struct config *cfg)
{
	return cfg->nn8n;
}

static const char *n8n_source_name(const struct config *cfg, size_t i)
{
	return cfg->n8n[i].name;
}

/* 1 when cursor was already followed in this collection; otherwise remembers it. */
static int cursor_repeats(struct buf *seen, const char *cursor)
{
	for (size_t off = 0; off < seen->len; off += strlen(seen->data + off) + 1)
		if (strcmp(seen->data + off, cursor) == 0)
			return 1;
	buf_add(seen, cursor, strlen(cursor) + 1);
	return 0;
}

/*
 * Fetches and parses one page; on failure msg names the case (HTML, 401
 * kind, bad JSON...) and *odd_answer is set when n8n answered with
 * something other than a JSON page or a 401 (worth a /healthz look).
 */
static enum perr n8n_page(struct collect *c, const struct fetch_target *t, const char *cursor,
			  struct n8n_counts *counts, char **next, int *odd_answer, char *msg, size_t msglen)
{
	const struct fetch_resp *resp = NULL;
	struct buf path;
	enum perr e;

	*next = NULL;
	buf_init(&path, 0);
	n8n_page_path(&path, cursor);
	/* pages of one listing must not mix with stale ones; each is let go once counted */
	e = buf_err(&path) ? buf_err(&path) : collect_get_fresh(c, t, buf_str(&path), &resp, msg, msglen);
	if (e == PE_OK && !resp)
		e = PE_INTERNAL;
	if (resp && (e == PE_OK || resp->status > 0))
		e = n8n_page_read(e, resp->status, resp->content_type, resp->body.data, resp->body.len,
				  counts, next, odd_answer, msg, msglen);
	if (resp)
		collect_release_resp(c, resp);
	buf_free(&path);
	return e;
}

/* Adds a hint from /healthz to msg (the API answered, but not with a page). */
static void n8n_health_hint(struct collect *c, const struct fetch_target *t, char *msg, size_t msglen)
{
	const struct fetch_resp *resp = NULL;
	char hmsg[128];
	size_t len = strlen(msg);
	if (collect_get(c, t, "/healthz", &resp, hmsg, sizeof(hmsg)) == PE_OK)
		snprintf(msg + len, msglen - len, "; /healthz ok: the process runs, the API is not ready");
	else
		snprintf(msg + len, msglen - len, "; /healthz fails too: n8n is starting or down");
}

/* Pages through the workflow list; PE_OK only when every page was read and parsed. */
static enum perr n8n_list_all(struct collect *c, const struct fetch_target *t, struct n8n_counts *counts,
			      int *odd_answer, char *msg, size_t msglen)
{
	struct buf seen;
	char *cursor = NULL, *next = NULL;
	char pmsg[200] = "";
	enum perr e = PE_OK;
	size_t page = 1;

	buf_init(&seen, 0);
	for (;; page++) {
		e = n8n_page(c, t, cursor, counts, &next, odd_answer, pmsg, sizeof(pmsg));
		free(cursor);
		cursor = next;
		next = NULL;
		if (e || !cursor)
			break;
		if (page >= N8N_MAX_PAGES || cursor_repeats(&seen, cursor) || buf_err(&seen)) {
			snprintf(pmsg, sizeof(pmsg), "%s after %zu pages",
				 page >= N8N_MAX_PAGES ? "page cap hit" : "pagination cursor repeats", page);
			e = PE_PARSE;
			break;
		}
	}
	if (e)
		snprintf(msg, msglen, "n8n workflow list page %zu: %s", page, pmsg);
	free(cursor);
	buf_free(&seen);
	return e;
}

static void n8n_emit_live(struct collect *c, const struct n8n_counts *n)
{
	expfmt_add(c->out, &d_workflows, (double)n->active, "source", c->source, "state", "active", NULL);
	expfmt_add(c->out, &d_workflows, (double)n->inactive, "source", c->source, "state", "inactive", NULL);
	expfmt_add(c->out, &d_workflows, (double)n->archived, "source", c->source, "state", "archived", NULL);
	collect_fact_set(c, "n8n", c->source, "live_total", (double)(n->active + n->inactive + n->archived),
			 NULL);
}

/* The instance's target: base_url without a trailing slash, the API key header. NULL when out of memory. */
static struct fetch_target *n8n_target_new(const struct config_n8n *n)
{
	struct fetch_target tmpl = {
		.ca_file = n->tls.ca_file,
		.fingerprint = n->tls.fingerprint,
		.insecure = n->tls.insecure_skip_verify,
		.timeout = n->timeout,
	};
	struct fetch_target *t = fetch_target_new(&tmpl);
	size_t len = strlen(n->url);
	char *url;

	while (len > 0 && n->url[len - 1] == '/')
		len--;
	url = strndup(n->url, len);
	if (!t || !url || fetch_target_set_url(t, url, (char *)NULL) != PE_OK ||
	    fetch_target_set_auth(t, "X-N8N-API-KEY: ", n->api_key ? n->api_key : "", (char *)NULL) !=
		    PE_OK) {
		fetch_target_free(t);
		t = NULL;
	}
	free(url);
	return t;
}

static enum perr n8n_live(struct collect *c, const struct config_n8n *n)
{
	struct fetch_target *t = n8n_target_new(n);
	struct n8n_counts counts = {0, 0, 0};
	char msg[256] = "";
	int odd_answer = 0;
	enum perr e = t ? PE_OK : PE_NOMEM;

	if (e == PE_OK)
		e = n8n_list_all(c, t, &counts, &odd_answer, msg, sizeof(msg));
	if (e == PE_OK)
		n8n_emit_live(c, &counts);
	else {
		if (odd_answer)
			n8n_health_hint(c, t, msg, sizeof(msg));
		collect_fail(c, "%s", msg[0] ? msg : err_str(e));
	}
	fetch_target_free(t); /* wipes the key */
	return e;
}

/* A snapshot scan; runs on the probe pool's worker, since the folder may sit on a dead NFS mount. */
struct n8n_snap_job {
	char *spec;
	enum perr rc;
	struct n8n_snapshot_info info;
};

static void n8n_snap_job_run(void *arg)
{
	struct n8n_snap_job *j = arg;
	j->rc = n8n_snapshot_scan(j->spec, &j->info);
}

static void n8n_snap_job_free(void *arg)
{
	struct n8n_snap_job *j = arg;
	if (j)
		free(j->spec);
	free(j);
}

/*
 * Scans the snapshots through the hang-safe pool (key "n8n-snap:<source>"),
 * waiting at most the source timeout or what is left of the scrape. A scan
 * still hanging from an earlier scrape blocks nothing: the metrics are
 * absent and a line says why. Returns the finished job (caller frees) or NULL.
 */
static struct n8n_snap_job *n8n_snapshots_scan(struct collect *c, const struct config_n8n *n)
{
	struct probe_pool *pool = collect_probes(c);
	struct n8n_snap_job *j = calloc(1, sizeof(*j));
	if (j)
		j->spec = strdup(n->snapshots);
	if (!pool || !j || !j->spec) {
		n8n_snap_job_free(j);
		collect_warn(c, "n8n snapshots not scanned", "source", c->source, "err", err_str(PE_NOMEM));
		return NULL;
	}
	char key[300];
	snprintf(key, sizeof(key), "n8n-snap:%s", c->source);
	double timeout = n->timeout, left = collect_remaining(c);
	if (left < timeout)
		timeout = left;
	if (probe_run(pool, key, n8n_snap_job_run, j, n8n_snap_job_free, timeout) != PE_OK) {
		/* the pool owns j now and frees it if the scan ever returns */
		collect_warn(c, "n8n snapshots not readable in time (hung file system?)", "source", c->source,
			     "snapshots", n->snapshots);
		return NULL;
	}
	return j;
}

static void n8n_snapshots(struct collect *c, const struct config_n8n *n)
{
	if (!n->snapshots)
		return;
	struct n8n_snap_job *j = n8n_snapshots_scan(c, n);
	if (!j)
		return;
	const struct n8n_snapshot_info *info = &j->info;
	if (j->rc != PE_OK) {
		collect_warn(c, "n8n snapshots unreadable", "source", c->source, "err", info->msg);
		goto out;
	}
	expfmt_add(c->out, &d_snaps, (double)info->nsnapshots, "source", c->source, NULL);
	if (info->nsnapshots == 0) {
		collect_warn(c, "n8n: no snapshot found", "source", c->source, "snapshots", n->snapshots);
		goto out;
	}
	expfmt_add(c->out, &d_snap_time, info->newest_mtime, "source", c->source, NULL);
	collect_fact_set(c, "n8n", c->source, "snapshot_last", info->newest_mtime, NULL);
	if (!info->counted) {
		collect_warn(c, "n8n: newest snapshot not counted", "source", c->source, "snapshot",
			     info->newest, "err", info->msg);
		goto out;
	}
	expfmt_add(c->out, &d_snap_workflows, (double)info->workflows, "source", c->source, NULL);
	collect_fact_set(c, "n8n", c->source, "snapshot_workflows", (double)info->workflows, NULL);
out:
	n8n_snap_job_free(j);
}

static enum perr n8n_collect(struct collect *c)
{
	const struct config_n8n *n = &c->cfg->n8n[c->index];
	enum perr e = n8n_live(c, n);
	n8n_snapshots(c, n); /* files tell their story even while the API is down */
	return e;
}

const struct collector collector_n8n = {
	.name = "n8n",
	.kind = "n8n",
	.phase = 0,
	.count = n8n_count,
	.source_name = n8n_source_name,
	.collect = n8n_collect,
};
