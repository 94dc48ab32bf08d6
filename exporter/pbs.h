/* pbs.h - Proxmox Backup Server answers as facts: pure parsers (bytes in, facts out) and their samples. */
#ifndef PE_PBS_H
#define PE_PBS_H

#include <stddef.h>
#include "err.h"

struct expfmt;

/*
 * Everything here is pure: no I/O, no threads, no clock (`now` is passed
 * in where an answer is judged against the present). Each parser takes
 * one answer body (`{"data": ...}`, not NUL-terminated) and fills its
 * part of the facts; on PE_PARSE (msg says why) it has changed nothing,
 * on PE_NOMEM it may have added part. Strings in the facts are owned by
 * them; pbs_facts_free() releases everything.
 */

/* Outcome of a job's or the GC's last run, from `last-run-state` / `last-run-upid`. */
enum pbs_run {
	PBS_RUN_NONE = 0, /* never ran (no upid, no state) */
	PBS_RUN_RUNNING, /* a run is in progress: PBS forgets the previous result meanwhile */
	PBS_RUN_OK, /* "OK" or "WARNINGS: n" */
	PBS_RUN_FAILED /* an error message or "unknown" */
};

/* A backup group of one namespace: what its finished snapshots say. */
struct pbs_group {
	const char *ns; /* the store's namespace string (borrowed from struct pbs_store) */
	char type[8]; /* vm, ct or host */
	char *id;
	long snapshots; /* finished snapshots (they have a size) */
	double last_backup; /* backup-time of the newest finished snapshot; 0: none */
	double last_size; /* its size in bytes */
	int last_state; /* verify state of that snapshot: 1 ok, -1 failed, 0 not verified */
	double last_verified; /* backup-time of the newest snapshot whose verify state is ok; 0: none */
	long verify_failed; /* snapshots whose verify state is failed */
};

struct pbs_gc {
	int known; /* the GC answer was read */
	char *schedule; /* NULL: no schedule */
	enum pbs_run state;
	double last_end; /* 0: absent (never ran, or running) */
	double next_run; /* first slot after the last run's end (PBS); 0: absent */
	double pending_bytes, removed_bad, still_bad; /* -1: absent */
};

struct pbs_store {
	char *name;
	int listed; /* in /admin/datastore */
	int up; /* its status answered */
	double total, used, avail;
	double estimated_full; /* PBS's estimate when it lies after now; 0: none */
	struct pbs_gc gc;
	char **ns; /* namespaces whose snapshots were read */
	size_t nns;
	struct pbs_group *groups;
	size_t ngroups, capgroups;
	long skipped; /* snapshot items that were not usable (wrong types) */
};

enum pbs_job_type { PBS_JOB_VERIFY = 0, PBS_JOB_PRUNE, PBS_JOB_SYNC, PBS_JOB__COUNT };

struct pbs_job {
	enum pbs_job_type type;
	char *id;
	char *store;
	char *schedule; /* NULL: none */
	int enabled; /* 0 only for a prune job with `disable: true` */
	enum pbs_run state;
	double last_end; /* 0: absent */
	double next_run; /* 0: absent (no schedule, disabled) */
};

struct pbs_task_failure {
	char *worker_type;
	double last; /* end time of the newest failed task of this type */
};

struct pbs_facts {
	int major, minor; /* from /version; 0.0 when unknown */
	struct pbs_store *stores; /* sorted by name once pbs_facts_sort() ran */
	size_t nstores, capstores;
	struct pbs_job *jobs;
	size_t njobs, capjobs;
	int jobs_known[PBS_JOB__COUNT]; /* that job list was read */
	struct pbs_task_failure *failures;
	size_t nfailures, capfailures;
	int failures_known; /* the failed-task list was read */
};

struct pbs_facts *pbs_facts_new(void);
void pbs_facts_free(struct pbs_facts *f); /* takes NULL */

/* The store named name; NULL when absent. pbs_store_add() adds it (listed 0) when absent. */
struct pbs_store *pbs_store_find(struct pbs_facts *f, const char *name);
struct pbs_store *pbs_store_add(struct pbs_facts *f, const char *name);

/* GET /version: {version: "MAJOR.MINOR", release, repoid}. */
enum perr pbs_parse_version(struct pbs_facts *f, const char *body, size_t len, char *msg,
			    size_t msglen) PE_WUR;
/* 1 when the server lists push sync jobs only with `sync-direction=all` (PBS 3.3 and later). */
int pbs_sync_direction_param(const struct pbs_facts *f);

/* GET /admin/datastore: adds each `store` (listed 1). */
enum perr pbs_parse_datastores(struct pbs_facts *f, const char *body, size_t len, char *msg,
			       size_t msglen) PE_WUR;

