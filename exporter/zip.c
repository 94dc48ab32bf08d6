/* zip.c - the only zlib user: gzip for HTTP answers, deflate for idle cached bodies. */
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
