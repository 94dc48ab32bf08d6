/* test_archive_check.c - the end-to-end archive check: tar structure, gzip and zstd integrity, truncation, corruption. */
#include "testutil.h"
#include "archive_check.h"

#include <zlib.h>
#include <zstd.h>

/* ---------------------------------------------------------------- building archives in memory */

static void tar_header(struct buf *b, const char *name, char type, unsigned long long size, int base256)
{
	unsigned char h[512];
	unsigned sum = 0;
	memset(h, 0, sizeof(h));
	snprintf((char *)h, 100, "%s", name);
	memcpy(h + 100, "0000644", 8);
	memcpy(h + 108, "0000000", 8);
	memcpy(h + 116, "0000000", 8);
	if (base256) {
		h[124] = 0x80;
		for (int i = 0; i < 8; i++)
			h[135 - i] = (unsigned char)(size >> (8 * i));
	} else {
		snprintf((char *)h + 124, 12, "%011llo", size);
	}
	memcpy(h + 136, "14712345670", 12);
	memset(h + 148, ' ', 8);
	h[156] = (unsigned char)type;
	memcpy(h + 257,
	       "ustar\0"
	       "00",
	       8);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	buf_add(b, h, 512);
}

static void tar_data(struct buf *b, size_t n, char fill)
{
	for (size_t i = 0; i < n; i++)
		buf_addc(b, fill);
	static const char zero[512];
	if (n % 512)
		buf_add(b, zero, 512 - n % 512);
}

static void tar_end(struct buf *b)
{
	static const char zero[1024];
	buf_add(b, zero, sizeof(zero));
}

/* A small ustar archive: a directory, two files (one of 1000 bytes), the end marker. */
static void sample_tar(struct buf *b)
{
	buf_init(b, 0);
	tar_header(b, "etc/", '5', 0, 0);
	tar_header(b, "etc/hostname", '0', 10, 0);
	tar_data(b, 10, 'h');
	tar_header(b, "var/lib/data.bin", '0', 1000, 0);
	tar_data(b, 1000, 'd');
	tar_end(b);
}

