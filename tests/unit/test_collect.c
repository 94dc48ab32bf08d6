/* test_collect.c - the collector API: bad answers classified, JSON walked element by element, rate-limited warnings. */
#include "collectutil.h"
#include "collect_task.h"

/* Runs col_json against one canned answer and returns the source's error text. */
static void expect_failure(const char *body, long status, const char *content_type, const char *want)
{
	static const struct collector *const table[] = {&col_json, NULL};
	struct tu_upstream u;
	struct scrape_state *st = new_state(&u, table);
	struct config *cfg = tu_config_new();
	routes[0].body = body;
	routes[0].delay = 0;
	routes[0].status = status;
	routes[0].content_type = content_type;
	struct scrape *s = scrape_new(st, cfg, 5, NULL, 0);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(scrape_run(s), PE_OK);
	ck_assert_uint_eq(scrape_nsources(s), 1);
	const struct source_result *r = scrape_source(s, 0);
	ck_assert_int_eq(r->up, 0);
	ck_assert_msg(strstr(r->error, want) != NULL, "error \"%s\" lacks \"%s\"", r->error, want);
	scrape_free(s);
	routes[0].status = 0;
	routes[0].content_type = NULL;
	config_unref(cfg);
	scrape_state_free(st);
}

/* Counts the lines containing needle that the logger writes to stderr while fn runs. */
static int count_logged(void (*fn)(struct collect *), struct collect *c, const char *needle)
{
	char path[] = "/tmp/pe-test-log-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	int saved = dup(STDERR_FILENO);
	ck_assert_int_ge(dup2(fd, STDERR_FILENO), 0);
	fn(c);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fd);
	char *text = tu_read_file(path, NULL);
	unlink(path);
	ck_assert_ptr_nonnull(text);
	int n = 0;
	for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
		n++;
	free(text);
	return n;
}

static void warn_three_times(struct collect *c)
{
	collect_warn(c, "dump folder not scanned", "dir", "/mnt/nas/dump", "err", "Stale file handle");
	collect_warn(c, "dump folder not scanned", "dir", "/mnt/nas/dump", "err", "Stale file handle");
	/* a changed error is news */
	collect_warn(c, "dump folder not scanned", "dir", "/mnt/nas/dump", "err", "Input/output error");
}

START_TEST(test_bad_answers_are_classified)
{
	expect_failure("<html><body>n8n is starting</body></html>", 200, "text/html", "HTML instead of JSON");
	expect_failure("{\"value\": 7", 200, NULL, "invalid or truncated JSON");
	expect_failure("", 200, NULL, "empty body");
	expect_failure("{\"data\":null,\"message\":\"authentication failure\\n\"}", 401, NULL,
		       "HTTP 401: authentication failure");
	expect_failure("{\"data\":null}", 596, NULL, "HTTP 596");
	expect_failure("<html>Not Found</html>", 404, "text/html", "(HTML body)");
	expect_failure("{\"novalue\": 1}", 200, NULL, "no value");
}
END_TEST

START_TEST(test_json_each_walks_the_member_array)
{
	expect_walk("{\"other\":{\"data\":[9,9]},\"data\":[{\"v\":1},{\"v\":2,\"x\":[{}]}],\"tail\":\"]}\"}",
		    "2", "3");
	expect_walk(" [ {\"v\": 5} ] \n", "1", "5"); /* a bare array (pvesh) */
	expect_walk("{\"data\":[]}", "0", "0");
	expect_walk("{\"data\":[{\"v\":1}],\"data\":[{\"v\":100}]}", "1", "1"); /* first one, like cJSON */
	expect_walk("{\"data\":[1,2,3,4]}", "4", "10");
}
END_TEST

START_TEST(test_json_each_rejects_bad_bodies)
{
	expect_walk_error("{\"data\":[{\"v\":1},{\"v\":2}", "invalid or truncated JSON");
	expect_walk_error("{\"data\":[{\"v\":1},{\"v\":", "invalid or truncated JSON");
	expect_walk_error("{\"data\":[1,]}", "invalid or truncated JSON near byte 11");
	expect_walk_error("{\"data\":[1]} trailing", "invalid or truncated JSON");
	expect_walk_error("{\"data\":[1]}{}", "invalid or truncated JSON");
	expect_walk_error("{1:[1]}", "invalid or truncated JSON");
	expect_walk_error("{\"data\" [1]}", "invalid or truncated JSON");
	expect_walk_error("{\"data\":null}", "not an array: data");
	expect_walk_error("{\"data\":{\"v\":1}}", "not an array: data");
	expect_walk_error("{\"x\":1}", "answer has no member data");
	expect_walk_error("{}", "answer has no member data");
	expect_walk_error("\"data\"", "invalid or truncated JSON");
	expect_walk_error("<html><body>starting</body></html>", "HTML instead of JSON");
	expect_walk_error("", "empty body");
}
END_TEST

