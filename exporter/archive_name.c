/* archive_name.c - vzdump archive names: strict parsing and local-time to Unix-time conversion. */
#include "archive_name.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const vz_qemu_ext[] = {"vma", "vma.zst", "vma.gz", "vma.lzo", NULL};
static const char *const vz_lxc_ext[] = {"tar", "tar.zst", "tar.gz", "tar.lzo", "tgz", NULL};

const char *archive_guest_str(enum archive_guest g)
{
	return g == ARCHIVE_LXC ? "lxc" : "qemu";
}

/* Reads exactly n digits at *p into *v and advances *p; 0 when they are not all digits. */
static int vz_digits(const char **p, int n, long *v)
{
	long x = 0;
	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return 0;
		x = x * 10 + (c - '0');
	}
	*p += n;
	*v = x;
	return 1;
}

static int vz_lit(const char **p, char c)
{
	if (**p != c)
		return 0;
	(*p)++;
	return 1;
}

static int vz_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int vz_time_valid(const struct archive_time *t)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (t->year < 1970 || t->mon < 1 || t->mon > 12 || t->day < 1)
		return 0;
	int dim = mdays[t->mon - 1] + (t->mon == 2 && vz_leap(t->year));
	return t->day <= dim && t->hour >= 0 && t->hour <= 23 && t->min >= 0 && t->min <= 59 && t->sec >= 0 &&
	       t->sec <= 59;
}

/* "YYYY_MM_DD-HH_MM_SS" */
static int vz_parse_time(const char **p, struct archive_time *t)
{
	long y, mo, d, h, mi, s;
	if (!vz_digits(p, 4, &y) || !vz_lit(p, '_') || !vz_digits(p, 2, &mo) || !vz_lit(p, '_') ||
	    !vz_digits(p, 2, &d) || !vz_lit(p, '-') || !vz_digits(p, 2, &h) || !vz_lit(p, '_') ||
	    !vz_digits(p, 2, &mi) || !vz_lit(p, '_') || !vz_digits(p, 2, &s))
		return 0;
	*t = (struct archive_time){(int)y, (int)mo, (int)d, (int)h, (int)mi, (int)s};
	return vz_time_valid(t);
}

/* VMID: 100..999999999, no leading zero, followed by '-'. */
static int vz_parse_vmid(const char **p, long *vmid)
{
	long v = 0;
	int n = 0;
	if (**p == '0')
		return 0;
	while ((*p)[n] >= '0' && (*p)[n] <= '9') {
		if (++n > 9)
			return 0;
		v = v * 10 + ((*p)[n - 1] - '0');
	}
	if (n == 0 || v < 100 || (*p)[n] != '-')
		return 0;
	*p += n + 1;
	*vmid = v;
	return 1;
}

enum perr archive_name_parse(const char *name, struct archive_name *out)
{
	const char *p = name;
	if (!name || strncmp(p, "vzdump-", 7) != 0)
		return PE_PARSE;
	p += 7;
	const char *const *exts;
	if (strncmp(p, "qemu-", 5) == 0) {
		out->guest = ARCHIVE_QEMU;
		exts = vz_qemu_ext;
		p += 5;
	} else if (strncmp(p, "lxc-", 4) == 0) {
		out->guest = ARCHIVE_LXC;
		exts = vz_lxc_ext;
		p += 4;
	} else {
		return PE_PARSE;
	}
	if (!vz_parse_vmid(&p, &out->vmid) || !vz_parse_time(&p, &out->t) || !vz_lit(&p, '.'))
		return PE_PARSE;
	for (size_t i = 0; exts[i]; i++) {
		if (strcmp(p, exts[i]) == 0) {
			snprintf(out->ext, sizeof(out->ext), "%s", exts[i]);
			return PE_OK;
		}
	}
	return PE_PARSE;
}

int64_t archive_time_key(const struct archive_time *t)
{
	return (((((int64_t)t->year * 100 + t->mon) * 100 + t->day) * 100 + t->hour) * 100 + t->min) * 100 +
	       t->sec;
}

/* Letters, digits, '_', '-', '+', '/', no "..", no leading '/'. */
static int vz_zone_name_ok(const char *zone)
{
	size_t n = strlen(zone);
	if (n == 0 || n > 64 || zone[0] == '/' || strstr(zone, ".."))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = zone[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '+' || c == '/'))
			return 0;
	}
	return 1;
}

int archive_zone_valid(const char *zone)
{
	if (!zone || !*zone)
		return 1;
	if (!vz_zone_name_ok(zone))
		return 0;
	const char *dir = getenv("TZDIR");
	char path[512], magic[4];
	snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", zone);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t r = read(fd, magic, sizeof(magic));
	close(fd);
	return r == 4 && memcmp(magic, "TZif", 4) == 0;
}

/*
 * Thread safety. C and glibc have no "mktime in zone Z" call, and glibc
 * reads the zone only from the TZ variable. So conversions switch TZ,
 * under one process-wide mutex (the only lock-type global here), in
 * batches: archive_times_to_unix() is called once per mount scan for the
 * newest archive of each guest, never per file, and never while a file
 * system call is pending, so the lock is held for microseconds.
 * Why this is safe against other threads:
 *  - TZ is never unset: the process's own zone is restored as
 *    ":/etc/localtime" (what glibc uses when TZ is unset) or as the old
 *    value. Only the first switch adds a variable to the environment; glibc
 *    then builds a new environ array without freeing the old one, and it
 *    never frees the strings setenv() stored, so a concurrent getenv()
 *    (libcurl reading proxy variables) never reads freed memory.
 *  - The rest of the exporter formats and parses times in UTC only
 *    (gmtime_r, timegm), which do not depend on TZ; nothing else calls
 *    localtime()/mktime(), so nobody observes the temporary zone.
 * Ambiguous wall-clock times (the repeated hour when DST ends) resolve
 * as mktime() with tm_isdst = -1 resolves them; times in the skipped hour
 * are normalised forward.
 */
static pthread_mutex_t vz_tz_lock = PTHREAD_MUTEX_INITIALIZER;

static int64_t vz_mktime(const struct archive_time *t)
{
	struct tm tm = {0};
	tm.tm_year = t->year - 1900;
	tm.tm_mon = t->mon - 1;
	tm.tm_mday = t->day;
	tm.tm_hour = t->hour;
	tm.tm_min = t->min;
	tm.tm_sec = t->sec;
	tm.tm_isdst = -1;
	return (int64_t)mktime(&tm);
}

enum perr archive_times_to_unix(const char *zone, const struct archive_time *t, size_t n, int64_t *out,
				char *msg, size_t msglen)
{
	if (!archive_zone_valid(zone)) {
		snprintf(msg, msglen, "unknown time zone \"%.64s\"", zone);
		return PE_INVAL;
	}
	int switch_zone = zone && *zone;
	pthread_mutex_lock(&vz_tz_lock);
	char *old = NULL;
	if (switch_zone) {
		const char *cur = getenv("TZ");
		old = strdup(cur ? cur : ":/etc/localtime");
		setenv("TZ", zone, 1);
	}
	tzset();
	for (size_t i = 0; i < n; i++)
		out[i] = vz_mktime(&t[i]);
	if (switch_zone) {
		setenv("TZ", old ? old : ":/etc/localtime", 1);
		tzset();
	}
	pthread_mutex_unlock(&vz_tz_lock);
	free(old);
	return PE_OK;
}
