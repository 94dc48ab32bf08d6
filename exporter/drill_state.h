/* drill_state.h - the restore-drill state file: one JSON line per drill, appended; newest per target read back. */
#ifndef PE_DRILL_STATE_H
#define PE_DRILL_STATE_H

#include <stddef.h>
#include "buf.h"
#include "err.h"

#define DRILL_STATE_READ_MAX (4u << 20) /* bytes read from the end of the file */
#define DRILL_STATE_LINE_MAX 8192 /* a longer line is not a record */

/* One drill's outcome: a line of the state file. */
struct drill_record {
	char target[128];
	char kind[8]; /* "pve", "file", "n8n" */
	char archive[384]; /* volid or path of what was restored; "" when none was found */
	double started; /* unix time */
	double finished; /* unix time */
	double restore_seconds; /* < 0: not measured (the drill ended before the restore did) */
	double boot_seconds; /* < 0: no boot (no --boot, or the drill ended before) */
	int ok; /* 1: the restore (and boot) was proven */
	char reason[384]; /* "" when ok: why it failed, one line */
};

/* The newest record of one target, and its newest successful one. */
struct drill_entry {
	int has_last;
	struct drill_record last;
	int has_ok;
	struct drill_record last_ok;
};

/* What the parser skipped; the caller logs it. */
struct drill_parse_stats {
	size_t records; /* lines that were records (of any target) */
	size_t bad; /* complete lines that were not records */
	long first_bad; /* 1-based line number (within the bytes read) of the first bad line; 0 none */
	int torn; /* 1: the last line had no newline (a crash mid-write): ignored */
};

/* What the restore_test collector read, attached to the scrape for the status page. */
#define DRILL_ATTACHMENT "restore_tests"
struct drill_report {
	size_t n; /* the config's targets, in order */
	struct drill_entry *e;
	int unreadable; /* 1: the state file could not be read (the entries are empty) */
};
void drill_report_free(void *report); /* takes NULL */

/*
 * One line for people about e at now, as the status page and
 * `persistencectl status` show it: "restore tested 6d ago, 14 min",
 * "restore test failed 2d ago: <reason>", "never restore-tested"; with
 * "; overdue (every 30d)" when max_age (0: none) has passed since the
 * last success, and "; slower than the RTO of 2h" when its duration is
 * over rto (0: none). *bad is set to 1 when any of that is a problem.
 */
void drill_state_summary(const struct drill_entry *e, double now, double max_age, double rto, char *out,
			 size_t n, int *bad);
/* The duration of a successful drill: restore plus boot (a missing boot counts 0). */
double drill_record_duration(const struct drill_record *r);

/* One record as a JSON line with its trailing newline. */
enum perr drill_state_format(const struct drill_record *r, struct buf *out) PE_WUR;

/*
 * Pure: reads the records in data[0..len) into out[i] for targets[i]
 * (ntargets entries, zeroed first), keeping each target's newest record
 * and newest successful record by finished time (a tie goes to the later
 * line). Records of other targets are skipped. head_partial: data starts
 * mid-file, so its first line is dropped. A last line without a newline
 * is torn (ignored); a line that is not a record counts as bad. Never
 * fails on content: PE_OK, or PE_NOMEM.
 */
enum perr drill_state_parse(const char *data, size_t len, int head_partial, const char *const *targets,
			    size_t ntargets, struct drill_entry *out, struct drill_parse_stats *stats) PE_WUR;

/*
 * Reads at most max bytes from the end of path into out (reset first).
 * *head_partial is 1 when the file was longer (the read starts mid-file).
 * PE_NOTFOUND when the file does not exist (no drill ran yet); PE_IO or
 * PE_DENIED with msg set otherwise.
 */
enum perr drill_state_read(const char *path, size_t max, struct buf *out, int *head_partial, char *msg,
			   size_t msglen) PE_WUR;

/*
 * Appends r as one line: O_APPEND under an exclusive flock, a newline first
 * when a crash left the last line torn, then fsync (and the directory's
 * fsync when the file was created). Safe for concurrent drills. msg says
 * why on failure.
 */
enum perr drill_state_append(const char *path, const struct drill_record *r, char *msg, size_t msglen) PE_WUR;

#endif
