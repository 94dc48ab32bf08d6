/* collector.c - the collector table, in run order. */
#include "collector.h"

#include <string.h>

/* clang-format off */
const struct collector *const collector_table[] = {
	&collector_pve,
	&collector_pve_local,
	&collector_mount,
	&collector_n8n,
	&collector_docker,
	&collector_pbs,
	&collector_inventory,
	&collector_restore_test,
	NULL,
};
/* clang-format on */

const struct collector *collector_find(const char *name)
{
	for (const struct collector *const *cp = collector_table; *cp; cp++)
		if (strcmp((*cp)->name, name) == 0)
			return *cp;
	return NULL;
}
