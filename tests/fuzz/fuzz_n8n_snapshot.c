/* fuzz_n8n_snapshot.c - fuzzes the streaming n8n export counter; the count must not depend on chunking. */
#include <stdint.h>
#include <string.h>

#include "n8n_snapshot.h"
#include "replay.h"

/* Feeds data in chunks of chunk bytes; returns the finish result and *count. */
static enum perr count(const uint8_t *data, size_t size, size_t chunk, size_t *n)
{
	struct n8n_snap s;
	enum perr e = PE_OK;

	n8n_snap_init(&s);
	for (size_t off = 0; off < size && e == PE_OK; off += chunk) {
		size_t len = size - off < chunk ? size - off : chunk;
		e = n8n_snap_feed(&s, (const char *)data + off, len);
	}
	if (e != PE_OK)
		return e;
	if (strnlen(s.msg, sizeof(s.msg)) == sizeof(s.msg))
		__builtin_trap();
	return n8n_snap_finish(&s, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t whole = 0, chunked = 0, bytewise = 0;
	size_t chunk;
	enum perr a, b, c;

	if (size < 1)
		return 0;
	chunk = (size_t)data[0] % 17 + 1; /* the first byte picks the chunk size */
	a = count(data + 1, size - 1, size, &whole);
	b = count(data + 1, size - 1, chunk, &chunked);
	c = count(data + 1, size - 1, 1, &bytewise);
	if (a != b || a != c)
		__builtin_trap();
	if (a == PE_OK && (whole != chunked || whole != bytewise))
		__builtin_trap();
	return 0;
}
