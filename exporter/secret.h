/* secret.h - secrets in memory: wiped with explicit_bzero, which the compiler may not drop, before free. */
#ifndef PE_SECRET_H
#define PE_SECRET_H

#include <stddef.h>
#include "buf.h"

/* Overwrites n bytes at p with zeros; p may be NULL when n is 0. */
void secret_wipe(void *p, size_t n);
/* Wipes the NUL-terminated s, then frees it; takes NULL. The one way a secret string is freed. */
void secret_free(char *s);
/* Wipes b's whole storage (not only len), then frees it like buf_free(). */
void secret_buf_free(struct buf *b);

#endif
