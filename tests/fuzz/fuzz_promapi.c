/* fuzz_promapi.c - fuzzes the Prometheus query API answer parser that persistencectl report reads. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"
#include "promapi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct prom_result r;
	char msg[256];

	if (prom_parse_answer((const char *)data, size, &r, msg, sizeof(msg)) != PE_OK) {
		/* a failure is explained and leaves nothing behind */
		if (!msg[0] || r.nseries || r.series || r.warnings)
			__builtin_trap();
		return 0;
	}
	for (size_t i = 0; i < r.nseries; i++) {
		const struct prom_series *s = &r.series[i];
		for (size_t k = 0; k < 2 * s->nlabels; k++)
			if (!s->labels[k])
				__builtin_trap();
		if (!r.matrix && s->n != 1)
			__builtin_trap();
		for (size_t k = 0; k < s->n; k++)
			if (!isfinite(s->samples[k].t))
				__builtin_trap();
		if (s->nlabels)
			(void)prom_series_label(s, s->labels[0]);
	}
	prom_result_free(&r);
	return 0;
}
