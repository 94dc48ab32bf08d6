/* pve_metrics.c - the samples of one PVE collection, from its facts (pve_model.h): nodes, storages, guests, jobs. */
#include "pve_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct expfmt_desc d_node_up = {"persistence_pve_node_up", EXPFMT_GAUGE,
					     "1 when PVE reports the node online."};
static const struct expfmt_desc d_guest_info = {"persistence_pve_guest_info", EXPFMT_GAUGE,
						"A guest (qemu VM or lxc container) of the cluster."};
static const struct expfmt_desc d_last_backup = {
	"persistence_pve_guest_last_backup_timestamp_seconds", EXPFMT_GAUGE,
	"Creation time of the guest's newest backup archive over every backup storage."};
static const struct expfmt_desc d_last_size = {"persistence_pve_guest_last_backup_size_bytes", EXPFMT_GAUGE,
					       "Size of the guest's newest backup archive."};
static const struct expfmt_desc d_backups = {
	"persistence_pve_guest_backups", EXPFMT_GAUGE,
	"Number of backup archives of the guest over every backup storage."};
static const struct expfmt_desc d_covered = {"persistence_pve_guest_backup_covered", EXPFMT_GAUGE,
					     "1 when an enabled backup job selects the guest."};
static const struct expfmt_desc d_job_info = {
	"persistence_pve_backup_job_info", EXPFMT_GAUGE,
	"A vzdump backup job (node is empty when it runs on every node)."};
static const struct expfmt_desc d_job_enabled = {"persistence_pve_backup_job_enabled", EXPFMT_GAUGE,
						 "1 when the backup job is enabled."};
static const struct expfmt_desc d_job_last = {
	"persistence_pve_backup_job_last_run_timestamp_seconds", EXPFMT_GAUGE,
	"Start of the job's last run on the node (scheduler vzdump task, else newest archive)."};
static const struct expfmt_desc d_job_due = {"persistence_pve_backup_job_next_due_timestamp_seconds",
					     EXPFMT_GAUGE,
					     "First scheduled slot of the job after its last run."};
static const struct expfmt_desc d_task_end = {"persistence_pve_vzdump_last_task_end_timestamp_seconds",
					      EXPFMT_GAUGE,
					      "End time of the node's newest finished vzdump task."};
static const struct expfmt_desc d_task_ok = {
	"persistence_pve_vzdump_last_task_success", EXPFMT_GAUGE,
	"1 when the node's newest finished vzdump task ended OK or with warnings."};
static const struct expfmt_desc d_task_failed = {
	"persistence_pve_vzdump_last_failure_timestamp_seconds", EXPFMT_GAUGE,
	"End time of the newest failed vzdump task in the node's task list (absent when none failed)."};
static const struct expfmt_desc d_jobs = {
	"persistence_pve_backup_jobs", EXPFMT_GAUGE,
	"Number of backup jobs /cluster/backup lists; absent when it cannot be read."};
static const struct expfmt_desc d_job_guests = {
	"persistence_pve_backup_job_guests", EXPFMT_GAUGE,
	"Guests an enabled, scheduled backup job selects on the node (offline nodes included)."};
static const struct expfmt_desc d_sched_up = {"persistence_pve_scheduler_up", EXPFMT_GAUGE,
					      "1 when the pvescheduler service is active and running."};
static const struct expfmt_desc d_storage_up = {
	"persistence_pve_storage_up", EXPFMT_GAUGE,
	"1 when the backup storage is enabled and active on the node."};
static const struct expfmt_desc d_storage_size = {"persistence_pve_storage_size_bytes", EXPFMT_GAUGE,
						  "Size of the backup storage as seen from the node."};
static const struct expfmt_desc d_storage_avail = {
	"persistence_pve_storage_avail_bytes", EXPFMT_GAUGE,
	"Available space on the backup storage as seen from the node."};

/* The node's newest finished vzdump task (its end and outcome) and its newest failure. */
static void pve_emit_node_tasks(const struct pve_tasks *tl, const char *src, const char *node,
				struct expfmt *o)
{
	const struct pve_task_info *last = NULL;
	double best = 0, failed = 0;

	for (size_t i = 0; i < tl->n; i++) {
		const struct pve_task_info *t = &tl->v[i];

		if (t->result == PVE_TASK_RUNNING || !t->has_end)
			continue;
		if (t->result == PVE_TASK_FAILED && t->end > failed)
			failed = t->end;
		if (t->end > best) {
			best = t->end;
			last = t;
		}
	}
	if (last) {
		expfmt_add(o, &d_task_end, best, "source", src, "node", node, NULL);
		expfmt_add(o, &d_task_ok, pve_task_success(last->result), "source", src, "node", node, NULL);
	}
	if (failed > 0)
		expfmt_add(o, &d_task_failed, failed, "source", src, "node", node, NULL);
}

static void pve_emit_nodes(const struct pve_model *m, const char *src, struct expfmt *o)
{
	for (size_t i = 0; i < m->nodes.n; i++) {
		const struct pve_node *nd = &m->nodes.v[i];

		expfmt_add(o, &d_node_up, nd->online, "source", src, "node", nd->name, NULL);
		if (m->nf[i].sched >= 0)
			expfmt_add(o, &d_sched_up, m->nf[i].sched, "source", src, "node", nd->name, NULL);
		pve_emit_node_tasks(&m->nf[i].tasks, src, nd->name, o);
	}
}

