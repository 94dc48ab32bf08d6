/* test_pbs.c - the PBS parsers (bytes -> facts) and their samples, from tests/fixtures/pbs. */
#include "testutil.h"

#include <math.h>

#include "expfmt.h"
#include "pbs.h"
#include "pve_pbs.h"

#include <cjson/cJSON.h>

#define FIX "tests/fixtures/pbs/"
#define NOW 1771924800.0 /* 2026-02-24T09:20:00Z, the fixtures' "now" */

static char msg[256];

static char *fixture(const char *name, size_t *len)
{
	char path[256];
	char *data;

	snprintf(path, sizeof(path), FIX "%s", name);
	data = tu_read_file(path, len);
	ck_assert_msg(data != NULL, "fixture %s missing", path);
	return data;
}

/* The fixture scenario read the way the collector reads it. */
static struct pbs_facts *scenario(void)
{
	struct pbs_facts *f = pbs_facts_new();
	static const struct {
		const char *store, *ns, *file;
	} listings[] = {{"store1", "", "snapshots-store1.json"},
			{"store1", "site-b", "snapshots-store1-ns-site-b.json"},
			{"offsite", "", "snapshots-offsite.json"}};
	size_t len;
	char *b;

	ck_assert_ptr_nonnull(f);
	b = fixture("version.json", &len);
	ck_assert_int_eq(pbs_parse_version(f, b, len, msg, sizeof(msg)), PE_OK);
	free(b);
	b = fixture("admin-datastore.json", &len);
	ck_assert_int_eq(pbs_parse_datastores(f, b, len, msg, sizeof(msg)), PE_OK);
	free(b);
	b = fixture("status-store1-verbose.json", &len);
	ck_assert_int_eq(pbs_parse_status(pbs_store_find(f, "store1"), b, len, msg, sizeof(msg)), PE_OK);
	free(b);
	b = fixture("status-offsite.json", &len);
	ck_assert_int_eq(pbs_parse_status(pbs_store_find(f, "offsite"), b, len, msg, sizeof(msg)), PE_OK);
	free(b);
	b = fixture("status-datastore-usage.json", &len);
	ck_assert_int_eq(pbs_parse_usage(f, b, len, NOW, msg, sizeof(msg)), PE_OK);
	free(b);
	b = fixture("gc-store1.json", &len);
	ck_assert_int_eq(pbs_parse_gc(pbs_store_find(f, "store1"), b, len, msg, sizeof(msg)), PE_OK);
	free(b);
	for (size_t i = 0; i < sizeof(listings) / sizeof(listings[0]); i++) {
		b = fixture(listings[i].file, &len);
		ck_assert_int_eq(pbs_parse_snapshots(pbs_store_find(f, listings[i].store), listings[i].ns, b,
						     len, msg, sizeof(msg)),
				 PE_OK);
		free(b);
	}
	static const char *const jobs[] = {"admin-verify.json", "admin-prune.json", "admin-sync.json"};
	for (int t = 0; t < PBS_JOB__COUNT; t++) {
		b = fixture(jobs[t], &len);
		ck_assert_int_eq(pbs_parse_jobs(f, (enum pbs_job_type)t, b, len, msg, sizeof(msg)), PE_OK);
		free(b);
	}
	b = fixture("tasks-statusfilter-error.json", &len);
	ck_assert_int_eq(pbs_parse_tasks(f, b, len, msg, sizeof(msg)), PE_OK);
	free(b);
	pbs_facts_sort(f);
	return f;
}

static char *emit_text(const struct pbs_facts *f, size_t max_groups, size_t *dropped)
{
	struct expfmt *e = expfmt_new(0);
	struct buf out;
	size_t d;

	ck_assert_ptr_nonnull(e);
	d = pbs_emit(f, "pbs1", max_groups, e);
	if (dropped)
		*dropped = d;
	buf_init(&out, 0);
	ck_assert_int_eq(expfmt_write(e, &out), PE_OK);
	expfmt_free(e);
	buf_add(&out, "", 0);
	return buf_steal(&out, NULL);
}

static const struct pbs_group *group(const struct pbs_facts *f, const char *store, const char *ns,
				     const char *type, const char *id)
{
	const struct pbs_store *s = pbs_store_find((struct pbs_facts *)f, store);

	for (size_t i = 0; s && i < s->ngroups; i++) {
		const struct pbs_group *g = &s->groups[i];
		if (strcmp(g->ns, ns) == 0 && strcmp(g->type, type) == 0 && strcmp(g->id, id) == 0)
			return g;
	}
	return NULL;
}

static const struct pbs_job *job(const struct pbs_facts *f, enum pbs_job_type t, const char *id)
{
	for (size_t i = 0; i < f->njobs; i++)
		if (f->jobs[i].type == t && strcmp(f->jobs[i].id, id) == 0)
			return &f->jobs[i];
	return NULL;
}

/* ---------- the fixture scenario ---------- */

START_TEST(test_scenario_golden)
{
	struct pbs_facts *f = scenario();
	size_t dropped;
	char *text = emit_text(f, 10000, &dropped);

	ck_assert_uint_eq(dropped, 0);
	tu_assert_promtool_clean(text);
	tu_assert_golden(text, "tests/unit/golden/pbs/scenario.prom");
	free(text);
	pbs_facts_free(f);
}
END_TEST

