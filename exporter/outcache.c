/* outcache.c - rendered /metrics output reused while young, made by one request at a time. */
#include "outcache.h"
#include "clock.h"
#include "zip.h"
#include "scrape.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OUTCACHE_SLOTS 8 /* distinct collect[] filters kept */
#define OUTCACHE_BODY_MAX (64u << 20)

struct outcache_entry {
	int refs; /* atomic */
	double at; /* monotonic time it was made */
	struct scrape *scrape;
	char *plain;
	size_t plainlen;
	pthread_mutex_t gzlock;
	char *gz; /* made on first use, under gzlock */
	size_t gzlen;
	int gz_failed;
};

/* One filter: its newest entry and whether a request is making the next one. */
struct outcache_slot {
	char *key; /* sorted filter names joined by '\n'; NULL: free slot */
	unsigned long gen; /* config generation the slot belongs to */
	int busy;
	unsigned long flights; /* bumped when a make ends */
	enum perr last_rc;
	double used;
	struct outcache_entry *e;
};

struct outcache {
	pthread_mutex_t lock;
	pthread_cond_t made_cond;
	unsigned long gen;
	unsigned long made;
	struct outcache_slot slot[OUTCACHE_SLOTS];
};

struct outcache *outcache_new(void)
{
	struct outcache *oc = calloc(1, sizeof(*oc));
	if (!oc)
		return NULL;
	pthread_mutex_init(&oc->lock, NULL);
	pthread_cond_init(&oc->made_cond, NULL);
	return oc;
}

static void slot_clear(struct outcache_slot *sl)
{
	outcache_release(sl->e);
	free(sl->key);
	memset(sl, 0, sizeof(*sl));
}

void outcache_free(struct outcache *oc)
{
	if (!oc)
		return;
	for (size_t i = 0; i < OUTCACHE_SLOTS; i++)
		slot_clear(&oc->slot[i]);
	pthread_cond_destroy(&oc->made_cond);
	pthread_mutex_destroy(&oc->lock);
	free(oc);
}

void outcache_invalidate(struct outcache *oc)
{
	pthread_mutex_lock(&oc->lock);
	oc->gen++;
	for (size_t i = 0; i < OUTCACHE_SLOTS; i++)
		if (!oc->slot[i].busy) /* a busy one is cleared when claimed again */
			slot_clear(&oc->slot[i]);
	pthread_mutex_unlock(&oc->lock);
}

