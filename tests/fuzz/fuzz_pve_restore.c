/* fuzz_pve_restore.c - fuzzes the restorability fold of a PVE backup listing and the PBS UPID start time. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "pve_restore.h"
#include "replay.h"

/* The fold's invariants: counts and times agree with each other and with the two listings. */
static void check(const struct pve_restore_guest *g, const struct pve_restore_stats *dir,
		  const struct pve_restore_stats *pbs)
{
	for (size_t i = 0; i < g->nplaces; i++) {
		const struct pve_restore_stats *s = &g->places[i].s;
		if (s->newest > g->all.newest || s->newest_intact > s->newest || s->pbs_archives > s->count ||
		    s->verify_failed > s->count)
			__builtin_trap();
	}
	if (g->all.count != dir->count + pbs->count ||
	    (g->all.verify_failed > 0 && g->all.last_failed <= 0) || g->all.last_failed > g->all.newest ||
	    g->all.last_verified > g->all.newest || g->nplaces != 2)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pve_restore_guest g;
	struct pve_restore_stats dir, pbs;
	cJSON *doc = cJSON_ParseWithLength((const char *)data, size);
	const cJSON *it;
	char *s = malloc(size + 1);
	double t;

	memset(&g, 0, sizeof(g));
	memset(&dir, 0, sizeof(dir));
	memset(&pbs, 0, sizeof(pbs));
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(doc, "data"))
	{
		struct pve_restore_item a;
		if (pve_restore_item_parse(it, &a))
			pve_restore_stats_add(a.pbs ? &pbs : &dir, &a);
	}
	if (pve_restore_guest_add(&g, "dir", &dir) != PE_OK ||
	    pve_restore_guest_add(&g, "pbs", &pbs) != PE_OK)
		__builtin_trap(); /* two places: never out of memory in practice */
	check(&g, &dir, &pbs);
	pve_restore_guest_clear(&g);
	cJSON_Delete(doc);
	if (s) {
		memcpy(s, data, size);
		s[size] = '\0';
		if (pve_restore_upid_start(s, &t) && (t <= 0 || t > 4294967295.0))
			__builtin_trap();
		free(s);
	}
	return 0;
}
