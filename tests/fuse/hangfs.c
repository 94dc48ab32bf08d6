/* hangfs.c - a FUSE pass-through file system that can be made to hang like a dead NFS server (tests only). */
#define FUSE_USE_VERSION 31

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/*
 * Usage: hangfs --source=DIR [--hung] MOUNTPOINT [fuse options]
 * Serves DIR at MOUNTPOINT, always in the foreground (the signal thread
 * would not survive daemonizing); the process ends on unmount. SIGUSR1 makes statfs, getattr, readdir, open,
 * create and unlink block (like a hard NFS mount whose server is gone);
 * SIGHUP makes only reads of files named *.log block (a server that lists
 * and stats but stalls on data); SIGUSR2 releases every blocked call and
 * serves normally again. A
 * blocked call can also be ended by aborting the FUSE connection
 * (/sys/fs/fuse/connections/N/abort). Signals are taken by one sigwait
 * thread, so no handler runs async-signal-unsafe code.
 */

struct hangfs {
	char *source;
	int srcfd;
	int start_hung;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	int hung;
	int hung_log_reads; /* only reads of *.log files block */
	int waiting; /* calls blocked right now */
};

static struct hangfs hfs = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static const struct fuse_opt hangfs_opts[] = {
	{"--source=%s", offsetof(struct hangfs, source), 0},
	{"--hung", offsetof(struct hangfs, start_hung), 1},
	FUSE_OPT_END,
};

/* Blocks while the file system is switched to "hung" (log_read: a read of a *.log file, also while only those hang). */
static void hang_point_for(int log_read)
{
	pthread_mutex_lock(&hfs.mu);
	hfs.waiting++;
	while (hfs.hung || (log_read && hfs.hung_log_reads))
		pthread_cond_wait(&hfs.cond, &hfs.mu);
	hfs.waiting--;
	pthread_mutex_unlock(&hfs.mu);
}

static void hang_point(void)
{
	hang_point_for(0);
}

/* on: 0 release, 1 hang everything, 2 hang reads of *.log files only. */
static void hang_set(int on)
{
	static const char *const what[] = {"released", "hung", "hung (log reads)"};
	pthread_mutex_lock(&hfs.mu);
	hfs.hung = on == 1;
	hfs.hung_log_reads = on == 2;
	pthread_cond_broadcast(&hfs.cond);
	pthread_mutex_unlock(&hfs.mu);
	fprintf(stderr, "hangfs: %s\n", what[on]);
}

static void *signal_main(void *arg)
{
	sigset_t *set = arg;
	for (;;) {
		int sig;
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig == SIGUSR1)
			hang_set(1);
		else if (sig == SIGUSR2)
			hang_set(0);
		else if (sig == SIGHUP)
			hang_set(2);
	}
	return NULL;
}

/* "/a/b" -> "a/b", "/" -> "." (relative to the source folder fd). */
static const char *rel(const char *path)
{
	while (*path == '/')
		path++;
	return *path ? path : ".";
}

static void *hangfs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	(void)conn;
	cfg->attr_timeout = 0; /* every stat reaches us, like NFS with noac */
	cfg->entry_timeout = 0;
	cfg->negative_timeout = 0;
	cfg->use_ino = 0;
	return NULL;
}

static int hangfs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	(void)fi;
	hang_point();
	return fstatat(hfs.srcfd, rel(path), st, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
}

static int hangfs_statfs(const char *path, struct statvfs *sv)
{
	(void)path;
	hang_point();
	return fstatvfs(hfs.srcfd, sv) == 0 ? 0 : -errno;
}

static int hangfs_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
			  struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	(void)off, (void)fi, (void)flags;
	hang_point();
	int fd = openat(hfs.srcfd, rel(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		return -e;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		struct stat st = {0};
		st.st_ino = de->d_ino;
		st.st_mode = (mode_t)DTTOIF(de->d_type);
		if (fill(buf, de->d_name, &st, 0, 0))
			break;
	}
	closedir(d);
	return 0;
}

static int hangfs_open(const char *path, struct fuse_file_info *fi)
{
	hang_point();
	int fd = openat(hfs.srcfd, rel(path), (fi->flags & ~O_NOFOLLOW) | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	fi->fh = (uint64_t)fd;
	return 0;
}

static int hangfs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	hang_point();
	int fd = openat(hfs.srcfd, rel(path), (fi->flags & ~O_NOFOLLOW) | O_CREAT | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	fi->fh = (uint64_t)fd;
	return 0;
}

static int hangfs_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	size_t n = strlen(path);
	hang_point_for(n > 4 && strcmp(path + n - 4, ".log") == 0);
	ssize_t r = pread((int)fi->fh, buf, size, off);
	return r < 0 ? -errno : (int)r;
}

static int hangfs_write(const char *path, const char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)path;
	ssize_t r = pwrite((int)fi->fh, buf, size, off);
	return r < 0 ? -errno : (int)r;
}

static int hangfs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)path;
	int r = datasync ? fdatasync((int)fi->fh) : fsync((int)fi->fh);
	return r == 0 ? 0 : -errno;
}

static int hangfs_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	close((int)fi->fh);
	return 0;
}

static int hangfs_unlink(const char *path)
{
	hang_point();
	return unlinkat(hfs.srcfd, rel(path), 0) == 0 ? 0 : -errno;
}

static const struct fuse_operations hangfs_ops = {
	.init = hangfs_init,
	.getattr = hangfs_getattr,
	.statfs = hangfs_statfs,
	.readdir = hangfs_readdir,
	.open = hangfs_open,
	.create = hangfs_create,
	.read = hangfs_read,
	.write = hangfs_write,
	.fsync = hangfs_fsync,
	.release = hangfs_release,
	.unlink = hangfs_unlink,
};

int main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	if (fuse_opt_parse(&args, &hfs, hangfs_opts, NULL) != 0 || !hfs.source) {
		fprintf(stderr, "usage: hangfs --source=DIR [--hung] MOUNTPOINT [fuse options]\n");
		return 2;
	}
	if (fuse_opt_add_arg(&args, "-f") != 0)
		return 2;
	hfs.srcfd = open(hfs.source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (hfs.srcfd < 0) {
		perror(hfs.source);
		return 2;
	}
	hfs.hung = hfs.start_hung;
	/* Blocked in every thread (fuse's too): only signal_main receives them. */
	static sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_t t;
	if (pthread_create(&t, NULL, signal_main, &set) != 0) {
		fprintf(stderr, "hangfs: cannot start the signal thread\n");
		return 2;
	}
	pthread_detach(t);
	int rc = fuse_main(args.argc, args.argv, &hangfs_ops, NULL);
	hang_set(0);
	fuse_opt_free_args(&args);
	free(hfs.source);
	return rc;
}
