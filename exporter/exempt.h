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

#endif
