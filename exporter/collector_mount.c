/* collector_mount.c - backup mounts: presence, hang-safe statvfs/write probe, vzdump archive scan. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "collector.h"
#include "log.h"
#include "mountinfo.h"
#include "probe.h"
#include "mount_scan.h"
#include "vzdump_log.h"

#define MOUNTINFO_MAX_BYTES (8u << 20)
#define MOUNT_PROBE_FILE ".persistence_exporter_probe"

static const struct expfmt_desc d_present = {"persistence_mount_present", EXPFMT_GAUGE,
					     "1 when the configured path is a mount point (from "
					     "/proc/self/mountinfo; the path itself is not touched)."};
static const struct expfmt_desc d_info = {
	"persistence_mount_info", EXPFMT_GAUGE,
	"The mount as the kernel reports it: type and device (mount source)."};
static const struct expfmt_desc d_responsive = {"persistence_mount_responsive", EXPFMT_GAUGE,
						"1 when the last probe (statvfs, write probe, dump scan) "
						"finished cleanly within the mount's timeout."};
static const struct expfmt_desc d_duration = {
	"persistence_mount_probe_duration_seconds", EXPFMT_GAUGE,
	"How long the last probe (statvfs, write probe, dump scan) took; absent when it timed out."};
static const struct expfmt_desc d_size = {"persistence_mount_size_bytes", EXPFMT_GAUGE,
					  "File system size (statvfs f_blocks * f_frsize)."};
static const struct expfmt_desc d_avail = {
	"persistence_mount_avail_bytes", EXPFMT_GAUGE,
	"Space available to unprivileged users (statvfs f_bavail * f_frsize)."};
static const struct expfmt_desc d_writable = {
	"persistence_mount_writable", EXPFMT_GAUGE,
	"1 when a small probe file could be created, written, synced and removed (write_probe: true)."};

/*
 * One probe: inputs copied from the config (the job may outlive the
 * scrape and the config when the mount hangs), outputs filled by the
 * worker. Freed by the collector, or by the pool after a timeout.
 */
struct mount_job {
	char *path;
	char *dump; /* absolute dump folder, NULL: no scan */
	int write_probe;
	/* results */
	int statvfs_errno; /* 0: ok */
	double size, avail;
	int write_errno; /* 0: writable */
	const char *write_step; /* which step failed */
	int scan_errno; /* 0: scanned */
	struct mount_scan scan; /* what the dump folder holds */
};

static void mount_job_free(void *arg)
{
	struct mount_job *j = arg;
	if (!j)
		return;
	free(j->path);
	free(j->dump);
	mount_scan_free(&j->scan);
	free(j);
}

/* Creates, writes, syncs and removes a dot-file; errno of the first failing step or 0. */
static void mount_write_probe(struct mount_job *j)
{
	char file[4352];
	static const char data[] = "persistence_exporter write probe\n";
	snprintf(file, sizeof(file), "%s/%s", j->path, MOUNT_PROBE_FILE);
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	j->write_step = "create";
	if (fd < 0) {
		j->write_errno = errno;
		return;
	}
	j->write_step = "write";
	if (write(fd, data, sizeof(data) - 1) != (ssize_t)(sizeof(data) - 1))
		j->write_errno = errno ? errno : EIO;
	if (!j->write_errno) {
		j->write_step = "fsync";
		if (fsync(fd) != 0)
			j->write_errno = errno;
	}
	if (close(fd) != 0 && !j->write_errno) {
		j->write_step = "close";
		j->write_errno = errno;
	}
	if (unlink(file) != 0 && !j->write_errno) {
		j->write_step = "unlink";
		j->write_errno = errno;
	}
}

/* Hands one entry to the scan, with its stat when the name is not enough. */
static void mount_scan_one(struct mount_job *j, int dfd, const char *name, unsigned char type)
{
	struct stat st;

	if (mount_scan_entry(&j->scan, name, type) != MOUNT_STAT)
		return;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return; /* removed while we looked: a rotation, not an error */
	mount_scan_stat(&j->scan, name, S_ISREG(st.st_mode), S_ISDIR(st.st_mode), (double)st.st_size,
			(double)st.st_mtime);
}

