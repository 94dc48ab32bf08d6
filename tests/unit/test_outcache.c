/* test_outcache.c - the rendered-output cache: reuse, filters, invalidation, errors, gzip. */
#include "outcache.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* A fake collection: counts calls and renders "n=<call number> filter=<names>". */
struct fake {
	pthread_mutex_t lock;
	int calls;
	enum perr fail; /* returned when set */
	int gate; /* while set, make waits for it to clear */
	pthread_cond_t cond;
};

static enum perr fake_make(void *ctx, const char *const *collect, size_t n, double timeout, struct scrape **s,
			   struct buf *plain)
{
	struct fake *f = ctx;
	(void)timeout;
	(void)s;
	pthread_mutex_lock(&f->lock);
	int call = ++f->calls;
	pthread_cond_broadcast(&f->cond);
	while (f->gate)
		pthread_cond_wait(&f->cond, &f->lock);
	enum perr rc = f->fail;
	pthread_mutex_unlock(&f->lock);
	buf_addf(plain, "n=%d", call);
	for (size_t i = 0; i < n; i++)
		buf_addf(plain, " %s", collect[i]);
	buf_addf(plain, "\n");
	return rc;
}

static void fake_init(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
}

static void fake_destroy(struct fake *f)
{
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
}

static char *get_plain(struct outcache *oc, struct fake *f, double ttl, const char *const *c, size_t n)
{
	struct outcache_entry *e = NULL;
	ck_assert_int_eq(outcache_get(oc, ttl, c, n, 1, fake_make, f, &e), PE_OK);
	size_t len;
	const char *p = outcache_plain(e, &len);
	char *copy = strndup(p, len);
	ck_assert_ptr_null(outcache_scrape(e));
	outcache_release(e);
	return copy;
}

START_TEST(reuse_within_ttl_and_invalidate)
{
	struct fake f;
	fake_init(&f);
	struct outcache *oc = outcache_new();
	char *a = get_plain(oc, &f, 60, NULL, 0);
	char *b = get_plain(oc, &f, 60, NULL, 0);
	ck_assert_str_eq(a, "n=1\n");
	ck_assert_str_eq(b, a);
	ck_assert_int_eq(f.calls, 1);
	outcache_invalidate(oc);
	char *c = get_plain(oc, &f, 60, NULL, 0);
	ck_assert_str_eq(c, "n=2\n");
	ck_assert_uint_eq(outcache_made(oc), 2);
	free(a);
	free(b);
	free(c);
	outcache_free(oc);
	fake_destroy(&f);
}
END_TEST

START_TEST(ttl_zero_makes_every_time)
{
	struct fake f;
	fake_init(&f);
	struct outcache *oc = outcache_new();
	char *a = get_plain(oc, &f, 0, NULL, 0);
	char *b = get_plain(oc, &f, 0, NULL, 0);
	ck_assert_str_eq(a, "n=1\n");
	ck_assert_str_eq(b, "n=2\n");
	free(a);
	free(b);
	outcache_free(oc);
	fake_destroy(&f);
}
END_TEST

START_TEST(filters_are_canonical_and_separate)
{
	struct fake f;
	fake_init(&f);
	struct outcache *oc = outcache_new();
	const char *ab[] = {"pve", "mount"}, *ba[] = {"mount", "pve", "mount"}, *one[] = {"pve"};
	char *x = get_plain(oc, &f, 60, ab, 2);
	char *y = get_plain(oc, &f, 60, ba, 3);
	char *z = get_plain(oc, &f, 60, one, 1);
	ck_assert_str_eq(x, "n=1 pve mount\n");
	ck_assert_str_eq(y, x); /* same set of names: same entry */
	ck_assert_str_eq(z, "n=2 pve\n");
	free(x);
	free(y);
	free(z);
	/* More filters than slots: the oldest is dropped and made again, nothing breaks. */
	char names[12][16];
	for (int i = 0; i < 12; i++) {
		snprintf(names[i], sizeof(names[i]), "c%d", i);
		const char *v[] = {names[i]};
		free(get_plain(oc, &f, 60, v, 1));
	}
	ck_assert_int_eq(f.calls, 14);
	const char *last[] = {names[11]};
	free(get_plain(oc, &f, 60, last, 1));
	ck_assert_int_eq(f.calls, 14);
	outcache_free(oc);
	fake_destroy(&f);
}
END_TEST

