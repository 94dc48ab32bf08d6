/* vzdump_log.h - what a vzdump task log beside an archive says: finished, failed or unknown (pure). */
#ifndef PE_VZDUMP_LOG_H
#define PE_VZDUMP_LOG_H

#include <stddef.h>

/* How much of a log's end is read: the verdict lines are the last ones vzdump writes. */
#define VZDUMP_LOG_TAIL ((size_t)64 << 10)

enum vzdump_log_verdict {
	VZDUMP_LOG_UNKNOWN = 0, /* no "Finished Backup" line and no error: truncated, empty, foreign */
	VZDUMP_LOG_OK, /* "Finished Backup of VM <vmid> (...)" and no ERROR: line */
	VZDUMP_LOG_FAILED /* at least one ERROR: line */
};

struct vzdump_log_result {
	enum vzdump_log_verdict verdict;
	int finished; /* the "Finished Backup of VM <vmid>" line was seen */
	long errors; /* ERROR: lines */
	char first_error[128]; /* text after "ERROR: " of the first one, control bytes as '?'; "" if none */
};

/*
 * Judges the last bytes of a vzdump log (PVE::VZDump writes one line per
 * message: "YYYY-MM-DD HH:MM:SS LEVEL: text", LEVEL being INFO, WARN or
 * ERROR). partial: bytes start inside the file (the first, cut line is
 * skipped). vmid: the archive's guest; the finish line must name it (-1:
 * any). A line with "ERROR:" as its level counts as an error wherever it
 * is; an unterminated last line (a cut file) never counts as the finish.
 * Pure: no I/O, no allocation; bytes need not be NUL-terminated.
 */
enum vzdump_log_verdict vzdump_log_parse(const char *bytes, size_t n, int partial, long vmid,
					 struct vzdump_log_result *out);

const char *vzdump_log_verdict_str(enum vzdump_log_verdict v); /* "ok", "failed", "unknown" */

/*
 * The log's file name for an archive name: the archive's base name (up to
 * the first '.' after the time stamp) + ".log", as vzdump names it:
 * "vzdump-qemu-100-2024_08_18-22_00_02.vma.zst" -> "...-22_00_02.log".
 * 0 on success, -1 when the name has no extension or out is too small.
 */
int vzdump_log_name(const char *archive, char *out, size_t n);

#endif
