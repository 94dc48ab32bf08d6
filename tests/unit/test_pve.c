/* test_pve.c - PVE helpers (loose typing, coverage, tasks, UPIDs) and the PVE collector against fixtures. */
#include "testutil.h"

#include "cJSON.h"
#include "collector.h"
#include "pve.h"
#include "pve_parse.h"

/* Parses tests/fixtures/pve/<name>. */
static cJSON *fixture(const char *name)
{
	char path[512];
	char *text;
	cJSON *doc;

	snprintf(path, sizeof(path), "tests/fixtures/pve/%s", name);
	text = tu_read_file(path, NULL);
	ck_assert_msg(text != NULL, "cannot read %s", path);
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

/* ---- the collector, through the scrape framework, against fixture upstreams ---- */

#define D "tests/fixtures/pve/"
#define TASKS(n) "/nodes/" n "/tasks?typefilter=vzdump&source=all&limit=500"
#define STATE(n) "/nodes/" n "/services/pvescheduler/state"
#define STORAGE(n) "/nodes/" n "/storage?content=backup"
#define CONTENT(n, s) "/nodes/" n "/storage/" s "/content?content=backup"
#define ANALYZE(p) "/cluster/jobs/schedule-analyze?schedule=" p "*"
#define SECRET "s3cret-0123456789"

/* Scenario A: two healthy nodes, loosely typed answers everywhere. */
static const struct tu_route routes_a[] = {
	{.path = "/nodes", .file = D "nodes-2.json"},
	{.path = "/cluster/resources?type=vm", .file = D "resources-a.json"},
	{.path = "/cluster/backup", .file = D "jobs-a.json"},
	{.path = TASKS("pve1"), .file = D "tasks-pve1-a.json"},
	{.path = TASKS("pve2"), .file = D "tasks-pve2-a.json"},
	{.path = STATE("pve1"), .file = D "node-service-state-pvescheduler.json"},
	{.path = STATE("pve2"), .file = D "node-service-state-pvescheduler-failed.json"},
	{.path = STORAGE("pve1"), .file = D "storage-pve1-a.json"},
	{.path = STORAGE("pve2"), .file = D "storage-pve2-a.json"},
	{.path = CONTENT("pve1", "local"), .file = D "content-pve1-local-a.json"},
	{.path = CONTENT("pve1", "nfs-backup"), .file = D "content-nfs-a.json"},
	{.path = CONTENT("pve2", "pbs"), .file = D "content-pbs-a.json"},
	{.path = CONTENT("pve2", "local"), .file = D "empty-list.json"},
	{.path = ANALYZE("21"), .file = D "analyze-2100.json"},
	{.path = ANALYZE("02"), .file = D "analyze-0230.json"},
	{.path = ANALYZE("mon"), .file = D "analyze-mon-fri.json"},
};

/* Scenario B: pve2 unreachable through the API proxy (596), pve3 offline, no Sys.Audit on pve1. */
static const struct tu_route routes_b[] = {
	{.path = "/nodes", .file = D "nodes-3.json"},
	{.path = "/cluster/resources?type=vm", .file = D "resources-a.json"},
	{.path = "/cluster/backup", .file = D "jobs-a.json"},
	{.path = TASKS("pve1"), .file = D "tasks-pve1-a.json"},
	{.path = STATE("pve1"), .status = 403, .file = D "error-403-perm.json"},
	{.path = STORAGE("pve1"), .file = D "storage-pve1-a.json"},
	{.path = CONTENT("pve1", "local"), .file = D "content-pve1-local-a.json"},
	{.path = CONTENT("pve1", "nfs-backup"), .file = D "content-nfs-a.json"},
	{.path = "/nodes/pve2/*", .status = 596, .body = ""},
	{.path = ANALYZE("21"), .file = D "analyze-2100.json"},
};

/* Scenario C: tasks visible, every archive list empty (token without Datastore.Allocate). */
static const struct tu_route routes_c[] = {
	{.path = "/nodes", .file = D "nodes-2.json"},
	{.path = "/cluster/resources?type=vm", .file = D "resources-a.json"},
	{.path = "/cluster/backup", .file = D "jobs-a.json"},
	{.path = TASKS("pve1"), .file = D "tasks-pve1-a.json"},
	{.path = TASKS("pve2"), .file = D "tasks-pve2-a.json"},
	{.path = STATE("pve1"), .file = D "node-service-state-pvescheduler.json"},
	{.path = STATE("pve2"), .file = D "node-service-state-pvescheduler.json"},
	{.path = STORAGE("pve1"), .file = D "storage-pve1-a.json"},
	{.path = STORAGE("pve2"), .file = D "storage-pve2-a.json"},
	{.path = "/nodes/pve1/storage/*", .file = D "empty-list.json"},
	{.path = "/nodes/pve2/storage/*", .file = D "empty-list.json"},
	{.path = ANALYZE("21"), .file = D "analyze-2100.json"},
	{.path = ANALYZE("02"), .file = D "analyze-future.json"},
	{.path = ANALYZE("mon"), .file = D "analyze-mon-fri.json"},
};

/* Scenario D: no Sys.Audit on / (jobs refused), an inactive local backup storage on pve2. */
static const struct tu_route routes_d[] = {
	{.path = "/nodes", .file = D "nodes-2.json"},
	{.path = "/cluster/resources?type=vm", .file = D "resources-a.json"},
	{.path = "/cluster/backup", .status = 403, .file = D "error-403-perm.json"},
	{.path = TASKS("pve1"), .file = D "tasks-pve1-a.json"},
	{.path = TASKS("pve2"), .file = D "tasks-pve2-a.json"},
	{.path = STATE("pve1"), .file = D "node-service-state-pvescheduler.json"},
	{.path = STATE("pve2"), .file = D "node-service-state-pvescheduler.json"},
	{.path = STORAGE("pve1"), .file = D "storage-pve1-a.json"},
	{.path = STORAGE("pve2"), .file = D "storage-pve2-usb.json"},
	{.path = CONTENT("pve1", "local"), .file = D "content-pve1-local-a.json"},
	{.path = CONTENT("pve1", "nfs-backup"), .file = D "content-nfs-a.json"},
	{.path = CONTENT("pve2", "pbs"), .file = D "content-pbs-a.json"},
	{.path = CONTENT("pve2", "local"), .file = D "empty-list.json"},
};

struct pve_run {
	struct tu_upstream u;
	struct buf unmatched; /* paths no route serves, one per line */
	char log[16384]; /* what the collector logged */
	char error[256]; /* the source's error */
	int up;
	double timeout; /* scrape deadline in seconds; 0: 10 */
	void (*inspect)(struct scrape *s);
	size_t content_max_body; /* smallest response cap a storage content listing was asked with */
};

static enum perr pve_transport(void *ctx, const struct fetch_target *t, const char *method, const char *path,
			       const char *body, double timeout, const struct fetch_stream *stream,
			       struct fetch_resp *r)
{
	struct pve_run *run = ctx;

	pthread_mutex_lock(&run->u.lock);
	if (strstr(path, "/content?") && (!run->content_max_body || t->max_body < run->content_max_body))
		run->content_max_body = t->max_body;
	if (!tu_route_find(&run->u, path)) {
		buf_adds(&run->unmatched, path);
		buf_addc(&run->unmatched, '\n');
	}
	pthread_mutex_unlock(&run->u.lock);
	return tu_transport(&run->u, t, method, path, body, timeout, stream, r);
}

static struct config *pve_config(void)
{
	struct config *c = tu_config_new();

	c->pve = calloc(1, sizeof(*c->pve));
	ck_assert_ptr_nonnull(c->pve);
	c->npve = 1;
	c->pve[0].name = strdup("home");
	c->pve[0].url = strdup("https://pve-home.test:8006");
	c->pve[0].token_id = strdup("monitor@pve!exporter");
	c->pve[0].token_secret = strdup(SECRET);
	c->pve[0].timeout = 10;
	return c;
}

/* Keeps the PVE families and source_up: the golden part of an exposition. */
static char *pve_filter(const char *text)
{
	static const char *const keep[] = {"persistence_pve_", "persistence_source_up"};
	return tu_filter_families(text, keep, 2, 1);
}

/* Runs a scrape of collector pve with stderr captured into run->log; returns the golden part. */
static char *pve_scrape(const struct tu_route *routes, size_t n, struct pve_run *run)
{
	static const char *const collect[] = {"pve"};
	struct scrape_state *st = scrape_state_new();
	struct config *cfg = pve_config();
	struct scrape *s;
	struct buf out;
	char tmpl[] = "/tmp/pe-test-pve-XXXXXX", *full, *text;
	int fd = mkstemp(tmpl), saved = dup(2);
	ssize_t got;

	ck_assert_int_ge(fd, 0);
	tu_upstream_init(&run->u, routes, n);
	buf_init(&run->unmatched, 0);
	scrape_state_set_transport(st, pve_transport, run);
	fflush(stderr);
	dup2(fd, 2);
	s = scrape_new(st, cfg, run->timeout > 0 ? run->timeout : 10, collect, 1);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(scrape_run(s), PE_OK);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	got = pread(fd, run->log, sizeof(run->log) - 1, 0);
	run->log[got > 0 ? got : 0] = '\0';
	close(fd);
	unlink(tmpl);
	ck_assert_uint_eq(scrape_nsources(s), 1);
	snprintf(run->error, sizeof(run->error), "%s", scrape_source(s, 0)->error);
	run->up = scrape_source(s, 0)->up;
	if (run->inspect)
		run->inspect(s);
	buf_init(&out, 0);
	ck_assert_int_eq(scrape_write(s, &out), PE_OK);
	buf_add(&out, "", 0);
	scrape_free(s);
	config_unref(cfg);
	scrape_state_free(st);
	full = tu_strip_volatile(buf_str(&out));
	buf_free(&out);
	tu_assert_promtool_clean(full);
	text = pve_filter(full);
	free(full);
	/* the token secret never leaks into metrics, logs or errors */
	ck_assert_ptr_null(strstr(text, SECRET));
	ck_assert_ptr_null(strstr(run->log, SECRET));
	ck_assert_ptr_null(strstr(run->error, SECRET));
	return text;
}

static void pve_run_free(struct pve_run *run)
{
	buf_free(&run->unmatched);
	pthread_mutex_destroy(&run->u.lock);
}

static void inspect_facts_a(struct scrape *s)
{
	double v;
	const char *str;

	ck_assert(facts_get(scrape_facts(s), "pve", "home", "guest/100/last_backup", &v, NULL));
	ck_assert(v == 1791415000.0); /* the PBS archive, newer than the NFS ones */
	ck_assert(facts_get(scrape_facts(s), "pve", "home", "guest/105/last_backup", &v, NULL));
	ck_assert(v == 1791400000.0); /* max ctime, not the last entry */
	ck_assert(!facts_get(scrape_facts(s), "pve", "home", "guest/201/last_backup", &v, NULL));
	ck_assert(!facts_get(scrape_facts(s), "pve", "home", "guest/999/last_backup", &v,
			     NULL)); /* no such guest */
	ck_assert(facts_get(scrape_facts(s), "pve", "home", "guest/9000/template", &v, NULL));
	ck_assert(v == 1);
	ck_assert(facts_get(scrape_facts(s), "pve", "home", "guest/105/type", &v, &str));
	ck_assert_str_eq(str, "lxc");
	ck_assert(facts_get(scrape_facts(s), "pve", "home", "guest/200/node", &v, &str));
	ck_assert_str_eq(str, "pve2");
	ck_assert(facts_get(scrape_facts(s), "pve", "home", "guest/100/name", &v, &str));
	ck_assert_str_eq(str, "web01");
	ck_assert(facts_get(scrape_facts(s), "pve", "home", "guest/201/name", &v, &str));
	ck_assert_str_eq(str, "");
	ck_assert(!facts_get(scrape_facts(s), "pve", "home", "guest/400/type", &v,
			     &str)); /* openvz is not a guest */
}

START_TEST(test_collect_full)
{
	struct pve_run run = {.inspect = inspect_facts_a};
	char *text = pve_scrape(routes_a, sizeof(routes_a) / sizeof(routes_a[0]), &run);

	tu_assert_golden(text, "tests/unit/golden/pve/full.prom");
	ck_assert_int_eq(run.up, 1);
	/* every request was expected: the shared NFS storage is listed once, not from pve2 */
	ck_assert_msg(run.unmatched.len == 0, "unexpected requests:\n%s", buf_str(&run.unmatched));
	ck_assert_int_eq(run.u.calls, 16);
	ck_assert_str_eq(run.u.last_auth, "Authorization: PVEAPIToken=monitor@pve!exporter=" SECRET);
	free(text);
	pve_run_free(&run);
}
END_TEST

START_TEST(test_collect_node_unreachable)
{
	struct pve_run run = {0};
	char *text = pve_scrape(routes_b, sizeof(routes_b) / sizeof(routes_b[0]), &run);

	tu_assert_golden(text, "tests/unit/golden/pve/node-unreachable.prom");
	ck_assert_int_eq(run.up, 1);
	ck_assert_msg(run.unmatched.len == 0, "unexpected requests:\n%s", buf_str(&run.unmatched));
	ck_assert_ptr_nonnull(strstr(run.log, "Sys.Audit"));
	ck_assert_ptr_nonnull(strstr(run.log, "596"));
	ck_assert_ptr_null(strstr(text, "node=\"pve3\",storage"));
	free(text);
	pve_run_free(&run);
}
END_TEST

START_TEST(test_collect_hidden_archives)
{
	struct pve_run run = {0};
	char *text = pve_scrape(routes_c, sizeof(routes_c) / sizeof(routes_c[0]), &run);

	tu_assert_golden(text, "tests/unit/golden/pve/hidden-archives.prom");
	ck_assert_int_eq(run.up, 1);
	ck_assert_ptr_nonnull(strstr(run.log, "Datastore.Allocate"));
	ck_assert_ptr_null(strstr(text, "persistence_pve_guest_backups"));
	ck_assert_ptr_null(strstr(text, "persistence_pve_guest_last_backup"));
	free(text);
	pve_run_free(&run);
}
END_TEST

/* Scenario C, but pve1's listing is over the response cap: a failure, not "the token cannot see archives". */
static const struct tu_route routes_c_toobig[] = {
	{.path = "/nodes", .file = D "nodes-2.json"},
	{.path = "/cluster/resources?type=vm", .file = D "resources-a.json"},
	{.path = "/cluster/backup", .file = D "jobs-a.json"},
	{.path = TASKS("pve1"), .file = D "tasks-pve1-a.json"},
	{.path = TASKS("pve2"), .file = D "tasks-pve2-a.json"},
	{.path = STATE("pve1"), .file = D "node-service-state-pvescheduler.json"},
	{.path = STATE("pve2"), .file = D "node-service-state-pvescheduler.json"},
	{.path = STORAGE("pve1"), .file = D "storage-pve1-a.json"},
	{.path = STORAGE("pve2"), .file = D "storage-pve2-a.json"},
	{.path = CONTENT("pve1", "local"), .transport_rc = PE_TOOBIG},
	{.path = "/nodes/pve1/storage/*", .file = D "empty-list.json"},
	{.path = "/nodes/pve2/storage/*", .file = D "empty-list.json"},
	{.path = ANALYZE("21"), .file = D "analyze-2100.json"},
	{.path = ANALYZE("02"), .file = D "analyze-future.json"},
	{.path = ANALYZE("mon"), .file = D "analyze-mon-fri.json"},
};

START_TEST(test_collect_listing_too_large)
{
	struct pve_run run = {0};
	char *text = pve_scrape(routes_c_toobig, sizeof(routes_c_toobig) / sizeof(routes_c_toobig[0]), &run);

	ck_assert_msg(run.up == 1, "source down: %s", run.error);
	ck_assert_ptr_nonnull(strstr(run.log, "PVE storage content listing failed"));
	ck_assert_ptr_nonnull(strstr(run.log, "storage=local"));
	ck_assert_ptr_null(strstr(run.log, "Datastore.Allocate")); /* no permission hint */
	ck_assert_ptr_null(strstr(run.log, "cannot see archives"));
	ck_assert_ptr_null(strstr(text, "persistence_pve_guest_backups{")); /* counts are unknown */
	/* listings get the larger cap */
	ck_assert_uint_eq(run.content_max_body, (size_t)256 << 20);
	free(text);
	pve_run_free(&run);
}
END_TEST

START_TEST(test_collect_jobs_denied)
{
	struct pve_run run = {0};
	char *text = pve_scrape(routes_d, sizeof(routes_d) / sizeof(routes_d[0]), &run);

	ck_assert_int_eq(run.up, 1);
	ck_assert_ptr_nonnull(strstr(run.log, "Sys.Audit on /"));
	ck_assert_ptr_null(strstr(text, "persistence_pve_backup_job"));
	ck_assert_ptr_null(strstr(text, "persistence_pve_guest_backup_covered"));
	ck_assert_ptr_nonnull(strstr(
		text, "persistence_pve_storage_up{source=\"home\",node=\"pve2\",storage=\"usb\"} 0\n"));
	ck_assert_ptr_null(strstr(text, "storage=\"usb\"} 0\npersistence_pve_storage_size"));
	ck_assert_ptr_null(strstr(
		text, "persistence_pve_storage_size_bytes{source=\"home\",node=\"pve2\",storage=\"usb\"}"));
	/* an archive storage could not be listed: no count, but the newest archives stay */
	ck_assert_ptr_null(strstr(text, "persistence_pve_guest_backups"));
	ck_assert_ptr_nonnull(strstr(text, "persistence_pve_guest_last_backup_timestamp_seconds{source="
					   "\"home\",vmid=\"100\"} 1791415000\n"));
	ck_assert_ptr_nonnull(strstr(text, "persistence_source_up{source=\"home\",kind=\"pve\"} 1\n"));
	free(text);
	pve_run_free(&run);
}
END_TEST

START_TEST(test_collect_unauthorized)
{
	static const struct tu_route routes[] = {
		{.path = "/nodes", .status = 401, .body = ""},
		{.path = "/*", .file = D "empty-list.json"},
	};
	struct pve_run run = {0};
	char *text = pve_scrape(routes, 2, &run);

	ck_assert_int_eq(run.up, 0);
	ck_assert_ptr_nonnull(strstr(run.error, "check token_id/secret; PVE delays every 401 by 3 s"));
	ck_assert_int_eq(run.u.calls, 1); /* no further request: each 401 costs 3 s */
	ck_assert_ptr_null(strstr(text, "persistence_pve_"));
	ck_assert_ptr_nonnull(strstr(text, "persistence_source_up{source=\"home\",kind=\"pve\"} 0\n"));
	free(text);
	pve_run_free(&run);
}
END_TEST

/* A cluster-wide answer that is unusable takes the source down and publishes no PVE sample. */
START_TEST(test_collect_bad_cluster_answers)
{
	static const struct {
		const char *path;
		long status;
		const char *body;
		enum perr rc;
	} cases[] = {
		{"/cluster/resources?type=vm", 200, "<html><body>pveproxy starting</body></html>", PE_OK},
		{"/cluster/resources?type=vm", 200, "{\"data\":[{\"vmid\":100,\"node\":\"pve1\"", PE_OK},
		{"/cluster/resources?type=vm", 200, "{\"data\":{\"vmid\":100}}", PE_OK},
		{"/cluster/resources?type=vm", 200, "{\"data\":null}", PE_OK},
		{"/cluster/resources?type=vm", 200, "", PE_OK},
		{"/cluster/resources?type=vm", 500, "{\"data\":null,\"message\":\"got timeout\\n\"}", PE_OK},
		{"/cluster/resources?type=vm", 0, NULL, PE_TIMEOUT},
		{"/nodes", 596, "", PE_OK},
		{"/nodes", 200, "[1,2,3", PE_OK},
		{"/cluster/backup", 500, "{\"data\":null}", PE_OK},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tu_route routes[sizeof(routes_a) / sizeof(routes_a[0]) + 1];
		struct pve_run run = {0};
		char *text;

		routes[0] = (struct tu_route){.path = cases[i].path,
					      .status = cases[i].status,
					      .body = cases[i].body,
					      .transport_rc = cases[i].rc};
		memcpy(routes + 1, routes_a, sizeof(routes_a));
		text = pve_scrape(routes, sizeof(routes) / sizeof(routes[0]), &run);
		ck_assert_msg(run.up == 0, "case %zu: source up", i);
		ck_assert_msg(run.error[0] != '\0', "case %zu: no error", i);
		ck_assert_msg(strstr(text, "persistence_pve_") == NULL, "case %zu published:\n%s", i, text);
		free(text);
		pve_run_free(&run);
	}
}
END_TEST

/*
 * A storage listing slower than the scrape deadline costs only the archive
 * numbers: the next due slots of jobs with a scheduler task were asked for
 * before the listings, so the source stays up and the overdue metric is
 * there on the first scrape. A calendar request that comes too late costs
 * only its own job-node.
 */
START_TEST(test_collect_slow_listing)
{
	struct tu_route routes[sizeof(routes_a) / sizeof(routes_a[0]) + 1];
	struct pve_run run = {.timeout = 1.5};
	struct timespec rest = {3, 0};
	char *text;

	routes[0] = (struct tu_route){
		.path = CONTENT("pve1", "local"), .delay = 2.5, .file = D "content-pve1-local-a.json"};
	memcpy(routes + 1, routes_a, sizeof(routes_a));
	text = pve_scrape(routes, sizeof(routes) / sizeof(routes[0]), &run);
	ck_assert_msg(run.up == 1, "source down: %s", run.error);
	ck_assert_ptr_nonnull(strstr(run.log, "storage content listing failed"));
	ck_assert_ptr_nonnull(strstr(text,
				     "persistence_pve_backup_job_next_due_timestamp_seconds{source=\"home\","
				     "backup_job=\"backup-home-daily\",node=\"pve1\"} 1791572400\n"));
	ck_assert_ptr_nonnull(strstr(text,
				     "persistence_pve_backup_job_next_due_timestamp_seconds{source=\"home\","
				     "backup_job=\"backup-single\",node=\"pve2\"} 1791496800\n"));
	/* backup-prod's last run comes from archives: its calendar request came too late, only it is absent */
	ck_assert_ptr_null(strstr(text,
				  "persistence_pve_backup_job_next_due_timestamp_seconds{source=\"home\","
				  "backup_job=\"backup-prod\",node=\"pve2\"}"));
	/* ... while the job still selects guests there: the rules see a job without a due slot */
	ck_assert_ptr_nonnull(strstr(text, "persistence_pve_backup_job_guests{source=\"home\","
					   "backup_job=\"backup-prod\",node=\"pve2\"} "));
	ck_assert_ptr_nonnull(strstr(run.log, "calendar request got no answer in time"));
	ck_assert_ptr_null(strstr(text, "persistence_pve_guest_backups{"));
	free(text);
	nanosleep(&rest, NULL); /* the background fetch still reads run.u and routes */
	pve_run_free(&run);
}
END_TEST

/* A hostile label value (quotes, backslash, newline in a guest name) is escaped, never breaks the format. */
START_TEST(test_collect_hostile_names)
{
	struct pve_run run = {0};
	char *text = pve_scrape(routes_a, sizeof(routes_a) / sizeof(routes_a[0]), &run);

	ck_assert_ptr_nonnull(strstr(text, "name=\"evil\\\"name\\\\x\\ny\""));
	free(text);
	pve_run_free(&run);
}
END_TEST

/*
 * The jobs' selections are read once and agree with pve_list_has() and
 * pve_job_selects() on every guest: a list of 10,000 ids, odd spellings,
 * all + exclude, pool, node.
 */
START_TEST(test_selection_read_once_agrees)
{
	static const char *const lists[] = {"100,101;102 abc,103x,104", " 9000 ", "99999999999999999999999,1",
					    "+105,-1"};
	struct buf body;
	struct pve_jobs jobs;
	char msg[256];

	buf_init(&body, 0);
	buf_adds(&body, "{\"data\":[{\"id\":\"big\",\"vmid\":\"");
	for (long v = 1000; v < 11000; v++)
		buf_addf(&body, "%s%ld", v > 1000 ? "," : "", v);
	buf_adds(&body, "\"}");
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		buf_addf(&body, ",{\"id\":\"l%zu\",\"vmid\":\"%s\"}", i, lists[i]);
	buf_adds(&body,
		 ",{\"id\":\"all\",\"all\":1,\"exclude\":\"100, 9000\",\"node\":\"pve1\"}"
		 ",{\"id\":\"pool\",\"pool\":\"web\",\"vmid\":\"100\"},{\"id\":\"num\",\"vmid\":104}]}");
	ck_assert_int_eq(pve_parse_jobs(buf_str(&body), body.len, &jobs, msg, sizeof(msg)), PE_OK);
	cJSON *doc = cJSON_Parse(buf_str(&body));
	const cJSON *data = pve_data(doc);
	static const long ids[] = {1, 100, 101, 102, 103, 104, 105, 999, 1000, 5555, 10999, 11000, 9000};
	for (size_t k = 0; k < sizeof(ids) / sizeof(ids[0]); k++)
		for (int on = 0; on < 2; on++) {
			struct pve_guest g = {.vmid = ids[k],
					      .node = (char *)(on ? "pve1" : "pve2"),
					      .pool = (char *)(ids[k] == 101 ? "web" : NULL)};
			cJSON *gj = guest(ids[k], g.node, g.pool);
			for (size_t j = 0; j < jobs.n; j++)
				ck_assert_msg(pve_selection_has(&jobs.v[j].sel, &g) ==
						      pve_job_selects(cJSON_GetArrayItem(data, (int)j), gj),
					      "job %s, guest %ld on %s", jobs.v[j].id, ids[k], g.node);
			ck_assert_int_eq(pve_jobs_cover(&jobs, &g), pve_guest_covered(data, gj));
			cJSON_Delete(gj);
		}
	cJSON_Delete(doc);
	pve_jobs_free(&jobs);
	buf_free(&body);
}
END_TEST

/* A listing counted per guest: pieces count as the whole, the newest (ties: the larger) is kept. */
START_TEST(test_listing_counts_per_guest)
{
	const char *body = "{\"data\":[{\"vmid\":100,\"ctime\":10,\"size\":5,\"content\":\"backup\"},"
			   "{\"vmid\":\"101\",\"ctime\":\"7\",\"content\":\"backup\"},"
			   "{\"vmid\":100,\"ctime\":10,\"size\":9,\"content\":\"backup\"},"
			   "{\"vmid\":100,\"ctime\":3,\"size\":1,\"content\":\"backup\"},"
			   "{\"vmid\":102,\"ctime\":3,\"content\":\"iso\"},{\"novmid\":1}]}";
	size_t len = strlen(body);
	struct pve_listing *whole;
	char msg[256];

	ck_assert_int_eq(pve_parse_listing(body, len, &whole, msg, sizeof(msg)), PE_OK);
	ck_assert_uint_eq(whole->narchives, 4);
	ck_assert_uint_eq(whole->n, 2);
	ck_assert_int_eq(whole->v[0].vmid, 100);
	ck_assert_int_eq(whole->v[0].count, 3);
	ck_assert_double_eq(whole->v[0].ctime, 10);
	ck_assert_double_eq(whole->v[0].size, 9);
	ck_assert_int_eq(whole->v[1].vmid, 101);
	ck_assert_double_eq(whole->v[1].size, -1);
	for (size_t cut = 0; cut <= len; cut += 7) {
		void *st = pve_listing_parser.open();
		pve_listing_parser.feed(st, body, cut);
		pve_listing_parser.feed(st, body + cut, len - cut);
		ck_assert_int_eq(pve_listing_parser.close(st, "application/json", len, msg, sizeof(msg)),
				 PE_OK);
		const struct pve_listing *l = st;
		ck_assert_uint_eq(l->n, whole->n);
		ck_assert_uint_eq(l->narchives, whole->narchives);
		ck_assert_int_eq(l->v[0].count, 3);
		pve_listing_parser.free(st);
	}
	pve_listing_free(whole);
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
	tcase_add_test(tc, test_selection_read_once_agrees);
	tcase_add_test(tc, test_listing_counts_per_guest);
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
	tc = tcase_create("collector");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_collect_full);
	tcase_add_test(tc, test_collect_node_unreachable);
	tcase_add_test(tc, test_collect_hidden_archives);
	tcase_add_test(tc, test_collect_listing_too_large);
	tcase_add_test(tc, test_collect_jobs_denied);
	tcase_add_test(tc, test_collect_unauthorized);
	tcase_add_test(tc, test_collect_bad_cluster_answers);
	tcase_add_test(tc, test_collect_hostile_names);
	tcase_add_test(tc, test_collect_slow_listing);
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
