/* zip.h - the only zlib user: gzip for HTTP answers, deflate for idle cached bodies. */
#ifndef PE_ZIP_H
#define PE_ZIP_H

#include <stddef.h>
#include "err.h"

/* A gzip stream of in[0..len) into *out (malloc'd, the caller frees it). PE_NOMEM, PE_INTERNAL. */
enum perr zip_gzip(const char *in, size_t len, char **out, size_t *outlen) PE_WUR;
/*
 * in deflated quickly (level 1) into a new allocation, or NULL when that
 * fails or would not save three quarters of the size (not worth keeping).
 */
unsigned char *zip_pack(const char *in, size_t len, size_t *outlen);
/* The rawlen bytes zip_pack() packed, NUL-terminated (malloc'd); NULL when out of memory or corrupt. */
char *zip_unpack(const unsigned char *packed, size_t len, size_t rawlen);

#endif
