/* test_mount.c - the mountinfo parser, and the mount collector (mount_scan.c through it) over temp trees. */
#include <check.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>

#include "mountinfo.h"
#include "probe.h"
#include "testutil.h"

static enum perr mi_line(const char *s, struct mountinfo_entry *e)
{
	return mountinfo_parse_line(s, strlen(s), e);
}

START_TEST(test_mountinfo_basic)
{
	struct mountinfo_entry e;
	ck_assert_int_eq(mi_line("36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root "
				 "rw,errors=continue\n",
				 &e),
			 PE_OK);
	ck_assert_str_eq(e.devno, "98:0");
	ck_assert_str_eq(e.root, "/mnt1");
	ck_assert_str_eq(e.mount_point, "/mnt/parent");
	ck_assert_str_eq(e.fstype, "ext3");
	ck_assert_str_eq(e.source, "/dev/root");
}
END_TEST

START_TEST(test_mountinfo_optional_fields)
{
	struct mountinfo_entry e;
	/* none */
	ck_assert_int_eq(
		mi_line("1 0 0:52 / /mnt/pve/nas rw,relatime - nfs4 nas:/volume1/pve rw,vers=4.1", &e),
		PE_OK);
	ck_assert_str_eq(e.fstype, "nfs4");
	ck_assert_str_eq(e.source, "nas:/volume1/pve");
	/* several, including a "-" lookalike inside one */
	ck_assert_int_eq(
		mi_line("2 1 0:53 / /a rw shared:5 master:3 propagate_from:2 unbindable - nfs x:/y rw", &e),
		PE_OK);
	ck_assert_str_eq(e.fstype, "nfs");
	ck_assert_str_eq(e.source, "x:/y");
	/* super options missing (old kernels): still fine */
	ck_assert_int_eq(mi_line("3 1 0:54 / /b rw - tmpfs tmpfs", &e), PE_OK);
	ck_assert_str_eq(e.fstype, "tmpfs");
	/* fuse subtype */
	ck_assert_int_eq(mi_line("4 1 0:55 / /tmp/h rw,nosuid - fuse.hangfs hangfs rw,user_id=0", &e), PE_OK);
	ck_assert_str_eq(e.fstype, "fuse.hangfs");
}
END_TEST

START_TEST(test_mountinfo_escapes)
{
	struct mountinfo_entry e;
	ck_assert_int_eq(mi_line("5 1 0:56 / /mnt/my\\040backups\\011tab\\012nl\\134bs rw - nfs4 "
				 "nas:/vol\\040one rw",
				 &e),
			 PE_OK);
	ck_assert_str_eq(e.mount_point, "/mnt/my backups\ttab\nnl\\bs");
	ck_assert_str_eq(e.source, "nas:/vol one");
	/* a backslash not followed by three octal digits stays literal */
	ck_assert_int_eq(mi_line("6 1 0:57 / /x\\9y\\04 rw - nfs s rw", &e), PE_OK);
	ck_assert_str_eq(e.mount_point, "/x\\9y\\04");
	char out[8];
	ck_assert_int_eq(mountinfo_unescape("\\000", 4, out, sizeof(out)), PE_PARSE);
	ck_assert_int_eq(mountinfo_unescape("\\400", 4, out, sizeof(out)), PE_PARSE);
	ck_assert_int_eq(mountinfo_unescape("abcdefgh", 8, out, sizeof(out)), PE_TOOBIG);
	ck_assert_int_eq(mountinfo_unescape("abcdefg", 7, out, sizeof(out)), PE_OK);
	ck_assert_str_eq(out, "abcdefg");
}
END_TEST

