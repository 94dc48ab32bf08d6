/* test_drill.c - the restore drill's pure pieces: cutting netN, the isolation check, names, leftovers, flags. */
#include "testutil.h"
#include "drill.h"

#include "cJSON.h"

START_TEST(test_net_down)
{
	static const struct {
		const char *in, *out;
		int was_down;
	} cases[] = {
		{"virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1",
		 "virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1,link_down=1", 0},
		{"virtio=AA,bridge=vmbr0,link_down=0,tag=5", "virtio=AA,bridge=vmbr0,tag=5,link_down=1", 0},
		{"virtio=AA,link_down=1", "virtio=AA,link_down=1", 1},
		{"name=eth0,bridge=vmbr0,link_down=true", "name=eth0,bridge=vmbr0,link_down=1", 1},
		{"", "link_down=1", 0},
		{"virtio=AA,,bridge=x", "virtio=AA,bridge=x,link_down=1", 0},
		{"virtio=AA,mylink_down=1", "virtio=AA,mylink_down=1,link_down=1", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b;
		buf_init(&b, 0);
		drill_net_down(cases[i].in, &b);
		ck_assert_str_eq(buf_str(&b), cases[i].out);
		ck_assert_int_eq(drill_net_is_down(cases[i].in), cases[i].was_down);
		ck_assert_int_eq(drill_net_is_down(buf_str(&b)), 1);
		buf_free(&b);
	}
	ck_assert_int_eq(drill_net_is_down(NULL), 0);
}
END_TEST

START_TEST(test_isolate_form_and_check)
{
	cJSON *conf = cJSON_Parse("{\"name\":\"drill-home-100\",\"net0\":\"virtio=AA,bridge=vmbr0\","
				  "\"net10\":\"e1000=BB,bridge=vmbr1,link_down=1\",\"netx\":\"not a nic\","
				  "\"scsi0\":\"local-lvm:vm-9900-disk-0\",\"digest\":\"abc123\"}");
	struct buf form, why;
	buf_init(&form, 0);
	buf_init(&why, 0);
	ck_assert_int_eq(drill_isolate_form(conf, 1, &form), 2);
	ck_assert_str_eq(buf_str(&form),
			 "net0=virtio%3DAA%2Cbridge%3Dvmbr0%2Clink_down%3D1&"
			 "net10=e1000%3DBB%2Cbridge%3Dvmbr1%2Clink_down%3D1&freeze=1&digest=abc123");
	ck_assert_int_eq(drill_is_isolated(conf, 1, &why), 0);
	ck_assert_str_eq(buf_str(&why), "net0 has no link_down=1; freeze is not set");
	cJSON_Delete(conf);
	conf = cJSON_Parse(
		"{\"net0\":\"virtio=AA,link_down=1\",\"net1\":\"virtio=BB,link_down=1\",\"freeze\":1}");
	buf_reset(&why);
	ck_assert_int_eq(drill_is_isolated(conf, 1, &why), 1);
	ck_assert_str_eq(buf_str(&why), "");
	ck_assert_int_eq(drill_is_isolated(conf, 0, &why), 1);
	cJSON_Delete(conf);
	/* a container without netN: nothing to send; a non-string netN is not isolated */
	conf = cJSON_Parse("{\"hostname\":\"x\",\"digest\":\"d\"}");
	buf_reset(&form);
	ck_assert_int_eq(drill_isolate_form(conf, 0, &form), 0);
	ck_assert_str_eq(buf_str(&form), "");
	cJSON_Delete(conf);
	conf = cJSON_Parse("{\"net0\":7}");
	buf_reset(&why);
	ck_assert_int_eq(drill_is_isolated(conf, 0, &why), 0);
	ck_assert_str_eq(buf_str(&why), "net0 has no link_down=1");
	cJSON_Delete(conf);
	buf_reset(&why);
	ck_assert_int_eq(drill_is_isolated(NULL, 0, &why), 0);
	buf_free(&form);
	buf_free(&why);
}
END_TEST

START_TEST(test_boot_hazards_and_agent)
{
	cJSON *c = cJSON_Parse("{\"hookscript\":\"local:snippets/register-dns.pl\"}");
	ck_assert_ptr_nonnull(drill_boot_hazard(c, 0));
	cJSON_Delete(c);
	c = cJSON_Parse("{\"args\":\"-netdev user,id=n9 -device e1000,netdev=n9\"}");
	ck_assert_ptr_nonnull(drill_boot_hazard(c, 1));
	ck_assert_ptr_null(drill_boot_hazard(c, 0));
	cJSON_Delete(c);
	c = cJSON_Parse("{\"args\":\"-cpu host\"}");
	ck_assert_ptr_null(drill_boot_hazard(c, 1));
	cJSON_Delete(c);
	static const struct {
		const char *json;
		int on;
	} agents[] = {{"{\"agent\":\"1\"}", 1},
		      {"{\"agent\":\"enabled=1,fstrim_cloned_disks=1\"}", 1},
		      {"{\"agent\":\"1,type=virtio\"}", 1},
		      {"{\"agent\":\"0\"}", 0},
		      {"{\"agent\":\"enabled=0\"}", 0},
		      {"{\"agent\":1}", 1},
		      {"{}", 0},
		      {"{\"agent\":\"10\"}", 0}};
	for (size_t i = 0; i < sizeof(agents) / sizeof(agents[0]); i++) {
		c = cJSON_Parse(agents[i].json);
		ck_assert_msg(drill_agent_enabled(c) == agents[i].on, "%s", agents[i].json);
		cJSON_Delete(c);
	}
}
END_TEST

START_TEST(test_guest_name)
{
	char out[64];
	drill_guest_name("drill-", "home", 100, out, sizeof(out));
	ck_assert_str_eq(out, "drill-home-100");
	drill_guest_name("rt-", "shop_eu.lan", 2001, out, sizeof(out));
	ck_assert_str_eq(out, "rt-shop-eu-lan-2001");
	drill_guest_name("drill-", "a-very-long-source-name-that-goes-on-and-on-and-on-and-on", 999999999,
			 out, sizeof(out));
	ck_assert_uint_eq(strlen(out), 63);
}
END_TEST

START_TEST(test_classify_leftovers)
{
	struct config_drill d = {.pool = (char *)"drill", .name_prefix = (char *)"drill-"};
	cJSON *in_pool = cJSON_Parse("{\"vmid\":9900,\"pool\":\"drill\",\"name\":\"x\"}");
	cJSON *named = cJSON_Parse("{\"vmid\":9901,\"name\":\"drill-home-100\"}");
	cJSON *other = cJSON_Parse("{\"vmid\":9902,\"name\":\"build-runner\"}");
	cJSON *marked = cJSON_Parse("{\"description\":\"persistence_exporter restore drill of target a\"}");
	cJSON *stub = cJSON_Parse("{\"digest\":\"d\"}");
	cJSON *real = cJSON_Parse("{\"digest\":\"d\",\"memory\":\"2048\",\"scsi0\":\"x\"}");
	ck_assert_int_eq(drill_classify(in_pool, NULL, &d), DRILL_LEFTOVER);
	ck_assert_int_eq(drill_classify(named, NULL, &d), DRILL_LEFTOVER);
	ck_assert_int_eq(drill_classify(other, NULL, &d), DRILL_FOREIGN);
	ck_assert_int_eq(drill_classify(other, marked, &d), DRILL_LEFTOVER);
	ck_assert_int_eq(drill_classify(other, stub, &d), DRILL_STUB);
	ck_assert_int_eq(drill_classify(other, real, &d), DRILL_FOREIGN);
	cJSON_Delete(in_pool);
	cJSON_Delete(named);
	cJSON_Delete(other);
	cJSON_Delete(marked);
	cJSON_Delete(stub);
	cJSON_Delete(real);
}
END_TEST

/* drill_parse_args on copies (argv strings are not const); the copies live until the test ends. */
static enum perr parse(const char *const *args, int n, struct drill_opts *o, char *msg, size_t msglen)
{
	static char store[16][64];
	static char *argv[16];
	for (int i = 0; i < n && i < 16; i++) {
		snprintf(store[i], sizeof(store[i]), "%s", args[i]);
		argv[i] = store[i];
	}
	return drill_parse_args(n, argv, 2, o, msg, msglen);
}

START_TEST(test_durations_and_args)
{
	char out[32], msg[128];
	drill_format_duration(42.4, out, sizeof(out));
	ck_assert_str_eq(out, "42s");
	drill_format_duration(200, out, sizeof(out));
	ck_assert_str_eq(out, "3m 20s");
	drill_format_duration(4320, out, sizeof(out));
	ck_assert_str_eq(out, "1h 12m");
	drill_format_duration(-3, out, sizeof(out));
	ck_assert_str_eq(out, "0s");

	struct drill_opts o;
	static const char *const ok[] = {
		"x",      "restore-test", "--config.file=c.yml", "--target=t",
		"--boot", "--execute",    "--keep-on-failure",   "--poll-interval=250ms"};
	ck_assert_int_eq(parse(ok, 8, &o, msg, sizeof(msg)), PE_OK);
	ck_assert_str_eq(o.config_file, "c.yml");
	ck_assert_str_eq(o.target, "t");
	ck_assert(o.boot && o.execute && o.keep_on_failure);
	ck_assert_double_eq(o.poll_interval, 0.25);
	static const char *const dflt[] = {"x", "restore-test", "--config.file=c.yml", "--target=t"};
	ck_assert_int_eq(parse(dflt, 4, &o, msg, sizeof(msg)), PE_OK);
	ck_assert(!o.boot && !o.execute && !o.keep_on_failure);
	ck_assert_double_eq(o.poll_interval, 1);
	static const struct {
		const char *arg, *msg;
	} bad[] = {{"--target=u", "--target given twice"},
		   {"--bogus", "unknown argument '--bogus'"},
		   {"--poll-interval=1h", "--poll-interval: '1h' is not a duration from 50ms to 60s"}};
	for (size_t i = 0; i < 3; i++) {
		const char *argv[] = {"x", "restore-test", "--config.file=c.yml", "--target=t", bad[i].arg};
		ck_assert_int_eq(parse(argv, 5, &o, msg, sizeof(msg)), PE_INVAL);
		ck_assert_str_eq(msg, bad[i].msg);
	}
	static const char *const none[] = {"x", "restore-test", "--config.file=c.yml"};
	ck_assert_int_eq(parse(none, 3, &o, msg, sizeof(msg)), PE_INVAL);
	ck_assert_str_eq(msg, "--target=NAME is required (a target of the config)");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("drill");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_net_down);
	tcase_add_test(tc, test_isolate_form_and_check);
	tcase_add_test(tc, test_boot_hazards_and_agent);
	tcase_add_test(tc, test_guest_name);
	tcase_add_test(tc, test_classify_leftovers);
	tcase_add_test(tc, test_durations_and_args);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
