/* pve_parse.c - PVE API answers as facts: pure parsers (bytes in, facts out) for every endpoint the collector reads. */
#include "pve_parse.h"
#include "jsonwalk.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"

/* ---------- the answer's data member ---------- */

/*
 * Parses body and finds its payload: data of an object, or a bare array.
 * PE_PARSE with msg when it is not JSON, has no (or a null) data member,
 * or the payload is not an array (an object with want_obj). *doc is the
 * caller's to delete.
 */
static enum perr pve_doc(const char *body, size_t len, int want_obj, cJSON **doc, const cJSON **data,
			 char *msg, size_t msglen)
{
	const char *end = NULL;

	*data = NULL;
	*doc = cJSON_ParseWithLengthOpts(body ? body : "", body ? len : 0, &end, 0);
	if (!*doc) {
		snprintf(msg, msglen, "invalid or truncated JSON near byte %zu of %zu",
			 end && body ? (size_t)(end - body) : 0, len);
		return PE_PARSE;
	}
	*data = pve_data(*doc);
	if (!*data || cJSON_IsNull(*data)) {
		snprintf(msg, msglen, "answer has no data member");
		return PE_PARSE;
	}
	if (want_obj ? !cJSON_IsObject(*data) : !cJSON_IsArray(*data)) {
		snprintf(msg, msglen, "data is not an %s", want_obj ? "object" : "array");
		return PE_PARSE;
	}
	return PE_OK;
}

/* A copy of a string member, NULL when absent; *nomem when the copy failed. */
static char *pve_dup(const cJSON *o, const char *key, int *nomem)
{
	const char *s = pve_json_str(o, key);
	char *d = s ? strdup(s) : NULL;

	if (s && !d)
		*nomem = 1;
	return d;
}

/* ---------- /nodes ---------- */

void pve_nodes_free(struct pve_nodes *n)
{
	for (size_t i = 0; i < n->n; i++)
		free(n->v[i].name);
	free(n->v);
	n->v = NULL;
	n->n = 0;
}

enum perr pve_parse_nodes(const char *body, size_t len, struct pve_nodes *out, char *msg, size_t msglen)
{
	cJSON *doc;
	const cJSON *data, *it;
	int nomem = 0;
	enum perr e = pve_doc(body, len, 0, &doc, &data, msg, msglen);

	memset(out, 0, sizeof(*out));
	if (e == PE_OK && !(out->v = calloc((size_t)cJSON_GetArraySize(data) + 1, sizeof(*out->v))))
		e = PE_NOMEM;
	const cJSON *items = e == PE_OK ? data : NULL;
	cJSON_ArrayForEach(it, items)
	{
		const char *name = pve_json_str(it, "node"), *status = pve_json_str(it, "status");

		if (!name || !*name)
			continue;
		out->v[out->n].name = pve_dup(it, "node", &nomem);
		out->v[out->n++].online = status && strcmp(status, "online") == 0;
	}
	cJSON_Delete(doc);
	if (e == PE_OK && nomem)
		e = PE_NOMEM;
	if (e != PE_OK)
		pve_nodes_free(out);
	return e;
}

/* ---------- /cluster/resources ---------- */

void pve_guests_free(struct pve_guests *g)
{
	for (size_t i = 0; i < g->n; i++) {
		free(g->v[i].name);
		free(g->v[i].node);
		free(g->v[i].pool);
	}
	free(g->v);
	g->v = NULL;
	g->n = 0;
}

/* Gathers guests while the answer is walked. */
struct pve_guest_walk {
	struct pve_guests *g;
	size_t cap, pos;
	int nomem;
};

static void pve_guest_item(void *ctx, const cJSON *it)
{
	struct pve_guest_walk *w = ctx;
	const char *type = pve_json_str(it, "type");
	double v;

	w->pos++;
	if (w->nomem || !pve_json_num(it, "vmid", &v) || v < 0 || v > 999999999 || !type ||
	    (strcmp(type, "qemu") != 0 && strcmp(type, "lxc") != 0))
		return;
	if (w->g->n == w->cap) {
		size_t ncap = w->cap ? w->cap * 2 : 64;
		struct pve_guest *nv = realloc(w->g->v, ncap * sizeof(*nv));
		if (!nv) {
			w->nomem = 1;
			return;
		}
		w->g->v = nv;
		w->cap = ncap;
	}
	struct pve_guest *g = &w->g->v[w->g->n++];
	memset(g, 0, sizeof(*g));
	g->vmid = (long)v;
	snprintf(g->type, sizeof(g->type), "%s", type);
	g->name = pve_dup(it, "name", &w->nomem);
	g->node = pve_dup(it, "node", &w->nomem);
	g->pool = pve_dup(it, "pool", &w->nomem);
	g->tmpl = pve_json_bool(it, "template", 0);
	g->pos = w->pos;
}

