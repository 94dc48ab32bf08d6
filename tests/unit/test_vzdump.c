/* test_vzdump.c - persistencectl vzdump's pure pieces: flags, job/storage choice, errors, the plan. */
#include "testutil.h"

#include "cJSON.h"
#include "pve_client.h"
#include "vzdump.h"

static cJSON *json(const char *text)
{
	cJSON *doc = cJSON_Parse(text);

	ck_assert_msg(doc != NULL, "bad test JSON: %s", text);
	return doc;
}

static enum perr parse(struct vzdump_opts *o, char *msg, size_t n, const char *a1, const char *a2,
		       const char *a3, const char *a4, const char *a5)
{
	char *argv[8] = {(char *)"persistencectl", (char *)"vzdump"};
	const char *in[] = {a1, a2, a3, a4, a5};
	int argc = 2;

	for (int i = 0; i < 5 && in[i]; i++)
		argv[argc++] = (char *)in[i];
	return vzdump_parse_args(argc, argv, 2, o, msg, n);
}

START_TEST(test_parse_args_good)
{
	struct vzdump_opts o;
	char msg[256] = "";

	ck_assert_int_eq(parse(&o, msg, sizeof(msg), "--config.file=c.yml", "--source=home", "--vmid=105",
			       "--storage=nfs-1", "--wait"),
			 PE_OK);
	ck_assert_str_eq(o.config_file, "c.yml");
	ck_assert_str_eq(o.source, "home");
	ck_assert_int_eq(o.vmid, 105);
	ck_assert_str_eq(o.storage, "nfs-1");
	ck_assert_int_eq(o.wait, 1);
	ck_assert_int_eq(o.execute, 0);
	ck_assert_int_eq(o.restart_scheduler, 0);
	ck_assert(o.poll_interval > 0);
	ck_assert_int_eq(parse(&o, msg, sizeof(msg), "--execute", "--restart-scheduler", "--vmid=999999999",
			       "--source=s", "--config.file=f"),
			 PE_OK);
	ck_assert_int_eq(o.execute, 1);
	ck_assert_int_eq(o.restart_scheduler, 1);
	ck_assert_ptr_null(o.storage);
}
END_TEST

