/* pbs.c - Proxmox Backup Server answers as facts: version, datastores, space, GC, namespaces, jobs, tasks. */
#include "pbs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cJSON.h"
#include "pve.h"

#define PBS_MAX_NAME 256 /* longest store, job id, namespace or worker type kept */
#define PBS_MAX_STORES 1024 /* datastores kept per source; a real PBS has a handful */
#define PBS_MAX_WORKER_TYPES 64 /* worker types with a failure kept; PBS has about 25 */

struct pbs_facts *pbs_facts_new(void)
{
	return calloc(1, sizeof(struct pbs_facts));
}

void pbs_strv_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static void pbs_store_clear(struct pbs_store *s)
{
	free(s->name);
	free(s->gc.schedule);
	pbs_strv_free(s->ns, s->nns);
	for (size_t i = 0; i < s->ngroups; i++)
		free(s->groups[i].id);
	free(s->groups);
}

static void pbs_job_clear(struct pbs_job *j)
{
	free(j->id);
	free(j->store);
	free(j->schedule);
}

void pbs_facts_free(struct pbs_facts *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->nstores; i++)
		pbs_store_clear(&f->stores[i]);
	free(f->stores);
	for (size_t i = 0; i < f->njobs; i++)
		pbs_job_clear(&f->jobs[i]);
	free(f->jobs);
	for (size_t i = 0; i < f->nfailures; i++)
		free(f->failures[i].worker_type);
	free(f->failures);
	free(f);
}

/* Makes room for one more element of size sz in *v (count n, capacity *cap); 0 when out of memory. */
static int pbs_grow(void **v, size_t n, size_t *cap, size_t sz)
{
	size_t ncap;
	void *nv;

	if (n < *cap)
		return 1;
	ncap = *cap ? *cap * 2 : 8;
	nv = realloc(*v, ncap * sz);
	if (!nv)
		return 0;
	*v = nv;
	*cap = ncap;
	return 1;
}

/* A usable name: a non-empty string (empty allowed when empty_ok) of at most PBS_MAX_NAME bytes. */
static const char *pbs_name(const cJSON *o, const char *key, int empty_ok)
{
	const char *s = pve_json_str(o, key);

	if (!s || (!*s && !empty_ok) || strlen(s) > PBS_MAX_NAME)
		return NULL;
	return s;
}

struct pbs_store *pbs_store_find(struct pbs_facts *f, const char *name)
{
	for (size_t i = 0; name && i < f->nstores; i++)
		if (strcmp(f->stores[i].name, name) == 0)
			return &f->stores[i];
	return NULL;
}

struct pbs_store *pbs_store_add(struct pbs_facts *f, const char *name)
{
	struct pbs_store *s = pbs_store_find(f, name);

	if (s)
		return s;
	if (!pbs_grow((void **)&f->stores, f->nstores, &f->capstores, sizeof(*f->stores)))
		return NULL;
	s = &f->stores[f->nstores];
	memset(s, 0, sizeof(*s));
	s->gc.pending_bytes = s->gc.removed_bad = s->gc.still_bad = -1;
	if (!(s->name = strdup(name)))
		return NULL;
	f->nstores++;
	return s;
}

/*
 * Parses body and returns its `data` member when it has the wanted type
 * (cJSON_Array or cJSON_Object); *doc is the caller's to delete. NULL
 * with msg set otherwise.
 */