START_TEST(test_collect_warn_rate_limited)
{
	struct config *cfg = tu_config_new();
	struct ratelimit *limits = ratelimit_new(RATELIMIT_MAX_KEYS);
	struct collect_env env = {.limits = limits};
	struct collect c;
	ck_assert_int_eq(collect_task_init(&c, &env, cfg, 0, "nas", 0), PE_OK);
	log_setup(LOG_LVL_INFO, LOG_FMT_LOGFMT);
	ck_assert_int_eq(count_logged(warn_three_times, &c, "level=warn msg=\"dump folder not scanned\""), 2);
	ck_assert_int_eq(count_logged(warn_three_times, &c, "level=warn"), 0);
	collect_task_free(&c);
	ratelimit_free(limits);
	config_unref(cfg);
}
END_TEST

/* ---------- collect_prefetch(), collect_wait_any() ---------- */

static struct tu_route slow_routes[] = {
	{.path = "/s1", .body = "{\"value\": 1}", .delay = 2},
	{.path = "/s2", .body = "{\"value\": 2}", .delay = 2},
	{.path = "/s3", .body = "{\"value\": 3}", .delay = 2},
	{.path = "/fast", .body = "{\"value\": 4}"},
	{.path = "/broken", .status = 500, .body = "{\"message\":\"down\"}"},
};
static int wait_any_first = -2;

/* Prefetches three slow answers and a failing one, then reads them one by one. */
static enum perr collect_prefetching(struct collect *c)
{
	static const char *const paths[] = {"/s1", "/s2", "/s3"};
	const char *body;
	size_t len;
	char msg[256];
	double sum = 0;

	for (size_t i = 0; i < 3; i++)
		collect_prefetch(c, &test_target, paths[i], NULL);
	collect_prefetch(c, &test_target, "/broken", NULL);
	for (size_t i = 0; i < 3; i++) {
		if (collect_get_body(c, &test_target, paths[i], &body, &len, msg, sizeof(msg)) != PE_OK)
			return PE_HTTP;
		sum += (double)(body[len - 2] - '0');
	}
	/* a failure of this scrape's prefetch is not asked twice */
	if (collect_get_body(c, &test_target, "/broken", &body, &len, msg, sizeof(msg)) != PE_HTTP)
		return PE_INTERNAL;
	expfmt_add(c->out, &d_value, sum, "source", c->source, NULL);
	return PE_OK;
}

/* Waits for the first of a slow and a fast answer. */
static enum perr collect_waiting(struct collect *c)
{
	static const char *const paths[] = {"/s1", "/fast"};

	collect_prefetch(c, &test_target, paths[0], NULL);
	collect_prefetch(c, &test_target, paths[1], NULL);
	wait_any_first = collect_wait_any(c, &test_target, paths, 2);
	return PE_OK;
}

static const struct collector col_prefetching = {"prefetching", "testkind", 0,
						 count_one,     name_a,     collect_prefetching};
static const struct collector col_waiting = {"waiting", "testkind", 0, count_one, name_a, collect_waiting};

/* Three 2 s answers prefetched together take about 2 s, not 6, and each path is asked once (ttl 0). */
START_TEST(test_prefetched_answers_overlap)
{
	static const struct collector *const table[] = {&col_prefetching, NULL};
	struct tu_upstream u;
	struct scrape_state *st = scrape_state_new();
	struct config *cfg = tu_config_new();
	struct timespec t0, t1;

	ck_assert_ptr_nonnull(st);
	tu_upstream_init(&u, slow_routes, sizeof(slow_routes) / sizeof(slow_routes[0]));
	scrape_state_set_transport(st, tu_transport, &u);
	scrape_state_set_collectors(st, table);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	char *text = tu_scrape_text(st, cfg, NULL, 0, 10);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	ck_assert_msg(took < 5.0, "three prefetched 2 s answers took %.2f s", took);
	ck_assert_ptr_nonnull(strstr(text, "persistence_test_value{source=\"a\"} 6\n"));
	ck_assert_int_eq(u.calls, 4);
	free(text);
	config_unref(cfg);
	scrape_state_free(st);
}
END_TEST

START_TEST(test_wait_any_returns_the_first_answer)
{
	static const struct collector *const table[] = {&col_waiting, NULL};
	struct tu_upstream u;
	struct scrape_state *st = scrape_state_new();
	struct config *cfg = tu_config_new();

	ck_assert_ptr_nonnull(st);
	tu_upstream_init(&u, slow_routes, sizeof(slow_routes) / sizeof(slow_routes[0]));
	scrape_state_set_transport(st, tu_transport, &u);
	scrape_state_set_collectors(st, table);
	free(tu_scrape_text(st, cfg, NULL, 0, 10));
	ck_assert_int_eq(wait_any_first, 1); /* /fast, while /s1 still runs */
	config_unref(cfg);
	scrape_state_free(st);
}
END_TEST

static Suite *collect_suite(void)
{
	Suite *s = suite_create("collect");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_bad_answers_are_classified);
	tcase_add_test(tc, test_json_each_walks_the_member_array);
	tcase_add_test(tc, test_json_each_rejects_bad_bodies);
	tcase_add_test(tc, test_collect_warn_rate_limited);
	tcase_add_test(tc, test_prefetched_answers_overlap);
	tcase_add_test(tc, test_wait_any_returns_the_first_answer);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(collect_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