START_TEST(test_mountinfo_malformed)
{
	struct mountinfo_entry e;
	const char *bad[] = {
		"",
		"\n",
		"garbage",
		"36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 ext3 /dev/root rw", /* no separator */
		"36 35 98:0 /mnt1 /mnt/parent rw - ext3", /* no source */
		"x 35 98:0 / /a rw - ext3 /dev/root rw", /* id not a number */
		"36 35 980 / /a rw - ext3 /dev/root rw", /* no major:minor */
		"36 35 98: / /a rw - ext3 /dev/root rw",
		"36 35 98:0 / - rw - ext3", /* separator too early */
		"<html><body>not mountinfo</body></html>",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(mi_line(bad[i], &e) == PE_PARSE, "accepted: %s", bad[i]);
	/* a field longer than the entry holds */
	size_t n = MOUNTINFO_PATH_MAX + 100;
	char *line = malloc(n + 64);
	ck_assert_ptr_nonnull(line);
	memcpy(line, "1 0 0:1 / /", 11);
	memset(line + 11, 'a', n);
	memcpy(line + 11 + n, " rw - nfs s rw", 15);
	ck_assert_int_eq(mi_line(line, &e), PE_PARSE);
	free(line);
	/* embedded NUL */
	ck_assert_int_eq(mountinfo_parse_line("1 0 0:1 / /a\0b rw - nfs s rw", 28, &e), PE_PARSE);
}
END_TEST

START_TEST(test_mountinfo_find)
{
	const char *text = "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n"
			   "garbage line\n"
			   "30 22 0:40 / /mnt/pve/nas rw - nfs4 old:/export rw\n"
			   "31 22 0:41 / /mnt/pve/nas2 rw - nfs4 other:/x rw\n"
			   "32 30 0:42 / /mnt/pve/nas rw - nfs4 new:/export rw\n"
			   "33 22 0:43 / /mnt/pve/nas/dump rw - nfs4 sub:/x rw"; /* no trailing newline */
	struct mountinfo_entry e;
	ck_assert_int_eq(mountinfo_find(text, strlen(text), "/mnt/pve/nas", &e), PE_OK);
	ck_assert_str_eq(e.source, "new:/export"); /* the over-mount wins */
	ck_assert_str_eq(e.devno, "0:42");
	ck_assert_int_eq(mountinfo_find(text, strlen(text), "/mnt/pve/nas//", &e), PE_OK);
	ck_assert_str_eq(e.source, "new:/export");
	ck_assert_int_eq(mountinfo_find(text, strlen(text), "/mnt/pve/nas/dump", &e), PE_OK);
	ck_assert_str_eq(e.source, "sub:/x");
	ck_assert_int_eq(mountinfo_find(text, strlen(text), "/", &e), PE_OK);
	ck_assert_str_eq(e.fstype, "ext4");
	ck_assert_int_eq(mountinfo_find(text, strlen(text), "/mnt/pve", &e), PE_NOTFOUND);
	ck_assert_int_eq(mountinfo_find(text, strlen(text), "/mnt/pve/na", &e), PE_NOTFOUND);
	ck_assert_int_eq(mountinfo_find("", 0, "/", &e), PE_NOTFOUND);
	const char *sp = "40 22 0:50 / /mnt/with\\040space rw - nfs a:/b rw\n";
	ck_assert_int_eq(mountinfo_find(sp, strlen(sp), "/mnt/with space", &e), PE_OK);
}
END_TEST

/* ---- the collector over a temp tree ---- */

struct mtree {
	char dir[64]; /* root of the temp tree */
	char mnt[128]; /* the "mount": dir/nas */
	char dump[160]; /* dir/nas/dump */
	char procfs[128]; /* dir/proc */
};

static void mt_path(char *out, size_t n, const char *dir, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
}

/* A file of the given (sparse) size and age in seconds. */
static void mt_file(const char *dir, const char *name, off_t size, double age)
{
	char p[512];
	mt_path(p, sizeof(p), dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, size), 0);
	close(fd);
	struct timeval tv[2];
	gettimeofday(&tv[0], NULL);
	tv[0].tv_sec -= (time_t)age;
	tv[1] = tv[0];
	ck_assert_int_eq(utimes(p, tv), 0);
}

static void mt_dir(const char *dir, const char *name, double age)
{
	char p[512];
	mt_path(p, sizeof(p), dir, name);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	struct timeval tv[2];
	gettimeofday(&tv[0], NULL);
	tv[0].tv_sec -= (time_t)age;
	tv[1] = tv[0];
	ck_assert_int_eq(utimes(p, tv), 0);
}

/* Writes proc/self/mountinfo; %s in fmt is replaced by the mount path (as escaped octal where needed). */
static void mt_mountinfo(const struct mtree *t, const char *text)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/self", t->procfs);
	mkdir(t->procfs, 0755);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/self/mountinfo", t->procfs);
	tu_write_file(p, text, strlen(text));
}

