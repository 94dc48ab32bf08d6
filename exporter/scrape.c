/* scrape.c - one collection: plans the collector tasks, runs them in phases to a deadline, gathers the answer. */
#include "scrape.h"
#include "clock.h"
#include "collect_task.h"
#include "collector.h"
#include "exempt.h"
#include "lastknown.h"
#include "log.h"
#include "probe.h"
#include "ratelimit.h"
#include "version.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCRAPE_MAX_TASKS 256

struct source_mem {
	char *key; /* "kind\x1fname" */
	double last_success;
	char last_error[256];
	int logged_down;
	struct source_mem *next;
};

struct scrape_state {
	pthread_mutex_t lock;
	int refs;
	struct upcache *cache;
	struct ratelimit *limits;
	struct source_mem *sources;
	struct probe_pool *probes;
	const struct collector *const *table;
	int reload_ok;
	double reload_ts;
	struct lastknown *memory; /* values remembered across scrapes */
	double started; /* unix time the state was made: the exporter's start */
};

struct scrape_state *scrape_state_new(void)
{
	struct scrape_state *st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->probes = probe_pool_new();
	st->cache = upcache_new();
	st->limits = ratelimit_new(RATELIMIT_MAX_KEYS);
	st->memory = lastknown_new();
	if (!st->probes || !st->cache || !st->limits || !st->memory) {
		probe_pool_free(st->probes);
		upcache_free(st->cache);
		ratelimit_free(st->limits);
		lastknown_free(st->memory);
		free(st);
		return NULL;
	}
	st->started = clock_wall();
	pthread_mutex_init(&st->lock, NULL);
	st->refs = 1;
	st->table = collector_table;
	st->reload_ok = 1;
	return st;
}

static void scrape_state_unref(struct scrape_state *st)
{
	pthread_mutex_lock(&st->lock);
	int left = --st->refs;
	pthread_mutex_unlock(&st->lock);
	if (left)
		return;
	for (struct source_mem *m = st->sources, *n; m; m = n) {
		n = m->next;
		free(m->key);
		free(m);
	}
	upcache_free(st->cache);
	ratelimit_free(st->limits);
	probe_pool_free(st->probes);
	lastknown_free(st->memory);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

void scrape_state_free(struct scrape_state *st)
{
	if (st)
		scrape_state_unref(st);
}

struct probe_pool *scrape_state_probes(struct scrape_state *st)
{
	return st->probes;
}

void scrape_state_set_transport(struct scrape_state *st, upcache_transport_fn fn, void *ctx)
{
	upcache_set_transport(st->cache, fn, ctx);
}

void scrape_state_set_collectors(struct scrape_state *st, const struct collector *const *table)
{
	st->table = table ? table : collector_table;
}

void scrape_state_set_reload(struct scrape_state *st, int ok, double when)
{
	pthread_mutex_lock(&st->lock);
	st->reload_ok = ok;
	if (ok)
		st->reload_ts = when;
	pthread_mutex_unlock(&st->lock);
}

struct task {
	struct collect c;
	const struct collector *col;
	struct scrape *s;
	int publish; /* 0: run only to feed a later phase (collect[] filter) */
	int started;
	int done;
	enum perr rc;
	double duration;
};

struct scrape {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int refs;
	struct scrape_state *st;
	struct config *cfg;
	struct collect_env env; /* what the tasks share */
	double start, deadline;
	double phase_end[2]; /* when the runner stops waiting for each phase */
	double fetch_end[2]; /* when upstream waits give up, leaving time to finish the task */
	struct task *tasks;
	size_t ntasks;
	struct source_result *results;
	size_t nresults;
	struct expfmt *out;
};

static void scrape_unref(struct scrape *s)
{
	pthread_mutex_lock(&s->lock);
	int left = --s->refs;
	pthread_mutex_unlock(&s->lock);
	if (left)
		return;
	for (size_t i = 0; i < s->ntasks; i++)
		collect_task_free(&s->tasks[i].c);
	free(s->tasks);
	free(s->results);
	facts_free(s->env.facts);
	expfmt_free(s->out);
	config_unref(s->cfg);
	scrape_state_unref(s->st);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s);
}

void scrape_free(struct scrape *s)
{
	if (s)
		scrape_unref(s);
}

static int name_selected(const char *name, const char *const *collect, size_t ncollect)
{
	if (!ncollect)
		return 1;
	for (size_t i = 0; i < ncollect; i++)
		if (collect[i] && strcmp(collect[i], name) == 0)
			return 1;
	return 0;
}

