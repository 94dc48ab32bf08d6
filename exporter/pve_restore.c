/* pve_restore.c - restorability facts from PVE backup listings (pure): per guest and storage, verification, flags. */
#include "pve_restore.h"

#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "pve.h"

/* 1 when s is exactly n hex digits. */
static int restore_hex(const char *s, size_t n, unsigned long long *v)
{
	*v = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int d = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
					       : -1;
		if (d < 0)
			return 0;
		*v = *v * 16 + (unsigned)d;
	}
	return 1;
}

int pve_restore_upid_start(const char *upid, double *start)
{
	/* field lengths after "UPID:node:": pid 8, pstart 8-9, task id 8-16, start 8 */
	static const size_t lo[] = {8, 8, 8, 8}, hi[] = {8, 9, 16, 8};
	const char *p, *colon;
	unsigned long long v = 0;

	if (!upid || strncmp(upid, "UPID:", 5) != 0 || !(colon = strchr(upid + 5, ':')) || colon == upid + 5)
		return 0;
	p = colon + 1;
	for (size_t f = 0; f < 4; f++) {
		size_t len;
		if (!(colon = strchr(p, ':')))
			return 0;
		len = (size_t)(colon - p);
		if (len < lo[f] || len > hi[f] || !restore_hex(p, len, &v))
			return 0;
		p = colon + 1;
	}
	/* then worker type, worker id and auth id, each ended by ':' */
	for (size_t f = 0; f < 3; f++) {
		if (!(colon = strchr(p, ':')) || (f != 1 && colon == p))
			return 0;
		p = colon + 1;
	}
	if (*p || v == 0)
		return 0;
	*start = (double)v;
	return 1;
}

int pve_restore_item_parse(const cJSON *item, struct pve_restore_item *it)
{
	const char *format = pve_json_str(item, "format");
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(item, "verification");
	const char *state = pve_json_str(ver, "state");

	memset(it, 0, sizeof(*it));
	if (!pve_archive_parse(item, &it->vmid, &it->ctime, &it->size))
		return 0;
	it->pbs = format && strncmp(format, "pbs-", 4) == 0;
	if (state && strcmp(state, "ok") == 0)
		it->verify = PVE_VERIFY_OK;
	else if (state && strcmp(state, "failed") == 0)
		it->verify = PVE_VERIFY_FAILED;
	if (it->verify != PVE_VERIFY_NONE &&
	    !pve_restore_upid_start(pve_json_str(ver, "upid"), &it->verify_start))
		it->verify_start = 0;
	it->protected = pve_json_bool(item, "protected", 0);
	it->encrypted = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(item, "encrypted")) &&
			*pve_json_str(item, "encrypted");
	return 1;
}

/* 1 when b's newest archive replaces a's: newer, or as new and failed (then it is not known good). */
static int restore_newer(double at, double bt, enum pve_verify bv)
{
	return bt > at || (bt == at && bv == PVE_VERIFY_FAILED);
}

void pve_restore_stats_add(struct pve_restore_stats *s, const struct pve_restore_item *it)
{
	s->count++;
	if (it->verify != PVE_VERIFY_FAILED && it->ctime > s->newest_intact)
		s->newest_intact = it->ctime;
	if (restore_newer(s->newest, it->ctime, it->verify)) {
		s->newest = it->ctime;
		s->newest_pbs = it->pbs;
		s->newest_protected = it->protected;
		s->newest_encrypted = it->encrypted;
		s->newest_verify = it->verify;
	}
	if (it->pbs)
		s->pbs_archives++;
	if (it->verify == PVE_VERIFY_OK && it->ctime > s->last_verified) {
		s->last_verified = it->ctime;
		s->last_verify = it->verify_start;
	} else if (it->verify == PVE_VERIFY_FAILED) {
		s->verify_failed++;
		if (it->ctime > s->last_failed)
			s->last_failed = it->ctime;
	}
}

void pve_restore_stats_merge(struct pve_restore_stats *into, const struct pve_restore_stats *from)
{
	if (!from->count)
		return;
	if (from->newest_intact > into->newest_intact)
		into->newest_intact = from->newest_intact;
	if (restore_newer(into->newest, from->newest, from->newest_verify)) {
		into->newest = from->newest;
		into->newest_pbs = from->newest_pbs;
		into->newest_protected = from->newest_protected;
		into->newest_encrypted = from->newest_encrypted;
		into->newest_verify = from->newest_verify;
	}
	if (from->last_verified > into->last_verified) {
		into->last_verified = from->last_verified;
		into->last_verify = from->last_verify;
	}
	if (from->last_failed > into->last_failed)
		into->last_failed = from->last_failed;
	into->count += from->count;
	into->pbs_archives += from->pbs_archives;
	into->verify_failed += from->verify_failed;
}

/* The place of storage, added when new; NULL when out of memory. */
static struct pve_restore_place *restore_place(struct pve_restore_guest *g, const char *storage)
{
	for (size_t i = 0; i < g->nplaces; i++)
		if (strcmp(g->places[i].storage, storage) == 0)
			return &g->places[i];
	if (g->nplaces == g->capplaces) {
		size_t cap = g->capplaces ? g->capplaces * 2 : 2;
		struct pve_restore_place *np = realloc(g->places, cap * sizeof(*np));
		if (!np)
			return NULL;
		g->places = np;
		g->capplaces = cap;
	}
	g->places[g->nplaces] = (struct pve_restore_place){.storage = storage};
	return &g->places[g->nplaces++];
}

enum perr pve_restore_guest_add(struct pve_restore_guest *g, const char *storage,
				const struct pve_restore_stats *s)
{
	struct pve_restore_place *pl = restore_place(g, storage);

	if (!pl)
		return PE_NOMEM;
	pve_restore_stats_merge(&pl->s, s);
	pve_restore_stats_merge(&g->all, s);
	return PE_OK;
}

void pve_restore_guest_clear(struct pve_restore_guest *g)
{
	free(g->places);
	memset(g, 0, sizeof(*g));
}