static const cJSON *pbs_data(const char *body, size_t len, int type, cJSON **doc, char *msg, size_t msglen)
{
	const char *end = NULL;
	const cJSON *d;

	*doc = body ? cJSON_ParseWithLengthOpts(body, len, &end, 0) : NULL;
	if (!*doc) {
		snprintf(msg, msglen, "invalid or truncated JSON near byte %zu of %zu",
			 end && body ? (size_t)(end - body) : 0, len);
		return NULL;
	}
	while (end && end < body + len && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
		end++;
	if (end && end < body + len) {
		snprintf(msg, msglen, "invalid or truncated JSON near byte %zu of %zu", (size_t)(end - body),
			 len);
		return NULL;
	}
	d = cJSON_GetObjectItemCaseSensitive(*doc, "data");
	if (!d) {
		snprintf(msg, msglen, "answer has no member data");
		return NULL;
	}
	if ((d->type & 0xff) != type) {
		snprintf(msg, msglen, "data is not an %s", type == cJSON_Array ? "array" : "object");
		return NULL;
	}
	return d;
}

enum perr pbs_parse_version(struct pbs_facts *f, const char *body, size_t len, char *msg, size_t msglen)
{
	cJSON *doc;
	const cJSON *d = pbs_data(body, len, cJSON_Object, &doc, msg, msglen);
	const char *v = pve_json_str(d, "version");
	int major, minor, n = 0;
	enum perr e = PE_PARSE;

	if (!d)
		goto out;
	if (!v || sscanf(v, "%d.%d%n", &major, &minor, &n) != 2 || v[n] || major < 0 || minor < 0) {
		snprintf(msg, msglen, "version is not MAJOR.MINOR");
		goto out;
	}
	f->major = major;
	f->minor = minor;
	e = PE_OK;
out:
	cJSON_Delete(doc);
	return e;
}

int pbs_sync_direction_param(const struct pbs_facts *f)
{
	return f->major > 3 || (f->major == 3 && f->minor >= 3);
}

enum perr pbs_parse_datastores(struct pbs_facts *f, const char *body, size_t len, char *msg, size_t msglen)
{
	cJSON *doc;
	const cJSON *d = pbs_data(body, len, cJSON_Array, &doc, msg, msglen), *it;
	enum perr e = d ? PE_OK : PE_PARSE;

	cJSON_ArrayForEach(it, d)
	{
		const char *name = pbs_name(it, "store", 0);
		struct pbs_store *s;

		if (!name || (f->nstores >= PBS_MAX_STORES && !pbs_store_find(f, name)))
			continue;
		if (!(s = pbs_store_add(f, name))) {
			e = PE_NOMEM;
			break;
		}
		s->listed = 1;
	}
	cJSON_Delete(doc);
	return e;
}

/* A non-negative number member; 1 and *v when present. */
static int pbs_num(const cJSON *o, const char *key, double *v)
{
	double d;

	if (!pve_json_num(o, key, &d) || d < 0)
		return 0;
	*v = d;
	return 1;
}

enum perr pbs_parse_status(struct pbs_store *s, const char *body, size_t len, char *msg, size_t msglen)
{
	cJSON *doc;
	const cJSON *d = pbs_data(body, len, cJSON_Object, &doc, msg, msglen);
	double total, used, avail;
	enum perr e = PE_PARSE;

	if (!d)
		goto out;
	if (!pbs_num(d, "total", &total) || !pbs_num(d, "used", &used) || !pbs_num(d, "avail", &avail)) {
		snprintf(msg, msglen, "datastore status lacks total, used or avail");
		goto out;
	}
	s->total = total;
	s->used = used;
	s->avail = avail;
	s->up = 1;
	e = PE_OK;
out:
	cJSON_Delete(doc);
	return e;
}

enum perr pbs_parse_usage(struct pbs_facts *f, const char *body, size_t len, double now, char *msg,
			  size_t msglen)
{
	cJSON *doc;
	const cJSON *d = pbs_data(body, len, cJSON_Array, &doc, msg, msglen), *it;

	cJSON_ArrayForEach(it, d)
	{
		struct pbs_store *s = pbs_store_find(f, pbs_name(it, "store", 0));
		double full;

		if (s && pbs_num(it, "estimated-full-date", &full) && full > now)
			s->estimated_full = full;
	}
	cJSON_Delete(doc);
	return d ? PE_OK : PE_PARSE;
}

/* The last run of a job or the GC: state, end time and next slot. */
static void pbs_last_run(const cJSON *o, enum pbs_run *state, double *last_end, double *next_run)
{
	const char *st = pve_json_str(o, "last-run-state");
	const char *upid = pve_json_str(o, "last-run-upid");
	double v;

	*last_end = *next_run = 0;
	if (st)
		*state = pve_task_success(pve_task_status_classify(st)) ? PBS_RUN_OK : PBS_RUN_FAILED;
	else
		*state = upid ? PBS_RUN_RUNNING : PBS_RUN_NONE;
	if (st && pbs_num(o, "last-run-endtime", &v) && v > 0)
		*last_end = v;
	if (pbs_num(o, "next-run", &v) && v > 0)
		*next_run = v;
}

/* A copy of a string member, NULL when absent; 0 when out of memory. */
static int pbs_dup_opt(const cJSON *o, const char *key, char **out)
{
	const char *s = pbs_name(o, key, 0);

	*out = s ? strdup(s) : NULL;
	return !s || *out;
}

enum perr pbs_parse_gc(struct pbs_store *s, const char *body, size_t len, char *msg, size_t msglen)
{
	cJSON *doc;
	const cJSON *d = pbs_data(body, len, cJSON_Object, &doc, msg, msglen);
	struct pbs_gc gc = {.pending_bytes = -1, .removed_bad = -1, .still_bad = -1};
	enum perr e = PE_PARSE;

	if (!d)
		goto out;
	e = PE_NOMEM;
	if (!pbs_dup_opt(d, "schedule", &gc.schedule))
		goto out;
	pbs_last_run(d, &gc.state, &gc.last_end, &gc.next_run);
	if (gc.state == PBS_RUN_NONE && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(d, "upid")))
		gc.state = PBS_RUN_RUNNING; /* a GC status but no finished state: it is running now */
	(void)pbs_num(d, "pending-bytes", &gc.pending_bytes);
	(void)pbs_num(d, "removed-bad", &gc.removed_bad);
	(void)pbs_num(d, "still-bad", &gc.still_bad);
	gc.known = 1;
	free(s->gc.schedule);
	s->gc = gc;
	e = PE_OK;
out:
	cJSON_Delete(doc);
	return e;
}