START_TEST(test_datastores_space_and_estimates)
{
	struct pbs_facts *f = scenario();
	const struct pbs_store *s1 = pbs_store_find(f, "store1"), *off = pbs_store_find(f, "offsite");

	ck_assert_int_eq(f->major, 3);
	ck_assert_int_eq(f->minor, 2);
	ck_assert_uint_eq(f->nstores, 2);
	ck_assert_str_eq(f->stores[0].name, "offsite"); /* sorted */
	ck_assert(s1->listed && s1->up && off->listed && off->up);
	ck_assert_double_eq(s1->total, 7681124835328.0);
	ck_assert_double_eq(s1->used, 1268735610880.0);
	ck_assert_double_eq(s1->avail, 6412389224448.0);
	ck_assert_double_eq(off->avail, 1466321289216.0); /* ext4: less than total - used */
	ck_assert_double_eq(s1->estimated_full, 2076782936.0);
	ck_assert_double_eq(off->estimated_full, 1773424546.0);
	pbs_facts_free(f);
}
END_TEST

START_TEST(test_gc_status)
{
	struct pbs_facts *f = scenario();
	const struct pbs_gc *gc = &pbs_store_find(f, "store1")->gc;

	ck_assert(gc->known);
	ck_assert_str_eq(gc->schedule, "daily");
	ck_assert_int_eq(gc->state, PBS_RUN_OK);
	ck_assert_double_eq(gc->last_end, 1771892483.0);
	ck_assert_double_eq(gc->next_run, 1771977600.0);
	ck_assert_double_eq(gc->pending_bytes, 2147803136.0);
	ck_assert_double_eq(gc->removed_bad, 0);
	ck_assert_double_eq(gc->still_bad, 1);
	ck_assert(!pbs_store_find(f, "offsite")->gc.known); /* its GC answer was not read */
	pbs_facts_free(f);
}
END_TEST

START_TEST(test_groups_from_snapshots)
{
	struct pbs_facts *f = scenario();
	const struct pbs_group *g;

	ck_assert_uint_eq(pbs_store_find(f, "store1")->ngroups, 6);
	ck_assert_uint_eq(pbs_store_find(f, "offsite")->ngroups, 4);
	/* the newest host/files snapshot is still being written: the one before counts */
	g = group(f, "store1", "", "host", "files");
	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(g->snapshots, 5);
	ck_assert_double_eq(g->last_backup, 1771838102.0);
	ck_assert_double_eq(g->last_size, 552926260297.0);
	ck_assert_double_eq(g->last_verified, 1771665302.0);
	/* one failed verification, the newest ok one before it */
	g = group(f, "store1", "", "vm", "102");
	ck_assert_int_eq(g->snapshots, 7);
	ck_assert_int_eq(g->verify_failed, 1);
	ck_assert_double_eq(g->last_backup, 1771895047.0);
	ck_assert_double_eq(g->last_verified, 1771722247.0);
	/* the same type/id in another namespace is another group */
	g = group(f, "store1", "site-b", "vm", "100");
	ck_assert_int_eq(g->snapshots, 3);
	ck_assert_double_eq(g->last_backup, 1771896604.0);
	ck_assert_double_eq(g->last_verified, 1771810204.0);
	ck_assert_double_eq(group(f, "store1", "", "vm", "100")->last_backup, 1771894803.0);
	/* sorted: namespace, type, id */
	ck_assert_str_eq(pbs_store_find(f, "store1")->groups[0].type, "ct");
	ck_assert_str_eq(pbs_store_find(f, "store1")->groups[5].ns, "site-b");
	ck_assert_int_eq(pbs_store_find(f, "store1")->skipped, 0);
	pbs_facts_free(f);
}
END_TEST

START_TEST(test_jobs)
{
	struct pbs_facts *f = scenario();
	const struct pbs_job *j;

	ck_assert_uint_eq(f->njobs, 6);
	ck_assert(f->jobs_known[PBS_JOB_VERIFY] && f->jobs_known[PBS_JOB_PRUNE] &&
		  f->jobs_known[PBS_JOB_SYNC]);
	j = job(f, PBS_JOB_VERIFY, "v-store1");
	ck_assert_int_eq(j->state, PBS_RUN_FAILED);
	ck_assert_double_eq(j->last_end, 1771735313.0);
	ck_assert_double_eq(j->next_run, 1772335800.0);
	ck_assert_str_eq(j->store, "store1");
	ck_assert_str_eq(j->schedule, "sun 03:30");
	ck_assert_int_eq(job(f, PBS_JOB_VERIFY, "v-offsite")->state, PBS_RUN_OK);
	/* disabled, never ran: no last run, no next slot */
	j = job(f, PBS_JOB_PRUNE, "p-offsite");
	ck_assert_int_eq(j->enabled, 0);
	ck_assert_int_eq(j->state, PBS_RUN_NONE);
	ck_assert_double_eq(j->last_end, 0);
	ck_assert_double_eq(j->next_run, 0);
	/* the overdue sync: its next slot lies before now */
	j = job(f, PBS_JOB_SYNC, "s-offsite");
	ck_assert_int_eq(j->state, PBS_RUN_OK);
	ck_assert_double_lt(j->next_run, NOW);
	ck_assert_double_gt(job(f, PBS_JOB_SYNC, "s-siteb-pull")->next_run, NOW);
	pbs_facts_free(f);
}
END_TEST

