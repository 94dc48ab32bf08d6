/* jsonwalk.h - walks the elements of a JSON array in a body one at a time, whole or fed in pieces (pure, no I/O). */
#ifndef PE_JSONWALK_H
#define PE_JSONWALK_H

#include <stddef.h>
#include "err.h"

struct cJSON;

/*
 * Hands each element of an array to cb, parsed one at a time and freed
 * after the call, so a listing of 60,000 items never exists as one cJSON
 * tree. The array is `member` of a top-level object, or the body itself
 * when it is a bare array (pvesh). The whole body is checked: PE_PARSE
 * with msg set when it is not JSON, is truncated, has bytes after the
 * document, or member is missing or not an array ("invalid or truncated
 * JSON near byte N of M", "answer has no member data", "not an array:
 * data"). cb may have run for earlier elements by then: stage what it
 * gathers and use it only on PE_OK. body need not be NUL-terminated.
 */
enum perr jsonwalk_each(const char *body, size_t len, const char *member,
			void (*cb)(void *ctx, const struct cJSON *item), void *ctx, char *msg,
			size_t msglen) PE_WUR;

/*
 * The same walk with the body fed in pieces as it arrives: only the
 * element being read is kept, never the body. Feed every byte in order,
 * then jsonwalk_end() with the total length says what jsonwalk_each()
 * would have (the same messages and byte offsets; PE_NOMEM when an
 * element could not be held). After an error the rest is ignored.
 */
struct jsonwalk;
struct jsonwalk *jsonwalk_new(const char *member, void (*cb)(void *ctx, const struct cJSON *item), void *ctx);
void jsonwalk_feed(struct jsonwalk *w, const char *data, size_t len);
enum perr jsonwalk_end(struct jsonwalk *w, size_t total, char *msg, size_t msglen) PE_WUR;
void jsonwalk_free(struct jsonwalk *w); /* takes NULL */
/*
 * jsonwalk_end() for an HTTP answer that should be JSON: an empty body
 * ("empty body where JSON was expected") or HTML (Content-Type, or '<'
 * first: "HTML instead of JSON (service starting or wrong URL?)") is
 * PE_PARSE before the walk's own verdict.
 */
enum perr jsonwalk_end_answer(struct jsonwalk *w, const char *content_type, size_t total, char *msg,
			      size_t msglen) PE_WUR;
/* After the end: what member was (a bare array counts as ARRAY). */
enum jsonwalk_member { JSONWALK_ARRAY = 0, JSONWALK_ABSENT, JSONWALK_NULL, JSONWALK_OTHER };
enum jsonwalk_member jsonwalk_member(const struct jsonwalk *w);

#endif
