/* fuzz_pve.c - fuzzes the PVE parsers and model directly (no threads, no scrape): one answer is the input. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "expfmt.h"
#include "fetch.h"
#include "log.h"
#include "pve.h"
#include "pve_client.h"
#include "pve_model.h"
#include "pve_parse.h"
#include "fixture_up.h"
#include "replay.h"

#define D "tests/fixtures/pve/"
#define TASKS(n) "/nodes/" n "/tasks?typefilter=vzdump&source=all&limit=500"
#define CONTENT(n, s) "/nodes/" n "/storage/" s "/content?content=backup"
#define NOW 1764000000.0 /* a fixed `now`: runs are repeatable */

/*
 * Input: byte 0 picks the answer the rest of the input stands for (the
 * others are healthy fixtures); byte 1 says where a streamed listing is
 * cut in two, to check that pieces parse as the whole does. Byte 0 equal
 * to the number of routes selects the helper mode instead.
 */
static struct fuzz_route routes[] = {
	{"/nodes", D "nodes-2.json", NULL, 0},
	{"/cluster/resources?type=vm", D "resources-a.json", NULL, 0},
	{"/cluster/backup", D "jobs-a.json", NULL, 0},
	{TASKS("pve1"), D "tasks-pve1-a.json", NULL, 0},
	{TASKS("pve2"), D "tasks-pve2-a.json", NULL, 0},
	{"/nodes/pve1/services/pvescheduler/state", D "node-service-state-pvescheduler.json", NULL, 0},
	{"/nodes/pve2/services/pvescheduler/state", D "node-service-state-pvescheduler-failed.json", NULL, 0},
	{"/nodes/pve1/storage?content=backup", D "storage-pve1-a.json", NULL, 0},
	{"/nodes/pve2/storage?content=backup", D "storage-pve2-a.json", NULL, 0},
	{CONTENT("pve1", "local"), D "content-pve1-local-a.json", NULL, 0},
	{CONTENT("pve1", "nfs-backup"), D "content-nfs-a.json", NULL, 0},
	{CONTENT("pve2", "pbs"), D "content-pbs-a.json", NULL, 0},
	{"/cluster/jobs/schedule-analyze?schedule=21*", D "analyze-2100.json", NULL, 0},
	{"/cluster/jobs/schedule-analyze?schedule=02*", D "analyze-0230.json", NULL, 0},
	{"/cluster/jobs/schedule-analyze?schedule=mon*", D "analyze-mon-fri.json", NULL, 0},
	{"/*", D "empty-list.json", NULL, 0},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

/* The answer to path: the fuzz input for the picked route, else its fixture. */
struct fuzz_pve {
	struct fuzz_up u;
	size_t split;
};

/*
 * The fixtures parsed once: a run parses only the picked answer and
 * borrows the rest (shallow copies the model reads but never frees), so
 * each execution spends its time on the fuzzed bytes.
 */
struct fuzz_cache {
	struct pve_nodes nodes;
	struct pve_guests guests;
	struct pve_jobs jobs;
	int have_nodes, have_guests, have_jobs;
	struct pve_tasks tasks[NROUTES];
	struct pve_storages storages[NROUTES];
	int have_tasks[NROUTES], have_storages[NROUTES];
	struct pve_listing *listing[NROUTES];
	int sched[NROUTES]; /* service state answers */
	double *slots[NROUTES]; /* calendar answers: their timestamps */
	size_t nslots[NROUTES];
};
static struct fuzz_cache cache;

/* A calendar fixture's slots, so that a run not fuzzing it needs no parse. */
static void fuzz_cache_slots(size_t i)
{
	cJSON *doc = cJSON_ParseWithLength(routes[i].body, routes[i].len);
	const cJSON *it;

	cache.slots[i] = calloc((size_t)cJSON_GetArraySize(pve_data(doc)) + 1, sizeof(double));
	const cJSON *items = cache.slots[i] ? pve_data(doc) : NULL;
	cJSON_ArrayForEach(it, items)
	{
		double ts;
		if (pve_json_num(it, "timestamp", &ts))
			cache.slots[i][cache.nslots[i]++] = ts;
	}
	cJSON_Delete(doc);
}

static void fuzz_cache_load(void)
{
	char msg[256];

	cache.have_nodes =
		pve_parse_nodes(routes[0].body, routes[0].len, &cache.nodes, msg, sizeof(msg)) == PE_OK;
	cache.have_guests =
		pve_parse_guests(routes[1].body, routes[1].len, &cache.guests, msg, sizeof(msg)) == PE_OK;
	cache.have_jobs =
		pve_parse_jobs(routes[2].body, routes[2].len, &cache.jobs, msg, sizeof(msg)) == PE_OK;
	for (size_t i = 0; i < NROUTES; i++) {
		const char *p = routes[i].path;
		if (strstr(p, "/tasks?"))
			cache.have_tasks[i] = pve_parse_tasks(routes[i].body, routes[i].len, &cache.tasks[i],
							      msg, sizeof(msg)) == PE_OK;
		else if (strstr(p, "/storage?"))
			cache.have_storages[i] =
				pve_parse_storages(routes[i].body, routes[i].len, &cache.storages[i], msg,
						   sizeof(msg)) == PE_OK;
		else if (strstr(p, "/content?") &&
			 pve_parse_listing(routes[i].body, routes[i].len, &cache.listing[i], msg,
					   sizeof(msg)) != PE_OK)
			cache.listing[i] = NULL;
		else if (strstr(p, "/services/") &&
			 pve_parse_service(routes[i].body, routes[i].len, &cache.sched[i], msg,
					   sizeof(msg)) != PE_OK)
			cache.sched[i] = -1;
		else if (strstr(p, "schedule-analyze"))
			fuzz_cache_slots(i);
	}
}

static void fuzz_body(const struct fuzz_pve *f, const char *path, const char **body, size_t *len)
{
	size_t i = fuzz_route_find(&f->u, path);

	*body = i == f->u.pick ? (const char *)f->u.body : i < NROUTES ? routes[i].body : "";
	*len = i == f->u.pick ? f->u.len : i < NROUTES ? routes[i].len : 0;
}

/* A listing fed in two pieces must count exactly what the whole body counts. */
static const struct pve_listing *fuzz_listing(const struct fuzz_pve *f, const char *path, void **state)
{
	const char *body;
	size_t len, cut, i = fuzz_route_find(&f->u, path);
	char msg[256];
	struct pve_listing *whole = NULL;
	const struct upcache_parser *p = &pve_listing_parser;

	*state = NULL;
	if (i != f->u.pick)
		return i < NROUTES ? cache.listing[i] : NULL;
	fuzz_body(f, path, &body, &len);
	cut = len ? f->split % (len + 1) : 0;
	*state = p->open();
	if (!*state)
		return NULL;
	p->feed(*state, body, cut);
	p->feed(*state, body + cut, len - cut);
	enum perr e = p->close(*state, "application/json", len, msg, sizeof(msg));
	enum perr e2 = pve_parse_listing(body, len, &whole, msg, sizeof(msg));
	const struct pve_listing *l = e == PE_OK ? *state : NULL;
	if (e != e2 || (l && (l->n != whole->n || l->narchives != whole->narchives)))
		__builtin_trap();
	pve_listing_free(whole);
	return l;
}

static void fuzz_calendar(const struct fuzz_pve *f, const char *schedule, double start, double *due)
{
	struct buf path;
	const char *body;
	size_t len, r;
	char msg[256];

	buf_init(&path, 4096);
	buf_adds(&path, "/cluster/jobs/schedule-analyze?schedule=");
	fetch_urlencode(&path, schedule ? schedule : "");
	buf_addf(&path, "&starttime=%lld&iterations=1", (long long)start);
	*due = 0;
	if ((r = fuzz_route_find(&f->u, buf_str(&path))) != f->u.pick && r < NROUTES && cache.slots[r]) {
		for (size_t k = 0; k < cache.nslots[r]; k++) /* pve_parse_calendar()'s rule */
			if (cache.slots[r][k] > start && (*due == 0 || cache.slots[r][k] < *due))
				*due = cache.slots[r][k];
	} else {
		fuzz_body(f, buf_str(&path), &body, &len);
		if (pve_parse_calendar(body, len, start, due, msg, sizeof(msg)) != PE_OK)
			*due = 0;
	}
	buf_free(&path);
}

/* A node's task list or storages: parsed from the input when picked, else borrowed from the cache (*borrowed 1). */
static void fuzz_nodes(const struct fuzz_pve *f, struct pve_model *m, int *borrowed)
{
	char msg[256], path[512];
	const char *body;
	size_t len, r;

	for (size_t i = 0; i < m->nodes.n; i++) {
		struct pve_node_facts *nf = &m->nf[i];
		const char *n = m->nodes.v[i].name;

		if (!m->nodes.v[i].online)
			continue;
		snprintf(path, sizeof(path), "/nodes/%s/tasks?typefilter=vzdump&source=all&limit=500", n);
		if ((r = fuzz_route_find(&f->u, path)) != f->u.pick && r < NROUTES && cache.have_tasks[r]) {
			nf->tasks = cache.tasks[r];
			nf->has_tasks = borrowed[2 * i] = 1;
		} else {
			fuzz_body(f, path, &body, &len);
			nf->has_tasks = pve_parse_tasks(body, len, &nf->tasks, msg, sizeof(msg)) == PE_OK;
		}
		m->ntasks += nf->tasks.n;
		snprintf(path, sizeof(path), "/nodes/%s/services/pvescheduler/state", n);
		if ((r = fuzz_route_find(&f->u, path)) != f->u.pick && r < NROUTES) {
			nf->sched = cache.sched[r];
		} else {
			fuzz_body(f, path, &body, &len);
			if (pve_parse_service(body, len, &nf->sched, msg, sizeof(msg)) != PE_OK)
				nf->sched = -1;
		}
		snprintf(path, sizeof(path), "/nodes/%s/storage?content=backup", n);
		if ((r = fuzz_route_find(&f->u, path)) != f->u.pick && r < NROUTES &&
		    cache.have_storages[r]) {
			nf->storages = cache.storages[r];
			nf->has_storages = borrowed[2 * i + 1] = 1;
		} else {
			fuzz_body(f, path, &body, &len);
			nf->has_storages =
				pve_parse_storages(body, len, &nf->storages, msg, sizeof(msg)) == PE_OK;
		}
	}
}

static void fuzz_archives(const struct fuzz_pve *f, struct pve_model *m)
{
	char path[1024];

	for (size_t i = 0; i < m->nodes.n; i++)
		for (size_t k = 0; k < m->nf[i].storages.n; k++) {
			void *state = NULL;
			snprintf(path, sizeof(path), "/nodes/%s/storage/%s/content?content=backup",
				 m->nodes.v[i].name, m->nf[i].storages.v[k].sid);
			const struct pve_listing *l = fuzz_listing(f, path, &state);
			if (l && pve_model_add_listing(m, l, m->nf[i].storages.v[k].sid) != PE_OK)
				m->nfailed++; /* out of memory: counted as a failed listing */
			else if (!l)
				m->nfailed++;
			if (state)
				pve_listing_parser.free(state);
		}
}

/* Forgets what the model borrowed from the cache, so that pve_model_free() leaves it alone. */
static void fuzz_unborrow(struct pve_model *m, const int *borrowed, int bn, int bg, int bj)
{
	for (size_t i = 0; m->nf && i < m->nodes.n && i < 64; i++) {
		if (borrowed[2 * i])
			memset(&m->nf[i].tasks, 0, sizeof(m->nf[i].tasks));
		if (borrowed[2 * i + 1])
			memset(&m->nf[i].storages, 0, sizeof(m->nf[i].storages));
		if (bn) { /* pve_model_free() cannot walk nf without the node list: free its parts here */
			pve_tasks_free(&m->nf[i].tasks);
			pve_storages_free(&m->nf[i].storages);
		}
	}
	if (bn) {
		free(m->nf);
		m->nf = NULL;
		memset(&m->nodes, 0, sizeof(m->nodes));
	}
	if (bg) { /* pve_model_free() walks gs by the guest list: free the per-guest parts here */
		for (size_t i = 0; m->gs && i < m->guests.n; i++)
			pve_restore_guest_clear(&m->gs[i].restore);
		memset(&m->guests, 0, sizeof(m->guests));
	}
	if (bj)
		memset(&m->jobs, 0, sizeof(m->jobs));
}

/* One answer parsed from the input when picked, else the cache's (1 when borrowed). */
static int fuzz_cluster(const struct fuzz_pve *f, struct pve_model *m, enum perr *e)
{
	char msg[256];
	const char *body;
	size_t len;
	int b = 0;

	*e = PE_OK;
	if (f->u.pick == 0 || !cache.have_nodes) {
		fuzz_body(f, "/nodes", &body, &len);
		*e = pve_parse_nodes(body, len, &m->nodes, msg, sizeof(msg));
	} else {
		m->nodes = cache.nodes;
		b |= 1;
	}
	if (*e == PE_OK && (f->u.pick == 1 || !cache.have_guests)) {
		fuzz_body(f, "/cluster/resources?type=vm", &body, &len);
		*e = pve_parse_guests(body, len, &m->guests, msg, sizeof(msg));
	} else if (*e == PE_OK) {
		m->guests = cache.guests;
		b |= 2;
	}
	if (f->u.pick == 2 || !cache.have_jobs) {
		fuzz_body(f, "/cluster/backup", &body, &len);
		m->has_jobs = pve_parse_jobs(body, len, &m->jobs, msg, sizeof(msg)) == PE_OK;
	} else {
		m->jobs = cache.jobs;
		m->has_jobs = 1;
		b |= 4;
	}
	return b;
}

/* The collector's steps, with fixture answers instead of requests. */
static void fuzz_model(const struct fuzz_pve *f)
{
	struct pve_model m;
	int borrowed[128] = {0};
	enum perr e;
	struct expfmt *out = expfmt_new(0);
	struct buf text;

	pve_model_init(&m);
	int b = fuzz_cluster(f, &m, &e);
	if (e != PE_OK || m.nodes.n > 64 || pve_model_start(&m) != PE_OK)
		goto out;
	fuzz_nodes(f, &m, borrowed);
	if (pve_model_jobnodes(&m) != PE_OK)
		goto out;
	for (size_t i = 0; i < m.njn; i++)
		if (m.jn[i].last_run > 0)
			fuzz_calendar(f, m.jobs.v[m.jn[i].job].schedule, m.jn[i].last_run, &m.jn[i].next_due);
	fuzz_archives(f, &m);
	(void)pve_model_check_hidden(&m);
	for (size_t i = 0; i < m.njn; i++)
		if (m.jn[i].last_run == 0) {
			double start = pve_model_pending_start(&m, &m.jn[i], NOW);
			fuzz_calendar(f, m.jobs.v[m.jn[i].job].schedule, start, &m.jn[i].next_due);
		}
	buf_init(&text, 0);
	if (out && pve_emit(&m, "home", out) == PE_OK && expfmt_write(out, &text) == PE_OK && !text.len &&
	    m.nodes.n)
		__builtin_trap(); /* nodes were read: node_up samples must be there */
	buf_free(&text);
out:
	expfmt_free(out);
	fuzz_unborrow(&m, borrowed, b & 1, b & 2, b & 4);
	pve_model_free(&m);
}

/* The pure helpers on the raw text, and on the text as a JSON value. */
static void fuzz_helpers(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), msg[128];
	struct pve_upid u;
	cJSON *doc;

