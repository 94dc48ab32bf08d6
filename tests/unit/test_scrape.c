/* test_scrape.c - the scrape framework: deadline, concurrency, upstream cache, facts, filters. */
#include "testutil.h"
#include "collect_task.h"

#include <cjson/cJSON.h>

#include "collector.h"
#include "expfmt.h"
#include "log.h"

static const struct expfmt_desc d_value = {"persistence_test_value", EXPFMT_GAUGE, "A test value."};

static size_t count_one(const struct config *cfg)
{
	(void)cfg;
	return 1;
}

static const char *name_a(const struct config *cfg, size_t i)
{
	(void)cfg;
	(void)i;
	return "a";
}

static const char *name_b(const struct config *cfg, size_t i)
{
	(void)cfg;
	(void)i;
	return "b";
}

static const struct fetch_target test_target = {.base_url = "http://upstream.test", .timeout = 30};

/* Reads {"value": N} from /value and publishes it. */
static enum perr collect_json(struct collect *c)
{
	cJSON *doc;
	char msg[256];
	enum perr rc = collect_get_json(c, &test_target, "/value", &doc, msg, sizeof(msg));
	if (rc != PE_OK) {
		collect_fail(c, "%s", msg);
		return rc;
	}
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, "value");
	if (!cJSON_IsNumber(v)) {
		collect_fail(c, "no value");
		return PE_PARSE;
	}
	expfmt_add(c->out, &d_value, v->valuedouble, "source", c->source, NULL);
	collect_fact_set(c, "test", c->source, "value", v->valuedouble, "note");
	return PE_OK;
}

static enum perr collect_sleepy(struct collect *c)
{
	struct timespec ts = {3, 0};
	nanosleep(&ts, NULL);
	expfmt_add(c->out, &d_value, 42, "source", c->source, NULL);
	return PE_OK;
}

static double phase1_seen;

static enum perr collect_phase1(struct collect *c)
{
	double v = -1;
	const char *str = NULL;
	if (collect_fact_get(c, "test", "a", "value", &v, &str) && str && strcmp(str, "note") == 0)
		phase1_seen = v;
	return PE_OK;
}

static const struct collector col_json = {"json", "testkind", 0, count_one, name_a, collect_json};
static const struct collector col_sleepy = {"sleepy", "testkind", 0, count_one, name_b, collect_sleepy};
static const struct collector col_phase1 = {"late", NULL, 1, count_one, NULL, collect_phase1};

static struct tu_route routes[] = {
	{.path = "/value", .body = "{\"value\": 7}"},
};

static struct scrape_state *new_state(struct tu_upstream *u, const struct collector *const *table)
{
	struct scrape_state *st = scrape_state_new();
	ck_assert_ptr_nonnull(st);
	tu_upstream_init(u, routes, 1);
	scrape_state_set_transport(st, tu_transport, u);
	scrape_state_set_collectors(st, table);
	return st;
}

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

START_TEST(test_cache_reuses_answers_within_ttl)
{
	static const struct collector *const table[] = {&col_json, NULL};
	struct tu_upstream u;
	struct scrape_state *st = new_state(&u, table);
	struct config *cfg = tu_config_new();
	routes[0].body = "{\"value\": 7}";
	cfg->global.cache_ttl = 60;
	for (int i = 0; i < 3; i++)
		free(tu_scrape_text(st, cfg, NULL, 0, 5));
	ck_assert_int_eq(u.calls, 1);
	cfg->global.cache_ttl = 0;
	free(tu_scrape_text(st, cfg, NULL, 0, 5));
	free(tu_scrape_text(st, cfg, NULL, 0, 5));
	ck_assert_int_eq(u.calls, 3);
	config_unref(cfg);
	scrape_state_free(st);
}
END_TEST

START_TEST(test_stale_answer_served_while_refresh_is_slow)
{
	static const struct collector *const table[] = {&col_json, NULL};
	struct tu_upstream u;
	struct scrape_state *st = new_state(&u, table);
	struct config *cfg = tu_config_new();
	routes[0].body = "{\"value\": 7}";
	routes[0].delay = 0;
	cfg->global.cache_ttl = 0.2;
	cfg->global.max_staleness = 300;
	free(tu_scrape_text(st, cfg, NULL, 0, 5));
	struct timespec ts = {0, 300 * 1000 * 1000};
	nanosleep(&ts, NULL);
	routes[0].delay = 2;
	char *text = tu_scrape_text(st, cfg, NULL, 0, 0.8);
	ck_assert_ptr_nonnull(strstr(text, "persistence_test_value{source=\"a\"} 7\n"));
	ck_assert_ptr_nonnull(strstr(text, "persistence_source_up{source=\"a\",kind=\"testkind\"} 1\n"));
	free(text);
	/* beyond max_staleness the same situation is a failure */
	cfg->global.max_staleness = 0.1;
	nanosleep(&ts, NULL);
	text = tu_scrape_text(st, cfg, NULL, 0, 0.5);
	ck_assert_ptr_nonnull(strstr(text, "persistence_source_up{source=\"a\",kind=\"testkind\"} 0\n"));
	ck_assert_ptr_null(strstr(text, "persistence_test_value{"));
	free(text);
	routes[0].delay = 0;
	config_unref(cfg);
	scrape_state_free(st);
}
END_TEST

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

