/* test_pve_local.c - node-local pvescheduler health over fake trees written by tests/sim/fake_node.py. */
#include "testutil.h"

#include "collector.h"
#include "pvesched.h"

#define NOW 1790000000.0
#define DAY 86400.0
#define GB 1e9

struct tree {
	char dir[64];
	struct config_paths paths;
};

static void tree_make(struct tree *t, const char *scenario)
{
	char cmd[1024];
	snprintf(t->dir, sizeof(t->dir), "/tmp/pe-node-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(t->dir));
	snprintf(cmd, sizeof(cmd),
		 "python3 %s/tests/sim/fake_node.py --scenario %s --out %s --now %.0f --node pve1",
		 tu_srcdir(), scenario, t->dir, NOW);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(t->paths.procfs, sizeof(t->paths.procfs), "%s/procfs", t->dir);
	snprintf(t->paths.sysfs, sizeof(t->paths.sysfs), "%s/sysfs", t->dir);
	snprintf(t->paths.pvelib, sizeof(t->paths.pvelib), "%s/pvelib", t->dir);
	snprintf(t->paths.rundir, sizeof(t->paths.rundir), "%s/run", t->dir);
}

static void tree_free(struct tree *t)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* ---- pure parsers ---- */

START_TEST(stat_parse_hostile_comm)
{
	struct pvesched_stat st;
	ck_assert_int_eq(
		pvesched_parse_stat("42 (a) b (c)) R 7 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 555 1 2\n", &st),
		PE_OK);
	ck_assert_str_eq(st.comm, "a) b (c)");
	ck_assert_int_eq(st.state, 'R');
	ck_assert_int_eq(st.ppid, 7);
	ck_assert_uint_eq(st.starttime, 555);
	/* malformed */
	ck_assert_int_eq(pvesched_parse_stat("42 (x S 1 2", &st), PE_PARSE);
	ck_assert_int_eq(pvesched_parse_stat("42 (x) S 1 2 3\n", &st), PE_PARSE);
	ck_assert_int_eq(pvesched_parse_stat("42 (x) S -1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 1\n", &st),
			 PE_PARSE);
	ck_assert_int_eq(pvesched_parse_stat("42 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5x 1\n", &st),
			 PE_PARSE);
	ck_assert_int_eq(pvesched_parse_stat("", &st), PE_PARSE);
	ck_assert_int_eq(pvesched_parse_stat(")(", &st), PE_PARSE);
}
END_TEST

START_TEST(find_value_lines)
{
	double v = 0;
	ck_assert_int_eq(pvesched_find_value("Name:\tx\nVmRSS:\t  1000 kB\n", "VmRSS:", &v), 0);
	ck_assert(v == 1024000.0);
	ck_assert_int_eq(pvesched_find_value("anon_thp 5\nanon 77\n", "anon", &v), 0);
	ck_assert(v == 77.0);
	ck_assert_int_eq(pvesched_find_value("anon_thp 5\n", "anon", &v), -1);
	ck_assert_int_eq(pvesched_find_value("anon lots\n", "anon", &v), -1);
	ck_assert_int_eq(pvesched_find_value("VmRSS:\t12 MB\n", "VmRSS:", &v), -1);
}
END_TEST

static double job_file(const char *name)
{
	char path[256], msg[128];
	size_t len;
	double v = -1;
	snprintf(path, sizeof(path), "tests/fixtures/pve/%s", name);
	char *text = tu_read_file(path, &len);
	ck_assert_ptr_nonnull(text);
	ck_assert_msg(pvesched_job_last_run(text, len, &v, msg, sizeof(msg)) == PE_OK, "%s: %s", name, msg);
	free(text);
	return v;
}

START_TEST(job_rule_fixtures)
{
	ck_assert(job_file("jobstate-vzdump-created.json") == 1790000000.0);
	ck_assert(job_file("jobstate-vzdump-failed-to-start.json") == 1790690426.0);
	ck_assert(job_file("jobstate-vzdump-started.json") == (double)0x6AC56ADD);
	ck_assert(job_file("jobstate-vzdump-stopped.json") == (double)0x6AC188F8);
}
END_TEST

START_TEST(job_rule_updated_wins_and_bad_input)
{
	char msg[128];
	double v = -1;
	const char *j =
		"{\"state\":\"stopped\",\"upid\":\"UPID:n:1:2:6AC188F8:vzdump::root@pam:\",\"updated\":123,"
		"\"time\":5}";
	ck_assert_int_eq(pvesched_job_last_run(j, strlen(j), &v, msg, sizeof(msg)), PE_OK);
	ck_assert(v == 123.0);
	static const char *const bad[] = {
		"",
		"[1]",
		"{\"state\":\"stopped\"}",
		"{\"upid\":\"UPID:pve1:zz\"}",
		"{\"upid\":\"UPID:a:b:c:XYZ:v::u:\"}",
		"{\"upid\":5}",
		"{\"updated\":\"soon\"}",
		"{\"time\":\"x\"}",
		"{\"state\":\"stopped\",\"upid\":",
		"<html></html>",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = -1;
		ck_assert_msg(pvesched_job_last_run(bad[i], strlen(bad[i]), &v, msg, sizeof(msg)) == PE_PARSE,
			      "%s", bad[i]);
		ck_assert(v == -1);
	}
}
END_TEST

/* ---- reading fake trees ---- */

static double ticks_to_time(double started_ago)
{
	/* fake_node writes whole ticks from btime = NOW - 10 days */
	double hz = (double)sysconf(_SC_CLK_TCK);
	double ticks = (double)(long long)((NOW - started_ago - (NOW - 10 * DAY)) * hz);
	return (NOW - 10 * DAY) + ticks / hz;
}

START_TEST(read_leak)
{
	struct tree t;
	struct pvesched_info in;
	tree_make(&t, "leak");
	ck_assert_int_eq(pvesched_read(&t.paths, NOW, &in), PE_OK);
	ck_assert_int_eq(in.process_up, 1);
	ck_assert_int_eq(in.pid, 1234);
	ck_assert_int_eq(in.has_rss, 1);
	ck_assert_msg(in.rss_bytes > 17.8 * GB && in.rss_bytes < 18.0 * GB, "%f", in.rss_bytes);
	ck_assert_int_eq(in.has_anon, 1);
	ck_assert(in.anon_bytes == 18.2 * GB);
	ck_assert_int_eq(in.has_start, 1);
	ck_assert(in.start_time == ticks_to_time(9 * DAY));
	ck_assert_int_eq(in.has_child_age, 1);
	ck_assert(in.oldest_child_age == 0);
	ck_assert_uint_eq(in.nchildren, 0);
	tree_free(&t);
}
END_TEST

START_TEST(read_healthy)
{
	struct tree t;
	struct pvesched_info in;
	tree_make(&t, "healthy");
	ck_assert_int_eq(pvesched_read(&t.paths, NOW, &in), PE_OK);
	ck_assert_int_eq(in.pid, 1234);
	ck_assert(in.rss_bytes == 120.0 * 1024 * 1024);
	ck_assert_uint_eq(in.nchildren, 2); /* the re-parented vzdump worker is not a child */
	ck_assert_msg(in.oldest_child_age >= 19 && in.oldest_child_age <= 21, "%f", in.oldest_child_age);
	ck_assert(in.anon_bytes == 140.0 * 1024 * 1024);
	tree_free(&t);
}
END_TEST

START_TEST(read_stuck_child)
{
	struct tree t;
	struct pvesched_info in;
	tree_make(&t, "stuck-child");
	ck_assert_int_eq(pvesched_read(&t.paths, NOW, &in), PE_OK);
	ck_assert_int_eq(in.pid, 1234);
	ck_assert_msg(in.oldest_child_age > 3 * 3600 - 2 && in.oldest_child_age <= 3 * 3600, "%f",
		      in.oldest_child_age);
	tree_free(&t);
}
END_TEST

START_TEST(read_no_pidfile_scans)
{
	struct tree t;
	struct pvesched_info in;
	tree_make(&t, "no-pidfile");
	ck_assert_int_eq(pvesched_read(&t.paths, NOW, &in), PE_OK);
	ck_assert_int_eq(in.process_up, 1);
	ck_assert_int_eq(in.pid, 1234); /* the main one, not a child */
	ck_assert(in.rss_bytes == 120.0 * 1024 * 1024);
	tree_free(&t);
}
END_TEST

START_TEST(read_stale_pidfile)
{
	struct tree t;
	struct pvesched_info in;
	tree_make(&t, "stale-pidfile");
	ck_assert_int_eq(pvesched_read(&t.paths, NOW, &in), PE_OK);
	ck_assert_int_eq(in.process_up, 1);
	ck_assert_int_eq(in.pid, 1234); /* not bash (999), not the decoy (4000) */
	ck_assert(in.rss_bytes == 120.0 * 1024 * 1024);
	tree_free(&t);
}
END_TEST

START_TEST(read_pidfile_names_child)
{
	struct tree t;
	struct pvesched_info in;
	char path[512];
	tree_make(&t, "healthy");
	snprintf(path, sizeof(path), "%s/pvescheduler.pid", t.paths.rundir);
	tu_write_file(path, "2345\n", 5);
	ck_assert_int_eq(pvesched_read(&t.paths, NOW, &in), PE_OK);
	ck_assert_int_eq(in.pid, 1234);
	tree_free(&t);
}
END_TEST

START_TEST(read_none)
{
	struct tree t;
	struct pvesched_info in;
	tree_make(&t, "none");
	ck_assert_int_eq(pvesched_read(&t.paths, NOW, &in), PE_OK);
	ck_assert_int_eq(in.process_up, 0);
	ck_assert_int_eq(in.has_rss, 0);
	ck_assert_int_eq(in.has_start, 0);
	ck_assert_int_eq(in.has_anon, 0); /* no cgroup directory either */
	tree_free(&t);
}
END_TEST

START_TEST(read_malformed)
{
	struct tree t;
	struct pvesched_info in;
	tree_make(&t, "malformed");
	ck_assert_int_eq(pvesched_read(&t.paths, NOW, &in), PE_OK);
	ck_assert_int_eq(in.process_up, 1);
	ck_assert_int_eq(in.pid, 1234);
	ck_assert_int_eq(in.has_rss, 0); /* status without VmRSS */
	ck_assert_int_eq(in.has_start, 0); /* no btime */
	ck_assert_int_eq(in.has_anon, 0); /* "anon lots" */
	ck_assert_int_eq(in.has_child_age, 1); /* no child at all is still known */
	tree_free(&t);
}
END_TEST

START_TEST(read_no_procfs)
{
	struct config_paths p;
	struct pvesched_info in;
	snprintf(p.procfs, sizeof(p.procfs), "/nonexistent/pe-test/proc");
	snprintf(p.sysfs, sizeof(p.sysfs), "/nonexistent/pe-test/sys");
	snprintf(p.pvelib, sizeof(p.pvelib), "/nonexistent");
	snprintf(p.rundir, sizeof(p.rundir), "/nonexistent");
	ck_assert_int_eq(pvesched_read(&p, NOW, &in), PE_IO);
}
END_TEST

/* ---- the collector ---- */

static char *collect_tree(const struct tree *t, int *up)
{
	static const char *const only[] = {"pve_local"};
	struct config *cfg = tu_config_new();
	cfg->pve = calloc(2, sizeof(*cfg->pve));
	ck_assert_ptr_nonnull(cfg->pve);
	cfg->npve = 2;
	cfg->pve[0].name = strdup("shop"); /* remote only: no local task */
	cfg->pve[1].name = strdup("home");
	cfg->pve[1].local = 1;
	cfg->pve[1].local_node = strdup("pve1");
	cfg->paths = t->paths;
	struct scrape_state *st = scrape_state_new();
	struct scrape *s = scrape_new(st, cfg, 10, only, 1);
	ck_assert_int_eq(scrape_run(s), PE_OK);
	ck_assert_uint_eq(scrape_nsources(s), 1);
	ck_assert_str_eq(scrape_source(s, 0)->name, "home");
	*up = scrape_source(s, 0)->up;
	struct buf out;
	buf_init(&out, 0);
	ck_assert_int_eq(scrape_write(s, &out), PE_OK);
	buf_add(&out, "", 0);
	scrape_free(s);
	scrape_state_free(st);
	config_unref(cfg);
	char *raw = buf_steal(&out, NULL);
	char *text = tu_strip_volatile(raw);
	free(raw);
	return text;
}

START_TEST(collect_leak_golden)
{
	struct tree t;
	int up = 0;
	tree_make(&t, "leak");
	char *text = collect_tree(&t, &up);
	ck_assert_int_eq(up, 1);
	tu_assert_promtool_clean(text);
	tu_assert_golden(text, "tests/unit/golden/pve_local/leak.prom");
	free(text);
	tree_free(&t);
}
END_TEST

START_TEST(collect_none_and_malformed)
{
	struct tree t;
	int up = 0;
	tree_make(&t, "none");
	char *text = collect_tree(&t, &up);
	ck_assert_int_eq(up, 1);
	ck_assert_ptr_nonnull(
		strstr(text, "persistence_pve_scheduler_process_up{source=\"home\",node=\"pve1\"} 0\n"));
	ck_assert_ptr_null(strstr(text, "persistence_pve_scheduler_resident_memory_bytes{"));
	ck_assert_ptr_null(strstr(text, "persistence_pve_scheduler_oldest_child_age_seconds{"));
	ck_assert_ptr_nonnull(strstr(text, "backup_job=\"backup-home-daily\"} 1789654400\n"));
	free(text);
	tree_free(&t);

	tree_make(&t, "malformed");
	text = collect_tree(&t, &up);
	ck_assert_ptr_nonnull(
		strstr(text, "persistence_pve_scheduler_process_up{source=\"home\",node=\"pve1\"} 1\n"));
	ck_assert_ptr_null(strstr(text, "persistence_pve_scheduler_resident_memory_bytes{"));
	ck_assert_ptr_null(strstr(text, "persistence_pve_scheduler_cgroup_anon_bytes{"));
	ck_assert_ptr_null(strstr(text, "persistence_pve_scheduler_start_time_seconds{"));
	ck_assert_ptr_null(strstr(text, "backup_job=\"broken\""));
	ck_assert_ptr_null(strstr(text, "backup_job=\"badupid\""));
	ck_assert_ptr_null(strstr(text, "backup_job=\"array\""));
	ck_assert_ptr_nonnull(strstr(text, "backup_job=\"backup-home-daily\"}"));
	free(text);
	tree_free(&t);
}
END_TEST

static Suite *pve_local_suite(void)
{
	Suite *s = suite_create("pve_local");
	TCase *t = tcase_create("parse");
	tcase_add_test(t, stat_parse_hostile_comm);
	tcase_add_test(t, find_value_lines);
	tcase_add_test(t, job_rule_fixtures);
	tcase_add_test(t, job_rule_updated_wins_and_bad_input);
	suite_add_tcase(s, t);
	t = tcase_create("read");
	tcase_set_timeout(t, 60);
	tcase_add_test(t, read_leak);
	tcase_add_test(t, read_healthy);
	tcase_add_test(t, read_stuck_child);
	tcase_add_test(t, read_no_pidfile_scans);
	tcase_add_test(t, read_stale_pidfile);
	tcase_add_test(t, read_pidfile_names_child);
	tcase_add_test(t, read_none);
	tcase_add_test(t, read_malformed);
	tcase_add_test(t, read_no_procfs);
	tcase_add_test(t, collect_leak_golden);
	tcase_add_test(t, collect_none_and_malformed);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(pve_local_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