static void gzip_of(const struct buf *in, struct buf *out)
{
	z_stream z;
	unsigned char chunk[4096];
	memset(&z, 0, sizeof(z));
	ck_assert_int_eq(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (unsigned char *)in->data;
	z.avail_in = (unsigned)in->len;
	int rc;
	do {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		rc = deflate(&z, Z_FINISH);
		buf_add(out, chunk, sizeof(chunk) - z.avail_out);
	} while (rc == Z_OK);
	ck_assert_int_eq(rc, Z_STREAM_END);
	deflateEnd(&z);
}

static void zstd_of(const struct buf *in, struct buf *out)
{
	size_t cap = ZSTD_compressBound(in->len);
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	ck_assert_int_eq(buf_reserve(out, cap), PE_OK);
	ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
	size_t n = ZSTD_compress2(cc, out->data + out->len, cap, in->data, in->len);
	ck_assert(!ZSTD_isError(n));
	out->len += n;
	ZSTD_freeCCtx(cc);
}

/* Checks data in one go, and again one byte at a time: both must agree. */
static enum perr check(const void *data, size_t n, struct archive_facts *f, char *msg, size_t msglen)
{
	struct archive_check *c, *d;
	struct archive_facts g;
	ck_assert_int_eq(archive_check_new(&c), PE_OK);
	ck_assert_int_eq(archive_check_new(&d), PE_OK);
	enum perr rc = archive_check_feed(c, data, n);
	if (rc == PE_OK)
		rc = archive_check_finish(c, f);
	snprintf(msg, msglen, "%s", archive_check_msg(c));
	enum perr rc2 = PE_OK;
	for (size_t i = 0; i < n && rc2 == PE_OK; i++)
		rc2 = archive_check_feed(d, (const char *)data + i, 1);
	if (rc2 == PE_OK)
		rc2 = archive_check_finish(d, &g);
	ck_assert_int_eq(rc, rc2);
	ck_assert_str_eq(msg, archive_check_msg(d));
	if (rc == PE_OK)
		ck_assert(memcmp(f, &g, sizeof(g)) == 0);
	archive_check_free(c);
	archive_check_free(d);
	return rc;
}

/* ---------------------------------------------------------------- tests */

START_TEST(test_plain_tar)
{
	struct buf b;
	struct archive_facts f;
	char msg[256];
	sample_tar(&b);
	ck_assert_int_eq(check(b.data, b.len, &f, msg, sizeof(msg)), PE_OK);
	ck_assert_int_eq(f.codec, ARCHIVE_PLAIN);
	ck_assert_int_eq(f.format, ARCHIVE_TAR);
	ck_assert_uint_eq(f.members, 3);
	ck_assert_int_eq(f.tar_end, 1);
	ck_assert_uint_eq(f.in_bytes, b.len);
	ck_assert_uint_eq(f.out_bytes, b.len);
	/* zero padding to a tar record after the marker is normal */
	tar_data(&b, 0, 0);
	static const char zero[8192];
	buf_add(&b, zero, sizeof(zero));
	ck_assert_int_eq(check(b.data, b.len, &f, msg, sizeof(msg)), PE_OK);
	buf_free(&b);
}
END_TEST

START_TEST(test_tar_truncated_anywhere)
{
	struct buf b;
	struct archive_facts f;
	char msg[256];
	sample_tar(&b);
	size_t whole = b.len - 1024; /* without the end marker */
	for (size_t cut = 1; cut <= whole; cut += cut < 1100 ? 1 : 97) {
		if (cut < 512)
			continue; /* under one block the stream is not recognised as tar: raw */
		ck_assert_msg(check(b.data, cut, &f, msg, sizeof(msg)) == PE_PARSE, "cut %zu accepted", cut);
		ck_assert_msg(strstr(msg, "tar: truncated") || strstr(msg, "no end-of-archive marker"),
			      "cut %zu: %s", cut, msg);
	}
	ck_assert_int_eq(check(b.data, whole, &f, msg, sizeof(msg)), PE_PARSE);
	ck_assert_str_eq(msg, "tar: no end-of-archive marker after 3 members: truncated");
	ck_assert_int_eq(check(b.data, 2 * 512 + 200, &f, msg, sizeof(msg)), PE_PARSE);
	ck_assert_str_eq(msg, "tar: truncated inside member 2 \"etc/hostname\" (312 bytes missing)");
	buf_free(&b);
}
END_TEST

START_TEST(test_tar_corrupt_header_and_trailing_data)
{
	struct buf b;
	struct archive_facts f;
	char msg[256];
	sample_tar(&b);
	b.data[512 + 20] ^= 0x01; /* a name byte of the second header */
	ck_assert_int_eq(check(b.data, b.len, &f, msg, sizeof(msg)), PE_PARSE);
	ck_assert_str_eq(msg, "tar: header checksum mismatch after 1 members (at byte 512): corrupt");
	buf_free(&b);
	sample_tar(&b);
	tar_header(&b, "late", '0', 0, 0);
	ck_assert_int_eq(check(b.data, b.len, &f, msg, sizeof(msg)), PE_PARSE);
	ck_assert_ptr_nonnull(strstr(msg, "data after the end-of-archive marker"));
	buf_free(&b);
}
END_TEST

START_TEST(test_tar_base256_and_pax_sizes)
{
	struct buf b, pax;
	struct archive_facts f;
	char msg[256];
	buf_init(&b, 0);
	tar_header(&b, "big", '0', 700, 1);
	tar_data(&b, 700, 'x');
	/* a pax header whose size= overrides the next member's size field (0 here) */
	buf_init(&pax, 0);
	buf_adds(&pax, "13 size=1500\n");
	tar_header(&b, "PaxHeaders/f", 'x', pax.len, 0);
	buf_add(&b, pax.data, pax.len);
	tar_data(&b, 0, 0);
	static const char zero[512];
	buf_add(&b, zero, 512 - pax.len);
	tar_header(&b, "f", '0', 0, 0);
	tar_data(&b, 1500, 'p');
	tar_end(&b);
	ck_assert_int_eq(check(b.data, b.len, &f, msg, sizeof(msg)), PE_OK);
	ck_assert_uint_eq(f.members, 2);
	buf_free(&b);
	buf_free(&pax);
}
END_TEST

START_TEST(test_gzip)
{
	struct buf t, z, two;
	struct archive_facts f;
	char msg[256];
	sample_tar(&t);
	buf_init(&z, 0);
	gzip_of(&t, &z);
	ck_assert_int_eq(check(z.data, z.len, &f, msg, sizeof(msg)), PE_OK);
	ck_assert_int_eq(f.codec, ARCHIVE_GZIP);
	ck_assert_int_eq(f.format, ARCHIVE_TAR);
	ck_assert_uint_eq(f.out_bytes, t.len);
	ck_assert_uint_eq(f.in_bytes, z.len);
	/* truncated: no trailer */
	ck_assert_int_eq(check(z.data, z.len - 4, &f, msg, sizeof(msg)), PE_PARSE);
	ck_assert_ptr_nonnull(strstr(msg, "gzip: truncated"));
	/* a flipped bit in the stored CRC */
	z.data[z.len - 6] ^= 0x10;
	ck_assert_int_eq(check(z.data, z.len, &f, msg, sizeof(msg)), PE_PARSE);
	ck_assert_ptr_nonnull(strstr(msg, "incorrect data check"));
	z.data[z.len - 6] ^= 0x10;
	/* two members back to back (cat a.gz b.gz) is one valid stream: the tar then has data after its end */
	buf_init(&two, 0);
	buf_add(&two, z.data, z.len);
	buf_add(&two, z.data, z.len);
	ck_assert_int_eq(check(two.data, two.len, &f, msg, sizeof(msg)), PE_PARSE);
	ck_assert_ptr_nonnull(strstr(msg, "data after the end-of-archive marker"));
	/* zero padding after the last member is accepted, as by gzip -t */
	static const char zero[100];
	buf_add(&z, zero, sizeof(zero));
	ck_assert_int_eq(check(z.data, z.len, &f, msg, sizeof(msg)), PE_OK);
	buf_free(&t);
	buf_free(&z);
	buf_free(&two);
}
END_TEST

START_TEST(test_gzip_multi_member_raw)
{
	struct buf a, z;
	struct archive_facts f;
	char msg[256];
	buf_init(&a, 0);
	buf_adds(&a, "-- PostgreSQL database dump\nCREATE TABLE t (id int);\n");
	buf_init(&z, 0);
	gzip_of(&a, &z);
	gzip_of(&a, &z);
	ck_assert_int_eq(check(z.data, z.len, &f, msg, sizeof(msg)), PE_OK);
	ck_assert_int_eq(f.format, ARCHIVE_RAW);
	ck_assert_uint_eq(f.out_bytes, 2 * a.len);
	buf_free(&a);
	buf_free(&z);
}
END_TEST

START_TEST(test_zstd)
{
	struct buf t, z;
	struct archive_facts f;
	char msg[256];
	sample_tar(&t);
	buf_init(&z, 0);
	zstd_of(&t, &z);
	ck_assert_int_eq(check(z.data, z.len, &f, msg, sizeof(msg)), PE_OK);
	ck_assert_int_eq(f.codec, ARCHIVE_ZSTD);
	ck_assert_int_eq(f.format, ARCHIVE_TAR);
	ck_assert_uint_eq(f.members, 3);
	ck_assert_int_eq(check(z.data, z.len - 3, &f, msg, sizeof(msg)), PE_PARSE);
	ck_assert_ptr_nonnull(strstr(msg, "zstd: truncated"));
	z.data[z.len - 2] ^= 0x40; /* the frame's content checksum */
	ck_assert_int_eq(check(z.data, z.len, &f, msg, sizeof(msg)), PE_PARSE);
	ck_assert_ptr_nonnull(strstr(msg, "zstd: "));
	ck_assert_ptr_nonnull(strstr(msg, "corrupt"));
	buf_free(&t);
	buf_free(&z);
}
END_TEST

START_TEST(test_raw_vma_lzo_empty)
{
	struct archive_facts f;
	char msg[256];
	char vma[600];
	memset(vma, 0, sizeof(vma));
	memcpy(vma, "VMA", 4);
	ck_assert_int_eq(check(vma, sizeof(vma), &f, msg, sizeof(msg)), PE_OK);
	ck_assert_int_eq(f.format, ARCHIVE_VMA);
	static const char lzo[] = "\x89LZO\x00\r\n\x1a\nrest";
	ck_assert_int_eq(check(lzo, sizeof(lzo) - 1, &f, msg, sizeof(msg)), PE_OK);
	ck_assert_int_eq(f.codec, ARCHIVE_LZO);
	ck_assert_int_eq(check("abc", 3, &f, msg, sizeof(msg)), PE_OK); /* shorter than any magic: plain */
	ck_assert_int_eq(f.codec, ARCHIVE_PLAIN);
	ck_assert_uint_eq(f.out_bytes, 3);
	ck_assert_int_eq(check("", 0, &f, msg, sizeof(msg)), PE_PARSE);
	ck_assert_str_eq(msg, "the file is empty");
	ck_assert_str_eq(archive_codec_str(ARCHIVE_ZSTD), "zstd");
	ck_assert_str_eq(archive_format_str(ARCHIVE_TAR), "tar");
}
END_TEST

/* A real GNU tar archive (pax format, long names, a symlink, a hard link), gzipped by tar itself. */
START_TEST(test_real_gnu_tar)
{
	char dir[] = "/tmp/pe-archive-XXXXXX", cmd[1024], path[600], msg[256];
	struct archive_facts f;
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd),
		 "cd %s && mkdir -p src/%0150d && head -c 300000 /dev/urandom > src/%0150d/blob && "
		 "ln -s blob src/%0150d/link && ln src/%0150d/blob src/hard && "
		 "tar --format=pax -czf a.tar.gz src && tar --format=gnu -cf a.tar src",
		 dir, 0, 0, 0, 0);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/a.tar.gz", dir);
	ck_assert_msg(archive_check_file(path, NULL, NULL, NULL, &f, msg, sizeof(msg)) == PE_OK, "%s", msg);
	ck_assert_int_eq(f.codec, ARCHIVE_GZIP);
	ck_assert_int_eq(f.format, ARCHIVE_TAR);
	ck_assert_uint_eq(f.members, 5); /* src/, the long dir, blob, link, hard */
	snprintf(path, sizeof(path), "%s/a.tar", dir);
	ck_assert_msg(archive_check_file(path, NULL, NULL, NULL, &f, msg, sizeof(msg)) == PE_OK, "%s", msg);
	ck_assert_uint_eq(f.members, 5);
	ck_assert_int_eq(truncate(path, (off_t)f.in_bytes - 20000), 0);
	ck_assert_int_eq(archive_check_file(path, NULL, NULL, NULL, &f, msg, sizeof(msg)), PE_PARSE);
	ck_assert_ptr_nonnull(strstr(msg, "tar: "));
	snprintf(path, sizeof(path), "%s/none", dir);
	ck_assert_int_eq(archive_check_file(path, NULL, NULL, NULL, &f, msg, sizeof(msg)), PE_IO);
	ck_assert_str_eq(msg, "No such file or directory");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static void count_progress(void *ctx, unsigned long long done, unsigned long long total)
{
	(void)done;
	(void)total;
	(*(int *)ctx)++;
}