static void mt_make(struct mtree *t)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/pe-mount-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(t->dir));
	snprintf(t->mnt, sizeof(t->mnt), "%s/nas", t->dir);
	snprintf(t->dump, sizeof(t->dump), "%s/dump", t->mnt);
	snprintf(t->procfs, sizeof(t->procfs), "%s/proc", t->dir);
	ck_assert_int_eq(mkdir(t->mnt, 0755), 0);
	ck_assert_int_eq(mkdir(t->dump, 0755), 0);
	char mi[1024];
	snprintf(mi, sizeof(mi),
		 "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n"
		 "40 22 0:50 / %s rw,relatime shared:9 - nfs 192.0.2.9:/old rw\n"
		 "41 40 0:51 / %s rw,relatime shared:10 - nfs4 192.0.2.9:/volume1/pve rw,vers=4.1\n",
		 t->mnt, t->mnt);
	mt_mountinfo(t, mi);
}

static void mt_free(struct mtree *t)
{
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* A vzdump log: the fixture tests/fixtures/vzdump-log/<fixture>, after `pad` bytes of progress lines. */
static void mt_log(const char *dir, const char *name, const char *fixture, size_t pad)
{
	char p[512], path[256];
	size_t len = 0;
	snprintf(path, sizeof(path), "tests/fixtures/vzdump-log/%s", fixture);
	char *text = tu_read_file(path, &len);
	ck_assert_msg(text != NULL, "cannot read %s", path);
	struct buf b;
	buf_init(&b, 0);
	while (b.len < pad)
		buf_adds(&b,
			 "2024-03-01 00:00:05 INFO:  41% (13.1 GiB of 32.0 GiB) in 28s, read: 495.0 MiB/s\n");
	buf_add(&b, text, len);
	ck_assert_int_eq(buf_err(&b), PE_OK);
	mt_path(p, sizeof(p), dir, name);
	tu_write_file(p, b.data, b.len);
	buf_free(&b);
	free(text);
}

/* The archives of the golden case (names in Europe/Berlin time). */
static void mt_archives(const struct mtree *t)
{
	/* VM 100: newest 2024-01-15 13:00 CET = 1705320000 */
	mt_file(t->dump, "vzdump-qemu-100-2024_01_15-13_00_00.vma.zst", 1000, 0);
	mt_log(t->dump, "vzdump-qemu-100-2024_01_15-13_00_00.log", "qemu-100-finished.log", 0);
	mt_log(t->dump, "vzdump-qemu-100-2024_01_14-13_00_00.log", "qemu-100-protect-failed.log",
	       0); /* not the newest */
	mt_file(t->dump, "vzdump-qemu-100-2024_01_15-13_00_00.vma.zst.notes", 10, 0);
	mt_file(t->dump, "vzdump-qemu-100-2024_01_15-13_00_00.vma.zst.protected", 0, 0);
	mt_file(t->dump, "vzdump-qemu-100-2024_01_14-13_00_00.vma.zst", 5000, 0);
	mt_file(t->dump, "vzdump-qemu-100-2023_12_01-02_00_00.vma", 7, 0);
	/* LXC 105: newest 2024-07-15 14:00 CEST = 1721044800 */
	mt_file(t->dump, "vzdump-lxc-105-2024_07_15-14_00_00.tar.zst", 2048, 0);
	mt_file(t->dump, "vzdump-lxc-105-2024_07_14-14_00_00.tgz", 4096, 0);
	mt_log(t->dump, "vzdump-lxc-105-2024_07_15-14_00_00.log", "lxc-105-failed.log", 0);
	/* VM 200 once was a container: two series */
	mt_file(t->dump, "vzdump-qemu-200-2024_03_01-00_00_00.vma.lzo", 1, 0);
	mt_file(t->dump, "vzdump-lxc-200-2023_03_01-00_00_00.tar.gz", 2, 0);
	/* its newest log is larger than the tail that is read; the verdict is at its end */
	mt_log(t->dump, "vzdump-qemu-200-2024_03_01-00_00_00.log", "qemu-200-finished.log", 200000);
	mt_log(t->dump, "vzdump-lxc-200-2023_03_01-00_00_00.log", "lxc-105-failed.log", 0);
	/* VM 300: no log beside its archive; VM 301: the log is a folder */
	mt_file(t->dump, "vzdump-qemu-300-2024_03_01-00_00_00.vma.zst", 3, 0);
	mt_file(t->dump, "vzdump-qemu-301-2024_03_01-00_00_00.vma.zst", 3, 0);
	mt_dir(t->dump, "vzdump-qemu-301-2024_03_01-00_00_00.log", 0);
	/* not archives */
	mt_file(t->dump, "vzdump-qemu-101-2024_02_30-00_00_00.vma.zst", 99, 0);
	mt_file(t->dump, "vzdump-qemu-0102-2024_02_01-00_00_00.vma.zst", 99, 0);
	mt_file(t->dump, "notes.txt", 3, 0);
	mt_dir(t->dump, "vzdump-qemu-103-2024_02_01-00_00_00.vma.zst", 0);
	char link[512];
	mt_path(link, sizeof(link), t->dump, "vzdump-qemu-104-2024_02_01-00_00_00.vma.zst");
	ck_assert_int_eq(symlink("/etc/hostname", link), 0);
	/* partial files: two leftovers older than a day, the rest not */
	mt_file(t->dump, "vzdump-qemu-100-2024_01_10-13_00_00.vma.dat", 123, 3 * 86400);
	mt_dir(t->dump, "vzdump-lxc-105-2024_07_01-14_00_00.tmp", 2 * 86400);
	mt_file(t->dump, "vzdump-qemu-100-2024_01_16-13_00_00.vma.dat", 123, 60);
	mt_dir(t->dump, "vzdump-lxc-105-2024_07_16-14_00_00.tmp", 60);
	mt_file(t->dump, "stray.tmp", 1, 5 * 86400); /* a file, not a folder */
}

static struct config *mt_config(const struct mtree *t, int write_probe, const char *dump_dir, const char *tz)
{
	struct config *cfg = tu_config_new();
	cfg->mounts = calloc(1, sizeof(*cfg->mounts));
	ck_assert_ptr_nonnull(cfg->mounts);
	cfg->nmounts = 1;
	struct config_mount *m = &cfg->mounts[0];
	m->name = strdup("nas");
	m->path = strdup(t->mnt);
	m->fstype = strdup("nfs4");
	m->timeout = 5;
	m->write_probe = write_probe;
	m->dump_dir = dump_dir ? strdup(dump_dir) : NULL;
	m->timezone = tz ? strdup(tz) : NULL;
	snprintf(cfg->paths.procfs, sizeof(cfg->paths.procfs), "%s", t->procfs);
	return cfg;
}

/* Drops the sample lines (not HELP/TYPE) of the families whose values depend on the host disk. */
static char *mt_strip_disk(const char *text)
{
	struct buf out;
	buf_init(&out, 0);
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);
		if (strncmp(p, "persistence_mount_size_bytes{", 29) != 0 &&
		    strncmp(p, "persistence_mount_avail_bytes{", 30) != 0)
			buf_add(&out, p, len);
		p += len;
	}
	buf_add(&out, "", 0);
	return buf_steal(&out, NULL);
}

