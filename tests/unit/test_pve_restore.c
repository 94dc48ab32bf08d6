/* test_pve_restore.c - restorability facts folded from PVE backup listings (tests/fixtures/pve/storage-content-pbs.json). */
#include "testutil.h"

#include "cJSON.h"
#include "pve_restore.h"

#define GUESTS 4
static const long vmids[GUESTS] = {100, 102, 105, 9000};

/* Folds every item of a listing file per guest (vmids[], others are ignored), then adds each guest's fold to g. */
static void fold_file(const char *file, const char *storage, struct pve_restore_guest *g)
{
	struct pve_restore_stats st[GUESTS];
	memset(st, 0, sizeof(st));
	char path[256];
	snprintf(path, sizeof(path), "tests/fixtures/pve/%s", file);
	char *text = tu_read_file(path, NULL);
	ck_assert_msg(text != NULL, "cannot read %s", path);
	cJSON *doc = cJSON_Parse(text);
	free(text);
	ck_assert_ptr_nonnull(doc);
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(doc, "data"))
	{
		struct pve_restore_item a;
		ck_assert(pve_restore_item_parse(it, &a));
		for (int i = 0; i < GUESTS; i++)
			if (vmids[i] == a.vmid)
				pve_restore_stats_add(&st[i], &a);
	}
	cJSON_Delete(doc);
	for (int i = 0; i < GUESTS; i++)
		ck_assert_int_eq(pve_restore_guest_add(&g[i], storage, &st[i]), PE_OK);
}

START_TEST(test_fixture_fold)
{
	struct pve_restore_guest g[GUESTS];
	memset(g, 0, sizeof(g));
	fold_file("storage-content-pbs.json", "pbs-store1", g);

	/* 100: six snapshots, the two newest never verified */
	ck_assert_uint_eq(g[0].nplaces, 1);
	ck_assert_str_eq(g[0].places[0].storage, "pbs-store1");
	ck_assert_int_eq(g[0].places[0].s.count, 6);
	ck_assert(g[0].places[0].s.newest == 1771894803);
	ck_assert(g[0].places[0].s.newest_intact == 1771894803);
	ck_assert(g[0].all.newest == 1771894803);
	ck_assert_int_eq(g[0].all.newest_verify, PVE_VERIFY_NONE);
	ck_assert_int_eq(g[0].all.newest_pbs, 1);
	ck_assert_int_eq(g[0].all.newest_protected, 0);
	ck_assert_int_eq(g[0].all.newest_encrypted, 0);
	ck_assert_int_eq(g[0].all.pbs_archives, 6);
	ck_assert(g[0].all.last_verified == 1771722003);
	ck_assert(g[0].all.last_verify == 0x699A7838); /* the verify job's start, from its UPID */
	ck_assert_int_eq(g[0].all.verify_failed, 0);
	ck_assert(g[0].all.last_failed == 0);

	/* 102: the 2026-02-21 snapshot failed verification; the oldest is protected */
	ck_assert_int_eq(g[1].places[0].s.count, 7);
	ck_assert_int_eq(g[1].all.verify_failed, 1);
	ck_assert(g[1].all.last_failed == 1771635847);
	ck_assert(g[1].all.last_verified == 1771722247);
	ck_assert(g[1].all.newest == 1771895047);
	ck_assert_int_eq(g[1].all.newest_protected, 0);

	/* 105: every snapshot encrypted with a key fingerprint */
	ck_assert(g[2].all.newest == 1771810044);
	ck_assert_int_eq(g[2].all.newest_encrypted, 1);
	ck_assert(g[2].all.last_verified == 1771723644);

	/* 9000: the newest is verified */
	ck_assert_int_eq(g[3].all.newest_verify, PVE_VERIFY_OK);
	ck_assert(g[3].all.last_verified == 1771551017);
	for (int i = 0; i < GUESTS; i++)
		pve_restore_guest_clear(&g[i]);
	ck_assert_ptr_null(g[0].places);
}
END_TEST

