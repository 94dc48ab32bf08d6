/* pvesched.c - pvescheduler health from procfs, the cgroup and /var/lib/pve-manager/jobs. */
#include "pvesched.h"
#include "log.h"

#include <cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PVESCHED_COMM "pvescheduler"
#define PVESCHED_MAX_PROCS 4096 /* pvescheduler processes followed; a real node has 1-3 */
#define PVESCHED_MAX_JOBS 1024
#define PVESCHED_JOB_MAX_BYTES (256 * 1024)

/* One pvescheduler process seen in the scan. */
struct sched_proc {
	long pid;
	long ppid;
	unsigned long long starttime;
};

/* Reads up to cap-1 bytes of a small file, NUL-terminated; its length, or -1. */
static ssize_t read_small(const char *path, char *out, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	size_t len = 0;
	if (fd < 0)
		return -1;
	while (len + 1 < cap) {
		ssize_t r = read(fd, out + len, cap - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r < 0)
				len = (size_t)-1;
			break;
		}
		len += (size_t)r;
	}
	close(fd);
	if (len == (size_t)-1)
		return -1;
	out[len] = '\0';
	return (ssize_t)len;
}

static int parse_long(const char *s, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	while (*end == '\n' || *end == ' ')
		end++;
	if (errno || end == s || *end || v <= 0)
		return -1;
	*out = v;
	return 0;
}

/* Parses the n digits at tok; -1 when not all digits or too large. */
static int tok_ull(const char *tok, size_t n, unsigned long long *out)
{
	unsigned long long v = 0;
	if (n == 0 || n > 19)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)tok[i]))
			return -1;
		v = v * 10 + (unsigned long long)(tok[i] - '0');
	}
	*out = v;
	return 0;
}

/* Fields 3 (state), 4 (ppid) and 22 (starttime) of the text after comm's ')'. */
static enum perr stat_fields(const char *p, struct pvesched_stat *out)
{
	unsigned long long v;
	int field = 2;
	while (field < 22) {
		while (*p == ' ')
			p++;
		if (!*p || *p == '\n')
			return PE_PARSE;
		const char *tok = p;
		while (*p && *p != ' ' && *p != '\n')
			p++;
		size_t n = (size_t)(p - tok);
		field++;
		if (field == 3 && n != 1)
			return PE_PARSE;
		if (field == 3)
			out->state = tok[0];
		if ((field == 4 || field == 22) && tok_ull(tok, n, &v) < 0)
			return PE_PARSE;
		if (field == 4 && v > LONG_MAX)
			return PE_PARSE;
		if (field == 4)
			out->ppid = (long)v;
		if (field == 22)
			out->starttime = v;
	}
	return PE_OK;
}

enum perr pvesched_parse_stat(const char *text, struct pvesched_stat *out)
{
	const char *open_p = strchr(text, '(');
	const char *close_p = strrchr(text, ')');
	if (!open_p || !close_p || close_p < open_p || (size_t)(close_p - open_p - 1) >= sizeof(out->comm))
		return PE_PARSE;
	memcpy(out->comm, open_p + 1, (size_t)(close_p - open_p - 1));
	out->comm[close_p - open_p - 1] = '\0';
	return stat_fields(close_p + 1, out);
}

int pvesched_find_value(const char *text, const char *key, double *out)
{
	size_t klen = strlen(key);
	for (const char *line = text; line && *line;
	     line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		if (strncmp(line, key, klen) != 0 || (line[klen] != ' ' && line[klen] != '\t'))
			continue;
		char *end;
		errno = 0;
		unsigned long long v = strtoull(line + klen, &end, 10);
		if (errno || end == line + klen)
			return -1;
		while (*end == ' ' || *end == '\t')
			end++;
		if (strncmp(end, "kB", 2) == 0)
			end += 2, *out = (double)v * 1024.0;
		else
			*out = (double)v;
		return (*end == '\n' || *end == '\0') ? 0 : -1;
	}
	return -1;
}

/* Start time (hex field 5) of "UPID:node:pid:pstart:starttime:type:id:user:"; -1 when malformed. */
static int upid_starttime(const char *upid, double *out)
{
	const char *p = upid;
	if (strncmp(p, "UPID:", 5) != 0)
		return -1;
	for (int i = 0; i < 4; i++) {
		p = strchr(p, ':');
		if (!p)
			return -1;
		p++;
	}
	const char *end = strchr(p, ':');
	if (!end || end == p || end - p > 16)
		return -1;
	unsigned long long v = 0;
	for (; p < end; p++) {
		if (!isxdigit((unsigned char)*p))
			return -1;
		v = v * 16 +
		    (unsigned long long)(isdigit((unsigned char)*p) ? *p - '0' : (tolower(*p) - 'a' + 10));
	}
	*out = (double)v;
	return 0;
}

