/* test_probe.c - the hang-safe probe pool: deadlines, one job per key, bounded threads, free while hung. */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "probe.h"

/* A gate that hung jobs wait on until the test opens it. */
struct gate {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	int open;
	int entered; /* jobs that started */
	int returned; /* jobs whose fn returned */
	int freed; /* jobs freed through job_free */
};

struct job {
	struct gate *g;
	int block; /* wait for the gate */
	int ran;
};

static void gate_init(struct gate *g)
{
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cond, NULL);
	g->open = g->entered = g->returned = g->freed = 0;
}

static void gate_destroy(struct gate *g)
{
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->mu);
}

static void gate_release(struct gate *g)
{
	pthread_mutex_lock(&g->mu);
	g->open = 1;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->mu);
}

static int gate_get(struct gate *g, const int *field)
{
	pthread_mutex_lock(&g->mu);
	int v = *field;
	pthread_mutex_unlock(&g->mu);
	return v;
}

/* Polls until *field reaches want (at most ~10 s: a generous bound, not a timing assertion). */
static int gate_wait_for(struct gate *g, const int *field, int want)
{
	for (int i = 0; i < 1000; i++) {
		if (gate_get(g, field) >= want)
			return 1;
		usleep(10000);
	}
	return 0;
}

static void job_fn(void *arg)
{
	struct job *j = arg;
	pthread_mutex_lock(&j->g->mu);
	j->g->entered++;
	while (j->block && !j->g->open)
		pthread_cond_wait(&j->g->cond, &j->g->mu);
	j->ran = 1;
	j->g->returned++;
	pthread_mutex_unlock(&j->g->mu);
}

static void job_free(void *arg)
{
	struct job *j = arg;
	pthread_mutex_lock(&j->g->mu);
	j->g->freed++;
	pthread_mutex_unlock(&j->g->mu);
	free(j);
}

static struct job *job_new(struct gate *g, int block)
{
	struct job *j = calloc(1, sizeof(*j));
	ck_assert_ptr_nonnull(j);
	j->g = g;
	j->block = block;
	return j;
}

START_TEST(test_fast_job_ok)
{
	struct gate g;
	gate_init(&g);
	struct probe_pool *p = probe_pool_new();
	ck_assert_ptr_nonnull(p);
	struct job *j = job_new(&g, 0);
	ck_assert_int_eq(probe_run(p, "mount:a", job_fn, j, job_free, 5.0), PE_OK);
	ck_assert_int_eq(j->ran, 1);
	ck_assert_int_eq(g.freed, 0); /* PE_OK: the caller owns the job again */
	free(j);
	/* the same key reuses its worker */
	j = job_new(&g, 0);
	ck_assert_int_eq(probe_run(p, "mount:a", job_fn, j, job_free, 5.0), PE_OK);
	free(j);
	ck_assert_uint_eq(probe_pool_threads(p), 1);
	j = job_new(&g, 0);
	ck_assert_int_eq(probe_run(p, "mount:b", job_fn, j, job_free, 5.0), PE_OK);
	free(j);
	ck_assert_uint_eq(probe_pool_threads(p), 2);
	probe_pool_free(p);
	gate_destroy(&g);
}
END_TEST

START_TEST(test_hung_job_times_out_and_recovers)
{
	struct gate g;
	gate_init(&g);
	struct probe_pool *p = probe_pool_new();
	struct job *j = job_new(&g, 1);
	ck_assert_int_eq(probe_run(p, "mount:nfs", job_fn, j, job_free, 0.2), PE_TIMEOUT);
	ck_assert_int_eq(gate_get(&g, &g.entered), 1);
	ck_assert_uint_eq(probe_pool_threads(p), 1);

	/* while it hangs, new submissions fail at once and never start a job or a thread */
	for (int i = 0; i < 20; i++) {
		struct job *k = job_new(&g, 0);
		ck_assert_int_eq(probe_run(p, "mount:nfs", job_fn, k, job_free, 30.0), PE_TIMEOUT);
	}
	ck_assert_int_eq(gate_get(&g, &g.entered), 1);
	ck_assert_int_eq(gate_get(&g, &g.freed), 20); /* refused jobs are freed by the pool */
	ck_assert_uint_eq(probe_pool_threads(p), 1);

	/* another key is not affected */
	struct job *o = job_new(&g, 0);
	ck_assert_int_eq(probe_run(p, "mount:other", job_fn, o, job_free, 5.0), PE_OK);
	free(o);

	/* release: the hung job returns and is freed by the pool, the key works again */
	gate_release(&g);
	ck_assert(gate_wait_for(&g, &g.freed, 21));
	struct job *r = job_new(&g, 0);
	ck_assert_int_eq(probe_run(p, "mount:nfs", job_fn, r, job_free, 5.0), PE_OK);
	ck_assert_int_eq(r->ran, 1);
	free(r);
	ck_assert_uint_eq(probe_pool_threads(p), 2);
	probe_pool_free(p);
	gate_destroy(&g);
}
END_TEST

