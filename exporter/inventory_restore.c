/* inventory_restore.c - a target's restorability from the facts (pure): its places, verification and vzdump log. */
#include "inventory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pve_restore.h"
#include "restore_policy.h"
#include "vzdump_log.h"

/* The places of one target as they are gathered (restore_policy's view and the page's). */
struct places {
	struct restore_place *rp;
	struct inventory_place *ip;
	size_t n, cap;
	int failed;
	const struct config_pve *pve; /* for a pve target: its source's storages config */
	size_t prefix; /* length of the fact key prefix before the storage id */
};

static void places_add(struct places *pl, const char *name, int offsite, int immutable, double newest)
{
	char *copy;
	if (pl->failed)
		return;
	if (pl->n == pl->cap) {
		size_t cap = pl->cap ? pl->cap * 2 : 4;
		struct restore_place *rp = realloc(pl->rp, cap * sizeof(*rp));
		if (rp)
			pl->rp = rp;
		struct inventory_place *ip = rp ? realloc(pl->ip, cap * sizeof(*ip)) : NULL;
		if (!ip) {
			pl->failed = 1;
			return;
		}
		pl->ip = ip;
		pl->cap = cap;
	}
	if (!(copy = strdup(name))) {
		pl->failed = 1;
		return;
	}
	pl->ip[pl->n] = (struct inventory_place){copy, offsite, immutable, newest};
	pl->rp[pl->n] = (struct restore_place){copy, offsite, immutable, newest};
	pl->n++;
}

static void places_free(struct places *pl)
{
	for (size_t i = 0; i < pl->n; i++)
		free(pl->ip[i].name);
	free(pl->ip);
	free(pl->rp);
}

/* Facts "guest/<vmid>/place/<storage>" of a pve source: the newest intact archive there. */
static void places_pve_fact(void *ctx, const char *key, double v, const char *str)
{
	struct places *pl = ctx;
	const char *sid = key + pl->prefix;
	const struct config_place *cp = config_pve_place(pl->pve, sid);
	(void)str;
	places_add(pl, sid, cp && cp->offsite, cp && cp->immutable, v);
}

/* Every mount holding an archive of vmid; one whose newest archive's log is not clean holds none that counts. */
static void places_mounts(struct facts *f, const struct config *cfg, long vmid, struct places *pl)
{
	char key[64], logkey[64];
	double last, log;
	snprintf(key, sizeof(key), "vmid/%ld/last_backup", vmid);
	snprintf(logkey, sizeof(logkey), "vmid/%ld/log", vmid);
	for (size_t i = 0; i < cfg->nmounts; i++) {
		const struct config_mount *m = &cfg->mounts[i];
		if (!facts_get(f, "mount", m->name, key, &last, NULL))
			continue;
		if (facts_get(f, "mount", m->name, logkey, &log, NULL) && log != VZDUMP_LOG_OK)
			last = 0;
		places_add(pl, m->name, m->offsite, 0, last);
	}
}

static enum restore_log mount_log(struct facts *f, const struct config_target *ct, const char **error)
{
	char key[64];
	double v;
	snprintf(key, sizeof(key), "vmid/%ld/log", ct->vmid);
	if (!facts_get(f, "mount", ct->source, key, &v, error))
		return RESTORE_LOG_NONE;
	return v == VZDUMP_LOG_OK       ? RESTORE_LOG_OK
	       : v == VZDUMP_LOG_FAILED ? RESTORE_LOG_FAILED
					: RESTORE_LOG_UNFINISHED;
}

/* What PVE says about the guest's verification (PBS storages). */
static void pve_verification(struct facts *f, const struct config_target *ct, struct restore_facts *rf,
			     struct inventory_target *t)
{
	char key[64];
	double v;
	snprintf(key, sizeof(key), "guest/%ld/verifiable", ct->vmid);
	rf->verifiable = facts_get(f, "pve", ct->source, key, &v, NULL) && v > 0;
	snprintf(key, sizeof(key), "guest/%ld/newest_verify", ct->vmid);
	rf->newest_failed = facts_get(f, "pve", ct->source, key, &v, NULL) && v == PVE_VERIFY_FAILED;
	snprintf(key, sizeof(key), "guest/%ld/last_failed", ct->vmid);
	if (!facts_get(f, "pve", ct->source, key, &rf->last_failed, NULL))
		rf->last_failed = 0;
	snprintf(key, sizeof(key), "guest/%ld/last_verified", ct->vmid);
	t->has_verified = facts_get(f, "pve", ct->source, key, &t->verified, NULL);
	rf->last_verified = t->has_verified ? t->verified : 0;
}

/*
 * What the PBS says about a pbs target's group: every snapshot there can
 * be verified; the newest one's state, the newest that passed. The listing
 * keeps no time of failed snapshots other than the newest: last_failed
 * stays 0.
 */
static void pbs_verification(struct facts *f, const struct config_target *ct, struct restore_facts *rf,
			     struct inventory_target *t)
{
	double v;
	rf->verifiable = inventory_pbs_fact(f, ct, "snapshots", &v) && v > 0;
	rf->newest_failed = inventory_pbs_fact(f, ct, "last_state", &v) && v < 0;
	t->has_verified = inventory_pbs_fact(f, ct, "last_verified", &t->verified);
	rf->last_verified = t->has_verified ? t->verified : 0;
}

/* Appends the restorability reasons to the freshness verdict (the first reasons matter most). */
static void apply_verdict(struct inventory_target *t, const struct restore_verdict *v)
{
	size_t len = strlen(t->reason);
	if (v->ok)
		return;
	if (t->state == INVENTORY_OK)
		inventory_set_state(t, INVENTORY_DEGRADED, "%s", v->reason);
	else if (len + 2 < sizeof(t->reason))
		snprintf(t->reason + len, sizeof(t->reason) - len, "; %s", v->reason);
}

void inventory_judge_restore(struct facts *f, const struct config *cfg, const struct config_target *ct,
			     double now, struct inventory_target *t)
{
	struct places pl = {0};
	struct restore_facts rf = {0};
	struct restore_verdict v;
	char prefix[64];
	struct restore_policy policy = {ct->policy.min_copies, ct->policy.require_offsite,
					ct->policy.max_verify_age};
	if (ct->kind != TARGET_PVE && ct->kind != TARGET_MOUNT && ct->kind != TARGET_PBS)
		return;
	if (ct->kind == TARGET_PBS) { /* no places counted: the copies rules never apply */
		pbs_verification(f, ct, &rf, t);
		policy.min_copies = 1;
		policy.require_offsite = 0;
	} else if (ct->kind == TARGET_PVE) {
		pl.pve = config_find_pve(cfg, ct->source);
		pl.prefix = (size_t)snprintf(prefix, sizeof(prefix), "guest/%ld/place/", ct->vmid);
		facts_each(f, "pve", ct->source, prefix, places_pve_fact, &pl);
		pve_verification(f, ct, &rf, t);
	} else {
		places_mounts(f, cfg, ct->vmid, &pl);
		rf.log = mount_log(f, ct, &rf.log_error);
	}
	if (pl.failed) { /* not judged: the samples are absent, nothing is claimed */
		places_free(&pl);
		return;
	}
	rf.places = pl.rp;
	rf.nplaces = pl.n;
	restore_judge(&rf, &policy, ct->max_age, now, &v);
	t->restore =
		(struct inventory_restore){1, v.copies, v.offsite_copies, v.verify_failed, v.ok, pl.ip, pl.n};
	free(pl.rp);
	apply_verdict(t, &v);
}
