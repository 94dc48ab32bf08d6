/* fuzz_pve_restore.c - fuzzes the restorability fold of a PVE backup listing and the PBS UPID start time. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "pve_restore.h"
#include "replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pve_restore_guest g;
	cJSON *doc = cJSON_ParseWithLength((const char *)data, size);
	const cJSON *it;
	char *s = malloc(size + 1);
	double t;

	memset(&g, 0, sizeof(g));
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(doc, "data"))
	{
		struct pve_restore_item a;
		if (pve_restore_item_parse(it, &a) &&
		    pve_restore_guest_add(&g, a.pbs ? "pbs" : "dir", &a) != PE_OK)
			break;
	}
	/* the fold's invariants: counts and times agree with each other */
	for (size_t i = 0; i < g.nplaces; i++)
		if (g.places[i].count <= 0 || g.places[i].newest > g.newest ||
		    g.places[i].newest_intact > g.places[i].newest)
			__builtin_trap();
	if (g.verify_failed > 0 && (g.last_failed <= 0 || g.last_failed > g.newest))
		__builtin_trap();
	if (g.last_verified > g.newest || g.pbs_archives < 0 || g.nplaces > 2)
		__builtin_trap();
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