/* By vmid, then by position in the answer (so the first of duplicates sorts first). */
static int pve_guest_order(const void *a, const void *b)
{
	const struct pve_guest *x = a, *y = b;

	if (x->vmid != y->vmid)
		return (x->vmid > y->vmid) - (x->vmid < y->vmid);
	return (x->pos > y->pos) - (x->pos < y->pos);
}

/* Sorts once and keeps the first of each vmid. */
static void pve_guests_sort(struct pve_guests *g)
{
	size_t kept = 0;

	if (g->n)
		qsort(g->v, g->n, sizeof(*g->v), pve_guest_order);
	for (size_t i = 0; i < g->n; i++) {
		if (kept && g->v[kept - 1].vmid == g->v[i].vmid) {
			free(g->v[i].name);
			free(g->v[i].node);
			free(g->v[i].pool);
			continue;
		}
		g->v[kept++] = g->v[i];
	}
	g->n = kept;
}

enum perr pve_parse_guests(const char *body, size_t len, struct pve_guests *out, char *msg, size_t msglen)
{
	struct pve_guest_walk w = {out, 0, 0, 0};
	struct jsonwalk *jw;
	enum perr e;

	memset(out, 0, sizeof(*out));
	if (!(jw = jsonwalk_new("data", pve_guest_item, &w)))
		return PE_NOMEM;
	jsonwalk_feed(jw, body ? body : "", body ? len : 0);
	e = jsonwalk_end(jw, body ? len : 0, msg, msglen);
	if (e == PE_PARSE && jsonwalk_member(jw) != JSONWALK_ARRAY && strstr(msg, "near byte") == NULL)
		snprintf(msg, msglen, "%s",
			 jsonwalk_member(jw) == JSONWALK_OTHER ? "data is not an array"
							       : "answer has no data member");
	jsonwalk_free(jw);
	if (e == PE_OK && w.nomem)
		e = PE_NOMEM;
	if (e != PE_OK) {
		pve_guests_free(out);
		return e;
	}
	pve_guests_sort(out);
	return PE_OK;
}

static int pve_guest_cmp(const void *a, const void *b)
{
	const struct pve_guest *x = a, *y = b;

	return (x->vmid > y->vmid) - (x->vmid < y->vmid);
}

const struct pve_guest *pve_guests_find(const struct pve_guests *g, long vmid)
{
	struct pve_guest key = {.vmid = vmid};

	return g->n ? bsearch(&key, g->v, g->n, sizeof(*g->v), pve_guest_cmp) : NULL;
}

/* ---------- /cluster/backup ---------- */

