/* probe.h - hang-safe workers for file system probes (a dead NFS server never blocks a scrape). */
#ifndef PE_PROBE_H
#define PE_PROBE_H

#include <stddef.h>
#include "err.h"

/*
 * A pool of per-key workers. A job touching a possibly-dead mount runs on
 * the key's worker thread; the caller waits at most `timeout`. At most one
 * job per key is ever in flight: while a job is still running (hung in D
 * state, perhaps forever) a new submission for the same key returns
 * PE_TIMEOUT at once without starting anything, so the number of threads
 * is bounded by the number of keys.
 */
struct probe_pool;

struct probe_pool *probe_pool_new(void);
/* Stops idle workers; hung ones are detached and clean up if they ever return. Takes NULL. */
void probe_pool_free(struct probe_pool *p);

typedef void (*probe_fn)(void *job);

/*
 * Runs fn(job) on key's worker and waits up to timeout seconds.
 * PE_OK: done in time; the caller owns job again.
 * PE_TIMEOUT: not done (or the previous job for key still runs); the pool
 * owns job and calls job_free(job) when fn returns, if ever.
 */
enum perr probe_run(struct probe_pool *p, const char *key, probe_fn fn, void *job,
		    void (*job_free)(void *job), double timeout) PE_WUR;

/* Threads currently alive in the pool (for tests and the bench). */
size_t probe_pool_threads(struct probe_pool *p);

#endif