/* Stats the newest archive of each guest whose size is not known yet; a vanished one keeps -1. */
static void mount_scan_sizes(struct mount_job *j, int dfd)
{
	for (size_t i = 0; i < j->scan.ngroups; i++) {
		const char *name = mount_scan_unsized(&j->scan, i);
		struct stat st;
		if (name && fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
			j->scan.groups[i].newest_size = (double)st.st_size;
	}
}

/*
 * Reads the vzdump log beside each guest's newest archive: its last
 * VZDUMP_LOG_TAIL bytes (a log is a few KiB; the verdict is at its end),
 * one buffer for all. No log, or not a regular file: nothing is judged.
 */
static void mount_scan_logs(struct mount_job *j, int dfd)
{
	char *buf = malloc(VZDUMP_LOG_TAIL), logname[MOUNT_NAME_MAX];
	if (!buf)
		return; /* no verdicts: the log samples are absent, nothing wrong is claimed */
	for (size_t i = 0; i < j->scan.ngroups; i++) {
		const char *name = mount_scan_newest_name(&j->scan, i);
		struct stat st;
		int fd;
		if (!name || vzdump_log_name(name, logname, sizeof(logname)) != 0 ||
		    (fd = openat(dfd, logname, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY)) < 0)
			continue;
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
			off_t off =
				st.st_size > (off_t)VZDUMP_LOG_TAIL ? st.st_size - (off_t)VZDUMP_LOG_TAIL : 0;
			ssize_t got = pread(fd, buf, VZDUMP_LOG_TAIL, off);
			if (got >= 0)
				mount_scan_log(&j->scan, i, buf, (size_t)got, off > 0);
		}
		close(fd);
	}
	free(buf);
}

/* readdir, a stat only where the name is not enough, then one per guest; no sorting of the folder. */
static void mount_scan(struct mount_job *j)
{
	int dfd = open(j->dump, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		j->scan_errno = errno;
		return;
	}
	DIR *d = fdopendir(dfd);
	if (!d) {
		j->scan_errno = errno;
		close(dfd);
		return;
	}
	struct dirent *e;
	errno = 0;
	while ((e = readdir(d)) != NULL && !j->scan.nomem) {
		mount_scan_one(j, dfd, e->d_name, e->d_type);
		errno = 0;
	}
	if (errno)
		j->scan_errno = errno;
	if (j->scan.nomem) {
		j->scan_errno = ENOMEM;
	} else {
		mount_scan_sizes(j, dirfd(d));
		mount_scan_logs(j, dirfd(d));
	}
	closedir(d);
}

/* The worker side: everything that may block on a dead file server. */
static void mount_job_run(void *arg)
{
	struct mount_job *j = arg;
	struct statvfs sv;
	if (statvfs(j->path, &sv) != 0) {
		j->statvfs_errno = errno ? errno : EIO;
		return;
	}
	j->size = (double)sv.f_blocks * (double)sv.f_frsize;
	j->avail = (double)sv.f_bavail * (double)sv.f_frsize;
	if (j->write_probe)
		mount_write_probe(j);
	if (j->dump)
		mount_scan(j);
}

static struct mount_job *mount_job_new(const struct config_mount *m, double now)
{
	struct mount_job *j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->path = strdup(m->path);
	j->write_probe = m->write_probe;
	mount_scan_init(&j->scan, now);
	if (m->dump_dir && *m->dump_dir) {
		size_t n = strlen(m->path) + strlen(m->dump_dir) + 2;
		j->dump = malloc(n);
		if (j->dump)
			snprintf(j->dump, n, "%s/%s", m->path, m->dump_dir);
	}
	if (!j->path || (m->dump_dir && *m->dump_dir && !j->dump)) {
		mount_job_free(j);
		return NULL;
	}
	return j;
}

/* Reads the whole mountinfo file (procfs never hangs on a dead NFS server). */
static enum perr mount_read_mountinfo(const char *procfs, struct buf *b, char *msg, size_t msglen)
{
	char path[300];
	char chunk[65536];
	snprintf(path, sizeof(path), "%s/self/mountinfo", procfs);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(msg, msglen, "reading %.200s: %s", path, strerror(errno));
		return PE_IO;
	}
	ssize_t r;
	while ((r = read(fd, chunk, sizeof(chunk))) > 0)
		if (buf_add(b, chunk, (size_t)r) != PE_OK)
			break;
	int e = errno;
	close(fd);
	if (r < 0 || buf_err(b) != PE_OK) {
		snprintf(msg, msglen, "reading %.200s: %s", path, r < 0 ? strerror(e) : err_str(buf_err(b)));
		return r < 0 ? PE_IO : buf_err(b);
	}
	return PE_OK;
}

/* Presence and info from mountinfo; PE_NOTFOUND when the path is not a mount point. */
static enum perr mount_presence(struct collect *c, const struct config_mount *m)
{
	struct buf text;
	char msg[256];
	struct mountinfo_entry *e = malloc(sizeof(*e));
	enum perr rc = PE_NOMEM;
	buf_init(&text, MOUNTINFO_MAX_BYTES);
	if (!e) {
		collect_fail(c, "out of memory");
		goto out;
	}
	rc = mount_read_mountinfo(c->cfg->paths.procfs, &text, msg, sizeof(msg));
	if (rc != PE_OK) {
		collect_fail(c, "%s", msg);
		goto out;
	}
	rc = mountinfo_find(buf_str(&text), text.len, m->path, e);
	expfmt_add(c->out, &d_present, rc == PE_OK ? 1 : 0, "source", m->name, NULL);
	if (rc != PE_OK) {
		collect_fail(c, "not mounted");
		goto out;
	}
	expfmt_add(c->out, &d_info, 1, "source", m->name, "path", m->path, "fstype", e->fstype, "device",
		   e->source, NULL);
	if (m->fstype && strcmp(m->fstype, e->fstype) != 0)
		collect_warn(c, "mount type differs from the configured one", "source", m->name, "path",
			     m->path, "expected", m->fstype, "actual", e->fstype);
out:
	free(e);
	buf_free(&text);
	return rc;
}

