/* restore_policy.h - a target's restorability verdict (pure): copies, offsite copies, verification, vzdump log. */
#ifndef PE_RESTORE_POLICY_H
#define PE_RESTORE_POLICY_H

#include <stddef.h>

/* A place that holds backups of the target: a PVE storage, a mount, a PBS datastore. */
struct restore_place {
	const char *name; /* storage id, mount or datastore name (borrowed) */
	int offsite; /* configured as offsite; anything else counts as onsite */
	int immutable; /* configured as immutable (shown, not judged) */
	double newest; /* newest backup there that can be restored (verification not failed, log not failed); 0: none */
};

/* What the vzdump log beside a mount target's newest archive says. */
enum restore_log { RESTORE_LOG_NONE = 0, RESTORE_LOG_OK, RESTORE_LOG_FAILED, RESTORE_LOG_UNFINISHED };

/* Everything the sources told about one target's backups. Zero means "not known". */
struct restore_facts {
	const struct restore_place *places;
	size_t nplaces;
	int verifiable; /* some backup is where verification exists (a PBS) */
	int newest_failed; /* the newest backup failed verification */
	double last_failed; /* backup time of the newest backup that failed verification; 0: none */
	double last_verified; /* backup time of the newest backup that passed verification; 0: none */
	enum restore_log log;
	const char *log_error; /* the first ERROR: text when log is RESTORE_LOG_FAILED; may be NULL */
};

/* The target's policy keys (config: per target, defaults under global.policy). */
struct restore_policy {
	long min_copies; /* >= 1 */
	int require_offsite;
	double max_verify_age; /* seconds; 0: verification not required */
};

struct restore_verdict {
	long copies; /* places with a restorable backup younger than max_age */
	long offsite_copies; /* of those, offsite */
	int verify_failed; /* 1: the newest backup, or one younger than max_age, failed; 0: none did; -1: unknown */
	int ok; /* no restorability reason below */
	char reason[256]; /* "1 copy, policy wants 2; no offsite copy"; "" when ok */
};

/*
 * Judges a target with a known newest backup (the freshness rule is the
 * inventory's): the newest backup failed verification, or one younger than
 * max_age did; the newest archive's vzdump log reports an error or no
 * finish; fewer than min_copies places (when at least one holds a fresh
 * backup: none at all is staleness); no offsite copy when required; no
 * verified backup younger than max_verify_age when that is set. Reasons
 * are joined with "; ". Pure: `now` is passed in.
 */
void restore_judge(const struct restore_facts *f, const struct restore_policy *p, double max_age, double now,
		   struct restore_verdict *v);

#endif