static int pbs_str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts v and frees duplicates; the new count. */
static size_t pbs_strv_uniq(char **v, size_t n)
{
	size_t k = 0;

	if (n)
		qsort(v, n, sizeof(*v), pbs_str_cmp);
	for (size_t i = 0; i < n; i++) {
		if (k && strcmp(v[k - 1], v[i]) == 0) {
			free(v[i]);
			continue;
		}
		v[k++] = v[i];
	}
	return k;
}

enum perr pbs_parse_namespaces(const char *body, size_t len, char ***out, size_t *n, char *msg, size_t msglen)
{
	cJSON *doc;
	const cJSON *d = pbs_data(body, len, cJSON_Array, &doc, msg, msglen), *it;
	char **v = NULL;
	size_t nv = 0, cap = 0;
	enum perr e = d ? PE_OK : PE_PARSE;

	*out = NULL;
	*n = 0;
	cJSON_ArrayForEach(it, d)
	{
		const char *ns = pbs_name(it, "ns", 1);

		if (!ns)
			continue;
		if (!pbs_grow((void **)&v, nv, &cap, sizeof(*v)) || !(v[nv] = strdup(ns))) {
			e = PE_NOMEM;
			break;
		}
		nv++;
	}
	cJSON_Delete(doc);
	if (e != PE_OK) {
		pbs_strv_free(v, nv);
		return e;
	}
	nv = pbs_strv_uniq(v, nv);
	*out = v;
	*n = nv;
	return PE_OK;
}

const char *pbs_job_type_str(enum pbs_job_type t)
{
	static const char *const names[] = {"verify", "prune", "sync"};

	return (unsigned)t < PBS_JOB__COUNT ? names[t] : "unknown";
}

/* One job list item into *j; 0 when it is not a job, -1 when out of memory. */
static int pbs_job_read(const cJSON *it, enum pbs_job_type type, struct pbs_job *j)
{
	const char *id = pbs_name(it, "id", 0), *store = pbs_name(it, "store", 0);

	if (!id || !store)
		return 0;
	memset(j, 0, sizeof(*j));
	j->type = type;
	j->enabled = !pve_json_bool(it, "disable", 0);
	pbs_last_run(it, &j->state, &j->last_end, &j->next_run);
	j->id = strdup(id);
	j->store = strdup(store);
	if (!j->id || !j->store || !pbs_dup_opt(it, "schedule", &j->schedule)) {
		free(j->id);
		free(j->store);
		return -1;
	}
	return 1;
}

