/* scrape.c - one collection: concurrent collector tasks under a deadline, facts, upstream cache. */
#include "scrape.h"
#include "version.h"
#include "collector.h"
#include "exempt.h"
#include "jsonwalk.h"
#include "lastknown.h"
#include "log.h"
#include "probe.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#define SCRAPE_MAX_TASKS 256
#define SCRAPE_MAX_ONCE 1024 /* keys scrape_once() and scrape_warn_level() remember */
#define SCRAPE_WARN_EVERY 3600.0 /* a repeating condition is warned about once an hour */
#define CACHE_PACK_MIN (64 * 1024) /* idle cached bodies from this size on are kept deflated */

/* ---------- clocks ---------- */

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct timespec mono_abs(double t)
{
	struct timespec ts;
	ts.tv_sec = (time_t)t;
	ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
	return ts;
}

static void cond_init_mono(pthread_cond_t *c)
{
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(c, &a);
	pthread_condattr_destroy(&a);
}

/* ---------- the upstream cache ---------- */

/* A completed HTTP answer, shared by the cache and the tasks reading it. */
struct cached_resp {
	int refs; /* under the state lock */
	int no_stale; /* from collect_get_fresh(): dropped once older than cache_ttl */
	int in_cache; /* an entry's resp points here */
	int packing; /* a task is deflating it (see cache_pack) */
	int packed; /* r.body dropped, pack holds it deflated: only while no task holds it */
	size_t rawlen; /* r.body.len while packed */
	unsigned char *pack; /* deflated copy of r.body once made, else NULL */
	size_t packlen;
	double at; /* monotonic time it arrived */
	struct fetch_resp r;
};

struct cache_entry {
	char *key;
	struct cached_resp *resp; /* newest HTTP answer, NULL if none yet */
	int in_flight;
	int no_stale; /* asked for with collect_get_fresh() */
	unsigned long gen; /* bumped when a fetch ends */
	enum perr last_rc; /* transport outcome of the last fetch */
	char last_msg[256];
	double last_used;
	struct cache_entry *next;
};

struct source_mem {
	char *key; /* "kind\x1fname" */
	double last_success;
	char last_error[256];
	int logged_down;
	struct source_mem *next;
};

struct once_key {
	char *key;
	double last; /* monotonic time it was last reported due */
	struct once_key *next;
};

struct scrape_state {
	pthread_mutex_t lock;
	pthread_cond_t fetched; /* broadcast whenever a cache fetch ends */
	int refs;
	struct cache_entry *entries;
	struct source_mem *sources;
	struct probe_pool *probes;
	scrape_transport_fn transport;
	void *transport_ctx;
	const struct collector *const *table;
	int reload_ok;
	double reload_ts;
	struct once_key *once; /* scrape_once() keys */
	size_t nonce;
	struct lastknown *memory; /* values remembered across scrapes */
	double started; /* unix time the state was made: the exporter's start */
};

static enum perr transport_fetch(void *ctx, const struct fetch_target *t, const char *method,
				 const char *path, const char *body, double timeout, struct fetch_resp *r)
{
	(void)ctx;
	return fetch_request(t, method, path, body, timeout, r);
}

struct scrape_state *scrape_state_new(void)
{
	struct scrape_state *st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->probes = probe_pool_new();
	st->memory = lastknown_new();
	if (!st->probes || !st->memory) {
		probe_pool_free(st->probes);
		lastknown_free(st->memory);
		free(st);
		return NULL;
	}
	st->started = wall_now();
	pthread_mutex_init(&st->lock, NULL);
	cond_init_mono(&st->fetched);
	st->refs = 1;
	st->transport = transport_fetch;
	st->table = collector_table;
	st->reload_ok = 1;
	return st;
}

static void cached_resp_unref_locked(struct cached_resp *cr)
{
	if (cr && --cr->refs == 0) {
		fetch_resp_free(&cr->r);
		free(cr->pack);
		free(cr);
	}
}

/* Points e at cr (which may be NULL), dropping the cache's reference to the previous answer. */
static void cache_set_resp_locked(struct cache_entry *e, struct cached_resp *cr)
{
	if (e->resp) {
		e->resp->in_cache = 0;
		cached_resp_unref_locked(e->resp);
	}
	e->resp = cr;
	if (cr)
		cr->in_cache = 1;
}

