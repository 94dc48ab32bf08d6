/* test_drill_state.c - the restore-drill state file: format, parse (newest per target, torn and bad lines), append. */
#include "testutil.h"
#include "drill_state.h"

#include <sys/wait.h>

static struct drill_record rec(const char *target, double finished, int ok)
{
	struct drill_record r;
	memset(&r, 0, sizeof(r));
	snprintf(r.target, sizeof(r.target), "%s", target);
	snprintf(r.kind, sizeof(r.kind), "pve");
	snprintf(r.archive, sizeof(r.archive),
		 "synology-backups:backup/vzdump-qemu-100-2025_11_02-02_00_04.vma.zst");
	r.started = finished - 900;
	r.finished = finished;
	r.restore_seconds = 612.25;
	r.boot_seconds = ok ? 41.5 : -1;
	r.ok = ok;
	if (!ok)
		snprintf(r.reason, sizeof(r.reason), "restore task failed: \"exit code 133\"\n");
	return r;
}

static char *tmpdir(void)
{
	char tmpl[] = "/tmp/pe-drill-state-XXXXXX";
	char *d = mkdtemp(tmpl);
	ck_assert_ptr_nonnull(d);
	return strdup(d);
}

START_TEST(test_format_is_one_json_line)
{
	struct buf b;
	struct drill_record r = rec("home-vm-100", 1762052400.1234, 1);
	buf_init(&b, 0);
	ck_assert_int_eq(drill_state_format(&r, &b), PE_OK);
	ck_assert_str_eq(
		buf_str(&b),
		"{\"target\":\"home-vm-100\",\"kind\":\"pve\",\"archive\":\"synology-backups:backup/"
		"vzdump-qemu-100-2025_11_02-02_00_04.vma.zst\",\"started\":1762051500.123,\"finished\":"
		"1762052400.123,\"restore_seconds\":612.25,\"boot_seconds\":41.5,\"result\":\"ok\","
		"\"reason\":\"\"}\n");
	buf_reset(&b);
	r = rec("home-vm-100", 1762052400, 0);
	ck_assert_int_eq(drill_state_format(&r, &b), PE_OK);
	ck_assert_ptr_nonnull(strstr(buf_str(&b), "\"boot_seconds\":null,\"result\":\"failed\",\"reason\":"
						  "\"restore task failed: \\\"exit code 133\\\"\\n\"}\n"));
	ck_assert_ptr_eq(strchr(buf_str(&b), '\n'),
			 buf_str(&b) + b.len - 1); /* one line: the reason's newline is escaped */
	buf_free(&b);
}
END_TEST

/* Formats records into one text, as the file would hold them. */
static void add_line(struct buf *b, struct drill_record r)
{
	ck_assert_int_eq(drill_state_format(&r, b), PE_OK);
}

START_TEST(test_newest_per_target_and_newest_success)
{
	const char *targets[] = {"a", "b", "c"};
	struct drill_entry e[3];
	struct drill_parse_stats st;
	struct buf b;
	buf_init(&b, 0);
	add_line(&b, rec("a", 1000, 1));
	add_line(&b, rec("b", 1500, 0));
	add_line(&b, rec("a", 3000, 0)); /* newest a: failed */
	add_line(&b, rec("a", 2000, 1)); /* out of order: older than 3000, newer success than 1000 */
	add_line(&b, rec("zz", 9000, 1)); /* not configured */
	ck_assert_int_eq(drill_state_parse(b.data, b.len, 0, targets, 3, e, &st), PE_OK);
	ck_assert_uint_eq(st.records, 5);
	ck_assert_uint_eq(st.bad, 0);
	ck_assert_int_eq(st.torn, 0);
	ck_assert(e[0].has_last && e[0].has_ok);
	ck_assert_double_eq(e[0].last.finished, 3000);
	ck_assert_int_eq(e[0].last.ok, 0);
	ck_assert_str_eq(e[0].last.reason, "restore task failed: \"exit code 133\"\n");
	ck_assert_double_eq(e[0].last_ok.finished, 2000);
	ck_assert_double_eq(e[0].last_ok.restore_seconds, 612.25);
	ck_assert_double_eq(e[0].last_ok.boot_seconds, 41.5);
	ck_assert(e[1].has_last && !e[1].has_ok);
	ck_assert_double_eq(e[1].last.boot_seconds, -1);
	ck_assert(!e[2].has_last && !e[2].has_ok);
	buf_free(&b);
}
END_TEST

