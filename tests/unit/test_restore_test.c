/* test_restore_test.c - the restore_test collector (drill state file -> metrics) and its lines on the status page. */
#include "testutil.h"
#include <cjson/cJSON.h>
#include <math.h>

#include "collector.h"
#include "drill_state.h"
#include "status.h"

#define H 3600.0
#define D 86400.0

static const struct collector *const table[] = {&collector_inventory, &collector_restore_test, NULL};

static char dir[64];
static char state[128];

static char *xdup(const char *s)
{
	char *d = strdup(s);
	ck_assert_ptr_nonnull(d);
	return d;
}

/* Three file targets (the inventory needs no source for them): a, b with max_restore_test_age and rto, c. */
static struct config *make_config(void)
{
	struct config *c = tu_config_new();
	static const char *const names[] = {"a", "b", "c"};
	char glob[160];
	c->global.drill_state_file = xdup(state);
	c->targets = calloc(3, sizeof(*c->targets));
	ck_assert_ptr_nonnull(c->targets);
	c->ntargets = 3;
	snprintf(glob, sizeof(glob), "%s/*.dump", dir);
	for (int i = 0; i < 3; i++) {
		struct config_target *t = &c->targets[i];
		t->name = xdup(names[i]);
		t->site = xdup("");
		t->severity = xdup("warning");
		t->kind = TARGET_FILE;
		t->vmid = -1;
		t->file_glob = xdup(glob);
		t->max_age = 26 * H;
	}
	c->targets[1].max_restore_test_age = 30 * D;
	c->targets[1].rto = 2 * H;
	return c;
}

static void add(const char *target, double finished, int ok, double restore, double boot, const char *reason)
{
	struct drill_record r;
	char msg[256];
	memset(&r, 0, sizeof(r));
	snprintf(r.target, sizeof(r.target), "%s", target);
	snprintf(r.kind, sizeof(r.kind), "pve");
	r.started = finished - restore - (boot > 0 ? boot : 0);
	r.finished = finished;
	r.restore_seconds = restore;
	r.boot_seconds = boot;
	r.ok = ok;
	snprintf(r.reason, sizeof(r.reason), "%s", reason);
	ck_assert_msg(drill_state_append(state, &r, msg, sizeof(msg)) == PE_OK, "%s", msg);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/pe-restore-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(state, sizeof(state), "%s/drills.jsonl", dir);
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static char *metrics(struct config *cfg)
{
	static const char *const only[] = {"restore_test"};
	static const char *const fams[] = {"persistence_target_restore_test_", "persistence_target_rto_",
					   "persistence_restore_test_state_readable"};
	struct scrape_state *st = scrape_state_new();
	scrape_state_set_collectors(st, table);
	char *all = tu_scrape_text(st, cfg, only, 1, 5);
	char *text = tu_filter_families(all, fams, 3, 1);
	free(all);
	scrape_state_free(st);
	return text;
}

START_TEST(test_no_state_file_yet)
{
	struct config *cfg = make_config();
	char *text = metrics(cfg);
	/* only the configured keys; no drill ran, so no result, and that is not a failure */
	ck_assert_ptr_nonnull(
		strstr(text, "persistence_target_restore_test_max_age_seconds{target=\"b\"} 2592000\n"));
	ck_assert_ptr_nonnull(strstr(text, "persistence_target_rto_seconds{target=\"b\"} 7200\n"));
	ck_assert_ptr_null(strstr(text, "last_result{"));
	ck_assert_ptr_null(strstr(text, "{target=\"a\"}"));
	ck_assert_ptr_nonnull(strstr(text, "persistence_restore_test_state_readable 1\n"));
	tu_assert_promtool_clean(text);
	free(text);
	config_unref(cfg);
}
END_TEST

START_TEST(test_metrics_from_the_newest_records)
{
	struct config *cfg = make_config();
	double now = floor(time(NULL));
	add("a", now - 9 * D, 1, 600, 40, "");
	add("a", now - 2 * D, 0, -1, -1, "restore task failed: exit code 133");
	add("b", now - 6 * D, 1, 780, 60, "");
	add("zz", now - D, 1, 1, 1, "");
	FILE *f = fopen(state, "a");
	fputs("{\"target\":\"b\",\"result\":\"ok\",\"sta", f); /* a drill that died mid-write */
	fclose(f);
	char *text = metrics(cfg);
	char want[256];
	snprintf(want, sizeof(want),
		 "persistence_target_restore_test_last_success_timestamp_seconds{target=\"a\"} %.0f\n",
		 now - 9 * D);
	ck_assert_ptr_nonnull(strstr(text, want));
	ck_assert_ptr_nonnull(strstr(text, "persistence_target_restore_test_last_result{target=\"a\"} 0\n"));
	ck_assert_ptr_nonnull(
		strstr(text, "persistence_target_restore_test_duration_seconds{target=\"a\"} 640\n"));
	ck_assert_ptr_nonnull(strstr(text, "persistence_target_restore_test_last_result{target=\"b\"} 1\n"));
	ck_assert_ptr_nonnull(
		strstr(text, "persistence_target_restore_test_duration_seconds{target=\"b\"} 840\n"));
	ck_assert_ptr_null(strstr(text, "target=\"zz\""));
	ck_assert_ptr_null(strstr(text, "target=\"c\""));
	ck_assert_ptr_nonnull(strstr(text, "persistence_restore_test_state_readable 1\n"));
	tu_assert_promtool_clean(text);
	free(text);
	config_unref(cfg);
}
END_TEST

START_TEST(test_unreadable_state_file_fails_the_collector)
{
	struct config *cfg = make_config();
	free(cfg->global.drill_state_file);
	cfg->global.drill_state_file = xdup(dir); /* a directory: not a regular file */
	char *text = metrics(cfg);
	ck_assert_ptr_nonnull(strstr(text, "persistence_restore_test_state_readable 0\n"));
	ck_assert_ptr_null(strstr(text, "last_result{"));
	free(text);
	config_unref(cfg);
}
END_TEST

/* The status page, /status and the text report carry the restore-test line per target. */
START_TEST(test_status_lines)
{
	struct config *cfg = make_config();
	double now = floor(time(NULL));
	char dump[160];
	snprintf(dump, sizeof(dump), "%s/x.dump", dir);
	tu_write_file(dump, "x", 1);
	add("a", now - 2 * D - 60, 0, -1, -1, "restore task failed: exit code 133");
	add("b", now - 6 * D - 60, 1, 780, 60, "");
	struct scrape_state *st = scrape_state_new();
	scrape_state_set_collectors(st, table);
	struct scrape *s = scrape_new(st, cfg, 5, NULL, 0);
	ck_assert_int_eq(scrape_run(s), PE_OK);
	struct buf out;
	buf_init(&out, 0);
	ck_assert_int_eq(status_render_html(s, &out), PE_OK);
	ck_assert_ptr_nonnull(
		strstr(buf_str(&out), "<br><span class=\"muted\">restore tested 6d ago, 14 min</span>"));
	ck_assert_ptr_nonnull(strstr(buf_str(&out),
				     "<br><span class=\"bad\">restore test failed 2d ago: restore task "
				     "failed: exit code 133</span>"));
	buf_reset(&out);
	ck_assert_int_eq(status_render_text(s, &out, 0), PE_OK);
	ck_assert_ptr_nonnull(strstr(buf_str(&out), "RESTORE TEST"));
	ck_assert_ptr_nonnull(strstr(buf_str(&out), "restore tested 6d ago, 14 min"));
	buf_reset(&out);
	ck_assert_int_eq(status_render_json(s, &out), PE_OK);
	cJSON *doc = cJSON_Parse(buf_str(&out));
	const cJSON *targets = cJSON_GetObjectItemCaseSensitive(doc, "targets");
	const cJSON *b = cJSON_GetArrayItem(targets, 1), *c = cJSON_GetArrayItem(targets, 2);
	const cJSON *rt = cJSON_GetObjectItemCaseSensitive(b, "restore_test");
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(rt, "summary")->valuestring,
			 "restore tested 6d ago, 14 min");
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(rt, "problem")));
	ck_assert_double_eq(cJSON_GetObjectItemCaseSensitive(rt, "duration_seconds")->valuedouble, 840);
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(rt, "last_result")->valuestring, "ok");
	ck_assert(cJSON_IsNull(
		cJSON_GetObjectItemCaseSensitive(c, "restore_test"))); /* never drilled, not asked */
	cJSON_Delete(doc);
	buf_free(&out);
	scrape_free(s);
	scrape_state_free(st);
	config_unref(cfg);
}
END_TEST

