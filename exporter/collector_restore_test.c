/* collector_restore_test.c - restore drills per target from the drill state file (persistencectl restore-test). */
#include "collector.h"
#include "drill_state.h"
#include "log.h"
#include "probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RT_PROBE_MAX 5.0 /* the read never waits longer than this */
#define RT_PROBE_MARGIN 0.2 /* seconds kept after the read to parse and emit */

static const struct expfmt_desc d_last_success = {
	"persistence_target_restore_test_last_success_timestamp_seconds", EXPFMT_GAUGE,
	"Unix time the target's newest successful restore drill (persistencectl restore-test) finished; "
	"absent "
	"when none is recorded."};
static const struct expfmt_desc d_last_result = {"persistence_target_restore_test_last_result", EXPFMT_GAUGE,
						 "1 when the target's newest restore drill proved the "
						 "restore (and boot), 0 when it failed; absent when no "
						 "drill is recorded."};
static const struct expfmt_desc d_duration = {
	"persistence_target_restore_test_duration_seconds", EXPFMT_GAUGE,
	"Restore plus boot time of the target's newest successful restore drill."};
static const struct expfmt_desc d_max_age = {
	"persistence_target_restore_test_max_age_seconds", EXPFMT_GAUGE,
	"The target's configured max_restore_test_age: a successful restore drill is due this often."};
static const struct expfmt_desc d_readable = {"persistence_restore_test_state_readable", EXPFMT_GAUGE,
					      "1 when the drill state file (global.drill_state_file) was "
					      "read, or does not exist yet; 0 when it could "
					      "not be read (the restore-test metrics are then absent)."};
static const struct expfmt_desc d_rto = {
	"persistence_target_rto_seconds", EXPFMT_GAUGE,
	"The target's configured rto: a restore drill's restore plus boot must not "
	"take longer."};

/* ---------- the read, on the hang-safe probe pool (the state file may live on NFS) ---------- */

struct rt_job {
	char *path;
	struct buf data;
	int head_partial;
	enum perr rc;
	char msg[256];
};

static void rt_job_free(void *arg)
{
	struct rt_job *j = arg;

	if (!j)
		return;
	free(j->path);
	buf_free(&j->data);
	free(j);
}

static void rt_job_run(void *arg)
{
	struct rt_job *j = arg;

	j->rc = drill_state_read(j->path, DRILL_STATE_READ_MAX, &j->data, &j->head_partial, j->msg,
				 sizeof(j->msg));
}

/* Reads the tail of the state file: PE_OK with *out (the caller frees it), or why it could not. */
static enum perr rt_read(struct collect *c, struct rt_job **out, char *msg, size_t msglen)
{
	struct rt_job *j = calloc(1, sizeof(*j));
	struct probe_pool *pool = collect_probes(c);
	double timeout = collect_remaining(c) - RT_PROBE_MARGIN;
	enum perr rc;

	*out = NULL;
	if (!j || !(j->path = strdup(c->cfg->global.drill_state_file))) {
		free(j);
		snprintf(msg, msglen, "out of memory");
		return PE_NOMEM;
	}
	buf_init(&j->data, DRILL_STATE_READ_MAX + 1);
	if (timeout > RT_PROBE_MAX)
		timeout = RT_PROBE_MAX;
	if (timeout <= 0 || !pool) {
		rt_job_free(j);
		snprintf(msg, msglen, "no time left to read it");
		return PE_TIMEOUT;
	}
	rc = probe_run(pool, "drill-state", rt_job_run, j, rt_job_free, timeout);
	if (rc != PE_OK) { /* the pool owns j now */
		snprintf(msg, msglen, "not read in time (hung file system?)");
		return rc;
	}
	if (j->rc != PE_OK && j->rc != PE_NOTFOUND) {
		snprintf(msg, msglen, "%s", j->msg);
		rc = j->rc;
		rt_job_free(j);
		return rc;
	}
	*out = j;
	return PE_OK;
}

/* ---------- the collector ---------- */

static void rt_emit(struct collect *c, const struct config_target *t, const struct drill_entry *e)
{
	if (t->max_restore_test_age > 0)
		expfmt_add(c->out, &d_max_age, t->max_restore_test_age, "target", t->name, NULL);
	if (t->rto > 0)
		expfmt_add(c->out, &d_rto, t->rto, "target", t->name, NULL);
	if (e->has_last)
		expfmt_add(c->out, &d_last_result, e->last.ok, "target", t->name, NULL);
	if (e->has_ok) {
		expfmt_add(c->out, &d_last_success, e->last_ok.finished, "target", t->name, NULL);
		expfmt_add(c->out, &d_duration, drill_record_duration(&e->last_ok), "target", t->name, NULL);
	}
}

/* Logs what the parser skipped: a torn last line (a drill died mid-write) or lines that are not records. */
static void rt_warn(struct collect *c, const struct drill_parse_stats *st)
{
	char bad[32], first[32];

	if (st->torn)
		collect_warn(
			c,
			"drill state file: the last line is incomplete (a drill stopped mid-write); ignored",
			"file", c->cfg->global.drill_state_file);
	if (st->bad) {
		snprintf(bad, sizeof(bad), "%zu", st->bad);
		snprintf(first, sizeof(first), "%ld", st->first_bad);
		collect_warn(c, "drill state file: lines that are not drill records were ignored", "file",
			     c->cfg->global.drill_state_file, "lines", bad, "first", first);
	}
}

static enum perr rt_collect(struct collect *c)
{
	const struct config *cfg = c->cfg;
	struct drill_report *r = calloc(1, sizeof(*r));
	const char **names = calloc(cfg->ntargets ? cfg->ntargets : 1, sizeof(*names));
	struct drill_parse_stats st;
	struct rt_job *j = NULL;
	char msg[320];
	enum perr rc = PE_NOMEM;

	if (!r || !names || !(r->e = calloc(cfg->ntargets ? cfg->ntargets : 1, sizeof(*r->e))))
		goto out;
	r->n = cfg->ntargets;
	for (size_t i = 0; i < cfg->ntargets; i++)
		names[i] = cfg->targets[i].name;
	rc = rt_read(c, &j, msg, sizeof(msg));
	if (rc == PE_OK && j->rc == PE_OK)
		rc = drill_state_parse(j->data.data ? j->data.data : "", j->data.len, j->head_partial, names,
				       cfg->ntargets, r->e, &st);
	if (rc == PE_OK && j->rc == PE_OK)
		rt_warn(c, &st);
	r->unreadable = rc != PE_OK;
	expfmt_add(c->out, &d_readable, rc == PE_OK, NULL);
	for (size_t i = 0; i < cfg->ntargets; i++)
		rt_emit(c, &cfg->targets[i], &r->e[i]);
	collect_attach(c, DRILL_ATTACHMENT, r, drill_report_free);
	r = NULL;
out:
	if (rc == PE_NOMEM)
		collect_fail(c, "out of memory");
	else if (rc != PE_OK)
		collect_fail(c, "cannot read the drill state file %s: %s", cfg->global.drill_state_file, msg);
	rt_job_free(j);
	drill_report_free(r);
	free(names);
	return rc;
}

/* Runs when there are targets and a state file (configs built by tests may have none). */
static size_t rt_count(const struct config *cfg)
{
	return cfg->ntargets && cfg->global.drill_state_file ? 1 : 0;
}

const struct collector collector_restore_test = {
	.name = "restore_test",
	.kind = NULL,
	.phase = 0,
	.count = rt_count,
	.source_name = NULL,
	.collect = rt_collect,
};
