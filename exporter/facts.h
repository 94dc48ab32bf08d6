/* facts.h - what one scrape learned: typed facts for later phases and the status page, and attachments. */
#ifndef PE_FACTS_H
#define PE_FACTS_H

#include <stddef.h>

/*
 * A fact is a number and an optional string under (kind, source, key).
 * Thread-safe: tasks set facts concurrently. A later fact with the same
 * id shadows an earlier one. Nothing is freed before facts_free(), so the
 * strings handed out stay valid until then. Documented keys:
 *   pve/<src>   guest/<vmid>/last_backup, guest/<vmid>/template, guest/<vmid>/name (str),
 *               guest/<vmid>/type (str), guest/<vmid>/node (str); restorability:
 *               guest/<vmid>/place/<storage>, guest/<vmid>/verifiable, guest/<vmid>/newest_verify,
 *               guest/<vmid>/last_failed, guest/<vmid>/last_verified (docs/metrics.md)
 *   mount/<src> vmid/<vmid>/last_backup, vmid/<vmid>/log (enum vzdump_log_verdict, first error as str)
 *   n8n/<src>   live_total, snapshot_last, snapshot_workflows
 *   pbs/<src>   group/<store>/<ns>/<type>/<id>/{snapshots,last_backup,last_verified,verify_failed,last_state},
 *               datastore/<store>, namespaces/<store>, listing/<store>/<ns> (1 read, 0 failed: str why, -1 late)
 *   pve/<src>   storage/<sid>/pbs_source, storage/<sid>/pbs_datastore, storage/<sid>/pbs_namespace (str)
 *   <kind>/<src> up (set by the scrape after the task ends)
 */
struct facts;

struct facts *facts_new(void); /* NULL when out of memory */
void facts_free(struct facts *f); /* frees the facts and every attachment (with its free_fn); takes NULL */

/* Out of memory or an over-long id drops the fact with a warning. */
void facts_set(struct facts *f, const char *kind, const char *source, const char *key, double v,
	       const char *str);
/* 1 and *v (and *str, borrowed until facts_free) when present; 0 when absent. v, str may be NULL. */
int facts_get(struct facts *f, const char *kind, const char *source, const char *key, double *v,
	      const char **str);
/* Calls cb for every fact of kind/source whose key starts with prefix, in insertion order. */
void facts_each(struct facts *f, const char *kind, const char *source, const char *prefix,
		void (*cb)(void *ctx, const char *key, double v, const char *str), void *ctx);

/* Keeps p under name until facts_free(), which calls free_fn(p) (may be NULL). On failure p is freed at once. */
void facts_attach(struct facts *f, const char *name, void *p, void (*free_fn)(void *));
/* The newest attachment under name, or NULL. */
void *facts_attached(struct facts *f, const char *name);

#endif