enum perr pbs_parse_jobs(struct pbs_facts *f, enum pbs_job_type type, const char *body, size_t len, char *msg,
			 size_t msglen)
{
	cJSON *doc;
	const cJSON *d = pbs_data(body, len, cJSON_Array, &doc, msg, msglen), *it;
	enum perr e = d ? PE_OK : PE_PARSE;

	cJSON_ArrayForEach(it, d)
	{
		int r;

		if (!pbs_grow((void **)&f->jobs, f->njobs, &f->capjobs, sizeof(*f->jobs))) {
			e = PE_NOMEM;
			break;
		}
		if ((r = pbs_job_read(it, type, &f->jobs[f->njobs])) < 0) {
			e = PE_NOMEM;
			break;
		}
		f->njobs += (size_t)r;
	}
	if (e == PE_OK)
		f->jobs_known[type] = 1;
	cJSON_Delete(doc);
	return e;
}

/* Records a failed task of worker type wt that ended at end; 0 when out of memory. */
static int pbs_failure_add(struct pbs_facts *f, const char *wt, double end)
{
	for (size_t i = 0; i < f->nfailures; i++)
		if (strcmp(f->failures[i].worker_type, wt) == 0) {
			if (end > f->failures[i].last)
				f->failures[i].last = end;
			return 1;
		}
	if (f->nfailures >= PBS_MAX_WORKER_TYPES)
		return 1;
	if (!pbs_grow((void **)&f->failures, f->nfailures, &f->capfailures, sizeof(*f->failures)))
		return 0;
	if (!(f->failures[f->nfailures].worker_type = strdup(wt)))
		return 0;
	f->failures[f->nfailures++].last = end;
	return 1;
}

enum perr pbs_parse_tasks(struct pbs_facts *f, const char *body, size_t len, char *msg, size_t msglen)
{
	cJSON *doc;
	const cJSON *d = pbs_data(body, len, cJSON_Array, &doc, msg, msglen), *it;
	enum perr e = d ? PE_OK : PE_PARSE;

	cJSON_ArrayForEach(it, d)
	{
		const char *wt = pbs_name(it, "worker_type", 0);
		double end;

		/* the list was asked for errors only; check anyway: a running or OK task is no failure */
		if (!wt || !pbs_num(it, "endtime", &end) || end <= 0 ||
		    pve_task_status_classify(pve_json_str(it, "status")) != PVE_TASK_FAILED)
			continue;
		if (!pbs_failure_add(f, wt, end)) {
			e = PE_NOMEM;
			break;
		}
	}
	if (e == PE_OK)
		f->failures_known = 1;
	cJSON_Delete(doc);
	return e;
}

int pbs_store_selected(const char *name, char *const *list, size_t n)
{
	if (n == 0)
		return 1;
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], name) == 0)
			return 1;
	return 0;
}

int pbs_ns_selected(const char *ns, char *const *list, size_t n)
{
	if (n == 0)
		return 1;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(list[i]);

		if (l == 0 || (strncmp(ns, list[i], l) == 0 && (ns[l] == '\0' || ns[l] == '/')))
			return 1;
	}
	return 0;
}

void pbs_facts_select(struct pbs_facts *f, char *const *stores, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < f->nstores; i++) {
		if (!pbs_store_selected(f->stores[i].name, stores, n)) {
			pbs_store_clear(&f->stores[i]);
			continue;
		}
		f->stores[k++] = f->stores[i];
	}
	f->nstores = k;
	k = 0;
	for (size_t i = 0; i < f->njobs; i++) {
		if (!pbs_store_selected(f->jobs[i].store, stores, n)) {
			pbs_job_clear(&f->jobs[i]);
			continue;
		}
		f->jobs[k++] = f->jobs[i];
	}
	f->njobs = k;
}

static int pbs_store_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pbs_store *)a)->name, ((const struct pbs_store *)b)->name);
}

