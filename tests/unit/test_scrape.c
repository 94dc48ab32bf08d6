/* test_scrape.c - the scrape: deadline, phases, collect[] filters, the state's memory of warnings. */
#include "collectutil.h"

START_TEST(test_deadline_holds_and_slow_collector_fails)
{
	static const struct collector *const table[] = {&col_json, &col_sleepy, NULL};
	struct tu_upstream u;
	struct scrape_state *st = new_state(&u, table);
	struct config *cfg = tu_config_new();
	routes[0].body = "{\"value\": 7}";
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	char *text = tu_scrape_text(st, cfg, NULL, 0, 1.0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	ck_assert_msg(took < 2.5, "scrape took %.2f s past a 1 s deadline", took);
	ck_assert_ptr_nonnull(strstr(text, "persistence_test_value{source=\"a\"} 7\n"));
	ck_assert_ptr_null(strstr(text, "persistence_test_value{source=\"b\"}"));
	ck_assert_ptr_nonnull(strstr(text, "persistence_scrape_collector_success{collector=\"sleepy\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(text, "persistence_scrape_collector_success{collector=\"json\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(text, "persistence_source_up{source=\"b\",kind=\"testkind\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(text, "persistence_source_up{source=\"a\",kind=\"testkind\"} 1\n"));
	tu_assert_promtool_clean(text);
	free(text);
	config_unref(cfg);
	scrape_state_free(st);
}
END_TEST

START_TEST(test_phase1_reads_facts_and_filter_pulls_dependencies)
{
	static const struct collector *const table[] = {&col_json, &col_phase1, NULL};
	struct tu_upstream u;
	struct scrape_state *st = new_state(&u, table);
	struct config *cfg = tu_config_new();
	routes[0].body = "{\"value\": 9}";
	phase1_seen = 0;
	const char *only[] = {"late"};
	char *text = tu_scrape_text(st, cfg, only, 1, 5);
	ck_assert_double_eq(phase1_seen, 9);
	ck_assert_ptr_null(strstr(text, "persistence_test_value"));
	ck_assert_ptr_null(strstr(text, "collector=\"json\""));
	ck_assert_ptr_nonnull(strstr(text, "persistence_scrape_collector_success{collector=\"late\"} 1\n"));
	free(text);
	const char *json_only[] = {"json"};
	phase1_seen = 0;
	text = tu_scrape_text(st, cfg, json_only, 1, 5);
	ck_assert_double_eq(phase1_seen, 0);
	ck_assert_ptr_nonnull(strstr(text, "persistence_test_value{source=\"a\"} 9\n"));
	free(text);
	config_unref(cfg);
	scrape_state_free(st);
}
END_TEST

START_TEST(test_warn_level_once_per_condition)
{
	struct tu_upstream u;
	static const struct collector *const table[] = {NULL};
	struct scrape_state *st = new_state(&u, table);
	struct config *cfg = tu_config_new();
	struct scrape *s = scrape_new(st, cfg, 5, NULL, 0);
	ck_assert_int_eq(scrape_warn_level(s, "pve/home/403"), LOG_LVL_WARN);
	ck_assert_int_eq(scrape_warn_level(s, "pve/home/403"), LOG_LVL_DEBUG);
	ck_assert_int_eq(scrape_warn_level(s, "pve/home/500"), LOG_LVL_WARN);
	scrape_free(s);
	/* the memory lives in the state: a later scrape does not warn again */
	s = scrape_new(st, cfg, 5, NULL, 0);
	ck_assert_int_eq(scrape_warn_level(s, "pve/home/403"), LOG_LVL_DEBUG);
	ck_assert_int_eq(scrape_once(s, "docker/cap"), 1);
	ck_assert_int_eq(scrape_once(s, "docker/cap"), 0);
	scrape_free(s);
	config_unref(cfg);
	scrape_state_free(st);
}
END_TEST

static Suite *scrape_suite(void)
{
	Suite *s = suite_create("scrape");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_deadline_holds_and_slow_collector_fails);
	tcase_add_test(tc, test_phase1_reads_facts_and_filter_pulls_dependencies);
	tcase_add_test(tc, test_warn_level_once_per_condition);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(scrape_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
