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

static void restore_verification(struct pve_restore_guest *g, const struct pve_restore_item *it)
{
	if (it->pbs)
		g->pbs_archives++;
	if (it->verify == PVE_VERIFY_OK && it->ctime > g->last_verified) {
		g->last_verified = it->ctime;
		g->last_verify = it->verify_start;
	} else if (it->verify == PVE_VERIFY_FAILED) {
		g->verify_failed++;
		if (it->ctime > g->last_failed)
			g->last_failed = it->ctime;
	}
}

enum perr pve_restore_guest_add(struct pve_restore_guest *g, const char *storage,
				const struct pve_restore_item *it)
{
	struct pve_restore_place *pl = restore_place(g, storage);

	if (!pl)
		return PE_NOMEM;
	pl->count++;
	if (it->ctime > pl->newest)
		pl->newest = it->ctime;
	if (it->verify != PVE_VERIFY_FAILED && it->ctime > pl->newest_intact)
		pl->newest_intact = it->ctime;
	/* on equal times a failed verification wins: the newest backup is then not known good */
	if (it->ctime > g->newest || (it->ctime == g->newest && it->verify == PVE_VERIFY_FAILED)) {
		g->newest = it->ctime;
		g->newest_pbs = it->pbs;
		g->newest_protected = it->protected;
		g->newest_encrypted = it->encrypted;
		g->newest_verify = it->verify;
	}
	restore_verification(g, it);
	return PE_OK;
}

void pve_restore_guest_clear(struct pve_restore_guest *g)
{
	free(g->places);
	memset(g, 0, sizeof(*g));
}
