/* collect.h - what a collector task sees: its source, its output, upstream answers, facts, warnings. */
#ifndef PE_COLLECT_H
#define PE_COLLECT_H

#include <stddef.h>
#include "config.h"
#include "err.h"
#include "expfmt.h"
#include "fetch.h"
#include "log.h"
#include "upcache.h"

struct cJSON;
struct lastknown;
struct probe_pool;
struct collect_private;

/*
 * One task: one collector run for one configured source. The task owns
 * everything it gets through this API until it returns; answers and
 * parsed documents are then released by the framework. Calls are safe
 * from the task's own thread (tasks run concurrently).
 */
struct collect {
	const struct config *cfg;
	size_t index; /* which configured source of this collector */
	const char *source; /* its name, NULL for source-less collectors */
	struct expfmt *out; /* this task's samples */
	char err[256]; /* set via collect_fail(); becomes the source's error */
	struct collect_private *priv; /* the framework's (collect_task.h) */
};

/* Records why the source is down (first call wins); printf-style. Never pass secrets. */
void collect_fail(struct collect *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * A warning about a partial failure, rate-limited per condition: the key
 * is the source, the message and every value, so the same condition warns
 * once an hour (debug in between) and a changed one warns at once. Use
 * the collect_warn() macro: key/value string pairs, no trailing NULL.
 */
void collect_warn_kv(struct collect *c, const char *msg, ...) __attribute__((sentinel));
#define collect_warn(c, ...) collect_warn_kv((c), __VA_ARGS__, (const char *)NULL)
/*
 * LOG_LVL_WARN the first time a condition (key) is seen and again at most
 * once an hour while it lasts, LOG_LVL_DEBUG in between. At most 1024 keys
 * are remembered for the life of the process; past that it answers debug.
 */
enum log_level collect_warn_level(struct collect *c, const char *key);
/* 1 the first time key is passed for the life of the process, else 0 (same key limit). */
int collect_once(struct collect *c, const char *key);

double
collect_now(const struct collect *c); /* unix time at the scrape's start: the `now` of every judgement */
double collect_remaining(const struct collect *c); /* seconds left until the scrape's deadline (>= 0) */
struct probe_pool *collect_probes(struct collect *c); /* the hang-safe worker pool for file system work */
/* Values remembered across scrapes (lastknown.h), e.g. the last known backup of a source now down. */
struct lastknown *collect_memory(struct collect *c);

/* Facts for later phases and the status page (facts.h has the documented keys). */
struct facts *collect_facts(struct collect *c); /* the scrape's store, for pure functions that read facts */
void collect_fact_set(struct collect *c, const char *kind, const char *source, const char *key, double v,
		      const char *str);
int collect_fact_get(struct collect *c, const char *kind, const char *source, const char *key, double *v,
		     const char **str);
void collect_fact_each(struct collect *c, const char *kind, const char *source, const char *prefix,
		       void (*cb)(void *ctx, const char *key, double v, const char *str), void *ctx);
/* Keeps p with the scrape (e.g. the inventory report) until it is freed; free_fn may be NULL. */
void collect_attach(struct collect *c, const char *name, void *p, void (*free_fn)(void *));

/*
 * GET base_url+path through the upstream cache (key: source, target,
 * path). Waits at most until the task's fetch deadline; while a slow
 * answer is being fetched a previous one younger than max_staleness is
 * served. *resp is borrowed until the task ends. Returns PE_OK only for a
 * 2xx answer; 401 PE_AUTH, 403 PE_DENIED, 404 PE_NOTFOUND, other statuses
 * PE_HTTP, plus the transport errors. Does not call collect_fail(): the
 * caller decides. msg gets a one-line reason, e.g. "GET /nodes: HTTP 500".
 */
enum perr collect_get(struct collect *c, const struct fetch_target *t, const char *path,
		      const struct fetch_resp **resp, char *msg, size_t msglen) PE_WUR;
/*
 * collect_get() for answers that must not mix with older ones, such as the
 * pages of one paginated listing: never served stale, and dropped from the
 * cache once older than cache_ttl instead of being kept for stale serving.
 */
enum perr collect_get_fresh(struct collect *c, const struct fetch_target *t, const char *path,
			    const struct fetch_resp **resp, char *msg, size_t msglen) PE_WUR;
/*
 * Starts GET base_url+path in the background and returns at once, unless
 * the cache already has an answer for this scrape or a fetch runs: a
 * later collect_get() (collect_get_parsed() with the same parser) of the
 * same path then waits only for what is left. Several prefetches run at
 * the same time, so independent slow answers overlap instead of adding
 * up. The answer (or failure) of a fetch started during this scrape is
 * what later calls get, whatever cache_ttl is.
 */
void collect_prefetch(struct collect *c, const struct fetch_target *t, const char *path,
		      const struct upcache_parser *parser);
/*
 * Waits until collect_get() of one of the n paths would answer without
 * waiting for a fetch (its prefetch ended, or none runs), at most until
 * the task's fetch deadline. Returns that path's index, or -1 at the
 * deadline (or when n is 0).
 */
int collect_wait_any(struct collect *c, const struct fetch_target *t, const char *const *paths, size_t n);
/* Ends the task's use of an answer from collect_get*() before the task ends (resp is then invalid). */
void collect_release_resp(struct collect *c, const struct fetch_resp *resp);

/*
 * collect_get() for a body that must be JSON: PE_PARSE when it is empty or
 * HTML (a service starting), and " (HTML body)" added to an HTTP error's
 * message. The bytes are borrowed until the task ends.
 */
enum perr collect_get_body(struct collect *c, const struct fetch_target *t, const char *path,
			   const char **body, size_t *len, char *msg, size_t msglen) PE_WUR;
/* Ends the task's use of bytes from collect_get_body() once parsed (a large body need not wait for the task's end). */
void collect_release_body(struct collect *c, const char *body);
/*
 * collect_get_body() then JSON parsing. A body that is not JSON (truncated,
 * garbage) gives PE_PARSE with a message that says where. *doc is owned by
 * the task.
 */
enum perr collect_get_json(struct collect *c, const struct fetch_target *t, const char *path,
			   struct cJSON **doc, char *msg, size_t msglen) PE_WUR;
/*
 * collect_get_body() then a streaming walk of the answer (jsonwalk_each):
 * cb sees each element of the array in member of the top-level object (or
 * of a bare top-level array), parsed one at a time. The whole body is
 * still checked: PE_PARSE when it is not JSON, is truncated, or member is
 * missing or not an array. cb may have run for earlier elements by then:
 * stage what it gathers and use it only on PE_OK.
 */
enum perr collect_get_json_each(struct collect *c, const struct fetch_target *t, const char *path,
				const char *member, void (*cb)(void *ctx, const struct cJSON *item),
				void *ctx, char *msg, size_t msglen) PE_WUR;
/*
 * GET path through the cache with a parser fed as the body arrives: the
 * body is never kept, only what the parser made (shared and read-only,
 * borrowed until the task ends). PE_OK and *result for a 2xx answer the
 * parser accepted; the HTTP and transport errors as collect_get(); the
 * parser's error (msg "GET <path>: <its reason>") when it did not accept.
 */
enum perr collect_get_parsed(struct collect *c, const struct fetch_target *t, const char *path,
			     const struct upcache_parser *parser, const void **result, char *msg,
			     size_t msglen) PE_WUR;

#endif