void outcache_release(struct outcache_entry *e)
{
	if (!e || __atomic_sub_fetch(&e->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	scrape_free(e->scrape);
	free(e->plain);
	free(e->gz);
	pthread_mutex_destroy(&e->gzlock);
	free(e);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The canonical filter key: names sorted, duplicates dropped, joined by '\n'. */
static char *outcache_key(const char *const *collect, size_t n)
{
	const char **v = n ? malloc(n * sizeof(*v)) : NULL;
	size_t len = 1;
	if (n && !v)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		v[i] = collect[i];
		len += strlen(collect[i]) + 1;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_str);
	char *key = malloc(len), *p = key;
	for (size_t i = 0; key && i < n; i++) {
		if (i && strcmp(v[i], v[i - 1]) == 0)
			continue;
		size_t l = strlen(v[i]);
		memcpy(p, v[i], l);
		p[l] = '\n';
		p += l + 1;
	}
	if (key)
		*p = '\0';
	free(v);
	return key;
}

/* Runs make into a new entry (refs 1). */
static enum perr entry_make(const char *const *collect, size_t n, double timeout, outcache_make_fn make,
			    void *ctx, struct outcache_entry **out)
{
	struct outcache_entry *e = calloc(1, sizeof(*e));
	struct buf plain;
	if (!e)
		return PE_NOMEM;
	buf_init(&plain, OUTCACHE_BODY_MAX);
	enum perr rc = make(ctx, collect, n, timeout, &e->scrape, &plain);
	if (!rc)
		rc = buf_err(&plain);
	e->refs = 1;
	e->at = clock_mono();
	pthread_mutex_init(&e->gzlock, NULL);
	e->plainlen = plain.len;
	e->plain = buf_steal(&plain, NULL);
	if (!rc && !e->plain && e->plainlen)
		rc = PE_NOMEM;
	if (rc) {
		buf_free(&plain);
		outcache_release(e);
		return rc;
	}
	*out = e;
	return PE_OK;
}

static struct outcache_slot *slot_find_locked(struct outcache *oc, const char *key)
{
	for (size_t i = 0; i < OUTCACHE_SLOTS; i++) {
		struct outcache_slot *sl = &oc->slot[i];
		if (sl->key && sl->gen == oc->gen && strcmp(sl->key, key) == 0)
			return sl;
	}
	return NULL;
}

/* A slot for a new filter: a free one, else one of an older config, else the least recently used. */
static struct outcache_slot *slot_claim_locked(struct outcache *oc, const char *key)
{
	struct outcache_slot *best = NULL;
	for (size_t i = 0; i < OUTCACHE_SLOTS; i++) {
		struct outcache_slot *sl = &oc->slot[i];
		if (sl->busy)
			continue;
		if (!sl->key || sl->gen != oc->gen) {
			best = sl;
			break;
		}
		if (!best || sl->used < best->used)
			best = sl;
	}
	char *dup = best ? strdup(key) : NULL;
	if (!dup)
		return NULL;
	slot_clear(best);
	best->key = dup;
	best->gen = oc->gen;
	return best;
}

/* The leader's part: makes the entry with the lock released, then publishes it. */
static enum perr slot_fill_locked(struct outcache *oc, struct outcache_slot *sl, const char *const *collect,
				  size_t n, double timeout, outcache_make_fn make, void *ctx,
				  struct outcache_entry **out)
{
	struct outcache_entry *e = NULL;
	sl->busy = 1;
	pthread_mutex_unlock(&oc->lock);
	enum perr rc = entry_make(collect, n, timeout, make, ctx, &e);
	pthread_mutex_lock(&oc->lock);
	sl->busy = 0;
	sl->flights++;
	sl->last_rc = rc;
	if (!rc) {
		oc->made++;
		outcache_release(sl->e);
		sl->e = e;
		__atomic_add_fetch(&e->refs, 1, __ATOMIC_ACQ_REL);
		*out = e;
	}
	pthread_cond_broadcast(&oc->made_cond);
	return rc;
}

/* Looks the filter up; returns with the lock held. -1: keep looking, else the result. */
static int outcache_step_locked(struct outcache *oc, double ttl, const char *key, const char *const *collect,
				size_t n, double timeout, outcache_make_fn make, void *ctx,
				struct outcache_entry **out, enum perr *rc)
{
	struct outcache_slot *sl = slot_find_locked(oc, key);
	if (!sl)
		sl = slot_claim_locked(oc, key);
	if (!sl)
		return 0; /* every slot busy: the caller makes a private entry */
	sl->used = clock_mono();
	if (sl->e && sl->used - sl->e->at < ttl) {
		__atomic_add_fetch(&sl->e->refs, 1, __ATOMIC_ACQ_REL);
		*out = sl->e;
		*rc = PE_OK;
		return 1;
	}
	if (!sl->busy) {
		*rc = slot_fill_locked(oc, sl, collect, n, timeout, make, ctx, out);
		return 1;
	}
	unsigned long f0 = sl->flights;
	while (sl->busy && sl->flights == f0)
		pthread_cond_wait(&oc->made_cond, &oc->lock);
	if (sl->flights != f0 && sl->last_rc != PE_OK && sl->key && strcmp(sl->key, key) == 0) {
		*rc = sl->last_rc; /* the collection we waited for failed: so do we */
		return 1;
	}
	return -1;
}

enum perr outcache_get(struct outcache *oc, double ttl, const char *const *collect, size_t n, double timeout,
		       outcache_make_fn make, void *ctx, struct outcache_entry **out)
{
	*out = NULL;
	if (ttl <= 0)
		return entry_make(collect, n, timeout, make, ctx, out);
	char *key = outcache_key(collect, n);
	if (!key)
		return PE_NOMEM;
	enum perr rc = PE_OK;
	int found;
	pthread_mutex_lock(&oc->lock);
	do
		found = outcache_step_locked(oc, ttl, key, collect, n, timeout, make, ctx, out, &rc);
	while (found < 0);
	pthread_mutex_unlock(&oc->lock);
	free(key);
	if (!found)
		return entry_make(collect, n, timeout, make, ctx, out);
	return rc;
}

const char *outcache_plain(const struct outcache_entry *e, size_t *len)
{
	*len = e->plainlen;
	return e->plain ? e->plain : "";
}

const char *outcache_gzip(struct outcache_entry *e, size_t *len)
{
	pthread_mutex_lock(&e->gzlock);
	if (!e->gz && !e->gz_failed && zip_gzip(e->plain, e->plainlen, &e->gz, &e->gzlen) != PE_OK)
		e->gz_failed = 1;
	pthread_mutex_unlock(&e->gzlock);
	*len = e->gzlen;
	return e->gz;
}

struct scrape *outcache_scrape(const struct outcache_entry *e)
{
	return e->scrape;
}

unsigned long outcache_made(struct outcache *oc)
{
	pthread_mutex_lock(&oc->lock);
	unsigned long n = oc->made;
	pthread_mutex_unlock(&oc->lock);
	return n;
}
