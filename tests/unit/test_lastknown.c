/* test_lastknown.c - values remembered across scrapes: put, get, forget, expiry, the key cap. */
#include "testutil.h"

#include "lastknown.h"

START_TEST(test_put_get_forget)
{
	struct lastknown *m = lastknown_new();
	double v = 0, at = 0;
	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(lastknown_get(m, "a", 1000, &v, &at), 0);
	ck_assert_int_eq(lastknown_put(m, "a", 42, 1000), PE_OK);
	ck_assert_int_eq(lastknown_put(m, "b", 7, 1000), PE_OK);
	ck_assert_int_eq(lastknown_get(m, "a", 2000, &v, &at), 1);
	ck_assert(v == 42 && at == 1000);
	/* a newer read replaces value and time */
	ck_assert_int_eq(lastknown_put(m, "a", 43, 1500), PE_OK);
	ck_assert_int_eq(lastknown_get(m, "a", 2000, &v, &at), 1);
	ck_assert(v == 43 && at == 1500);
	lastknown_forget(m, "a");
	lastknown_forget(m, "never-put");
	ck_assert_int_eq(lastknown_get(m, "a", 2000, &v, &at), 0);
	ck_assert_int_eq(lastknown_get(m, "b", 2000, &v, &at), 1);
	ck_assert(v == 7);
	lastknown_free(m);
	lastknown_free(NULL);
}
END_TEST

/* Handed out for LASTKNOWN_MAX_AGE after the read, then dropped. */
START_TEST(test_expiry)
{
	struct lastknown *m = lastknown_new();
	double v, at;
	ck_assert_int_eq(lastknown_put(m, "a", 1, 1000), PE_OK);
	ck_assert_int_eq(lastknown_get(m, "a", 1000 + LASTKNOWN_MAX_AGE, &v, &at), 1);
	ck_assert_int_eq(lastknown_get(m, "a", 1001 + LASTKNOWN_MAX_AGE, &v, &at), 0);
	/* dropped, not just hidden: an earlier "now" does not bring it back */
	ck_assert_int_eq(lastknown_get(m, "a", 1000, &v, &at), 0);
	lastknown_free(m);
}
END_TEST

/* Past LASTKNOWN_MAX_KEYS new keys are refused (PE_TOOBIG); known keys still update. */
START_TEST(test_key_cap)
{
	struct lastknown *m = lastknown_new();
	char key[32];
	double v, at;
	for (int i = 0; i < LASTKNOWN_MAX_KEYS; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		ck_assert_int_eq(lastknown_put(m, key, i, 1000), PE_OK);
	}
	ck_assert_int_eq(lastknown_put(m, "one-more", 1, 1000), PE_TOOBIG);
	ck_assert_int_eq(lastknown_put(m, "k5", 55, 1000), PE_OK);
	ck_assert_int_eq(lastknown_get(m, "k5", 1000, &v, &at), 1);
	ck_assert(v == 55);
	lastknown_forget(m, "k0");
	ck_assert_int_eq(lastknown_put(m, "one-more", 1, 1000), PE_OK);
	lastknown_free(m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lastknown");
	TCase *tc = tcase_create("lastknown");
	tcase_add_test(tc, test_put_get_forget);
	tcase_add_test(tc, test_expiry);
	tcase_add_test(tc, test_key_cap);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
