/* fuzz_docker.c - fuzzes the Docker collector's JSON paths through the scrape framework. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "fixture_up.h"
#include "replay.h"
#include "scrape.h"

/*
 * Input: byte 0 picks the endpoint that serves the rest of the input
 * (the other serves its unit-test fixture), byte 1 its HTTP status.
 */

static struct fuzz_route routes[] = {
	{"/containers/json?all=1", "tests/unit/data/docker/containers.json", NULL, 0},
	{"/volumes", "tests/unit/data/docker/volumes.json", NULL, 0},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static const long statuses[] = {200, 200, 200, 200, 404, 500, 503, 400};

static struct config *fuzz_config(void)
{
	struct config *c = calloc(1, sizeof(*c));

	if (!c || !(c->docker = calloc(1, sizeof(*c->docker))))
		abort();
	c->refs = 1;
	c->global.scrape_timeout = 10;
	c->global.max_staleness = 300;
	c->ndocker = 1;
	c->docker[0].name = strdup("comms");
	c->docker[0].socket = strdup("/nonexistent/docker.sock");
	c->docker[0].timeout = 5;
	c->docker[0].stateful_label = strdup("persistence.stateful");
	return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const collect[] = {"docker"};
	static int ready;
	struct fuzz_up u = {routes, NROUTES, "application/json", 0, 0, NULL, 0};
	struct scrape_state *st;
	struct config *cfg;
	struct scrape *s;

	if (!ready) {
		log_setup(LOG_LVL_ERROR, LOG_FMT_LOGFMT);
		fuzz_load_routes(routes, NROUTES, "fuzz_docker");
		ready = 1;
	}
	if (size < 2)
		return 0;
	u.pick = data[0] % NROUTES;
	u.status = statuses[data[1] % (sizeof(statuses) / sizeof(statuses[0]))];
	u.body = data + 2;
	u.len = size - 2;
	st = scrape_state_new();
	cfg = fuzz_config();
	scrape_state_set_transport(st, fuzz_transport, &u);
	s = scrape_new(st, cfg, 20, collect, 1);
	if (s && scrape_run(s) == PE_OK) {
		struct buf out;

		buf_init(&out, 0);
		enum perr e = scrape_write(s, &out);

		(void)e; /* any outcome is fine; only a crash or a leak is not */
		buf_free(&out);
	}
	scrape_free(s);
	config_unref(cfg);
	scrape_state_free(st);
	return 0;
}
