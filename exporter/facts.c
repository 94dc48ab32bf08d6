/* facts.c - what one scrape learned: typed facts for later phases and the status page, and attachments. */
#include "facts.h"
#include "err.h"
#include "log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

struct facts {
	pthread_mutex_t lock;
	struct fact *list, **tail;
	struct fact **buckets; /* hash index over the list; a later fact shadows an earlier one */
	size_t nbuckets, n;
	struct attachment *att;
};

struct facts *facts_new(void)
{
	struct facts *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	pthread_mutex_init(&f->lock, NULL);
	f->tail = &f->list;
	return f;
}

void facts_free(struct facts *f)
{
	if (!f)
		return;
	for (struct fact *x = f->list, *n; x; x = n) {
		n = x->next;
		free(x->id);
		free(x->str);
		free(x);
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

static unsigned long fact_hash(const char *s, size_t len)
{
	unsigned long h = 1469598103934665603UL; /* FNV-1a */
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211UL;
	return h;
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
	for (struct fact *x = f->list; x; x = x->next) {
		x->hnext = b[x->hash % n];
		b[x->hash % n] = x;
	}
	free(f->buckets);
	f->buckets = b;
	f->nbuckets = n;
}

/* A new fact, or NULL (with a warning) when it cannot be made. */
static struct fact *fact_new(const char *kind, const char *source, const char *key, double v, const char *str)
{
	char id[1024];
	size_t len = fact_id(id, sizeof(id), kind, source, key);
	struct fact *x = len ? calloc(1, sizeof(*x)) : NULL;

	if (x) {
		x->id = strdup(id);
		x->str = str ? strdup(str) : NULL;
	}
	if (!x || !x->id || (str && !x->str)) {
		if (x) {
			free(x->id);
			free(x->str);
		}
		free(x);
		log_warn("fact dropped", "key", key, "err", len ? err_str(PE_NOMEM) : "key too long");
		return NULL;
	}
	x->idlen = len;
	x->hash = fact_hash(id, len);
	x->kind = x->id;
	x->source = strchr(x->id, '\x1f') + 1;
	x->key = strchr(x->source, '\x1f') + 1;
	x->v = v;
	return x;
}

void facts_set(struct facts *f, const char *kind, const char *source, const char *key, double v,
	       const char *str)
{
	struct fact *x = fact_new(kind, source, key, v, str);

	if (!x)
		return;
	pthread_mutex_lock(&f->lock);
	*f->tail = x;
	f->tail = &x->next;
	f->n++;
	facts_index_grow_locked(f); /* a rebuild walks every fact, this one included */
	if (f->buckets && f->buckets[x->hash % f->nbuckets] != x) {
		x->hnext = f->buckets[x->hash % f->nbuckets];
		f->buckets[x->hash % f->nbuckets] = x;
	}
	pthread_mutex_unlock(&f->lock);
}

static int fact_matches(const struct fact *x, const char *kind, const char *source)
{
	size_t kl = strlen(kind), sl = strlen(source ? source : "");
	return strncmp(x->kind, kind, kl) == 0 && x->kind[kl] == '\x1f' &&
	       strncmp(x->source, source ? source : "", sl) == 0 && x->source[sl] == '\x1f';
}

int facts_get(struct facts *f, const char *kind, const char *source, const char *key, double *v,
	      const char **str)
{
	char id[1024];
	size_t len = fact_id(id, sizeof(id), kind, source, key);
	const struct fact *hit = NULL;

	if (!len)
		return 0;
	unsigned long h = fact_hash(id, len);
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
		*str = hit->str;
	return 1;
}

void facts_each(struct facts *f, const char *kind, const char *source, const char *prefix,
		void (*cb)(void *ctx, const char *key, double v, const char *str), void *ctx)
{
	size_t plen = prefix ? strlen(prefix) : 0;
	size_t n = 0, cap = 0;
	const struct fact **hits = NULL;

	pthread_mutex_lock(&f->lock);
	for (const struct fact *x = f->list; x; x = x->next) {
		if (!fact_matches(x, kind, source) || strncmp(x->key, prefix ? prefix : "", plen) != 0)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			const struct fact **nh = realloc(hits, ncap * sizeof(*nh));
			if (!nh)
				break;
			hits = nh;
			cap = ncap;
		}
		hits[n++] = x;
	}
	pthread_mutex_unlock(&f->lock);
	/* facts are never freed before facts_free(), so the callbacks run without the lock */
	for (size_t i = 0; i < n; i++)
		cb(ctx, hits[i]->key, hits[i]->v, hits[i]->str);
	free(hits);
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
