/* facts.c - what one scrape learned: typed facts for later phases and the status page, and attachments. */
#include "facts.h"
#include "err.h"
#include "log.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FACTS_BLOCK                                                                                          \
	(256 * 1024) /* records are carved from blocks this large (mmap'd: freed straight to the OS) */

/*
 * One fact, a record in a block: the id "kind\x1fsource\x1fkey" and the
 * string live in the record itself. Thousands of guests make tens of
 * thousands of facts: one allocation each, scattered between the scrape's
 * other allocations, kept the heap fragmented (10 MB of RSS at 10,000
 * guests); records packed in blocks are compact and leave with the blocks.
 */
struct fact {
	struct fact *hnext; /* hash chain */
	double v;
	uint32_t hash;
	uint32_t size; /* of the whole record, for walking a block */
	uint16_t idlen, soff, koff; /* where source and key start in id */
	uint16_t has_str;
	char id[]; /* id NUL, then str NUL when has_str */
};

/* Records in insertion order. */
struct facts_block {
	struct facts_block *next;
	size_t used, cap;
	_Alignas(8) char data[];
};

struct attachment {
	char *name;
	void *p;
	void (*free_fn)(void *);
	struct attachment *next;
};

struct facts {
	pthread_mutex_t lock;
	struct facts_block *first, *last;
	struct fact **buckets; /* hash index; a later fact shadows an earlier one */
	size_t nbuckets, n;
	struct attachment *att;
};

struct facts *facts_new(void)
{
	struct facts *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	pthread_mutex_init(&f->lock, NULL);
	return f;
}

void facts_free(struct facts *f)
{
	if (!f)
		return;
	for (struct facts_block *b = f->first, *n; b; b = n) {
		n = b->next;
		free(b);
	}
	free(f->buckets);
	for (struct attachment *a = f->att, *n; a; a = n) {
		n = a->next;
		if (a->free_fn)
			a->free_fn(a->p);
		free(a->name);
		free(a);
	}
	pthread_mutex_destroy(&f->lock);
	free(f);
}

/* Builds "kind\x1fsource\x1fkey" into out; returns its length or 0 if it does not fit. */
static size_t fact_id(char *out, size_t n, const char *kind, const char *source, const char *key)
{
	int len = snprintf(out, n, "%s\x1f%s\x1f%s", kind ? kind : "", source ? source : "", key ? key : "");
	return len > 0 && (size_t)len < n ? (size_t)len : 0;
}

static uint32_t fact_hash(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return (uint32_t)(h ^ (h >> 32));
}

static const char *fact_str(const struct fact *x)
{
	return x->has_str ? x->id + x->idlen + 1 : NULL;
}

/* Room for a record of size bytes at the end of the last block, or in a new one (lock held). */
static struct fact *facts_alloc_locked(struct facts *f, size_t size)
{
	struct facts_block *b = f->last;

	size = (size + 7) & ~(size_t)7;
	if (!b || b->cap - b->used < size) {
		size_t cap = size > FACTS_BLOCK - sizeof(*b) ? size : FACTS_BLOCK - sizeof(*b);
		if (!(b = malloc(sizeof(*b) + cap)))
			return NULL;
		b->next = NULL;
		b->used = 0;
		b->cap = cap;
		if (f->last)
			f->last->next = b;
		else
			f->first = b;
		f->last = b;
	}
	struct fact *x = (struct fact *)(b->data + b->used);
	b->used += size;
	x->size = (uint32_t)size;
	return x;
}

/* Calls fn for every record in insertion order; stops when fn returns 0 (lock held). */
static void facts_walk_locked(struct facts *f, int (*fn)(void *ctx, struct fact *x), void *ctx)
{
	for (struct facts_block *b = f->first; b; b = b->next)
		for (size_t off = 0; off < b->used;) {
			struct fact *x = (struct fact *)(b->data + off);
			off += x->size;
			if (!fn(ctx, x))
				return;
		}
}

static int facts_index_one(void *ctx, struct fact *x)
{
	struct facts *f = ctx;

	x->hnext = f->buckets[x->hash % f->nbuckets];
	f->buckets[x->hash % f->nbuckets] = x;
	return 1;
}

/* Doubles the index when it is fuller than one fact a bucket (lock held); on failure keeps the old one. */
static void facts_index_grow_locked(struct facts *f)
{
	if (f->n < f->nbuckets)
		return;
	size_t n = f->nbuckets ? f->nbuckets * 2 : 256;
	struct fact **b = calloc(n, sizeof(*b));
	if (!b)
		return;
	free(f->buckets);
	f->buckets = b;
	f->nbuckets = n;
	facts_walk_locked(f, facts_index_one, f);
}

