/* archive_check.c - the streaming archive check: magic sniffing, gzip (zlib), zstd (libzstd), a tar walker. */
#include "archive_check.h"
#include "zip.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define AC_OUT_CHUNK (64 * 1024)
#define AC_FILE_CHUNK (1024 * 1024)
#define AC_PAX_MAX (64 * 1024) /* pax headers larger than this are skipped, not read */
#define AC_BLOCK 512

enum { AC_SNIFF = 0, AC_RUN, AC_DONE, AC_ERR };

struct ac_tar {
	unsigned char hdr[AC_BLOCK];
	size_t hdr_fill;
	unsigned long long skip; /* member data (+ padding) still to pass */
	char kind; /* typeflag of the member being skipped */
	char name[101];
	unsigned char *pax; /* a pax 'x' header's data while it is read */
	size_t pax_len, pax_want;
	long long next_size; /* from a pax size= record, -1 none */
	int zeros; /* consecutive zero blocks */
	int ended;
	unsigned long long pos; /* bytes of the tar stream consumed */
};

struct archive_check {
	int state;
	unsigned char sniff[8];
	size_t nsniff;
	struct zip_gunzip *gz;
	ZSTD_DCtx *zd;
	size_t zstd_last; /* last ZSTD_decompressStream result: 0 at a frame boundary */
	unsigned char *out; /* decompression buffer */
	unsigned char head[AC_BLOCK]; /* the first block of the decompressed stream */
	size_t head_fill;
	int format_known;
	struct ac_tar tar;
	struct archive_facts f;
	char msg[256];
};

const char *archive_codec_str(enum archive_codec c)
{
	static const char *const names[] = {"plain", "gzip", "zstd", "lzo"};
	return (unsigned)c < 4 ? names[c] : "?";
}

const char *archive_format_str(enum archive_format f)
{
	static const char *const names[] = {"raw", "tar", "vma"};
	return (unsigned)f < 3 ? names[f] : "?";
}

