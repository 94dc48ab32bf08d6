/* pvesched.h - reads pvescheduler health from a PVE node's procfs, cgroup and job state files. */
#ifndef PE_PVESCHED_H
#define PE_PVESCHED_H

#include <stddef.h>
#include "config.h"
#include "err.h"

/* The fields of /proc/<pid>/stat this module needs. */
struct pvesched_stat {
	char comm[64];
	char state;
	long ppid;
	unsigned long long starttime; /* clock ticks after boot (field 22) */
};

/*
 * Parses one /proc/<pid>/stat line. comm may hold spaces and ')' : it
 * runs from the first '(' to the LAST ')'. PE_PARSE on anything short or
 * malformed.
 */
enum perr pvesched_parse_stat(const char *text, struct pvesched_stat *out) PE_WUR;
/* The value of a "Key: N kB" (status) or "key N" (memory.stat) line, in bytes when unit is kB; -1 if absent. */
int pvesched_find_value(const char *text, const char *key, double *out);
/*
 * PVE's last-run rule for one job state file: `updated` if set, else the
 * start time inside `upid` (hex field 5), else `time`. PE_PARSE with msg
 * when the JSON is malformed or holds none of them.
 */
enum perr pvesched_job_last_run(const char *json, size_t len, double *out, char *msg, size_t msglen) PE_WUR;

/* What the node says about its scheduler; a has_* flag of 0 means unknown (not zero). */
struct pvesched_info {
	int process_up; /* the main pvescheduler process was found */
	long pid;
	int has_rss;
	double rss_bytes;
	int has_start;
	double start_time; /* unix time */
	int has_child_age;
	double oldest_child_age; /* seconds; 0 when no child */
	size_t nchildren;
	int has_anon;
	double anon_bytes;
};

/*
 * Finds the main pvescheduler (pidfile when it names a live pvescheduler,
 * else the one whose parent is not a pvescheduler) and reads its memory,
 * start time, children and cgroup. now: unix time for ages. PE_IO only
 * when procfs cannot be listed; partial failures leave has_* at 0 and
 * are logged.
 */
enum perr pvesched_read(const struct config_paths *paths, double now, struct pvesched_info *out) PE_WUR;

/* Calls cb for each readable vzdump job state file, in job-id order. Malformed files are logged and skipped. */
void pvesched_jobs_each(const struct config_paths *paths,
			void (*cb)(void *ctx, const char *job, double last_run), void *ctx);

#endif
