/* mount_scan.c - a dump folder's entries as facts: archives per guest, leftover partial files (pure). */
#include "mount_scan.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct expfmt_desc d_arch_ts = {"persistence_mount_archive_last_timestamp_seconds", EXPFMT_GAUGE,
					     "Start time of the newest vzdump archive of the guest in "
					     "dump_dir (from its file name and time zone)."};
static const struct expfmt_desc d_arch_size = {"persistence_mount_archive_last_size_bytes", EXPFMT_GAUGE,
					       "Size of the newest vzdump archive of the guest in dump_dir."};
static const struct expfmt_desc d_archives = {"persistence_mount_archives", EXPFMT_GAUGE,
					      "Number of vzdump archives of the guest in dump_dir."};
static const struct expfmt_desc d_log_ok = {
	"persistence_mount_archive_last_log_ok", EXPFMT_GAUGE,
	"1 when the vzdump log beside the guest's newest archive in dump_dir shows the backup finished "
	"and has no ERROR: line, 0 otherwise; absent when there is no log."};
static const struct expfmt_desc d_partial = {
	"persistence_mount_partial_files", EXPFMT_GAUGE,
	"Leftover partial vzdump files in dump_dir (*.dat files, *.tmp folders) older than one day."};

void mount_scan_init(struct mount_scan *s, double now)
{
	memset(s, 0, sizeof(*s));
	s->now = now;
}

void mount_scan_free(struct mount_scan *s)
{
	free(s->groups);
	s->groups = NULL;
	s->ngroups = s->capgroups = 0;
}

/* Binary search for (vmid, guest); returns the insertion index and sets *found. */
static size_t mount_group_find(const struct mount_scan *s, long vmid, enum archive_guest g, int *found)
{
	size_t lo = 0, hi = s->ngroups;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct mount_group *m = &s->groups[mid];
		if (m->vmid < vmid || (m->vmid == vmid && m->guest < g))
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < s->ngroups && s->groups[lo].vmid == vmid && s->groups[lo].guest == g;
	return lo;
}

/* Counts one archive; size < 0 means "not stat'ed yet" and keeps the name for mount_scan_unsized(). */
static void mount_group_add(struct mount_scan *s, const struct archive_name *n, const char *name, double size)
{
	int found;
	size_t i = mount_group_find(s, n->vmid, n->guest, &found);
	if (!found) {
		if (s->ngroups == s->capgroups) {
			size_t cap = s->capgroups ? s->capgroups * 2 : 32;
			struct mount_group *g = realloc(s->groups, cap * sizeof(*g));
			if (!g) {
				s->nomem = 1;
				return;
			}
			s->groups = g;
			s->capgroups = cap;
		}
		memmove(&s->groups[i + 1], &s->groups[i], (s->ngroups - i) * sizeof(*s->groups));
		s->groups[i] = (struct mount_group){n->vmid, n->guest, 0, -1, n->t, -1, "", -1, ""};
		s->ngroups++;
	}
	struct mount_group *m = &s->groups[i];
	int64_t key = archive_time_key(&n->t);
	m->count++;
	if (key > m->newest_key) {
		m->newest_key = key;
		m->newest = n->t;
		m->newest_size = size;
		snprintf(m->newest_name, sizeof(m->newest_name), "%s",
			 strlen(name) < MOUNT_NAME_MAX ? name : "");
	}
}

static int mount_has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);
	return n > s && strcmp(name + n - s, suffix) == 0;
}

/*
 * An archive the directory already reports as a regular file is counted
 * by its name alone (its time is in the name); only the newest archive of
 * each guest is stat'ed later, for its size. On NFS every stat is a round
 * trip: 100,000 archives must not cost 100,000 of them. Partial-file
 * candidates are few and need their mtime.
 */
enum mount_need mount_scan_entry(struct mount_scan *s, const char *name, unsigned char d_type)
{
	struct archive_name vz;
	int archive;