static enum perr job_rule(const cJSON *doc, double *out, char *msg, size_t msglen)
{
	const cJSON *updated = cJSON_GetObjectItemCaseSensitive(doc, "updated");
	const cJSON *upid = cJSON_GetObjectItemCaseSensitive(doc, "upid");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(doc, "time");
	if (updated && !cJSON_IsNull(updated)) {
		if (!cJSON_IsNumber(updated) || updated->valuedouble <= 0)
			goto bad;
		*out = updated->valuedouble;
		return PE_OK;
	}
	if (upid && !cJSON_IsNull(upid)) {
		if (!cJSON_IsString(upid) || upid_starttime(upid->valuestring, out) < 0 || *out <= 0)
			goto bad;
		return PE_OK;
	}
	if (cJSON_IsNumber(t) && t->valuedouble > 0) {
		*out = t->valuedouble;
		return PE_OK;
	}
bad:
	snprintf(msg, msglen, "no usable updated, upid or time");
	return PE_PARSE;
}

enum perr pvesched_job_last_run(const char *json, size_t len, double *out, char *msg, size_t msglen)
{
	cJSON *doc = cJSON_ParseWithLength(json, len);
	enum perr e;
	if (!cJSON_IsObject(doc)) {
		snprintf(msg, msglen, "not a JSON object");
		e = PE_PARSE;
		goto out;
	}
	e = job_rule(doc, out, msg, msglen);
out:
	cJSON_Delete(doc);
	return e;
}

/* Appends every pvescheduler process under procfs to *procs (grown with realloc). */
static enum perr scan_procs(const char *procfs, struct sched_proc **procs, size_t *n)
{
	DIR *d = opendir(procfs);
	struct dirent *de;
	char path[512], line[1024];
	size_t cap = 0;
	if (!d)
		return PE_IO;
	while ((de = readdir(d)) != NULL && *n < PVESCHED_MAX_PROCS) {
		struct pvesched_stat st;
		long pid;
		if (!isdigit((unsigned char)de->d_name[0]) || parse_long(de->d_name, &pid) < 0)
			continue;
		snprintf(path, sizeof(path), "%s/%ld/stat", procfs, pid);
		if (read_small(path, line, sizeof(line)) < 0 || pvesched_parse_stat(line, &st) != PE_OK ||
		    strcmp(st.comm, PVESCHED_COMM) != 0)
			continue; /* gone meanwhile, or not ours */
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			struct sched_proc *np = realloc(*procs, cap * sizeof(**procs));
			if (!np) {
				closedir(d);
				return PE_NOMEM;
			}
			*procs = np;
		}
		(*procs)[(*n)++] = (struct sched_proc){pid, st.ppid, st.starttime};
	}
	closedir(d);
	return PE_OK;
}

static const struct sched_proc *find_proc(const struct sched_proc *procs, size_t n, long pid)
{
	for (size_t i = 0; i < n; i++)
		if (procs[i].pid == pid)
			return &procs[i];
	return NULL;
}

/* The main process: the pidfile's when it is a live pvescheduler, else the oldest one without a pvescheduler parent. */
static const struct sched_proc *find_main(const struct config_paths *paths, const struct sched_proc *procs,
					  size_t n)
{
	char path[512], text[64];
	long pid;
	const struct sched_proc *best = NULL;
	snprintf(path, sizeof(path), "%s/pvescheduler.pid", paths->rundir);
	if (read_small(path, text, sizeof(text)) >= 0) {
		best = parse_long(text, &pid) == 0 ? find_proc(procs, n, pid) : NULL;
		if (best && !find_proc(procs, n, best->ppid))
			return best; /* a live pvescheduler that is not some pvescheduler's child */
		best = NULL;
		log_debug("pvescheduler pidfile is stale; scanning", "pidfile", path);
	}
	for (size_t i = 0; i < n; i++)
		if (!find_proc(procs, n, procs[i].ppid) && (!best || procs[i].starttime < best->starttime))
			best = &procs[i];
	return best;
}

/* Boot time from <procfs>/stat; -1 when unknown. */
static int read_btime(const char *procfs, double *out)
{
	char path[512], text[16384];
	snprintf(path, sizeof(path), "%s/stat", procfs);
	if (read_small(path, text, sizeof(text)) < 0)
		return -1;
	const char *line = strstr(text, "\nbtime ");
	if (!line)
		return -1;
	return pvesched_find_value(line + 1, "btime", out);
}

/*
 * VmRSS of the main process. The status must name a pvescheduler, and
 * stat read again afterwards must still show the same process (same
 * start time): a pid reused in between is never reported.
 */
