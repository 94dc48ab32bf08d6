/* collector.h - the const collector table and the per-collector contract. */
#ifndef PE_COLLECTOR_H
#define PE_COLLECTOR_H

#include <stddef.h>
#include "config.h"
#include "err.h"
#include "collect.h"

/*
 * A collector turns one configured source into samples on c->out. It is
 * run once per source (count() tasks), each task on its own thread, so a
 * slow source never delays another. Phase 0 collectors talk to upstreams;
 * phase 1 collectors (the inventory) run after phase 0 and read its facts.
 * A task returns PE_OK when its source answered (it may still have lost
 * part of the data, logged); anything else marks the source down.
 */
struct collector {
	const char *name; /* collector label and collect[] name */
	const char *kind; /* kind label of persistence_source_up; NULL: no source */
	int phase;
	size_t (*count)(const struct config *cfg);
	const char *(*source_name)(const struct config *cfg, size_t i);
	enum perr (*collect)(struct collect *c);
};

extern const struct collector collector_pve;
extern const struct collector collector_pve_local;
extern const struct collector collector_mount;
extern const struct collector collector_n8n;
extern const struct collector collector_docker;
extern const struct collector collector_pbs;
extern const struct collector collector_inventory;
extern const struct collector collector_restore_test;

/* NULL-terminated, in run order. */
extern const struct collector *const collector_table[];

const struct collector *collector_find(const char *name);

#endif
