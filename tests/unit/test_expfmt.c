/* test_expfmt.c - the exposition format: families, escaping, values, names, golden output. */
#include "testutil.h"

#include <math.h>

#include "expfmt.h"

static const struct expfmt_desc d_a = {"persistence_a", EXPFMT_GAUGE, "First \\ family\nwith newline."};
static const struct expfmt_desc d_b = {"persistence_events_total", EXPFMT_COUNTER, "Second family."};
static const struct expfmt_desc d_bad = {"0bad name", EXPFMT_GAUGE, "Invalid."};
static const struct expfmt_desc d_a_counter = {"persistence_a", EXPFMT_COUNTER, "Type clash."};

static char *render(struct expfmt *e)
{
	struct buf out;
	buf_init(&out, 0);
	ck_assert_int_eq(expfmt_write(e, &out), PE_OK);
	buf_add(&out, "", 0);
	return buf_steal(&out, NULL);
}

START_TEST(test_families_once_sorted_and_grouped)
{
	struct expfmt *e = expfmt_new(0);
	expfmt_add(e, &d_b, 3, "x", "1", NULL);
	expfmt_add(e, &d_a, 1, "source", "home", NULL);
	expfmt_add(e, &d_b, 4, "x", "2", NULL);
	expfmt_add(e, &d_a, 2.5, NULL);
	ck_assert_int_eq(expfmt_err(e), PE_OK);
	ck_assert_uint_eq(expfmt_samples(e), 4);
	char *text = render(e);
	ck_assert_str_eq(text, "# HELP persistence_a First \\\\ family\\nwith newline.\n"
			       "# TYPE persistence_a gauge\n"
			       "persistence_a{source=\"home\"} 1\n"
			       "persistence_a 2.5\n"
			       "# HELP persistence_events_total Second family.\n"
			       "# TYPE persistence_events_total counter\n"
			       "persistence_events_total{x=\"1\"} 3\n"
			       "persistence_events_total{x=\"2\"} 4\n");
	tu_assert_promtool_clean(text);
	free(text);
	expfmt_free(e);
}
END_TEST

START_TEST(test_label_escaping_and_utf8)
{
	struct buf b;
	buf_init(&b, 0);
	expfmt_escape_label_value(&b, "a\"b\\c\nd");
	ck_assert_str_eq(buf_str(&b), "a\\\"b\\\\c\\nd");
	buf_reset(&b);
	expfmt_escape_label_value(&b, "ok \xc3\xa9 bad \xff\xfe end \xe2\x82");
	ck_assert_str_eq(buf_str(&b),
			 "ok \xc3\xa9 bad \xef\xbf\xbd\xef\xbf\xbd end \xef\xbf\xbd\xef\xbf\xbd");
	buf_reset(&b);
	expfmt_escape_label_value(&b, "\xed\xa0\x80"); /* a UTF-16 surrogate is not valid UTF-8 */
	ck_assert_str_eq(buf_str(&b), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	buf_free(&b);

	struct expfmt *e = expfmt_new(0);
	expfmt_add(e, &d_a, 1, "name", "evil\"} 666\n# HELP x", NULL);
	char *text = render(e);
	ck_assert_ptr_nonnull(strstr(text, "persistence_a{name=\"evil\\\"} 666\\n# HELP x\"} 1\n"));
	tu_assert_promtool_clean(text);
	free(text);
	expfmt_free(e);
}
END_TEST

START_TEST(test_values)
{
	char v[64];
	expfmt_format_value(v, sizeof(v), NAN);
	ck_assert_str_eq(v, "NaN");
	expfmt_format_value(v, sizeof(v), INFINITY);
	ck_assert_str_eq(v, "+Inf");
	expfmt_format_value(v, sizeof(v), -INFINITY);
	ck_assert_str_eq(v, "-Inf");
	expfmt_format_value(v, sizeof(v), 1764115200);
	ck_assert_str_eq(v, "1764115200");
	expfmt_format_value(v, sizeof(v), 19220840448.0);
	ck_assert_str_eq(v, "19220840448");
	expfmt_format_value(v, sizeof(v), 0.1);
	ck_assert_str_eq(v, "0.1");
	expfmt_format_value(v, sizeof(v), -0.25);
	ck_assert_str_eq(v, "-0.25");
	expfmt_format_value(v, sizeof(v), 1e300);
	ck_assert_double_eq(strtod(v, NULL), 1e300);
	expfmt_format_value(v, sizeof(v), 1.0 / 3.0);
	ck_assert_double_eq(strtod(v, NULL), 1.0 / 3.0);
}
END_TEST

START_TEST(test_names)
{
	ck_assert(expfmt_valid_metric_name("persistence_x:y_z9"));
	ck_assert(!expfmt_valid_metric_name("9x"));
	ck_assert(!expfmt_valid_metric_name(""));
	ck_assert(!expfmt_valid_metric_name("a-b"));
	ck_assert(expfmt_valid_label_name("vmid"));
	ck_assert(!expfmt_valid_label_name("__reserved"));
	ck_assert(!expfmt_valid_label_name("a:b"));

	struct expfmt *e = expfmt_new(0);
	expfmt_add(e, &d_bad, 1, NULL);
	ck_assert_int_eq(expfmt_err(e), PE_INVAL);
	expfmt_free(e);
	e = expfmt_new(0);
	expfmt_add(e, &d_a, 1, "bad-label", "x", NULL);
	ck_assert_int_eq(expfmt_err(e), PE_INVAL);
	expfmt_free(e);
	e = expfmt_new(0);
	expfmt_add(e, &d_a, 1, NULL);
	expfmt_add(e, &d_a_counter, 1, NULL);
	ck_assert_int_eq(expfmt_err(e), PE_INVAL);
	expfmt_free(e);
}
END_TEST

START_TEST(test_merge_and_cap)
{
	struct expfmt *a = expfmt_new(0), *b = expfmt_new(0);
	expfmt_add(a, &d_a, 1, "s", "a", NULL);
	expfmt_add(b, &d_a, 2, "s", "b", NULL);
	expfmt_add(b, &d_b, 5, NULL);
	ck_assert_int_eq(expfmt_merge(a, b), PE_OK);
	ck_assert_uint_eq(expfmt_samples(a), 3);
	ck_assert_uint_eq(expfmt_samples(b), 0);
	char *text = render(a);
	ck_assert_ptr_nonnull(strstr(text, "persistence_a{s=\"a\"} 1\npersistence_a{s=\"b\"} 2\n"));
	ck_assert_int_eq(strstr(text, "# HELP persistence_a ") == strrchr(text, '#') ? 0 : 1, 1);
	free(text);
	expfmt_free(a);
	expfmt_free(b);

	struct expfmt *c = expfmt_new(64);
	for (int i = 0; i < 10; i++)
		expfmt_add(c, &d_a, i, "i", "xxxxxxxx", NULL);
	ck_assert_int_eq(expfmt_err(c), PE_TOOBIG);
	ck_assert_uint_lt(expfmt_samples(c), 10);
	expfmt_free(c);
	expfmt_free(NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("expfmt");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_families_once_sorted_and_grouped);
	tcase_add_test(tc, test_label_escaping_and_utf8);
	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_merge_and_cap);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
