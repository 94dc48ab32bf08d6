/* probe.c - per-key worker threads that run possibly-hanging file system jobs under a deadline. */
#include "probe.h"
#include "clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * One worker per key. The worker struct is shared by the pool, the
 * worker's thread and a caller waiting in probe_run(), so it is reference
 * counted and carries its own mutex: when the pool is freed while a job
 * hangs, the thread keeps the worker alive and frees it when (if ever)
 * the job returns. The thread never touches the pool.
 */
struct probe_worker {
	pthread_mutex_t mu;
	pthread_cond_t cond; /* CLOCK_MONOTONIC; signals both job start and job end */
	pthread_t thread;
	int refs; /* under mu */
	int quit; /* pool is gone: exit when idle */
	int busy; /* a job was handed over and has not returned yet */
	int abandoned; /* the caller gave up: the worker frees the job */
	unsigned long submitted, finished; /* job generations */
	probe_fn fn;
	void *job;
	void (*job_free)(void *job);
	char *key;
};

struct probe_pool {
	pthread_mutex_t mu;
	struct probe_worker **workers;
	size_t n, cap;
};

static void worker_unref_locked(struct probe_worker *w)
{
	int last = --w->refs == 0;
	pthread_mutex_unlock(&w->mu);
	if (!last)
		return;
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->mu);
	free(w->key);
	free(w);
}

/* Runs one job outside the lock; frees it when its caller has gone. */
static void worker_run_one(struct probe_worker *w)
{
	probe_fn fn = w->fn;
	void *job = w->job;
	pthread_mutex_unlock(&w->mu);
	fn(job);
	pthread_mutex_lock(&w->mu);
	void (*job_free)(void *) = w->abandoned ? w->job_free : NULL;
	w->finished = w->submitted;
	w->busy = 0;
	w->abandoned = 0;
	w->job = NULL;
	pthread_cond_broadcast(&w->cond);
	if (job_free) {
		pthread_mutex_unlock(&w->mu);
		job_free(job);
		pthread_mutex_lock(&w->mu);
	}
}

static void *worker_main(void *arg)
{
	struct probe_worker *w = arg;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->quit && w->finished == w->submitted)
			pthread_cond_wait(&w->cond, &w->mu);
		if (w->finished != w->submitted) {
			worker_run_one(w);
			continue;
		}
		break; /* quit and idle */
	}
	worker_unref_locked(w);
	return NULL;
}

static struct probe_worker *worker_new(const char *key)
{
	struct probe_worker *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->key = strdup(key);
	if (!w->key || pthread_mutex_init(&w->mu, NULL) != 0)
		goto fail;
	clock_cond_init(&w->cond);
	w->refs = 2; /* the pool and the thread */
	if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->mu);
		goto fail;
	}
	return w;
fail:
	free(w->key);
	free(w);
	return NULL;
}

struct probe_pool *probe_pool_new(void)
{
	struct probe_pool *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	if (pthread_mutex_init(&p->mu, NULL) != 0) {
		free(p);
		return NULL;
	}
	return p;
}

/*
 * Idle workers are told to quit and joined; a worker whose job hangs is
 * detached and frees itself (and the job) when the job returns.
 */
void probe_pool_free(struct probe_pool *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		struct probe_worker *w = p->workers[i];
		pthread_t t = w->thread;
		pthread_mutex_lock(&w->mu);
		int busy = w->busy;
		w->quit = 1;
		pthread_cond_broadcast(&w->cond);
		worker_unref_locked(w);
		if (busy)
			pthread_detach(t);
		else
			pthread_join(t, NULL);
	}
	free(p->workers);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

/* The worker for key, created on first use, with a reference for the caller. */
static struct probe_worker *pool_get_worker(struct probe_pool *p, const char *key)
{
	struct probe_worker *w = NULL;
	pthread_mutex_lock(&p->mu);
	for (size_t i = 0; i < p->n && !w; i++)
		if (strcmp(p->workers[i]->key, key) == 0)
			w = p->workers[i];
	if (!w && p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8;
		struct probe_worker **nw = realloc(p->workers, cap * sizeof(*nw));
		if (!nw)
			goto out;
		p->workers = nw;
		p->cap = cap;
	}
	if (!w && (w = worker_new(key)) != NULL)
		p->workers[p->n++] = w;
	if (w) {
		pthread_mutex_lock(&w->mu);
		w->refs++;
		pthread_mutex_unlock(&w->mu);
	}
out:
	pthread_mutex_unlock(&p->mu);
	return w;
}

static struct timespec deadline_after(double timeout)
{
	if (timeout < 0)
		timeout = 0;
	if (timeout > 86400.0 * 365)
		timeout = 86400.0 * 365;
	return clock_abs(clock_mono() + timeout);
}

/*
 * Waits (w->mu held) while another caller's job runs and that caller
 * still waits for it; 0 when the worker is free. A job whose caller gave
 * up counts as hung: no waiting then, the answer is "busy" at once.
 */
static int worker_wait_free(struct probe_worker *w, const struct timespec *until)
{
	while (w->busy && !w->abandoned)
		if (pthread_cond_timedwait(&w->cond, &w->mu, until) == ETIMEDOUT)
			break;
	return w->busy;
}

enum perr probe_run(struct probe_pool *p, const char *key, probe_fn fn, void *job,
		    void (*job_free)(void *job), double timeout)
{
	struct probe_worker *w = (p && key && fn) ? pool_get_worker(p, key) : NULL;
	if (!w) {
		if (job_free)
			job_free(job);
		return (p && key && fn) ? PE_NOMEM : PE_INVAL;
	}
	struct timespec until = deadline_after(timeout);
	enum perr rc = PE_OK;
	pthread_mutex_lock(&w->mu);
	if (worker_wait_free(w, &until)) { /* the previous job still runs: start nothing */
		worker_unref_locked(w);
		if (job_free)
			job_free(job);
		return PE_TIMEOUT;
	}
	w->fn = fn;
	w->job = job;
	w->job_free = job_free;
	w->busy = 1;
	unsigned long gen = ++w->submitted;
	pthread_cond_broadcast(&w->cond);
	while (w->finished < gen) {
		if (pthread_cond_timedwait(&w->cond, &w->mu, &until) == ETIMEDOUT && w->finished < gen) {
			w->abandoned = 1; /* the worker owns job now */
			rc = PE_TIMEOUT;
			break;
		}
	}
	worker_unref_locked(w);
	return rc;
}

size_t probe_pool_threads(struct probe_pool *p)
{
	if (!p)
		return 0;
	pthread_mutex_lock(&p->mu);
	size_t n = p->n;
	pthread_mutex_unlock(&p->mu);
	return n;
}
