/* buf.c - bounded growable byte buffer with a sticky error. */
#include "buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max ? max : SIZE_MAX - 1;
	b->err = PE_OK;
}

void buf_free(struct buf *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	b->err = PE_OK;
	if (b->data)
		b->data[0] = '\0';
}

enum perr buf_reserve(struct buf *b, size_t n)
{
	if (b->err)
		return b->err;
	if (n > b->max - b->len) {
		b->err = PE_TOOBIG;
		return b->err;
	}
	size_t need = b->len + n + 1;
	if (need <= b->cap)
		return PE_OK;
	/* doubling amortises small appends; a large one (or a presize) gets exactly what it needs */
	size_t ncap = b->cap ? (b->cap > SIZE_MAX / 2 ? need : b->cap * 2) : 256;
	if (ncap < need)
		ncap = need;
	char *p = realloc(b->data, ncap);
	if (!p) {
		b->err = PE_NOMEM;
		return b->err;
	}
	b->data = p;
	b->cap = ncap;
	return PE_OK;
}

enum perr buf_add(struct buf *b, const void *p, size_t n)
{
	enum perr e = buf_reserve(b, n);
	if (e)
		return e;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return PE_OK;
}

enum perr buf_adds(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

enum perr buf_addc(struct buf *b, char c)
{
	return buf_add(b, &c, 1);
}

enum perr buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char small[256];

	if (b->err)
		return b->err;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->err = PE_INVAL;
		return b->err;
	}
	if ((size_t)n < sizeof(small))
		return buf_add(b, small, (size_t)n);
	enum perr e = buf_reserve(b, (size_t)n);
	if (e)
		return e;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return PE_OK;
}

enum perr buf_err(const struct buf *b)
{
	return b->err;
}

const char *buf_str(const struct buf *b)
{
	return b->data ? b->data : "";
}

char *buf_steal(struct buf *b, size_t *len)
{
	char *p = b->data;
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}
