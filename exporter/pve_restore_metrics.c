/* pve_restore_metrics.c - the samples of a guest's restorability facts from PVE listings (docs/metrics.md, "PVE"). */
#include "pve_restore.h"

#include "expfmt.h"

static const struct expfmt_desc d_storage_last = {
	"persistence_pve_guest_storage_last_backup_timestamp_seconds", EXPFMT_GAUGE,
	"Creation time of the guest's newest archive on the backup storage (a shared storage once per "
	"cluster, a local one over every node)."};
static const struct expfmt_desc d_storage_count = {"persistence_pve_guest_storage_backups", EXPFMT_GAUGE,
						   "Number of the guest's archives on the backup storage."};
static const struct expfmt_desc d_verified = {
	"persistence_pve_guest_last_verified_backup_timestamp_seconds", EXPFMT_GAUGE,
	"Creation time of the guest's newest archive whose PBS verification is ok; absent when none is."};
static const struct expfmt_desc d_verify = {
	"persistence_pve_guest_last_verify_timestamp_seconds", EXPFMT_GAUGE,
	"Start of the verification of that archive (from its verify task's UPID)."};
static const struct expfmt_desc d_failed = {
	"persistence_pve_guest_verify_failed_backups", EXPFMT_GAUGE,
	"Archives of the guest on PBS storages whose verification failed (they cannot be restored)."};
static const struct expfmt_desc d_protected = {
	"persistence_pve_guest_last_backup_protected", EXPFMT_GAUGE,
	"1 when the guest's newest archive is protected from pruning and removal, else 0."};
static const struct expfmt_desc d_encrypted = {
	"persistence_pve_guest_last_backup_encrypted", EXPFMT_GAUGE,
	"1 when the guest's newest archive is encrypted on the PBS (PVE shows its key fingerprint); only "
	"when that archive is on a PBS storage."};

void pve_restore_emit(struct expfmt *o, const char *src, const char *vmid, const struct pve_restore_guest *g,
		      int complete)
{
	const struct pve_restore_stats *a = &g->all;

	for (size_t i = 0; i < g->nplaces; i++) {
		const struct pve_restore_place *pl = &g->places[i];
		if (!pl->s.count)
			continue;
		expfmt_add(o, &d_storage_last, pl->s.newest, "source", src, "vmid", vmid, "storage",
			   pl->storage, NULL);
		expfmt_add(o, &d_storage_count, (double)pl->s.count, "source", src, "vmid", vmid, "storage",
			   pl->storage, NULL);
	}
	if (!a->count)
		return;
	expfmt_add(o, &d_protected, a->newest_protected != 0, "source", src, "vmid", vmid, NULL);
	if (a->newest_pbs)
		expfmt_add(o, &d_encrypted, a->newest_encrypted != 0, "source", src, "vmid", vmid, NULL);
	if (a->last_verified > 0)
		expfmt_add(o, &d_verified, a->last_verified, "source", src, "vmid", vmid, NULL);
	if (a->last_verified > 0 && a->last_verify > 0)
		expfmt_add(o, &d_verify, a->last_verify, "source", src, "vmid", vmid, NULL);
	if (a->pbs_archives > 0 && complete)
		expfmt_add(o, &d_failed, (double)a->verify_failed, "source", src, "vmid", vmid, NULL);
}