START_TEST(test_parse_args_bad)
{
	static const struct {
		const char *a[5];
		const char *msg;
	} cases[] = {
		{{"--source=h", "--vmid=100"}, "--config.file"},
		{{"--config.file=f", "--vmid=100"}, "--source"},
		{{"--config.file=f", "--source=h"}, "--vmid=ID is required"},
		{{"--config.file=f", "--source=h", "--vmid=99"}, "not a VM id"},
		{{"--config.file=f", "--source=h", "--vmid=0100"}, "not a VM id"},
		{{"--config.file=f", "--source=h", "--vmid=1000000000"}, "not a VM id"},
		{{"--config.file=f", "--source=h", "--vmid=100x"}, "not a VM id"},
		{{"--config.file=f", "--source=h", "--vmid=-100"}, "not a VM id"},
		{{"--config.file=f", "--source=h", "--vmid=100", "--storage=../x"}, "not a storage id"},
		{{"--config.file=f", "--source=h", "--vmid=100", "--storage="}, "not a storage id"},
		{{"--config.file=f", "--source=h", "--vmid=100", "--source=x"}, "given twice"},
		{{"--config.file=f", "--source=h", "--vmid=100", "--execute=1"}, "unknown argument"},
		{{"--config.file=f", "--source=h", "--vmid=100", "vzdump"}, "unknown argument"},
		{{"--config.file=", "--source=h", "--vmid=100"}, "--config.file"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vzdump_opts o;
		char msg[256] = "";
		const char *const *a = cases[i].a;
		ck_assert_int_eq(parse(&o, msg, sizeof(msg), a[0], a[1], a[2], a[3], a[4]), PE_INVAL);
		ck_assert_msg(strstr(msg, cases[i].msg) != NULL, "case %zu: %s", i, msg);
	}
}
END_TEST

START_TEST(test_find_guest)
{
	cJSON *vms =
		json("[{\"vmid\":\"100\",\"node\":\"a\"},{\"vmid\":105,\"type\":\"lxc\"},{\"vmid\":null},7]");

	ck_assert_ptr_nonnull(vzdump_find_guest(vms, 100)); /* numeric string */
	ck_assert_ptr_nonnull(vzdump_find_guest(vms, 105));
	ck_assert_ptr_null(vzdump_find_guest(vms, 106));
	ck_assert_ptr_null(vzdump_find_guest(NULL, 100));
	cJSON *obj = json("{\"vmid\":100}");
	ck_assert_ptr_null(vzdump_find_guest(obj, 100)); /* not an array */
	cJSON_Delete(obj);
	cJSON_Delete(vms);
}
END_TEST

static const char *picked(const char *jobs_text, const char *guest_text)
{
	static char id[64];
	cJSON *jobs = json(jobs_text), *guest = json(guest_text);
	const cJSON *job = vzdump_pick_job(jobs, guest);
	const cJSON *jid = job ? cJSON_GetObjectItem(job, "id") : NULL;

	snprintf(id, sizeof(id), "%s", cJSON_IsString(jid) ? jid->valuestring : "-");
	cJSON_Delete(jobs);
	cJSON_Delete(guest);
	return id;
}

START_TEST(test_pick_job)
{
	const char *g105 = "{\"vmid\":105,\"node\":\"pve2\",\"pool\":\"office\"}";

	/* vmid list; the disabled job is skipped even when listed first */
	ck_assert_str_eq(picked("[{\"id\":\"off\",\"enabled\":0,\"vmid\":\"105\",\"storage\":\"a\"},"
				"{\"id\":\"on\",\"vmid\":\"100,105\",\"storage\":\"b\"}]",
				g105),
			 "on");
	ck_assert_str_eq(
		picked("[{\"id\":\"off\",\"enabled\":\"0\",\"vmid\":\"105\",\"storage\":\"a\"}]", g105), "-");
	/* all + exclude */
	ck_assert_str_eq(picked("[{\"id\":\"all\",\"all\":1,\"exclude\":\"105\",\"storage\":\"a\"}]", g105),
			 "-");
	ck_assert_str_eq(
		picked("[{\"id\":\"all\",\"all\":\"1\",\"exclude\":\"100\",\"storage\":\"a\"}]", g105),
		"all");
	/* pool, and a job bound to another node */
	ck_assert_str_eq(picked("[{\"id\":\"p\",\"pool\":\"office\",\"storage\":\"a\"}]", g105), "p");
	ck_assert_str_eq(picked("[{\"id\":\"n\",\"all\":1,\"node\":\"pve1\",\"storage\":\"a\"}]", g105), "-");
	/* a job with a storage wins over an earlier one without */
	ck_assert_str_eq(picked("[{\"id\":\"nostore\",\"vmid\":\"105\"},{\"id\":\"store\",\"all\":1,"
				"\"storage\":\"x\"}]",
				g105),
			 "store");
	ck_assert_str_eq(picked("[{\"id\":\"nostore\",\"vmid\":\"105\"}]", g105), "nostore");
	/* junk */
	ck_assert_str_eq(picked("{\"data\":[]}", g105), "-");
	ck_assert_str_eq(picked("[1,\"x\",null,{\"vmid\":105}]", "{\"vmid\":\"x\"}"), "-");
}
END_TEST

START_TEST(test_facts_from_job)
{
	struct vzdump_facts f;
	cJSON *job = json("{\"id\":\"backup-home\",\"storage\":\"synology\",\"repeat-missed\":\"1\","
			  "\"tmpdir\":\"/var/tmp\"}");

	memset(&f, 0, sizeof(f));
	vzdump_facts_from_job(&f, job);
	ck_assert_str_eq(f.job, "backup-home");
	ck_assert_str_eq(f.storage, "synology");
	ck_assert_str_eq(f.job_tmpdir, "/var/tmp");
	ck_assert_int_eq(f.repeat_missed, 1);
	/* --storage (already set) is kept */
	memset(&f, 0, sizeof(f));
	snprintf(f.storage, sizeof(f.storage), "local");
	vzdump_facts_from_job(&f, job);
	ck_assert_str_eq(f.storage, "local");
	ck_assert_str_eq(f.job_storage, "synology");
	cJSON_Delete(job);
	/* a hostile storage id from the API never becomes the target */
	job = json("{\"id\":\"j\",\"storage\":\"a/../b\",\"repeat-missed\":[1]}");
	memset(&f, 0, sizeof(f));
	vzdump_facts_from_job(&f, job);
	ck_assert_str_eq(f.storage, "");
	ck_assert_int_eq(f.repeat_missed, 0);
	cJSON_Delete(job);
	vzdump_facts_from_job(&f, NULL);
	ck_assert_int_eq(f.repeat_missed, -1);
	ck_assert_str_eq(f.job, "");
}
END_TEST

START_TEST(test_facts_from_content)
{
	struct vzdump_facts f;
	cJSON *items = json("[{\"content\":\"backup\",\"vmid\":105,\"ctime\":1000,\"size\":5},"
			    "{\"content\":\"backup\",\"vmid\":\"105\",\"ctime\":\"3000\"},"
			    "{\"content\":\"backup\",\"vmid\":100,\"ctime\":9000},"
			    "{\"content\":\"iso\",\"vmid\":105,\"ctime\":9999},"
			    "{\"content\":\"backup\",\"vmid\":105,\"ctime\":\"soon\"},"
			    "{\"content\":\"backup\",\"vmid\":105}, 42, null]");

	memset(&f, 0, sizeof(f));
	f.vmid = 105;
	vzdump_facts_from_content(&f, items);
	ck_assert_int_eq(f.narchives, 2);
	ck_assert(f.newest == 3000);
	cJSON_Delete(items);
	vzdump_facts_from_content(&f, NULL);
	ck_assert_int_eq(f.narchives, 0);
	ck_assert(f.newest == 0);
}
END_TEST

START_TEST(test_form_never_has_tmpdir)
{
	struct vzdump_facts f;
	struct buf b;

	memset(&f, 0, sizeof(f));
	f.vmid = 105;
	snprintf(f.guest_type, sizeof(f.guest_type), "lxc");
	snprintf(f.storage, sizeof(f.storage), "synology-backups");
	snprintf(f.job_tmpdir, sizeof(f.job_tmpdir), "/var/tmp");
	buf_init(&b, 0);
	vzdump_form(&f, &b);
	ck_assert_str_eq(buf_str(&b), "vmid=105&storage=synology-backups");
	buf_free(&b);
}
END_TEST

START_TEST(test_exit_ok_and_age)
{
	char age[32];

	ck_assert_int_eq(pve_exitstatus_ok("OK"), 1);
	ck_assert_int_eq(pve_exitstatus_ok("WARNINGS: 2"), 1);
	ck_assert_int_eq(pve_exitstatus_ok("job errors"), 0);
	ck_assert_int_eq(pve_exitstatus_ok("unexpected status"), 0);
	ck_assert_int_eq(pve_exitstatus_ok("RUNNING"), 0);
	ck_assert_int_eq(pve_exitstatus_ok(""), 0);
	ck_assert_int_eq(pve_exitstatus_ok(NULL), 0);
	vzdump_format_age(4 * 86400 + 3 * 3600 + 59, age, sizeof(age));
	ck_assert_str_eq(age, "4d 3h");
	vzdump_format_age(3 * 3600 + 12 * 60 + 5, age, sizeof(age));
	ck_assert_str_eq(age, "3h 12m");
	vzdump_format_age(303, age, sizeof(age));
	ck_assert_str_eq(age, "5m 3s");
	vzdump_format_age(42.9, age, sizeof(age));
	ck_assert_str_eq(age, "42s");
	vzdump_format_age(-5, age, sizeof(age));
	ck_assert_str_eq(age, "0s");
	vzdump_format_age(0.0 / 0.0, age, sizeof(age));
	ck_assert_str_eq(age, "0s");
}
END_TEST

static void explained(enum perr e, const char *ferr, long status, const char *body, const char *want)
{
	struct buf b;

	buf_init(&b, 0);
	pve_explain(e, ferr, status, body, "ops@pve!actions", &b);
	ck_assert_msg(strstr(buf_str(&b), want) != NULL, "got: %s\nwant: %s", buf_str(&b), want);
	for (const char *p = buf_str(&b); *p; p++)
		ck_assert_msg((unsigned char)*p >= 0x20, "control character in: %s", buf_str(&b));
	buf_free(&b);
}

START_TEST(test_explain)
{
	explained(PE_OK, NULL, 401, "", "401 authentication failed: PVE refused token ops@pve!actions");
	explained(
		PE_OK, NULL, 403,
		"{\"data\":null,\"message\":\"Permission check failed (/vms/105, VM.Backup)\\n\"}",
		"403 Permission check failed (/vms/105, VM.Backup): token ops@pve!actions lacks VM.Backup on "
		"/vms/105");
	explained(PE_OK, NULL, 403, "{\"data\":null}", "403 permission denied (PVE sent no message)");
	explained(
		PE_OK, NULL, 403,
		"{\"message\":\"Permission check failed (URI '/x' not available with API token, need proper "
		"ticket.)\"}",
		"is not allowed to do this");
	explained(PE_OK, NULL, 400,
		  "{\"data\":null,\"errors\":{\"tmpdir\":\"Only root may set this option.\"},"
		  "\"message\":\"Parameter verification failed.\\n\"}",
		  "400 Parameter verification failed.: tmpdir: Only root may set this option.");
	explained(PE_OK, NULL, 596, "", "596 the PVE node could not be reached through the API proxy");
	explained(PE_OK, NULL, 595, "{\"message\":\"Connection refused\"}",
		  "595 the PVE node could not be reached "
		  "through the API proxy (Connection "
		  "refused)");
	explained(PE_OK, NULL, 500, "{\"data\":null,\"message\":\"storage 'nfs1' is not online\\n\"}",
		  "500 storage 'nfs1' is not online");
	explained(PE_OK, NULL, 502, "<html><body>Bad gateway</body></html>",
		  "502 server error (PVE sent no message)");
	explained(PE_OK, NULL, 500, "{\"message\":\"evil\\r\\n\\u001b[31mred\"}", "500 evil   [31mred");
	explained(PE_OK, NULL, 500, "{\"message\":42}", "500 server error");
	explained(PE_OK, NULL, 418, "{\"data\":", "418 unexpected HTTP status");
	explained(PE_TIMEOUT, "operation timed out after 5000 ms", 0, NULL,
		  "timeout, no answer in time: operation");
	explained(PE_CONNECT, "Connection refused", 0, NULL, "Connection refused");
	explained(PE_TLS, "", 0, NULL, "request failed");
}
END_TEST

static char *plan(int execute, int restart, int wait, const char *type, int repeat_missed, const char *act)
{
	struct vzdump_opts o;
	struct vzdump_facts f;
	struct buf b;

	memset(&o, 0, sizeof(o));
	memset(&f, 0, sizeof(f));
	o.execute = execute;
	o.restart_scheduler = restart;
	o.wait = wait;
	o.poll_interval = 1;
	f.vmid = 105;
	f.repeat_missed = repeat_missed;
	f.jobs_read = 1;
	snprintf(f.guest_type, sizeof(f.guest_type), "%s", type);
	snprintf(f.node, sizeof(f.node), "pve2");
	snprintf(f.storage, sizeof(f.storage), "synology-backups");
	snprintf(f.storage_type, sizeof(f.storage_type), "nfs");
	if (repeat_missed >= 0)
		snprintf(f.job, sizeof(f.job), "backup-home");
	buf_init(&b, 0);
	vzdump_render_plan(&o, &f, act, &b);
	return buf_steal(&b, NULL);
}

START_TEST(test_plan_qemu_minimal)
{
	char *p = plan(0, 0, 0, "qemu", 0, "ops@pve!actions");

	ck_assert_str_eq(p,
			 "\nplan (dry run: nothing below is sent; add --execute):\n"
			 "  1. POST /nodes/pve2/vzdump   vmid=105 storage=synology-backups   [action token "
			 "ops@pve!actions]\n"
			 "     (add --wait to follow the task to its end)\n");
	free(p);
}
END_TEST

START_TEST(test_plan_lxc_restart_wait)
{
	char *p = plan(1, 1, 1, "lxc", 1, "ops@pve!actions");

	ck_assert_ptr_nonnull(strstr(p, "plan (executing):"));
	ck_assert_ptr_nonnull(strstr(p, "  1. POST /nodes/pve2/services/pvescheduler/restart"));
	ck_assert_ptr_nonnull(strstr(p, "  3. POST /nodes/pve2/vzdump"));
	ck_assert_ptr_nonnull(strstr(p, "  5. GET  /nodes/pve2/storage/synology-backups/content"));
	ck_assert_ptr_nonnull(strstr(p, "sent WITHOUT tmpdir"));
	ck_assert_ptr_nonnull(strstr(p, "`tmpdir: /var/tmp` to /etc/vzdump.conf"));
	ck_assert_ptr_nonnull(strstr(p, "Job backup-home has repeat-missed 1"));
	ck_assert_ptr_null(strstr(p, "no action token"));
	/* notes are indented under "note: " */
	ck_assert_ptr_nonnull(strstr(p, "\n      need tmpdir=/var/tmp"));
	free(p);
	p = plan(0, 1, 0, "qemu", -1, NULL);
	ck_assert_ptr_null(strstr(p, "tmpdir"));
	ck_assert_ptr_nonnull(strstr(p, "No enabled job covers this guest"));
	ck_assert_ptr_nonnull(strstr(p, "[action token (none configured)]"));
	ck_assert_ptr_nonnull(strstr(p, "note: no action token is configured"));
	free(p);
	p = plan(0, 1, 0, "qemu", 0, "a@pve!b");
	ck_assert_ptr_nonnull(strstr(p, "Job backup-home has repeat-missed 0: its missed runs are skipped"));
	free(p);
}
END_TEST

static Suite *vzdump_suite(void)
{
	Suite *s = suite_create("vzdump");
	TCase *tc = tcase_create("pure");

	tcase_add_test(tc, test_parse_args_good);
	tcase_add_test(tc, test_parse_args_bad);
	tcase_add_test(tc, test_find_guest);
	tcase_add_test(tc, test_pick_job);
	tcase_add_test(tc, test_facts_from_job);
	tcase_add_test(tc, test_facts_from_content);
	tcase_add_test(tc, test_form_never_has_tmpdir);
	tcase_add_test(tc, test_exit_ok_and_age);
	tcase_add_test(tc, test_explain);
	tcase_add_test(tc, test_plan_qemu_minimal);
	tcase_add_test(tc, test_plan_lxc_restart_wait);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(vzdump_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
