/* test_vzdump_log.c - the vzdump log verdict (finished / failed / unknown) from tests/fixtures/vzdump-log. */
#include "testutil.h"

#include "vzdump_log.h"

static enum vzdump_log_verdict parse_fixture(const char *name, long vmid, struct vzdump_log_result *r)
{
	char path[256];
	size_t len = 0;
	snprintf(path, sizeof(path), "tests/fixtures/vzdump-log/%s", name);
	char *text = tu_read_file(path, &len);
	ck_assert_msg(text != NULL, "cannot read %s", path);
	enum vzdump_log_verdict v = vzdump_log_parse(text, len, 0, vmid, r);
	free(text);
	return v;
}

static enum vzdump_log_verdict parse_str(const char *s, int partial, long vmid, struct vzdump_log_result *r)
{
	return vzdump_log_parse(s, strlen(s), partial, vmid, r);
}

START_TEST(test_finished)
{
	struct vzdump_log_result r;
	ck_assert_int_eq(parse_fixture("qemu-100-finished.log", 100, &r), VZDUMP_LOG_OK);
	ck_assert_int_eq(r.finished, 1);
	ck_assert_int_eq(r.errors, 0);
	ck_assert_str_eq(r.first_error, "");
	ck_assert_str_eq(vzdump_log_verdict_str(r.verdict), "ok");
	/* the finish line must name the archive's guest */
	ck_assert_int_eq(parse_fixture("qemu-100-finished.log", 101, &r), VZDUMP_LOG_UNKNOWN);
	ck_assert_int_eq(parse_fixture("qemu-100-finished.log", -1, &r), VZDUMP_LOG_OK);
}
END_TEST

START_TEST(test_failed)
{
	struct vzdump_log_result r;
	ck_assert_int_eq(parse_fixture("lxc-105-failed.log", 105, &r), VZDUMP_LOG_FAILED);
	ck_assert_int_eq(r.finished, 0);
	ck_assert_int_eq(r.errors, 1);
	ck_assert_msg(strncmp(r.first_error, "Backup of VM 105 failed - command 'set -o pipefail", 50) == 0,
		      "%s", r.first_error);
	ck_assert_uint_eq(strlen(r.first_error), sizeof(r.first_error) - 1); /* long messages are cut */
	ck_assert_str_eq(vzdump_log_verdict_str(r.verdict), "failed");

	/* the archive was written, a later step failed: vzdump still reports the backup failed */
	ck_assert_int_eq(parse_fixture("qemu-100-protect-failed.log", 100, &r), VZDUMP_LOG_FAILED);
	ck_assert_msg(strstr(r.first_error, "unable to set protected flag") != NULL, "%s", r.first_error);
}
END_TEST

START_TEST(test_error_then_finished_is_failed)
{
	struct vzdump_log_result r;
	ck_assert_int_eq(parse_fixture("qemu-100-agent-error.log", 100, &r), VZDUMP_LOG_FAILED);
	ck_assert_int_eq(r.finished, 1);
	ck_assert_int_eq(r.errors, 1);
	ck_assert_str_eq(r.first_error, "VM 100 qmp command 'guest-fsfreeze-freeze' failed - got timeout");
}
END_TEST

START_TEST(test_truncated_is_unknown)
{
	struct vzdump_log_result r;
	ck_assert_int_eq(parse_fixture("qemu-100-truncated.log", 100, &r), VZDUMP_LOG_UNKNOWN);
	ck_assert_str_eq(vzdump_log_verdict_str(r.verdict), "unknown");
	/* a finish line cut before its newline is not a finish: the file ends inside it */
	ck_assert_int_eq(
		parse_str("2026-02-20 02:01:31 INFO: Finished Backup of VM 100 (00:01:29)", 0, 100, &r),
		VZDUMP_LOG_UNKNOWN);
	ck_assert_int_eq(
		parse_str("2026-02-20 02:01:31 INFO: Finished Backup of VM 100 (00:01:29)\n", 0, 100, &r),
		VZDUMP_LOG_OK);
	/* an unterminated ERROR: line still counts */
	ck_assert_int_eq(
		parse_str("INFO: Finished Backup of VM 100 (00:00:09)\nERROR: disk full", 0, 100, &r),
		VZDUMP_LOG_FAILED);
	ck_assert_str_eq(r.first_error, "disk full");
	/* empty and foreign text */
	ck_assert_int_eq(parse_str("", 0, 100, &r), VZDUMP_LOG_UNKNOWN);
	ck_assert_int_eq(vzdump_log_parse(NULL, 0, 1, 100, &r), VZDUMP_LOG_UNKNOWN);
	ck_assert_int_eq(parse_str("<html><body>502 Bad Gateway</body></html>\n", 0, 100, &r),
			 VZDUMP_LOG_UNKNOWN);
}
END_TEST

