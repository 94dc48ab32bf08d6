/* status_restore.c - a target's restorability on the status page, in /status and persistencectl status. */
#include "status_restore.h"

#include <stdio.h>

/* A number, or null when unknown. */
static void number_or_null(cJSON *o, const char *name, int known, double v)
{
	if (known)
		cJSON_AddNumberToObject(o, name, v);
	else
		cJSON_AddNullToObject(o, name);
}

int status_restore_line(double now, const struct inventory_target *t, char *out, size_t n, int *bad)
{
	const struct inventory_restore *r = &t->restore;
	size_t len;
	char age[32];

	*bad = 0;
	out[0] = '\0';
	if (!t->policy || !r->known || !t->counts_places) /* pbs: its verification is in the reason */
		return 0;
	*bad = !r->policy_ok;
	len = (size_t)snprintf(out, n, "%ld cop%s, %ld offsite", r->copies, r->copies == 1 ? "y" : "ies",
			       r->offsite_copies);
	if (len >= n)
		return 1;
	if (r->verify_failed == 1) {
		snprintf(out + len, n - len, " · a backup failed verification");
	} else if (t->has_verified) {
		inventory_format_age(age, sizeof(age), now - t->verified);
		snprintf(out + len, n - len, " · verified backup %s old", age);
	} else if (t->policy->max_verify_age > 0) {
		snprintf(out + len, n - len, " · no verified backup");
	}
	return 1;
}

void status_restore_json(double now, const struct inventory_target *t, cJSON *o)
{
	const struct inventory_restore *r = &t->restore;
	cJSON *rj, *places;
	char line[256];
	int bad;

	if (!status_restore_line(now, t, line, sizeof(line), &bad) ||
	    !(rj = cJSON_AddObjectToObject(o, "restorability"))) {
		cJSON_AddNullToObject(o, "restorability");
		return;
	}
	cJSON_AddStringToObject(rj, "summary", line);
	cJSON_AddBoolToObject(rj, "policy_ok", r->policy_ok);
	cJSON_AddNumberToObject(rj, "copies", (double)r->copies);
	cJSON_AddNumberToObject(rj, "offsite_copies", (double)r->offsite_copies);
	cJSON_AddNumberToObject(rj, "min_copies", (double)t->policy->min_copies);
	cJSON_AddBoolToObject(rj, "require_offsite", t->policy->require_offsite);
	number_or_null(rj, "max_verify_age_seconds", t->policy->max_verify_age > 0,
		       t->policy->max_verify_age);
	number_or_null(rj, "last_verified", t->has_verified, t->verified);
	if (r->verify_failed >= 0)
		cJSON_AddBoolToObject(rj, "verify_failed", r->verify_failed);
	else
		cJSON_AddNullToObject(rj, "verify_failed");
	if (!(places = cJSON_AddArrayToObject(rj, "places")))
		return;
	for (size_t k = 0; k < r->nplaces; k++) {
		cJSON *p = cJSON_CreateObject();
		if (!p || !cJSON_AddItemToArray(places, p)) {
			cJSON_Delete(p);
			return;
		}
		cJSON_AddStringToObject(p, "name", r->places[k].name);
		cJSON_AddStringToObject(p, "location", r->places[k].offsite ? "offsite" : "onsite");
		cJSON_AddBoolToObject(p, "immutable", r->places[k].immutable);
		number_or_null(p, "newest", r->places[k].newest > 0, r->places[k].newest);
	}
}
