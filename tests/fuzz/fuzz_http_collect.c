/* fuzz_http_collect.c - fuzzes what the HTTP server reads from a request: collect[], the timeout, Accept-Encoding. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_parse.h"
#include "replay.h"

/* Parses with a roomy and a tight storage; every kept name must lie inside storage, NUL-ended. */
static void parse(const char *q, size_t max, size_t storagelen)
{
	char *names[HTTP_COLLECT_MAX];
	char *storage = malloc(storagelen);
	size_t n;

	if (!storage)
		return;
	n = http_parse_collect(q, names, max, storage, storagelen);
	if (n > max)
		__builtin_trap();
	for (size_t i = 0; i < n; i++) {
		if (names[i] < storage || names[i] >= storage + storagelen)
			__builtin_trap();
		size_t room = storagelen - (size_t)(names[i] - storage);
		size_t len = strnlen(names[i], room);
		if (len == room || len == 0 || len > HTTP_COLLECT_LEN)
			__builtin_trap();
		for (size_t j = 0; j < i; j++)
			if (strcmp(names[i], names[j]) == 0)
				__builtin_trap(); /* duplicates are dropped */
	}
	free(storage);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *q = malloc(size + 1);

	if (!q)
		return 0;
	memcpy(q, data, size);
	q[size] = '\0';
	parse(q, HTTP_COLLECT_MAX, HTTP_COLLECT_MAX * HTTP_COLLECT_LEN);
	parse(q, 2, 16);
	parse(q, 0, 1);
	/* the same text as header values */
	double t = http_parse_timeout(q);
	if (!(t == 0 || (t > 0 && t < 1e33)))
		__builtin_trap(); /* a plain positive decimal of at most 32 digits, else 0 */
	int gz = http_parse_accepts_gzip(q);
	if (gz && !strcasestr(q, "gzip"))
		__builtin_trap();
	free(q);
	return 0;
}
