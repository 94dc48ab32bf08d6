/* testutil.h - shared helpers for the Check suites: fixture transport, files, golden output. */
#ifndef PE_TESTUTIL_H
#define PE_TESTUTIL_H

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "fetch.h"
#include "scrape.h"

/* The source tree root: $SRCDIR (set by make) or ".". */
static inline const char *tu_srcdir(void)
{
	const char *s = getenv("SRCDIR");
	return s && *s ? s : ".";
}

/* Reads a whole file (NUL-terminated); NULL if missing. Path relative to SRCDIR unless absolute. */
static inline char *tu_read_file(const char *path, size_t *len)
{
	char full[4096];
	if (path[0] == '/')
		snprintf(full, sizeof(full), "%s", path);
	else
		snprintf(full, sizeof(full), "%s/%s", tu_srcdir(), path);
	FILE *f = fopen(full, "rb");
	if (!f)
		return NULL;
	struct buf b;
	buf_init(&b, 0);
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	if (buf_add(&b, "", 0) != PE_OK) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b, len);
}

static inline void tu_write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	ck_assert_msg(f != NULL, "cannot write %s: %s", path, strerror(errno));
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

/*
 * A canned upstream. Routes match the request path (with query) exactly,
 * or as a prefix when the route's path ends in '*'. file is relative to
 * SRCDIR; body is inline. status 0 means 200. delay in seconds.
 * transport_rc != PE_OK simulates a transport failure.
 */
struct tu_route {
	const char *path;
	long status;
	const char *file;
	const char *body;
	const char *content_type;
	double delay;
	enum perr transport_rc;
};

struct tu_upstream {
	const struct tu_route *routes;
	size_t nroutes;
	pthread_mutex_t lock;
	int calls; /* every request */
	char last_auth[512]; /* the last auth header seen */
};

static inline const struct tu_route *tu_route_find(const struct tu_upstream *u, const char *path)
{
	for (size_t i = 0; i < u->nroutes; i++)
		if (strcmp(u->routes[i].path, path) == 0)
			return &u->routes[i];
	for (size_t i = 0; i < u->nroutes; i++) {
		size_t l = strlen(u->routes[i].path);
		if (l && u->routes[i].path[l - 1] == '*' && strncmp(u->routes[i].path, path, l - 1) == 0)
			return &u->routes[i];
	}
	return NULL;
}

static inline enum perr tu_transport(void *ctx, const struct fetch_target *t, const char *method,
				     const char *path, const char *body, double timeout,
				     const struct fetch_stream *stream, struct fetch_resp *r)
{
	struct tu_upstream *u = ctx;
	(void)stream; /* the whole body goes back in r; the cache feeds it to a parser itself */
	(void)method;
	(void)body;
	(void)timeout;
	pthread_mutex_lock(&u->lock);
	u->calls++;
	snprintf(u->last_auth, sizeof(u->last_auth), "%s", t->auth_header ? t->auth_header : "");
	pthread_mutex_unlock(&u->lock);
	const struct tu_route *rt = tu_route_find(u, path);
	if (!rt) {
		r->status = 404;
		snprintf(r->content_type, sizeof(r->content_type), "application/json");
		buf_adds(&r->body, "{\"data\":null,\"message\":\"no such fixture\"}");
		return PE_OK;
	}
	if (rt->delay > 0) {
		struct timespec ts = {(time_t)rt->delay,
				      (long)((rt->delay - (double)(time_t)rt->delay) * 1e9)};
		nanosleep(&ts, NULL);
	}
	if (rt->transport_rc != PE_OK) {
		snprintf(r->err, sizeof(r->err), "simulated transport failure");
		return rt->transport_rc;
	}
	r->status = rt->status ? rt->status : 200;
	snprintf(r->content_type, sizeof(r->content_type), "%s",
		 rt->content_type ? rt->content_type : "application/json;charset=UTF-8");
	if (rt->file) {
		size_t len;
		char *data = tu_read_file(rt->file, &len);
		ck_assert_msg(data != NULL, "fixture %s missing", rt->file);
		buf_add(&r->body, data, len);
		free(data);
	} else if (rt->body) {
		buf_adds(&r->body, rt->body);
	}
	return PE_OK;
}

static inline void tu_upstream_init(struct tu_upstream *u, const struct tu_route *routes, size_t n)
{
	memset(u, 0, sizeof(*u));
	u->routes = routes;
	u->nroutes = n;
	pthread_mutex_init(&u->lock, NULL);
}

