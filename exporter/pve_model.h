/* pve_model.h - one PVE collection as facts: what the answers say together (archives, coverage, last runs), pure. */
#ifndef PE_PVE_MODEL_H
#define PE_PVE_MODEL_H

#include <stddef.h>
#include "err.h"
#include "expfmt.h"
#include "pve_parse.h"

/* What one node told (each part only when its request worked). */
struct pve_node_facts {
	int has_tasks;
	struct pve_tasks tasks;
	int sched; /* pve_service_running(), -1 unknown */
	int has_storages;
	struct pve_storages storages;
};

/* A guest's archives over every listed storage. */
struct pve_guest_stats {
	long count;
	double last_ctime; /* 0: none */
	double last_size; /* -1: unknown */
	struct pve_restore_guest restore; /* per storage and verification (pve_restore.h) */
};

/* One enabled, scheduled job on one node where it selects guests. */
struct pve_jobnode {
	size_t job, node; /* indexes into jobs and nodes */
	double last_run; /* 0: no evidence */
	double next_due; /* 0: unknown */
};

/*
 * Filled step by step by the collector (pure functions over parsed
 * answers; `now` passed in), then turned into samples by pve_emit().
 * Owns everything in it; pve_model_free() releases it.
 */
struct pve_model {
	struct pve_nodes nodes;
	struct pve_node_facts *nf; /* one per node */
	struct pve_guests guests;
	struct pve_guest_stats *gs; /* one per guest */
	int has_jobs; /* /cluster/backup was readable */
	struct pve_jobs jobs;
	struct pve_jobnode *jn;
	size_t njn;
	int incomplete; /* some backup storage could not be listed: no archive counts */
	int hidden; /* tasks visible but no archive at all: the token cannot see archives */
	size_t nlisted, nfailed, narchives, ntasks; /* listings that worked / failed for good */
};

void pve_model_init(struct pve_model *m);
void pve_model_free(struct pve_model *m);
/* Once nodes, guests and jobs are in: room for the per-node and per-guest parts. PE_NOMEM. */
enum perr pve_model_start(struct pve_model *m) PE_WUR;
/* A listing that worked: its archives count for their guests. */
/*
 * sid: the listed storage (borrowed; the model's storage lists outlive it).
 * PE_NOMEM when the per-storage part could not grow (the counts are in).
 */
enum perr pve_model_add_listing(struct pve_model *m, const struct pve_listing *l, const char *sid) PE_WUR;
/* After the listings: 1 when archives are hidden from the token (counts are then dropped). */
int pve_model_check_hidden(struct pve_model *m);
/*
 * The job-nodes to judge (enabled jobs with a schedule, on online nodes
 * whose task list was read, selecting at least one guest there), each
 * with its last run from the node's scheduler tasks when there is one.
 */
enum perr pve_model_jobnodes(struct pve_model *m) PE_WUR;
/*
 * For a job-node without a scheduler task (after the listings): the
 * newest archive of its guests there becomes the last run; returns the
 * start its next slot is counted from (that run, else `now` - 7 days cut
 * to the hour, so the calendar request can be cached).
 */
double pve_model_pending_start(struct pve_model *m, struct pve_jobnode *jn, double now);

/* Every PVE sample of the collection for source src (pve_metrics.c). PE_NOMEM. */
enum perr pve_emit(const struct pve_model *m, const char *src, struct expfmt *o) PE_WUR;

#endif
