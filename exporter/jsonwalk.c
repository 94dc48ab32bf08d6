/* jsonwalk.c - walks the elements of a JSON array in a body one at a time, whole or fed in pieces (pure, no I/O). */
#include "jsonwalk.h"
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"

/* Where the walk is: what the next byte that is not white space may be. */
enum jw_state {
	JW_TOP, /* '[' (a bare array) or '{' */
	JW_KEY_OR_END, /* after '{': a key or '}' */
	JW_KEY, /* after ',' in the object: a key */
	JW_COLON,
	JW_VALUE, /* a member's value; member's array is walked */
	JW_OBJ_NEXT, /* ',' or '}' */
	JW_ELEM_OR_END, /* after '[': an element or ']' */
	JW_ELEM, /* after ',' in the array: an element */
	JW_ARR_NEXT, /* ',' or ']' */
	JW_DONE, /* only white space may follow */
	JW_FAILED
};

/* What the value being gathered is for. */
enum jw_role { JW_ROLE_KEY, JW_ROLE_DROP, JW_ROLE_ELEM };

struct jsonwalk {
	const char *member;
	void (*cb)(void *ctx, const cJSON *item);
	void *ctx;
	enum jw_state st;
	int bare; /* the body is a bare array */
	int found; /* 0 member not seen, 1 its array walked, -1 it is not an array */
	int hit; /* the last key was member */
	int member_null; /* member's value was null */
	int first; /* the first byte that is not white space; -1 none yet */
	size_t pos; /* offset of the next byte */
	size_t bad; /* offset of the error once failed */
	int oom;
	/* the value being gathered (a key, an element, another member's value) */
	int gathering;
	enum jw_role role;
	int depth, in_str, esc, scalar;
	size_t vstart;
	struct buf val;
};

struct jsonwalk *jsonwalk_new(const char *member, void (*cb)(void *ctx, const cJSON *item), void *ctx)
{
	struct jsonwalk *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->member = member;
	w->cb = cb;
	w->ctx = ctx;
	w->first = -1;
	buf_init(&w->val, 0);
	return w;
}

void jsonwalk_free(struct jsonwalk *w)
{
	if (!w)
		return;
	buf_free(&w->val);
	free(w);
}

static void jw_fail(struct jsonwalk *w, size_t at)
{
	if (w->st != JW_FAILED) {
		w->bad = at;
		w->st = JW_FAILED;
	}
}

static int jw_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A complete value was gathered: parse it and do what its role says. */
static void jw_value_done(struct jsonwalk *w)
{
	const char *stop = NULL, *data = buf_str(&w->val);
	size_t len = w->val.len;
	cJSON *v;

	w->gathering = 0;
	if (buf_err(&w->val) != PE_OK) {
		w->oom = 1;
		jw_fail(w, w->vstart);
		return;
	}
	v = cJSON_ParseWithLengthOpts(data, len, &stop, 0);
	if (!v || (size_t)(stop - data) != len) { /* a scalar parses short when junk follows it */
		jw_fail(w, w->vstart + (stop ? (size_t)(stop - data) : 0));
		cJSON_Delete(v);
		return;
	}
	if (w->role == JW_ROLE_KEY) {
		if (!cJSON_IsString(v))
			jw_fail(w, w->vstart);
		else
			w->hit = !w->found && strcmp(v->valuestring, w->member) == 0;
		w->st = w->st == JW_FAILED ? JW_FAILED : JW_COLON;
	} else if (w->role == JW_ROLE_DROP) {
		if (w->hit) {
			w->found = -1;
			w->member_null = cJSON_IsNull(v);
		}
		w->st = JW_OBJ_NEXT;
	} else {
		w->cb(w->ctx, v);
		w->st = JW_ARR_NEXT;
	}
	cJSON_Delete(v);
}

/* Starts gathering a value whose first byte is c. */
static void jw_value_start(struct jsonwalk *w, enum jw_role role, char c)
{
	if (c == ',' || c == ':' || c == ']' || c == '}') {
		jw_fail(w, w->pos);
		return;
	}
	w->gathering = 1;
	w->role = role;
	w->vstart = w->pos;
	w->depth = c == '{' || c == '[';
	w->in_str = c == '"';
	w->esc = 0;
	w->scalar = !w->depth && !w->in_str;
	buf_reset(&w->val);
	buf_addc(&w->val, c);
}

/*
 * Scans data[0..len) for the end of the value being gathered and appends
 * the bytes that belong to it in one go; returns how many. When the value
 * ended it is handed on (a scalar ends before its delimiter, which is
 * left for the structure).
 */
static size_t jw_gather(struct jsonwalk *w, const char *data, size_t len)
{
	size_t i = 0;
	int done = 0;

	for (; i < len && !done; i++) {
		char c = data[i];
		if (w->scalar) {
			if (c == ',' || c == ']' || c == '}' || jw_space(c)) {
				done = 1;
				break; /* the delimiter is not part of the value */
			}
		} else if (w->in_str) {
			if (w->esc)
				w->esc = 0;
			else if (c == '\\')
				w->esc = 1;
			else if (c == '"') {
				w->in_str = 0;
				done = w->depth == 0; /* the value was this string */
			}
		} else if (c == '"') {
			w->in_str = 1;
		} else if (c == '{' || c == '[') {
			w->depth++;
		} else if ((c == '}' || c == ']') && --w->depth == 0) {
			done = 1;
		}
	}
	buf_add(&w->val, data, i);
	w->pos += i;
	if (done)
		jw_value_done(w);
	return i;
}