START_TEST(test_summary_lines)
{
	struct drill_entry e;
	char out[256];
	int bad;
	double now = 1e9;
	memset(&e, 0, sizeof(e));
	drill_state_summary(&e, now, 0, 0, out, sizeof(out), &bad);
	ck_assert_str_eq(out, "never restore-tested");
	ck_assert_int_eq(bad, 0);
	drill_state_summary(&e, now, 30 * D, 0, out, sizeof(out), &bad);
	ck_assert_int_eq(bad, 1);
	e.has_last = e.has_ok = 1;
	e.last.ok = e.last_ok.ok = 1;
	e.last.finished = e.last_ok.finished = now - 40 * D;
	e.last_ok.restore_seconds = 3 * H + 600;
	e.last_ok.boot_seconds = 42;
	drill_state_summary(&e, now, 30 * D, 2 * H, out, sizeof(out), &bad);
	ck_assert_str_eq(
		out, "restore tested 40d ago, 3 h 10 min; overdue (every 30d); slower than the RTO of 2h");
	ck_assert_int_eq(bad, 1);
	e.last_ok.restore_seconds = 30;
	e.last_ok.boot_seconds = -1;
	e.last.finished = e.last_ok.finished = now - 300;
	drill_state_summary(&e, now, 30 * D, 2 * H, out, sizeof(out), &bad);
	ck_assert_str_eq(out, "restore tested 5m ago, 30 s");
	ck_assert_int_eq(bad, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("restore_test");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_no_state_file_yet);
	tcase_add_test(tc, test_metrics_from_the_newest_records);
	tcase_add_test(tc, test_unreadable_state_file_fails_the_collector);
	tcase_add_test(tc, test_status_lines);
	tcase_add_test(tc, test_summary_lines);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
