/* collectutil.h - test collectors and a canned upstream for the suites that run the scrape framework. */
#ifndef PE_COLLECTUTIL_H
#define PE_COLLECTUTIL_H

#include "testutil.h"

#include <cjson/cJSON.h>

#include "collector.h"
#include "expfmt.h"
#include "log.h"

/* Each suite uses some of these; the rest are unused there. */
#define CU_UNUSED __attribute__((unused))

static CU_UNUSED const struct expfmt_desc d_value = {"persistence_test_value", EXPFMT_GAUGE, "A test value."};

static CU_UNUSED size_t count_one(const struct config *cfg)
{
	(void)cfg;
	return 1;
}

static CU_UNUSED const char *name_a(const struct config *cfg, size_t i)
{
	(void)cfg;
	(void)i;
	return "a";
}

static CU_UNUSED const char *name_b(const struct config *cfg, size_t i)
{
	(void)cfg;
	(void)i;
	return "b";
}

static CU_UNUSED const struct fetch_target test_target = {.base_url = "http://upstream.test", .timeout = 30};

/* Reads {"value": N} from /value and publishes it. */
static CU_UNUSED enum perr collect_json(struct collect *c)
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

static CU_UNUSED enum perr collect_sleepy(struct collect *c)
{
	struct timespec ts = {3, 0};
	nanosleep(&ts, NULL);
	expfmt_add(c->out, &d_value, 42, "source", c->source, NULL);
	return PE_OK;
}

static CU_UNUSED double phase1_seen;

static CU_UNUSED enum perr collect_phase1(struct collect *c)
{
	double v = -1;
	const char *str = NULL;
	if (collect_fact_get(c, "test", "a", "value", &v, &str) && str && strcmp(str, "note") == 0)
		phase1_seen = v;
	return PE_OK;
}

static CU_UNUSED const struct collector col_json = {"json", "testkind", 0, count_one, name_a, collect_json};
static CU_UNUSED const struct collector col_sleepy = {"sleepy",  "testkind", 0,
						      count_one, name_b,     collect_sleepy};
static CU_UNUSED const struct collector col_phase1 = {"late", NULL, 1, count_one, NULL, collect_phase1};

static CU_UNUSED struct tu_route routes[] = {
	{.path = "/value", .body = "{\"value\": 7}"},
};

static CU_UNUSED struct scrape_state *new_state(struct tu_upstream *u, const struct collector *const *table)
{
	struct scrape_state *st = scrape_state_new();
	ck_assert_ptr_nonnull(st);
	tu_upstream_init(u, routes, 1);
	scrape_state_set_transport(st, tu_transport, u);
	scrape_state_set_collectors(st, table);
	return st;
}

static CU_UNUSED const struct expfmt_desc d_items = {"persistence_test_items", EXPFMT_GAUGE, "Items walked."};

struct walk_sum {
	double sum;
	size_t n;
};

static CU_UNUSED void walk_cb(void *ctx, const cJSON *item)
{
	struct walk_sum *w = ctx;
	const cJSON *v = cJSON_IsObject(item) ? cJSON_GetObjectItemCaseSensitive(item, "v") : item;
	w->n++;
	if (cJSON_IsNumber(v))
		w->sum += v->valuedouble;
}

/* Walks data[] of /list: publishes the item count and the sum of their "v". */
static CU_UNUSED enum perr collect_each(struct collect *c)
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
static CU_UNUSED enum perr collect_fresh(struct collect *c)
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

static CU_UNUSED const struct collector col_each = {"each", "testkind", 0, count_one, name_a, collect_each};
static CU_UNUSED const struct collector col_fresh = {"fresh",   "testkind", 0,
						     count_one, name_a,     collect_fresh};

static CU_UNUSED struct tu_route list_routes[] = {
	{.path = "/list", .body = "{}"},
	{.path = "/value", .body = "{\"value\": 7}"},
};

static CU_UNUSED struct scrape_state *new_list_state(struct tu_upstream *u,
						     const struct collector *const *table)
{
	struct scrape_state *st = scrape_state_new();
	ck_assert_ptr_nonnull(st);
	tu_upstream_init(u, list_routes, 2);
	scrape_state_set_transport(st, tu_transport, u);
	scrape_state_set_collectors(st, table);
	return st;
}

/* One scrape of col_each over body: the exposition (caller frees). */
static CU_UNUSED char *walk_text(const char *body)
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

static CU_UNUSED void expect_walk(const char *body, const char *items, const char *sum)
{
	char *text = walk_text(body);
	char want[128];
	snprintf(want, sizeof(want), "persistence_test_items{source=\"a\"} %s\n", items);
	ck_assert_msg(strstr(text, want) != NULL, "%s: no %s in\n%s", body, want, text);
	snprintf(want, sizeof(want), "persistence_test_value{source=\"a\"} %s\n", sum);
	ck_assert_msg(strstr(text, want) != NULL, "%s: no %s in\n%s", body, want, text);
	free(text);
}

static CU_UNUSED void expect_walk_error(const char *body, const char *want)
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

#endif
