/* test_mount.c - mountinfo and vzdump archive-name parsers (pure functions). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "mountinfo.h"
#include "vzdump_name.h"

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

START_TEST(test_vzdump_extensions)
{
	const char *good[] = {
		"vzdump-qemu-100-2024_01_31-23_59_59.vma",    "vzdump-qemu-100-2024_01_31-23_59_59.vma.zst",
		"vzdump-qemu-100-2024_01_31-23_59_59.vma.gz", "vzdump-qemu-100-2024_01_31-23_59_59.vma.lzo",
		"vzdump-lxc-105-2024_02_29-00_00_00.tar",     "vzdump-lxc-105-2024_02_29-00_00_00.tar.zst",
		"vzdump-lxc-105-2024_02_29-00_00_00.tar.gz",  "vzdump-lxc-105-2024_02_29-00_00_00.tar.lzo",
		"vzdump-lxc-105-2024_02_29-00_00_00.tgz",     "vzdump-qemu-999999999-2000_02_29-12_30_45.vma",
	};
	struct vzdump_name n;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(vzdump_name_parse(good[i], &n) == PE_OK, "rejected: %s", good[i]);
	ck_assert_int_eq(vzdump_name_parse("vzdump-lxc-105-2024_02_29-01_02_03.tar.zst", &n), PE_OK);
	ck_assert_int_eq(n.guest, VZDUMP_LXC);
	ck_assert_str_eq(vzdump_guest_str(n.guest), "lxc");
	ck_assert_int_eq(n.vmid, 105);
	ck_assert_str_eq(n.ext, "tar.zst");
	ck_assert_int_eq(n.t.year, 2024);
	ck_assert_int_eq(n.t.mon, 2);
	ck_assert_int_eq(n.t.day, 29);
	ck_assert_int_eq(n.t.hour, 1);
	ck_assert_int_eq(n.t.min, 2);
	ck_assert_int_eq(n.t.sec, 3);
	ck_assert(vzdump_time_key(&n.t) == 20240229010203LL);
	ck_assert_int_eq(vzdump_name_parse("vzdump-qemu-100-2024_01_31-23_59_59.vma", &n), PE_OK);
	ck_assert_str_eq(vzdump_guest_str(n.guest), "qemu");
}
END_TEST

START_TEST(test_vzdump_bad_names)
{
	const char *bad[] = {
		"vzdump-qemu-100-2024_01_31-23_59_59.log",
		"vzdump-qemu-100-2024_01_31-23_59_59.vma.zst.notes",
		"vzdump-qemu-100-2024_01_31-23_59_59.vma.zst.protected",
		"vzdump-qemu-100-2024_01_31-23_59_59.vma.dat",
		"vzdump-lxc-105-2024_01_31-23_59_59.tmp",
		"vzdump-qemu-100-2024_01_31-23_59_59.tar", /* qemu is vma */
		"vzdump-lxc-105-2024_01_31-23_59_59.vma", /* lxc is tar */
		"vzdump-qemu-100-2024_01_31-23_59_59.vma.bz2",
		"vzdump-qemu-100-2024_01_31-23_59_59.",
		"vzdump-qemu-100-2024_01_31-23_59_59",
		"vzdump-openvz-100-2024_01_31-23_59_59.tar",
		"vzdump-qemu-99-2024_01_31-23_59_59.vma", /* below PVE's range */
		"vzdump-qemu-0100-2024_01_31-23_59_59.vma", /* leading zero */
		"vzdump-qemu-1000000000-2024_01_31-23_59_59.vma", /* ten digits */
		"vzdump-qemu--100-2024_01_31-23_59_59.vma",
		"vzdump-qemu-1x0-2024_01_31-23_59_59.vma",
		"vzdump-qemu-100-2024_13_01-00_00_00.vma", /* month 13 */
		"vzdump-qemu-100-2024_00_01-00_00_00.vma",
		"vzdump-qemu-100-2024_02_30-00_00_00.vma", /* Feb 30 */
		"vzdump-qemu-100-2023_02_29-00_00_00.vma", /* not a leap year */
		"vzdump-qemu-100-1900_02_29-00_00_00.vma",
		"vzdump-qemu-100-2024_04_31-00_00_00.vma",
		"vzdump-qemu-100-2024_01_00-00_00_00.vma",
		"vzdump-qemu-100-2024_01_01-24_00_00.vma", /* hour 24 */
		"vzdump-qemu-100-2024_01_01-00_60_00.vma",
		"vzdump-qemu-100-2024_01_01-00_00_60.vma",
		"vzdump-qemu-100-1969_12_31-23_59_59.vma",
		"vzdump-qemu-100-2024_1_01-00_00_00.vma",
		"vzdump-qemu-100-2024-01-01-00_00_00.vma",
		"vzdump-qemu-100-2024_01_01-00_00_00.vma ",
		"Vzdump-qemu-100-2024_01_01-00_00_00.vma",
		"vzdump-qemu-100-2024_01_01-00_00_00.vma/x",
		"",
		"<html>",
	};
	struct vzdump_name n;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(vzdump_name_parse(bad[i], &n) == PE_PARSE, "accepted: %s", bad[i]);
	ck_assert_int_eq(vzdump_name_parse(NULL, &n), PE_PARSE);
}
END_TEST

