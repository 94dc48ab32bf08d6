/* test_pve_client.c - the shared PVE client: targets per token, refusal without an action token, paths, UPIDs. */
#include "testutil.h"

#include "pve_client.h"

static struct config_pve source(const char *act_id, const char *act_secret, double timeout)
{
	struct config_pve p = {
		.name = (char *)"home",
		.url = (char *)"https://pve.example:8006",
		.token_id = (char *)"monitor@pve!exporter",
		.token_secret = (char *)"read-secret-1234",
		.action_token_id = (char *)act_id,
		.action_token_secret = (char *)act_secret,
		.tls = {.ca_file = (char *)"/etc/ca.pem", .fingerprint = NULL, .insecure_skip_verify = 0},
		.timeout = timeout,
	};
	return p;
}

START_TEST(test_targets)
{
	struct config_pve p = source("ops@pve!actions", "act-secret-5678", 7);
	struct pve_client *c;

	ck_assert_int_eq(pve_client_new(&p, &c), PE_OK);
	ck_assert_str_eq(pve_client_base_url(c), "https://pve.example:8006/api2/json");
	const struct fetch_target *r = pve_client_target(c, PVE_TOKEN_READ);
	const struct fetch_target *a = pve_client_target(c, PVE_TOKEN_ACTION);
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(r->auth_header, "Authorization: PVEAPIToken=monitor@pve!exporter=read-secret-1234");
	ck_assert_str_eq(a->auth_header, "Authorization: PVEAPIToken=ops@pve!actions=act-secret-5678");
	ck_assert_str_eq(r->base_url, a->base_url);
	ck_assert_str_eq(r->ca_file, "/etc/ca.pem");
	ck_assert_ptr_ne(r->ca_file, p.tls.ca_file); /* owned copies, not the config's strings */
	ck_assert(r->timeout == 7);
	ck_assert_int_eq(pve_client_can_act(c), 1);
	ck_assert_str_eq(pve_client_token_id(c, PVE_TOKEN_ACTION), "ops@pve!actions");
	ck_assert_ptr_eq(pve_client_config(c), &p);
	pve_client_free(c);
	pve_client_free(NULL);
}
END_TEST

START_TEST(test_no_action_token_refuses)
{
	struct config_pve p = source(NULL, NULL, 0);
	struct pve_client *c;
	struct buf why;
	char upid[256] = "x";

	ck_assert_int_eq(pve_client_new(&p, &c), PE_OK);
	ck_assert(pve_client_target(c, PVE_TOKEN_READ)->timeout == CONFIG_PVE_TIMEOUT);
	ck_assert_ptr_null(pve_client_target(c, PVE_TOKEN_ACTION));
	ck_assert_int_eq(pve_client_can_act(c), 0);
	ck_assert_str_eq(pve_client_token_id(c, PVE_TOKEN_ACTION), "(none)");
	buf_init(&why, 0);
	/* nothing can be sent: the URL is not even reachable, so any attempt would fail differently */
	ck_assert_int_eq(pve_client_start_task(c, "/nodes/pve1/vzdump", "vmid=100", upid, sizeof(upid), &why),
			 PE_DENIED);
	ck_assert_str_eq(upid, "");
	ck_assert_ptr_nonnull(strstr(buf_str(&why), "no action token"));
	buf_free(&why);
	pve_client_free(c);
}
END_TEST

/* The drill token is a third target; the read token never mutates; a missing drill token refuses. */
START_TEST(test_drill_token)
{
	struct config_drill d = {.token_id = (char *)"drill@pve!drill",
				 .token_secret = (char *)"drill-secret-9"};
	struct config_pve p = source(NULL, NULL, 0);
	struct pve_client *c;
	struct buf why;
	char upid[256] = "x";

	buf_init(&why, 0);
	ck_assert_int_eq(pve_client_new(&p, &c), PE_OK);
	ck_assert_int_eq(pve_client_has_token(c, PVE_TOKEN_DRILL), 0);
	ck_assert_str_eq(pve_client_token_id(c, PVE_TOKEN_DRILL), "(none)");
	ck_assert_int_eq(
		pve_client_mutate(c, PVE_TOKEN_DRILL, "DELETE", "/nodes/pve1/qemu/9900", NULL, NULL, &why),
		PE_DENIED);
	ck_assert_str_eq(buf_str(&why), "refused: no drill token configured; nothing was sent");
	pve_client_free(c);
	p.drill = &d;
	ck_assert_int_eq(pve_client_new(&p, &c), PE_OK);
	ck_assert_int_eq(pve_client_has_token(c, PVE_TOKEN_DRILL), 1);
	ck_assert_int_eq(pve_client_has_token(c, PVE_TOKEN_ACTION), 0);
	ck_assert_str_eq(pve_client_target(c, PVE_TOKEN_DRILL)->auth_header,
			 "Authorization: PVEAPIToken=drill@pve!drill=drill-secret-9");
	ck_assert_str_eq(pve_client_token_id(c, PVE_TOKEN_DRILL), "drill@pve!drill");
	ck_assert_int_eq(pve_client_mutate(c, PVE_TOKEN_READ, "PUT", "/nodes/pve1/qemu/9900/config",
					   "onboot=0", NULL, &why),
			 PE_DENIED);
	ck_assert_str_eq(buf_str(&why), "refused: no mutating token configured; nothing was sent");
	ck_assert_int_eq(pve_client_start_task_as(c, PVE_TOKEN_READ, "POST", "/nodes/pve1/qemu", "vmid=9900",
						  upid, sizeof(upid), &why),
			 PE_DENIED);
	ck_assert_str_eq(upid, "");
	buf_free(&why);
	pve_client_free(c);
}
END_TEST

