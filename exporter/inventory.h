/* inventory.h - the backup inventory report that the inventory collector builds for the status page. */
#ifndef PE_INVENTORY_H
#define PE_INVENTORY_H

#include <stddef.h>
#include "config.h"
#include "facts.h"

/*
 * OK: a backup exists, is younger than max_age and its source answered.
 * DEGRADED: the backup is missing, stale, or its source is down (or, for
 * n8n, the snapshot holds fewer workflows than the live instance), or the
 * target misses its restorability policy (copies, offsite, verification,
 * the vzdump log).
 * UNKNOWN: the source (or the file probe) did not answer in time.
 */
enum inventory_state { INVENTORY_OK = 0, INVENTORY_DEGRADED, INVENTORY_UNKNOWN };

/* A place holding backups of a target (a PVE storage or a mount), for the page. */
struct inventory_place {
	char *name; /* storage id or mount name (owned) */
	int offsite, immutable; /* from the config */
	double newest; /* newest backup there that can be restored; 0: none */
};

/* What the restorability policy found (pve, mount and pbs targets whose source answered). */
struct inventory_restore {
	int known; /* judged in this scrape */
	long copies, offsite_copies; /* places with a restorable backup younger than max_age (pve, mount) */
	int verify_failed; /* 1 / 0; -1: not known (no backup where verification exists) */
	int policy_ok; /* no restorability reason */
	struct inventory_place *places; /* owned */
	size_t nplaces;
};

struct inventory_target {
	/* borrowed from the scrape's config (valid while the scrape lives) */
	const char *name;
	const char *site; /* "" when unset */
	const char *kind; /* pve|mount|n8n|file|pbs */
	const char *source; /* source name; "" for the file kind */
	const char *source_kind; /* kind of that source's collector; NULL for the file kind */
	const char *severity;
	const char *restore_doc; /* URL or path; NULL when unset */
	double max_age; /* seconds */
	int has_last; /* 0: no backup found, or unknown */
	double last; /* unix time of the newest backup when has_last */
	int remembered; /* last was read in an earlier scrape: the source did not answer in this one */
	int has_verified; /* a backup of the target passed verification (pve, pbs) */
	double verified; /* backup time of the newest such backup when has_verified */
	const struct config_policy *policy; /* borrowed from the config; NULL for kinds without a policy */
	int counts_places; /* pve, mount: copies over places are counted (min_copies, require_offsite) */
	struct inventory_restore restore;
	int answered; /* the source (or the file probe) answered in this scrape */
	int ok;
	enum inventory_state state;
	int source_down; /* the source answered badly: its error completes the reason */
	int doc_known; /* 0: the restore doc could not be checked in time */
	int documented;
	char reason[320]; /* "" when OK; e.g. "backup 4d 2h old, max 26h", "1 copy, policy wants 2" */
};

struct inventory_guest {
	char *source;
	long vmid;
	char *name; /* "" when unknown */
	char *node;
	char *type; /* qemu|lxc, "" when unknown */
	const char
		*exempt_reason; /* why the config exempts it (borrowed from the config); NULL: not exempt */
};

struct inventory_report {
	struct inventory_target *targets;
	size_t ntargets;
	struct inventory_guest *uninventoried; /* non-template PVE guests no pve target lists, not exempt */
	size_t nuninventoried;
	/* the same, but exempt (pve[].exempt, a drill's scratch range): shown apart, with the reason */
	struct inventory_guest *exempt_guests;
	size_t nexempt_guests;
	size_t nok, ndegraded, nunknown;
};

/* The report is attached to the scrape under this name. */
#define INVENTORY_ATTACHMENT "inventory"

void inventory_report_free(void *report); /* takes NULL */
/* Frees the strings of one guest entry (not the entry itself). */
void inventory_guest_clear(struct inventory_guest *g);
const char *inventory_state_str(enum inventory_state s); /* "OK", "DEGRADED", "UNKNOWN" */
/* "18/20 OK, 2 degraded" (", 1 unknown" appended when some are unknown). */
void inventory_summary(const struct inventory_report *r, char *out, size_t n);
/* An age for people: the two largest units, rounded down: "4d 2h", "5h 12m", "3m 20s", "12s". */
void inventory_format_age(char *out, size_t n, double seconds);
/* A configured max age in the largest unit that divides it: "26h", "8d", "90m", "45s". */
void inventory_format_max_age(char *out, size_t n, double seconds);
/* Fills t's fields from its config entry (not yet judged). */
void inventory_target_init(struct inventory_target *t, const struct config_target *ct);
/*
 * Judges a pve, mount, n8n or pbs target from the facts its source's
 * collector left (facts.h keys) at time now: UNKNOWN when the source was
 * not collected (pbs: its listing not read in time), DEGRADED when it is
 * down or the backup is missing, stale, (n8n) holds fewer workflows than
 * the live instance, else OK (verification: inventory_judge_restore).
 */
void inventory_judge_source(struct facts *f, const struct config_target *ct, double now,
			    struct inventory_target *t);
/*
 * Judges the restorability of a pve, mount or pbs target whose source
 * answered (inventory_restore.c): copies over its places, offsite copies,
 * verification and the vzdump log from the facts, against its policy; a
 * pbs target (one place, its group) only for verification: its newest
 * snapshot failed, or none passed within max_verify_age. Fills t->restore
 * and t->has_verified; a missed policy makes t DEGRADED (the reasons
 * follow the freshness one). Does nothing for other kinds.
 */
void inventory_judge_restore(struct facts *f, const struct config *cfg, const struct config_target *ct,
			     double now, struct inventory_target *t);
/* A pbs target's group fact "group/<store>/<ns>/<type>/<id>/<what>" (facts.h); 0 when absent. */
int inventory_pbs_fact(struct facts *f, const struct config_target *ct, const char *what, double *v);
/* The age rule shared by every kind; missing is the reason when there is no backup. */
void inventory_judge_age(struct inventory_target *t, double now, const char *missing);
/* Sets state (ok with it) and the reason, printf-style. */
void inventory_set_state(struct inventory_target *t, enum inventory_state st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* 1 when doc is an http:// or https:// URL (any case). */
int inventory_doc_is_url(const char *doc);

#endif