START_TEST(test_task_failures)
{
	struct pbs_facts *f = scenario();

	ck_assert(f->failures_known);
	ck_assert_uint_eq(f->nfailures, 2);
	ck_assert_str_eq(f->failures[0].worker_type, "backup");
	ck_assert_double_eq(f->failures[0].last, 1771896856.0);
	ck_assert_str_eq(f->failures[1].worker_type, "verificationjob");
	ck_assert_double_eq(f->failures[1].last, 1771735313.0);
	pbs_facts_free(f);
}
END_TEST

/* The unfiltered task list: running, OK and warning tasks are no failures. */
START_TEST(test_task_list_unfiltered)
{
	struct pbs_facts *f = pbs_facts_new();
	size_t len;
	char *b = fixture("tasks.json", &len);

	ck_assert_int_eq(pbs_parse_tasks(f, b, len, msg, sizeof(msg)), PE_OK);
	pbs_facts_sort(f);
	for (size_t i = 0; i < f->nfailures; i++)
		ck_assert_msg(strcmp(f->failures[i].worker_type, "logrotate") != 0, "an OK task counted");
	ck_assert_uint_ge(f->nfailures, 1);
	ck_assert_str_eq(f->failures[0].worker_type, "backup");
	ck_assert_double_eq(f->failures[0].last, 1771896856.0);
	free(b);
	pbs_facts_free(f);
}
END_TEST

/* /admin/gc (an array) is not the per-store answer: rejected, nothing changed. */
START_TEST(test_gc_array_rejected)
{
	struct pbs_facts *f = pbs_facts_new();
	struct pbs_store *s = pbs_store_add(f, "store1");
	size_t len;
	char *b = fixture("admin-gc.json", &len);

	ck_assert_int_eq(pbs_parse_gc(s, b, len, msg, sizeof(msg)), PE_PARSE);
	ck_assert_str_eq(msg, "data is not an object");
	ck_assert(!s->gc.known);
	free(b);
	pbs_facts_free(f);
}
END_TEST

/* ---------- versions ---------- */

