/* exempt.h - accepted states from the configuration (pve[].exempt), published for the alert rules. */
#ifndef PE_EXEMPT_H
#define PE_EXEMPT_H

#include "config.h"
#include "expfmt.h"

/*
 * Adds one sample per exemption of every pve source:
 * persistence_pve_guest_exempt{source, vmid, reason} 1 (also for every id
 * of a drill's vmid_range, reason "restore drill scratch range") and
 * persistence_pve_storage_exempt{source, storage, reason} 1. The rules
 * leave exempted guests and storages out of PVEGuestNotCovered,
 * PVEGuestNotInInventory and PVEBackupStorageDown. cfg may be NULL.
 */
void exempt_emit(struct expfmt *out, const struct config *cfg);

#define EXEMPT_DRILL_REASON "restore drill scratch range" /* the reason of a drill's vmid_range */

/*
 * Why guest vmid of source p is exempt: the reason of its pve[].exempt
 * entry, else EXEMPT_DRILL_REASON inside p's drill vmid_range, else NULL.
 * Borrowed from the config (valid while it is).
 */
const char *exempt_guest_reason(const struct config_pve *p, long vmid);

#endif
