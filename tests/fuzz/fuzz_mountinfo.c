/* fuzz_mountinfo.c - fuzzes the /proc/self/mountinfo parser: single lines, whole texts, octal unescaping. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mountinfo.h"
#include "replay.h"

/* Every decoded field of a parsed entry is NUL-terminated inside its array. */
static void check_entry(const struct mountinfo_entry *e)
{
	if (strnlen(e->devno, sizeof(e->devno)) == sizeof(e->devno) ||
	    strnlen(e->root, sizeof(e->root)) == sizeof(e->root) ||
	    strnlen(e->mount_point, sizeof(e->mount_point)) == sizeof(e->mount_point) ||
	    strnlen(e->fstype, sizeof(e->fstype)) == sizeof(e->fstype) ||
	    strnlen(e->source, sizeof(e->source)) == sizeof(e->source))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = {"/mnt/pve/synology-backups", "/", "/mnt/a b/", "/proc"};
	struct mountinfo_entry *e = malloc(sizeof(*e));
	char *text = malloc(size + 1);
	char small[8];

	if (!e || !text) {
		free(e);
		free(text);
		return 0;
	}
	memcpy(text, data, size);
	text[size] = '\0';
	if (mountinfo_parse_line((const char *)data, size, e) == PE_OK)
		check_entry(e);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (mountinfo_find(text, size, paths[i], e) == PE_OK)
			check_entry(e);
	if (mountinfo_unescape((const char *)data, size, small, sizeof(small)) == PE_OK &&
	    strnlen(small, sizeof(small)) == sizeof(small))
		__builtin_trap();
	free(text);
	free(e);
	return 0;
}