	if (!s)
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	if (pve_upid_parse(s, &u, msg, sizeof(msg)) == PE_OK &&
	    (strnlen(u.node, sizeof(u.node)) == sizeof(u.node) ||
	     strnlen(u.user, sizeof(u.user)) == sizeof(u.user)))
		__builtin_trap();
	(void)pve_list_has(s, 100);
	(void)pve_task_status_classify(s);
	struct buf why;
	buf_init(&why, 0);
	pve_explain(PE_OK, NULL, 400 + (long)(size % 200), s, "ops@pve!actions",
		    &why); /* an error answer's body */
	for (const char *p = buf_str(&why); *p; p++)
		if ((unsigned char)*p < 0x20)
			__builtin_trap(); /* one line, no control characters */
	buf_free(&why);
	doc = cJSON_Parse(s);
	if (doc) {
		long vmid;
		double ctime, sz;
		const cJSON *item;

		(void)pve_task_classify(doc);
		(void)pve_task_by_scheduler(doc);
		(void)pve_archive_parse(doc, &vmid, &ctime, &sz);
		(void)pve_service_running(doc);
		(void)pve_job_enabled(doc);
		cJSON_ArrayForEach(item, doc)
		{
			(void)pve_job_selects(doc, item);
			(void)pve_guest_covered(doc, item);
		}
		cJSON_Delete(doc);
	}
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct fuzz_pve f = {{routes, NROUTES, "application/json", 0, 200, NULL, 0}, 0};

	if (!ready) {
		log_setup(LOG_LVL_ERROR, LOG_FMT_LOGFMT);
		fuzz_load_routes(routes, NROUTES, "fuzz_pve");
		fuzz_cache_load();
		ready = 1;
	}
	if (size < 2)
		return 0;
	if (data[0] % (NROUTES + 1) == NROUTES) {
		fuzz_helpers(data + 2, size - 2);
		return 0;
	}
	f.u.pick = data[0] % (NROUTES + 1);
	f.split = data[1] * 257u;
	f.u.body = data + 2;
	f.u.len = size - 2;
	fuzz_model(&f);
	return 0;
}
