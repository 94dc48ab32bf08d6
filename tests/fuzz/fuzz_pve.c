/* fuzz_pve.c - fuzzes the PVE collector's JSON paths through the scrape framework, and the pure pve.c helpers. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "pve.h"
#include "fixture_up.h"
#include "replay.h"
#include "scrape.h"

#define SECRET "fuzz-secret-0f1e2d3c4b5a"
#define D "tests/unit/data/pve/"
#define TASKS(n) "/nodes/" n "/tasks?typefilter=vzdump&source=all&limit=500"
#define CONTENT(n, s) "/nodes/" n "/storage/" s "/content?content=backup"

/*
 * Input: byte 0 picks the endpoint that serves the rest of the input
 * (the others serve healthy fixtures), byte 1 its HTTP status. Byte 0
 * equal to the number of routes selects the helper mode instead.
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

static const long statuses[] = {200, 200, 200, 200, 401, 403, 500, 596};

static struct config *fuzz_config(void)
{
	struct config *c = calloc(1, sizeof(*c));

	if (!c)
		abort();
	c->refs = 1;
	c->global.scrape_timeout = 10;
	c->global.max_staleness = 300;
	c->pve = calloc(1, sizeof(*c->pve));
	if (!c->pve)
		abort();
	c->npve = 1;
	c->pve[0].name = strdup("home");
	c->pve[0].url = strdup("https://pve-home.test:8006");
	c->pve[0].token_id = strdup("monitor@pve!exporter");
	c->pve[0].token_secret = strdup(SECRET);
	c->pve[0].timeout = 10;
	return c;
}

/* One scrape of the pve collector; the output must not hold the token secret. */
static void fuzz_scrape(struct fuzz_up *u)
{
	static const char *const collect[] = {"pve"};
	struct scrape_state *st = scrape_state_new();
	struct config *cfg = fuzz_config();
	struct scrape *s;
	struct buf out;

	scrape_state_set_transport(st, fuzz_transport, u);
	s = scrape_new(st, cfg, 20, collect, 1);
	if (s && scrape_run(s) == PE_OK) {
		buf_init(&out, 0);
		if (scrape_write(s, &out) == PE_OK && strstr(buf_str(&out), SECRET))
			__builtin_trap();
		for (size_t i = 0; i < scrape_nsources(s); i++)
			if (strstr(scrape_source(s, i)->error, SECRET))
				__builtin_trap();
		buf_free(&out);
	}
	scrape_free(s);
	config_unref(cfg);
	scrape_state_free(st);
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
	struct fuzz_up u = {routes, NROUTES, "application/json;charset=UTF-8", 0, 0, NULL, 0};

	if (!ready) {
		log_setup(LOG_LVL_ERROR, LOG_FMT_LOGFMT);
		fuzz_load_routes(routes, NROUTES, "fuzz_pve");
		ready = 1;
	}
	if (size < 2)
		return 0;
	if (data[0] % (NROUTES + 1) == NROUTES) {
		fuzz_helpers(data + 2, size - 2);
		return 0;
	}
	u.pick = data[0] % (NROUTES + 1);
	u.status = statuses[data[1] % (sizeof(statuses) / sizeof(statuses[0]))];
	u.body = data + 2;
	u.len = size - 2;
	fuzz_scrape(&u);
	return 0;
}
