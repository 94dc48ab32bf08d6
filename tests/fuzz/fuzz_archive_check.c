/* fuzz_archive_check.c - fuzzes the streaming archive check (sniffing, gzip, zstd, tar walker) in uneven chunks. */
#include <stdint.h>
#include <string.h>

#include "archive_check.h"
#include "replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct archive_check *c;
	struct archive_facts f;
	size_t split = size ? data[0] % (size + 1) : 0;

	if (archive_check_new(&c) != PE_OK)
		return 0;
	if (archive_check_feed(c, data, split) == PE_OK &&
	    archive_check_feed(c, data + split, size - split) == PE_OK &&
	    archive_check_finish(c, &f) == PE_OK) {
		if (f.in_bytes != size || (f.codec == ARCHIVE_PLAIN && f.out_bytes != size) ||
		    (f.format == ARCHIVE_TAR && !f.tar_end))
			__builtin_trap();
	} else if (archive_check_msg(c)[0] == '\0') {
		__builtin_trap(); /* every failure says why */
	}
	archive_check_free(c);
	return 0;
}
