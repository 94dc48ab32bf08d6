/* fuzz_n8n_verify.c - fuzzes the n8n workflow check (an observer on the snapshot tokenizer) in uneven chunks. */
#include <stdint.h>
#include <string.h>

#include "n8n_verify.h"
#include "replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct n8n_wfcheck w;
	size_t split = size ? data[0] % (size + 1) : 0;

	n8n_wfcheck_init(&w);
	if (n8n_wfcheck_feed(&w, (const char *)data, split) != PE_OK ||
	    n8n_wfcheck_feed(&w, (const char *)data + split, size - split) != PE_OK)
		return 0;
	if (n8n_wfcheck_finish(&w) == PE_INTERNAL)
		__builtin_trap(); /* the check and the tokenizer disagree on the workflow count */
	if (w.bad > w.workflows || strnlen(w.first_bad, sizeof(w.first_bad)) == sizeof(w.first_bad) ||
	    strnlen(w.name, sizeof(w.name)) == sizeof(w.name) ||
	    strnlen(w.key, sizeof(w.key)) == sizeof(w.key))
		__builtin_trap();
	return 0;
}