static int pbs_group_cmp(const void *a, const void *b)
{
	const struct pbs_group *x = a, *y = b;
	int c = strcmp(x->ns, y->ns);

	if (!c)
		c = strcmp(x->type, y->type);
	return c ? c : strcmp(x->id, y->id);
}

static int pbs_job_cmp(const void *a, const void *b)
{
	const struct pbs_job *x = a, *y = b;

	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return strcmp(x->id, y->id);
}

static int pbs_failure_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pbs_task_failure *)a)->worker_type,
		      ((const struct pbs_task_failure *)b)->worker_type);
}

/* Drops jobs whose type and id repeat (after sorting): one series per job. */
static void pbs_jobs_uniq(struct pbs_facts *f)
{
	size_t k = 0;

	for (size_t i = 0; i < f->njobs; i++) {
		struct pbs_job *j = &f->jobs[i];

		if (k && pbs_job_cmp(&f->jobs[k - 1], j) == 0) {
			pbs_job_clear(j);
			continue;
		}
		f->jobs[k++] = *j;
	}
	f->njobs = k;
}

void pbs_facts_sort(struct pbs_facts *f)
{
	if (f->nstores)
		qsort(f->stores, f->nstores, sizeof(*f->stores), pbs_store_cmp);
	for (size_t i = 0; i < f->nstores; i++)
		if (f->stores[i].ngroups)
			qsort(f->stores[i].groups, f->stores[i].ngroups, sizeof(struct pbs_group),
			      pbs_group_cmp);
	if (f->njobs)
		qsort(f->jobs, f->njobs, sizeof(*f->jobs), pbs_job_cmp);
	pbs_jobs_uniq(f);
	if (f->nfailures)
		qsort(f->failures, f->nfailures, sizeof(*f->failures), pbs_failure_cmp);
}

/* Host (without [] for IPv6) and port of an http(s) URL; 0 when it has neither form. */
static int pbs_url_host_port(const char *url, char *host, size_t n, long *port)
{
	const char *h = strstr(url, "://"), *end, *colon;
	char *stop;
	size_t len;

	if (!h)
		return 0;
	h += 3;
	end = h + strcspn(h, "/?#");
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(end - h));
		if (!rb)
			return 0;
		len = (size_t)(rb - h - 1);
		colon = rb[1] == ':' ? rb + 1 : NULL;
		h++;
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
		len = (size_t)((colon ? colon : end) - h);
	}
	if (len == 0 || len >= n)
		return 0;
	memcpy(host, h, len);
	host[len] = '\0';
	*port = strncmp(url, "https", 5) == 0 ? 443 : 80;
	if (colon) {
		*port = strtol(colon + 1, &stop, 10);
		if (stop != end || *port <= 0 || *port > 65535)
			return 0;
	}
	return 1;
}

/* Fingerprints compare without case and without the ':' separators. */
static int pbs_same_fingerprint(const char *a, const char *b)
{
	if (!a || !b || !*a || !*b)
		return 0;
	for (;;) {
		while (*a == ':')
			a++;
		while (*b == ':')
			b++;
		if (!*a || !*b)
			return !*a && !*b;
		if ((*a | 0x20) != (*b | 0x20))
			return 0;
		a++, b++;
	}
}

int pbs_same_server(const char *url, const char *url_fingerprint, const char *server, long port,
		    const char *fingerprint)
{
	char host[256], srv[256];
	long uport;
	size_t n;

	if (pbs_same_fingerprint(url_fingerprint, fingerprint))
		return 1;
	if (!url || !server || !pbs_url_host_port(url, host, sizeof(host), &uport))
		return 0;
	n = strlen(server); /* PVE keeps an IPv6 server without brackets; accept them anyway */
	if (n >= 2 && server[0] == '[' && server[n - 1] == ']')
		snprintf(srv, sizeof(srv), "%.*s", (int)(n - 2), server + 1);
	else
		snprintf(srv, sizeof(srv), "%s", server);
	return strcasecmp(host, srv) == 0 && uport == (port > 0 ? port : 8007);
}