START_TEST(test_torn_last_line_is_ignored)
{
	const char *targets[] = {"a"};
	struct drill_entry e[1];
	struct drill_parse_stats st;
	struct buf b;
	buf_init(&b, 0);
	add_line(&b, rec("a", 1000, 1));
	size_t whole = b.len;
	add_line(&b, rec("a", 2000, 0));
	/* every cut inside the second line: still the first record, torn flagged */
	for (size_t cut = whole + 1; cut < b.len; cut++) {
		ck_assert_int_eq(drill_state_parse(b.data, cut, 0, targets, 1, e, &st), PE_OK);
		ck_assert_int_eq(st.torn, 1);
		ck_assert_uint_eq(st.bad, 0);
		ck_assert_double_eq(e[0].last.finished, 1000);
	}
	ck_assert_int_eq(drill_state_parse(b.data, b.len, 0, targets, 1, e, &st), PE_OK);
	ck_assert_int_eq(st.torn, 0);
	ck_assert_double_eq(e[0].last.finished, 2000);
	buf_free(&b);
}
END_TEST

START_TEST(test_bad_lines_are_counted_not_fatal)
{
	static const char text[] = "\n"
				   "not json\n"
				   "{\"target\":\"a\",\"result\":\"ok\",\"started\":1,\"finished\":5}\n"
				   "{\"target\":\"a\",\"result\":\"maybe\",\"started\":1,\"finished\":9}\n"
				   "{\"target\":\"a\",\"result\":\"ok\",\"started\":1}\n"
				   "{\"target\":\"a\",\"result\":\"ok\",\"started\":1,\"finished\":8,"
				   "\"restore_seconds\":-3}\n"
				   "{\"target\":\"\",\"result\":\"ok\",\"started\":1,\"finished\":9}\n"
				   "{\"target\":7,\"result\":\"ok\",\"started\":1,\"finished\":9}\n"
				   "[1,2]\n"
				   "<html>\r\n";
	const char *targets[] = {"a"};
	struct drill_entry e[1];
	struct drill_parse_stats st;
	ck_assert_int_eq(drill_state_parse(text, sizeof(text) - 1, 0, targets, 1, e, &st), PE_OK);
	ck_assert_uint_eq(st.records, 1);
	ck_assert_uint_eq(st.bad, 8);
	ck_assert_int_eq(st.first_bad, 2);
	ck_assert_double_eq(e[0].last.finished, 5);
	ck_assert_double_eq(e[0].last.restore_seconds, -1); /* absent: not measured */
	ck_assert_str_eq(e[0].last.archive, "");
}
END_TEST

START_TEST(test_head_partial_drops_the_first_line)
{
	const char *targets[] = {"a"};
	struct drill_entry e[1];
	struct drill_parse_stats st;
	struct buf b;
	buf_init(&b, 0);
	add_line(&b, rec("a", 3000, 1));
	add_line(&b, rec("a", 1500, 1));
	/* start in the middle of the first line: it is not counted as bad */
	ck_assert_int_eq(drill_state_parse(b.data + 10, b.len - 10, 1, targets, 1, e, &st), PE_OK);
	ck_assert_uint_eq(st.records, 1);
	ck_assert_uint_eq(st.bad, 0);
	ck_assert_double_eq(e[0].last.finished, 1500);
	ck_assert_int_eq(drill_state_parse("", 0, 1, targets, 1, e, &st), PE_OK);
	ck_assert(!e[0].has_last);
	buf_free(&b);
}
END_TEST

START_TEST(test_long_line_is_bad)
{
	const char *targets[] = {"a"};
	struct drill_entry e[1];
	struct drill_parse_stats st;
	struct buf b;
	buf_init(&b, 0);
	buf_adds(&b, "{\"target\":\"a\",\"result\":\"ok\",\"started\":1,\"finished\":5,\"reason\":\"");
	for (int i = 0; i < DRILL_STATE_LINE_MAX; i++)
		buf_addc(&b, 'x');
	buf_adds(&b, "\"}\n");
	ck_assert_int_eq(drill_state_parse(b.data, b.len, 0, targets, 1, e, &st), PE_OK);
	ck_assert_uint_eq(st.bad, 1);
	ck_assert(!e[0].has_last);
	buf_free(&b);
}
END_TEST

