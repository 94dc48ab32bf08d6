/* pbs_metrics.c - the samples of a Proxmox Backup Server's facts (docs/metrics.md, "PBS"). */
#include "pbs.h"

#include "expfmt.h"

static const struct expfmt_desc d_ds_up = {
	"persistence_pbs_datastore_up", EXPFMT_GAUGE,
	"1 when the datastore answered its status request (PBS can open and statfs it)."};
static const struct expfmt_desc d_ds_size = {"persistence_pbs_datastore_size_bytes", EXPFMT_GAUGE,
					     "Size of the file system holding the datastore."};
static const struct expfmt_desc d_ds_used = {"persistence_pbs_datastore_used_bytes", EXPFMT_GAUGE,
					     "Used space on the file system holding the datastore."};
static const struct expfmt_desc d_ds_avail = {"persistence_pbs_datastore_avail_bytes", EXPFMT_GAUGE,
					      "Space available to PBS on the datastore's file system."};
static const struct expfmt_desc d_ds_full = {
	"persistence_pbs_datastore_estimated_full_timestamp_seconds", EXPFMT_GAUGE,
	"When PBS expects the datastore to be full (its own fit over 30 days); absent when it has no "
	"such estimate."};
static const struct expfmt_desc d_gc_last = {"persistence_pbs_gc_last_run_timestamp_seconds", EXPFMT_GAUGE,
					     "End of the datastore's last finished garbage collection."};
static const struct expfmt_desc d_gc_ok = {
	"persistence_pbs_gc_last_run_success", EXPFMT_GAUGE,
	"1 when the last finished garbage collection ended OK or with warnings."};
static const struct expfmt_desc d_gc_due = {
	"persistence_pbs_gc_next_due_timestamp_seconds", EXPFMT_GAUGE,
	"First slot of the GC schedule after the last run (PBS's next-run); in the past: overdue."};
static const struct expfmt_desc d_gc_pending = {
	"persistence_pbs_gc_pending_bytes", EXPFMT_GAUGE,
	"Bytes the last GC found unused but kept for the safety window (freed by the next one)."};
static const struct expfmt_desc d_gc_removed_bad = {
	"persistence_pbs_gc_removed_bad_chunks", EXPFMT_GAUGE,
	"Chunks marked bad by a verify that the last GC removed."};
static const struct expfmt_desc d_gc_still_bad = {
	"persistence_pbs_gc_still_bad_chunks", EXPFMT_GAUGE,
	"Chunks marked bad by a verify and still there after the last GC (snapshots using them are "
	"damaged)."};
static const struct expfmt_desc d_job_info = {"persistence_pbs_job_info", EXPFMT_GAUGE,
					      "A verify, prune or sync job of the PBS."};
static const struct expfmt_desc d_job_enabled = {"persistence_pbs_job_enabled", EXPFMT_GAUGE,
						 "1 unless the job is disabled (prune jobs only)."};
static const struct expfmt_desc d_job_last = {"persistence_pbs_job_last_run_timestamp_seconds", EXPFMT_GAUGE,
					      "End of the job's last finished run."};
static const struct expfmt_desc d_job_ok = {"persistence_pbs_job_last_run_success", EXPFMT_GAUGE,
					    "1 when the job's last finished run ended OK or with warnings."};
static const struct expfmt_desc d_job_due = {
	"persistence_pbs_job_next_due_timestamp_seconds", EXPFMT_GAUGE,
	"First slot of the job's schedule after its last run (PBS's next-run); in the past: overdue."};
static const struct expfmt_desc d_task_fail = {"persistence_pbs_task_last_failure_timestamp_seconds",
					       EXPFMT_GAUGE,
					       "End of the newest failed task of this worker type."};
static const struct expfmt_desc d_grp_last = {"persistence_pbs_group_last_backup_timestamp_seconds",
					      EXPFMT_GAUGE,
					      "Backup time of the group's newest finished snapshot."};
static const struct expfmt_desc d_grp_count = {"persistence_pbs_group_snapshots", EXPFMT_GAUGE,
					       "Finished snapshots of the backup group."};
static const struct expfmt_desc d_grp_verified = {
	"persistence_pbs_group_last_verified_backup_timestamp_seconds", EXPFMT_GAUGE,
	"Backup time of the group's newest snapshot whose last verification passed."};
static const struct expfmt_desc d_grp_failed = {"persistence_pbs_group_verify_failed_snapshots", EXPFMT_GAUGE,
						"Snapshots of the group whose last verification failed."};
