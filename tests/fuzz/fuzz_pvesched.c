/* fuzz_pvesched.c - fuzzes the node-local parsers: /proc/<pid>/stat, status/memory.stat values, job state JSON. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pvesched.h"
#include "replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = {"VmRSS:", "anon", "PPid:", "", "anon_thp"};
	struct pvesched_stat st;
	char msg[128];
	double v;
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	log_setup(LOG_LVL_ERROR, LOG_FMT_LOGFMT);
	memcpy(s, data, size);
	s[size] = '\0';
	if (pvesched_parse_stat(s, &st) == PE_OK && strnlen(st.comm, sizeof(st.comm)) == sizeof(st.comm))
		__builtin_trap(); /* comm must be NUL-terminated */
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (pvesched_find_value(s, keys[i], &v) && isnan(v))
			__builtin_trap();
	/* the JSON parser gets the exact bytes, without the NUL */
	msg[0] = '\0';
	if (pvesched_job_last_run((const char *)data, size, &v, msg, sizeof(msg)) == PE_OK && !isfinite(v))
		__builtin_trap(); /* a last-run time is a real number */
	free(s);
	return 0;
}