static void count_cb(void *ctx, const char *key, double v, const char *str)
{
	(void)str;
	double *sum = ctx;
	if (strncmp(key, "guest/", 6) == 0)
		*sum += v;
}

START_TEST(test_facts)
{
	struct tu_upstream u;
	static const struct collector *const table[] = {NULL};
	struct scrape_state *st = new_state(&u, table);
	struct config *cfg = tu_config_new();
	struct scrape *s = scrape_new(st, cfg, 5, NULL, 0);
	facts_set(scrape_facts(s), "pve", "home", "guest/100/last_backup", 10, NULL);
	facts_set(scrape_facts(s), "pve", "home", "guest/105/last_backup", 20, "x");
	facts_set(scrape_facts(s), "pve", "shop", "guest/100/last_backup", 1000, NULL);
	facts_set(scrape_facts(s), "pve", "home", "other", 5, NULL);
	double v = 0, sum = 0;
	const char *str = NULL;
	ck_assert_int_eq(facts_get(scrape_facts(s), "pve", "home", "guest/105/last_backup", &v, &str), 1);
	ck_assert_double_eq(v, 20);
	ck_assert_str_eq(str, "x");
	ck_assert_int_eq(facts_get(scrape_facts(s), "pve", "home", "guest/999/last_backup", &v, NULL), 0);
	facts_each(scrape_facts(s), "pve", "home", "guest/", count_cb, &sum);
	ck_assert_double_eq(sum, 30);
	scrape_free(s);
	config_unref(cfg);
	scrape_state_free(st);
}
END_TEST

/* ---------- collect_get_json_each(), collect_get_fresh(), packed cache bodies ---------- */

static const struct expfmt_desc d_items = {"persistence_test_items", EXPFMT_GAUGE, "Items walked."};

struct walk_sum {
	double sum;
	size_t n;
};

static void walk_cb(void *ctx, const cJSON *item)
{
	struct walk_sum *w = ctx;
	const cJSON *v = cJSON_IsObject(item) ? cJSON_GetObjectItemCaseSensitive(item, "v") : item;
	w->n++;
	if (cJSON_IsNumber(v))
		w->sum += v->valuedouble;
}

/* Walks data[] of /list: publishes the item count and the sum of their "v". */
static enum perr collect_each(struct collect *c)
{
	struct walk_sum w = {0, 0};
	char msg[256];
	enum perr rc = collect_get_json_each(c, &test_target, "/list", "data", walk_cb, &w, msg, sizeof(msg));
	if (rc != PE_OK) {
		collect_fail(c, "%s", msg);
		return rc;
	}
	expfmt_add(c->out, &d_items, (double)w.n, "source", c->source, NULL);
	expfmt_add(c->out, &d_value, w.sum, "source", c->source, NULL);
	return PE_OK;
}

/* Like collect_json, through collect_get_fresh(). */
static enum perr collect_fresh(struct collect *c)
{
	const struct fetch_resp *r;
	char msg[256];
	enum perr rc = collect_get_fresh(c, &test_target, "/value", &r, msg, sizeof(msg));
	if (rc != PE_OK) {
		collect_fail(c, "%s", msg);
		return rc;
	}
	cJSON *doc = cJSON_ParseWithLength(r->body.data, r->body.len);
	collect_release_resp(c, r);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, "value");
	if (cJSON_IsNumber(v))
		expfmt_add(c->out, &d_value, v->valuedouble, "source", c->source, NULL);
	cJSON_Delete(doc);
	return cJSON_IsNumber(v) ? PE_OK : PE_PARSE;
}

static const struct collector col_each = {"each", "testkind", 0, count_one, name_a, collect_each};
static const struct collector col_fresh = {"fresh", "testkind", 0, count_one, name_a, collect_fresh};

static struct tu_route list_routes[] = {
	{.path = "/list", .body = "{}"},
	{.path = "/value", .body = "{\"value\": 7}"},
};

static struct scrape_state *new_list_state(struct tu_upstream *u, const struct collector *const *table)
{
	struct scrape_state *st = scrape_state_new();
	ck_assert_ptr_nonnull(st);
	tu_upstream_init(u, list_routes, 2);
	scrape_state_set_transport(st, tu_transport, u);
	scrape_state_set_collectors(st, table);
	return st;
}

/* One scrape of col_each over body: the exposition (caller frees). */
static char *walk_text(const char *body)
{
	static const struct collector *const table[] = {&col_each, NULL};
	struct tu_upstream u;
	struct scrape_state *st = new_list_state(&u, table);
	struct config *cfg = tu_config_new();
	list_routes[0].body = body;
	char *text = tu_scrape_text(st, cfg, NULL, 0, 5);
	config_unref(cfg);
	scrape_state_free(st);
	return text;
}