static const struct expfmt_desc d_grp_size = {"persistence_pbs_group_last_backup_size_bytes", EXPFMT_GAUGE,
					      "Size of the group's newest finished snapshot."};

static void pbs_emit_store(const struct pbs_store *s, const char *src, struct expfmt *o)
{
	const char *ds = s->name;
	const struct pbs_gc *gc = &s->gc;

	expfmt_add(o, &d_ds_up, s->up, "source", src, "datastore", ds, NULL);
	if (s->up) {
		expfmt_add(o, &d_ds_size, s->total, "source", src, "datastore", ds, NULL);
		expfmt_add(o, &d_ds_used, s->used, "source", src, "datastore", ds, NULL);
		expfmt_add(o, &d_ds_avail, s->avail, "source", src, "datastore", ds, NULL);
	}
	if (s->estimated_full > 0)
		expfmt_add(o, &d_ds_full, s->estimated_full, "source", src, "datastore", ds, NULL);
	if (!gc->known)
		return;
	if (gc->last_end > 0 && (gc->state == PBS_RUN_OK || gc->state == PBS_RUN_FAILED)) {
		expfmt_add(o, &d_gc_last, gc->last_end, "source", src, "datastore", ds, NULL);
		expfmt_add(o, &d_gc_ok, gc->state == PBS_RUN_OK, "source", src, "datastore", ds, NULL);
	}
	if (gc->next_run > 0)
		expfmt_add(o, &d_gc_due, gc->next_run, "source", src, "datastore", ds, NULL);
	if (gc->pending_bytes >= 0)
		expfmt_add(o, &d_gc_pending, gc->pending_bytes, "source", src, "datastore", ds, NULL);
	if (gc->removed_bad >= 0)
		expfmt_add(o, &d_gc_removed_bad, gc->removed_bad, "source", src, "datastore", ds, NULL);
	if (gc->still_bad >= 0)
		expfmt_add(o, &d_gc_still_bad, gc->still_bad, "source", src, "datastore", ds, NULL);
}

static void pbs_emit_job(const struct pbs_job *j, const char *src, struct expfmt *o)
{
	const char *l[] = {"source",    src,      "job_type", pbs_job_type_str(j->type),     "job_id", j->id,
			   "datastore", j->store, "schedule", j->schedule ? j->schedule : ""};
	const size_t np = 4; /* info alone carries the schedule */

	expfmt_addv(o, &d_job_info, 1, l, np + 1);
	expfmt_addv(o, &d_job_enabled, j->enabled, l, np);
	if (j->last_end > 0 && (j->state == PBS_RUN_OK || j->state == PBS_RUN_FAILED)) {
		expfmt_addv(o, &d_job_last, j->last_end, l, np);
		expfmt_addv(o, &d_job_ok, j->state == PBS_RUN_OK, l, np);
	}
	if (j->next_run > 0)
		expfmt_addv(o, &d_job_due, j->next_run, l, np);
}

static void pbs_emit_group(const struct pbs_group *g, const char *src, const char *ds, struct expfmt *o)
{
	const char *l[] = {"source", src,           "datastore", ds,          "namespace",
			   g->ns,    "backup_type", g->type,     "backup_id", g->id};
	const size_t np = sizeof(l) / sizeof(l[0]) / 2;

	expfmt_addv(o, &d_grp_count, (double)g->snapshots, l, np);
	expfmt_addv(o, &d_grp_failed, (double)g->verify_failed, l, np);
	if (g->last_backup > 0) {
		expfmt_addv(o, &d_grp_last, g->last_backup, l, np);
		expfmt_addv(o, &d_grp_size, g->last_size, l, np);
	}
	if (g->last_verified > 0)
		expfmt_addv(o, &d_grp_verified, g->last_verified, l, np);
}

size_t pbs_emit(const struct pbs_facts *f, const char *source, size_t max_groups, struct expfmt *out)
{
	size_t budget = max_groups, dropped = 0;

	for (size_t i = 0; i < f->nstores; i++) {
		const struct pbs_store *s = &f->stores[i];

		pbs_emit_store(s, source, out);
		for (size_t k = 0; k < s->ngroups; k++) {
			if (budget == 0) {
				dropped++;
				continue;
			}
			pbs_emit_group(&s->groups[k], source, s->name, out);
			budget--;
		}
	}
	for (size_t i = 0; i < f->njobs; i++)
		pbs_emit_job(&f->jobs[i], source, out);
	for (size_t i = 0; i < f->nfailures; i++)
		expfmt_add(out, &d_task_fail, f->failures[i].last, "source", source, "worker_type",
			   f->failures[i].worker_type, NULL);
	return dropped;
}