/* Replaces every occurrence of the temp root with "/TMP" so golden files do not depend on mkdtemp. */
static char *mt_fix_tmp(const char *text, const char *dir)
{
	struct buf out;
	buf_init(&out, 0);
	size_t n = strlen(dir);
	for (const char *p = text; *p;) {
		if (strncmp(p, dir, n) == 0) {
			buf_adds(&out, "/TMP");
			p += n;
		} else {
			buf_addc(&out, *p++);
		}
	}
	buf_add(&out, "", 0);
	return buf_steal(&out, NULL);
}

struct mt_result {
	char *text; /* full exposition minus volatile families */
	int up;
	char error[256];
	double fact100, fact105, fact200;
	int has100;
	double log105; /* fact vmid/105/log, -1 when absent */
	char log105_error[160];
};

/* The temp root of a config made by mt_config(): the mount path without its last "/nas". */
static const char *mt_tmp_root(const struct config *cfg)
{
	static __thread char root[128];
	snprintf(root, sizeof(root), "%s", cfg->mounts[0].path);
	char *slash = strrchr(root, '/');
	if (slash)
		*slash = '\0';
	return root;
}

static void mt_scrape(struct scrape_state *st, struct config *cfg, struct mt_result *r)
{
	static const char *const only[] = {"mount"};
	struct scrape *s = scrape_new(st, cfg, 10, only, 1);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(scrape_run(s), PE_OK);
	ck_assert_uint_eq(scrape_nsources(s), 1);
	r->up = scrape_source(s, 0)->up;
	snprintf(r->error, sizeof(r->error), "%s", scrape_source(s, 0)->error);
	r->has100 = facts_get(scrape_facts(s), "mount", "nas", "vmid/100/last_backup", &r->fact100, NULL);
	r->fact105 = r->fact200 = -1;
	facts_get(scrape_facts(s), "mount", "nas", "vmid/105/last_backup", &r->fact105, NULL);
	facts_get(scrape_facts(s), "mount", "nas", "vmid/200/last_backup", &r->fact200, NULL);
	const char *err = NULL;
	r->log105 = -1;
	r->log105_error[0] = '\0';
	if (facts_get(scrape_facts(s), "mount", "nas", "vmid/105/log", &r->log105, &err) && err)
		snprintf(r->log105_error, sizeof(r->log105_error), "%s", err);
	struct buf out;
	buf_init(&out, 0);
	ck_assert_int_eq(scrape_write(s, &out), PE_OK);
	buf_add(&out, "", 0);
	scrape_free(s);
	char *raw = buf_steal(&out, NULL);
	tu_assert_promtool_clean(raw);
	char *fixed = mt_fix_tmp(raw, mt_tmp_root(cfg));
	r->text = tu_strip_volatile(fixed);
	free(fixed);
	free(raw);
}