static void read_rss(const char *procfs, const struct sched_proc *m, struct pvesched_info *out)
{
	char path[512], text[8192];
	struct pvesched_stat again;
	double rss;
	snprintf(path, sizeof(path), "%s/%ld/status", procfs, m->pid);
	if (read_small(path, text, sizeof(text)) < 0 ||
	    strncmp(text, "Name:\t" PVESCHED_COMM "\n", 19) != 0 ||
	    pvesched_find_value(text, "VmRSS:", &rss) < 0) {
		log_debug("pvescheduler status unreadable or malformed", "path", path);
		return;
	}
	snprintf(path, sizeof(path), "%s/%ld/stat", procfs, m->pid);
	if (read_small(path, text, sizeof(text)) < 0 || pvesched_parse_stat(text, &again) != PE_OK ||
	    strcmp(again.comm, PVESCHED_COMM) != 0 || again.starttime != m->starttime) {
		log_debug("pvescheduler main process changed while being read", "path", path);
		return;
	}
	out->has_rss = 1;
	out->rss_bytes = rss;
}

/* Start time and the age of the oldest child (pvescheduler processes whose parent is the main one). */
static void read_times(const char *procfs, double now, const struct sched_proc *procs, size_t n,
		       const struct sched_proc *m, struct pvesched_info *out)
{
	const struct sched_proc *oldest = NULL;
	double btime, hz = (double)sysconf(_SC_CLK_TCK);
	for (size_t i = 0; i < n; i++) {
		if (procs[i].ppid != m->pid)
			continue;
		out->nchildren++;
		if (!oldest || procs[i].starttime < oldest->starttime)
			oldest = &procs[i];
	}
	if (!oldest) {
		out->has_child_age = 1; /* no child is known: 0 */
		out->oldest_child_age = 0;
	}
	if (hz <= 0 || read_btime(procfs, &btime) < 0) {
		log_debug("boot time unknown: no start time or child age", "procfs", procfs);
		return;
	}
	out->has_start = 1;
	out->start_time = btime + (double)m->starttime / hz;
	if (oldest) {
		double age = now - (btime + (double)oldest->starttime / hz);
		out->has_child_age = 1;
		out->oldest_child_age = age > 0 ? age : 0;
	}
}

static void read_anon(const char *sysfs, struct pvesched_info *out)
{
	char path[512], text[16384];
	snprintf(path, sizeof(path), "%s/fs/cgroup/system.slice/pvescheduler.service/memory.stat", sysfs);
	if (read_small(path, text, sizeof(text)) < 0 ||
	    pvesched_find_value(text, "anon", &out->anon_bytes) < 0) {
		log_debug("pvescheduler cgroup memory.stat unreadable (cgroup v1?)", "path", path);
		return;
	}
	out->has_anon = 1;
}

enum perr pvesched_read(const struct config_paths *paths, double now, struct pvesched_info *out)
{
	struct sched_proc *procs = NULL;
	size_t n = 0;
	enum perr e;
	memset(out, 0, sizeof(*out));
	e = scan_procs(paths->procfs, &procs, &n);
	if (e)
		goto out;
	const struct sched_proc *m = find_main(paths, procs, n);
	if (m) {
		out->process_up = 1;
		out->pid = m->pid;
		read_rss(paths->procfs, m, out);
		read_times(paths->procfs, now, procs, n, m, out);
	}
	read_anon(paths->sysfs, out);
out:
	free(procs);
	return e;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Job ids of <pvelib>/jobs/vzdump-<id>.json, sorted; *names and each entry are the caller's to free. */
static size_t list_jobs(const char *dir, char ***names)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;
	*names = NULL;
	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL && n < PVESCHED_MAX_JOBS) {
		size_t len = strlen(de->d_name);
		if (strncmp(de->d_name, "vzdump-", 7) != 0 || len <= 12 ||
		    strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		char **nn = realloc(*names, (n + 1) * sizeof(*nn));
		if (!nn)
			break;
		*names = nn;
		if (((*names)[n] = strndup(de->d_name + 7, len - 12)) != NULL)
			n++;
	}
	closedir(d);
	if (n > 1)
		qsort(*names, n, sizeof(**names), cmp_str);
	return n;
}

void pvesched_jobs_each(const struct config_paths *paths,
			void (*cb)(void *ctx, const char *job, double last_run), void *ctx)
{
	char dir[512], path[1024], msg[128];
	char **names = NULL;
	char *text = malloc(PVESCHED_JOB_MAX_BYTES);
	snprintf(dir, sizeof(dir), "%s/jobs", paths->pvelib);
	size_t n = text ? list_jobs(dir, &names) : 0;
	for (size_t i = 0; i < n; i++) {
		double last;
		ssize_t len;
		snprintf(path, sizeof(path), "%s/vzdump-%s.json", dir, names[i]);
		len = read_small(path, text, PVESCHED_JOB_MAX_BYTES);
		if (len < 0)
			log_debug("job state file vanished", "path", path);
		else if (pvesched_job_last_run(text, (size_t)len, &last, msg, sizeof(msg)) != PE_OK)
			log_warn("job state file malformed", "path", path, "err", msg);
		else
			cb(ctx, names[i], last);
		free(names[i]);
	}
	free(names);
	free(text);
}