	if (name[0] == '.' || s->nomem)
		return MOUNT_DONE;
	archive = archive_name_parse(name, &vz) == PE_OK;
	if (!archive)
		return mount_has_suffix(name, ".dat") || mount_has_suffix(name, ".tmp") ? MOUNT_STAT
											: MOUNT_DONE;
	if (d_type == DT_REG && strlen(name) < MOUNT_NAME_MAX) {
		mount_group_add(s, &vz, name, -1);
		return MOUNT_DONE;
	}
	if (d_type != DT_REG && d_type != DT_UNKNOWN && d_type != DT_LNK)
		return MOUNT_DONE; /* a folder or device named like an archive */
	return MOUNT_STAT;
}

void mount_scan_stat(struct mount_scan *s, const char *name, int is_reg, int is_dir, double size,
		     double mtime)
{
	struct archive_name vz;
	int archive = archive_name_parse(name, &vz) == PE_OK;
	int dat = !archive && mount_has_suffix(name, ".dat");
	int tmp = !archive && !dat && mount_has_suffix(name, ".tmp");

	if (archive && is_reg)
		mount_group_add(s, &vz, name, size);
	else if (((dat && is_reg) || (tmp && is_dir)) && mtime < s->now - MOUNT_PARTIAL_AGE)
		s->partial++;
}

const char *mount_scan_unsized(const struct mount_scan *s, size_t i)
{
	const struct mount_group *g = &s->groups[i];

	return g->newest_size < 0 && g->newest_name[0] ? g->newest_name : NULL;
}

const char *mount_scan_newest_name(const struct mount_scan *s, size_t i)
{
	return s->groups[i].newest_name[0] ? s->groups[i].newest_name : NULL;
}

void mount_scan_log(struct mount_scan *s, size_t i, const char *bytes, size_t n, int partial)
{
	struct mount_group *g = &s->groups[i];
	struct vzdump_log_result r;

	g->log = (signed char)vzdump_log_parse(bytes, n, partial, g->vmid, &r);
	memcpy(g->log_error, r.first_error, sizeof(g->log_error));
}

size_t mount_scan_vmid(const struct mount_scan *s, const int64_t *ts, size_t i, size_t *best)
{
	size_t k = i;

	*best = i;
	for (; k < s->ngroups && s->groups[k].vmid == s->groups[i].vmid; k++)
		if (ts[k] > ts[*best])
			*best = k;
	return k;
}

/* Per guest, the log verdict of its newest archive (of either guest type). */
static void mount_emit_logs(const struct mount_scan *s, const char *name, const int64_t *ts,
			    struct expfmt *out)
{
	char vmid[24];

	for (size_t i = 0, best, next; i < s->ngroups; i = next) {
		next = mount_scan_vmid(s, ts, i, &best);
		if (s->groups[best].log < 0)
			continue;
		snprintf(vmid, sizeof(vmid), "%ld", s->groups[best].vmid);
		expfmt_add(out, &d_log_ok, s->groups[best].log == VZDUMP_LOG_OK, "source", name, "vmid", vmid,
			   NULL);
	}
}

enum perr mount_scan_emit(const struct mount_scan *s, const char *name, const char *zone, struct expfmt *out,
			  int64_t *ts, char *msg, size_t msglen)
{
	char vmid[24];
	struct archive_time *t = calloc(s->ngroups + 1, sizeof(*t));
	enum perr e;

	if (!t)
		return PE_NOMEM;
	for (size_t i = 0; i < s->ngroups; i++)
		t[i] = s->groups[i].newest;
	e = archive_times_to_unix(zone, t, s->ngroups, ts, msg, msglen);
	free(t);
	if (e != PE_OK)
		return e;
	for (size_t i = 0; i < s->ngroups; i++) {
		const struct mount_group *g = &s->groups[i];
		const char *gt = archive_guest_str(g->guest);
		snprintf(vmid, sizeof(vmid), "%ld", g->vmid);
		expfmt_add(out, &d_arch_ts, (double)ts[i], "source", name, "vmid", vmid, "guest_type", gt,
			   NULL);
		if (g->newest_size >= 0) /* a newest archive removed mid-scan has no size to report */
			expfmt_add(out, &d_arch_size, g->newest_size, "source", name, "vmid", vmid,
				   "guest_type", gt, NULL);
		expfmt_add(out, &d_archives, (double)g->count, "source", name, "vmid", vmid, "guest_type", gt,
			   NULL);
	}
	mount_emit_logs(s, name, ts, out);
	expfmt_add(out, &d_partial, (double)s->partial, "source", name, NULL);
	return PE_OK;
}