START_TEST(test_version_sync_direction)
{
	static const struct {
		const char *body;
		int major, minor, param;
	} cases[] = {
		{"{\"data\":{\"version\":\"3.2\",\"release\":\"4\"}}", 3, 2, 0},
		{"{\"data\":{\"version\":\"3.3\",\"release\":\"1\"}}", 3, 3, 1},
		{"{\"data\":{\"version\":\"4.2\",\"release\":\"1\"}}", 4, 2, 1},
		{"{\"data\":{\"version\":\"2.4\"}}", 2, 4, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pbs_facts *f = pbs_facts_new();
		ck_assert_int_eq(pbs_parse_version(f, cases[i].body, strlen(cases[i].body), msg, sizeof(msg)),
				 PE_OK);
		ck_assert_int_eq(f->major, cases[i].major);
		ck_assert_int_eq(f->minor, cases[i].minor);
		ck_assert_int_eq(pbs_sync_direction_param(f), cases[i].param);
		pbs_facts_free(f);
	}
	size_t len;
	char *b = fixture("version.pbs42-sample.json", &len);
	struct pbs_facts *f = pbs_facts_new();
	ck_assert_int_eq(pbs_parse_version(f, b, len, msg, sizeof(msg)), PE_OK);
	ck_assert(pbs_sync_direction_param(f));
	pbs_facts_free(f);
	free(b);
}
END_TEST

START_TEST(test_version_rejects)
{
	static const char *const bad[] = {
		"{\"data\":{\"version\":\"3\"}}",
		"{\"data\":{\"version\":\"3.2.4\"}}",
		"{\"data\":{\"version\":3.2}}",
		"{\"data\":{}}",
		"{\"data\":[]}",
		"<html>",
		"{\"data\":{\"version\":\"3.2\"}",
		"",
		"{\"data\":{\"version\":\"-1.2\"}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pbs_facts *f = pbs_facts_new();
		ck_assert_int_eq(pbs_parse_version(f, bad[i], strlen(bad[i]), msg, sizeof(msg)), PE_PARSE);
		ck_assert_int_eq(f->major, 0);
		ck_assert(msg[0]);
		pbs_facts_free(f);
	}
}
END_TEST

/* ---------- every parser: bad bodies change nothing ---------- */

static const char *const bad_bodies[] = {
	"",
	"<!DOCTYPE html><html><body>starting</body></html>",
	"permission check failed",
	"{\"data\":[{\"store\":\"a\"}",
	"{\"data\":null}",
	"{\"other\":[]}",
	"{\"data\":\"text\"}",
	"[{\"store\":\"a\"}] trailing",
};

START_TEST(test_bad_bodies_change_nothing)
{
	for (size_t i = 0; i < sizeof(bad_bodies) / sizeof(bad_bodies[0]); i++) {
		const char *b = bad_bodies[i];
		size_t n = strlen(b);
		struct pbs_facts *f = pbs_facts_new();
		struct pbs_store *s = pbs_store_add(f, "a");
		char **ns = (char **)1;
		size_t nns = 7;

		ck_assert_int_eq(pbs_parse_datastores(f, b, n, msg, sizeof(msg)), PE_PARSE);
		ck_assert_msg(msg[0], "no reason for body %zu", i);
		ck_assert_int_eq(pbs_parse_status(s, b, n, msg, sizeof(msg)), PE_PARSE);
		ck_assert_int_eq(pbs_parse_gc(s, b, n, msg, sizeof(msg)), PE_PARSE);
		ck_assert_int_eq(pbs_parse_usage(f, b, n, NOW, msg, sizeof(msg)), PE_PARSE);
		ck_assert_int_eq(pbs_parse_namespaces(b, n, &ns, &nns, msg, sizeof(msg)), PE_PARSE);
		ck_assert_ptr_null(ns);
		ck_assert_uint_eq(nns, 0);
		ck_assert_int_eq(pbs_parse_snapshots(s, "", b, n, msg, sizeof(msg)), PE_PARSE);
		ck_assert_int_eq(pbs_parse_jobs(f, PBS_JOB_SYNC, b, n, msg, sizeof(msg)), PE_PARSE);
		ck_assert_int_eq(pbs_parse_tasks(f, b, n, msg, sizeof(msg)), PE_PARSE);
		ck_assert_uint_eq(f->nstores, 1);
		ck_assert(!s->listed && !s->up && !s->gc.known);
		ck_assert_uint_eq(s->ngroups, 0);
		ck_assert_uint_eq(s->nns, 0);
		ck_assert_uint_eq(f->njobs, 0);
		ck_assert(!f->jobs_known[PBS_JOB_SYNC] && !f->failures_known);
		pbs_facts_free(f);
	}
}
END_TEST

/* A truncated snapshot listing adds no group, even though earlier items parsed. */
START_TEST(test_truncated_listing_adds_nothing)
{
	struct pbs_facts *f = pbs_facts_new();
	struct pbs_store *s = pbs_store_add(f, "store1");
	size_t len;
	char *b = fixture("snapshots-store1.json", &len);

	ck_assert_int_eq(pbs_parse_snapshots(s, "", b, len / 2, msg, sizeof(msg)), PE_PARSE);
	ck_assert_msg(strstr(msg, "invalid or truncated JSON") != NULL, "%s", msg);
	ck_assert_uint_eq(s->ngroups, 0);
	ck_assert_uint_eq(s->nns, 0);
	/* the whole listing afterwards is fine, and the namespace cannot be read twice */
	ck_assert_int_eq(pbs_parse_snapshots(s, "", b, len, msg, sizeof(msg)), PE_OK);
	ck_assert_uint_eq(s->ngroups, 5);
	ck_assert_int_eq(pbs_parse_snapshots(s, "", b, len, msg, sizeof(msg)), PE_INVAL);
	ck_assert_uint_eq(s->ngroups, 5);
	free(b);
	pbs_facts_free(f);
}
END_TEST

/* Items with wrong types are skipped and counted; loose numbers are accepted. */
START_TEST(test_snapshot_items_wrong_types)
{
	const char *body =
		"{\"data\":["
		"{\"backup-type\":\"vm\",\"backup-id\":\"1\",\"backup-time\":100,\"size\":5},"
		"{\"backup-type\":\"lxc\",\"backup-id\":\"2\",\"backup-time\":100,\"size\":5},"
		"{\"backup-type\":\"vm\",\"backup-id\":\"\",\"backup-time\":100,\"size\":5},"
		"{\"backup-type\":\"vm\",\"backup-id\":3,\"backup-time\":100,\"size\":5},"
		"{\"backup-type\":\"vm\",\"backup-id\":\"1\",\"backup-time\":\"x\"},"
		"{\"backup-type\":\"vm\",\"backup-id\":\"1\",\"backup-time\":-5,\"size\":1},"
		"17,"
		"{\"backup-type\":\"ct\",\"backup-id\":\"4\",\"backup-time\":\"200\",\"size\":\"9\","
		"\"verification\":{\"state\":\"failed\"}},"
		"{\"backup-type\":\"ct\",\"backup-id\":\"4\",\"backup-time\":150,\"size\":-1,"
		"\"verification\":{\"state\":\"weird\"}},"
		"{\"backup-type\":\"ct\",\"backup-id\":\"4\",\"backup-time\":120,\"size\":3,"
		"\"verification\":\"ok\"}"
		"]}";
	struct pbs_facts *f = pbs_facts_new();
	struct pbs_store *s = pbs_store_add(f, "a");
	const struct pbs_group *g;

	ck_assert_int_eq(pbs_parse_snapshots(s, "x/y", body, strlen(body), msg, sizeof(msg)), PE_OK);
	pbs_facts_sort(f);
	ck_assert_int_eq(s->skipped, 6);
	ck_assert_uint_eq(s->ngroups, 2);
	g = group(f, "a", "x/y", "ct", "4");
	ck_assert_int_eq(g->snapshots, 2); /* the one with a negative size is not finished */
	ck_assert_double_eq(g->last_backup, 200);
	ck_assert_double_eq(g->last_size, 9);
	ck_assert_int_eq(g->verify_failed, 1);
	ck_assert_double_eq(g->last_verified, 0); /* "weird" and a non-object are no verdict */
	g = group(f, "a", "x/y", "vm", "1");
	ck_assert_int_eq(g->snapshots, 1);
	pbs_facts_free(f);
}
END_TEST

/* A group whose only snapshot is unfinished: counted as a group with no finished snapshot. */
START_TEST(test_group_only_unfinished)
{
	const char *body = "[{\"backup-type\":\"host\",\"backup-id\":\"h\",\"backup-time\":300,"
			   "\"files\":[{\"filename\":\"root.pxar.didx\"}],\"protected\":false}]";
	struct pbs_facts *f = pbs_facts_new();
	struct pbs_store *s = pbs_store_add(f, "a");
	char *text;

	ck_assert_int_eq(pbs_parse_snapshots(s, "", body, strlen(body), msg, sizeof(msg)), PE_OK);
	ck_assert_uint_eq(s->ngroups, 1);
	ck_assert_int_eq(s->groups[0].snapshots, 0);
	ck_assert_double_eq(s->groups[0].last_backup, 0);
	text = emit_text(f, 10, NULL);
	ck_assert_ptr_nonnull(strstr(text, "persistence_pbs_group_snapshots{source=\"pbs1\",datastore=\"a\","
					   "namespace=\"\",backup_type=\"host\",backup_id=\"h\"} 0\n"));
	ck_assert_ptr_null(strstr(text, "persistence_pbs_group_last_backup_timestamp_seconds{"));
	free(text);
	pbs_facts_free(f);
}
END_TEST

/* 2,000 groups x 30 snapshots in one listing, in directory order and shuffled. */
START_TEST(test_large_listing)
{
	struct buf b;
	struct pbs_facts *f = pbs_facts_new();
	struct pbs_store *s = pbs_store_add(f, "big");

	buf_init(&b, 0);
	buf_adds(&b, "{\"data\":[");
	for (int k = 0; k < 30; k++)
		for (int g = 0; g < 2000; g++)
			buf_addf(&b,
				 "%s{\"backup-type\":\"%s\",\"backup-id\":\"%d\",\"backup-time\":%d,\"size\":"
				 "%d,"
				 "\"verification\":{\"state\":\"%s\",\"upid\":\"UPID:x\"},\"protected\":"
				 "false}",
				 k || g ? "," : "", g % 3 ? "vm" : "ct", 1000 + g, 1700000000 + k * 86400,
				 10 + k, k == 29 ? "failed" : "ok");
	buf_adds(&b, "]}");
	ck_assert_int_eq(buf_err(&b), PE_OK);
	ck_assert_int_eq(pbs_parse_snapshots(s, "", b.data, b.len, msg, sizeof(msg)), PE_OK);
	pbs_facts_sort(f);
	ck_assert_uint_eq(s->ngroups, 2000);
	for (size_t i = 0; i < s->ngroups; i++) {
		ck_assert_int_eq(s->groups[i].snapshots, 30);
		ck_assert_double_eq(s->groups[i].last_backup, 1700000000 + 29 * 86400);
		ck_assert_double_eq(s->groups[i].last_size, 39);
		ck_assert_double_eq(s->groups[i].last_verified, 1700000000 + 28 * 86400);
		ck_assert_int_eq(s->groups[i].verify_failed, 1);
	}
	buf_free(&b);
	pbs_facts_free(f);
}
END_TEST

/* The cardinality cap: groups past max_groups are left out and counted. */
START_TEST(test_group_cap)
{
	struct pbs_facts *f = scenario();
	size_t dropped;
	char *text = emit_text(f, 3, &dropped);
	const char *p = text;
	int n = 0;

	ck_assert_uint_eq(dropped, 7);
	while ((p = strstr(p, "\npersistence_pbs_group_snapshots{")) != NULL) {
		n++;
		p++;
	}
	ck_assert_int_eq(n, 3);
	/* datastore, job and task families are never capped */
	ck_assert_ptr_nonnull(
		strstr(text, "persistence_pbs_datastore_up{source=\"pbs1\",datastore=\"store1\"} 1"));
	ck_assert_ptr_nonnull(strstr(text, "job_id=\"s-offsite\""));
	free(text);
	pbs_facts_free(f);
}
END_TEST

/* ---------- usage, jobs, GC edge cases ---------- */

START_TEST(test_usage_estimates_in_the_past_or_flat)
{
	const char *body = "{\"data\":[{\"store\":\"shrink\",\"estimated-full-date\":1700000000},"
			   "{\"store\":\"flat\",\"estimated-full-date\":0},{\"store\":\"few\"},"
			   "{\"store\":\"broken\",\"error\":\"cannot open\"},"
			   "{\"store\":\"grow\",\"estimated-full-date\":1800000000},"
			   "{\"store\":\"unknown\",\"estimated-full-date\":1800000000}]}";
	struct pbs_facts *f = pbs_facts_new();
	static const char *const names[] = {"shrink", "flat", "few", "broken", "grow"};

	for (size_t i = 0; i < 5; i++)
		ck_assert_ptr_nonnull(pbs_store_add(f, names[i]));
	ck_assert_int_eq(pbs_parse_usage(f, body, strlen(body), NOW, msg, sizeof(msg)), PE_OK);
	for (size_t i = 0; i < 4; i++)
		ck_assert_double_eq(pbs_store_find(f, names[i])->estimated_full, 0);
	ck_assert_double_eq(pbs_store_find(f, "grow")->estimated_full, 1800000000);
	ck_assert_ptr_null(pbs_store_find(f, "unknown")); /* not a store of this source */
	pbs_facts_free(f);
}
END_TEST

START_TEST(test_job_states)
{
	const char *body =
		"{\"data\":["
		"{\"id\":\"run\",\"store\":\"a\",\"schedule\":\"daily\",\"next-run\":1771977600,"
		"\"last-run-upid\":\"UPID:pbs1:0:0:0:699D6C16:verificationjob:a\\\\x3arun:root@pam:\"},"
		"{\"id\":\"never\",\"store\":\"a\",\"schedule\":\"daily\",\"next-run\":1771977600},"
		"{\"id\":\"warn\",\"store\":\"a\",\"last-run-state\":\"WARNINGS: 2\",\"last-run-endtime\":5,"
		"\"last-run-upid\":\"U\"},"
		"{\"id\":\"unk\",\"store\":\"a\",\"last-run-state\":\"unknown\",\"last-run-endtime\":6,"
		"\"last-run-upid\":\"U\"},"
		"{\"id\":\"dup\",\"store\":\"a\"},{\"id\":\"dup\",\"store\":\"b\"},"
		"{\"store\":\"noid\"},{\"id\":\"nostore\"},{\"id\":7,\"store\":\"a\"},"
		"{\"id\":\"dis\",\"store\":\"a\",\"disable\":1}"
		"],\"digest\":\"x\"}";
	struct pbs_facts *f = pbs_facts_new();
	const struct pbs_job *j;
	char *text;

	ck_assert_int_eq(pbs_parse_jobs(f, PBS_JOB_VERIFY, body, strlen(body), msg, sizeof(msg)), PE_OK);
	pbs_facts_sort(f);
	ck_assert_uint_eq(f->njobs, 6); /* dup once; noid, nostore, numeric id dropped */
	j = job(f, PBS_JOB_VERIFY, "run");
	ck_assert_int_eq(j->state, PBS_RUN_RUNNING);
	ck_assert_double_eq(j->last_end, 0);
	ck_assert_double_eq(j->next_run, 1771977600);
	ck_assert_int_eq(job(f, PBS_JOB_VERIFY, "never")->state, PBS_RUN_NONE);
	ck_assert_int_eq(job(f, PBS_JOB_VERIFY, "warn")->state, PBS_RUN_OK);
	ck_assert_int_eq(job(f, PBS_JOB_VERIFY, "unk")->state, PBS_RUN_FAILED);
	ck_assert_int_eq(job(f, PBS_JOB_VERIFY, "dis")->enabled, 0);
	ck_assert_int_eq(job(f, PBS_JOB_VERIFY, "never")->enabled, 1);
	text = emit_text(f, 0, NULL);
	/* no last-run series while running or never run */
	ck_assert_ptr_null(strstr(text,
				  "persistence_pbs_job_last_run_success{source=\"pbs1\",job_type=\"verify\","
				  "job_id=\"run\""));
	ck_assert_ptr_nonnull(
		strstr(text, "persistence_pbs_job_last_run_success{source=\"pbs1\",job_type=\"verify\","
			     "job_id=\"unk\",datastore=\"a\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(text, "persistence_pbs_job_info{source=\"pbs1\",job_type=\"verify\","
					   "job_id=\"never\",datastore=\"a\",schedule=\"daily\"} 1\n"));
	tu_assert_promtool_clean(text);
	free(text);
	pbs_facts_free(f);
}
END_TEST

START_TEST(test_gc_never_ran_and_running)
{
	const char *never = "{\"data\":{\"store\":\"a\",\"upid\":null,\"schedule\":\"daily\","
			    "\"next-run\":1771977600,\"pending-bytes\":0,\"removed-bad\":0,\"still-bad\":0}}";
	const char *running = "{\"data\":{\"store\":\"a\",\"upid\":\"UPID:pbs1:0:0:0:0:garbage_collection:a:"
			      "root@pam:\",\"next-run\":1771977600}}";
	const char *failed = "{\"data\":{\"store\":\"a\",\"upid\":\"U\",\"last-run-state\":\"TASK ERROR: "
			     "no space\",\"last-run-endtime\":1771900000}}";
	struct pbs_facts *f = pbs_facts_new();
	struct pbs_store *s = pbs_store_add(f, "a");

	ck_assert_int_eq(pbs_parse_gc(s, never, strlen(never), msg, sizeof(msg)), PE_OK);
	ck_assert_int_eq(s->gc.state, PBS_RUN_NONE);
	ck_assert_double_eq(s->gc.still_bad, 0);
	ck_assert_int_eq(pbs_parse_gc(s, running, strlen(running), msg, sizeof(msg)), PE_OK);
	ck_assert_int_eq(s->gc.state, PBS_RUN_RUNNING);
	ck_assert_ptr_null(s->gc.schedule);
	ck_assert_double_eq(s->gc.pending_bytes, -1); /* absent stays absent */
	ck_assert_int_eq(pbs_parse_gc(s, failed, strlen(failed), msg, sizeof(msg)), PE_OK);
	ck_assert_int_eq(s->gc.state, PBS_RUN_FAILED);
	ck_assert_double_eq(s->gc.last_end, 1771900000);
	ck_assert_double_eq(s->gc.next_run, 0);
	pbs_facts_free(f);
}
END_TEST

START_TEST(test_namespaces_sorted_unique)
{
	const char *body =
		"{\"data\":[{\"ns\":\"b/c\"},{\"ns\":\"\"},{\"ns\":\"b\"},{\"ns\":\"b\"},{\"ns\":5},{}]}";
	char **ns;
	size_t n;
	size_t len;
	char *b;

	ck_assert_int_eq(pbs_parse_namespaces(body, strlen(body), &ns, &n, msg, sizeof(msg)), PE_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(ns[0], "");
	ck_assert_str_eq(ns[1], "b");
	ck_assert_str_eq(ns[2], "b/c");
	pbs_strv_free(ns, n);
	b = fixture("namespace-store1.json", &len);
	ck_assert_int_eq(pbs_parse_namespaces(b, len, &ns, &n, msg, sizeof(msg)), PE_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(ns[1], "site-b");
	pbs_strv_free(ns, n);
	free(b);
}
END_TEST

START_TEST(test_selection)
{
	static char st1[] = "store1", siteb[] = "site-b", xy[] = "x/y", empty[] = "";
	char *stores[] = {st1};
	char *nss[] = {siteb, xy};
	char *root[] = {empty};

	ck_assert(pbs_store_selected("anything", NULL, 0));
	ck_assert(pbs_store_selected("store1", stores, 1));
	ck_assert(!pbs_store_selected("store10", stores, 1));
	ck_assert(pbs_ns_selected("", NULL, 0));
	ck_assert(pbs_ns_selected("site-b", nss, 2));
	ck_assert(pbs_ns_selected("site-b/web", nss, 2));
	ck_assert(!pbs_ns_selected("site-bb", nss, 2));
	ck_assert(!pbs_ns_selected("", nss, 2));
	ck_assert(!pbs_ns_selected("x", nss, 2));
	ck_assert(pbs_ns_selected("x/y/z", nss, 2));
	ck_assert(pbs_ns_selected("a/b", root, 1));
}
END_TEST

/* Label values from the PBS are escaped; the exposition stays valid. */
START_TEST(test_hostile_names)
{
	const char *body = "{\"data\":[{\"backup-type\":\"host\",\"backup-id\":\"a\\\"b\\\\c\\nd\","
			   "\"backup-time\":10,\"size\":1}]}";
	struct pbs_facts *f = pbs_facts_new();
	struct pbs_store *s = pbs_store_add(f, "st\"ore");
	char *text;

	ck_assert_int_eq(pbs_parse_snapshots(s, "n\\s", body, strlen(body), msg, sizeof(msg)), PE_OK);
	text = emit_text(f, 10, NULL);
	ck_assert_ptr_nonnull(strstr(text,
				     "datastore=\"st\\\"ore\",namespace=\"n\\\\s\",backup_type=\"host\","
				     "backup_id=\"a\\\"b\\\\c\\nd\""));
	tu_assert_promtool_clean(text);
	free(text);
	pbs_facts_free(f);
}
END_TEST

/* A PVE storage of type pbs and a pbs: source: the same server by pinned certificate or host and port. */
START_TEST(test_same_server)
{
	static const char fp[] = "6b:1f:0a:33:54:c2:9e:1d:87:45:b0:2f:61:d8:3c:9a:70:e4:15:b6:29:cf:88:03:5d:"
				 "a1:7e:44:c9:12:0b:c4";
	static const char FP[] = "6B:1F:0A:33:54:C2:9E:1D:87:45:B0:2F:61:D8:3C:9A:70:E4:15:B6:29:CF:88:03:5D:"
				 "A1:7E:44:C9:12:0B:C4";

	ck_assert(pbs_same_server("https://pbs.lan:8007", NULL, "pbs.lan", 0, NULL));
	ck_assert(pbs_same_server("https://PBS.lan:8007", NULL, "pbs.LAN", 8007, NULL));
	ck_assert(!pbs_same_server("https://pbs.lan:8007", NULL, "pbs.lan", 8008, NULL));
	ck_assert(!pbs_same_server("https://pbs.lan:8443", NULL, "pbs.lan", 0, NULL));
	ck_assert(!pbs_same_server("https://pbs2.lan:8007", NULL, "pbs.lan", 0, NULL));
	ck_assert(pbs_same_server("http://127.0.0.1:4711/pbs/pbs1", NULL, "127.0.0.1", 4711, NULL));
	ck_assert(pbs_same_server("https://[fd00::7]:8007", NULL, "fd00::7", 0, NULL));
	ck_assert(pbs_same_server("https://[fd00::7]:8007", NULL, "[fd00::7]", 0, NULL));
	/* a name and an address of the same machine: only the pinned certificate tells */
	ck_assert(!pbs_same_server("https://10.0.0.9:8007", NULL, "pbs.lan", 0, NULL));
	ck_assert(pbs_same_server("https://10.0.0.9:8007", FP, "pbs.lan", 0, fp));
	ck_assert(!pbs_same_server("https://10.0.0.9:8007", FP, "pbs.lan", 0, "6b:1f"));
	ck_assert(!pbs_same_server("https://10.0.0.9:8007", NULL, "pbs.lan", 0, fp));
	ck_assert(!pbs_same_server("not a url", NULL, "pbs.lan", 0, NULL));
	ck_assert(!pbs_same_server("https://pbs.lan:99999", NULL, "pbs.lan", 0, NULL));
	ck_assert(!pbs_same_server(NULL, NULL, NULL, 0, NULL));
}
END_TEST

struct matches {
	char text[1024];
	size_t n;
};

static void collect_match(void *ctx, const struct pve_pbs_match *m)
{
	struct matches *x = ctx;
	size_t l = strlen(x->text);
	snprintf(x->text + l, sizeof(x->text) - l, "%s=%s/%s/%s;", m->storage, m->pbs_source, m->datastore,
		 m->ns);
	x->n++;
}

/* PVE's /storage against the pbs: sources: the same server and a datastore the source reads. */
START_TEST(test_pve_storage_matching)
{
	static char s1[] = "store1", fp[] = "6B:1F:0A:33:54:C2:9E:1D:87:45:B0:2F:61:D8:3C:9A:70:E4:15:B6:29:"
					    "CF:88:03:5D:A1:7E:44:C9:12:0B:C4";
	char *stores[] = {s1};
	struct config_pbs pbs[2] = {
		{.name = (char *)"pbs1",
		 .url = (char *)"https://pbs.lan:8007",
		 .datastores = stores,
		 .ndatastores = 1},
		{.name = (char *)"pinned",
		 .url = (char *)"https://10.0.0.9:8007",
		 .tls = {.fingerprint = fp}},
	};
	struct config cfg = {.pbs = pbs, .npbs = 2};
	const char *json =
		"{\"data\":["
		"{\"storage\":\"local\",\"type\":\"dir\",\"content\":\"backup\"},"
		"{\"storage\":\"pbs-main\",\"type\":\"pbs\",\"server\":\"pbs.lan\",\"datastore\":\"store1\"},"
		"{\"storage\":\"pbs-siteb\",\"type\":\"pbs\",\"server\":\"pbs.lan\",\"datastore\":\"store1\","
		"\"namespace\":\"site-b\"},"
		"{\"storage\":\"pbs-other\",\"type\":\"pbs\",\"server\":\"pbs.lan\",\"datastore\":"
		"\"offsite\"},"
		"{\"storage\":\"pbs-port\",\"type\":\"pbs\",\"server\":\"pbs.lan\",\"port\":8443,"
		"\"datastore\":\"store1\"},"
		"{\"storage\":\"pbs-name\",\"type\":\"pbs\",\"server\":\"backup.example\",\"datastore\":"
		"\"x\","
		"\"fingerprint\":\"6b:1f:0a:33:54:c2:9e:1d:87:45:b0:2f:61:d8:3c:9a:70:e4:15:b6:29:cf:88:03:"
		"5d:a1:7e:44:c9:12:0b:c4\"},"
		"{\"storage\":\"broken\",\"type\":\"pbs\",\"server\":\"pbs.lan\"}"
		"]}";
	cJSON *doc = cJSON_Parse(json);
	struct matches m = {"", 0};

	ck_assert_ptr_nonnull(doc);
	ck_assert_uint_eq(pve_pbs_match_each(cJSON_GetObjectItem(doc, "data"), &cfg, collect_match, &m), 3);
	ck_assert_str_eq(m.text, "pbs-main=pbs1/store1/;pbs-siteb=pbs1/store1/site-b;pbs-name=pinned/x/;");
	cJSON_Delete(doc);
}
END_TEST

static Suite *pbs_suite(void)
{
	Suite *s = suite_create("pbs");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_scenario_golden);
	tcase_add_test(tc, test_datastores_space_and_estimates);
	tcase_add_test(tc, test_gc_status);
	tcase_add_test(tc, test_groups_from_snapshots);
	tcase_add_test(tc, test_jobs);
	tcase_add_test(tc, test_task_failures);
	tcase_add_test(tc, test_task_list_unfiltered);
	tcase_add_test(tc, test_gc_array_rejected);
	tcase_add_test(tc, test_version_sync_direction);
	tcase_add_test(tc, test_version_rejects);
	tcase_add_test(tc, test_bad_bodies_change_nothing);
	tcase_add_test(tc, test_truncated_listing_adds_nothing);
	tcase_add_test(tc, test_snapshot_items_wrong_types);
	tcase_add_test(tc, test_group_only_unfinished);
	tcase_add_test(tc, test_large_listing);
	tcase_add_test(tc, test_group_cap);
	tcase_add_test(tc, test_usage_estimates_in_the_past_or_flat);
	tcase_add_test(tc, test_job_states);
	tcase_add_test(tc, test_gc_never_ran_and_running);
	tcase_add_test(tc, test_namespaces_sorted_unique);
	tcase_add_test(tc, test_selection);
	tcase_add_test(tc, test_hostile_names);
	tcase_add_test(tc, test_same_server);
	tcase_add_test(tc, test_pve_storage_matching);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(pbs_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