/* Fills s->tasks: one per (collector, source). A selected later phase pulls in every phase-0 collector. */
static enum perr scrape_plan(struct scrape *s, const char *const *collect, size_t ncollect)
{
	int need_phase0 = 0;
	for (const struct collector *const *cp = s->st->table; *cp; cp++)
		if ((*cp)->phase > 0 && name_selected((*cp)->name, collect, ncollect))
			need_phase0 = 1;
	size_t n = 0;
	for (const struct collector *const *cp = s->st->table; *cp; cp++)
		n += (*cp)->count(s->cfg);
	if (n > SCRAPE_MAX_TASKS)
		return PE_TOOBIG;
	s->tasks = calloc(n ? n : 1, sizeof(*s->tasks));
	s->results = calloc(n ? n : 1, sizeof(*s->results));
	if (!s->tasks || !s->results)
		return PE_NOMEM;
	for (const struct collector *const *cp = s->st->table; *cp; cp++) {
		const struct collector *col = *cp;
		int publish = name_selected(col->name, collect, ncollect);
		if (!publish && !(need_phase0 && col->phase == 0))
			continue;
		size_t cnt = col->count(s->cfg);
		for (size_t i = 0; i < cnt; i++) {
			struct task *t = &s->tasks[s->ntasks++];
			t->col = col;
			t->s = s;
			t->publish = publish;
			if (collect_task_init(&t->c, &s->env, s->cfg, i,
					      col->source_name ? col->source_name(s->cfg, i) : NULL,
					      s->fetch_end[col->phase ? 1 : 0]) != PE_OK)
				return PE_NOMEM;
		}
	}
	return PE_OK;
}

/*
 * Splits the time to the deadline: phase 0 gets all but a reserve for the
 * inventory; inside each phase, upstream waits stop a little early so a
 * collector can still turn a stale answer into samples.
 */
static void scrape_set_phases(struct scrape *s)
{
	double total = s->deadline - s->start;
	double reserve = total * 0.2 < 1.0 ? total * 0.2 : 1.0;
	double margin = total * 0.1 < 0.5 ? total * 0.1 : 0.5;
	s->phase_end[0] = s->deadline - reserve;
	s->phase_end[1] = s->deadline;
	s->fetch_end[0] = s->phase_end[0] - margin;
	s->fetch_end[1] = s->phase_end[1] - margin;
}

struct scrape *scrape_new(struct scrape_state *st, struct config *cfg, double timeout,
			  const char *const *collect, size_t ncollect)
{
	struct scrape *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	clock_cond_init(&s->cond);
	s->refs = 1;
	s->st = st;
	pthread_mutex_lock(&st->lock);
	st->refs++;
	pthread_mutex_unlock(&st->lock);
	double keep = cfg->global.max_staleness > cfg->global.cache_ttl ? cfg->global.max_staleness
									: cfg->global.cache_ttl;
	upcache_sweep(st->cache, 2 * keep + 60);
	s->cfg = config_ref(cfg);
	s->start = clock_mono();
	s->deadline = s->start + (timeout > 0 ? timeout : cfg->global.scrape_timeout);
	scrape_set_phases(s);
	s->env = (struct collect_env){.facts = facts_new(),
				      .cache = st->cache,
				      .probes = st->probes,
				      .limits = st->limits,
				      .memory = st->memory,
				      .now = clock_wall(),
				      .start = s->start,
				      .deadline = s->deadline};
	s->out = expfmt_new(0);
	if (!s->out || !s->env.facts || scrape_plan(s, collect, ncollect) != PE_OK) {
		scrape_unref(s);
		return NULL;
	}
	return s;
}

const struct config *scrape_config(const struct scrape *s)
{
	return s->cfg;
}

double scrape_now(const struct scrape *s)
{
	return s->env.now;
}

size_t scrape_nsources(const struct scrape *s)
{
	return s->nresults;
}

const struct source_result *scrape_source(const struct scrape *s, size_t i)
{
	return i < s->nresults ? &s->results[i] : NULL;
}

struct facts *scrape_facts(const struct scrape *s)
{
	return s->env.facts;
}

int scrape_once(struct scrape *s, const char *key)
{
	return ratelimit_due(s->st->limits, key, INFINITY);
}

enum log_level scrape_warn_level(struct scrape *s, const char *key)
{
	return ratelimit_due(s->st->limits, key, RATELIMIT_WARN_EVERY) ? LOG_LVL_WARN : LOG_LVL_DEBUG;
}