static void expect_walk(const char *body, const char *items, const char *sum)
{
	char *text = walk_text(body);
	char want[128];
	snprintf(want, sizeof(want), "persistence_test_items{source=\"a\"} %s\n", items);
	ck_assert_msg(strstr(text, want) != NULL, "%s: no %s in\n%s", body, want, text);
	snprintf(want, sizeof(want), "persistence_test_value{source=\"a\"} %s\n", sum);
	ck_assert_msg(strstr(text, want) != NULL, "%s: no %s in\n%s", body, want, text);
	free(text);
}

static void expect_walk_error(const char *body, const char *want)
{
	static const struct collector *const table[] = {&col_each, NULL};
	struct tu_upstream u;
	struct scrape_state *st = new_list_state(&u, table);
	struct config *cfg = tu_config_new();
	list_routes[0].body = body;
	struct scrape *s = scrape_new(st, cfg, 5, NULL, 0);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(scrape_run(s), PE_OK);
	const struct source_result *r = scrape_source(s, 0);
	ck_assert_int_eq(r->up, 0);
	ck_assert_msg(strstr(r->error, want) != NULL, "%s: error \"%s\" lacks \"%s\"", body, r->error, want);
	struct buf out;
	buf_init(&out, 0);
	ck_assert_int_eq(scrape_write(s, &out), PE_OK);
	ck_assert_ptr_null(strstr(buf_str(&out), "persistence_test_items{")); /* nothing partial */
	buf_free(&out);
	scrape_free(s);
	config_unref(cfg);
	scrape_state_free(st);
}

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

START_TEST(test_large_cached_body_survives_packing)
{
	static const struct collector *const table[] = {&col_each, NULL};
	struct tu_upstream u;
	struct scrape_state *st = new_list_state(&u, table);
	struct config *cfg = tu_config_new();
	struct buf body;
	buf_init(&body, 0);
	buf_adds(&body, "{\"data\":[");
	for (int i = 0; i < 20000; i++) /* ~200 kB: kept deflated between scrapes */
		buf_addf(&body, "%s{\"v\":%d}", i ? "," : "", i % 7);
	buf_adds(&body, "]}");
	ck_assert_uint_gt(body.len, 128 * 1024);
	list_routes[0].body = buf_str(&body);
	cfg->global.cache_ttl = 60;
	for (int i = 0; i < 3; i++) {
		char *text = tu_scrape_text(st, cfg, NULL, 0, 5);
		ck_assert_ptr_nonnull(strstr(text, "persistence_test_items{source=\"a\"} 20000\n"));
		ck_assert_ptr_nonnull(strstr(text, "persistence_test_value{source=\"a\"} 59997\n"));
		free(text);
	}
	ck_assert_int_eq(u.calls, 1); /* the 2nd and 3rd scrapes read the cached (packed) copy */
	config_unref(cfg);
	scrape_state_free(st);
	buf_free(&body);
}
END_TEST

START_TEST(test_fresh_answers_are_never_served_stale)
{
	static const struct collector *const table[] = {&col_fresh, NULL};
	struct tu_upstream u;
	struct scrape_state *st = new_list_state(&u, table);
	struct config *cfg = tu_config_new();
	cfg->global.cache_ttl = 0.2;
	cfg->global.max_staleness = 300;
	list_routes[1].delay = 0;
	char *text = tu_scrape_text(st, cfg, NULL, 0, 5);
	ck_assert_ptr_nonnull(strstr(text, "persistence_test_value{source=\"a\"} 7\n"));
	free(text);
	struct timespec ts = {0, 300 * 1000 * 1000};
	nanosleep(&ts, NULL);
	list_routes[1].delay = 2; /* collect_get() would serve the old answer here (see above) */
	text = tu_scrape_text(st, cfg, NULL, 0, 0.8);
	ck_assert_ptr_nonnull(strstr(text, "persistence_source_up{source=\"a\",kind=\"testkind\"} 0\n"));
	ck_assert_ptr_null(strstr(text, "persistence_test_value{"));
	free(text);
	list_routes[1].delay = 0;
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

static Suite *scrape_suite(void)
{
	Suite *s = suite_create("scrape");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_deadline_holds_and_slow_collector_fails);
	tcase_add_test(tc, test_cache_reuses_answers_within_ttl);
	tcase_add_test(tc, test_stale_answer_served_while_refresh_is_slow);
	tcase_add_test(tc, test_bad_answers_are_classified);
	tcase_add_test(tc, test_phase1_reads_facts_and_filter_pulls_dependencies);
	tcase_add_test(tc, test_facts);
	tcase_add_test(tc, test_warn_level_once_per_condition);
	tcase_add_test(tc, test_collect_warn_rate_limited);
	tcase_add_test(tc, test_json_each_walks_the_member_array);
	tcase_add_test(tc, test_json_each_rejects_bad_bodies);
	tcase_add_test(tc, test_large_cached_body_survives_packing);
	tcase_add_test(tc, test_fresh_answers_are_never_served_stale);
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
