/* test_upcache.c - the upstream cache as collectors see it: reuse within ttl, stale serving, packed bodies, fresh-only answers. */
#include "collectutil.h"
#include "pve_parse.h"

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

/* ---------- answers kept as what a parser made of them (collect_get_parsed) ---------- */

static const struct expfmt_desc d_archives = {"persistence_test_archives", EXPFMT_GAUGE, "Archives counted."};

/* Counts a storage listing as the PVE collector does: streamed, only the per-guest counts kept. */
static enum perr collect_parsed(struct collect *c)
{
	const void *res;
	char msg[256];
	enum perr rc =
		collect_get_parsed(c, &test_target, "/list", &pve_listing_parser, &res, msg, sizeof(msg));
	if (rc != PE_OK) {
		collect_fail(c, "%s", msg);
		return rc;
	}
	const struct pve_listing *l = res;
	expfmt_add(c->out, &d_archives, (double)l->narchives, "source", c->source, NULL);
	for (size_t i = 0; i < l->n; i++) {
		char vmid[24];
		snprintf(vmid, sizeof(vmid), "%ld", l->v[i].vmid);
		expfmt_add(c->out, &d_archives, (double)l->v[i].count, "source", c->source, "vmid", vmid,
			   NULL);
	}
	return PE_OK;
}

static const struct collector col_parsed = {"parsed", "testkind", 0, count_one, name_a, collect_parsed};

#define ARCHIVE(v, t) "{\"volid\":\"x\",\"vmid\":" #v ",\"ctime\":" #t ",\"size\":1,\"content\":\"backup\"}"

START_TEST(test_parsed_answers_are_cached_as_results)
{
	static const struct collector *const table[] = {&col_parsed, NULL};
	struct tu_upstream u;
	struct scrape_state *st = new_list_state(&u, table);
	struct config *cfg = tu_config_new();
	list_routes[0].body = "{\"data\":[" ARCHIVE(100, 5) "," ARCHIVE(101, 6) "," ARCHIVE(100, 7) "]}";
	cfg->global.cache_ttl = 60;
	for (int i = 0; i < 3; i++) {
		char *text = tu_scrape_text(st, cfg, NULL, 0, 5);
		ck_assert_ptr_nonnull(strstr(text, "persistence_test_archives{source=\"a\"} 3\n"));
		ck_assert_ptr_nonnull(
			strstr(text, "persistence_test_archives{source=\"a\",vmid=\"100\"} 2\n"));
		ck_assert_ptr_nonnull(
			strstr(text, "persistence_test_archives{source=\"a\",vmid=\"101\"} 1\n"));
		free(text);
	}
	ck_assert_int_eq(u.calls, 1); /* the result was served, not the body parsed again */
	config_unref(cfg);
	scrape_state_free(st);
}
END_TEST

/* One scrape of col_parsed over body; the source's error must contain want. */
static void expect_parsed_error(const char *body, long status, const char *want)
{
	static const struct collector *const table[] = {&col_parsed, NULL};
	struct tu_upstream u;
	struct scrape_state *st = new_list_state(&u, table);
	struct config *cfg = tu_config_new();
	list_routes[0].body = body;
	list_routes[0].status = status;
	struct scrape *s = scrape_new(st, cfg, 5, NULL, 0);
	ck_assert_int_eq(scrape_run(s), PE_OK);
	const struct source_result *r = scrape_source(s, 0);
	ck_assert_int_eq(r->up, 0);
	ck_assert_msg(strstr(r->error, want) != NULL, "error \"%s\" lacks \"%s\"", r->error, want);
	scrape_free(s);
	list_routes[0].status = 0;
	config_unref(cfg);
	scrape_state_free(st);
}

START_TEST(test_parsed_answers_that_fail)
{
	expect_parsed_error("{\"data\":[" ARCHIVE(100, 5) ",", 0,
			    "GET /list: invalid or truncated JSON near byte");
	expect_parsed_error("<html>starting</html>", 0, "GET /list: HTML instead of JSON");
	expect_parsed_error("", 0, "GET /list: empty body where JSON was expected");
	expect_parsed_error("{\"message\":\"storage 'nfs' is not online\"}", 500,
			    "GET /list: HTTP 500: storage 'nfs' is not online");
	expect_parsed_error("{\"data\":null}", 0, "GET /list: not an array: data");
}
END_TEST

static Suite *upcache_suite(void)
{
	Suite *s = suite_create("upcache");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_cache_reuses_answers_within_ttl);
	tcase_add_test(tc, test_stale_answer_served_while_refresh_is_slow);
	tcase_add_test(tc, test_large_cached_body_survives_packing);
	tcase_add_test(tc, test_fresh_answers_are_never_served_stale);
	tcase_add_test(tc, test_parsed_answers_are_cached_as_results);
	tcase_add_test(tc, test_parsed_answers_that_fail);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(upcache_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
