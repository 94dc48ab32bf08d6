/* pve_pbs.h - which PVE storages are datastores of a configured pbs: source (pure: JSON in, matches out). */
#ifndef PE_PVE_PBS_H
#define PE_PVE_PBS_H

#include <stddef.h>
#include "config.h"
#include "err.h"

struct cJSON;

/* A PVE storage that is (a namespace of) a datastore a pbs: source reads. Strings are borrowed. */
struct pve_pbs_match {
	const char *storage; /* the PVE storage id */
	const char *pbs_source; /* the pbs: entry's name */
	const char *datastore;
	const char *ns; /* the storage's namespace; "" for the root */
};

/*
 * Calls cb for every item of list (PVE's GET /storage: the cluster's
 * storage configuration) of type pbs whose server is a pbs: source of cfg
 * (pbs_same_server(): the same pinned certificate, or the same host and
 * port) and whose datastore that source reads. Returns how many matched.
 */
size_t pve_pbs_match_each(const struct cJSON *list, const struct config *cfg,
			  void (*cb)(void *ctx, const struct pve_pbs_match *m), void *ctx);
/*
 * The same from the answer's bytes ({"data": [...]}, not NUL-terminated):
 * PE_PARSE with msg when it is not such a list (cb was not called).
 */
enum perr pve_pbs_match_body(const char *body, size_t len, const struct config *cfg,
			     void (*cb)(void *ctx, const struct pve_pbs_match *m), void *ctx, char *msg,
			     size_t msglen) PE_WUR;

#endif
