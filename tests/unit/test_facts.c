/* test_facts.c - the facts store: set, get, shadowing, prefix walks. */
#include "collectutil.h"

static void count_cb(void *ctx, const char *key, double v, const char *str)
{
	(void)str;
	double *sum = ctx;
	if (strncmp(key, "guest/", 6) == 0)
		*sum += v;
}

START_TEST(test_facts)
{
	struct tu_upstream u;
	static const struct collector *const table[] = {NULL};
	struct scrape_state *st = new_state(&u, table);
	struct config *cfg = tu_config_new();
	struct scrape *s = scrape_new(st, cfg, 5, NULL, 0);
	facts_set(scrape_facts(s), "pve", "home", "guest/100/last_backup", 10, NULL);
	facts_set(scrape_facts(s), "pve", "home", "guest/105/last_backup", 20, "x");
	facts_set(scrape_facts(s), "pve", "shop", "guest/100/last_backup", 1000, NULL);
	facts_set(scrape_facts(s), "pve", "home", "other", 5, NULL);
	double v = 0, sum = 0;
	const char *str = NULL;
	ck_assert_int_eq(facts_get(scrape_facts(s), "pve", "home", "guest/105/last_backup", &v, &str), 1);
	ck_assert_double_eq(v, 20);
	ck_assert_str_eq(str, "x");
	ck_assert_int_eq(facts_get(scrape_facts(s), "pve", "home", "guest/999/last_backup", &v, NULL), 0);
	facts_each(scrape_facts(s), "pve", "home", "guest/", count_cb, &sum);
	ck_assert_double_eq(sum, 30);
	scrape_free(s);
	config_unref(cfg);
	scrape_state_free(st);
}
END_TEST

/* Enough facts to fill several blocks: each one found again, the newest of a repeated id wins, order kept. */
struct fact_walk {
	long n, last, sorted;
};

static void walk_order(void *ctx, const char *key, double v, const char *str)
{
	struct fact_walk *w = ctx;
	(void)key;
	(void)str;
	if ((long)v <= w->last)
		w->sorted = 0;
	w->last = (long)v;
	w->n++;
}

START_TEST(test_many_facts_across_blocks)
{
	struct facts *f = facts_new();
	char key[64], name[64];
	double v;
	const char *str;

	ck_assert_ptr_nonnull(f);
	for (long i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "guest/%ld/name", 1000 + i);
		snprintf(name, sizeof(name), "guest-%ld", 1000 + i);
		facts_set(f, "pve", "bench", key, (double)i, name);
	}
	facts_set(f, "pve", "bench", "guest/1500/name", -1, "renamed"); /* a later fact shadows the first */
	for (long i = 0; i < 20000; i += 997) {
		snprintf(key, sizeof(key), "guest/%ld/name", 1000 + i);
		snprintf(name, sizeof(name), "guest-%ld", 1000 + i);
		ck_assert_int_eq(facts_get(f, "pve", "bench", key, &v, &str), 1);
		ck_assert_str_eq(str, i == 500 ? "renamed" : name);
	}
	ck_assert_int_eq(facts_get(f, "pve", "bench", "guest/1500/name", &v, &str), 1);
	ck_assert_double_eq(v, -1);
	ck_assert_int_eq(facts_get(f, "pve", "other", "guest/1000/name", &v, NULL), 0);
	ck_assert_int_eq(facts_get(f, "pv", "bench", "guest/1000/name", &v, NULL), 0);
	struct fact_walk w = {0, -1, 1};
	facts_each(f, "pve", "bench", "guest/1", walk_order, &w);
	ck_assert_int_eq(w.n, 1000 + 10000 + 1); /* 1000..1999, 10000..19999, and the shadowing 1500 */
	ck_assert_int_eq(w.sorted, 0); /* insertion order: the shadowing fact (-1) comes last */
	ck_assert_int_eq(w.last, -1);
	facts_free(f);
}
END_TEST

static int freed;
static void count_free(void *p)
{
	freed += p != NULL;
}

START_TEST(test_attachments_freed_with_the_facts)
{
	struct facts *f = facts_new();
	static int a, b;

	freed = 0;
	facts_attach(f, "inventory", &a, count_free);
	facts_attach(f, "inventory", &b, count_free);
	ck_assert_ptr_eq(facts_attached(f, "inventory"), &b); /* the newest */
	ck_assert_ptr_null(facts_attached(f, "none"));
	facts_free(f);
	ck_assert_int_eq(freed, 2);
	facts_free(NULL);
}
END_TEST

static Suite *facts_suite(void)
{
	Suite *s = suite_create("facts");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_facts);
	tcase_add_test(tc, test_many_facts_across_blocks);
	tcase_add_test(tc, test_attachments_freed_with_the_facts);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(facts_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
