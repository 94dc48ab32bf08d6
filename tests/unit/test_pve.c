/* test_pve.c - PVE helpers (loose typing, coverage, tasks, UPIDs) and the PVE collector against fixtures. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "pve.h"

/* Reads tests/unit/data/pve/<name> (under $SRCDIR) and parses it. */
static cJSON *fixture(const char *name)
{
	const char *root = getenv("SRCDIR");
	char path[1024];
	FILE *f;
	char *text;
	long n;
	cJSON *doc;

	snprintf(path, sizeof(path), "%s/tests/unit/data/pve/%s", root ? root : ".", name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	text = calloc(1, (size_t)n + 1);
	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(fread(text, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	doc = cJSON_Parse(text);
	free(text);
	ck_assert_msg(doc != NULL, "%s is not JSON", path);
	return doc;
}

static cJSON *json(const char *text)
{
	cJSON *doc = cJSON_Parse(text);

	ck_assert_msg(doc != NULL, "bad test JSON: %s", text);
	return doc;
}

START_TEST(test_json_bool_variants)
{
	cJSON *o =
		json("{\"i1\":1,\"i0\":0,\"s1\":\"1\",\"s0\":\"0\",\"t\":true,\"f\":false,\"n\":null,"
		     "\"yes\":\"yes\",\"off\":\"OFF\",\"junk\":\"maybe\",\"arr\":[1],\"two\":2,\"half\":0.5,"
		     "\"sp\":\" 1 \",\"empty\":\"\"}");

	ck_assert_int_eq(pve_json_bool(o, "i1", 0), 1);
	ck_assert_int_eq(pve_json_bool(o, "i0", 1), 0);
	ck_assert_int_eq(pve_json_bool(o, "s1", 0), 1);
	ck_assert_int_eq(pve_json_bool(o, "s0", 1), 0);
	ck_assert_int_eq(pve_json_bool(o, "t", 0), 1);
	ck_assert_int_eq(pve_json_bool(o, "f", 1), 0);
	ck_assert_int_eq(pve_json_bool(o, "yes", 0), 1);
	ck_assert_int_eq(pve_json_bool(o, "off", 1), 0);
	ck_assert_int_eq(pve_json_bool(o, "two", 0), 1);
	ck_assert_int_eq(pve_json_bool(o, "half", 0), 1);
	ck_assert_int_eq(pve_json_bool(o, "sp", 0), 1);
	/* missing, null, unrecognised, wrong type: the default */
	ck_assert_int_eq(pve_json_bool(o, "missing", 1), 1);
	ck_assert_int_eq(pve_json_bool(o, "missing", 0), 0);
	ck_assert_int_eq(pve_json_bool(o, "n", 1), 1);
	ck_assert_int_eq(pve_json_bool(o, "junk", 0), 0);
	ck_assert_int_eq(pve_json_bool(o, "junk", 1), 1);
	ck_assert_int_eq(pve_json_bool(o, "arr", 0), 0);
	ck_assert_int_eq(pve_json_bool(o, "empty", 1), 1);
	ck_assert_int_eq(pve_json_bool(NULL, "i1", 0), 0);
	ck_assert_int_eq(pve_json_bool(o->child, "x", 1), 1); /* not an object */
	cJSON_Delete(o);
}
END_TEST

START_TEST(test_json_num_variants)
{
	cJSON *o = json(
		"{\"n\":100861726720,\"s\":\"87736700928\",\"f\":\"0.25\",\"neg\":-3,\"sp\":\" 42 \","
		"\"junk\":\"12abc\",\"empty\":\"\",\"null\":null,\"t\":true,\"obj\":{},\"inf\":\"1e999\","
		"\"nan\":\"nan\",\"hex\":\"0x10\"}");
	double v = -1;

	ck_assert(pve_json_num(o, "n", &v));
	ck_assert(v == 100861726720.0);
	ck_assert(pve_json_num(o, "s", &v));
	ck_assert(v == 87736700928.0);
	ck_assert(pve_json_num(o, "f", &v));
	ck_assert(v == 0.25);
	ck_assert(pve_json_num(o, "neg", &v));
	ck_assert(v == -3);
	ck_assert(pve_json_num(o, "sp", &v));
	ck_assert(v == 42);
	v = 7;
	ck_assert(!pve_json_num(o, "junk", &v));
	ck_assert(!pve_json_num(o, "empty", &v));
	ck_assert(!pve_json_num(o, "null", &v));
	ck_assert(!pve_json_num(o, "t", &v));
	ck_assert(!pve_json_num(o, "obj", &v));
	ck_assert(!pve_json_num(o, "inf", &v));
	ck_assert(!pve_json_num(o, "nan", &v));
	ck_assert(!pve_json_num(o, "missing", &v));
	ck_assert(v == 7); /* untouched on failure */
	cJSON_Delete(o);
}
END_TEST

START_TEST(test_json_str_and_data)
{
	cJSON *o = json("{\"s\":\"x\",\"n\":1,\"z\":null,\"data\":[1,2]}");
	cJSON *arr = json("[{\"a\":1}]");
	cJSON *nodata = json("{\"errors\":{}}");

	ck_assert_str_eq(pve_json_str(o, "s"), "x");
	ck_assert_ptr_null(pve_json_str(o, "n"));
	ck_assert_ptr_null(pve_json_str(o, "z"));
	ck_assert_ptr_null(pve_json_str(o, "missing"));
	ck_assert_int_eq(cJSON_GetArraySize(pve_data(o)), 2);
	ck_assert_ptr_eq(pve_data(arr), arr); /* pvesh prints the bare data */
	ck_assert_ptr_null(pve_data(nodata));
	ck_assert_ptr_null(pve_data(NULL));
	/* HTML, truncated and empty bodies never become documents */
	ck_assert_ptr_null(cJSON_Parse("<html><body>starting</body></html>"));
	ck_assert_ptr_null(cJSON_Parse("{\"data\":[{\"vmid\":10"));
	cJSON_Delete(o);
	cJSON_Delete(arr);
	cJSON_Delete(nodata);
}
END_TEST

START_TEST(test_list_has)
{
	ck_assert(pve_list_has("116,100,102", 100));
	ck_assert(pve_list_has("116,100,102", 102));
	ck_assert(!pve_list_has("116,100,102", 10));
	ck_assert(!pve_list_has("1000", 100));
	ck_assert(!pve_list_has("100a", 100));
	ck_assert(pve_list_has("100 101;102", 101));
	ck_assert(pve_list_has(" 9000 ", 9000));
	ck_assert(pve_list_has("abc,100", 100));
	ck_assert(!pve_list_has("", 100));
	ck_assert(!pve_list_has(NULL, 100));
	ck_assert(!pve_list_has("99999999999999999999999,1", 100));
}
END_TEST

/* A guest item like /cluster/resources?type=vm. */
static cJSON *guest(long vmid, const char *node, const char *pool)
{
	cJSON *g = cJSON_CreateObject();

	cJSON_AddNumberToObject(g, "vmid", (double)vmid);
	cJSON_AddStringToObject(g, "node", node);
	cJSON_AddStringToObject(g, "type", "qemu");
	if (pool)
		cJSON_AddStringToObject(g, "pool", pool);
	return g;
}

START_TEST(test_coverage_rules)
{
	cJSON *doc = fixture("cluster-backup-full.json");
	const cJSON *jobs = pve_data(doc);
	const cJSON *vmidjob = cJSON_GetArrayItem(jobs, 0); /* enabled, vmid 116,100,102, node pve1 */
	const cJSON *alljob = cJSON_GetArrayItem(jobs, 1); /* disabled, all, exclude 9000 */
	const cJSON *pooljob = cJSON_GetArrayItem(jobs, 2); /* no enabled key, pool prod */
	cJSON *g100 = guest(100, "pve1", NULL), *g100b = guest(100, "pve2", NULL);
	cJSON *g555 = guest(555, "pve2", NULL), *g9000 = guest(9000, "pve1", NULL);
	cJSON *gprod = guest(700, "pve3", "prod"), *gdev = guest(701, "pve3", "dev");

	ck_assert(pve_job_enabled(vmidjob));
	ck_assert(!pve_job_enabled(alljob));
	ck_assert(pve_job_enabled(pooljob)); /* missing enabled means enabled */

	ck_assert(pve_job_selects(vmidjob, g100));
	ck_assert(!pve_job_selects(vmidjob, g100b)); /* node restriction */
	ck_assert(!pve_job_selects(vmidjob, g555));
	ck_assert(pve_job_selects(alljob, g555));
	ck_assert(!pve_job_selects(alljob, g9000)); /* excluded */
	ck_assert(pve_job_selects(pooljob, gprod));
	ck_assert(!pve_job_selects(pooljob, gdev));
	ck_assert(!pve_job_selects(pooljob, g555)); /* no pool */

	ck_assert(pve_guest_covered(jobs, g100));
	ck_assert(!pve_guest_covered(jobs, g100b));
	ck_assert(!pve_guest_covered(jobs, g555)); /* only a disabled job selects it */
	ck_assert(pve_guest_covered(jobs, gprod));
	ck_assert(!pve_guest_covered(NULL, g100));
	ck_assert(!pve_guest_covered(g100, g100)); /* not an array */

	cJSON_Delete(g100);
	cJSON_Delete(g100b);
	cJSON_Delete(g555);
	cJSON_Delete(g9000);
	cJSON_Delete(gprod);
	cJSON_Delete(gdev);
	cJSON_Delete(doc);
}
END_TEST

START_TEST(test_coverage_loose_job_fields)
{
	cJSON *jobs = json("[{\"id\":\"a\",\"enabled\":\"0\",\"vmid\":\"100\"},"
			   "{\"id\":\"b\",\"enabled\":false,\"vmid\":\"101\"},"
			   "{\"id\":\"c\",\"enabled\":\"1\",\"vmid\":102},"
			   "{\"id\":\"d\",\"enabled\":true,\"all\":\"1\",\"exclude\":\"100,101,102,103\"},"
			   "{\"id\":\"e\",\"enabled\":null,\"vmid\":\"\",\"all\":true,\"exclude\":\"100;101 "
			   "102,103,104\"},"
			   "{\"id\":\"f\",\"vmid\":\"106\",\"node\":\"\"}]");
	cJSON *g;
	long covered[] = {102, 104, 105, 106}, uncovered[] = {100, 101, 103};

	for (size_t i = 0; i < sizeof(covered) / sizeof(covered[0]); i++) {
		g = guest(covered[i], "n1", NULL);
		ck_assert_msg(pve_guest_covered(jobs, g), "vmid %ld should be covered", covered[i]);
		cJSON_Delete(g);
	}
	for (size_t i = 0; i < sizeof(uncovered) / sizeof(uncovered[0]); i++) {
		g = guest(uncovered[i], "n1", NULL);
		ck_assert_msg(!pve_guest_covered(jobs, g), "vmid %ld should not be covered", uncovered[i]);
		cJSON_Delete(g);
	}
	/* a guest whose vmid is a string still matches; one without a vmid never does */
	g = json("{\"vmid\":\"102\",\"node\":\"n1\"}");
	ck_assert(pve_guest_covered(jobs, g));
	cJSON_Delete(g);
	g = json("{\"node\":\"n1\"}");
	ck_assert(!pve_guest_covered(jobs, g));
	cJSON_Delete(g);
	cJSON_Delete(jobs);
}
END_TEST

START_TEST(test_task_status_classify)
{
	ck_assert_int_eq(pve_task_status_classify("OK"), PVE_TASK_OK);
	ck_assert_int_eq(pve_task_status_classify("WARNINGS: 1"), PVE_TASK_WARNINGS);
	ck_assert_int_eq(pve_task_status_classify("WARNINGS: 12"), PVE_TASK_WARNINGS);
	ck_assert_int_eq(pve_task_status_classify("job errors"), PVE_TASK_FAILED);
	ck_assert_int_eq(pve_task_status_classify("unexpected status"), PVE_TASK_FAILED);
	ck_assert_int_eq(
		pve_task_status_classify("could not activate storage 'geros': storage 'geros' is not online"),
		PVE_TASK_FAILED);
	ck_assert_int_eq(pve_task_status_classify("ok"), PVE_TASK_FAILED);
	ck_assert_int_eq(pve_task_status_classify("OK "), PVE_TASK_FAILED);
	ck_assert_int_eq(pve_task_status_classify(NULL), PVE_TASK_RUNNING);
	ck_assert_int_eq(pve_task_status_classify(""), PVE_TASK_RUNNING);
	ck_assert_int_eq(pve_task_status_classify("RUNNING"), PVE_TASK_RUNNING);
	ck_assert(pve_task_success(PVE_TASK_OK));
	ck_assert(pve_task_success(PVE_TASK_WARNINGS));
	ck_assert(!pve_task_success(PVE_TASK_FAILED));
	ck_assert(!pve_task_success(PVE_TASK_RUNNING));
}
END_TEST

START_TEST(test_task_classify_fixture)
{
	cJSON *doc = fixture("node-tasks-vzdump.json"), *ct = fixture("cluster-tasks.json");
	const cJSON *tasks = pve_data(doc), *ctasks = pve_data(ct);
	cJSON *odd = json("[{\"status\":\"OK\"},{\"status\":\"OK\",\"endtime\":null},"
			  "{\"status\":\"OK\",\"endtime\":\"1791076882\"},{\"endtime\":1791076882}]");

	ck_assert_int_eq(pve_task_classify(cJSON_GetArrayItem(tasks, 0)), PVE_TASK_FAILED);
	ck_assert_int_eq(pve_task_classify(cJSON_GetArrayItem(tasks, 1)), PVE_TASK_OK);
	ck_assert_int_eq(pve_task_classify(cJSON_GetArrayItem(tasks, 2)), PVE_TASK_WARNINGS);
	ck_assert_int_eq(pve_task_classify(cJSON_GetArrayItem(ctasks, 0)), PVE_TASK_RUNNING); /* no status */
	ck_assert_int_eq(pve_task_classify(cJSON_GetArrayItem(ctasks, 1)), PVE_TASK_OK);
	ck_assert_int_eq(pve_task_classify(cJSON_GetArrayItem(odd, 0)), PVE_TASK_RUNNING); /* no endtime */
	ck_assert_int_eq(pve_task_classify(cJSON_GetArrayItem(odd, 1)), PVE_TASK_RUNNING); /* endtime null */
	ck_assert_int_eq(pve_task_classify(cJSON_GetArrayItem(odd, 2)), PVE_TASK_OK); /* endtime as string */
	ck_assert_int_eq(pve_task_classify(cJSON_GetArrayItem(odd, 3)), PVE_TASK_RUNNING); /* no status */

	ck_assert(pve_task_by_scheduler(cJSON_GetArrayItem(tasks, 0)));
	ck_assert(!pve_task_by_scheduler(cJSON_GetArrayItem(tasks, 2))); /* a token's task */
	cJSON_Delete(odd);
	cJSON_Delete(doc);
	cJSON_Delete(ct);
}
END_TEST

START_TEST(test_task_by_scheduler_variants)
{
	cJSON *t = json("[{\"user\":\"root@pam\"},{\"user\":\"root@pam\",\"tokenid\":\"auto\"},"
			"{\"user\":\"root@pam\",\"tokenid\":\"\"},{\"user\":\"admin@pve\"},"
			"{\"upid\":\"UPID:pve1:000831DD:0640E944:6AC1B32B:vzdump::root@pam:\"},"
			"{\"upid\":\"UPID:pve1:000831DD:0640E944:6AC1B32B:vzdump::root@pam!tok:\"},"
			"{\"upid\":\"garbage\"},{}]");
	int want[] = {1, 0, 1, 0, 1, 0, 0, 0};

	for (int i = 0; i < 8; i++)
		ck_assert_msg(pve_task_by_scheduler(cJSON_GetArrayItem(t, i)) == want[i], "item %d", i);
	cJSON_Delete(t);
}
END_TEST

START_TEST(test_upid_parse)
{
	struct pve_upid u;
	char msg[128];

	ck_assert_int_eq(pve_upid_parse("UPID:pve1:000831DD:0640E944:6AC1B32B:vzdump::root@pam:", &u, msg,
					sizeof(msg)),
			 PE_OK);
	ck_assert_str_eq(u.node, "pve1");
	ck_assert_uint_eq(u.pid, 537053);
	ck_assert_uint_eq(u.pstart, 104917316);
	ck_assert_int_eq(u.starttime, 1791079211);
	ck_assert_str_eq(u.type, "vzdump");
	ck_assert_str_eq(u.id, "");
	ck_assert_str_eq(u.user, "root@pam");

	ck_assert_int_eq(pve_upid_parse("UPID:pve1:0004921D:0031A737:6AB22FF2:vzdump:2675:monitor@pve!tok:",
					&u, msg, sizeof(msg)),
			 PE_OK);
	ck_assert_str_eq(u.id, "2675");
	ck_assert_str_eq(u.user, "monitor@pve!tok");
	ck_assert_int_eq(u.starttime, 1790062578);
	/* a 9-digit pstart */
	ck_assert_int_eq(pve_upid_parse("UPID:n:000FF1FD:10F9374C0:630D702C:vzdump:110:root@pam:", &u, msg,
					sizeof(msg)),
			 PE_OK);
	ck_assert_uint_eq(u.pstart, 0x10F9374C0UL);
}
END_TEST

START_TEST(test_upid_parse_bad)
{
	static const char *const bad[] = {
		"",
		"UPID",
		"upid:pve1:000831DD:0640E944:6AC1B32B:vzdump::root@pam:",
		"UPID:pve1:000831DD:0640E944:6AC1B32B:vzdump::root@pam", /* truncated: no final colon */
		"UPID::000831DD:0640E944:6AC1B32B:vzdump::root@pam:", /* no node */
		"UPID:pve1:zzzzzzzz:0640E944:6AC1B32B:vzdump::root@pam:", /* not hex */
		"UPID:pve1:831DD:0640E944:6AC1B32B:vzdump::root@pam:", /* short pid */
		"UPID:pve1:000831DD:0640E944:6AC1B32B0:vzdump::root@pam:", /* long starttime */
		"UPID:pve1:-00831DD:0640E944:6AC1B32B:vzdump::root@pam:",
		"UPID:pve1:000831DD:0640E944:6AC1B32B::100:root@pam:", /* no type */
		"UPID:pve1:000831DD:0640E944:6AC1B32B:vzdump:100::", /* no user */
		"UPID:nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn:"
		"000831DD:"
		"0640E944:6AC1B32B:vzdump::root@pam:", /* oversize node */
	};
	struct pve_upid u;
	char msg[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		msg[0] = '\0';
		ck_assert_msg(pve_upid_parse(bad[i], &u, msg, sizeof(msg)) == PE_PARSE, "accepted %s",
			      bad[i]);
		ck_assert(msg[0] != '\0');
		ck_assert_str_eq(u.node, "");
	}
	ck_assert_int_eq(pve_upid_parse(NULL, &u, msg, sizeof(msg)), PE_PARSE);
}
END_TEST

START_TEST(test_archive_parse)
{
	cJSON *doc = fixture("storage-content-backup-mixed.json");
	cJSON *odd =
		json("[{\"vmid\":\"105\",\"ctime\":\"1724018402\",\"size\":\"42\",\"content\":\"backup\"},"
		     "{\"vmid\":106,\"ctime\":1724018402},"
		     "{\"vmid\":107,\"ctime\":1724018402,\"content\":\"iso\"},"
		     "{\"vmid\":-1,\"ctime\":1724018402},{\"vmid\":1.5,\"ctime\":1},"
		     "{\"vmid\":108},{\"vmid\":108,\"ctime\":null},{\"vmid\":\"x\",\"ctime\":1},"
		     "{\"vmid\":109,\"ctime\":1,\"size\":null}]");
	long vmid;
	double ctime, size;

	ck_assert(pve_archive_parse(cJSON_GetArrayItem(pve_data(doc), 2), &vmid, &ctime, &size));
	ck_assert_int_eq(vmid, 100);
	ck_assert(ctime == 1739068413.0);
	ck_assert(size == 217109760043.0);
	ck_assert(pve_archive_parse(cJSON_GetArrayItem(odd, 0), &vmid, &ctime, &size));
	ck_assert_int_eq(vmid, 105);
	ck_assert(size == 42);
	ck_assert(pve_archive_parse(cJSON_GetArrayItem(odd, 1), &vmid, &ctime, &size));
	ck_assert(size == -1);
	for (int i = 2; i <= 7; i++)
		ck_assert_msg(!pve_archive_parse(cJSON_GetArrayItem(odd, i), &vmid, &ctime, &size), "item %d",
			      i);
	ck_assert(pve_archive_parse(cJSON_GetArrayItem(odd, 8), &vmid, &ctime, &size));
	ck_assert(size == -1);
	cJSON_Delete(odd);
	cJSON_Delete(doc);
}
END_TEST

START_TEST(test_service_running)
{
	cJSON *ok = fixture("node-service-state-pvescheduler.json");
	cJSON *failed = fixture("node-service-state-pvescheduler-failed.json");
	cJSON *odd = json("[{\"state\":\"running\",\"active-state\":\"inactive\"},{\"state\":\"running\"},{},"
			  "{\"state\":1,\"active-state\":true}]");

	ck_assert_int_eq(pve_service_running(pve_data(ok)), 1);
	ck_assert_int_eq(pve_service_running(pve_data(failed)), 0);
	ck_assert_int_eq(pve_service_running(cJSON_GetArrayItem(odd, 0)), 0);
	ck_assert_int_eq(pve_service_running(cJSON_GetArrayItem(odd, 1)), 0);
	ck_assert_int_eq(pve_service_running(cJSON_GetArrayItem(odd, 2)), -1);
	ck_assert_int_eq(pve_service_running(cJSON_GetArrayItem(odd, 3)), -1);
	cJSON_Delete(ok);
	cJSON_Delete(failed);
	cJSON_Delete(odd);
}
END_TEST

static Suite *pve_suite(void)
{
	Suite *s = suite_create("pve");
	TCase *tc = tcase_create("helpers");

	tcase_add_test(tc, test_json_bool_variants);
	tcase_add_test(tc, test_json_num_variants);
	tcase_add_test(tc, test_json_str_and_data);
	tcase_add_test(tc, test_list_has);
	tcase_add_test(tc, test_coverage_rules);
	tcase_add_test(tc, test_coverage_loose_job_fields);
	tcase_add_test(tc, test_task_status_classify);
	tcase_add_test(tc, test_task_classify_fixture);
	tcase_add_test(tc, test_task_by_scheduler_variants);
	tcase_add_test(tc, test_upid_parse);
	tcase_add_test(tc, test_upid_parse_bad);
	tcase_add_test(tc, test_archive_parse);
	tcase_add_test(tc, test_service_running);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(pve_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