/* ---------- running the tasks ---------- */

static void *task_main(void *arg)
{
	struct task *t = arg;
	struct scrape *s = t->s;
	double t0 = clock_mono();
	enum perr rc = t->col->collect(&t->c);
	if (rc != PE_OK && !t->c.err[0])
		collect_fail(&t->c, "%s", err_str(rc));
	collect_task_release(&t->c);
	if (t->col->kind && t->c.source)
		facts_set(s->env.facts, t->col->kind, t->c.source, "up", rc == PE_OK, NULL);
	pthread_mutex_lock(&s->lock);
	t->rc = rc;
	t->duration = clock_mono() - t0;
	t->done = 1;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	scrape_unref(s);
	return NULL;
}

static void scrape_start_phase(struct scrape *s, int phase)
{
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (size_t i = 0; i < s->ntasks; i++) {
		struct task *t = &s->tasks[i];
		if (t->col->phase != phase)
			continue;
		pthread_t tid;
		pthread_mutex_lock(&s->lock);
		s->refs++;
		pthread_mutex_unlock(&s->lock);
		if (pthread_create(&tid, &attr, task_main, t) != 0) {
			pthread_mutex_lock(&s->lock);
			s->refs--;
			t->done = 1;
			t->rc = PE_NOMEM;
			snprintf(t->c.err, sizeof(t->c.err), "could not start a thread");
			pthread_mutex_unlock(&s->lock);
			continue;
		}
		t->started = 1;
	}
	pthread_attr_destroy(&attr);
}

static int phase_done_locked(const struct scrape *s, int phase)
{
	for (size_t i = 0; i < s->ntasks; i++)
		if (s->tasks[i].col->phase == phase && !s->tasks[i].done)
			return 0;
	return 1;
}

static void scrape_wait_phase(struct scrape *s, int phase, double until)
{
	struct timespec ts = clock_abs(until);
	pthread_mutex_lock(&s->lock);
	while (!phase_done_locked(s, phase) && clock_mono() < until)
		if (pthread_cond_timedwait(&s->cond, &s->lock, &ts) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&s->lock);
}

/* Remembers each source's last success and logs a down source once per change of reason. */
static void source_remember(struct scrape_state *st, struct source_result *r)
{
	char key[512];
	snprintf(key, sizeof(key), "%s\x1f%s", r->kind, r->name);
	pthread_mutex_lock(&st->lock);
	struct source_mem *m = st->sources;
	while (m && strcmp(m->key, key) != 0)
		m = m->next;
	if (!m && (m = calloc(1, sizeof(*m))) != NULL) {
		m->key = strdup(key);
		if (!m->key) {
			free(m);
			m = NULL;
		} else {
			m->next = st->sources;
			st->sources = m;
		}
	}
	int log_down = 0, log_up = 0;
	if (m) {
		if (r->up) {
			m->last_success = clock_wall();
			log_up = m->logged_down;
			m->logged_down = 0;
			m->last_error[0] = '\0';
		} else if (!m->logged_down || strcmp(m->last_error, r->error) != 0) {
			log_down = 1;
			m->logged_down = 1;
			snprintf(m->last_error, sizeof(m->last_error), "%s", r->error);
		}
		r->last_success = m->last_success;
	}
	pthread_mutex_unlock(&st->lock);
	if (log_down)
		log_warn("source down", "kind", r->kind, "source", r->name, "err", r->error);
	if (log_up)
		log_info("source up again", "kind", r->kind, "source", r->name);
}

static const struct expfmt_desc d_build_info = {
	"persistence_exporter_build_info", EXPFMT_GAUGE,
	"A metric with a constant '1' value labeled by version, revision and compiler."};
static const struct expfmt_desc d_coll_success = {
	"persistence_scrape_collector_success", EXPFMT_GAUGE,
	"1 when every task of the collector finished before the scrape deadline without an internal error."};
static const struct expfmt_desc d_coll_duration = {"persistence_scrape_collector_duration_seconds",
						   EXPFMT_GAUGE,
						   "Wall time the collector took in this scrape."};
static const struct expfmt_desc d_source_up = {
	"persistence_source_up", EXPFMT_GAUGE,
	"1 when the source answered correctly in this scrape, 0 when not."};
static const struct expfmt_desc d_source_last = {"persistence_source_last_success_timestamp_seconds",
						 EXPFMT_GAUGE,
						 "Unix time of the source's last successful collection."};
