/* pve.h - pure helpers over PVE API JSON: loose typing, coverage, task status, UPIDs. */
#ifndef PE_PVE_H
#define PE_PVE_H

#include <stddef.h>
#include "err.h"

struct cJSON;

/*
 * PVE's Perl JSON is loosely typed. These getters accept every spelling
 * seen in the field. All arguments are borrowed; a NULL object is fine.
 *
 * pve_json_bool: 0/1 (any number: non-zero is 1), true/false, "0"/"1",
 * "true"/"false", "yes"/"no", "on"/"off"; dflt when the key is missing,
 * null or unrecognised.
 */
int pve_json_bool(const struct cJSON *o, const char *key, int dflt);
/* A finite number or a fully numeric string: 1 and *v; else 0 (*v untouched). */
int pve_json_num(const struct cJSON *o, const char *key, double *v);
/* A string member, or NULL (missing, null or another type). */
const char *pve_json_str(const struct cJSON *o, const char *key);

/* The payload of a PVE answer: doc.data, or doc itself when it is a bare array (pvesh). */
const struct cJSON *pve_data(const struct cJSON *doc);

/* 1 when id is in a PVE id list ("100,101 102;103"), 0 otherwise. */
int pve_list_has(const char *list, long id);

/*
 * Backup-job coverage with PVE's own selection rules
 * (PVE::VZDump::get_included_guests): pool members, else the vmid list,
 * else all minus exclude; a job with `node` only selects guests currently
 * on that node. job is an item of /cluster/backup, guest an item of
 * /cluster/resources?type=vm.
 */
int pve_job_enabled(const struct cJSON *job); /* a missing `enabled` is enabled */
int pve_job_selects(const struct cJSON *job, const struct cJSON *guest); /* enabled or not */
/* 1 when an enabled job of jobs (an array) selects guest. */
int pve_guest_covered(const struct cJSON *jobs, const struct cJSON *guest);

/* A task's outcome from its `status` text. */
enum pve_task_result {
	PVE_TASK_RUNNING = 0, /* no status yet (or "RUNNING") */
	PVE_TASK_OK, /* "OK" */
	PVE_TASK_WARNINGS, /* "WARNINGS: n": the backup succeeded */
	PVE_TASK_FAILED /* "job errors", "unexpected status", any error text */
};
enum pve_task_result pve_task_status_classify(const char *status);
/* Classifies a task list item: running when status or endtime is missing. */
enum pve_task_result pve_task_classify(const struct cJSON *task);
int pve_task_success(enum pve_task_result r); /* OK or WARNINGS */
/* 1 when a task's exitstatus means it succeeded: "OK" or "WARNINGS: n" (NULL: 0). */
int pve_exitstatus_ok(const char *exitstatus);

/* UPID:<node>:<pid>:<pstart>:<starttime>:<type>:<id>:<user[!token]>: */
struct pve_upid {
	char node[64];
	unsigned long pid;
	unsigned long pstart;
	long long starttime;
	char type[32];
	char id[64]; /* vmid of a single-guest vzdump, "" for several */
	char user[128]; /* user@realm, with !tokenid for a token */
};
/* Parses s; PE_PARSE with msg set when it is not a UPID. */
enum perr pve_upid_parse(const char *s, struct pve_upid *u, char *msg, size_t msglen) PE_WUR;

/*
 * 1 when a vzdump task list item was started by pvescheduler: it runs jobs
 * as root@pam, never through a token. Uses user/tokenid, else the UPID.
 */
int pve_task_by_scheduler(const struct cJSON *task);

/*
 * One item of storage content?content=backup: 1 and its vmid, ctime and
 * size when it is a usable backup volume (size -1 when absent), else 0.
 */
int pve_archive_parse(const struct cJSON *item, long *vmid, double *ctime, double *size);

/* services/pvescheduler/state: 1 active and running, 0 not, -1 unknown (fields missing). */
int pve_service_running(const struct cJSON *state);

#endif