static int mt_has(const char *text, const char *line)
{
	return strstr(text, line) != NULL;
}

START_TEST(collect_archives_golden)
{
	struct mtree t;
	mt_make(&t);
	mt_archives(&t);
	struct config *cfg = mt_config(&t, 1, "dump", "Europe/Berlin");
	struct scrape_state *st = scrape_state_new();
	struct mt_result r;
	mt_scrape(st, cfg, &r);
	ck_assert_int_eq(r.up, 1);
	ck_assert_int_eq(r.has100, 1);
	ck_assert(r.fact100 == 1705320000.0);
	ck_assert(r.fact105 == 1721044800.0);
	ck_assert(r.fact200 == 1709247600.0); /* the newer of the qemu and lxc series */
	/* the log beside 105's newest archive reports the failure; the inventory gets its first error */
	ck_assert(r.log105 == 2);
	ck_assert_msg(strncmp(r.log105_error, "Backup of VM 105 failed - command", 33) == 0, "%s",
		      r.log105_error);
	/* size and avail are real statvfs numbers of the temp folder: present and positive */
	ck_assert(mt_has(r.text, "persistence_mount_size_bytes{source=\"nas\"} "));
	const char *a = strstr(r.text, "persistence_mount_avail_bytes{source=\"nas\"} ");
	ck_assert_ptr_nonnull(a);
	ck_assert(strtod(a + strlen("persistence_mount_avail_bytes{source=\"nas\"} "), NULL) > 0);
	/* no probe file left behind */
	char probe[512];
	mt_path(probe, sizeof(probe), t.mnt, ".persistence_exporter_probe");
	ck_assert_int_ne(access(probe, F_OK), 0);
	char *golden = mt_strip_disk(r.text);
	tu_assert_promtool_clean(golden);
	tu_assert_golden(golden, "tests/unit/golden/mount/archives.prom");
	free(golden);
	free(r.text);
	scrape_state_free(st);
	config_unref(cfg);
	mt_free(&t);
}
END_TEST

START_TEST(collect_not_mounted)
{
	struct mtree t;
	mt_make(&t);
	mt_mountinfo(&t, "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n"
			 "40 22 0:50 / /mnt/other rw - nfs4 x:/y rw\n");
	struct config *cfg = mt_config(&t, 1, "dump", NULL);
	struct scrape_state *st = scrape_state_new();
	struct mt_result r;
	mt_scrape(st, cfg, &r);
	ck_assert_int_eq(r.up, 0);
	ck_assert_str_eq(r.error, "not mounted");
	ck_assert_int_eq(r.has100, 0);
	tu_assert_golden(r.text, "tests/unit/golden/mount/not_mounted.prom");
	ck_assert(!mt_has(r.text, "persistence_mount_responsive{"));
	free(r.text);
	scrape_state_free(st);
	config_unref(cfg);
	mt_free(&t);
}
END_TEST

START_TEST(collect_mountinfo_unreadable)
{
	struct mtree t;
	mt_make(&t);
	struct config *cfg = mt_config(&t, 0, NULL, NULL);
	snprintf(cfg->paths.procfs, sizeof(cfg->paths.procfs), "%s/no-such-proc", t.dir);
	struct scrape_state *st = scrape_state_new();
	struct mt_result r;
	mt_scrape(st, cfg, &r);
	ck_assert_int_eq(r.up, 0);
	ck_assert_ptr_nonnull(strstr(r.error, "mountinfo"));
	ck_assert(!mt_has(r.text, "persistence_mount_present{")); /* unknown, not 0 */
	free(r.text);
	scrape_state_free(st);
	config_unref(cfg);
	mt_free(&t);
}
END_TEST