/* A config with the defaults and no sources; fill the arrays with calloc/strdup'd values. */
static inline struct config *tu_config_new(void)
{
	struct config *c = calloc(1, sizeof(*c));
	ck_assert_ptr_nonnull(c);
	c->refs = 1;
	c->global.scrape_timeout = 10;
	c->global.cache_ttl = 0;
	c->global.max_staleness = 300;
	snprintf(c->paths.procfs, sizeof(c->paths.procfs), "/proc");
	snprintf(c->paths.sysfs, sizeof(c->paths.sysfs), "/sys");
	snprintf(c->paths.pvelib, sizeof(c->paths.pvelib), "/var/lib/pve-manager");
	snprintf(c->paths.rundir, sizeof(c->paths.rundir), "/run");
	return c;
}

/*
 * Keeps (keep = 1) or drops (keep = 0) the lines of every family whose name
 * starts with one of the n prefixes (HELP and TYPE lines included); the
 * result is the caller's to free.
 */
static inline char *tu_filter_families(const char *text, const char *const *prefixes, size_t n, int keep)
{
	struct buf out;
	buf_init(&out, 0);
	const char *p = text;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);
		const char *name = p;
		if (strncmp(p, "# HELP ", 7) == 0 || strncmp(p, "# TYPE ", 7) == 0)
			name = p + 7;
		int match = 0;
		for (size_t i = 0; i < n && !match; i++)
			match = strncmp(name, prefixes[i], strlen(prefixes[i])) == 0;
		if (match == keep)
			buf_add(&out, p, len);
		p += len;
	}
	buf_add(&out, "", 0);
	return buf_steal(&out, NULL);
}

/* Removes families whose values change run to run (durations, build info, start and wall times). */
static inline char *tu_strip_volatile(const char *text)
{
	/* a trailing space or brace keeps each prefix to exactly one family */
	static const char *const volatile_names[] = {
		"persistence_scrape_collector_duration_seconds ",
		"persistence_scrape_collector_duration_seconds{",
		"persistence_exporter_build_info ",
		"persistence_exporter_build_info{",
		"persistence_exporter_start_time_seconds ",
		"persistence_source_last_success_timestamp_seconds ",
		"persistence_source_last_success_timestamp_seconds{",
		"persistence_config_last_reload_success_timestamp_seconds ",
		"persistence_config_last_reload_success_timestamp_seconds{",
		"persistence_mount_probe_duration_seconds ",
		"persistence_mount_probe_duration_seconds{",
	};
	return tu_filter_families(text, volatile_names, sizeof(volatile_names) / sizeof(volatile_names[0]),
				  0);
}

/* Runs one scrape of the given collector(s) and returns its exposition (caller frees). */
static inline char *tu_scrape_text(struct scrape_state *st, struct config *cfg, const char *const *collect,
				   size_t ncollect, double timeout)
{
	struct scrape *s = scrape_new(st, cfg, timeout, collect, ncollect);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(scrape_run(s), PE_OK);
	struct buf out;
	buf_init(&out, 0);
	ck_assert_int_eq(scrape_write(s, &out), PE_OK);
	scrape_free(s);
	buf_add(&out, "", 0);
	return buf_steal(&out, NULL);
}

/* Fails unless `promtool check metrics` accepts text without a word. */
static inline void tu_assert_promtool_clean(const char *text)
{
	char tmpl[] = "/tmp/pe-promtool-XXXXXX";
	int fd = mkstemp(tmpl);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s 2>&1", tmpl);
	FILE *p = popen(cmd, "r");
	ck_assert_msg(p != NULL, "cannot run promtool");
	char out[4096];
	size_t n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	int rc = pclose(p);
	unlink(tmpl);
	ck_assert_msg(rc == 0 && n == 0, "promtool check metrics (rc %d): %s", rc, out);
}

/*
 * Compares text with a golden file (relative to SRCDIR). With
 * UPDATE_GOLDEN=1 in the environment the file is rewritten instead.
 */
static inline void tu_assert_golden(const char *text, const char *golden)
{
	char full[4096];
	snprintf(full, sizeof(full), "%s/%s", tu_srcdir(), golden);
	if (getenv("UPDATE_GOLDEN")) {
		tu_write_file(full, text, strlen(text));
		return;
	}
	char *want = tu_read_file(full, NULL);
	ck_assert_msg(want != NULL, "golden file %s missing (run with UPDATE_GOLDEN=1 to create)", full);
	if (strcmp(want, text) != 0) {
		const char *a = want, *b = text;
		int line = 1;
		while (*a && *a == *b) {
			if (*a == '\n')
				line++;
			a++, b++;
		}
		fprintf(stderr, "--- got:\n%s--- end\n", text);
		free(want);
		ck_abort_msg("output differs from %s at line %d", golden, line);
	}
	free(want);
}

#endif