/* Emits the archive samples of a finished scan and each guest's newest archive as a fact. */
static void mount_emit_archives(struct collect *c, const struct config_mount *m, const struct mount_job *j)
{
	char msg[128], key[48];
	int64_t *ts = calloc(j->scan.ngroups + 1, sizeof(*ts));
	enum perr e =
		ts ? mount_scan_emit(&j->scan, m->name, m->timezone, c->out, ts, msg, sizeof(msg)) : PE_NOMEM;

	if (e == PE_NOMEM)
		collect_warn(c, "dump scan lost: out of memory", "source", m->name);
	else if (e != PE_OK)
		collect_warn(c, "archive times not converted", "source", m->name, "err", msg);
	for (size_t i = 0; e == PE_OK && i < j->scan.ngroups; i++) {
		double prev;
		snprintf(key, sizeof(key), "vmid/%ld/last_backup", j->scan.groups[i].vmid);
		if (!collect_fact_get(c, "mount", m->name, key, &prev, NULL) || prev < (double)ts[i])
			collect_fact_set(c, "mount", m->name, key, (double)ts[i], NULL);
	}
	/* the log of each guest's newest archive, for the inventory: vmid/<vmid>/log */
	for (size_t i = 0, best, next; e == PE_OK && i < j->scan.ngroups; i = next) {
		const struct mount_group *g;
		next = mount_scan_vmid(&j->scan, ts, i, &best);
		g = &j->scan.groups[best];
		snprintf(key, sizeof(key), "vmid/%ld/log", g->vmid);
		if (g->log >= 0)
			collect_fact_set(c, "mount", m->name, key, g->log, g->log_error);
	}
	free(ts);
}

/* Samples of a probe that finished in time. */
static enum perr mount_emit_probe(struct collect *c, const struct config_mount *m, const struct mount_job *j)
{
	if (j->statvfs_errno) {
		expfmt_add(c->out, &d_responsive, 0, "source", m->name, NULL);
		collect_fail(c, "statvfs: %s", strerror(j->statvfs_errno));
		return PE_IO;
	}
	expfmt_add(c->out, &d_responsive, 1, "source", m->name, NULL);
	expfmt_add(c->out, &d_size, j->size, "source", m->name, NULL);
	expfmt_add(c->out, &d_avail, j->avail, "source", m->name, NULL);
	if (j->write_probe) {
		expfmt_add(c->out, &d_writable, j->write_errno ? 0 : 1, "source", m->name, NULL);
		if (j->write_errno)
			collect_warn(c, "mount not writable", "source", m->name, "path", m->path, "step",
				     j->write_step, "err", strerror(j->write_errno));
	}
	if (j->dump && j->scan_errno)
		collect_warn(c, "dump folder not scanned", "source", m->name, "dir", j->dump, "err",
			     strerror(j->scan_errno));
	else if (j->dump)
		mount_emit_archives(c, m, j);
	return PE_OK;
}

static enum perr mount_collect(struct collect *c)
{
	const struct config_mount *m = &c->cfg->mounts[c->index];
	enum perr rc = mount_presence(c, m);
	if (rc != PE_OK)
		return rc;
	struct probe_pool *pool = collect_probes(c);
	struct mount_job *j = mount_job_new(m, collect_now(c));
	if (!pool || !j) {
		mount_job_free(j);
		collect_fail(c, "%s", pool ? "out of memory" : "no probe pool");
		return pool ? PE_NOMEM : PE_INTERNAL;
	}
	char key[300];
	snprintf(key, sizeof(key), "mount:%s", m->name);
	double timeout = m->timeout, left = collect_remaining(c);
	if (left < timeout)
		timeout = left;
	double t0 = clock_mono();
	rc = probe_run(pool, key, mount_job_run, j, mount_job_free, timeout);
	if (rc == PE_OK) {
		/* only for a finished probe: after a timeout the time waited says nothing */
		expfmt_add(c->out, &d_duration, clock_mono() - t0, "source", m->name, NULL);
		rc = mount_emit_probe(c, m, j);
		mount_job_free(j);
		return rc;
	}
	/* j belongs to the pool now */
	expfmt_add(c->out, &d_responsive, 0, "source", m->name, NULL);
	if (rc == PE_TIMEOUT)
		collect_fail(c, "probe not done within %gs (file server not responding?)", timeout);
	else
		collect_fail(c, "probe failed: %s", err_str(rc));
	return rc;
}

static size_t mount_count(const struct config *cfg)
{
	return cfg->nmounts;
}

static const char *mount_source_name(const struct config *cfg, size_t i)
{
	return cfg->mounts[i].name;
}

const struct collector collector_mount = {"mount", "mount", 0, mount_count, mount_source_name, mount_collect};
