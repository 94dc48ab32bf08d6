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
	}
}

static void pbs_fold_free(struct pbs_fold *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->g[i].id);
	free(f->g);
	free(f->slot);
}

/* Moves the folded groups into s under namespace ns; 0 when out of memory (nothing moved). */
static int pbs_fold_move(struct pbs_fold *f, struct pbs_store *s, const char *ns)
{
	char **nns = realloc(s->ns, (s->nns + 1) * sizeof(*nns));
	char *name;

	if (!nns)
		return 0;
	s->ns = nns;
	if (!(name = strdup(ns)))
		return 0;
	if (s->ngroups + f->n > s->capgroups) {
		size_t ncap = s->ngroups + f->n;
		struct pbs_group *ng = realloc(s->groups, (ncap ? ncap : 1) * sizeof(*ng));
		if (!ng) {
			free(name);
			return 0;
		}
		s->groups = ng;
		s->capgroups = ncap;
	}
	s->ns[s->nns++] = name;
	for (size_t i = 0; i < f->n; i++) {
		f->g[i].ns = name;
		s->groups[s->ngroups++] = f->g[i];
	}
	f->n = 0; /* the ids belong to s now */
	s->skipped += f->skipped;
	return 1;
}

enum perr pbs_parse_snapshots(struct pbs_store *s, const char *ns, const char *body, size_t len, char *msg,
			      size_t msglen)
{
	struct pbs_fold f;
	enum perr e;

	for (size_t i = 0; i < s->nns; i++)
		if (strcmp(s->ns[i], ns) == 0) {
			snprintf(msg, msglen, "namespace '%.64s' was already read", ns);
			return PE_INVAL;
		}
	memset(&f, 0, sizeof(f));
	e = jsonwalk_each(body, len, "data", pbs_fold_item, &f, msg, msglen);
	if (e == PE_OK && f.nomem)
		e = PE_NOMEM;
	if (e == PE_OK && !pbs_fold_move(&f, s, ns))
		e = PE_NOMEM;
	pbs_fold_free(&f);
	return e;
}
