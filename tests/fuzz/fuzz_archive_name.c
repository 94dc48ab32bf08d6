/* fuzz_archive_name.c - fuzzes the vzdump archive file-name parser and the wall-clock conversion. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"
#include "archive_name.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct archive_name n;
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (archive_name_parse(s, &n) == PE_OK) {
		int64_t t;
		char msg[128];

		/* a parsed name is a real date in PVE's vmid range */
		if (n.vmid < 100 || n.vmid > 999999999 || n.t.mon < 1 || n.t.mon > 12 || n.t.day < 1 ||
		    n.t.day > 31 || n.t.hour > 23 || n.t.min > 59 || n.t.sec > 60 ||
		    strnlen(n.ext, sizeof(n.ext)) == sizeof(n.ext))
			__builtin_trap();
		(void)archive_time_key(&n.t);
		if (archive_times_to_unix("UTC", &n.t, 1, &t, msg, sizeof(msg)) == PE_OK && t < 0 &&
		    n.t.year >= 1970)
			__builtin_trap();
	}
	(void)archive_zone_valid(s);
	free(s);
	return 0;
}