/* GET /admin/datastore/{store}/status: total, used, avail; sets s->up. */
enum perr pbs_parse_status(struct pbs_store *s, const char *body, size_t len, char *msg,
			   size_t msglen) PE_WUR;

/*
 * GET /status/datastore-usage: each known store's `estimated-full-date`,
 * kept only when it lies after now (PBS reports a flat or shrinking usage
 * as 0 or a past date, and has none with fewer than 7 points).
 */
enum perr pbs_parse_usage(struct pbs_facts *f, const char *body, size_t len, double now, char *msg,
			  size_t msglen) PE_WUR;

/* GET /admin/datastore/{store}/gc: the GC status with its schedule and last run. */
enum perr pbs_parse_gc(struct pbs_store *s, const char *body, size_t len, char *msg, size_t msglen) PE_WUR;

/* GET /admin/datastore/{store}/namespace: each `ns` ("" is the root) to *out (free with pbs_strv_free). */
enum perr pbs_parse_namespaces(const char *body, size_t len, char ***out, size_t *n, char *msg,
			       size_t msglen) PE_WUR;
void pbs_strv_free(char **v, size_t n);

/*
 * GET /admin/datastore/{store}/snapshots?ns=: streams the listing and
 * adds one group per backup-type/backup-id of namespace ns (copied into
 * s->ns). A snapshot without `size` is unfinished (a backup running now)
 * or unreadable: it counts nowhere. Items with wrong types are skipped
 * and counted in s->skipped.
 */
enum perr pbs_parse_snapshots(struct pbs_store *s, const char *ns, const char *body, size_t len, char *msg,
			      size_t msglen) PE_WUR;

/*
 * The same fold with the listing fed in pieces as it arrives, so the body
 * is never kept (the upstream cache keeps the listing instead): new, feed
 * every byte in order, end with the total (PE_PARSE and msg as for
 * pbs_parse_snapshots()), then pbs_store_add_listing() copies the groups
 * into a store; the listing stays read-only and may be shared.
 */
struct pbs_listing;
struct pbs_listing *pbs_listing_new(void); /* NULL when out of memory */
void pbs_listing_feed(struct pbs_listing *l, const char *data, size_t len);
enum perr pbs_listing_end(struct pbs_listing *l, size_t total, char *msg, size_t msglen) PE_WUR;
void pbs_listing_free(struct pbs_listing *l); /* takes NULL */
size_t pbs_listing_groups(const struct pbs_listing *l); /* groups of a listing that ended OK */
enum perr pbs_store_add_listing(struct pbs_store *s, const char *ns, const struct pbs_listing *l, char *msg,
				size_t msglen) PE_WUR;

/* GET /admin/verify, /admin/prune, /admin/sync: adds each job of that type. */
enum perr pbs_parse_jobs(struct pbs_facts *f, enum pbs_job_type type, const char *body, size_t len, char *msg,
			 size_t msglen) PE_WUR;
const char *pbs_job_type_str(enum pbs_job_type t); /* "verify", "prune", "sync" */

/* GET /nodes/localhost/tasks?statusfilter=error: newest end time per worker type. */
enum perr pbs_parse_tasks(struct pbs_facts *f, const char *body, size_t len, char *msg, size_t msglen) PE_WUR;

/* Keeps only the stores a configured list selects (empty: all) and the jobs of those stores. */
void pbs_facts_select(struct pbs_facts *f, char *const *stores, size_t n);

/* Sorts stores by name, each store's groups by namespace, type and id, jobs by type and id. */
void pbs_facts_sort(struct pbs_facts *f);

/*
 * 1 when name is selected by a configured list: an empty list selects
 * everything. For namespaces a listed namespace also selects everything
 * below it ("site-b" selects "site-b/web"; "" selects all).
 */
int pbs_store_selected(const char *name, char *const *list, size_t n);
int pbs_ns_selected(const char *ns, char *const *list, size_t n);

/*
 * Whether a PVE storage of type pbs points at the PBS a pbs: source reads.
 * url and url_fingerprint are the source's (url as configured, the port
 * filled in); server, port (0: PBS's 8007) and fingerprint are the
 * storage's from PVE's /storage (NULL when absent). 1 when both pin the
 * same certificate, or when the host names (case-insensitive; no DNS) and
 * ports are equal; 0 otherwise.
 */
int pbs_same_server(const char *url, const char *url_fingerprint, const char *server, long port,
		    const char *fingerprint);

/*
 * The samples of f for source: datastore, GC, job, task and group
 * families (docs/metrics.md). At most max_groups groups are emitted, in
 * sorted order; the return value is how many were left out.
 */
size_t pbs_emit(const struct pbs_facts *f, const char *source, size_t max_groups, struct expfmt *out);

#endif
