/* secret.c - secrets in memory: wiped with explicit_bzero, which the compiler may not drop, before free. */
#include "secret.h"

#include <stdlib.h>
#include <string.h>

void secret_wipe(void *p, size_t n)
{
	if (p && n)
		explicit_bzero(p, n);
}

void secret_free(char *s)
{
	if (!s)
		return;
	secret_wipe(s, strlen(s));
	free(s);
}

void secret_buf_free(struct buf *b)
{
	secret_wipe(b->data, b->cap);
	buf_free(b);
}