void facts_set(struct facts *f, const char *kind, const char *source, const char *key, double v,
	       const char *str)
{
	char id[1024];
	size_t len = fact_id(id, sizeof(id), kind, source, key);
	size_t slen = str ? strlen(str) : 0;
	struct fact *x = NULL;

	pthread_mutex_lock(&f->lock);
	if (len && slen < UINT32_MAX / 2)
		x = facts_alloc_locked(f, sizeof(*x) + len + 1 + (str ? slen + 1 : 0));
	if (x) {
		x->v = v;
		x->hash = fact_hash(id, len);
		x->idlen = (uint16_t)len;
		x->soff = (uint16_t)(strchr(id, '\x1f') - id + 1);
		x->koff = (uint16_t)(strchr(id + x->soff, '\x1f') - id + 1);
		x->has_str = str != NULL;
		memcpy(x->id, id, len + 1);
		if (str)
			memcpy(x->id + len + 1, str, slen + 1);
		size_t before = f->nbuckets;
		f->n++;
		facts_index_grow_locked(f); /* a rebuild walks every fact, this one included */
		if (f->nbuckets == before && f->buckets)
			facts_index_one(f, x);
	}
	pthread_mutex_unlock(&f->lock);
	if (!x)
		log_warn("fact dropped", "key", key, "err", len ? err_str(PE_NOMEM) : "key too long");
}

static int fact_matches(const struct fact *x, const char *kind, const char *source)
{
	size_t kl = strlen(kind), sl = strlen(source ? source : "");
	return x->soff == kl + 1 && strncmp(x->id, kind, kl) == 0 && x->koff == x->soff + sl + 1 &&
	       strncmp(x->id + x->soff, source ? source : "", sl) == 0;
}

int facts_get(struct facts *f, const char *kind, const char *source, const char *key, double *v,
	      const char **str)
{
	char id[1024];
	size_t len = fact_id(id, sizeof(id), kind, source, key);
	const struct fact *hit = NULL;

	if (!len)
		return 0;
	uint32_t h = fact_hash(id, len);
	pthread_mutex_lock(&f->lock);
	/* chains hold newer facts first, so the first match is the last one set */
	for (const struct fact *x = f->nbuckets ? f->buckets[h % f->nbuckets] : NULL; x && !hit; x = x->hnext)
		if (x->hash == h && x->idlen == len && memcmp(x->id, id, len) == 0)
			hit = x;
	pthread_mutex_unlock(&f->lock);
	if (!hit)
		return 0;
	if (v)
		*v = hit->v;
	if (str)
		*str = fact_str(hit);
	return 1;
}

/* What facts_each() gathers under the lock. */
struct facts_hits {
	const char *kind, *source, *prefix;
	size_t plen, n, cap;
	const struct fact **v;
	int nomem;
};

static int facts_hit(void *ctx, struct fact *x)
{
	struct facts_hits *h = ctx;

	if (!fact_matches(x, h->kind, h->source) || strncmp(x->id + x->koff, h->prefix, h->plen) != 0)
		return 1;
	if (h->n == h->cap) {
		size_t ncap = h->cap ? h->cap * 2 : 64;
		const struct fact **nv = realloc(h->v, ncap * sizeof(*nv));
		if (!nv)
			return 0;
		h->v = nv;
		h->cap = ncap;
	}
	h->v[h->n++] = x;
	return 1;
}

void facts_each(struct facts *f, const char *kind, const char *source, const char *prefix,
		void (*cb)(void *ctx, const char *key, double v, const char *str), void *ctx)
{
	struct facts_hits h = {kind, source, prefix ? prefix : "", prefix ? strlen(prefix) : 0, 0, 0,
			       NULL, 0};

	pthread_mutex_lock(&f->lock);
	facts_walk_locked(f, facts_hit, &h);
	pthread_mutex_unlock(&f->lock);
	/* records are never freed before facts_free(), so the callbacks run without the lock */
	for (size_t i = 0; i < h.n; i++)
		cb(ctx, h.v[i]->id + h.v[i]->koff, h.v[i]->v, fact_str(h.v[i]));
	free(h.v);
}

void facts_attach(struct facts *f, const char *name, void *p, void (*free_fn)(void *))
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
	pthread_mutex_lock(&f->lock);
	a->next = f->att;
	f->att = a;
	pthread_mutex_unlock(&f->lock);
}

void *facts_attached(struct facts *f, const char *name)
{
	void *p = NULL;

	pthread_mutex_lock(&f->lock);
	for (const struct attachment *a = f->att; a && !p; a = a->next)
		if (strcmp(a->name, name) == 0)
			p = a->p;
	pthread_mutex_unlock(&f->lock);
	return p;
}
