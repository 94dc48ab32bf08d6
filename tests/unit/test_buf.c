/* test_buf.c - the bounded buffer: growth, cap, sticky error, steal. */
#include "testutil.h"
#include "html.h"

START_TEST(test_grows_and_terminates)
{
	struct buf b;
	buf_init(&b, 0);
	ck_assert_str_eq(buf_str(&b), "");
	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(buf_addf(&b, "%04d,", i), PE_OK);
	ck_assert_uint_eq(b.len, 5000);
	ck_assert_int_eq(strncmp(buf_str(&b), "0000,0001,", 10), 0);
	ck_assert_int_eq(b.data[b.len], '\0');
	char big[600];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(buf_addf(&b, "%s", big), PE_OK); /* longer than the small-format path */
	ck_assert_uint_eq(b.len, 5599);
	buf_free(&b);
}
END_TEST

START_TEST(test_cap_is_sticky)
{
	struct buf b;
	buf_init(&b, 8);
	ck_assert_int_eq(buf_adds(&b, "12345678"), PE_OK);
	ck_assert_int_eq(buf_addc(&b, '9'), PE_TOOBIG);
	ck_assert_int_eq(buf_adds(&b, ""), PE_TOOBIG); /* sticky even for an empty append */
	ck_assert_int_eq(buf_err(&b), PE_TOOBIG);
	ck_assert_str_eq(buf_str(&b), "12345678");
	buf_reset(&b);
	ck_assert_int_eq(buf_err(&b), PE_OK);
	ck_assert_str_eq(buf_str(&b), "");
	ck_assert_int_eq(buf_addf(&b, "%d", 123456789), PE_TOOBIG);
	buf_free(&b);
}
END_TEST

START_TEST(test_steal)
{
	struct buf b;
	size_t len = 0;
	buf_init(&b, 0);
	buf_adds(&b, "hello");
	char *p = buf_steal(&b, &len);
	ck_assert_str_eq(p, "hello");
	ck_assert_uint_eq(len, 5);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	free(p);
	buf_free(&b);
	buf_free(NULL);
}
END_TEST

/* html_escape (html.c) writes into a buf: every page's one escaper. */
START_TEST(test_html_escape)
{
	struct buf b;
	buf_init(&b, 0);
	html_escape(&b, "<a href=\"x\">Tom & Jerry's</a>\x01\x7f\t");
	html_escape(&b, NULL);
	ck_assert_str_eq(buf_str(&b), "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;???");
	buf_free(&b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_grows_and_terminates);
	tcase_add_test(tc, test_cap_is_sticky);
	tcase_add_test(tc, test_steal);
	tcase_add_test(tc, test_html_escape);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
