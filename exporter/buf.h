/* buf.h - bounded growable byte buffer with a sticky error. */
#ifndef PE_BUF_H
#define PE_BUF_H

#include <stddef.h>
#include "err.h"

/*
 * A buf owns its storage. Once an append fails (out of memory or over
 * the cap) the error sticks: later appends are no-ops and buf_err()
 * reports the first failure, so callers may check once at the end.
 * data is always NUL-terminated after a successful append (or is NULL
 * while len == 0).
 */
struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max; /* hard cap on len; 0 means SIZE_MAX */
	enum perr err; /* first failure, sticky */
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b); /* releases storage; b may be reused after buf_init */
void buf_reset(struct buf *b); /* len = 0, error cleared, storage kept */
enum perr buf_add(struct buf *b, const void *p, size_t n);
enum perr buf_adds(struct buf *b, const char *s);
enum perr buf_addc(struct buf *b, char c);
enum perr buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
enum perr buf_err(const struct buf *b);
/* Makes room for n more bytes (plus the NUL) in one allocation; over the cap it fails like an append. */
enum perr buf_reserve(struct buf *b, size_t n);
const char *buf_str(const struct buf *b); /* "" when empty; never NULL */
/* Hands the storage to the caller (free() it); b is left empty. */
char *buf_steal(struct buf *b, size_t *len);

#endif