static void scrape_state_unref(struct scrape_state *st)
{
	pthread_mutex_lock(&st->lock);
	int left = --st->refs;
	pthread_mutex_unlock(&st->lock);
	if (left)
		return;
	for (struct cache_entry *e = st->entries, *n; e; e = n) {
		n = e->next;
		cached_resp_unref_locked(e->resp);
		free(e->key);
		free(e);
	}
	for (struct source_mem *m = st->sources, *n; m; m = n) {
		n = m->next;
		free(m->key);
		free(m);
	}
	for (struct once_key *o = st->once, *n; o; o = n) {
		n = o->next;
		free(o->key);
		free(o);
	}
	probe_pool_free(st->probes);
	lastknown_free(st->memory);
	pthread_mutex_destroy(&st->lock);
	pthread_cond_destroy(&st->fetched);
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

struct lastknown *scrape_state_memory(struct scrape_state *st)
{
	return st->memory;
}

void scrape_state_set_transport(struct scrape_state *st, scrape_transport_fn fn, void *ctx)
{
	st->transport = fn ? fn : transport_fetch;
	st->transport_ctx = ctx;
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

/* Drops entries nobody asked for in a long while (caller holds the lock). */
static void cache_sweep_locked(struct scrape_state *st, double now, double keep)
{
	struct cache_entry **pp = &st->entries;
	while (*pp) {
		struct cache_entry *e = *pp;
		if (!e->in_flight && now - e->last_used > keep) {
			*pp = e->next;
			cache_set_resp_locked(e, NULL);
			free(e->key);
			free(e);
		} else {
			pp = &e->next;
		}
	}
}

static struct cache_entry *cache_lookup_locked(struct scrape_state *st, const char *key)
{
	for (struct cache_entry *e = st->entries; e; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e;
	struct cache_entry *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->key = strdup(key);
	if (!e->key) {
		free(e);
		return NULL;
	}
	e->next = st->entries;
	st->entries = e;
	return e;
}

/* A background fetch: owns copies of everything it needs (the auth header wiped at the end), outlives any scrape. */
struct fetch_job {
	struct scrape_state *st;
	struct cache_entry *entry; /* kept alive: the sweep skips in-flight entries */
	struct fetch_target *t;
	char *path;
};

static void fetch_job_free(struct fetch_job *j)
{
	fetch_target_free(j->t);
	free(j->path);
	free(j);
}

static struct fetch_job *fetch_job_new(struct scrape_state *st, struct cache_entry *e,
				       const struct fetch_target *t, const char *path)
{
	struct fetch_job *j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->st = st;
	j->entry = e;
	j->t = fetch_target_new(t);
	j->path = strdup(path);
	if (!j->t || !j->path) {
		fetch_job_free(j);
		return NULL;
	}
	return j;
}

static void *fetch_job_run(void *arg)
{
	struct fetch_job *j = arg;
	struct scrape_state *st = j->st;
	struct cached_resp *cr = calloc(1, sizeof(*cr));
	enum perr rc = PE_NOMEM;
	if (cr) {
		fetch_resp_init(&cr->r);
		rc = st->transport(st->transport_ctx, j->t, "GET", j->path, NULL, 0, &cr->r);
	}
	pthread_mutex_lock(&st->lock);
	struct cache_entry *e = j->entry;
	e->in_flight = 0;
	e->gen++;
	e->last_rc = rc;
	snprintf(e->last_msg, sizeof(e->last_msg), "%s", cr && cr->r.err[0] ? cr->r.err : err_str(rc));
	if (rc == PE_OK) {
		cr->refs = 1;
		cr->no_stale = e->no_stale;
		cr->at = mono_now();
		cache_set_resp_locked(e, cr);
		cr = NULL;
	}
	pthread_cond_broadcast(&st->fetched);
	pthread_mutex_unlock(&st->lock);
	if (cr) {
		fetch_resp_free(&cr->r);
		free(cr);
	}
	fetch_job_free(j);
	scrape_state_unref(st);
	return NULL;
}

/* Starts a detached background fetch for e (caller holds the lock). */
static enum perr cache_start_fetch_locked(struct scrape_state *st, struct cache_entry *e,
					  const struct fetch_target *t, const char *path)
{
	struct fetch_job *j = fetch_job_new(st, e, t, path);
	if (!j)
		return PE_NOMEM;
	pthread_attr_t attr;
	pthread_t tid;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	st->refs++;
	e->in_flight = 1;
	int rc = pthread_create(&tid, &attr, fetch_job_run, j);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		st->refs--;
		e->in_flight = 0;
		fetch_job_free(j);
		return PE_NOMEM;
	}
	return PE_OK;
}

/* ---------- the scrape ---------- */

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

/* One fact; kind, source and key point into id ("kind\x1fsource\x1fkey"). */
struct fact {
	char *id, *str;
	const char *kind, *source, *key;
	size_t idlen;
	unsigned long hash;
	double v;
	struct fact *next; /* insertion order */
	struct fact *hnext; /* hash chain */
};

struct attachment {
	char *name;
	void *p;
	void (*free_fn)(void *);
	struct attachment *next;
};

struct scrape {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int refs;
	struct scrape_state *st;
	struct config *cfg;
	double start, deadline, now_wall;
	double phase_end[2]; /* when the runner stops waiting for each phase */
	double fetch_end[2]; /* when upstream waits give up, leaving time to finish the task */
	struct task *tasks;
	size_t ntasks;
	struct source_result *results;
	size_t nresults;
	struct fact *facts, **facts_tail;
	struct fact **buckets; /* hash index over facts; a later fact shadows an earlier one */
	size_t nbuckets, nfacts;
	struct attachment *att;
	struct expfmt *out;
};

/*
 * Drops a task's hold on a cached answer (lock held). A collect_get_fresh()
 * answer past cache_ttl that nobody else holds leaves the cache too: it
 * would never be served again.
 */
static int held_drop_locked(struct scrape_state *st, double ttl, struct cached_resp *cr)
{
	if (cr->no_stale && cr->refs == 2 && mono_now() - cr->at >= ttl) {
		for (struct cache_entry *e = st->entries; e; e = e->next) {
			if (e->resp == cr) {
				e->resp = NULL;
				cr->in_cache = 0;
				cr->refs--; /* the cache's reference; ours goes below */
				break;
			}
		}
	}
	if (cr->in_cache && cr->refs == 2 && !cr->packing && !cr->packed &&
	    cr->r.body.len >= CACHE_PACK_MIN) {
		cr->packing = 1; /* the caller keeps its reference for cache_pack() */
		return 1;
	}
	cached_resp_unref_locked(cr);
	return 0;
}

/* Deflates body into a new allocation; NULL when that fails or saves less than three quarters. */
static unsigned char *pack_body(const struct buf *body, size_t *len)
{
	uLongf n = body->len / 4;
	unsigned char *z = malloc(n);
	if (z && compress2(z, &n, (const Bytef *)body->data, body->len, 1) == Z_OK) {
		unsigned char *fit = realloc(z, n);
		*len = n;
		return fit ? fit : z;
	}
	free(z);
	return NULL;
}

/*
 * An answer only the cache holds any more is kept deflated (a JSON listing
 * shrinks to ~10%) until a task asks for it again: otherwise a refetch of a
 * large listing holds the old copy and the new one at once. Drops the
 * reference held_drop_locked() kept for this.
 */
static void cache_pack(struct scrape_state *st, struct cached_resp *cr)
{
	size_t zlen = 0;
	/* without the lock: the packing flag makes this the only writer, and the body stays until below */
	unsigned char *z = cr->pack ? NULL : pack_body(&cr->r.body, &zlen);
	struct buf raw;
	buf_init(&raw, 0);
	pthread_mutex_lock(&st->lock);
	if (z) {
		cr->pack = z;
		cr->packlen = zlen;
	}
	if (cr->in_cache && cr->refs == 2 && cr->pack) { /* still only the cache and us */
		raw = cr->r.body;
		cr->rawlen = raw.len;
		cr->r.body.data = NULL;
		cr->r.body.len = cr->r.body.cap = 0;
		cr->packed = 1;
	}
	cr->packing = 0;
	cached_resp_unref_locked(cr);
	pthread_mutex_unlock(&st->lock);
	buf_free(&raw);
}

/* Restores the body of a packed answer about to be handed out (lock held; no task holds a packed one). */
static enum perr cache_unpack_locked(struct cached_resp *cr)
{
	if (!cr->packed)
		return PE_OK;
	uLongf n = cr->rawlen;
	char *raw = malloc(cr->rawlen + 1);
	if (!raw)
		return PE_NOMEM;
	if (uncompress((Bytef *)raw, &n, cr->pack, cr->packlen) != Z_OK || n != cr->rawlen) {
		free(raw);
		return PE_INTERNAL;
	}
	raw[n] = '\0';
	cr->r.body.data = raw;
	cr->r.body.len = n;
	cr->r.body.cap = n + 1;
	cr->packed = 0;
	return PE_OK;
}

/* Releases what a task held: parsed documents and cached answers. */
static void collect_release(struct collect *c, struct scrape_state *st)
{
	for (size_t i = 0; i < c->ndocs; i++)
		cJSON_Delete(c->docs[i]);
	free(c->docs);
	c->docs = NULL;
	c->ndocs = c->capdocs = 0;
	size_t npack = 0;
	pthread_mutex_lock(&st->lock);
	for (size_t i = 0; i < c->nheld; i++)
		if (held_drop_locked(st, c->cfg->global.cache_ttl, c->held[i]))
			c->held[npack++] = c->held[i];
	pthread_mutex_unlock(&st->lock);
	for (size_t i = 0; i < npack; i++)
		cache_pack(st, c->held[i]);
	free(c->held);
	c->held = NULL;
	c->nheld = c->capheld = 0;
}

static void scrape_unref(struct scrape *s)
{
	pthread_mutex_lock(&s->lock);
	int left = --s->refs;
	pthread_mutex_unlock(&s->lock);
	if (left)
		return;
	for (size_t i = 0; i < s->ntasks; i++) {
		collect_release(&s->tasks[i].c, s->st);
		expfmt_free(s->tasks[i].c.out);
	}
	free(s->tasks);
	free(s->results);
	for (struct fact *f = s->facts, *n; f; f = n) {
		n = f->next;
		free(f->id);
		free(f->str);
		free(f);
	}
	free(s->buckets);
	for (struct attachment *a = s->att, *n; a; a = n) {
		n = a->next;
		if (a->free_fn)
			a->free_fn(a->p);
		free(a->name);
		free(a);
	}
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
			t->c.scrape = s;
			t->c.cfg = s->cfg;
			t->c.index = i;
			t->c.fetch_end = s->fetch_end[col->phase ? 1 : 0];
			t->c.source = col->source_name ? col->source_name(s->cfg, i) : NULL;
			t->c.out = expfmt_new(0);
			if (!t->c.out)
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
	cond_init_mono(&s->cond);
	s->refs = 1;
	s->st = st;
	pthread_mutex_lock(&st->lock);
	st->refs++;
	double keep = cfg->global.max_staleness > cfg->global.cache_ttl ? cfg->global.max_staleness
									: cfg->global.cache_ttl;
	cache_sweep_locked(st, mono_now(), 2 * keep + 60);
	pthread_mutex_unlock(&st->lock);
	s->cfg = config_ref(cfg);
	s->start = mono_now();
	s->deadline = s->start + (timeout > 0 ? timeout : cfg->global.scrape_timeout);
	scrape_set_phases(s);
	s->now_wall = wall_now();
	s->facts_tail = &s->facts;
	s->out = expfmt_new(0);
	if (!s->out || scrape_plan(s, collect, ncollect) != PE_OK) {
		scrape_unref(s);
		return NULL;
	}
	return s;
}

const struct config *scrape_config(const struct scrape *s)
{
	return s->cfg;
}

struct scrape_state *scrape_get_state(const struct scrape *s)
{
	return s->st;
}

double scrape_now(const struct scrape *s)
{
	return s->now_wall;
}

double scrape_remaining(const struct scrape *s)
{
	double r = s->deadline - mono_now();
	return r > 0 ? r : 0;
}

size_t scrape_nsources(const struct scrape *s)
{
	return s->nresults;
}

const struct source_result *scrape_source(const struct scrape *s, size_t i)
{
	return i < s->nresults ? &s->results[i] : NULL;
}

/* ---------- facts and attachments ---------- */

/* Builds "kind\x1fsource\x1fkey" into out; returns its length or 0 if it does not fit. */
static size_t fact_id(char *out, size_t n, const char *kind, const char *source, const char *key)
{
	int len = snprintf(out, n, "%s\x1f%s\x1f%s", kind ? kind : "", source ? source : "", key ? key : "");
	return len > 0 && (size_t)len < n ? (size_t)len : 0;
}

static unsigned long fact_hash(const char *s, size_t len)
{
	unsigned long h = 1469598103934665603UL; /* FNV-1a */
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211UL;
	return h;
}

/* Doubles the index when it is fuller than one fact a bucket (lock held); on failure keeps the old one. */
static void fact_index_grow_locked(struct scrape *s)
{
	if (s->nfacts < s->nbuckets)
		return;
	size_t n = s->nbuckets ? s->nbuckets * 2 : 256;
	struct fact **b = calloc(n, sizeof(*b));
	if (!b)
		return;
	for (struct fact *f = s->facts; f; f = f->next) {
		f->hnext = b[f->hash % n];
		b[f->hash % n] = f;
	}
	free(s->buckets);
	s->buckets = b;
	s->nbuckets = n;
}

void scrape_fact_set(struct scrape *s, const char *kind, const char *source, const char *key, double v,
		     const char *str)
{
	char id[1024];
	size_t len = fact_id(id, sizeof(id), kind, source, key);
	struct fact *f = len ? calloc(1, sizeof(*f)) : NULL;
	if (f) {
		f->id = strdup(id);
		f->str = str ? strdup(str) : NULL;
	}
	if (!f || !f->id || (str && !f->str)) {
		if (f) {
			free(f->id);
			free(f->str);
		}
		free(f);
		log_warn("fact dropped", "key", key, "err", len ? err_str(PE_NOMEM) : "key too long");
		return;
	}
	f->idlen = len;
	f->hash = fact_hash(id, len);
	f->kind = f->id;
	f->source = strchr(f->id, '\x1f') + 1;
	f->key = strchr(f->source, '\x1f') + 1;
	f->v = v;
	pthread_mutex_lock(&s->lock);
	*s->facts_tail = f;
	s->facts_tail = &f->next;
	s->nfacts++;
	fact_index_grow_locked(s); /* a rebuild walks every fact, this one included */
	if (s->buckets && s->buckets[f->hash % s->nbuckets] != f) {
		f->hnext = s->buckets[f->hash % s->nbuckets];
		s->buckets[f->hash % s->nbuckets] = f;
	}
	pthread_mutex_unlock(&s->lock);
}

static int fact_matches(const struct fact *f, const char *kind, const char *source)
{
	size_t kl = strlen(kind), sl = strlen(source ? source : "");
	return strncmp(f->kind, kind, kl) == 0 && f->kind[kl] == '\x1f' &&
	       strncmp(f->source, source ? source : "", sl) == 0 && f->source[sl] == '\x1f';
}

int scrape_fact_get(struct scrape *s, const char *kind, const char *source, const char *key, double *v,
		    const char **str)
{
	char id[1024];
	size_t len = fact_id(id, sizeof(id), kind, source, key);
	const struct fact *hit = NULL;
	if (!len)
		return 0;
	unsigned long h = fact_hash(id, len);
	pthread_mutex_lock(&s->lock);
	/* chains hold newer facts first, so the first match is the last one set */
	for (const struct fact *f = s->nbuckets ? s->buckets[h % s->nbuckets] : NULL; f && !hit; f = f->hnext)
		if (f->hash == h && f->idlen == len && memcmp(f->id, id, len) == 0)
			hit = f;
	pthread_mutex_unlock(&s->lock);
	if (!hit)
		return 0;
	if (v)
		*v = hit->v;
	if (str)
		*str = hit->str;
	return 1;
}

void scrape_fact_each(struct scrape *s, const char *kind, const char *source, const char *prefix,
		      void (*cb)(void *ctx, const char *key, double v, const char *str), void *ctx)
{
	size_t plen = prefix ? strlen(prefix) : 0;
	size_t n = 0, cap = 0;
	const struct fact **hits = NULL;
	pthread_mutex_lock(&s->lock);
	for (const struct fact *f = s->facts; f; f = f->next) {
		if (!fact_matches(f, kind, source) || strncmp(f->key, prefix ? prefix : "", plen) != 0)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			const struct fact **nh = realloc(hits, ncap * sizeof(*nh));
			if (!nh)
				break;
			hits = nh;
			cap = ncap;
		}
		hits[n++] = f;
	}
	pthread_mutex_unlock(&s->lock);
	/* facts are never freed before the scrape, so the callbacks run without the lock */
	for (size_t i = 0; i < n; i++)
		cb(ctx, hits[i]->key, hits[i]->v, hits[i]->str);
	free(hits);
}

void scrape_attach(struct scrape *s, const char *name, void *p, void (*free_fn)(void *))
{
	struct attachment *a = calloc(1, sizeof(*a));
	char *n = strdup(name);
	if (!a || !n) {
		free(a);
		free(n);
		if (free_fn)
			free_fn(p);
		return;
	}
	a->name = n;
	a->p = p;
	a->free_fn = free_fn;
	pthread_mutex_lock(&s->lock);
	a->next = s->att;
	s->att = a;
	pthread_mutex_unlock(&s->lock);
}

void *scrape_attached(const struct scrape *s, const char *name)
{
	void *p = NULL;
	struct scrape *m = (struct scrape *)s; /* the lock is not part of the logical state */
	pthread_mutex_lock(&m->lock);
	for (const struct attachment *a = s->att; a && !p; a = a->next)
		if (strcmp(a->name, name) == 0)
			p = a->p;
	pthread_mutex_unlock(&m->lock);
	return p;
}

/* ---------- what collectors call ---------- */

void collect_fail(struct collect *c, const char *fmt, ...)
{
	if (c->err[0])
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
}

/* 1 when key was never seen or last came due `every` seconds ago or more (then it is due again). */
static int scrape_due(struct scrape *s, const char *key, double every)
{
	struct scrape_state *st = s->st;
	int due = 0;
	double now = mono_now();
	pthread_mutex_lock(&st->lock);
	struct once_key *o = st->once;
	while (o && strcmp(o->key, key) != 0)
		o = o->next;
	if (o && now - o->last >= every) {
		o->last = now;
		due = 1;
	} else if (!o && st->nonce < SCRAPE_MAX_ONCE && (o = calloc(1, sizeof(*o))) != NULL) {
		o->key = strdup(key);
		if (!o->key) {
			free(o);
		} else {
			o->last = now;
			o->next = st->once;
			st->once = o;
			st->nonce++;
			due = 1;
		}
	}
	pthread_mutex_unlock(&st->lock);
	return due;
}

int scrape_once(struct scrape *s, const char *key)
{
	return scrape_due(s, key, INFINITY);
}

enum log_level scrape_warn_level(struct scrape *s, const char *key)
{
	return scrape_due(s, key, SCRAPE_WARN_EVERY) ? LOG_LVL_WARN : LOG_LVL_DEBUG;
}

void collect_warn_kv(struct collect *c, const char *msg, ...)
{
	va_list ap, keys;
	struct buf key;
	buf_init(&key, 4096);
	buf_addf(&key, "%s\x1f%s", c->source ? c->source : "", msg);
	va_start(ap, msg);
	va_copy(keys, ap);
	for (const char *k; (k = va_arg(keys, const char *)) != NULL;) {
		const char *v = va_arg(keys, const char *);
		buf_addf(&key, "\x1f%s=%s", k, v ? v : "");
	}
	va_end(keys);
	/* an over-long key cannot be remembered: warn rather than go quiet */
	enum log_level level = buf_err(&key) ? LOG_LVL_WARN : scrape_warn_level(c->scrape, buf_str(&key));
	log_kvv(level, msg, ap);
	va_end(ap);
	buf_free(&key);
}

static int collect_hold(struct collect *c, struct cached_resp *cr)
{
	if (c->nheld == c->capheld) {
		size_t ncap = c->capheld ? c->capheld * 2 : 8;
		void **n = realloc(c->held, ncap * sizeof(*n));
		if (!n)
			return 0;
		c->held = n;
		c->capheld = ncap;
	}
	c->held[c->nheld++] = cr;
	cr->refs++;
	return 1;
}

static enum perr status_to_err(long status)
{
	if (status >= 200 && status < 300)
		return PE_OK;
	switch (status) {
	case 401:
		return PE_AUTH;
	case 403:
		return PE_DENIED;
	case 404:
		return PE_NOTFOUND;
	default:
		return PE_HTTP;
	}
}

/* Appends a short, printable excerpt of an upstream error's "message" (PVE and n8n both send one). */
static void describe_error_body(const struct fetch_resp *r, char *out, size_t n)
{
	out[0] = '\0';
	cJSON *doc = cJSON_ParseWithLength(buf_str(&r->body), r->body.len);
	const cJSON *m = doc ? cJSON_GetObjectItemCaseSensitive(doc, "message") : NULL;
	if (cJSON_IsString(m)) {
		size_t j = 0;
		out[j++] = ':';
		out[j++] = ' ';
		for (const char *p = m->valuestring; *p && j + 1 < n && j < 160; p++)
			out[j++] = (*p >= 0x20 && *p < 0x7f) ? *p : ' ';
		while (j > 2 && out[j - 1] == ' ')
			j--;
		out[j] = '\0';
	}
	cJSON_Delete(doc);
}

/* Waits for e's pending fetch until the deadline; the lock is held. Returns 1 if a fetch ended. */
static int cache_wait_locked(struct scrape_state *st, struct cache_entry *e, unsigned long gen0,
			     double deadline)
{
	struct timespec ts = mono_abs(deadline);
	while (e->gen == gen0 && mono_now() < deadline)
		if (pthread_cond_timedwait(&st->fetched, &st->lock, &ts) == ETIMEDOUT)
			break;
	return e->gen != gen0;
}

/* Finds the answer for key: fresh cache, a fetch that ends in time, or a stale-but-allowed one. */
static enum perr cache_get(struct collect *c, const struct fetch_target *t, const char *key, const char *path,
			   int fresh, struct cached_resp **out, char *msg, size_t msglen)
{
	struct scrape *s = c->scrape;
	struct scrape_state *st = s->st;
	const struct config_global *g = &s->cfg->global;
	enum perr rc = PE_OK;
	pthread_mutex_lock(&st->lock);
	struct cache_entry *e = cache_lookup_locked(st, key);
	if (!e) {
		rc = PE_NOMEM;
		goto out;
	}
	double now = mono_now();
	e->last_used = now;
	e->no_stale |= fresh;
	if (e->resp && now - e->resp->at < g->cache_ttl) {
		*out = e->resp;
		goto out;
	}
	if (e->resp && (e->no_stale || now - e->resp->at >= g->max_staleness)) {
		cache_set_resp_locked(e, NULL); /* never served again: not kept while the next one comes */
	}
	unsigned long gen0 = e->gen;
	if (!e->in_flight && (rc = cache_start_fetch_locked(st, e, t, path)) != PE_OK)
		goto out;
	if (cache_wait_locked(st, e, gen0, c->fetch_end)) {
		rc = e->last_rc;
		if (rc == PE_OK)
			*out = e->resp;
		else
			snprintf(msg, msglen, "GET %s: %s", path, e->last_msg);
	} else if (e->resp && !e->no_stale && mono_now() - e->resp->at < g->max_staleness) {
		*out = e->resp; /* still being refreshed in the background */
	} else {
		rc = PE_TIMEOUT;
		snprintf(msg, msglen, "GET %s: no answer before the scrape deadline", path);
	}
out:
	if (rc == PE_OK && (rc = cache_unpack_locked(*out)) == PE_OK && !collect_hold(c, *out))
		rc = PE_NOMEM;
	pthread_mutex_unlock(&st->lock);
	return rc;
}

static enum perr collect_get_mode(struct collect *c, const struct fetch_target *t, const char *path,
				  int fresh, const struct fetch_resp **resp, char *msg, size_t msglen)
{
	struct buf key;
	struct cached_resp *cr = NULL;
	buf_init(&key, 8192);
	buf_addf(&key, "%s\x1f%s\x1f%s\x1f%s", c->source ? c->source : "", t->base_url ? t->base_url : "",
		 t->unix_socket ? t->unix_socket : "", path);
	msg[0] = '\0';
	*resp = NULL;
	enum perr rc = buf_err(&key);
	if (rc == PE_OK)
		rc = cache_get(c, t, buf_str(&key), path, fresh, &cr, msg, msglen);
	buf_free(&key);
	if (rc != PE_OK) {
		if (!msg[0])
			snprintf(msg, msglen, "GET %s: %s", path, err_str(rc));
		return rc;
	}
	*resp = &cr->r;
	rc = status_to_err(cr->r.status);
	if (rc != PE_OK) {
		char detail[200];
		describe_error_body(&cr->r, detail, sizeof(detail));
		snprintf(msg, msglen, "GET %s: HTTP %ld%s", path, cr->r.status, detail);
	}
	return rc;
}

enum perr collect_get(struct collect *c, const struct fetch_target *t, const char *path,
		      const struct fetch_resp **resp, char *msg, size_t msglen)
{
	return collect_get_mode(c, t, path, 0, resp, msg, msglen);
}

enum perr collect_get_fresh(struct collect *c, const struct fetch_target *t, const char *path,
			    const struct fetch_resp **resp, char *msg, size_t msglen)
{
	return collect_get_mode(c, t, path, 1, resp, msg, msglen);
}

void collect_release_resp(struct collect *c, const struct fetch_resp *resp)
{
	struct scrape_state *st = c->scrape->st;
	struct cached_resp *pack = NULL;
	pthread_mutex_lock(&st->lock);
	for (size_t i = 0; i < c->nheld; i++) {
		struct cached_resp *cr = c->held[i];
		if (&cr->r == resp) {
			if (held_drop_locked(st, c->cfg->global.cache_ttl, cr))
				pack = cr;
			c->held[i] = c->held[--c->nheld];
			break;
		}
	}
	pthread_mutex_unlock(&st->lock);
	if (pack)
		cache_pack(st, pack);
}

static int looks_like_html(const struct fetch_resp *r)
{
	const char *p = buf_str(&r->body);
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	return *p == '<' || strstr(r->content_type, "html") != NULL;
}

/* A 2xx body that should be JSON: PE_PARSE with a reason when it is empty or HTML. */
static enum perr body_check(const struct fetch_resp *r, const char *path, char *msg, size_t msglen)
{
	if (r->body.len == 0) {
		snprintf(msg, msglen, "GET %s: empty body where JSON was expected", path);
		return PE_PARSE;
	}
	if (looks_like_html(r)) {
		snprintf(msg, msglen, "GET %s: HTML instead of JSON (service starting or wrong URL?)", path);
		return PE_PARSE;
	}
	return PE_OK;
}

/* collect_get() for a JSON body: adds " (HTML body)" to an HTTP error, checks the 2xx body. */
static enum perr collect_get_body(struct collect *c, const struct fetch_target *t, const char *path,
				  const struct fetch_resp **resp, char *msg, size_t msglen)
{
	enum perr rc = collect_get(c, t, path, resp, msg, msglen);
	if (rc != PE_OK) {
		if (*resp && looks_like_html(*resp)) {
			size_t l = strlen(msg);
			snprintf(msg + l, msglen - l, " (HTML body)");
		}
		return rc;
	}
	return body_check(*resp, path, msg, msglen);
}

enum perr collect_get_json(struct collect *c, const struct fetch_target *t, const char *path,
			   struct cJSON **doc, char *msg, size_t msglen)
{
	const struct fetch_resp *r;
	*doc = NULL;
	enum perr rc = collect_get_body(c, t, path, &r, msg, msglen);
	if (rc != PE_OK)
		return rc;
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithLengthOpts(r->body.data, r->body.len, &end, 0);
	if (!j) {
		size_t off = end ? (size_t)(end - r->body.data) : 0;
		snprintf(msg, msglen, "GET %s: invalid or truncated JSON near byte %zu of %zu", path, off,
			 r->body.len);
		return PE_PARSE;
	}
	if (c->ndocs == c->capdocs) {
		size_t ncap = c->capdocs ? c->capdocs * 2 : 8;
		cJSON **n = realloc(c->docs, ncap * sizeof(*n));
		if (!n) {
			cJSON_Delete(j);
			return PE_NOMEM;
		}
		c->docs = n;
		c->capdocs = ncap;
	}
	c->docs[c->ndocs++] = j;
	*doc = j;
	return PE_OK;
}

enum perr collect_get_json_each(struct collect *c, const struct fetch_target *t, const char *path,
				const char *member, void (*cb)(void *ctx, const cJSON *item), void *ctx,
				char *msg, size_t msglen)
{
	const struct fetch_resp *r;
	char why[200];
	enum perr rc = collect_get_body(c, t, path, &r, msg, msglen);
	if (rc != PE_OK)
		return rc;
	rc = jsonwalk_each(r->body.data, r->body.len, member, cb, ctx, why, sizeof(why));
	if (rc != PE_OK)
		snprintf(msg, msglen, "GET %s: %s", path, why);
	return rc;
}

/* ---------- running the tasks ---------- */

static void *task_main(void *arg)
{
	struct task *t = arg;
	struct scrape *s = t->s;
	double t0 = mono_now();
	enum perr rc = t->col->collect(&t->c);
	if (rc != PE_OK && !t->c.err[0])
		collect_fail(&t->c, "%s", err_str(rc));
	collect_release(&t->c, s->st);
	if (t->col->kind && t->c.source)
		scrape_fact_set(s, t->col->kind, t->c.source, "up", rc == PE_OK, NULL);
	pthread_mutex_lock(&s->lock);
	t->rc = rc;
	t->duration = mono_now() - t0;
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
	struct timespec ts = mono_abs(until);
	pthread_mutex_lock(&s->lock);
	while (!phase_done_locked(s, phase) && mono_now() < until)
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
			m->last_success = wall_now();
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
	double elapsed = mono_now() - s->start;
	enum perr rc = scrape_gather(s, elapsed);
	scrape_add_collector_metrics(s, elapsed);
	scrape_add_exporter_metrics(s);
	if (rc == PE_OK)
		rc = expfmt_err(s->out);
	return rc;
}

enum perr scrape_write(struct scrape *s, struct buf *out)
{
	return expfmt_write(s->out, out);
}
