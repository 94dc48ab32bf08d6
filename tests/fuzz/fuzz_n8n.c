/* fuzz_n8n.c - fuzzes the n8n workflow-list page reader (bytes in), failure classifier and cursor path. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "n8n.h"
#include "replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct n8n_counts counts = {0, 0, 0}, before;
	char msg[256], *next = NULL;
	struct buf path;
	int odd = 0;

	before = counts;
	/* the bytes of a 200 answer, as the collector hands them over */
	enum perr e = n8n_page_read(PE_OK, 200, "application/json", (const char *)data, size, &counts, &next, &odd,
				    msg, sizeof(msg));
	/* a rejected page adds nothing and has no next page */
	if (e != PE_OK && (memcmp(&counts, &before, sizeof(counts)) != 0 || next))
		__builtin_trap();
	buf_init(&path, 4096);
	n8n_page_path(&path, next);
	buf_free(&path);
	free(next);
	msg[0] = '\0';
	n8n_describe_failure(data && size ? data[0] * 2L : 0, "text/html", (const char *)data, size, msg,
			     sizeof(msg));
	if (strnlen(msg, sizeof(msg)) == sizeof(msg))
		__builtin_trap();
	/* the cursor is arbitrary text from the upstream */
	char *cursor = malloc(size + 1);
	if (cursor) {
		memcpy(cursor, data, size);
		cursor[size] = '\0';
		buf_init(&path, 1 << 20);
		n8n_page_path(&path, cursor);
		if (buf_err(&path) == PE_OK && memchr(buf_str(&path), ' ', path.len))
			__builtin_trap(); /* the cursor is percent-encoded */
		buf_free(&path);
		free(cursor);
	}
	return 0;
}
