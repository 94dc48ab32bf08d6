/* pbs_groups.c - a PBS snapshot listing, streamed, folded into one record per backup group. */
#include "pbs.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "jsonwalk.h"
#include "pve.h"

#define PBS_MAX_ID 256 /* longest backup-id kept */

/* Groups of one listing while it is walked: an array and an open-addressing index over it. */
struct pbs_fold {
	struct pbs_group *g;
	size_t n, cap;
	size_t *slot; /* index + 1 into g; 0 = empty */
	size_t nslot; /* a power of two, at least twice n */
	long skipped;
	int nomem;
};

static uint64_t pbs_hash(const char *type, const char *id)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (const char *p = type; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	h = (h ^ '/') * 1099511628211ULL;
	for (const char *p = id; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h;
}

/* The slot of type/id: holding it, or the empty one where it would go. */
static size_t *pbs_fold_slot(struct pbs_fold *f, const char *type, const char *id)
{
	size_t i = (size_t)pbs_hash(type, id) & (f->nslot - 1);

	for (;; i = (i + 1) & (f->nslot - 1)) {
		size_t k = f->slot[i];
		if (!k || (strcmp(f->g[k - 1].type, type) == 0 && strcmp(f->g[k - 1].id, id) == 0))
			return &f->slot[i];
	}
}

/* Doubles the index (and re-inserts every group) once it is half full; 0 when out of memory. */
static int pbs_fold_rehash(struct pbs_fold *f)
{
	size_t nslot = f->nslot ? f->nslot * 2 : 64;
	size_t *old = f->slot;

	if (f->nslot && (f->n + 1) * 2 <= f->nslot)
		return 1;
	if (!(f->slot = calloc(nslot, sizeof(*f->slot)))) {
		f->slot = old;
		return 0;
	}
	f->nslot = nslot;
	for (size_t i = 0; i < f->n; i++)
		*pbs_fold_slot(f, f->g[i].type, f->g[i].id) = i + 1;
	free(old);
	return 1;
}

/* The group type/id, added when new; NULL when out of memory. */
static struct pbs_group *pbs_fold_group(struct pbs_fold *f, const char *type, const char *id)
{
	size_t *slot;
	struct pbs_group *g;

	if (!pbs_fold_rehash(f))
		return NULL;
	slot = pbs_fold_slot(f, type, id);
	if (*slot)
		return &f->g[*slot - 1];
	if (f->n == f->cap) {
		size_t ncap = f->cap ? f->cap * 2 : 64;
		struct pbs_group *ng = realloc(f->g, ncap * sizeof(*ng));
		if (!ng)
			return NULL;
		f->g = ng;
		f->cap = ncap;
	}
	g = &f->g[f->n];
	memset(g, 0, sizeof(*g));
	snprintf(g->type, sizeof(g->type), "%s", type);
	if (!(g->id = strdup(id)))
		return NULL;
	*slot = ++f->n;
	return g;
}

static int pbs_type_ok(const char *t)
{
	return t && (strcmp(t, "vm") == 0 || strcmp(t, "ct") == 0 || strcmp(t, "host") == 0);
}

/* The verify state of a snapshot: 1 ok, -1 failed, 0 never verified (or unknown). */
static int pbs_verify_state(const cJSON *item)
{
	const char *st = pve_json_str(cJSON_GetObjectItemCaseSensitive(item, "verification"), "state");

	if (!st)
		return 0;
	if (strcmp(st, "ok") == 0)
		return 1;
	return strcmp(st, "failed") == 0 ? -1 : 0;
}

/* One snapshot of the listing. */
static void pbs_fold_item(void *ctx, const cJSON *item)
{
	struct pbs_fold *f = ctx;
	const char *type = pve_json_str(item, "backup-type"), *id = pve_json_str(item, "backup-id");
	double t, size;
	struct pbs_group *g;
	int vs;

	if (f->nomem)
		return;
	if (!pbs_type_ok(type) || !id || !*id || strlen(id) > PBS_MAX_ID ||
	    !pve_json_num(item, "backup-time", &t) || t <= 0) {
		f->skipped++;
		return;
	}
	if (!(g = pbs_fold_group(f, type, id))) {
		f->nomem = 1;
		return;
	}
	vs = pbs_verify_state(item);
	if (vs > 0 && t > g->last_verified)
		g->last_verified = t;
	if (vs < 0)
		g->verify_failed++;
	if (!pve_json_num(item, "size", &size) || size < 0)
		return; /* unfinished (a backup running now) or its manifest is unreadable */
	g->snapshots++;
	if (t > g->last_backup || (t == g->last_backup && size > g->last_size)) {
		g->last_backup = t;
		g->last_size = size;
		g->last_state = vs;
	}
}

static void pbs_fold_free(struct pbs_fold *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->g[i].id);
	free(f->g);
	free(f->slot);
}

