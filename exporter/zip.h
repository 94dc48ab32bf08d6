/* zip.h - the only zlib user: gzip for HTTP answers, deflate for idle cached bodies, streamed gunzip. */
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

/*
 * A gzip stream decoded as it is read: concatenated members (pigz, cat
 * a.gz b.gz) and zero padding after the last one are accepted, as
 * `gzip -t` does. Decoded bytes go to the caller's sink piece by piece.
 */
struct zip_gunzip;

enum perr zip_gunzip_new(struct zip_gunzip **out) PE_WUR; /* PE_NOMEM, PE_INTERNAL (zlib would not start) */
void zip_gunzip_free(struct zip_gunzip *z); /* takes NULL */
/* 1 when the last member fed so far was complete (its trailer read): 0 means the stream was cut short. */
int zip_gunzip_complete(const struct zip_gunzip *z);
/*
 * Decodes in[0..n), handing each decoded piece to sink (which returns
 * PE_OK to go on; anything else stops and is returned). PE_PARSE for
 * corrupt data: *why is zlib's reason and *left how many of the n bytes
 * were not consumed yet (where it broke). PE_INTERNAL when the decoder
 * could not restart for the next member.
 */
enum perr zip_gunzip_feed(struct zip_gunzip *z, const unsigned char *in, size_t n,
			  enum perr (*sink)(void *ctx, const unsigned char *p, size_t n), void *ctx,
			  const char **why, size_t *left) PE_WUR;

#endif