START_TEST(test_stop_and_progress)
{
	char path[] = "/tmp/pe-archive-file-XXXXXX", msg[256];
	struct archive_facts f;
	int fd = mkstemp(path), calls = 0;
	static char block[1 << 20];
	ck_assert_int_ge(fd, 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(write(fd, block, sizeof(block)), (ssize_t)sizeof(block));
	close(fd);
	ck_assert_int_eq(archive_check_file(path, NULL, count_progress, &calls, &f, msg, sizeof(msg)), PE_OK);
	ck_assert_int_eq(calls, 3);
	volatile sig_atomic_t stop = 1;
	ck_assert_int_eq(archive_check_file(path, &stop, NULL, NULL, &f, msg, sizeof(msg)), PE_TIMEOUT);
	ck_assert_str_eq(msg, "interrupted after 0 bytes");
	unlink(path);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("archive_check");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_plain_tar);
	tcase_add_test(tc, test_tar_truncated_anywhere);
	tcase_add_test(tc, test_tar_corrupt_header_and_trailing_data);
	tcase_add_test(tc, test_tar_base256_and_pax_sizes);
	tcase_add_test(tc, test_gzip);
	tcase_add_test(tc, test_gzip_multi_member_raw);
	tcase_add_test(tc, test_zstd);
	tcase_add_test(tc, test_raw_vma_lzo_empty);
	tcase_add_test(tc, test_real_gnu_tar);
	tcase_add_test(tc, test_stop_and_progress);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
