/* status_restore.h - a target's restorability as the status renderings show it (status.c). */
#ifndef PE_STATUS_RESTORE_H
#define PE_STATUS_RESTORE_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include "inventory.h"

/*
 * The restorability line of a target at time now ("2 copies, 1 offsite ·
 * verified backup 2d old"): 1 with out set and *bad when the target misses
 * its policy, 0 with out "" when there is nothing to say (a kind without
 * places, or not judged because the source did not answer).
 */
int status_restore_line(double now, const struct inventory_target *t, char *out, size_t n, int *bad);
/*
 * Adds "restorability" to o: the line as "summary", policy_ok, copies,
 * offsite_copies, the policy, last_verified, verify_failed and the places
 * (docs/persistencectl.md); null when status_restore_line has nothing to say.
 */
void status_restore_json(double now, const struct inventory_target *t, cJSON *o);

#endif
