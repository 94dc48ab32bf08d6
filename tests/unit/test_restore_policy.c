/* test_restore_policy.c - a target's restorability verdict: copies, offsite, verification, vzdump log, reasons. */
#include "testutil.h"

#include "restore_policy.h"

#define NOW 2000000000.0
#define HOUR 3600.0
#define DAY 86400.0
#define MAX_AGE (26 * HOUR)

static const struct restore_policy lax = {1, 0, 0};

static void judge(const struct restore_facts *f, const struct restore_policy *p, struct restore_verdict *v)
{
	restore_judge(f, p, MAX_AGE, NOW, v);
}

START_TEST(test_copies_and_offsite)
{
	struct restore_place pl[] = {
		{"shop-pbs", 0, 0, NOW - 2 * HOUR}, /* fresh, onsite */
		{"local", 0, 0, NOW - 30 * HOUR}, /* older than max_age: no copy */
		{"usb", 1, 1, NOW - 5 * HOUR}, /* fresh, offsite */
		{"nothing", 1, 0, 0}, /* listed, no backup there */
	};
	struct restore_facts f = {.places = pl, .nplaces = 4};
	struct restore_verdict v;
	struct restore_policy two_offsite = {2, 1, 0}, three = {3, 0, 0};

	judge(&f, &lax, &v);
	ck_assert_int_eq(v.copies, 2);
	ck_assert_int_eq(v.offsite_copies, 1);
	ck_assert_int_eq(v.ok, 1);
	ck_assert_str_eq(v.reason, "");
	ck_assert_int_eq(v.verify_failed, -1); /* nothing verifiable: unknown */
	judge(&f, &two_offsite, &v);
	ck_assert_int_eq(v.ok, 1);
	judge(&f, &three, &v);
	ck_assert_int_eq(v.ok, 0);
	ck_assert_str_eq(v.reason, "2 copies, policy wants 3");

	pl[2].newest = 0; /* the offsite copy is gone */
	judge(&f, &two_offsite, &v);
	ck_assert_int_eq(v.copies, 1);
	ck_assert_int_eq(v.offsite_copies, 0);
	ck_assert_str_eq(v.reason, "1 copy, policy wants 2; no offsite copy");

	/* no fresh copy at all: staleness, which the inventory reports itself */
	pl[0].newest = NOW - 27 * HOUR;
	judge(&f, &two_offsite, &v);
	ck_assert_int_eq(v.copies, 0);
	ck_assert_int_eq(v.ok, 1);
	ck_assert_str_eq(v.reason, "");
	/* exactly max_age old is no longer fresh (the inventory's own rule) */
	pl[0].newest = NOW - MAX_AGE;
	judge(&f, &lax, &v);
	ck_assert_int_eq(v.copies, 0);
}
END_TEST

START_TEST(test_verification)
{
	struct restore_place pl[] = {{"pbs", 0, 0, NOW - HOUR}};
	struct restore_facts f = {
		.places = pl, .nplaces = 1, .verifiable = 1, .last_verified = NOW - 2 * DAY};
	struct restore_policy week = {1, 0, 7 * DAY}, day = {1, 0, DAY};
	struct restore_verdict v;

	judge(&f, &lax, &v);
	ck_assert_int_eq(v.verify_failed, 0);
	ck_assert_int_eq(v.ok, 1);
	judge(&f, &week, &v);
	ck_assert_int_eq(v.ok, 1);
	judge(&f, &day, &v);
	ck_assert_str_eq(v.reason, "newest verified backup 2d old, max 1d");
	f.last_verified = NOW - 9 * DAY - 3 * HOUR;
	judge(&f, &week, &v);
	ck_assert_str_eq(v.reason, "newest verified backup 9d 3h old, max 7d");
	f.last_verified = 0;
	judge(&f, &week, &v);
	ck_assert_str_eq(v.reason, "no verified backup");
	judge(&f, &lax, &v); /* verification not required: nothing to say */
	ck_assert_int_eq(v.ok, 1);

	/* the newest backup failed: whatever the policy */
	f.newest_failed = 1;
	f.last_failed = NOW - HOUR;
	judge(&f, &lax, &v);
	ck_assert_int_eq(v.verify_failed, 1);
	ck_assert_str_eq(v.reason, "newest backup failed verification");
	judge(&f, &week, &v);
	ck_assert_str_eq(v.reason, "newest backup failed verification; no verified backup");

	/* an older backup younger than max_age failed */
	f.newest_failed = 0;
	f.last_failed = NOW - 25 * HOUR;
	judge(&f, &lax, &v);
	ck_assert_int_eq(v.verify_failed, 1);
	ck_assert_str_eq(v.reason, "a backup from 1d 1h ago failed verification");
	/* one older than max_age: counted by the PVE metric, no longer a reason */
	f.last_failed = NOW - 27 * HOUR;
	judge(&f, &lax, &v);
	ck_assert_int_eq(v.verify_failed, 0);
	ck_assert_int_eq(v.ok, 1);
}
END_TEST

START_TEST(test_log)
{
	struct restore_place pl[] = {{"synology", 0, 0, NOW - HOUR}};
	struct restore_facts f = {.places = pl, .nplaces = 1, .log = RESTORE_LOG_OK};
	struct restore_verdict v;

	judge(&f, &lax, &v);
	ck_assert_int_eq(v.ok, 1);
	f.log = RESTORE_LOG_NONE;
	judge(&f, &lax, &v);
	ck_assert_int_eq(v.ok, 1);
	f.log = RESTORE_LOG_FAILED;
	judge(&f, &lax, &v);
	ck_assert_str_eq(v.reason, "newest backup's log reports an error");
	f.log_error = "Backup of VM 105 failed - unable to set protected flag";
	judge(&f, &lax, &v);
	ck_assert_str_eq(v.reason,
			 "newest backup's log reports an error: Backup of VM 105 failed - unable to set "
			 "protected flag");
	f.log = RESTORE_LOG_UNFINISHED;
	judge(&f, &lax, &v);
	ck_assert_str_eq(v.reason, "newest backup's log does not show it finished");
}
END_TEST

/* Every reason at once still fits, cut at the end rather than overflowing. */
START_TEST(test_reasons_are_bounded)
{
	char err[400];
	struct restore_place pl[] = {{"a", 0, 0, NOW - HOUR}};
	struct restore_policy strict = {5, 1, DAY};
	struct restore_facts f = {.places = pl,
				  .nplaces = 1,
				  .verifiable = 1,
				  .newest_failed = 1,
				  .last_failed = NOW - HOUR,
				  .log = RESTORE_LOG_FAILED,
				  .log_error = err};
	struct restore_verdict v;

	memset(err, 'x', sizeof(err) - 1);
	err[sizeof(err) - 1] = '\0';
	judge(&f, &strict, &v);
	ck_assert_int_eq(v.ok, 0);
	ck_assert_uint_lt(strlen(v.reason), sizeof(v.reason));
	ck_assert_msg(strncmp(v.reason,
			      "newest backup failed verification; newest backup's log reports an error: x",
			      74) == 0,
		      "%s", v.reason);
	ck_assert_msg(strstr(v.reason, "1 copy, policy wants 5; no offsite copy; no verified backup") != NULL,
		      "%s", v.reason);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("restore_policy");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_copies_and_offsite);
	tcase_add_test(tc, test_verification);
	tcase_add_test(tc, test_log);
	tcase_add_test(tc, test_reasons_are_bounded);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