START_TEST(failure_is_not_cached)
{
	struct fake f;
	fake_init(&f);
	f.fail = PE_TIMEOUT;
	struct outcache *oc = outcache_new();
	struct outcache_entry *e = NULL;
	ck_assert_int_eq(outcache_get(oc, 60, NULL, 0, 1, fake_make, &f, &e), PE_TIMEOUT);
	ck_assert_ptr_null(e);
	f.fail = PE_OK;
	char *a = get_plain(oc, &f, 60, NULL, 0);
	ck_assert_str_eq(a, "n=2\n");
	free(a);
	outcache_free(oc);
	fake_destroy(&f);
}
END_TEST

START_TEST(gzip_round_trip_and_entry_outlives_cache)
{
	struct fake f;
	fake_init(&f);
	struct outcache *oc = outcache_new();
	struct outcache_entry *e = NULL;
	ck_assert_int_eq(outcache_get(oc, 60, NULL, 0, 1, fake_make, &f, &e), PE_OK);
	outcache_free(oc); /* the entry stays valid for its holder */
	size_t gzlen = 0, plen = 0;
	const char *gz = outcache_gzip(e, &gzlen);
	ck_assert_ptr_nonnull(gz);
	ck_assert_ptr_eq(outcache_gzip(e, &gzlen), gz); /* compressed once */
	const char *plain = outcache_plain(e, &plen);
	unsigned char out[64];
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	ck_assert_int_eq(inflateInit2(&zs, 15 + 16), Z_OK);
	zs.next_in = (Bytef *)(uintptr_t)gz;
	zs.avail_in = (uInt)gzlen;
	zs.next_out = out;
	zs.avail_out = sizeof(out);
	ck_assert_int_eq(inflate(&zs, Z_FINISH), Z_STREAM_END);
	ck_assert_uint_eq(zs.total_out, plen);
	ck_assert_mem_eq(out, plain, plen);
	inflateEnd(&zs);
	outcache_release(e);
	fake_destroy(&f);
}
END_TEST

struct waiter {
	struct outcache *oc;
	struct fake *f;
	enum perr rc;
	char *plain;
};

static void *waiter_run(void *arg)
{
	struct waiter *w = arg;
	struct outcache_entry *e = NULL;
	w->rc = outcache_get(w->oc, 60, NULL, 0, 1, fake_make, w->f, &e);
	if (e) {
		size_t len;
		const char *p = outcache_plain(e, &len);
		w->plain = strndup(p, len);
	}
	outcache_release(e);
	return NULL;
}

/* The leader is held inside make; every other request ends up with its result. */
START_TEST(concurrent_requests_share_one_make)
{
	struct fake f;
	fake_init(&f);
	f.gate = 1;
	struct outcache *oc = outcache_new();
	struct waiter w[4];
	pthread_t t[4];
	for (int i = 0; i < 4; i++) {
		w[i] = (struct waiter){oc, &f, PE_INTERNAL, NULL};
		pthread_create(&t[i], NULL, waiter_run, &w[i]);
	}
	pthread_mutex_lock(&f.lock);
	while (f.calls == 0)
		pthread_cond_wait(&f.cond, &f.lock);
	f.gate = 0;
	pthread_cond_broadcast(&f.cond);
	pthread_mutex_unlock(&f.lock);
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(w[i].rc, PE_OK);
		ck_assert_str_eq(w[i].plain, "n=1\n");
		free(w[i].plain);
	}
	ck_assert_int_eq(f.calls, 1);
	outcache_free(oc);
	fake_destroy(&f);
}
END_TEST

static Suite *outcache_suite(void)
{
	Suite *s = suite_create("outcache");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, reuse_within_ttl_and_invalidate);
	tcase_add_test(tc, ttl_zero_makes_every_time);
	tcase_add_test(tc, filters_are_canonical_and_separate);
	tcase_add_test(tc, failure_is_not_cached);
	tcase_add_test(tc, gzip_round_trip_and_entry_outlives_cache);
	tcase_add_test(tc, concurrent_requests_share_one_make);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(outcache_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
