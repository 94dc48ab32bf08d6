/* vzdump.h - persistencectl vzdump: the governed backup trigger, a dry run unless --execute. */
#ifndef PE_VZDUMP_H
#define PE_VZDUMP_H

#include <stddef.h>
#include <stdio.h>
#include "buf.h"
#include "err.h"

struct cJSON;

/* Exit codes of the command (SPEC §3). */
enum {
	VZDUMP_EXIT_OK = 0, /* dry run printed, or executed (and with --wait the task ended OK) */
	VZDUMP_EXIT_FAILED = 1, /* refused, an API call failed, nothing started, or the task failed */
	VZDUMP_EXIT_USAGE = 2 /* bad flags, bad config, unknown source/guest, no storage */
};

/* Command-line options; strings are borrowed from argv. */
struct vzdump_opts {
	const char *config_file;
	const char *source;
	long vmid;
	const char *storage; /* NULL: the storage of an enabled job that covers the guest */
	int restart_scheduler;
	int execute;
	int wait;
	double poll_interval; /* seconds between task polls; 1 by default */
};

/* 1 when s is a PVE id (storage, node): [A-Za-z0-9._-], at most 100 bytes; anything else never reaches a path. */
int vzdump_safe_id(const char *s);
/* Copies src (NULL: "") into dst of n bytes, cut to fit. */
void vzdump_copy(char *dst, size_t n, const char *src);

/* Parses argv[first..argc). PE_INVAL with msg set on a bad, repeated or missing option. */
enum perr vzdump_parse_args(int argc, char **argv, int first, struct vzdump_opts *o, char *msg,
			    size_t msglen) PE_WUR;

/* What the lookups found; filled step by step by vzdump_run. */
struct vzdump_facts {
	long vmid;
	char guest_type[8]; /* "qemu" | "lxc" */
	char node[64];
	char name[128]; /* "" when PVE has no RRD data for the guest */
	char lock[32]; /* "" when not locked */
	char storage[128];
	char storage_type[32]; /* plugin type from the node's storage list, "" unknown */
	char job[128]; /* an enabled job covering the guest, "" none */
	char job_storage[128]; /* that job's storage, "" none */
	char job_tmpdir[256]; /* that job's tmpdir option, "" none */
	int jobs_read; /* 1: /cluster/backup was readable */
	int repeat_missed; /* of that job: 0/1, -1 no job */
	long narchives; /* archives of the guest on the storage; -1 not listed */
	double newest; /* ctime of the newest one; 0 none */
};

/* The item for vmid in /cluster/resources?type=vm data, or NULL. */
const struct cJSON *vzdump_find_guest(const struct cJSON *vms, long vmid);

/*
 * The job to take the storage from: the first enabled job of jobs that
 * selects guest (PVE's rules: pool, vmid list, all + exclude, node) and
 * names a storage; else the first enabled one that selects it; NULL when
 * no enabled job selects the guest.
 */
const struct cJSON *vzdump_pick_job(const struct cJSON *jobs, const struct cJSON *guest);

/* Fills f's job fields from job (NULL: none) and, without --storage, f->storage. */
void vzdump_facts_from_job(struct vzdump_facts *f, const struct cJSON *job);

/* Counts the guest's archives in a content listing and keeps the newest ctime. */
void vzdump_facts_from_content(struct vzdump_facts *f, const struct cJSON *items);

/* The form body of the vzdump POST: "vmid=105&storage=x". Never tmpdir (root@pam only). */
void vzdump_form(const struct vzdump_facts *f, struct buf *out);

/* "4d 2h", "3h 12m", "5m 3s", "42s"; negative ages (clock skew) print as "0s". */
void vzdump_format_age(double secs, char *out, size_t n);

/*
 * The part of the report after the lookups: the mutations it would make
 * (or makes), in order, and the notes (LXC tmpdir, repeat-missed, missing
 * action token). action_token_id NULL: none configured.
 */
void vzdump_render_plan(const struct vzdump_opts *o, const struct vzdump_facts *f,
			const char *action_token_id, struct buf *out);

/* The whole command; the report goes to out, errors to err. Returns an exit code. */
int vzdump_run(const struct vzdump_opts *o, FILE *out, FILE *err);

#endif
