/* fuzz_docker.c - fuzzes the Docker facts (containers and volumes answers in, samples out) directly. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "docker.h"
#include "expfmt.h"
#include "log.h"
#include "fixture_up.h"
#include "replay.h"

/*
 * Input: byte 0 picks the answer the rest of the input stands for (the
 * other is its unit-test fixture); byte 1 picks the stateful rules.
 */
static struct fuzz_route routes[] = {
	{"/containers/json?all=1", "tests/fixtures/docker/containers.json", NULL, 0},
	{"/volumes", "tests/fixtures/docker/volumes.json", NULL, 0},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static void fuzz_dropped(void *ctx, const char *why, const char *ctr_key, const char *ctr, size_t n, size_t mounts)
{
	(void)ctx, (void)why, (void)ctr_key;
	if (!ctr || n == 0 || n > mounts)
		__builtin_trap(); /* a cap dropped nothing, or more than there was */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	static char db[] = "db-*", redis[] = "*redis*", name[] = "comms", label[] = "persistence.stateful";
	static char *names[] = {db, redis};
	struct config_docker cfg = {.name = name, .stateful_label = label};
	struct docker_facts f;
	struct expfmt *out;
	struct buf text;
	const char *c, *v;
	size_t clen, vlen;

	if (!ready) {
		log_setup(LOG_LVL_ERROR, LOG_FMT_LOGFMT);
		fuzz_load_routes(routes, NROUTES, "fuzz_docker");
		ready = 1;
	}
	if (size < 2)
		return 0;
	if (data[1] & 1) {
		cfg.stateful_names = names;
		cfg.nstateful_names = 2;
	}
	c = data[0] % NROUTES == 0 ? (const char *)data + 2 : routes[0].body;
	clen = data[0] % NROUTES == 0 ? size - 2 : routes[0].len;
	v = data[0] % NROUTES == 1 ? (const char *)data + 2 : routes[1].body;
	vlen = data[0] % NROUTES == 1 ? size - 2 : routes[1].len;
	if (docker_parse(&cfg, c, clen, v, vlen, &f) == PE_OK && (out = expfmt_new(0)) != NULL) {
		docker_emit(&f, "comms", out, fuzz_dropped, NULL);
		buf_init(&text, 0);
		if (expfmt_write(out, &text) == PE_OK && f.nctr && !text.len)
			__builtin_trap(); /* containers were read: their samples must be there */
		buf_free(&text);
		expfmt_free(out);
	}
	docker_facts_free(&f);
	return 0;
}