static const struct expfmt_desc d_start = {"persistence_exporter_start_time_seconds", EXPFMT_GAUGE,
					   "Unix time the exporter process started."};
static const struct expfmt_desc d_reload_ok = {"persistence_config_last_reload_successful", EXPFMT_GAUGE,
					       "1 when the last configuration (re)load succeeded."};
static const struct expfmt_desc d_reload_ts = {"persistence_config_last_reload_success_timestamp_seconds",
					       EXPFMT_GAUGE,
					       "Unix time of the last successful configuration load."};

/* Internal failures (not the upstream's) count against the collector. */
static int is_internal_error(enum perr rc)
{
	return rc == PE_NOMEM || rc == PE_INTERNAL || rc == PE_INVAL;
}

static void scrape_add_collector_metrics(struct scrape *s, double elapsed)
{
	for (const struct collector *const *cp = s->st->table; *cp; cp++) {
		int any = 0, ok = 1;
		double dur = 0;
		for (size_t i = 0; i < s->ntasks; i++) {
			const struct task *t = &s->tasks[i];
			if (t->col != *cp || !t->publish)
				continue;
			any = 1;
			double d = t->done ? t->duration : elapsed;
			if (d > dur)
				dur = d;
			if (!t->done || is_internal_error(t->rc))
				ok = 0;
		}
		if (!any)
			continue;
		expfmt_add(s->out, &d_coll_success, ok, "collector", (*cp)->name, NULL);
		expfmt_add(s->out, &d_coll_duration, dur, "collector", (*cp)->name, NULL);
	}
}

static void scrape_add_exporter_metrics(struct scrape *s)
{
	expfmt_add(s->out, &d_build_info, 1, "version", PE_VERSION, "revision", PE_REVISION, "compiler",
		   PE_COMPILER, NULL);
	expfmt_add(s->out, &d_start, s->st->started, NULL);
	exempt_emit(s->out, s->cfg);
	for (size_t i = 0; i < s->nresults; i++) {
		const struct source_result *r = &s->results[i];
		expfmt_add(s->out, &d_source_up, r->up, "source", r->name, "kind", r->kind, NULL);
		if (r->last_success > 0)
			expfmt_add(s->out, &d_source_last, r->last_success, "source", r->name, "kind",
				   r->kind, NULL);
	}
	pthread_mutex_lock(&s->st->lock);
	int ok = s->st->reload_ok;
	double ts = s->st->reload_ts;
	pthread_mutex_unlock(&s->st->lock);
	expfmt_add(s->out, &d_reload_ok, ok, NULL);
	if (ts > 0)
		expfmt_add(s->out, &d_reload_ts, ts, NULL);
}

/* Merges finished tasks and records every published source's outcome. */
static enum perr scrape_gather(struct scrape *s, double elapsed)
{
	enum perr rc = PE_OK;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->ntasks; i++) {
		struct task *t = &s->tasks[i];
		if (!t->publish)
			continue;
		if (t->done && rc == PE_OK)
			rc = expfmt_merge(s->out, t->c.out);
		if (!t->col->kind || !t->c.source)
			continue;
		struct source_result *r = &s->results[s->nresults++];
		r->kind = t->col->kind;
		r->name = t->c.source;
		r->done = t->done;
		r->up = t->done && t->rc == PE_OK;
		r->duration = t->done ? t->duration : elapsed;
		if (!t->done)
			snprintf(r->error, sizeof(r->error), "no result before the scrape deadline (%.1f s)",
				 elapsed);
		else if (!r->up)
			snprintf(r->error, sizeof(r->error), "%s", t->c.err);
	}
	pthread_mutex_unlock(&s->lock);
	for (size_t i = 0; i < s->nresults; i++)
		source_remember(s->st, &s->results[i]);
	return rc;
}

enum perr scrape_run(struct scrape *s)
{
	scrape_start_phase(s, 0);
	scrape_wait_phase(s, 0, s->phase_end[0]);
	scrape_start_phase(s, 1);
	scrape_wait_phase(s, 1, s->phase_end[1]);
	double elapsed = clock_mono() - s->start;
	enum perr rc = scrape_gather(s, elapsed);
	scrape_add_collector_metrics(s, elapsed);
	scrape_add_exporter_metrics(s);
	if (rc == PE_OK)
		rc = expfmt_err(s->out);
	return rc;
}

enum perr scrape_write(struct scrape *s, struct buf *out)
{
	return expfmt_write_release(s->out, out);
}
