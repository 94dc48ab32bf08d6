/* scrape.h - one collection: deadline, concurrent collector tasks, facts, upstream cache. */
#ifndef PE_SCRAPE_H
#define PE_SCRAPE_H

#include <stddef.h>
#include "buf.h"
#include "config.h"
#include "err.h"
#include "expfmt.h"
#include "fetch.h"
#include "log.h"

struct cJSON;
struct probe_pool;

/*
 * State that outlives one scrape and is shared by all of them: the
 * upstream answer cache, each source's last success time and last logged
 * error, and the hang-safe probe pool. Thread-safe. Freed last.
 */
struct scrape_state;

struct scrape_state *scrape_state_new(void);
void scrape_state_free(struct scrape_state *st); /* takes NULL */
struct probe_pool *scrape_state_probes(struct scrape_state *st);
/* Values remembered across scrapes (lastknown.h); lives as long as st. */
struct lastknown;
struct lastknown *scrape_state_memory(struct scrape_state *st);

/*
 * Transport used for upstream requests; defaults to fetch_request. Unit
 * tests install one that serves fixture files.
 */
typedef enum perr (*scrape_transport_fn)(void *ctx, const struct fetch_target *t, const char *method,
					 const char *path, const char *body, double timeout,
					 struct fetch_resp *r);
void scrape_state_set_transport(struct scrape_state *st, scrape_transport_fn fn, void *ctx);
/* Replaces the collector table (tests); NULL restores collector_table. */
struct collector;
void scrape_state_set_collectors(struct scrape_state *st, const struct collector *const *table);
/* The daemon reports each config (re)load; exported as persistence_config_last_reload_*. */
void scrape_state_set_reload(struct scrape_state *st, int ok, double when);

/* One source's outcome in a scrape (for /status and the page). */
struct source_result {
	const char *kind; /* "pve", "pve_local", "mount", "n8n", "docker" */
	const char *name; /* configured name (borrowed from the scrape's config) */
	int done; /* the task finished before the deadline */
	int up;
	double last_success; /* unix time, 0 = never */
	double duration; /* seconds */
	char error[256]; /* why it is down; "" when up; never a secret */
};

/*
 * A scrape. Reference counted: collector tasks that outlive the deadline
 * keep it alive, so scrape_free() never waits for them.
 */
struct scrape;

/*
 * cfg: a reference is taken. timeout: seconds until the answer must be
 * ready (the deadline). collect: optional filter of collector names
 * (NULL/0: all).
 */
struct scrape *scrape_new(struct scrape_state *st, struct config *cfg, double timeout,
			  const char *const *collect, size_t ncollect);
void scrape_free(struct scrape *s); /* drops the caller's reference; takes NULL */

/* Runs every selected collector; returns by the deadline. */
enum perr scrape_run(struct scrape *s) PE_WUR;
/* Appends the exposition of a finished scrape (collectors + exporter metrics). */
enum perr scrape_write(struct scrape *s, struct buf *out) PE_WUR;

const struct config *scrape_config(const struct scrape *s);
struct scrape_state *scrape_get_state(const struct scrape *s);
double scrape_now(const struct scrape *s); /* unix time at the scrape's start */
double scrape_remaining(const struct scrape *s); /* seconds left until the deadline (>= 0) */
size_t scrape_nsources(const struct scrape *s);
const struct source_result *scrape_source(const struct scrape *s, size_t i);

/*
 * Facts: typed results collectors leave for later phases (the inventory)
 * and for the status page. Keys are "kind", "source", "key"; a fact has a
 * number and an optional string. Thread-safe. Documented keys:
 *   pve/<src>   guest/<vmid>/last_backup, guest/<vmid>/template, guest/<vmid>/name (str),
 *               guest/<vmid>/type (str), guest/<vmid>/node (str)
 *   mount/<src> vmid/<vmid>/last_backup
 *   n8n/<src>   live_total, snapshot_last, snapshot_workflows
 *   <kind>/<src> up (set by the framework after the task ends)
 */
void scrape_fact_set(struct scrape *s, const char *kind, const char *source, const char *key, double v,
		     const char *str);
