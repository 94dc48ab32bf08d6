/* lastknown.c - values remembered across scrapes: a small locked hash of key -> (value, time read). */
#include "lastknown.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LASTKNOWN_BUCKETS 256

struct lk_entry {
	struct lk_entry *next;
	double v, read_at;
	char key[];
};

struct lastknown {
	pthread_mutex_t lock;
	struct lk_entry *bucket[LASTKNOWN_BUCKETS];
	size_t n;
};

struct lastknown *lastknown_new(void)
{
	struct lastknown *m = calloc(1, sizeof(*m));
	if (m)
		pthread_mutex_init(&m->lock, NULL);
	return m;
}

void lastknown_free(struct lastknown *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < LASTKNOWN_BUCKETS; i++)
		for (struct lk_entry *e = m->bucket[i], *n; e; e = n) {
			n = e->next;
			free(e);
		}
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* FNV-1a. */
static size_t lk_hash(const char *key)
{
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h % LASTKNOWN_BUCKETS;
}

/* The link that points at key's entry (or at the chain's NULL end). Lock held. */
static struct lk_entry **lk_find_locked(struct lastknown *m, const char *key)
{
	struct lk_entry **pp = &m->bucket[lk_hash(key)];
	while (*pp && strcmp((*pp)->key, key) != 0)
		pp = &(*pp)->next;
	return pp;
}

static void lk_unlink_locked(struct lastknown *m, struct lk_entry **pp)
{
	struct lk_entry *e = *pp;
	*pp = e->next;
	free(e);
	m->n--;
}

enum perr lastknown_put(struct lastknown *m, const char *key, double v, double now)
{
	enum perr rc = PE_OK;
	pthread_mutex_lock(&m->lock);
	struct lk_entry **pp = lk_find_locked(m, key);
	if (!*pp) {
		size_t len = strlen(key);
		struct lk_entry *e = m->n < LASTKNOWN_MAX_KEYS ? malloc(sizeof(*e) + len + 1) : NULL;
		if (!e) {
			rc = m->n < LASTKNOWN_MAX_KEYS ? PE_NOMEM : PE_TOOBIG;
			goto out;
		}
		memcpy(e->key, key, len + 1);
		e->next = NULL;
		*pp = e;
		m->n++;
	}
	(*pp)->v = v;
	(*pp)->read_at = now;
out:
	pthread_mutex_unlock(&m->lock);
	return rc;
}

void lastknown_forget(struct lastknown *m, const char *key)
{
	pthread_mutex_lock(&m->lock);
	struct lk_entry **pp = lk_find_locked(m, key);
	if (*pp)
		lk_unlink_locked(m, pp);
	pthread_mutex_unlock(&m->lock);
}

int lastknown_get(struct lastknown *m, const char *key, double now, double *v, double *read_at)
{
	int found = 0;
	pthread_mutex_lock(&m->lock);
	struct lk_entry **pp = lk_find_locked(m, key);
	if (*pp && now - (*pp)->read_at > LASTKNOWN_MAX_AGE) {
		lk_unlink_locked(m, pp);
	} else if (*pp) {
		*v = (*pp)->v;
		*read_at = (*pp)->read_at;
		found = 1;
	}
	pthread_mutex_unlock(&m->lock);
	return found;
}
