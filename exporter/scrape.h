/* scrape.h - one collection: plans the collector tasks, runs them in phases to a deadline, gathers the answer. */
#ifndef PE_SCRAPE_H
#define PE_SCRAPE_H

#include <stddef.h>
#include "buf.h"
#include "config.h"
#include "err.h"
#include "facts.h"
#include "log.h"
#include "upcache.h"

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

/*
 * Transport used for upstream requests; fetch_request_stream by default.
 * Unit tests install one that serves fixture files.
 */
void scrape_state_set_transport(struct scrape_state *st, upcache_transport_fn fn, void *ctx);
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
/* Appends the exposition of a finished scrape (collectors + exporter metrics); once: the samples are handed over. */
enum perr scrape_write(struct scrape *s, struct buf *out) PE_WUR;

const struct config *scrape_config(const struct scrape *s);
double scrape_now(const struct scrape *s); /* unix time at the scrape's start */
size_t scrape_nsources(const struct scrape *s);
const struct source_result *scrape_source(const struct scrape *s, size_t i);
/* What the collectors learned (facts.h): facts and attachments such as the inventory report. */
struct facts *scrape_facts(const struct scrape *s);

/*
 * The scrape state's memory of repeated conditions (collect.h has the
 * collectors' side): scrape_once() is 1 the first time key is passed for
 * the life of the state, scrape_warn_level() LOG_LVL_WARN the first time
 * and at most once an hour after, LOG_LVL_DEBUG in between. At most 1024
 * keys are remembered; past that both answer 0 / debug.
 */
int scrape_once(struct scrape *s, const char *key);
enum log_level scrape_warn_level(struct scrape *s, const char *key);

#endif