static int64_t to_unix(const char *zone, int y, int mo, int d, int h, int mi, int s)
{
	struct vzdump_time t = {y, mo, d, h, mi, s};
	int64_t out = -1;
	char msg[128];
	ck_assert_int_eq(vzdump_times_to_unix(zone, &t, 1, &out, msg, sizeof(msg)), PE_OK);
	return out;
}

START_TEST(test_vzdump_time_zones)
{
	/* 2024-01-15 12:00:00 UTC = 1705320000 */
	ck_assert(to_unix("UTC", 2024, 1, 15, 12, 0, 0) == 1705320000LL);
	/* Berlin: CET (+1) in winter, CEST (+2) in summer */
	ck_assert(to_unix("Europe/Berlin", 2024, 1, 15, 13, 0, 0) == 1705320000LL);
	ck_assert(to_unix("Europe/Berlin", 2024, 7, 15, 14, 0, 0) == 1721044800LL);
	/* the day DST starts (2024-03-31): 01:30 is CET, 03:30 is CEST */
	ck_assert(to_unix("Europe/Berlin", 2024, 3, 31, 1, 30, 0) == 1711845000LL);
	ck_assert(to_unix("Europe/Berlin", 2024, 3, 31, 3, 30, 0) == 1711848600LL);
	/* New York: EST (-5) */
	ck_assert(to_unix("America/New_York", 2024, 1, 15, 7, 0, 0) == 1705320000LL);
	/* a zone without DST */
	ck_assert(to_unix("Asia/Kolkata", 2024, 1, 15, 17, 30, 0) == 1705320000LL);
	/* batch: one switch, several times */
	struct vzdump_time ts[2] = {{2024, 1, 15, 13, 0, 0}, {2024, 7, 15, 14, 0, 0}};
	int64_t out[2];
	char msg[128];
	ck_assert_int_eq(vzdump_times_to_unix("Europe/Berlin", ts, 2, out, msg, sizeof(msg)), PE_OK);
	ck_assert(out[0] == 1705320000LL && out[1] == 1721044800LL);
	/* the process zone is restored afterwards */
	setenv("TZ", "UTC", 1);
	ck_assert(to_unix("Europe/Berlin", 2024, 1, 15, 13, 0, 0) == 1705320000LL);
	ck_assert_str_eq(getenv("TZ"), "UTC");
	ck_assert(to_unix(NULL, 2024, 1, 15, 12, 0, 0) == 1705320000LL);
	ck_assert(to_unix("", 2024, 1, 15, 12, 0, 0) == 1705320000LL);
}
END_TEST

START_TEST(test_vzdump_bad_zones)
{
	struct vzdump_time t = {2024, 1, 15, 12, 0, 0};
	int64_t out;
	char msg[128];
	const char *bad[] = {"Mars/Olympus", "../../etc/passwd", "/etc/localtime", "Europe/Berlin;rm",
			     "Europe"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		msg[0] = '\0';
		ck_assert_msg(vzdump_times_to_unix(bad[i], &t, 1, &out, msg, sizeof(msg)) == PE_INVAL,
			      "accepted %s", bad[i]);
		ck_assert_ptr_nonnull(strstr(msg, "unknown time zone"));
	}
	ck_assert(vzdump_zone_valid("Europe/Berlin"));
	ck_assert(vzdump_zone_valid(NULL));
	ck_assert(!vzdump_zone_valid("Europe"));
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
	tcase_add_test(tc, test_vzdump_extensions);
	tcase_add_test(tc, test_vzdump_bad_names);
	tcase_add_test(tc, test_vzdump_time_zones);
	tcase_add_test(tc, test_vzdump_bad_zones);
	suite_add_tcase(s, tc);
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
