/* fuzz_vzdump_log.c - fuzzes the vzdump log verdict and the log-name derivation. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"
#include "vzdump_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vzdump_log_result r;
	char name[64], *s;

	for (int partial = 0; partial < 2; partial++) {
		enum vzdump_log_verdict v =
			vzdump_log_parse((const char *)data, size, partial, size ? data[0] : -1, &r);
		/* the verdict follows from the counts; the kept error text is terminated and printable */
		if (v != r.verdict || (r.errors > 0) != (v == VZDUMP_LOG_FAILED) ||
		    (v == VZDUMP_LOG_OK && !r.finished) ||
		    strnlen(r.first_error, sizeof(r.first_error)) == sizeof(r.first_error))
			__builtin_trap();
		for (const char *p = r.first_error; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				__builtin_trap();
	}
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (vzdump_log_name(s, name, sizeof(name)) == 0 &&
	    (strlen(name) < 5 || strcmp(name + strlen(name) - 4, ".log") != 0 ||
	     strncmp(name, s, strlen(name) - 4) != 0))
		__builtin_trap();
	free(s);
	return 0;
}
