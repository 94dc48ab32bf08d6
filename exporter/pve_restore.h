/* pve_restore.h - restorability facts from PVE backup listings (pure): per guest and storage, verification, flags. */
#ifndef PE_PVE_RESTORE_H
#define PE_PVE_RESTORE_H

#include <stddef.h>
#include "err.h"

struct cJSON;

/* A snapshot's verification as PVE passes it through from a Proxmox Backup Server. */
enum pve_verify {
	PVE_VERIFY_NONE = 0, /* never verified, or not on a PBS storage */
	PVE_VERIFY_OK,
	PVE_VERIFY_FAILED /* a chunk is missing or corrupt: the snapshot cannot be restored */
};

/* One archive, an item of /nodes/{node}/storage/{sid}/content?content=backup. */
struct pve_restore_item {
	long vmid;
	double ctime;
	double size; /* -1: unknown */
	int pbs; /* on a PBS storage (format pbs-vm / pbs-ct): verification and encryption apply */
	enum pve_verify verify;
	double verify_start; /* start of the verify task, from verification.upid; 0: unknown */
	int protected; /* PVE's `protected` (1 when present and true) */
	int encrypted; /* PVE's `encrypted` is present (a key fingerprint or "1"); PBS only */
};

/* 1 and *it when item is a usable backup volume (pve_archive_parse() plus the fields above), else 0. */
int pve_restore_item_parse(const struct cJSON *item, struct pve_restore_item *it);

/*
 * The start time in a PBS task UPID
 * (UPID:node:pid:pstart:task_id:starttime:type:id:auth:, hex fields, PBS
 * puts a task id before the start time where PVE does not). 1 and *start,
 * else 0.
 */
int pve_restore_upid_start(const char *upid, double *start);

/*
 * What a set of archives says (one guest's on one storage, or on all of
 * them), folded archive by archive: a listing can be walked element by
 * element and never kept. Zero it before the first add.
 */
struct pve_restore_stats {
	long count;
	double newest; /* ctime of the newest archive; 0: none */
	double newest_intact; /* ctime of the newest archive whose verification did not fail; 0: none */
	int newest_pbs, newest_protected, newest_encrypted; /* flags of the newest archive */
	enum pve_verify newest_verify;
	long pbs_archives; /* archives on PBS storages (verification applies to them) */
	double last_verified; /* ctime of the newest archive verified ok; 0: none */
	double last_verify; /* start of that verification; 0: unknown */
	long verify_failed; /* archives whose verification failed */
	double last_failed; /* ctime of the newest of those; 0: none */
};

void pve_restore_stats_add(struct pve_restore_stats *s, const struct pve_restore_item *it);
/* Adds what from says to into (another storage, or the same storage listed from another node). */
void pve_restore_stats_merge(struct pve_restore_stats *into, const struct pve_restore_stats *from);

/* One storage's archives of a guest. */
struct pve_restore_place {
	const char *storage; /* borrowed: lives as long as the caller's storage list */
	struct pve_restore_stats s;
};

/* A guest over every storage: per storage id, and all together. Zero it before the first add. */
struct pve_restore_guest {
	struct pve_restore_place *places; /* one per storage id, in the order first seen */
	size_t nplaces, capplaces;
	struct pve_restore_stats all;
};

/*
 * Adds the guest's archives found on storage (borrowed, compared by
 * content): the same storage id listed from two nodes (a local storage
 * on each) is one place. PE_NOMEM leaves g as it was.
 */
enum perr pve_restore_guest_add(struct pve_restore_guest *g, const char *storage,
				const struct pve_restore_stats *s) PE_WUR;
void pve_restore_guest_clear(struct pve_restore_guest *g); /* frees the places; g is zeroed */

struct expfmt;
/*
 * The restorability samples of one guest with archives (pve_restore_metrics.c,
 * docs/metrics.md): per storage its newest archive and count; protected,
 * encrypted (newest on a PBS) and verification when the guest has
 * archives on a PBS storage. complete: every backup storage was listed
 * (the failed-verification count is left out otherwise: it could be too low).
 */
void pve_restore_emit(struct expfmt *o, const char *src, const char *vmid, const struct pve_restore_guest *g,
		      int complete);

#endif
