/* config_pbs.h - the pbs: section and the pbs target kind of the configuration (for config.c only). */
#ifndef PE_CONFIG_PBS_H
#define PE_CONFIG_PBS_H

#include "config_schema.h"

/* The pbs: list (name, url with :8007 added when it names no port, token, tls, timeout, selection). */
extern const struct cfg_list config_pbs_list;

/*
 * A target's pbs: {source, datastore, namespace, backup_type, backup_id}
 * into t (kind TARGET_PBS, namespace "" when absent). The source must be
 * a pbs: entry, and the datastore and namespace ones it reads.
 */
void config_pbs_target(struct cfg_ctx *ctx, const struct ynode *v, const char *path, struct config_target *t);

/* Frees the pbs: entries and the pbs fields of the targets (not the arrays of targets). */
void config_pbs_free(struct config *c);

#endif