static cJSON *item(const char *json)
{
	cJSON *o = cJSON_Parse(json);
	ck_assert_msg(o != NULL, "bad test JSON %s", json);
	return o;
}

/* Adds one archive (JSON) found on storage to g, as a listing of one item. */
static void add(struct pve_restore_guest *g, const char *storage, const char *json)
{
	cJSON *o = item(json);
	struct pve_restore_item a;
	struct pve_restore_stats st;
	memset(&st, 0, sizeof(st));
	ck_assert_msg(pve_restore_item_parse(o, &a), "not an archive: %s", json);
	pve_restore_stats_add(&st, &a);
	ck_assert_int_eq(pve_restore_guest_add(g, storage, &st), PE_OK);
	cJSON_Delete(o);
}

/* Places are per storage id: a local storage listed from two nodes is one place; the failed newest is not intact. */
START_TEST(test_places)
{
	struct pve_restore_guest g;
	char local[] = "local", local2[] = "local"; /* the same id, different strings */
	memset(&g, 0, sizeof(g));
	add(&g, local, "{\"vmid\":100,\"ctime\":1000,\"size\":5,\"format\":\"vma.zst\",\"protected\":1}");
	add(&g, local2, "{\"vmid\":100,\"ctime\":900,\"size\":5,\"format\":\"vma.zst\"}");
	add(&g, "pbs",
	    "{\"vmid\":100,\"ctime\":2000,\"format\":\"pbs-vm\",\"verification\":{\"state\":\"failed\","
	    "\"upid\":\"UPID:pbs1:0000047E:00000A3F:00000033:699A7838:verificationjob:s:root@pam:\"}}");
	add(&g, "pbs", "{\"vmid\":100,\"ctime\":1500,\"format\":\"pbs-vm\",\"encrypted\":\"1\"}");
	ck_assert_uint_eq(g.nplaces, 2);
	ck_assert_int_eq(g.places[0].s.count, 2);
	ck_assert(g.places[0].s.newest == 1000);
	ck_assert_int_eq(g.places[0].s.newest_protected, 1);
	ck_assert(g.places[1].s.newest == 2000);
	ck_assert(g.places[1].s.newest_intact == 1500);
	ck_assert_int_eq(g.all.count, 4);
	ck_assert(g.all.newest == 2000);
	ck_assert(g.all.newest_intact == 1500);
	ck_assert_int_eq(g.all.newest_verify, PVE_VERIFY_FAILED);
	ck_assert_int_eq(g.all.newest_encrypted, 0);
	ck_assert_int_eq(g.all.newest_protected, 0);
	ck_assert_int_eq(g.all.pbs_archives, 2);
	ck_assert_int_eq(g.all.verify_failed, 1);
	ck_assert(g.all.last_failed == 2000);
	ck_assert(g.all.last_verified == 0);
	/* a tie on the newest time: the failed one decides, the newest is not known good */
	add(&g, "other", "{\"vmid\":100,\"ctime\":2000,\"format\":\"vma.zst\",\"protected\":\"1\"}");
	ck_assert_int_eq(g.all.newest_verify, PVE_VERIFY_FAILED);
	ck_assert_uint_eq(g.nplaces, 3);
	/* merging in either order gives the same totals */
	struct pve_restore_stats a, b;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	for (size_t i = g.nplaces; i-- > 0;)
		pve_restore_stats_merge(&a, &g.places[i].s);
	for (size_t i = 0; i < g.nplaces; i++)
		pve_restore_stats_merge(&b, &g.places[i].s);
	ck_assert_int_eq(memcmp(&a, &b, sizeof(a)), 0);
	ck_assert_int_eq(memcmp(&a, &g.all, sizeof(a)), 0);
	pve_restore_guest_clear(&g);
}
END_TEST

