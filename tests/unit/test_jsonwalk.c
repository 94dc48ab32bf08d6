/* test_jsonwalk.c - the element walker, whole and in pieces: the same elements, verdicts and messages. */
#include "testutil.h"

#include <cjson/cJSON.h>

#include "jsonwalk.h"

struct seen {
	int n;
	double sum;
};

static void add_item(void *ctx, const cJSON *item)
{
	struct seen *s = ctx;
	const cJSON *v = cJSON_IsObject(item) ? cJSON_GetObjectItemCaseSensitive(item, "v") : item;
	s->n++;
	if (cJSON_IsNumber(v))
		s->sum += v->valuedouble;
}

/* Walks body byte by byte and whole; both must agree, and agree with want (an error text, or NULL). */
static void walk_both(const char *body, int want_n, double want_sum, const char *want)
{
	struct seen whole = {0, 0}, bytes = {0, 0};
	char m1[256] = "", m2[256] = "";
	size_t len = strlen(body);
	enum perr e1 = jsonwalk_each(body, len, "data", add_item, &whole, m1, sizeof(m1));
	struct jsonwalk *w = jsonwalk_new("data", add_item, &bytes);

	ck_assert_ptr_nonnull(w);
	for (size_t i = 0; i < len; i++)
		jsonwalk_feed(w, body + i, 1);
	enum perr e2 = jsonwalk_end(w, len, m2, sizeof(m2));
	jsonwalk_free(w);
	ck_assert_int_eq(e1, e2);
	ck_assert_str_eq(m1, m2);
	ck_assert_int_eq(whole.n, bytes.n);
	ck_assert_double_eq(whole.sum, bytes.sum);
	if (want) {
		ck_assert_int_eq(e1, PE_PARSE);
		ck_assert_msg(strstr(m1, want) != NULL, "\"%s\" lacks \"%s\"", m1, want);
	} else {
		ck_assert_int_eq(e1, PE_OK);
		ck_assert_int_eq(whole.n, want_n);
		ck_assert_double_eq(whole.sum, want_sum);
	}
}

START_TEST(test_pieces_walk_as_the_whole)
{
	walk_both("{\"data\":[{\"v\":1},{\"v\":2,\"s\":\"a,]}\\\"\"},{\"v\":[3]},4]}", 4, 7, NULL);
	walk_both("[1, 2 ,3]", 3, 6, NULL); /* a bare array (pvesh) */
	walk_both(" {\"x\":{\"data\":[9]},\"data\":[ ] , \"y\":\"}\"} ", 0, 0, NULL);
	walk_both("{\"data\":[1,2],\"data\":[5]}", 2, 3, NULL); /* the first member counts */
	walk_both("{\"data\":[1,]}", 0, 0, "invalid or truncated JSON near byte 11 of 13");
	walk_both("{\"data\":[1,2", 0, 0, "near byte 12 of 12");
	walk_both("{\"data\":[12a]}", 0, 0, "near byte 11 of 14");
	walk_both("{\"data\":[1]} x", 0, 0, "near byte 13 of 14");
	walk_both("{\"data\":null}", 0, 0, "not an array: data");
	walk_both("{\"other\":[1]}", 0, 0, "answer has no member data");
	walk_both("", 0, 0, "near byte 0 of 0");
}
END_TEST

START_TEST(test_member_state_and_answers)
{
	static const struct {
		const char *body;
		enum jsonwalk_member want;
	} cases[] = {
		{"{\"data\":[]}", JSONWALK_ARRAY},  {"[]", JSONWALK_ARRAY},
		{"{\"data\":null}", JSONWALK_NULL}, {"{\"data\":{}}", JSONWALK_OTHER},
		{"{\"x\":1}", JSONWALK_ABSENT},
	};
	char msg[256];
	struct seen s = {0, 0};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jsonwalk *w = jsonwalk_new("data", add_item, &s);
		jsonwalk_feed(w, cases[i].body, strlen(cases[i].body));
		enum perr e = jsonwalk_end(w, strlen(cases[i].body), msg, sizeof(msg));
		ck_assert_int_eq(e, cases[i].want == JSONWALK_ARRAY ? PE_OK : PE_PARSE);
		ck_assert_int_eq(jsonwalk_member(w), cases[i].want);
		jsonwalk_free(w);
	}
	/* an answer that should be JSON */
	struct jsonwalk *w = jsonwalk_new("data", add_item, &s);
	jsonwalk_feed(w, "  <html>", 8);
	ck_assert_int_eq(jsonwalk_end_answer(w, "text/plain", 8, msg, sizeof(msg)), PE_PARSE);
	ck_assert_str_eq(msg, "HTML instead of JSON (service starting or wrong URL?)");
	jsonwalk_free(w);
	w = jsonwalk_new("data", add_item, &s);
	ck_assert_int_eq(jsonwalk_end_answer(w, "application/json", 0, msg, sizeof(msg)), PE_PARSE);
	ck_assert_str_eq(msg, "empty body where JSON was expected");
	jsonwalk_free(w);
	w = jsonwalk_new("data", add_item, &s);
	jsonwalk_feed(w, "[]", 2);
	ck_assert_int_eq(jsonwalk_end_answer(w, "text/html; charset=utf-8", 2, msg, sizeof(msg)), PE_PARSE);
	jsonwalk_free(w);
}
END_TEST

static Suite *jsonwalk_suite(void)
{
	Suite *s = suite_create("jsonwalk");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_pieces_walk_as_the_whole);
	tcase_add_test(tc, test_member_state_and_answers);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(jsonwalk_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
