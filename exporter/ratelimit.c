/* ratelimit.c - remembers condition keys so that a repeating warning is logged once in a while, not every scrape. */
#include "ratelimit.h"
#include "clock.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct ratelimit_key {
	char *key;
	double last; /* monotonic time it was last reported due */
	struct ratelimit_key *next;
};

struct ratelimit {
	pthread_mutex_t lock;
	struct ratelimit_key *keys;
	size_t n, max;
};

struct ratelimit *ratelimit_new(size_t max_keys)
{
	struct ratelimit *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	pthread_mutex_init(&r->lock, NULL);
	r->max = max_keys;
	return r;
}

void ratelimit_free(struct ratelimit *r)
{
	if (!r)
		return;
	for (struct ratelimit_key *k = r->keys, *n; k; k = n) {
		n = k->next;
		free(k->key);
		free(k);
	}
	pthread_mutex_destroy(&r->lock);
	free(r);
}

int ratelimit_due(struct ratelimit *r, const char *key, double every)
{
	int due = 0;
	double now = clock_mono();
	struct ratelimit_key *k;

	pthread_mutex_lock(&r->lock);
	for (k = r->keys; k && strcmp(k->key, key) != 0; k = k->next)
		;
	if (k && now - k->last >= every) {
		k->last = now;
		due = 1;
	} else if (!k && r->n < r->max && (k = calloc(1, sizeof(*k))) != NULL) {
		k->key = strdup(key);
		if (!k->key) {
			free(k);
		} else {
			k->last = now;
			k->next = r->keys;
			r->keys = k;
			r->n++;
			due = 1;
		}
	}
	pthread_mutex_unlock(&r->lock);
	return due;
}
