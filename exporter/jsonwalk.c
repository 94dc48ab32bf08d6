/* jsonwalk.c - walks the elements of a JSON array in a body one at a time (pure, no I/O). */
#include "jsonwalk.h"

#include <stdio.h>
#include <string.h>

#include "cJSON.h"

/* Cursor over a body; p is NULL after an error, bad where it was. */
struct json_walk {
	const char *p, *end, *bad;
};

static void walk_fail(struct json_walk *w, const char *at)
{
	if (w->p)
		w->bad = at;
	w->p = NULL;
}

/* Skips white space; 1 when a byte follows. */
static int walk_ws(struct json_walk *w)
{
	if (!w->p)
		return 0;
	while (w->p < w->end && (*w->p == ' ' || *w->p == '\t' || *w->p == '\r' || *w->p == '\n'))
		w->p++;
	return w->p < w->end;
}

/* 1 when the next non-blank byte is ch; consumed then. */
static int walk_take(struct json_walk *w, char ch)
{
	if (!walk_ws(w) || *w->p != ch)
		return 0;
	w->p++;
	return 1;
}

/* Consumes ch after optional white space; the walk fails when it is not there. */
static void walk_expect(struct json_walk *w, char ch)
{
	if (w->p && !walk_take(w, ch))
		walk_fail(w, w->p);
}

/* Parses one JSON value at the cursor; NULL (and the walk failed) when it is not one. */
static cJSON *walk_value(struct json_walk *w)
{
	const char *stop = NULL;
	if (!walk_ws(w)) {
		walk_fail(w, w->p);
		return NULL;
	}
	cJSON *v = cJSON_ParseWithLengthOpts(w->p, (size_t)(w->end - w->p), &stop, 0);
	if (!v)
		walk_fail(w, stop ? stop : w->p);
	else
		w->p = stop;
	return v;
}

/* Walks the array at the cursor, handing each element to cb. */
static void walk_array(struct json_walk *w, void (*cb)(void *ctx, const cJSON *item), void *ctx)
{
	walk_expect(w, '[');
	if (!w->p || walk_take(w, ']'))
		return;
	for (;;) {
		cJSON *item = walk_value(w);
		if (!item)
			return;
		cb(ctx, item);
		cJSON_Delete(item);
		if (!walk_take(w, ','))
			break;
	}
	walk_expect(w, ']');
}

/*
 * Walks a top-level object: member's array streams through cb, other
 * members are parsed and dropped. 0 member missing, 1 an array, -1 another type.
 */
static int walk_object(struct json_walk *w, const char *member, void (*cb)(void *ctx, const cJSON *item),
		       void *ctx)
{
	int found = 0;
	walk_expect(w, '{');
	if (!w->p || walk_take(w, '}'))
		return 0;
	do {
		const char *at = w->p;
		cJSON *key = walk_value(w);
		int hit = cJSON_IsString(key) && !found && strcmp(key->valuestring, member) == 0;
		if (key && !cJSON_IsString(key))
			walk_fail(w, at);
		cJSON_Delete(key);
		walk_expect(w, ':');
		if (!w->p)
			break;
		if (hit && walk_ws(w) && *w->p == '[') {
			found = 1;
			walk_array(w, cb, ctx);
		} else {
			found = hit ? -1 : found;
			cJSON_Delete(walk_value(w));
		}
	} while (w->p && walk_take(w, ','));
	walk_expect(w, '}');
	return found;
}

enum perr jsonwalk_each(const char *body, size_t len, const char *member,
			void (*cb)(void *ctx, const cJSON *item), void *ctx, char *msg, size_t msglen)
{
	struct json_walk w;
	int found = 1;

	if (!body) {
		body = "";
		len = 0;
	}
	w = (struct json_walk){body, body + len, NULL};
	if (walk_ws(&w) && *w.p == '[') /* a bare array (pvesh) */
		walk_array(&w, cb, ctx);
	else
		found = walk_object(&w, member, cb, ctx);
	if (walk_ws(&w)) /* bytes after the document */
		walk_fail(&w, w.p);
	if (!w.p) {
		snprintf(msg, msglen, "invalid or truncated JSON near byte %zu of %zu",
			 (size_t)(w.bad - body), len);
		return PE_PARSE;
	}
	if (found != 1) {
		snprintf(msg, msglen, "%s %s", found ? "not an array:" : "answer has no member", member);
		return PE_PARSE;
	}
	return PE_OK;
}
