/* pve_listing.c - a storage content listing counted per guest as it streams: memory grows with guests, not archives. */
#include "pve_parse.h"
#include "jsonwalk.h"

#include <stdlib.h>
#include <string.h>

#include "cJSON.h"

/*
 * While the listing streams, pub.v is an open-addressing table from vmid
 * to its stats (used[i] says whether slot i is taken), grown at half load;
 * pub.n counts the taken slots. Once closed, pub.v is the sorted result
 * and the state's address is the struct pve_listing handed out.
 */
struct pve_listing_state {
	struct pve_listing pub; /* first */
	struct jsonwalk *walk;
	unsigned char *used;
	size_t cap;
	int nomem;
};

static size_t pve_slot_of(const struct pve_listing_state *st, long vmid)
{
	size_t h = (size_t)vmid * 2654435761u, mask = st->cap - 1;

	for (size_t i = h & mask;; i = (i + 1) & mask)
		if (!st->used[i] || st->pub.v[i].vmid == vmid)
			return i;
}

static int pve_listing_grow(struct pve_listing_state *st)
{
	size_t ncap = st->cap ? st->cap * 2 : 256;
	struct pve_archive_stats *old = st->pub.v;
	unsigned char *oldu = st->used;
	size_t oldcap = st->cap;

	st->pub.v = calloc(ncap, sizeof(*st->pub.v));
	st->used = calloc(ncap, 1);
	if (!st->pub.v || !st->used) {
		free(st->pub.v);
		free(st->used);
		st->pub.v = old;
		st->used = oldu;
		return 0;
	}
	st->cap = ncap;
	for (size_t i = 0; i < oldcap; i++) {
		if (!oldu[i])
			continue;
		size_t j = pve_slot_of(st, old[i].vmid);
		st->pub.v[j] = old[i];
		st->used[j] = 1;
	}
	free(old);
	free(oldu);
	return 1;
}

/* One item of the listing: a usable archive counts for its guest. */
static void pve_listing_item(void *ctx, const cJSON *it)
{
	struct pve_listing_state *st = ctx;
	struct pve_restore_item r;

	if (st->nomem || !pve_restore_item_parse(it, &r))
		return;
	long vmid = r.vmid;
	double ctime = r.ctime, size = r.size;
	if (2 * (st->pub.n + 1) > st->cap && !pve_listing_grow(st)) {
		st->nomem = 1;
		return;
	}
	st->pub.narchives++;
	size_t i = pve_slot_of(st, vmid);
	struct pve_archive_stats *a = &st->pub.v[i];
	if (!st->used[i]) {
		st->used[i] = 1;
		st->pub.n++;
		*a = (struct pve_archive_stats){.vmid = vmid, .size = -1};
	}
	a->count++;
	if (ctime > a->ctime || (ctime == a->ctime && size > a->size)) {
		a->ctime = ctime;
		a->size = size;
	}
	pve_restore_stats_add(&a->r, &r);
}

static void pve_listing_state_free(void *p)
{
	struct pve_listing_state *st = p;

	if (!st)
		return;
	jsonwalk_free(st->walk);
	free(st->pub.v);
	free(st->used);
	free(st);
}

static void *pve_listing_open(void)
{
	struct pve_listing_state *st = calloc(1, sizeof(*st));

	if (st && !(st->walk = jsonwalk_new("data", pve_listing_item, st))) {
		free(st);
		st = NULL;
	}
	return st;
}

static void pve_listing_feed(void *p, const char *data, size_t len)
{
	struct pve_listing_state *st = p;

	jsonwalk_feed(st->walk, data, len);
}

static int pve_stats_cmp(const void *a, const void *b)
{
	const struct pve_archive_stats *x = a, *y = b;

	return (x->vmid > y->vmid) - (x->vmid < y->vmid);
}

/* Turns the table into the sorted result in place (the state then is a struct pve_listing). */
static enum perr pve_listing_close(void *p, const char *content_type, size_t total, char *msg, size_t msglen)
{
	struct pve_listing_state *st = p;
	enum perr e = jsonwalk_end_answer(st->walk, content_type, total, msg, msglen);
	size_t n = 0;

	if (e == PE_OK && st->nomem)
		e = PE_NOMEM;
	if (e != PE_OK)
		return e;
	for (size_t i = 0; i < st->cap; i++)
		if (st->used[i])
			st->pub.v[n++] = st->pub.v[i];
	if (n) {
		struct pve_archive_stats *fit =
			realloc(st->pub.v, n * sizeof(*fit)); /* the table was half empty */
		if (fit)
			st->pub.v = fit;
		qsort(st->pub.v, n, sizeof(*st->pub.v), pve_stats_cmp);
	}
	jsonwalk_free(st->walk);
	st->walk = NULL;
	free(st->used);
	st->used = NULL;
	st->pub.n = n;
	return PE_OK;
}

const struct upcache_parser pve_listing_parser = {
	pve_listing_open,
	pve_listing_feed,
	pve_listing_close,
	pve_listing_state_free,
};

enum perr pve_parse_listing(const char *body, size_t len, struct pve_listing **out, char *msg, size_t msglen)
{
	void *st = pve_listing_open();
	enum perr e;

	*out = NULL;
	if (!st)
		return PE_NOMEM;
	pve_listing_feed(st, body ? body : "", body ? len : 0);
	e = pve_listing_close(st, NULL, body ? len : 0, msg, msglen);
	if (e != PE_OK) {
		pve_listing_state_free(st);
		return e;
	}
	*out = &((struct pve_listing_state *)st)->pub;
	return PE_OK;
}

void pve_listing_free(struct pve_listing *l)
{
	pve_listing_state_free(l);
}
