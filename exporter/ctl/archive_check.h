/* archive_check.h - reads a backup archive end to end into no destination: gzip/zstd integrity, tar structure. */
#ifndef PE_ARCHIVE_CHECK_H
#define PE_ARCHIVE_CHECK_H

#include <signal.h>
#include <stddef.h>
#include "err.h"

enum archive_codec { ARCHIVE_PLAIN = 0, ARCHIVE_GZIP, ARCHIVE_ZSTD, ARCHIVE_LZO };
enum archive_format { ARCHIVE_RAW = 0, ARCHIVE_TAR, ARCHIVE_VMA };

/* What a finished check found. */
struct archive_facts {
	enum archive_codec codec; /* from the first bytes (magic), not from the name */
	enum archive_format format; /* of the decompressed stream */
	unsigned long long in_bytes; /* bytes read */
	unsigned long long out_bytes; /* bytes after decompression (= in_bytes when plain or lzo) */
	unsigned long long members; /* tar entries */
	int tar_end; /* the tar end-of-archive marker was seen */
};

/*
 * The streaming check: feed the file's bytes in chunks of any size, then
 * finish. gzip (also concatenated members) and zstd (also several frames)
 * are decompressed and their checksums verified; the result is walked as
 * tar when it carries the ustar magic (every header checksum, member
 * sizes incl. pax and base-256 sizes, the end-of-archive marker, nothing
 * after it but zeros). lzo is only read (no decoder). Pure: no I/O. The
 * first error sticks; archive_check_msg says what and where.
 */
struct archive_check;

enum perr archive_check_new(struct archive_check **out) PE_WUR;
void archive_check_free(struct archive_check *c); /* takes NULL */
enum perr archive_check_feed(struct archive_check *c, const void *p, size_t n) PE_WUR;
/* PE_OK and *f filled when the archive was whole; PE_PARSE (truncated, corrupt) otherwise. */
enum perr archive_check_finish(struct archive_check *c, struct archive_facts *f) PE_WUR;
const char *archive_check_msg(const struct archive_check *c); /* "" when no error */

const char *archive_codec_str(enum archive_codec c); /* "plain", "gzip", "zstd", "lzo" */
const char *archive_format_str(enum archive_format f); /* "raw", "tar", "vma" */

/*
 * Checks the file at path, reading it sequentially in 1 MiB chunks (the
 * page cache is told to drop what was read). *stop set (by a signal
 * handler) ends the read with PE_TIMEOUT. progress, when not NULL, is
 * called after each chunk with the bytes read so far and the file size.
 * msg says why on failure (PE_IO: unreadable; PE_PARSE: not whole).
 */
enum perr archive_check_file(const char *path, volatile sig_atomic_t *stop,
			     void (*progress)(void *ctx, unsigned long long done, unsigned long long total),
			     void *ctx, struct archive_facts *f, char *msg, size_t msglen) PE_WUR;

#endif