/* A listing being read: the walk over the body and the fold it feeds. */
struct pbs_listing {
	struct jsonwalk *walk;
	struct pbs_fold fold;
	enum perr rc; /* of pbs_listing_end(); PE_INVAL before */
};

struct pbs_listing *pbs_listing_new(void)
{
	struct pbs_listing *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->rc = PE_INVAL;
	if (!(l->walk = jsonwalk_new("data", pbs_fold_item, &l->fold))) {
		free(l);
		return NULL;
	}
	return l;
}

void pbs_listing_feed(struct pbs_listing *l, const char *data, size_t len)
{
	if (l->walk)
		jsonwalk_feed(l->walk, data, len);
}

enum perr pbs_listing_end(struct pbs_listing *l, size_t total, char *msg, size_t msglen)
{
	enum perr e = l->walk ? jsonwalk_end(l->walk, total, msg, msglen) : PE_INVAL;

	jsonwalk_free(l->walk);
	l->walk = NULL;
	if (e == PE_OK && l->fold.nomem) {
		snprintf(msg, msglen, "out of memory");
		e = PE_NOMEM;
	}
	l->rc = e;
	return e;
}

void pbs_listing_free(struct pbs_listing *l)
{
	if (!l)
		return;
	jsonwalk_free(l->walk);
	pbs_fold_free(&l->fold);
	free(l);
}

size_t pbs_listing_groups(const struct pbs_listing *l)
{
	return l->rc == PE_OK ? l->fold.n : 0;
}

enum perr pbs_store_add_listing(struct pbs_store *s, const char *ns, const struct pbs_listing *l, char *msg,
				size_t msglen)
{
	const struct pbs_fold *f = &l->fold;
	char **nns, *name;

	if (l->rc != PE_OK) {
		snprintf(msg, msglen, "the listing was not read to its end");
		return PE_INVAL;
	}
	for (size_t i = 0; i < s->nns; i++)
		if (strcmp(s->ns[i], ns) == 0) {
			snprintf(msg, msglen, "namespace '%.64s' was already read", ns);
			return PE_INVAL;
		}
	if (!(nns = realloc(s->ns, (s->nns + 1) * sizeof(*nns))))
		return PE_NOMEM;
	s->ns = nns;
	if (s->ngroups + f->n > s->capgroups) {
		size_t ncap = s->ngroups + f->n;
		struct pbs_group *ng = realloc(s->groups, (ncap ? ncap : 1) * sizeof(*ng));
		if (!ng)
			return PE_NOMEM;
		s->groups = ng;
		s->capgroups = ncap;
	}
	if (!(name = strdup(ns)))
		return PE_NOMEM;
	s->ns[s->nns++] = name;
	for (size_t i = 0; i < f->n; i++) {
		struct pbs_group g = f->g[i];
		if (!(g.id = strdup(f->g[i].id)))
			return PE_NOMEM; /* the groups added so far stay: the store is still consistent */
		g.ns = name;
		s->groups[s->ngroups++] = g;
	}
	s->skipped += f->skipped;
	return PE_OK;
}

enum perr pbs_parse_snapshots(struct pbs_store *s, const char *ns, const char *body, size_t len, char *msg,
			      size_t msglen)
{
	struct pbs_listing *l;
	enum perr e;

	for (size_t i = 0; i < s->nns; i++)
		if (strcmp(s->ns[i], ns) == 0) {
			snprintf(msg, msglen, "namespace '%.64s' was already read", ns);
			return PE_INVAL;
		}
	if (!(l = pbs_listing_new()))
		return PE_NOMEM;
	pbs_listing_feed(l, body ? body : "", body ? len : 0);
	e = pbs_listing_end(l, body ? len : 0, msg, msglen);
	if (e == PE_OK)
		e = pbs_store_add_listing(s, ns, l, msg, msglen);
	pbs_listing_free(l);
	return e;
}
