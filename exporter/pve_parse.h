/* pve_parse.h - PVE API answers as facts: pure parsers (bytes in, facts out) for every endpoint the collector reads. */
#ifndef PE_PVE_PARSE_H
#define PE_PVE_PARSE_H

#include <stddef.h>
#include "err.h"
#include "pve.h"
#include "pve_restore.h"
#include "upcache.h"

/*
 * Everything here is pure: no I/O, no threads, no clock. Each parser
 * takes one answer body (`{"data": ...}` or a bare array from pvesh; not
 * NUL-terminated) and fills a struct the caller owns and frees with the
 * matching _free; on an error (msg says why, without the request) the
 * struct is empty. Loose typing as in pve.h (numbers as strings, 0/1 as
 * booleans). Strings are copies.
 */

/* /nodes */
struct pve_node {
	char *name;
	int online; /* status "online" */
};
struct pve_nodes {
	struct pve_node *v; /* items without a name are left out */
	size_t n;
};
enum perr pve_parse_nodes(const char *body, size_t len, struct pve_nodes *out, char *msg,
			  size_t msglen) PE_WUR;
void pve_nodes_free(struct pve_nodes *n);

/* /cluster/resources?type=vm, walked one item at a time (10,000 guests never form one tree) */
struct pve_guest {
	long vmid; /* 0 .. 999999999 */
	char type[8]; /* "qemu" or "lxc": other items are left out */
	char *name, *node, *pool; /* NULL when absent */
	int tmpl; /* template */
	size_t pos; /* its place in the answer */
};
struct pve_guests {
	struct pve_guest *v; /* sorted by vmid; of duplicates the first in the answer is kept */
	size_t n;
};
enum perr pve_parse_guests(const char *body, size_t len, struct pve_guests *out, char *msg,
			   size_t msglen) PE_WUR;
void pve_guests_free(struct pve_guests *g);
const struct pve_guest *pve_guests_find(const struct pve_guests *g, long vmid); /* NULL: none */

/*
 * Which guests a backup job selects (PVE::VZDump::get_included_guests):
 * guests on `node` only when set; then pool members, else the vmid list,
 * else all minus exclude. The lists are read once, so asking for one
 * guest costs a binary search, not a parse of the list.
 */
enum pve_sel_mode { PVE_SEL_NONE = 0, PVE_SEL_POOL, PVE_SEL_LIST, PVE_SEL_ALL };
struct pve_selection {
	char *node; /* NULL or "": every node */
	char *pool;
	enum pve_sel_mode mode;
	long *ids; /* LIST: the vmids; ALL: the excluded ones; sorted */
	size_t nids;
};
int pve_selection_has(const struct pve_selection *s, const struct pve_guest *g);

/* /cluster/backup */
struct pve_job {
	char *id, *schedule, *storage, *node; /* NULL when absent */
	int enabled; /* a missing `enabled` is enabled */
	struct pve_selection sel;
};
struct pve_jobs {
	struct pve_job *v; /* every item, in order; non-objects give empty jobs */
	size_t n;
};
enum perr pve_parse_jobs(const char *body, size_t len, struct pve_jobs *out, char *msg, size_t msglen) PE_WUR;
void pve_jobs_free(struct pve_jobs *j);
/* 1 when an enabled job selects g. */
int pve_jobs_cover(const struct pve_jobs *j, const struct pve_guest *g);

/* /nodes/<node>/tasks?typefilter=vzdump */
struct pve_task_info {
	int other_type; /* `type` is present and not vzdump */
	int by_scheduler; /* pve_task_by_scheduler() */
	int has_id; /* `id` is a non-empty string: a single-guest run */
	int id_ok; /* and a number (id_vmid) */
	long id_vmid;
	int has_start, has_end;
	double start, end;
	enum pve_task_result result; /* pve_task_classify() */
};
struct pve_tasks {
	struct pve_task_info *v;
	size_t n; /* items of the list, non-objects included (they count as tasks seen) */
};
enum perr pve_parse_tasks(const char *body, size_t len, struct pve_tasks *out, char *msg,
			  size_t msglen) PE_WUR;
void pve_tasks_free(struct pve_tasks *t);

/* /nodes/<node>/services/pvescheduler/state: 1 running, 0 not, -1 unknown. */
enum perr pve_parse_service(const char *body, size_t len, int *running, char *msg, size_t msglen) PE_WUR;

/* /nodes/<node>/storage?content=backup */
struct pve_storage {
	char *sid;
	int shared, enabled, active;
	int has_total, has_avail;
	double total, avail;
};
struct pve_storages {
	struct pve_storage *v; /* backup storages with an id only */
	size_t n;
};
enum perr pve_parse_storages(const char *body, size_t len, struct pve_storages *out, char *msg,
			     size_t msglen) PE_WUR;
void pve_storages_free(struct pve_storages *s);

/* /cluster/jobs/schedule-analyze: the first slot after start (*due 0 when none). */
enum perr pve_parse_calendar(const char *body, size_t len, double start, double *due, char *msg,
			     size_t msglen) PE_WUR;

/*
 * A storage content listing (content=backup), counted per guest while it
 * streams: what is kept grows with the guests, never with the archives.
 */
struct pve_archive_stats {
	long vmid;
	long count; /* usable archives (pve_archive_parse) */
	double ctime, size; /* the newest one's (ties: the larger); size -1 unknown */
	struct pve_restore_stats r; /* restorability: newest intact, verification, flags (pve_restore.h) */
};
struct pve_listing {
	struct pve_archive_stats *v; /* sorted by vmid */
	size_t n;
	size_t narchives; /* usable archives of any guest */
};
/* The parser for collect_get_parsed(): its result is a struct pve_listing. */
extern const struct upcache_parser pve_listing_parser;
/* The same count over a whole body (tests, fuzzing). Free with pve_listing_free(). */
enum perr pve_parse_listing(const char *body, size_t len, struct pve_listing **out, char *msg,
			    size_t msglen) PE_WUR;
void pve_listing_free(struct pve_listing *l); /* takes NULL */

#endif