START_TEST(test_append_read_and_crash_mid_write)
{
	char *dir = tmpdir(), path[512], msg[256];
	const char *targets[] = {"a", "b"};
	struct drill_entry e[2];
	struct drill_parse_stats st;
	struct drill_record r = rec("a", 1000, 1);
	struct buf b;
	int partial;
	snprintf(path, sizeof(path), "%s/drills.jsonl", dir);
	buf_init(&b, 0);
	ck_assert_int_eq(drill_state_read(path, DRILL_STATE_READ_MAX, &b, &partial, msg, sizeof(msg)),
			 PE_NOTFOUND);
	ck_assert_msg(drill_state_append(path, &r, msg, sizeof(msg)) == PE_OK, "%s", msg);
	/* a crash mid-write: half a line, no newline */
	FILE *f = fopen(path, "a");
	fputs("{\"target\":\"b\",\"result\":\"ok\",\"sta", f);
	fclose(f);
	ck_assert_int_eq(drill_state_read(path, DRILL_STATE_READ_MAX, &b, &partial, msg, sizeof(msg)), PE_OK);
	ck_assert_int_eq(partial, 0);
	ck_assert_int_eq(drill_state_parse(b.data, b.len, partial, targets, 2, e, &st), PE_OK);
	ck_assert_int_eq(st.torn, 1);
	ck_assert(e[0].has_last && !e[1].has_last);
	/* the next append ends the torn line first: the new record is whole, the torn one is bad */
	r = rec("b", 2000, 0);
	ck_assert_int_eq(drill_state_append(path, &r, msg, sizeof(msg)), PE_OK);
	ck_assert_int_eq(drill_state_read(path, DRILL_STATE_READ_MAX, &b, &partial, msg, sizeof(msg)), PE_OK);
	ck_assert_int_eq(drill_state_parse(b.data, b.len, partial, targets, 2, e, &st), PE_OK);
	ck_assert_int_eq(st.torn, 0);
	ck_assert_uint_eq(st.bad, 1);
	ck_assert_int_eq(st.first_bad, 2);
	ck_assert(e[1].has_last && !e[1].last.ok);
	/* a bounded read starts mid-file */
	ck_assert_int_eq(drill_state_read(path, 100, &b, &partial, msg, sizeof(msg)), PE_OK);
	ck_assert_int_eq(partial, 1);
	ck_assert_uint_eq(b.len, 100);
	ck_assert_int_eq(drill_state_parse(b.data, b.len, partial, targets, 2, e, &st), PE_OK);
	ck_assert(!e[0].has_last && !e[1].has_last); /* 100 bytes hold no whole line */
	unlink(path);
	rmdir(dir);
	free(dir);
	buf_free(&b);
}
END_TEST

/* Concurrent drills: each of N processes appends M records at once; every line must come out whole. */
START_TEST(test_concurrent_appends)
{
	enum { PROCS = 8, EACH = 40 };
	char *dir = tmpdir(), path[512], msg[256];
	const char *targets[PROCS];
	char names[PROCS][16]; /* room for any int: -Wformat-truncation at -O1 (make asan) */
	struct drill_entry e[PROCS];
	struct drill_parse_stats st;
	struct buf b;
	int partial;
	snprintf(path, sizeof(path), "%s/drills.jsonl", dir);
	for (int p = 0; p < PROCS; p++) {
		snprintf(names[p], sizeof(names[p]), "t%d", p);
		targets[p] = names[p];
	}
	pid_t pids[PROCS];
	for (int p = 0; p < PROCS; p++) {
		pids[p] = fork();
		ck_assert_int_ge(pids[p], 0);
		if (pids[p] == 0) {
			for (int i = 0; i < EACH; i++) {
				struct drill_record r = rec(names[p], 1000 + i, i % 2);
				if (drill_state_append(path, &r, msg, sizeof(msg)) != PE_OK)
					_exit(1);
			}
			_exit(0);
		}
	}
	for (int p = 0; p < PROCS; p++) {
		int status;
		ck_assert_int_eq(waitpid(pids[p], &status, 0), pids[p]);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	buf_init(&b, 0);
	ck_assert_int_eq(drill_state_read(path, DRILL_STATE_READ_MAX, &b, &partial, msg, sizeof(msg)), PE_OK);
	ck_assert_int_eq(drill_state_parse(b.data, b.len, partial, targets, PROCS, e, &st), PE_OK);
	ck_assert_uint_eq(st.records, PROCS * EACH);
	ck_assert_uint_eq(st.bad, 0);
	ck_assert_int_eq(st.torn, 0);
	for (int p = 0; p < PROCS; p++) {
		ck_assert_double_eq(e[p].last.finished, 1000 + EACH - 1);
		ck_assert_double_eq(e[p].last_ok.finished, 1000 + EACH - 1);
	}
	unlink(path);
	rmdir(dir);
	free(dir);
	buf_free(&b);
}
END_TEST

START_TEST(test_append_errors_are_explained)
{
	char msg[256] = "";
	struct drill_record r = rec("a", 1000, 1);
	ck_assert_int_ne(drill_state_append("/nonexistent-dir/drills.jsonl", &r, msg, sizeof(msg)), PE_OK);
	ck_assert_ptr_nonnull(strstr(msg, "/nonexistent-dir/drills.jsonl"));
	struct buf b;
	int partial;
	buf_init(&b, 0);
	ck_assert_int_eq(drill_state_read("/", 100, &b, &partial, msg, sizeof(msg)), PE_IO);
	ck_assert_ptr_nonnull(strstr(msg, "not a regular file"));
	buf_free(&b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("drill_state");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_format_is_one_json_line);
	tcase_add_test(tc, test_newest_per_target_and_newest_success);
	tcase_add_test(tc, test_torn_last_line_is_ignored);
	tcase_add_test(tc, test_bad_lines_are_counted_not_fatal);
	tcase_add_test(tc, test_head_partial_drops_the_first_line);
	tcase_add_test(tc, test_long_line_is_bad);
	tcase_add_test(tc, test_append_read_and_crash_mid_write);
	tcase_add_test(tc, test_concurrent_appends);
	tcase_add_test(tc, test_append_errors_are_explained);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
