/* fuzz_docker.c - fuzzes the Docker collector's JSON paths through the scrape framework. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "replay.h"
#include "scrape.h"

/*
 * Input: byte 0 picks the endpoint that serves the rest of the input
 * (the other serves its unit-test fixture), byte 1 its HTTP status.
 */
struct route {
	const char *path;
	const char *file;
	char *body;
	size_t len;
};

static struct route routes[] = {
	{"/containers/json?all=1", "tests/unit/data/docker/containers.json", NULL, 0},
	{"/volumes", "tests/unit/data/docker/volumes.json", NULL, 0},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static const long statuses[] = {200, 200, 200, 200, 404, 500, 503, 400};

struct fuzz_up {
	size_t pick;
	long status;
	const uint8_t *body;
	size_t len;
};

static void load_fixtures(void)
{
	const char *dir = getenv("SRCDIR");

	for (size_t i = 0; i < NROUTES; i++) {
		char path[4096], chunk[4096];
		struct buf b;
		size_t n;
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : ".", routes[i].file);
		f = fopen(path, "rb");
		if (!f) {
			fprintf(stderr,
				"fuzz_docker: fixture %s missing (run from the source tree or set SRCDIR)\n",
				path);
			abort();
		}
		buf_init(&b, 0);
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			(void)buf_add(&b, chunk, n);
		fclose(f);
		routes[i].body = buf_steal(&b, &routes[i].len);
	}
}

static enum perr fuzz_transport(void *ctx, const struct fetch_target *t, const char *method, const char *path,
				const char *body, double timeout, struct fetch_resp *r)
{
	const struct fuzz_up *u = ctx;
	size_t i = 0;

	(void)t, (void)method, (void)body, (void)timeout;
	while (i < NROUTES && strcmp(routes[i].path, path) != 0)
		i++;
	snprintf(r->content_type, sizeof(r->content_type), "application/json");
	if (i == u->pick) {
		r->status = u->status;
		(void)buf_add(&r->body, u->body, u->len);
	} else if (i < NROUTES) {
		r->status = 200;
		(void)buf_add(&r->body, routes[i].body, routes[i].len);
	} else {
		r->status = 404;
	}
	return PE_OK;
}

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
	struct fuzz_up u;
	struct scrape_state *st;
	struct config *cfg;
	struct scrape *s;

	if (!ready) {
		log_setup(LOG_LVL_ERROR, LOG_FMT_LOGFMT);
		load_fixtures();
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