START_TEST(test_node_path)
{
	char *p = pve_node_path("pve 1", "/storage/", "nfs/a&b", "/content?content=backup");

	ck_assert_str_eq(p, "/nodes/pve%201/storage/nfs%2Fa%26b/content?content=backup");
	free(p);
	p = pve_node_path("pve1", "/tasks?typefilter=vzdump", NULL, NULL);
	ck_assert_str_eq(p, "/nodes/pve1/tasks?typefilter=vzdump");
	free(p);
}
END_TEST

START_TEST(test_task_init)
{
	struct pve_task t;
	struct buf why;

	buf_init(&why, 0);
	ck_assert_int_eq(pve_task_init(&t, "UPID:pve1:0000A1B2:0008C3D4:65F1E2D3:vzdump:105:ops@pve!actions:",
				       PVE_TOKEN_ACTION, &why),
			 PE_OK);
	ck_assert_str_eq(t.u.node, "pve1");
	ck_assert_str_eq(t.u.type, "vzdump");
	ck_assert_int_eq(t.stopped, 0);
	ck_assert_int_eq(pve_task_ok(&t), 0);
	t.stopped = 1;
	snprintf(t.exitstatus, sizeof(t.exitstatus), "WARNINGS: 1");
	ck_assert_int_eq(pve_task_ok(&t), 1);
	ck_assert_int_eq(pve_task_init(&t, "OK", PVE_TOKEN_ACTION, &why), PE_PARSE);
	ck_assert_int_eq(pve_task_init(&t, NULL, PVE_TOKEN_ACTION, &why), PE_PARSE);
	ck_assert_ptr_nonnull(strstr(buf_str(&why), "UPID"));
	buf_free(&why);
}
END_TEST

START_TEST(test_target_constructor)
{
	struct fetch_target tmpl = {.base_url = "http://a", .unix_socket = "/run/d.sock", .timeout = 3};
	struct fetch_target *t = fetch_target_new(&tmpl);

	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(t->base_url, "http://a");
	ck_assert_ptr_ne(t->base_url, tmpl.base_url);
	ck_assert_str_eq(t->unix_socket, "/run/d.sock");
	ck_assert_ptr_null(t->auth_header);
	ck_assert_int_eq(fetch_target_set_url(t, "http://b", ":8080", "/api", (char *)NULL), PE_OK);
	ck_assert_str_eq(t->base_url, "http://b:8080/api");
	ck_assert_int_eq(fetch_target_set_auth(t, "X-Key: ", "k1", (char *)NULL), PE_OK);
	ck_assert_int_eq(fetch_target_set_auth(t, "X-Key: ", "k2", (char *)NULL), PE_OK);
	ck_assert_str_eq(t->auth_header, "X-Key: k2");
	struct fetch_target *copy = fetch_target_new(t);
	ck_assert_str_eq(copy->auth_header, "X-Key: k2");
	ck_assert_ptr_ne(copy->auth_header, t->auth_header);
	fetch_target_free(t);
	fetch_target_free(copy);
	fetch_target_free(NULL);
}
END_TEST

static Suite *pve_client_suite(void)
{
	Suite *s = suite_create("pve_client");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_targets);
	tcase_add_test(tc, test_no_action_token_refuses);
	tcase_add_test(tc, test_drill_token);
	tcase_add_test(tc, test_node_path);
	tcase_add_test(tc, test_task_init);
	tcase_add_test(tc, test_target_constructor);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(pve_client_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