static enum perr ac_fail(struct archive_check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static enum perr ac_fail(struct archive_check *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
	va_end(ap);
	c->state = AC_ERR;
	return PE_PARSE;
}

enum perr archive_check_new(struct archive_check **out)
{
	struct archive_check *c = calloc(1, sizeof(*c));
	*out = NULL;
	if (!c || !(c->out = malloc(AC_OUT_CHUNK))) {
		free(c);
		return PE_NOMEM;
	}
	c->tar.next_size = -1;
	*out = c;
	return PE_OK;
}

void archive_check_free(struct archive_check *c)
{
	if (!c)
		return;
	zip_gunzip_free(c->gz);
	ZSTD_freeDCtx(c->zd);
	free(c->tar.pax);
	free(c->out);
	free(c);
}

const char *archive_check_msg(const struct archive_check *c)
{
	return c->msg;
}

/* ---------------------------------------------------------------- tar */

static int ac_zero_block(const unsigned char *b)
{
	for (size_t i = 0; i < AC_BLOCK; i++)
		if (b[i])
			return 0;
	return 1;
}

/* An octal field (NUL/space padded) or, with the high bit set, a base-256 number. -1 when invalid. */
static long long ac_tar_number(const unsigned char *p, size_t n)
{
	unsigned long long v = 0;
	size_t i = 0;

	if (p[0] & 0x80) {
		if (p[0] & 0x40)
			return -1; /* negative */
		v = p[0] & 0x3f;
		for (i = 1; i < n; i++) {
			if (v > (unsigned long long)LLONG_MAX >> 8)
				return -1;
			v = (v << 8) | p[i];
		}
		return (long long)v;
	}
	while (i < n && p[i] == ' ')
		i++;
	for (; i < n && p[i] >= '0' && p[i] <= '7'; i++) {
		if (v > ((unsigned long long)LLONG_MAX >> 3))
			return -1;
		v = v * 8 + (unsigned)(p[i] - '0');
	}
	for (; i < n; i++)
		if (p[i] != ' ' && p[i] != '\0')
			return -1;
	return (long long)v;
}

static int ac_tar_checksum_ok(const unsigned char *h)
{
	long long want = ac_tar_number(h + 148, 8);
	long long sum_u = 0, sum_s = 0;

	for (size_t i = 0; i < AC_BLOCK; i++) {
		unsigned char b = i >= 148 && i < 156 ? ' ' : h[i];
		sum_u += b;
		sum_s += (signed char)b;
	}
	return want >= 0 && (want == sum_u || want == sum_s);
}

/* A pax header's "size=" record overrides the next member's size. */
static void ac_tar_pax_size(struct ac_tar *t)
{
	size_t pos = 0;

	while (pos < t->pax_len) {
		const unsigned char *rec = t->pax + pos;
		size_t left = t->pax_len - pos, len = 0, i = 0;
		while (i < left && rec[i] >= '0' && rec[i] <= '9' && len < AC_PAX_MAX)
			len = len * 10 + (size_t)(rec[i++] - '0');
		if (len == 0 || len > left || i >= len || rec[i] != ' ')
			return;
		if (len - i - 1 > 5 && memcmp(rec + i + 1, "size=", 5) == 0) {
			long long v = 0;
			for (size_t k = i + 6; k < len - 1 && rec[k] >= '0' && rec[k] <= '9' && v >= 0; k++)
				v = v > LLONG_MAX / 10 - 10 ? -1 : v * 10 + (rec[k] - '0');
			t->next_size = v;
		}
		pos += len;
	}
}

/* Types whose size field announces data that follows the header (GNU tar's rules). */
static int ac_tar_has_data(char kind)
{
	return strchr("123456", kind) == NULL || kind == '\0';
}

static enum perr ac_tar_header(struct archive_check *c)
{
	struct ac_tar *t = &c->tar;
	const unsigned char *h = t->hdr;
	long long size;

	if (ac_zero_block(h)) {
		t->ended = ++t->zeros >= 1;
		return PE_OK;
	}
	if (t->zeros >= 2)
		return ac_fail(c, "tar: data after the end-of-archive marker (at byte %llu)",
			       t->pos - AC_BLOCK);
	t->zeros = 0;
	t->ended = 0;
	if (!ac_tar_checksum_ok(h))
		return ac_fail(c, "tar: header checksum mismatch after %llu members (at byte %llu): corrupt",
			       c->f.members, t->pos - AC_BLOCK);
	size = ac_tar_number(h + 124, 12);
	if (size < 0)
		return ac_fail(c, "tar: bad size field in the header of member %llu", c->f.members + 1);
	t->kind = (char)h[156];
	if (t->next_size >= 0 && t->kind != 'x' && t->kind != 'g') {
		size = t->next_size;
		t->next_size = -1;
	}
	snprintf(t->name, sizeof(t->name), "%.100s", (const char *)h);
	if (!ac_tar_has_data(t->kind))
		size = 0;
	t->skip = ((unsigned long long)size + AC_BLOCK - 1) / AC_BLOCK * AC_BLOCK;
	if (t->kind == 'x' && size > 0 && size <= AC_PAX_MAX) {
		free(t->pax);
		t->pax = malloc((size_t)size);
		t->pax_len = 0;
		t->pax_want = t->pax ? (size_t)size : 0;
	}
	if (t->kind != 'x' && t->kind != 'g' && t->kind != 'L' && t->kind != 'K')
		c->f.members++;
	return PE_OK;
}

/* Member data: skipped, except a pax header's, which is kept for its size= record. */
static size_t ac_tar_skip(struct ac_tar *t, const unsigned char *p, size_t n)
{
	size_t take = n < t->skip ? n : (size_t)t->skip;

	if (t->pax && t->pax_len < t->pax_want) {
		size_t k = take < t->pax_want - t->pax_len ? take : t->pax_want - t->pax_len;
		memcpy(t->pax + t->pax_len, p, k);
		t->pax_len += k;
	}
	t->skip -= take;
	if (t->skip == 0 && t->pax) {
		if (t->pax_len == t->pax_want)
			ac_tar_pax_size(t);
		free(t->pax);
		t->pax = NULL;
	}
	return take;
}

static enum perr ac_tar_feed(struct archive_check *c, const unsigned char *p, size_t n)
{
	struct ac_tar *t = &c->tar;

	while (n > 0) {
		if (t->skip > 0) {
			size_t took = ac_tar_skip(t, p, n);
			t->pos += took;
			p += took;
			n -= took;
			continue;
		}
		size_t k = AC_BLOCK - t->hdr_fill < n ? AC_BLOCK - t->hdr_fill : n;
		memcpy(t->hdr + t->hdr_fill, p, k);
		t->hdr_fill += k;
		t->pos += k;
		p += k;
		n -= k;
		if (t->hdr_fill == AC_BLOCK) {
			t->hdr_fill = 0;
			if (ac_tar_header(c) != PE_OK)
				return PE_PARSE;
		}
	}
	return PE_OK;
}

static enum perr ac_tar_finish(struct archive_check *c)
{
	struct ac_tar *t = &c->tar;

	if (t->skip > 0 || t->hdr_fill > 0)
		return ac_fail(c, "tar: truncated inside member %llu \"%s\" (%llu bytes missing)",
			       c->f.members, t->name, t->skip + (t->hdr_fill ? AC_BLOCK - t->hdr_fill : 0));
	if (!t->ended)
		return ac_fail(c, "tar: no end-of-archive marker after %llu members: truncated",
			       c->f.members);
	c->f.tar_end = 1;
	return PE_OK;
}

/* ---------------------------------------------------------------- the decompressed stream */

static enum perr ac_sink(struct archive_check *c, const unsigned char *p, size_t n)
{
	c->f.out_bytes += n;
	if (!c->format_known) {
		size_t k = AC_BLOCK - c->head_fill < n ? AC_BLOCK - c->head_fill : n;
		memcpy(c->head + c->head_fill, p, k);
		c->head_fill += k;
		if (c->head_fill < AC_BLOCK)
			return PE_OK;
		c->format_known = 1;
		if (memcmp(c->head + 257, "ustar", 5) == 0)
			c->f.format = ARCHIVE_TAR;
		else if (memcmp(c->head, "VMA", 4) == 0)
			c->f.format = ARCHIVE_VMA;
		if (c->f.format == ARCHIVE_TAR && ac_tar_feed(c, c->head, AC_BLOCK) != PE_OK)
			return PE_PARSE;
		p += k;
		n -= k;
	}
	return c->f.format == ARCHIVE_TAR ? ac_tar_feed(c, p, n) : PE_OK;
}

static enum perr ac_gzip_sink(void *ctx, const unsigned char *p, size_t n)
{
	return ac_sink(ctx, p, n);
}

static enum perr ac_gzip(struct archive_check *c, const unsigned char *p, size_t n)
{
	const char *why = NULL;
	size_t left = 0;
	enum perr e = zip_gunzip_feed(c->gz, p, n, ac_gzip_sink, c, &why, &left);

	if (e == PE_INTERNAL)
		return ac_fail(c, "gzip: cannot restart the decoder");
	if (e == PE_PARSE && why)
		return ac_fail(c, "gzip: %s at compressed byte %llu: corrupt", why, c->f.in_bytes - left);
	return e == PE_OK ? PE_OK : PE_PARSE;
}

static enum perr ac_zstd(struct archive_check *c, const unsigned char *p, size_t n)
{
	ZSTD_inBuffer in = {p, n, 0};

	for (;;) {
		ZSTD_outBuffer out = {c->out, AC_OUT_CHUNK, 0};
		size_t rc = ZSTD_decompressStream(c->zd, &out, &in);
		if (ZSTD_isError(rc))
			return ac_fail(c, "zstd: %s (within the first %llu compressed bytes): corrupt",
				       ZSTD_getErrorName(rc), c->f.in_bytes);
		c->zstd_last = rc;
		if (ac_sink(c, c->out, out.pos) != PE_OK)
			return PE_PARSE;
		if (in.pos == in.size && out.pos < out.size)
			return PE_OK;
	}
}

static enum perr ac_decode(struct archive_check *c, const unsigned char *p, size_t n)
{
	switch (c->f.codec) {
	case ARCHIVE_GZIP:
		return ac_gzip(c, p, n);
	case ARCHIVE_ZSTD:
		return ac_zstd(c, p, n);
	case ARCHIVE_LZO:
		c->f.out_bytes += n;
		return PE_OK;
	default:
		return ac_sink(c, p, n);
	}
}

/* Picks the codec from the first bytes and starts its decoder. */
static enum perr ac_start(struct archive_check *c)
{
	static const unsigned char gz[2] = {0x1f, 0x8b}, zs[4] = {0x28, 0xb5, 0x2f, 0xfd},
				   lzo[8] = {0x89, 'L', 'Z', 'O', 0, '\r', '\n', 0x1a};
	if (c->nsniff >= 2 && memcmp(c->sniff, gz, 2) == 0) {
		c->f.codec = ARCHIVE_GZIP;
		if (zip_gunzip_new(&c->gz) != PE_OK)
			return ac_fail(c, "gzip: cannot start the decoder");
	} else if (c->nsniff >= 4 && memcmp(c->sniff, zs, 4) == 0) {
		c->f.codec = ARCHIVE_ZSTD;
		if (!(c->zd = ZSTD_createDCtx()))
			return ac_fail(c, "zstd: cannot start the decoder");
	} else if (c->nsniff >= 8 && memcmp(c->sniff, lzo, 8) == 0) {
		c->f.codec = ARCHIVE_LZO;
	}
	c->state = AC_RUN;
	return ac_decode(c, c->sniff, c->nsniff);
}

enum perr archive_check_feed(struct archive_check *c, const void *data, size_t n)
{
	const unsigned char *p = data;

	if (c->state == AC_ERR)
		return PE_PARSE;
	c->f.in_bytes += n;
	if (c->state == AC_SNIFF) {
		size_t k = sizeof(c->sniff) - c->nsniff < n ? sizeof(c->sniff) - c->nsniff : n;
		memcpy(c->sniff + c->nsniff, p, k);
		c->nsniff += k;
		p += k;
		n -= k;
		if (c->nsniff < sizeof(c->sniff))
			return PE_OK;
		if (ac_start(c) != PE_OK)
			return PE_PARSE;
	}
	return n ? ac_decode(c, p, n) : PE_OK;
}

enum perr archive_check_finish(struct archive_check *c, struct archive_facts *f)
{
	if (c->state == AC_SNIFF && ac_start(c) != PE_OK)
		return PE_PARSE;
	if (c->state == AC_ERR)
		return PE_PARSE;
	if (c->f.in_bytes == 0)
		return ac_fail(c, "the file is empty");
	if (c->f.codec == ARCHIVE_GZIP && !zip_gunzip_complete(c->gz))
		return ac_fail(c, "gzip: truncated (the stream ends before its trailer)");
	if (c->f.codec == ARCHIVE_ZSTD && c->zstd_last != 0)
		return ac_fail(c, "zstd: truncated (the last frame is incomplete)");
	if (!c->format_known && c->head_fill > 0 && c->head_fill >= 262 &&
	    memcmp(c->head + 257, "ustar", 5) == 0)
		return ac_fail(c, "tar: truncated inside the first header");
	if (c->f.format == ARCHIVE_TAR && ac_tar_finish(c) != PE_OK)
		return PE_PARSE;
	c->state = AC_DONE;
	*f = c->f;
	return PE_OK;
}

/* ---------------------------------------------------------------- a file */

static enum perr ac_read_fd(int fd, struct archive_check *c, volatile sig_atomic_t *stop,
			    unsigned char *chunk, unsigned long long size,
			    void (*progress)(void *, unsigned long long, unsigned long long), void *ctx,
			    char *msg, size_t msglen)
{
	unsigned long long done = 0;

	for (;;) {
		if (stop && *stop) {
			snprintf(msg, msglen, "interrupted after %llu bytes", done);
			return PE_TIMEOUT;
		}
		ssize_t r = read(fd, chunk, AC_FILE_CHUNK);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(msg, msglen, "read error after %llu bytes: %s", done, strerror(errno));
			return PE_IO;
		}
		if (r == 0)
			return PE_OK;
		if (archive_check_feed(c, chunk, (size_t)r) != PE_OK) {
			snprintf(msg, msglen, "%s", archive_check_msg(c));
			return PE_PARSE;
		}
		(void)posix_fadvise(fd, (off_t)done, r, POSIX_FADV_DONTNEED);
		done += (unsigned long long)r;
		if (progress)
			progress(ctx, done, size);
	}
}

enum perr archive_check_file(const char *path, volatile sig_atomic_t *stop,
			     void (*progress)(void *ctx, unsigned long long done, unsigned long long total),
			     void *ctx, struct archive_facts *f, char *msg, size_t msglen)
{
	struct archive_check *c = NULL;
	unsigned char *chunk = malloc(AC_FILE_CHUNK);
	struct stat st;
	enum perr rc;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0 || !chunk || archive_check_new(&c) != PE_OK) {
		snprintf(msg, msglen, "%s", fd < 0 ? strerror(errno) : "out of memory");
		rc = fd < 0 ? PE_IO : PE_NOMEM;
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(msg, msglen, "not a regular file");
		rc = PE_IO;
		goto out;
	}
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	rc = ac_read_fd(fd, c, stop, chunk, (unsigned long long)st.st_size, progress, ctx, msg, msglen);
	if (rc == PE_OK && (rc = archive_check_finish(c, f)) != PE_OK)
		snprintf(msg, msglen, "%s", archive_check_msg(c));
out:
	if (fd >= 0)
		close(fd);
	archive_check_free(c);
	free(chunk);
	return rc;
}
