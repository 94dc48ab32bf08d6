/* config_policy.h - the restorability keys of the config: places (pve[].storages, mounts[].location) and policy. */
#ifndef PE_CONFIG_POLICY_H
#define PE_CONFIG_POLICY_H

#include "config_schema.h"

/* Setters for config.c's key tables (docs/configuration.md, "Restorability"). */
void cfg_set_location(struct cfg_ctx *ctx, const struct ynode *v, const char *path,
		      void *dst); /* int offsite */
void cfg_set_min_copies(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst); /* long */
/* global.policy: a struct config_policy. */
void cfg_set_policy(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst);
/* pve[].storages: {<storage id>: {location, immutable}} into a struct config_pve. */
void cfg_set_pve_storages(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst);

/*
 * A target's policy over global.policy (targets are read after global:).
 * Keys set on a kind they do not apply to are reported: min_copies and
 * require_offsite are for pve and mount targets (kinds without places get
 * 1 and 0), max_verify_age for pve and pbs targets (others get 0).
 */
void cfg_target_policy(struct cfg_ctx *ctx, const struct ynode *map, const char *path,
		       struct config_target *t);

#endif
