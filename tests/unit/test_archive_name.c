/* test_archive_name.c - vzdump archive file names: strict parsing, and their local time as Unix time per zone. */
#include "testutil.h"

#include <stdint.h>

#include "archive_name.h"

START_TEST(test_vzdump_extensions)
{
	const char *good[] = {
		"vzdump-qemu-100-2024_01_31-23_59_59.vma",    "vzdump-qemu-100-2024_01_31-23_59_59.vma.zst",
		"vzdump-qemu-100-2024_01_31-23_59_59.vma.gz", "vzdump-qemu-100-2024_01_31-23_59_59.vma.lzo",
		"vzdump-lxc-105-2024_02_29-00_00_00.tar",     "vzdump-lxc-105-2024_02_29-00_00_00.tar.zst",
		"vzdump-lxc-105-2024_02_29-00_00_00.tar.gz",  "vzdump-lxc-105-2024_02_29-00_00_00.tar.lzo",
		"vzdump-lxc-105-2024_02_29-00_00_00.tgz",     "vzdump-qemu-999999999-2000_02_29-12_30_45.vma",
	};
	struct archive_name n;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(archive_name_parse(good[i], &n) == PE_OK, "rejected: %s", good[i]);
	ck_assert_int_eq(archive_name_parse("vzdump-lxc-105-2024_02_29-01_02_03.tar.zst", &n), PE_OK);
	ck_assert_int_eq(n.guest, ARCHIVE_LXC);
	ck_assert_str_eq(archive_guest_str(n.guest), "lxc");
	ck_assert_int_eq(n.vmid, 105);
	ck_assert_str_eq(n.ext, "tar.zst");
	ck_assert_int_eq(n.t.year, 2024);
	ck_assert_int_eq(n.t.mon, 2);
	ck_assert_int_eq(n.t.day, 29);
	ck_assert_int_eq(n.t.hour, 1);
	ck_assert_int_eq(n.t.min, 2);
	ck_assert_int_eq(n.t.sec, 3);
	ck_assert(archive_time_key(&n.t) == 20240229010203LL);
	ck_assert_int_eq(archive_name_parse("vzdump-qemu-100-2024_01_31-23_59_59.vma", &n), PE_OK);
	ck_assert_str_eq(archive_guest_str(n.guest), "qemu");
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
	struct archive_name n;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(archive_name_parse(bad[i], &n) == PE_PARSE, "accepted: %s", bad[i]);
	ck_assert_int_eq(archive_name_parse(NULL, &n), PE_PARSE);
}
END_TEST

static int64_t to_unix(const char *zone, int y, int mo, int d, int h, int mi, int s)
{
	struct archive_time t = {y, mo, d, h, mi, s};
	int64_t out = -1;
	char msg[128];
	ck_assert_int_eq(archive_times_to_unix(zone, &t, 1, &out, msg, sizeof(msg)), PE_OK);
	return out;
}

START_TEST(test_archive_time_zones)
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
	struct archive_time ts[2] = {{2024, 1, 15, 13, 0, 0}, {2024, 7, 15, 14, 0, 0}};
	int64_t out[2];
	char msg[128];
	ck_assert_int_eq(archive_times_to_unix("Europe/Berlin", ts, 2, out, msg, sizeof(msg)), PE_OK);
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
	struct archive_time t = {2024, 1, 15, 12, 0, 0};
	int64_t out;
	char msg[128];
	const char *bad[] = {"Mars/Olympus", "../../etc/passwd", "/etc/localtime", "Europe/Berlin;rm",
			     "Europe"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		msg[0] = '\0';
		ck_assert_msg(archive_times_to_unix(bad[i], &t, 1, &out, msg, sizeof(msg)) == PE_INVAL,
			      "accepted %s", bad[i]);
		ck_assert_ptr_nonnull(strstr(msg, "unknown time zone"));
	}
	ck_assert(archive_zone_valid("Europe/Berlin"));
	ck_assert(archive_zone_valid(NULL));
	ck_assert(!archive_zone_valid("Europe"));
}
END_TEST

static Suite *archive_name_suite(void)
{
	Suite *s = suite_create("archive_name");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_vzdump_extensions);
	tcase_add_test(tc, test_vzdump_bad_names);
	tcase_add_test(tc, test_archive_time_zones);
	tcase_add_test(tc, test_vzdump_bad_zones);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(archive_name_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