START_TEST(test_line_shapes)
{
	struct vzdump_log_result r;
	/* without time stamps (vzdump's stderr form), CRLF line ends */
	ck_assert_int_eq(
		parse_str(
			"INFO: Starting Backup of VM 7 (lxc)\r\nINFO: Finished Backup of VM 7 (00:00:09)\r\n",
			0, 7, &r),
		VZDUMP_LOG_OK);
	/* ERROR: only counts as the level, not inside a message */
	ck_assert_int_eq(parse_str("2026-02-20 02:00:02 INFO: tar: ERROR: ignored in message\n"
				   "2026-02-20 02:00:03 INFO: Finished Backup of VM 100 (00:00:01)\n",
				   0, 100, &r),
			 VZDUMP_LOG_OK);
	ck_assert_int_eq(parse_str("2026-02-20 02:00:02 WARN: ERROR: a warning\n"
				   "2026-02-20 02:00:03 INFO: Finished Backup of VM 100 (00:00:01)\n",
				   0, 100, &r),
			 VZDUMP_LOG_OK);
	/* near misses of the finish line */
	ck_assert_int_eq(parse_str("INFO: Finished Backup of VM 100\n", 0, 100, &r), VZDUMP_LOG_UNKNOWN);
	ck_assert_int_eq(parse_str("INFO: Finished Backup of VM (00:00:01)\n", 0, -1, &r),
			 VZDUMP_LOG_UNKNOWN);
	ck_assert_int_eq(parse_str("INFO: Finished Backup of VM 1000 (00:00:01)\n", 0, 100, &r),
			 VZDUMP_LOG_UNKNOWN);
	ck_assert_int_eq(parse_str("WARN: Finished Backup of VM 100 (00:00:01)\n", 0, 100, &r),
			 VZDUMP_LOG_UNKNOWN);
	ck_assert_int_eq(
		parse_str("2026-02-20 02:00:03 INFO: Finished Backup of VM 99999999999 (x)\n", 0, -1, &r),
		VZDUMP_LOG_UNKNOWN);
	/* control bytes in an error message never reach the page */
	ck_assert_int_eq(parse_str("ERROR:\x1b[31mred\x07\n", 0, 1, &r), VZDUMP_LOG_FAILED);
	ck_assert_str_eq(r.first_error, "?[31mred?");
	/* NUL bytes inside the text do not stop the scan */
	static const char nul[] = "INFO: x\0y\nINFO: Finished Backup of VM 5 (00:00:01)\n";
	ck_assert_int_eq(vzdump_log_parse(nul, sizeof(nul) - 1, 0, 5, &r), VZDUMP_LOG_OK);
}
END_TEST

/* A tail window starts inside a line: that line is skipped, the rest judged. */
START_TEST(test_partial_window)
{
	struct vzdump_log_result r;
	ck_assert_int_eq(
		parse_str("ERROR: cut in the middle of a line\nINFO: Finished Backup of VM 100 (00:00:01)\n",
			  1, 100, &r),
		VZDUMP_LOG_OK);
	ck_assert_int_eq(parse_str("no newline at all", 1, 100, &r), VZDUMP_LOG_UNKNOWN);
	/* a log larger than the window: only its end is read, and its end has the verdict */
	struct buf b;
	buf_init(&b, 0);
	for (int i = 0; b.len < 3 * VZDUMP_LOG_TAIL; i++)
		buf_addf(&b,
			 "2026-02-20 02:00:%02d INFO: %3d%% (1.0 GiB of 32.0 GiB) in 3s, read: 341.3 MiB/s\n",
			 i % 60, i % 100);
	buf_adds(&b, "2026-02-20 02:01:31 INFO: Finished Backup of VM 100 (00:01:29)\n");
	ck_assert_int_eq(buf_err(&b), PE_OK);
	size_t off = b.len - VZDUMP_LOG_TAIL;
	ck_assert_int_eq(vzdump_log_parse(b.data + off, VZDUMP_LOG_TAIL, 1, 100, &r), VZDUMP_LOG_OK);
	buf_free(&b);
}
END_TEST

START_TEST(test_log_name)
{
	char out[128];
	ck_assert_int_eq(vzdump_log_name("vzdump-qemu-100-2024_08_18-22_00_02.vma.zst", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "vzdump-qemu-100-2024_08_18-22_00_02.log");
	ck_assert_int_eq(vzdump_log_name("vzdump-lxc-105-2024_08_18-22_00_02.tar", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "vzdump-lxc-105-2024_08_18-22_00_02.log");
	ck_assert_int_eq(vzdump_log_name("vzdump-openvz-105-2010_08_18-22_00_02.tgz", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "vzdump-openvz-105-2010_08_18-22_00_02.log");
	ck_assert_int_eq(vzdump_log_name("noextension", out, sizeof(out)), -1);
	ck_assert_int_eq(vzdump_log_name(".hidden", out, sizeof(out)), -1);
	ck_assert_int_eq(vzdump_log_name(NULL, out, sizeof(out)), -1);
	ck_assert_int_eq(vzdump_log_name("vzdump-qemu-100-2024_08_18-22_00_02.vma", out, 20), -1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vzdump_log");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_finished);
	tcase_add_test(tc, test_failed);
	tcase_add_test(tc, test_error_then_finished_is_failed);
	tcase_add_test(tc, test_truncated_is_unknown);
	tcase_add_test(tc, test_line_shapes);
	tcase_add_test(tc, test_partial_window);
	tcase_add_test(tc, test_log_name);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
