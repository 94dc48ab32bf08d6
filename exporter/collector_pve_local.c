/* collector_pve_local.c - node-local pvescheduler health for pve sources with `local: true`. */
#include "collector.h"
#include "log.h"
#include "pvesched.h"

#include <stdio.h>
#include <unistd.h>

static const struct expfmt_desc d_up = {"persistence_pve_scheduler_process_up", EXPFMT_GAUGE,
					"1 when the main pvescheduler process runs on this node."};
static const struct expfmt_desc d_rss = {"persistence_pve_scheduler_resident_memory_bytes", EXPFMT_GAUGE,
					 "Resident memory (VmRSS) of the main pvescheduler process."};
static const struct expfmt_desc d_start = {"persistence_pve_scheduler_start_time_seconds", EXPFMT_GAUGE,
					   "Start time of the main pvescheduler process."};
static const struct expfmt_desc d_child = {
	"persistence_pve_scheduler_oldest_child_age_seconds", EXPFMT_GAUGE,
	"Age of the oldest pvescheduler child (a hung jobs child blocks all scheduling); 0 when none."};
static const struct expfmt_desc d_anon = {
	"persistence_pve_scheduler_cgroup_anon_bytes", EXPFMT_GAUGE,
	"Anonymous memory of the pvescheduler.service cgroup (memory.stat anon)."};
static const struct expfmt_desc d_job = {
	"persistence_pve_job_state_last_run_timestamp_seconds", EXPFMT_GAUGE,
	"Last run of a backup job from its node-local state file (PVE's rule)."};

/* The i-th pve source with local: true, or NULL. */
static const struct config_pve *local_pve(const struct config *cfg, size_t i)
{
	for (size_t k = 0; k < cfg->npve; k++)
		if (cfg->pve[k].local && i-- == 0)
			return &cfg->pve[k];
	return NULL;
}

static size_t pve_local_count(const struct config *cfg)
{
	size_t n = 0;
	for (size_t k = 0; k < cfg->npve; k++)
		n += cfg->pve[k].local ? 1 : 0;
	return n;
}

static const char *pve_local_source_name(const struct config *cfg, size_t i)
{
	const struct config_pve *p = local_pve(cfg, i);
	return p ? p->name : NULL;
}

struct job_emit {
	struct collect *c;
	const char *node;
};

static void pve_local_job(void *ctx, const char *job, double last_run)
{
	struct job_emit *je = ctx;
	expfmt_add(je->c->out, &d_job, last_run, "source", je->c->source, "node", je->node, "backup_job", job,
		   NULL);
}

static void pve_local_emit(struct collect *c, const char *node, const struct pvesched_info *s)
{
	const char *src = c->source;
	expfmt_add(c->out, &d_up, s->process_up ? 1 : 0, "source", src, "node", node, NULL);
	if (s->has_rss)
		expfmt_add(c->out, &d_rss, s->rss_bytes, "source", src, "node", node, NULL);
	if (s->has_start)
		expfmt_add(c->out, &d_start, s->start_time, "source", src, "node", node, NULL);
	if (s->process_up && s->has_child_age)
		expfmt_add(c->out, &d_child, s->oldest_child_age, "source", src, "node", node, NULL);
	if (s->has_anon)
		expfmt_add(c->out, &d_anon, s->anon_bytes, "source", src, "node", node, NULL);
}

static enum perr pve_local_collect(struct collect *c)
{
	const struct config_pve *p = local_pve(c->cfg, c->index);
	struct pvesched_info info;
	char host[256] = "";
	const char *node;
	enum perr e;

	if (!p)
		return PE_INTERNAL;
	node = p->local_node;
	if (!node || !node[0]) {
		if (gethostname(host, sizeof(host) - 1) != 0 || !host[0]) {
			collect_fail(c, "no local_node configured and the hostname is unknown");
			return PE_INVAL;
		}
		node = host;
	}
	e = pvesched_read(&c->cfg->paths, collect_now(c), &info);
	if (e) {
		collect_fail(c, "cannot list %s: %s", c->cfg->paths.procfs, err_str(e));
		return e;
	}
	if (!info.process_up)
		collect_warn(c, "no pvescheduler process found", "source", c->source, "node", node);
	pve_local_emit(c, node, &info);
	struct job_emit je = {c, node};
	pvesched_jobs_each(&c->cfg->paths, pve_local_job, &je);
	return PE_OK;
}

const struct collector collector_pve_local = {
	.name = "pve_local",
	.kind = "pve_local",
	.phase = 0,
	.count = pve_local_count,
	.source_name = pve_local_source_name,
	.collect = pve_local_collect,
};