static int pve_long_cmp(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

/*
 * The ids of a PVE id list ("100,101 102;103") in the same terms as
 * pve_list_has(): each number ended by a separator or the end counts;
 * other tokens are skipped. Sorted.
 */
static int pve_list_ids(const char *list, long **ids, size_t *n)
{
	size_t cap = 0;
	const char *p = list;

	*ids = NULL;
	*n = 0;
	while (p && *p) {
		char *end;
		long v;

		if (*p == ',' || *p == ';' || *p == ' ' || *p == '\t' || *p == '\n') {
			p++;
			continue;
		}
		errno = 0;
		v = strtol(p, &end, 10);
		if (end == p) { /* not a number: skip the token */
			while (*p && *p != ',' && *p != ';' && *p != ' ')
				p++;
			continue;
		}
		if (errno == 0 && (!*end || strchr(",; \t\n", *end))) {
			if (*n == cap) {
				size_t ncap = cap ? cap * 2 : 16;
				long *nv = realloc(*ids, ncap * sizeof(*nv));
				if (!nv)
					return 0;
				*ids = nv;
				cap = ncap;
			}
			(*ids)[(*n)++] = v;
		}
		p = end;
	}
	if (*n)
		qsort(*ids, *n, sizeof(**ids), pve_long_cmp);
	return 1;
}

/* Reads a job's selection once; 0 when out of memory. */
static int pve_selection_read(const cJSON *job, struct pve_selection *s, int *nomem)
{
	const cJSON *m = cJSON_IsObject(job) ? cJSON_GetObjectItemCaseSensitive(job, "vmid") : NULL;
	const char *pool = pve_json_str(job, "pool");
	double d;

	s->node = pve_dup(job, "node", nomem);
	if (pool && *pool) {
		s->mode = PVE_SEL_POOL;
		s->pool = pve_dup(job, "pool", nomem);
		return 1;
	}
	if (cJSON_IsString(m) && m->valuestring && *m->valuestring) {
		s->mode = PVE_SEL_LIST;
		return pve_list_ids(m->valuestring, &s->ids, &s->nids);
	}
	if (cJSON_IsNumber(m) && pve_json_num(job, "vmid", &d)) {
		s->mode = PVE_SEL_LIST;
		if (!(s->ids = malloc(sizeof(*s->ids))))
			return 0;
		s->ids[0] = (long)d;
		s->nids = 1;
		return 1;
	}
	if (pve_json_bool(job, "all", 0)) {
		s->mode = PVE_SEL_ALL;
		return pve_list_ids(pve_json_str(job, "exclude"), &s->ids, &s->nids);
	}
	return 1;
}

static int pve_ids_has(const long *ids, size_t n, long id)
{
	return n && bsearch(&id, ids, n, sizeof(*ids), pve_long_cmp) != NULL;
}

int pve_selection_has(const struct pve_selection *s, const struct pve_guest *g)
{
	if (s->node && *s->node && (!g->node || strcmp(s->node, g->node) != 0))
		return 0;
	switch (s->mode) {
	case PVE_SEL_POOL:
		return g->pool && strcmp(g->pool, s->pool) == 0;
	case PVE_SEL_LIST:
		return pve_ids_has(s->ids, s->nids, g->vmid);
	case PVE_SEL_ALL:
		return !pve_ids_has(s->ids, s->nids, g->vmid);
	default:
		return 0;
	}
}

void pve_jobs_free(struct pve_jobs *j)
{
	for (size_t i = 0; i < j->n; i++) {
		struct pve_job *x = &j->v[i];
		free(x->id);
		free(x->schedule);
		free(x->storage);
		free(x->node);
		free(x->sel.node);
		free(x->sel.pool);
		free(x->sel.ids);
	}
	free(j->v);
	j->v = NULL;
	j->n = 0;
}

enum perr pve_parse_jobs(const char *body, size_t len, struct pve_jobs *out, char *msg, size_t msglen)
{
	cJSON *doc;
	const cJSON *data, *it;
	int nomem = 0;
	enum perr e = pve_doc(body, len, 0, &doc, &data, msg, msglen);

	memset(out, 0, sizeof(*out));
	if (e == PE_OK && !(out->v = calloc((size_t)cJSON_GetArraySize(data) + 1, sizeof(*out->v))))
		e = PE_NOMEM;
	const cJSON *items = e == PE_OK ? data : NULL;
	cJSON_ArrayForEach(it, items)
	{
		struct pve_job *j = &out->v[out->n++];

		j->id = pve_dup(it, "id", &nomem);
		j->schedule = pve_dup(it, "schedule", &nomem);
		j->storage = pve_dup(it, "storage", &nomem);
		j->node = pve_dup(it, "node", &nomem);
		j->enabled = pve_job_enabled(it);
		if (!pve_selection_read(it, &j->sel, &nomem))
			nomem = 1;
	}
	cJSON_Delete(doc);
	if (e == PE_OK && nomem)
		e = PE_NOMEM;
	if (e != PE_OK)
		pve_jobs_free(out);
	return e;
}

int pve_jobs_cover(const struct pve_jobs *j, const struct pve_guest *g)
{
	for (size_t i = 0; i < j->n; i++)
		if (j->v[i].enabled && pve_selection_has(&j->v[i].sel, g))
			return 1;
	return 0;
}

/* ---------- /nodes/<node>/tasks, service state, storages, calendar ---------- */

void pve_tasks_free(struct pve_tasks *t)
{
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

static void pve_task_read(const cJSON *it, struct pve_task_info *t)
{
	const char *type = pve_json_str(it, "type"), *id = pve_json_str(it, "id");
	double v;

	t->other_type = type && strcmp(type, "vzdump") != 0;
	t->by_scheduler = pve_task_by_scheduler(it);
	t->has_id = id && *id;
	t->id_ok = t->has_id && pve_json_num(it, "id", &v);
	t->id_vmid = t->id_ok ? (long)v : -1;
	t->has_start = pve_json_num(it, "starttime", &t->start);
	t->has_end = pve_json_num(it, "endtime", &t->end);
	t->result = pve_task_classify(it);
}

enum perr pve_parse_tasks(const char *body, size_t len, struct pve_tasks *out, char *msg, size_t msglen)
{
	cJSON *doc;
	const cJSON *data, *it;
	enum perr e = pve_doc(body, len, 0, &doc, &data, msg, msglen);

	memset(out, 0, sizeof(*out));
	if (e == PE_OK && !(out->v = calloc((size_t)cJSON_GetArraySize(data) + 1, sizeof(*out->v))))
		e = PE_NOMEM;
	const cJSON *items = e == PE_OK ? data : NULL;
	cJSON_ArrayForEach(it, items) pve_task_read(it, &out->v[out->n++]);
	cJSON_Delete(doc);
	return e;
}

enum perr pve_parse_service(const char *body, size_t len, int *running, char *msg, size_t msglen)
{
	cJSON *doc;
	const cJSON *data;
	enum perr e = pve_doc(body, len, 1, &doc, &data, msg, msglen);

	*running = e == PE_OK ? pve_service_running(data) : -1;
	cJSON_Delete(doc);
	return e;
}

/* A storage's content list names backup ("images,backup"); no list means the answer was filtered already. */
static int pve_storage_has_backup(const cJSON *s)
{
	const char *content = pve_json_str(s, "content");
	const char *p = content;

	if (!content)
		return 1;
	while ((p = strstr(p, "backup")) != NULL) {
		if ((p == content || p[-1] == ',') && (p[6] == '\0' || p[6] == ','))
			return 1;
		p += 6;
	}
	return 0;
}

void pve_storages_free(struct pve_storages *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].sid);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

enum perr pve_parse_storages(const char *body, size_t len, struct pve_storages *out, char *msg, size_t msglen)
{
	cJSON *doc;
	const cJSON *data, *it;
	int nomem = 0;
	enum perr e = pve_doc(body, len, 0, &doc, &data, msg, msglen);

	memset(out, 0, sizeof(*out));
	if (e == PE_OK && !(out->v = calloc((size_t)cJSON_GetArraySize(data) + 1, sizeof(*out->v))))
		e = PE_NOMEM;
	const cJSON *items = e == PE_OK ? data : NULL;
	cJSON_ArrayForEach(it, items)
	{
		const char *sid = pve_json_str(it, "storage");
		struct pve_storage *s = &out->v[out->n];

		if (!sid || !*sid || !pve_storage_has_backup(it))
			continue;
		out->n++;
		s->sid = pve_dup(it, "storage", &nomem);
		s->shared = pve_json_bool(it, "shared", 0);
		s->enabled = pve_json_bool(it, "enabled", 1);
		s->active = pve_json_bool(it, "active", 0);
		s->has_total = pve_json_num(it, "total", &s->total);
		s->has_avail = pve_json_num(it, "avail", &s->avail);
	}
	cJSON_Delete(doc);
	if (e == PE_OK && nomem)
		e = PE_NOMEM;
	if (e != PE_OK)
		pve_storages_free(out);
	return e;
}

enum perr pve_parse_calendar(const char *body, size_t len, double start, double *due, char *msg,
			     size_t msglen)
{
	cJSON *doc;
	const cJSON *data, *it;
	enum perr e = pve_doc(body, len, 0, &doc, &data, msg, msglen);

	*due = 0;
	const cJSON *items = e == PE_OK ? data : NULL;
	cJSON_ArrayForEach(it, items)
	{
		double ts;
		if (pve_json_num(it, "timestamp", &ts) && ts > start && (*due == 0 || ts < *due))
			*due = ts;
	}
	cJSON_Delete(doc);
	return e;
}
