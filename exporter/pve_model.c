/* pve_model.c - one PVE collection as facts: what the answers say together (archives, coverage, last runs), pure. */
#include "pve_model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PVE_NO_EVIDENCE_WINDOW (7 * 86400.0) /* look-back when a job has no run evidence */

void pve_model_init(struct pve_model *m)
{
	memset(m, 0, sizeof(*m));
}

void pve_model_free(struct pve_model *m)
{
	for (size_t i = 0; m->nf && i < m->nodes.n; i++) {
		pve_tasks_free(&m->nf[i].tasks);
		pve_storages_free(&m->nf[i].storages);
	}
	free(m->nf);
	pve_nodes_free(&m->nodes);
	for (size_t i = 0; m->gs && i < m->guests.n; i++)
		pve_restore_guest_clear(&m->gs[i].restore);
	pve_guests_free(&m->guests);
	free(m->gs);
	pve_jobs_free(&m->jobs);
	free(m->jn);
	memset(m, 0, sizeof(*m));
}

enum perr pve_model_start(struct pve_model *m)
{
	m->nf = calloc(m->nodes.n + 1, sizeof(*m->nf));
	m->gs = calloc(m->guests.n + 1, sizeof(*m->gs));
	if (!m->nf || !m->gs)
		return PE_NOMEM;
	for (size_t i = 0; i < m->nodes.n; i++)
		m->nf[i].sched = -1;
	for (size_t i = 0; i < m->guests.n; i++)
		m->gs[i].last_size = -1;
	return PE_OK;
}

enum perr pve_model_add_listing(struct pve_model *m, const struct pve_listing *l, const char *sid)
{
	size_t gi = 0;
	enum perr e = PE_OK;

	m->nlisted++;
	m->narchives += l->narchives;
	for (size_t i = 0; i < l->n; i++) { /* both sorted by vmid: one merge pass */
		const struct pve_archive_stats *a = &l->v[i];
		while (gi < m->guests.n && m->guests.v[gi].vmid < a->vmid)
			gi++;
		if (gi == m->guests.n)
			break;
		if (m->guests.v[gi].vmid != a->vmid)
			continue;
		struct pve_guest_stats *g = &m->gs[gi];
		g->count += a->count;
		if (a->ctime > g->last_ctime || (a->ctime == g->last_ctime && a->size > g->last_size)) {
			g->last_ctime = a->ctime;
			g->last_size = a->size;
		}
		if (e == PE_OK)
			e = pve_restore_guest_add(&g->restore, sid, &a->r);
	}
	return e;
}

int pve_model_check_hidden(struct pve_model *m)
{
	int found = 0;

	/* a failed listing (too large, timed out...) proves nothing about permissions */
	if (m->ntasks > 0 && m->nlisted > 0 && m->nfailed == 0 && m->narchives == 0)
		found = m->hidden = 1;
	if (m->hidden) {
		m->incomplete = 1;
		for (size_t i = 0; i < m->guests.n; i++)
			m->gs[i].count = 0;
	}
	return found;
}

/* Newest scheduler-started vzdump task on the node that can belong to job (its start), 0 if none. */
static double pve_task_evidence(const struct pve_model *m, const struct pve_job *job,
				const struct pve_tasks *tl)
{
	double best = 0;

	for (size_t i = 0; i < tl->n; i++) {
		const struct pve_task_info *t = &tl->v[i];

		if (t->other_type || !t->by_scheduler || !t->has_start || t->start <= best)
			continue;
		if (t->has_id) { /* a single-guest run: that guest must be one of the job's */
			const struct pve_guest *g = t->id_ok ? pve_guests_find(&m->guests, t->id_vmid) : NULL;
			if (!g || !pve_selection_has(&job->sel, g))
				continue;
		}
		best = t->start;
	}
	return best;
}

/* Newest archive of the job's guests on the node, 0 if none (or archives are hidden); *nsel their number. */
static double pve_archive_evidence(const struct pve_model *m, const struct pve_job *job, const char *node,
				   size_t *nsel)
{
	double best = 0;

	*nsel = 0;
	for (size_t i = 0; i < m->guests.n; i++) {
		const struct pve_guest *g = &m->guests.v[i];

		if (!g->node || strcmp(g->node, node) != 0 || !pve_selection_has(&job->sel, g))
			continue;
		(*nsel)++;
		if (!m->hidden && m->gs[i].last_ctime > best)
			best = m->gs[i].last_ctime;
	}
	return best;
}

enum perr pve_model_jobnodes(struct pve_model *m)
{
	if (!m->has_jobs)
		return PE_OK;
	m->jn = calloc(m->jobs.n * (m->nodes.n ? m->nodes.n : 1) + 1, sizeof(*m->jn));
	if (!m->jn)
		return PE_NOMEM;
	for (size_t j = 0; j < m->jobs.n; j++) {
		const struct pve_job *job = &m->jobs.v[j];

		if (!job->id || !job->schedule || !*job->schedule || !job->enabled)
			continue;
		for (size_t i = 0; i < m->nodes.n; i++) {
			const struct pve_node *nd = &m->nodes.v[i];
			size_t nsel;

			if (!nd->online || !m->nf[i].has_tasks ||
			    (job->node && *job->node && strcmp(job->node, nd->name) != 0))
				continue;
			(void)pve_archive_evidence(m, job, nd->name,
						   &nsel); /* no archives yet: only counts guests */
			if (nsel == 0) /* no local guest: the node's scheduler starts nothing for this job */
				continue;
			m->jn[m->njn++] = (struct pve_jobnode){
				.job = j, .node = i, .last_run = pve_task_evidence(m, job, &m->nf[i].tasks)};
		}
	}
	return PE_OK;
}

double pve_model_pending_start(struct pve_model *m, struct pve_jobnode *jn, double now)
{
	size_t nsel;

	jn->last_run = pve_archive_evidence(m, &m->jobs.v[jn->job], m->nodes.v[jn->node].name, &nsel);
	/* the fallback start is whole hours, so that its calendar request can be cached */
	return jn->last_run > 0 ? jn->last_run : floor((now - PVE_NO_EVIDENCE_WINDOW) / 3600) * 3600;
}