START_TEST(test_item_fields)
{
	struct pve_restore_item a;
	cJSON *o;
	/* loose typing: protected as a string, size as a string, an unknown verify state */
	o = item(
		"{\"vmid\":\"7\",\"ctime\":\"100\",\"size\":\"12\",\"protected\":\"1\",\"format\":\"pbs-ct\","
		"\"verification\":{\"state\":\"unknown\",\"upid\":\"x\"},\"encrypted\":\"\"}");
	ck_assert(pve_restore_item_parse(o, &a));
	ck_assert_int_eq(a.vmid, 7);
	ck_assert(a.size == 12);
	ck_assert_int_eq(a.protected, 1);
	ck_assert_int_eq(a.pbs, 1);
	ck_assert_int_eq(a.verify, PVE_VERIFY_NONE);
	ck_assert_int_eq(a.encrypted, 0);
	cJSON_Delete(o);
	/* verification ok with a PVE-style (not PBS) UPID: ok, start unknown */
	o = item("{\"vmid\":7,\"ctime\":100,\"verification\":{\"state\":\"ok\","
		 "\"upid\":\"UPID:pve1:0000A1B2:0001C3D4:66F0A000:vzdump:100:root@pam:\"}}");
	ck_assert(pve_restore_item_parse(o, &a));
	ck_assert_int_eq(a.verify, PVE_VERIFY_OK);
	ck_assert(a.verify_start == 0);
	ck_assert_int_eq(a.pbs, 0);
	cJSON_Delete(o);
	/* not archives */
	const char *bad[] = {"{\"vmid\":7}",
			     "{\"ctime\":100}",
			     "{\"vmid\":7,\"ctime\":100,\"content\":\"images\"}",
			     "{\"vmid\":-1,\"ctime\":100}",
			     "[]",
			     "{\"vmid\":7,\"ctime\":0}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		o = item(bad[i]);
		ck_assert_msg(!pve_restore_item_parse(o, &a), "%s", bad[i]);
		cJSON_Delete(o);
	}
	ck_assert(!pve_restore_item_parse(NULL, &a));
}
END_TEST

START_TEST(test_upid_start)
{
	double t = -1;
	ck_assert(pve_restore_upid_start("UPID:pbs1:0000047E:00000A3F:00000033:699A7838:verificationjob:"
					 "store1\\x3av\\x2dstore1:root@pam:",
					 &t));
	ck_assert(t == 0x699A7838);
	/* a 9-digit pstart and a long task id, lower-case hex, empty worker id, a token as auth id */
	ck_assert(pve_restore_upid_start(
		"UPID:n:0000047e:100000a3f:0000000000000033:699a7839:verify::a@pbs!t:", &t));
	ck_assert(t == 0x699A7839);
	const char *bad[] = {NULL,
			     "",
			     "UPID:",
			     "UPID::0000047E:00000A3F:00000033:699A7838:verify:x:root@pam:",
			     "UPID:pve1:0000A1B2:0001C3D4:66F0A000:vzdump:100:root@pam:", /* PVE's form */
			     "UPID:pbs1:0000047E:00000A3F:00000033:699A7838:verify:x:root@pam",
			     "UPID:pbs1:0000047E:00000A3F:00000033:699A7838:verify:x:root@pam:tail",
			     "UPID:pbs1:0000047E:00000A3F:00000033:699A78:verify:x:root@pam:",
			     "UPID:pbs1:0000047E:00000A3F:00000033:699A783G:verify:x:root@pam:",
			     "UPID:pbs1:0000047E:00000A3F:00000033:00000000:verify:x:root@pam:",
			     "UPID:pbs1:0000047E:00000A3F:00000033:699A7838::x:root@pam:",
			     "UPID:pbs1:0000047E:00000A3F:00000033:699A7838:verify:x::"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		t = -1;
		ck_assert_msg(!pve_restore_upid_start(bad[i], &t), "accepted %s", bad[i] ? bad[i] : "NULL");
		ck_assert(t == -1);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pve_restore");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_fixture_fold);
	tcase_add_test(tc, test_places);
	tcase_add_test(tc, test_item_fields);
	tcase_add_test(tc, test_upid_start);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