/* 1 and *v (and *str, borrowed until scrape_free) when present; 0 when absent. */
int scrape_fact_get(struct scrape *s, const char *kind, const char *source, const char *key, double *v,
		    const char **str);
/* Calls cb for every fact of kind/source whose key starts with prefix, in insertion order. */
void scrape_fact_each(struct scrape *s, const char *kind, const char *source, const char *prefix,
		      void (*cb)(void *ctx, const char *key, double v, const char *str), void *ctx);

/*
 * 1 the first time key is passed for the life of the scrape state (the
 * process), else 0: for warnings that would otherwise repeat on every
 * scrape. At most 1024 keys are remembered; past that (or out of memory)
 * it returns 0, so a flood of distinct keys cannot flood the log.
 */
int scrape_once(struct scrape *s, const char *key);
/*
 * LOG_LVL_WARN the first time a condition (key) is seen and again at most
 * once an hour while it lasts, LOG_LVL_DEBUG in between: for partial
 * failures that would otherwise warn on every scrape. Same key limit as
 * scrape_once().
 */
enum log_level scrape_warn_level(struct scrape *s, const char *key);

/* An attachment (e.g. the inventory report) freed with the scrape. */
void scrape_attach(struct scrape *s, const char *name, void *p, void (*free_fn)(void *));
void *scrape_attached(const struct scrape *s, const char *name);

/* ---- what a collector task sees ---- */

struct collect {
	struct scrape *scrape;
	const struct config *cfg;
	size_t index; /* which configured source of this collector */
	const char *source; /* its name, NULL for source-less collectors */
	struct expfmt *out; /* this task's samples */
	char err[256]; /* set via collect_fail(); becomes the source's error */
	/* private to scrape.c */
	double fetch_end; /* monotonic time upstream waits give up */
	struct cJSON **docs;
	size_t ndocs, capdocs;
	void **held; /* cached answers in use */
	size_t nheld, capheld;
};

/*
 * A warning about a partial failure, rate-limited per condition: the key
 * is the source, the message and every value, so the same condition warns
 * once an hour (debug in between) and a changed one warns at once. Use
 * the collect_warn() macro: key/value string pairs, no trailing NULL.
 */
void collect_warn_kv(struct collect *c, const char *msg, ...) __attribute__((sentinel));
#define collect_warn(c, ...) collect_warn_kv((c), __VA_ARGS__, (const char *)NULL)

/* Records why the source is down (first call wins); printf-style. Never pass secrets. */
void collect_fail(struct collect *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * GET base_url+path through the upstream cache (key: collector, source,
 * path). Waits at most until the deadline; while a slow answer is being
 * fetched a previous one younger than max_staleness is served. *resp is
 * borrowed until the task ends. Returns PE_OK only for a 2xx answer; 401
 * PE_AUTH, 403 PE_DENIED, 404 PE_NOTFOUND, other statuses PE_HTTP, plus
 * the transport errors. Does not call collect_fail(): the caller decides.
 * msg gets a one-line reason, e.g. "GET /nodes: HTTP 500".
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
/* Ends the task's use of an answer from collect_get*() before the task ends (resp is then invalid). */
void collect_release_resp(struct collect *c, const struct fetch_resp *resp);

/*
 * collect_get() then JSON parsing. A body that is not JSON (HTML while a
 * service starts, truncated, empty) gives PE_PARSE with a message that
 * says which. *doc is owned by the task.
 */
enum perr collect_get_json(struct collect *c, const struct fetch_target *t, const char *path,
			   struct cJSON **doc, char *msg, size_t msglen) PE_WUR;
/*
 * collect_get() then a streaming walk of the answer: cb sees each element
 * of the array in member of the top-level object (or of a bare top-level
 * array), parsed one at a time and freed after the call, so a listing of
 * 20,000 items never exists as one cJSON tree. The whole body is still
 * checked: PE_PARSE when it is not JSON, is truncated, or member is
 * missing or not an array. cb may have run for earlier elements by then:
 * stage what it gathers and use it only on PE_OK.
 */
enum perr collect_get_json_each(struct collect *c, const struct fetch_target *t, const char *path,
				const char *member, void (*cb)(void *ctx, const struct cJSON *item),
				void *ctx, char *msg, size_t msglen) PE_WUR;

#endif
