/* test_n8n_verify.c - the n8n snapshot check: every workflow has nodes and connections; files and folders. */
#include "testutil.h"
#include "n8n_verify.h"

/* Checks text in one go and byte by byte; both must agree. Returns the first result. */
static enum perr wf(const char *text, struct n8n_wfcheck *out)
{
	struct n8n_wfcheck *one = malloc(sizeof(*one));
	size_t n = strlen(text);
	enum perr e, e1 = PE_OK;
	n8n_wfcheck_init(out);
	n8n_wfcheck_init(one);
	e = n8n_wfcheck_feed(out, text, n);
	if (e == PE_OK)
		e = n8n_wfcheck_finish(out);
	for (size_t i = 0; i < n && e1 == PE_OK; i++)
		e1 = n8n_wfcheck_feed(one, text + i, 1);
	if (e1 == PE_OK)
		e1 = n8n_wfcheck_finish(one);
	ck_assert_int_eq(e, e1);
	ck_assert_uint_eq(out->workflows, one->workflows);
	ck_assert_uint_eq(out->bad, one->bad);
	ck_assert_str_eq(out->first_bad, one->first_bad);
	free(one);
	return e;
}

START_TEST(test_fixture_export_is_good)
{
	size_t len;
	char *text = tu_read_file("tests/fixtures/n8n/export-workflow-all.n8n-2.8.4.json", &len);
	struct n8n_wfcheck w;
	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(wf(text, &w), PE_OK);
	ck_assert_uint_eq(w.workflows, 6);
	ck_assert_uint_eq(w.bad, 0);
	free(text);
	text = tu_read_file("tests/fixtures/n8n/export-workflow-all-pretty.n8n-2.8.4.json", &len);
	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(wf(text, &w), PE_OK);
	ck_assert_uint_eq(w.workflows, 6);
	ck_assert_uint_eq(w.bad, 0);
	free(text);
}
END_TEST

START_TEST(test_missing_nodes_or_connections)
{
	struct n8n_wfcheck w;
	ck_assert_int_eq(wf("[{\"name\":\"ok\",\"nodes\":[{\"id\":\"a\"}],\"connections\":{}},"
			    "{\"name\":\"Invoices \\\"2025\\\"\",\"nodes\":[{\"id\":\"a\"}]},"
			    "{\"connections\":{\"a\":{}},\"nodes\":[],\"name\":\"empty\"},"
			    "{\"name\":\"nested\",\"settings\":{\"nodes\":[1],\"connections\":{}}}]",
			    &w),
			 PE_OK);
	ck_assert_uint_eq(w.workflows, 4);
	ck_assert_uint_eq(w.bad, 3);
	ck_assert_str_eq(w.first_bad, "workflow 2 \"Invoices \\\"2025\\\"\": no connections");
	/* keys inside strings, values named like keys, and nodes given as null do not count */
	ck_assert_int_eq(
		wf("{\"name\":\"nodes\",\"x\":\"\\\"nodes\\\":[1]\",\"nodes\":null,\"connections\":{}}", &w),
		PE_OK);
	ck_assert_uint_eq(w.workflows, 1);
	ck_assert_str_eq(w.first_bad, "workflow 1 \"nodes\": no nodes");
	ck_assert_int_eq(wf("{\"nodes\":[ ],\"connections\":{}}", &w), PE_OK);
	ck_assert_str_eq(w.first_bad, "workflow 1 \"\": no nodes (empty list)");
	ck_assert_int_eq(wf("{\"nodes\":[{}],\"connections\":[]}", &w), PE_OK);
	ck_assert_str_eq(w.first_bad, "workflow 1 \"\": no connections");
	ck_assert_int_eq(wf("[]", &w), PE_OK);
	ck_assert_uint_eq(w.workflows, 0);
}
END_TEST

START_TEST(test_not_an_export)
{
	struct n8n_wfcheck w;
	ck_assert_int_eq(wf("[{\"nodes\":[{}],\"connections\":{}}", &w), PE_PARSE);
	ck_assert_str_eq(w.snap.msg, "truncated: the file ends inside the export at byte 32");
	ck_assert_int_eq(wf("<html>", &w), PE_PARSE);
	ck_assert_int_eq(wf("[1,2]", &w), PE_PARSE);
}
END_TEST

static void write_text(const char *dir, const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	tu_write_file(path, text, strlen(text));
}

START_TEST(test_snapshot_files_and_folders)
{
	char dir[] = "/tmp/pe-n8n-verify-XXXXXX", sub[600], msg[256], cmd[700];
	struct n8n_verify_result r;
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(n8n_verify_snapshot(dir, &r, msg, sizeof(msg)), PE_NOTFOUND);
	ck_assert_ptr_nonnull(strstr(msg, "no snapshot matches"));
	write_text(dir, "old.json", "[{\"name\":\"a\",\"nodes\":[{}],\"connections\":{}}]");
	ck_assert_int_eq(system("sleep 0.02"), 0);
	snprintf(sub, sizeof(sub), "%s/2025-11-02", dir);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	write_text(sub, "a.json", "{\"name\":\"a\",\"nodes\":[{}],\"connections\":{}}");
	write_text(sub, "b.json", "{\"name\":\"b\",\"nodes\":[{}]}");
	ck_assert_int_eq(n8n_verify_snapshot(dir, &r, msg, sizeof(msg)), PE_OK);
	ck_assert_str_eq(r.path, sub);
	ck_assert_uint_eq(r.workflows, 2);
	ck_assert_uint_eq(r.bad, 1);
	ck_assert_str_eq(r.first_bad, "b.json: workflow 1 \"b\": no connections");
	write_text(sub, "c.json", "[{\"name\":\"c\"}]");
	ck_assert_int_eq(n8n_verify_snapshot(dir, &r, msg, sizeof(msg)), PE_PARSE);
	ck_assert_ptr_nonnull(strstr(msg, "c.json: an array, not one workflow object"));
	write_text(sub, "c.json", "{\"name\":\"c\",\"nodes\":[");
	ck_assert_int_eq(n8n_verify_snapshot(dir, &r, msg, sizeof(msg)), PE_PARSE);
	ck_assert_ptr_nonnull(strstr(msg, "truncated"));
	/* a glob naming one file */
	snprintf(sub, sizeof(sub), "%s/old*.json", dir);
	ck_assert_int_eq(n8n_verify_snapshot(sub, &r, msg, sizeof(msg)), PE_OK);
	ck_assert_uint_eq(r.workflows, 1);
	ck_assert_uint_eq(r.bad, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("n8n_verify");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_fixture_export_is_good);
	tcase_add_test(tc, test_missing_nodes_or_connections);
	tcase_add_test(tc, test_not_an_export);
	tcase_add_test(tc, test_snapshot_files_and_folders);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