static void pve_emit_storages(const struct pve_model *m, const char *src, struct expfmt *o)
{
	for (size_t i = 0; i < m->nodes.n; i++) {
		const struct pve_storages *sl = &m->nf[i].storages;
		const char *n = m->nodes.v[i].name;

		for (size_t k = 0; k < sl->n; k++) {
			const struct pve_storage *s = &sl->v[k];
			int up = s->enabled && s->active;

			expfmt_add(o, &d_storage_up, up, "source", src, "node", n, "storage", s->sid, NULL);
			if (up && s->has_total)
				expfmt_add(o, &d_storage_size, s->total, "source", src, "node", n, "storage",
					   s->sid, NULL);
			if (up && s->has_avail)
				expfmt_add(o, &d_storage_avail, s->avail, "source", src, "node", n, "storage",
					   s->sid, NULL);
		}
	}
}

static void pve_emit_guest(const struct pve_model *m, size_t i, const char *src, struct expfmt *o)
{
	const struct pve_guest *g = &m->guests.v[i];
	const struct pve_guest_stats *s = &m->gs[i];
	char id[24];

	snprintf(id, sizeof(id), "%ld", g->vmid);
	expfmt_add(o, &d_guest_info, 1, "source", src, "vmid", id, "node", g->node ? g->node : "",
		   "guest_type", g->type, "name", g->name ? g->name : "", "template", g->tmpl ? "1" : "0",
		   NULL);
	if (s->count > 0) {
		expfmt_add(o, &d_last_backup, s->last_ctime, "source", src, "vmid", id, NULL);
		if (s->last_size >= 0)
			expfmt_add(o, &d_last_size, s->last_size, "source", src, "vmid", id, NULL);
	}
	if (!m->incomplete)
		expfmt_add(o, &d_backups, (double)s->count, "source", src, "vmid", id, NULL);
	if (m->has_jobs)
		expfmt_add(o, &d_covered, pve_jobs_cover(&m->jobs, g), "source", src, "vmid", id, NULL);
	if (!m->hidden)
		pve_restore_emit(o, src, id, &s->restore, !m->incomplete);
}

/*
 * How many guests an enabled, scheduled job selects on each node, offline
 * nodes included: the rules expect a next due slot wherever this is > 0.
 */
static void pve_emit_job_guests(const struct pve_model *m, const struct pve_job *job, size_t *count,
				const char *src, struct expfmt *o)
{
	if (!job->schedule || !*job->schedule || !job->enabled || !m->nodes.n)
		return;
	memset(count, 0, m->nodes.n * sizeof(*count));
	for (size_t i = 0; i < m->guests.n; i++) {
		const struct pve_guest *g = &m->guests.v[i];
		size_t k = 0;

		if (!g->node || (job->node && *job->node && strcmp(job->node, g->node) != 0))
			continue;
		while (k < m->nodes.n && strcmp(m->nodes.v[k].name, g->node) != 0)
			k++;
		if (k < m->nodes.n && pve_selection_has(&job->sel, g))
			count[k]++;
	}
	for (size_t k = 0; k < m->nodes.n; k++)
		if (count[k])
			expfmt_add(o, &d_job_guests, (double)count[k], "source", src, "backup_job", job->id,
				   "node", m->nodes.v[k].name, NULL);
}

static enum perr pve_emit_jobs(const struct pve_model *m, const char *src, struct expfmt *o)
{
	size_t *count;

	if (!m->has_jobs)
		return PE_OK;
	if (!(count = calloc(m->nodes.n + 1, sizeof(*count))))
		return PE_NOMEM;
	expfmt_add(o, &d_jobs, (double)m->jobs.n, "source", src, NULL);
	for (size_t j = 0; j < m->jobs.n; j++) {
		const struct pve_job *job = &m->jobs.v[j];

		if (!job->id || !*job->id)
			continue;
		expfmt_add(o, &d_job_info, 1, "source", src, "backup_job", job->id, "schedule",
			   job->schedule ? job->schedule : "", "storage", job->storage ? job->storage : "",
			   "node", job->node ? job->node : "", NULL);
		expfmt_add(o, &d_job_enabled, job->enabled, "source", src, "backup_job", job->id, NULL);
		pve_emit_job_guests(m, job, count, src, o);
	}
	free(count);
	for (size_t i = 0; i < m->njn; i++) {
		const struct pve_jobnode *jn = &m->jn[i];
		const char *id = m->jobs.v[jn->job].id, *node = m->nodes.v[jn->node].name;

		if (jn->last_run > 0)
			expfmt_add(o, &d_job_last, jn->last_run, "source", src, "backup_job", id, "node",
				   node, NULL);
		if (jn->next_due > 0)
			expfmt_add(o, &d_job_due, jn->next_due, "source", src, "backup_job", id, "node", node,
				   NULL);
	}
	return PE_OK;
}

enum perr pve_emit(const struct pve_model *m, const char *src, struct expfmt *o)
{
	pve_emit_nodes(m, src, o);
	pve_emit_storages(m, src, o);
	for (size_t i = 0; i < m->guests.n; i++)
		pve_emit_guest(m, i, src, o);
	return pve_emit_jobs(m, src, o);
}