START_TEST(collect_not_writable_no_dump)
{
	struct mtree t;
	mt_make(&t);
	/* a folder where the probe file would go: creating it fails (EISDIR) */
	mt_dir(t.mnt, ".persistence_exporter_probe", 0);
	struct config *cfg = mt_config(&t, 1, "no-such-dump", "UTC");
	struct scrape_state *st = scrape_state_new();
	struct mt_result r;
	mt_scrape(st, cfg, &r);
	ck_assert_int_eq(r.up, 1); /* the mount answered; the missing folder is logged */
	ck_assert(mt_has(r.text, "persistence_mount_writable{source=\"nas\"} 0\n"));
	ck_assert(mt_has(r.text, "persistence_mount_responsive{source=\"nas\"} 1\n"));
	ck_assert(!mt_has(r.text, "persistence_mount_archives{"));
	ck_assert(!mt_has(r.text, "persistence_mount_partial_files{"));
	free(r.text);
	scrape_state_free(st);
	config_unref(cfg);
	mt_free(&t);
}
END_TEST

/* A probe job standing in for a hung statvfs: blocks the key's worker until released. */
struct mt_block {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	int open;
	int done;
};

static void mt_block_fn(void *arg)
{
	struct mt_block *b = arg;
	pthread_mutex_lock(&b->mu);
	while (!b->open)
		pthread_cond_wait(&b->cond, &b->mu);
	pthread_mutex_unlock(&b->mu);
}

static void mt_block_free(void *arg)
{
	struct mt_block *b = arg;
	pthread_mutex_lock(&b->mu);
	b->done = 1;
	pthread_mutex_unlock(&b->mu);
}

START_TEST(collect_hung_probe)
{
	struct mtree t;
	mt_make(&t);
	mt_archives(&t);
	struct config *cfg = mt_config(&t, 1, "dump", "Europe/Berlin");
	struct scrape_state *st = scrape_state_new();
	struct probe_pool *pool = scrape_state_probes(st);
	struct mt_block b = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
	ck_assert_int_eq(probe_run(pool, "mount:nas", mt_block_fn, &b, mt_block_free, 0.01), PE_TIMEOUT);
	size_t threads = probe_pool_threads(pool);
	struct mt_result r;
	for (int i = 0; i < 3; i++) {
		mt_scrape(st, cfg, &r);
		ck_assert_int_eq(r.up, 0);
		ck_assert_ptr_nonnull(strstr(r.error, "probe not done"));
		ck_assert_int_eq(r.has100, 0);
		if (i < 2) {
			free(r.text);
			continue;
		}
		/* unresponsive: no made-up or stale numbers */
		tu_assert_golden(r.text, "tests/unit/golden/mount/hung.prom");
		free(r.text);
	}
	ck_assert_uint_eq(probe_pool_threads(pool), threads);
	/* the server comes back: the next clean probe makes the mount responsive */
	pthread_mutex_lock(&b.mu);
	b.open = 1;
	pthread_cond_broadcast(&b.cond);
	pthread_mutex_unlock(&b.mu);
	for (int i = 0; i < 1000; i++) {
		pthread_mutex_lock(&b.mu);
		int done = b.done;
		pthread_mutex_unlock(&b.mu);
		if (done)
			break;
		usleep(10000);
	}
	mt_scrape(st, cfg, &r);
	ck_assert_int_eq(r.up, 1);
	ck_assert(mt_has(r.text, "persistence_mount_responsive{source=\"nas\"} 1\n"));
	ck_assert(r.fact100 == 1705320000.0);
	free(r.text);
	scrape_state_free(st);
	config_unref(cfg);
	mt_free(&t);
}
END_TEST

static Suite *mount_suite(void)
{
	Suite *s = suite_create("mount");
	TCase *tc = tcase_create("parsers");
	tcase_add_test(tc, test_mountinfo_basic);
	tcase_add_test(tc, test_mountinfo_optional_fields);
	tcase_add_test(tc, test_mountinfo_escapes);
	tcase_add_test(tc, test_mountinfo_malformed);
	tcase_add_test(tc, test_mountinfo_find);
	suite_add_tcase(s, tc);
	TCase *tcc = tcase_create("collector");
	tcase_set_timeout(tcc, 60);
	tcase_add_test(tcc, collect_archives_golden);
	tcase_add_test(tcc, collect_not_mounted);
	tcase_add_test(tcc, collect_mountinfo_unreadable);
	tcase_add_test(tcc, collect_not_writable_no_dump);
	tcase_add_test(tcc, collect_hung_probe);
	suite_add_tcase(s, tcc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(mount_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
