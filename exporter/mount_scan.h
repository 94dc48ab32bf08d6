/* mount_scan.h - a dump folder's entries as facts: archives per guest, leftover partial files (pure). */
#ifndef PE_MOUNT_SCAN_H
#define PE_MOUNT_SCAN_H

#include <stddef.h>
#include <stdint.h>
#include "archive_name.h"
#include "vzdump_log.h"
#include "err.h"
#include "expfmt.h"

#define MOUNT_PARTIAL_AGE 86400.0 /* a *.dat / *.tmp older than this is a leftover */
#define MOUNT_NAME_MAX 96 /* vzdump names are about 45 bytes; longer ones are stat'ed at once */

/* The archives of one guest. */
struct mount_group {
	long vmid;
	enum archive_guest guest;
	long count;
	int64_t newest_key; /* archive_time_key() of the newest archive */
	struct archive_time newest;
	double newest_size; /* -1 until the newest archive is stat'ed */
	char newest_name[MOUNT_NAME_MAX]; /* the newest archive's name; "" when too long to keep */
	signed char log; /* its vzdump log: enum vzdump_log_verdict; -1 when none was read */
	char log_error[sizeof(((struct vzdump_log_result *)0)->first_error)]; /* the first ERROR: text */
};

/*
 * What a scan learned. The caller (who reads the folder) hands over each
 * entry's name and d_type; only where a name is not enough does it stat
 * the entry and hand over what stat said. No I/O here: `now` is passed in,
 * so the same entries always give the same facts.
 */
struct mount_scan {
	double now;
	struct mount_group *groups; /* sorted by vmid, guest */
	size_t ngroups, capgroups;
	long partial; /* leftover *.dat files and *.tmp folders */
	int nomem;
};

void mount_scan_init(struct mount_scan *s, double now);
void mount_scan_free(struct mount_scan *s);

/* What an entry needs after its name and type were seen. */
enum mount_need {
	MOUNT_DONE = 0, /* counted by its name, or not an archive or partial file */
	MOUNT_STAT /* stat it (without following links) and call mount_scan_stat() */
};
/* d_type as readdir reports it (DT_UNKNOWN when the file system does not say). */
enum mount_need mount_scan_entry(struct mount_scan *s, const char *name, unsigned char d_type);
/* The stat of an entry that needed one; a vanished entry is simply not reported. */
void mount_scan_stat(struct mount_scan *s, const char *name, int is_reg, int is_dir, double size,
		     double mtime);
/*
 * The newest archive of group i when its size is still unknown (its name),
 * else NULL: the caller stats it and sets newest_size (a vanished one keeps -1).
 */
const char *mount_scan_unsized(const struct mount_scan *s, size_t i);

/* The name of group i's newest archive, or NULL when it was too long to keep (its log is not read). */
const char *mount_scan_newest_name(const struct mount_scan *s, size_t i);
/*
 * The vzdump log beside group i's newest archive, as read: its last n bytes
 * (at most VZDUMP_LOG_TAIL; partial: they start inside the file). Judged
 * by vzdump_log_parse() for the group's vmid.
 */
void mount_scan_log(struct mount_scan *s, size_t i, const char *bytes, size_t n, int partial);
/*
 * The groups of the vmid of group i (a vmid may have a qemu and an lxc
 * group): returns the index after them; *best is the one whose newest
 * archive is newest (ts as from mount_scan_emit()).
 */
size_t mount_scan_vmid(const struct mount_scan *s, const int64_t *ts, size_t i, size_t *best);

/*
 * The archive samples and per-guest newest times of a finished scan for
 * mount source `name`: times are converted in `zone` (NULL: local).
 * ts gets one Unix time per group (the caller makes room for ngroups).
 * PE_INVAL with msg when the zone is unknown.
 */
enum perr mount_scan_emit(const struct mount_scan *s, const char *name, const char *zone, struct expfmt *out,
			  int64_t *ts, char *msg, size_t msglen) PE_WUR;

#endif