START_TEST(test_free_with_hung_worker)
{
	struct gate g;
	gate_init(&g);
	struct probe_pool *p = probe_pool_new();
	struct job *j = job_new(&g, 1);
	ck_assert_int_eq(probe_run(p, "mount:dead", job_fn, j, job_free, 0.1), PE_TIMEOUT);
	struct job *k = job_new(&g, 0);
	ck_assert_int_eq(probe_run(p, "mount:live", job_fn, k, job_free, 5.0), PE_OK);
	free(k);
	probe_pool_free(p); /* must not wait for the hung job */
	ck_assert_int_eq(gate_get(&g, &g.returned), 1);
	/* the hung job returns after the pool is gone: the worker frees it and itself */
	gate_release(&g);
	ck_assert(gate_wait_for(&g, &g.freed, 1));
	ck_assert(gate_wait_for(&g, &g.returned, 2));
	usleep(50000); /* let the detached worker finish exiting before the gate goes */
	gate_destroy(&g);
}
END_TEST

START_TEST(test_bad_args)
{
	struct gate g;
	gate_init(&g);
	struct job *j = job_new(&g, 0);
	ck_assert_int_eq(probe_run(NULL, "k", job_fn, j, job_free, 1.0), PE_INVAL);
	ck_assert_int_eq(g.freed, 1);
	ck_assert_uint_eq(probe_pool_threads(NULL), 0);
	probe_pool_free(NULL);
	gate_destroy(&g);
}
END_TEST

/* Two callers on one key: the second waits for the first's timely job instead of failing. */
struct caller {
	struct probe_pool *p;
	struct gate *g;
	int block;
	enum perr rc;
};

static void *caller_main(void *arg)
{
	struct caller *c = arg;
	struct job *j = job_new(c->g, c->block);
	c->rc = probe_run(c->p, "mount:shared", job_fn, j, job_free, 30.0);
	if (c->rc == PE_OK)
		free(j);
	return NULL;
}

START_TEST(test_concurrent_callers_share_worker)
{
	struct gate g;
	gate_init(&g);
	struct probe_pool *p = probe_pool_new();
	struct caller first = {p, &g, 1, PE_INTERNAL}, second = {p, &g, 0, PE_INTERNAL};
	pthread_t t1, t2;
	ck_assert_int_eq(pthread_create(&t1, NULL, caller_main, &first), 0);
	ck_assert(gate_wait_for(&g, &g.entered, 1));
	ck_assert_int_eq(pthread_create(&t2, NULL, caller_main, &second), 0);
	usleep(100000); /* let the second caller queue up behind the first job */
	ck_assert_int_eq(gate_get(&g, &g.entered), 1); /* one job in flight per key */
	gate_release(&g);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	ck_assert_int_eq(first.rc, PE_OK);
	ck_assert_int_eq(second.rc, PE_OK);
	ck_assert_int_eq(g.entered, 2);
	ck_assert_uint_eq(probe_pool_threads(p), 1);
	probe_pool_free(p);
	gate_destroy(&g);
}
END_TEST

static Suite *probe_suite(void)
{
	Suite *s = suite_create("probe");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_fast_job_ok);
	tcase_add_test(tc, test_hung_job_times_out_and_recovers);
	tcase_add_test(tc, test_free_with_hung_worker);
	tcase_add_test(tc, test_bad_args);
	tcase_add_test(tc, test_concurrent_callers_share_worker);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(probe_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
