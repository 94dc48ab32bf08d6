/* fuzz_jsonwalk.c - fuzzes the element walker: any way of cutting a body into pieces must walk as the whole does. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonwalk.h"
#include "replay.h"

/* What a walk saw: how many elements, and a checksum of their printed text. */
struct fuzz_seen {
	size_t n;
	unsigned long sum;
};

static void fuzz_item(void *ctx, const cJSON *item)
{
	struct fuzz_seen *s = ctx;
	char *text = cJSON_PrintUnformatted(item);

	s->n++;
	for (const char *p = text; p && *p; p++)
		s->sum = s->sum * 31 + (unsigned char)*p;
	free(text);
}

/*
 * Input: byte 0 picks the member name, byte 1 seeds where the body is cut
 * (up to 8 pieces); the rest is the body.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const members[] = {"data", "Volumes", "x"};
	struct fuzz_seen whole = {0, 0}, pieces = {0, 0};
	char msg1[256] = "", msg2[256] = "";
	const char *body;
	size_t len, off = 0;
	unsigned seed;

	if (size < 2)
		return 0;
	body = (const char *)data + 2;
	len = size - 2;
	const char *member = members[data[0] % 3];
	enum perr e1 = jsonwalk_each(body, len, member, fuzz_item, &whole, msg1, sizeof(msg1));
	struct jsonwalk *w = jsonwalk_new(member, fuzz_item, &pieces);
	if (!w)
		return 0;
	seed = data[1] * 2654435761u;
	for (int i = 0; i < 8 && off < len; i++) {
		size_t n = i == 7 ? len - off : (seed >> (i * 4) & 15) * (len / 16 + 1) / 8;
		if (n > len - off)
			n = len - off;
		jsonwalk_feed(w, body + off, n);
		off += n;
	}
	jsonwalk_feed(w, body + off, len - off);
	enum perr e2 = jsonwalk_end(w, len, msg2, sizeof(msg2));
	jsonwalk_free(w);
	if (e1 != e2 || strcmp(msg1, msg2) != 0 || whole.n != pieces.n || whole.sum != pieces.sum)
		__builtin_trap();
	return 0;
}
