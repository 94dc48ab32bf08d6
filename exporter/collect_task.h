/* collect_task.h - the framework's side of struct collect: what one task runs with, and its cleanup. */
#ifndef PE_COLLECT_TASK_H
#define PE_COLLECT_TASK_H

#include "collect.h"
#include "facts.h"
#include "probe.h"
#include "ratelimit.h"
#include "upcache.h"

/* What the tasks of one scrape share; every pointer is borrowed and outlives the tasks. */
struct collect_env {
	struct facts *facts;
	struct upcache *cache;
	struct probe_pool *probes;
	struct ratelimit *limits;
	struct lastknown *memory;
	double now; /* unix time at the scrape's start */
	double start; /* monotonic time the scrape began: answers that came since are its own */
	double deadline; /* monotonic time the scrape must answer by */
};

/*
 * Prepares c for one task: a fresh output, no error, upstream waits that
 * give up at fetch_end (monotonic). cfg and source are borrowed. PE_NOMEM.
 */
enum perr collect_task_init(struct collect *c, const struct collect_env *env, const struct config *cfg,
			    size_t index, const char *source, double fetch_end) PE_WUR;
/* Ends what the task held: parsed documents and cached answers (large idle ones get packed). */
void collect_task_release(struct collect *c);
/* collect_task_release() and frees the output; c may then be initialised again. */
void collect_task_free(struct collect *c);

#endif
