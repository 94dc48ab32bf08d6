/* fixture_up.h - a canned upstream for the collector fuzzers: one route serves the fuzz input, the rest fixtures. */
#ifndef PE_FUZZ_FIXTURE_UP_H
#define PE_FUZZ_FIXTURE_UP_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "scrape.h"

struct fuzz_route {
	const char *path; /* exact, or a prefix when it ends in '*' */
	const char *file; /* fixture, relative to SRCDIR */
	char *body; /* loaded once */
	size_t len;
};

/* What one fuzz input does: route `pick` answers `status` with `body`. */
struct fuzz_up {
	const struct fuzz_route *routes;
	size_t nroutes;
	const char *content_type;
	size_t pick;
	long status;
	const uint8_t *body;
	size_t len;
};

/* Loads every route's fixture; aborts naming `who` when one is missing. */
static inline void fuzz_load_routes(struct fuzz_route *routes, size_t n, const char *who)
{
	const char *dir = getenv("SRCDIR");
	for (size_t i = 0; i < n; i++) {
		char path[4096], chunk[4096];
		struct buf b;
		size_t got;
		snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : ".", routes[i].file);
		FILE *f = fopen(path, "rb");
		if (!f) {
			fprintf(stderr, "%s: fixture %s missing (run from the source tree or set SRCDIR)\n",
				who, path);
			abort();
		}
		buf_init(&b, 0);
		while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
			(void)buf_add(&b, chunk, got);
		fclose(f);
		routes[i].body = buf_steal(&b, &routes[i].len);
	}
}

static inline size_t fuzz_route_find(const struct fuzz_up *u, const char *path)
{
	for (size_t i = 0; i < u->nroutes; i++)
		if (strcmp(u->routes[i].path, path) == 0)
			return i;
	for (size_t i = 0; i < u->nroutes; i++) {
		size_t l = strlen(u->routes[i].path);
		if (u->routes[i].path[l - 1] == '*' && strncmp(u->routes[i].path, path, l - 1) == 0)
			return i;
	}
	return u->nroutes;
}

static inline enum perr fuzz_transport(void *ctx, const struct fetch_target *t, const char *method,
				       const char *path, const char *body, double timeout,
				       const struct fetch_stream *stream, struct fetch_resp *r)
{
	const struct fuzz_up *u = ctx;
	size_t i = fuzz_route_find(u, path);
	(void)t, (void)method, (void)body, (void)timeout, (void)stream;
	snprintf(r->content_type, sizeof(r->content_type), "%s", u->content_type);
	if (i == u->pick) {
		r->status = u->status;
		(void)buf_add(&r->body, u->body, u->len);
	} else if (i < u->nroutes) {
		r->status = 200;
		(void)buf_add(&r->body, u->routes[i].body, u->routes[i].len);
	} else {
		r->status = 404;
	}
	return PE_OK;
}

#endif
