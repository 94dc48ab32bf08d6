/* test_runbook.c - the runbooks compiled into the exporter: one page per docs/runbooks file, lookup, index, escaping. */
#include "testutil.h"

#include <dirent.h>

#include "runbook.h"

/* Every docs/runbooks/<Alert>.md is in the table, and nothing else. */
START_TEST(test_table_matches_docs)
{
	char dir[4200];
	size_t files = 0;
	snprintf(dir, sizeof(dir), "%s/docs/runbooks", tu_srcdir());
	DIR *d = opendir(dir);
	ck_assert_msg(d != NULL, "cannot open %s", dir);
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		size_t n = strlen(e->d_name);
		if (n < 4 || strcmp(e->d_name + n - 3, ".md") != 0)
			continue;
		files++;
		const struct runbook *rb = runbook_find(e->d_name);
		ck_assert_msg(rb != NULL, "%s is not compiled in", e->d_name);
		char h1[256];
		snprintf(h1, sizeof(h1), "<h1>%.*s</h1>", (int)(n - 3), e->d_name);
		ck_assert_msg(strstr(rb->html, h1) != NULL, "%s: no %s", e->d_name, h1);
		ck_assert_uint_eq(strlen(rb->html), rb->len);
	}
	closedir(d);
	ck_assert_uint_gt(files, 20);
	ck_assert_uint_eq(runbook_count, files);
	for (size_t i = 1; i < runbook_count; i++)
		ck_assert_int_lt(strcmp(runbook_table[i - 1].name, runbook_table[i].name), 0);
}
END_TEST

START_TEST(test_find)
{
	const struct runbook *a = runbook_find("BackupTargetStale");
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(a->name, "BackupTargetStale");
	ck_assert_ptr_eq(runbook_find("BackupTargetStale.md"), a);
	ck_assert_ptr_null(runbook_find("BackupTarget"));
	ck_assert_ptr_null(runbook_find("BackupTargetStaleX"));
	ck_assert_ptr_null(runbook_find(""));
	ck_assert_ptr_null(runbook_find(".md"));
	ck_assert_ptr_null(runbook_find("../BackupTargetStale"));
}
END_TEST

/* Code in the markdown is escaped: a shell pipe or redirect never becomes markup. */
START_TEST(test_html_is_escaped)
{
	const struct runbook *rb = runbook_find("PVEBackupJobOverdue");
	ck_assert_ptr_nonnull(rb);
	ck_assert_ptr_nonnull(strstr(rb->html, "<pre><code>"));
	ck_assert_ptr_nonnull(strstr(rb->html, "vzdump-qemu-100-&lt;date&gt;.vma.zst"));
	ck_assert_ptr_null(strstr(rb->html, "<date>"));
}
END_TEST

START_TEST(test_index)
{
	struct buf out;
	buf_init(&out, 0);
	ck_assert_int_eq(runbook_index(&out), PE_OK);
	for (size_t i = 0; i < runbook_count; i++) {
		char link[256];
		snprintf(link, sizeof(link), "<a href=\"%s\">", runbook_table[i].name);
		ck_assert_msg(strstr(buf_str(&out), link) != NULL, "index lacks %s", runbook_table[i].name);
	}
	buf_free(&out);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("runbook");
	TCase *tc = tcase_create("runbook");
	tcase_add_test(tc, test_table_matches_docs);
	tcase_add_test(tc, test_find);
	tcase_add_test(tc, test_html_is_escaped);
	tcase_add_test(tc, test_index);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
