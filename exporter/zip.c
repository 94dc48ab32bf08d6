/* zip.c - the only zlib user: gzip for HTTP answers, deflate for idle cached bodies, streamed gunzip. */
#include "zip.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

enum perr zip_gzip(const char *in, size_t len, char **out, size_t *outlen)
{
	z_stream zs;
	memset(&zs, 0, sizeof zs);
	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return PE_NOMEM;
	enum perr e = PE_OK;
	uLong bound = deflateBound(&zs, (uLong)len);
	unsigned char *p = malloc(bound);
	if (!p) {
		e = PE_NOMEM;
		goto out;
	}
	zs.next_in = (Bytef *)(uintptr_t)(in ? in : "");
	zs.avail_in = (uInt)len;
	zs.next_out = p;
	zs.avail_out = (uInt)bound;
	if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
		free(p);
		e = PE_INTERNAL;
		goto out;
	}
	*out = (char *)p;
	*outlen = zs.total_out;
out:
	deflateEnd(&zs);
	return e;
}

unsigned char *zip_pack(const char *in, size_t len, size_t *outlen)
{
	uLongf n = len / 4;
	unsigned char *z = malloc(n ? n : 1);

	if (z && compress2(z, &n, (const Bytef *)in, len, 1) == Z_OK) {
		unsigned char *fit = realloc(z, n ? n : 1);
		*outlen = n;
		return fit ? fit : z;
	}
	free(z);
	return NULL;
}

char *zip_unpack(const unsigned char *packed, size_t len, size_t rawlen)
{
	uLongf n = rawlen;
	char *raw = malloc(rawlen + 1);

	if (!raw)
		return NULL;
	if (uncompress((Bytef *)raw, &n, packed, len) != Z_OK || n != rawlen) {
		free(raw);
		return NULL;
	}
	raw[n] = '\0';
	return raw;
}

#define ZIP_OUT_CHUNK (64 * 1024)

struct zip_gunzip {
	z_stream z;
	int member_end; /* the current member ended */
	unsigned char out[ZIP_OUT_CHUNK];
};

enum perr zip_gunzip_new(struct zip_gunzip **out)
{
	struct zip_gunzip *z = calloc(1, sizeof(*z));

	*out = NULL;
	if (!z)
		return PE_NOMEM;
	if (inflateInit2(&z->z, 16 + MAX_WBITS) != Z_OK) {
		free(z);
		return PE_INTERNAL;
	}
	*out = z;
	return PE_OK;
}

void zip_gunzip_free(struct zip_gunzip *z)
{
	if (!z)
		return;
	inflateEnd(&z->z);
	free(z);
}

int zip_gunzip_complete(const struct zip_gunzip *z)
{
	return z && z->member_end;
}

static int zip_all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

enum perr zip_gunzip_feed(struct zip_gunzip *z, const unsigned char *in, size_t n,
			  enum perr (*sink)(void *ctx, const unsigned char *p, size_t n), void *ctx,
			  const char **why, size_t *left)
{
	enum perr e;

	z->z.next_in = (unsigned char *)(uintptr_t)in;
	z->z.avail_in = (uInt)n;
	for (;;) {
		if (z->member_end && z->z.avail_in > 0) {
			if (zip_all_zero(z->z.next_in, z->z.avail_in))
				return PE_OK; /* zero padding after the last member */
			if (inflateReset(&z->z) != Z_OK) /* another member follows */
				return PE_INTERNAL;
			z->member_end = 0;
		}
		z->z.next_out = z->out;
		z->z.avail_out = ZIP_OUT_CHUNK;
		int rc = inflate(&z->z, Z_NO_FLUSH);
		if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
			*why = z->z.msg ? z->z.msg : "data error";
			*left = z->z.avail_in;
			return PE_PARSE;
		}
		if ((e = sink(ctx, z->out, ZIP_OUT_CHUNK - z->z.avail_out)) != PE_OK)
			return e;
		if (rc == Z_STREAM_END)
			z->member_end = 1;
		if (z->z.avail_in == 0 && z->z.avail_out > 0)
			return PE_OK;
	}
}
