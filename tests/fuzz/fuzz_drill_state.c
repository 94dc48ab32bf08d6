/* fuzz_drill_state.c - fuzzes the restore-drill state file parser: whole files, mid-file starts, every target. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drill_state.h"
#include "replay.h"

/* Every kept record is a NUL-terminated, plausible record of its own target. */
static void check(const struct drill_entry *e, const char *target)
{
	const struct drill_record *r[2] = {e->has_last ? &e->last : NULL, e->has_ok ? &e->last_ok : NULL};
	for (int i = 0; i < 2; i++) {
		if (!r[i])
			continue;
		if (strnlen(r[i]->target, sizeof(r[i]->target)) == sizeof(r[i]->target) ||
		    strnlen(r[i]->reason, sizeof(r[i]->reason)) == sizeof(r[i]->reason) ||
		    strnlen(r[i]->archive, sizeof(r[i]->archive)) == sizeof(r[i]->archive) ||
		    strnlen(r[i]->kind, sizeof(r[i]->kind)) == sizeof(r[i]->kind) ||
		    strcmp(r[i]->target, target) != 0 || !(r[i]->finished > 0) || !(r[i]->started > 0))
			__builtin_trap();
	}
	if (e->has_ok && !e->last_ok.ok)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const targets[] = {"a", "home-vm-100", "", "n8n-app"};
	struct drill_entry e[4];
	struct drill_parse_stats st;

	for (int partial = 0; partial < 2; partial++) {
		if (drill_state_parse((const char *)data, size, partial, targets, 4, e, &st) != PE_OK)
			continue;
		for (int i = 0; i < 4; i++)
			check(&e[i], targets[i]);
		if (st.bad && st.first_bad <= 0)
			__builtin_trap();
	}
	return 0;
}