/* The array ended: the document, or the member's value. */
static void jw_array_end(struct jsonwalk *w)
{
	w->st = w->bare ? JW_DONE : JW_OBJ_NEXT;
}

/* One structural byte (not white space, not inside a value). */
static void jw_structure(struct jsonwalk *w, char c)
{
	switch (w->st) {
	case JW_TOP:
		if (c == '[') {
			w->bare = 1;
			w->found = 1;
			w->st = JW_ELEM_OR_END;
		} else if (c == '{') {
			w->st = JW_KEY_OR_END;
		} else {
			jw_fail(w, w->pos);
		}
		break;
	case JW_KEY_OR_END:
		if (c == '}')
			w->st = JW_DONE;
		else
			jw_value_start(w, JW_ROLE_KEY, c);
		break;
	case JW_KEY:
		jw_value_start(w, JW_ROLE_KEY, c);
		break;
	case JW_COLON:
		if (c == ':')
			w->st = JW_VALUE;
		else
			jw_fail(w, w->pos);
		break;
	case JW_VALUE:
		if (w->hit && c == '[') {
			w->found = 1;
			w->st = JW_ELEM_OR_END;
		} else {
			jw_value_start(w, JW_ROLE_DROP, c);
		}
		break;
	case JW_OBJ_NEXT:
		if (c == ',')
			w->st = JW_KEY;
		else if (c == '}')
			w->st = JW_DONE;
		else
			jw_fail(w, w->pos);
		break;
	case JW_ELEM_OR_END:
		if (c == ']')
			jw_array_end(w);
		else
			jw_value_start(w, JW_ROLE_ELEM, c);
		break;
	case JW_ELEM:
		jw_value_start(w, JW_ROLE_ELEM, c);
		break;
	case JW_ARR_NEXT:
		if (c == ',')
			w->st = JW_ELEM;
		else if (c == ']')
			jw_array_end(w);
		else
			jw_fail(w, w->pos);
		break;
	default: /* JW_DONE: bytes after the document */
		jw_fail(w, w->pos);
		break;
	}
}

void jsonwalk_feed(struct jsonwalk *w, const char *data, size_t len)
{
	size_t i = 0;

	while (i < len && w->st != JW_FAILED) {
		if (w->gathering) {
			i += jw_gather(w, data + i, len - i);
			continue;
		}
		char c = data[i];
		if (!jw_space(c)) {
			if (w->first < 0)
				w->first = (unsigned char)c;
			jw_structure(w, c);
		}
		i++;
		w->pos++;
	}
}

enum perr jsonwalk_end(struct jsonwalk *w, size_t total, char *msg, size_t msglen)
{
	if (w->gathering && w->scalar && w->st != JW_FAILED)
		jw_value_done(w); /* a scalar that runs to the end of the body */
	if (w->st != JW_FAILED && (w->gathering || w->st != JW_DONE))
		jw_fail(w, total); /* truncated */
	if (w->oom)
		return PE_NOMEM;
	if (w->st == JW_FAILED) {
		snprintf(msg, msglen, "invalid or truncated JSON near byte %zu of %zu", w->bad, total);
		return PE_PARSE;
	}
	if (w->found != 1) {
		snprintf(msg, msglen, "%s %s", w->found ? "not an array:" : "answer has no member",
			 w->member);
		return PE_PARSE;
	}
	return PE_OK;
}

enum jsonwalk_member jsonwalk_member(const struct jsonwalk *w)
{
	if (w->found > 0)
		return JSONWALK_ARRAY;
	if (w->found == 0)
		return JSONWALK_ABSENT;
	return w->member_null ? JSONWALK_NULL : JSONWALK_OTHER;
}

enum perr jsonwalk_end_answer(struct jsonwalk *w, const char *content_type, size_t total, char *msg,
			      size_t msglen)
{
	if (total == 0) {
		snprintf(msg, msglen, "empty body where JSON was expected");
		return PE_PARSE;
	}
	if (w->first == '<' || (content_type && strstr(content_type, "html"))) {
		snprintf(msg, msglen, "HTML instead of JSON (service starting or wrong URL?)");
		return PE_PARSE;
	}
	return jsonwalk_end(w, total, msg, msglen);
}

enum perr jsonwalk_each(const char *body, size_t len, const char *member,
			void (*cb)(void *ctx, const cJSON *item), void *ctx, char *msg, size_t msglen)
{
	struct jsonwalk *w = jsonwalk_new(member, cb, ctx);
	enum perr e;

	if (!w)
		return PE_NOMEM;
	jsonwalk_feed(w, body ? body : "", body ? len : 0);
	e = jsonwalk_end(w, body ? len : 0, msg, msglen);
	jsonwalk_free(w);
	return e;
}
