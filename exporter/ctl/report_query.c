/* report_query.c - the PromQL the report asks and how the answers fill struct report. */
#include "report.h"
#include "promclient.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Every query is plain PromQL that Thanos, Mimir and VictoriaMetrics also
 * answer, grouped by job and instance so that several exporters (or extra
 * labels a backend adds) never mix. Ranges are asked in windows of one
 * step with *_over_time, so a window means "what happened in it", not
 * "the value at its end", and no staleness lookback paints an outage OK.
 */

/* PromQL string literal of a regex matching exactly one of vals: "a|b\\.c". */
static void report_re_alt(struct buf *out, const char *const *vals, size_t n)
{
	buf_addc(out, '"');
	for (size_t i = 0; i < n; i++) {
		int dup = 0;
		for (size_t j = 0; j < i && !dup; j++)
			dup = strcmp(vals[i], vals[j]) == 0;
		if (dup)
			continue;
		if (out->data[out->len - 1] != '"')
			buf_addc(out, '|');
		for (const char *s = vals[i]; *s; s++) {
			if (strchr("\\.+*?()|[]{}^$", *s))
				buf_adds(out, "\\\\");
			if (*s == '"')
				buf_addc(out, '\\');
			if (*s == '\n')
				buf_adds(out, "\\n");
			else
				buf_addc(out, *s);
		}
	}
	buf_addc(out, '"');
}

/* {target=~"..."} for the chosen targets (nothing when all are wanted). */
static void report_target_sel(struct buf *out, const char *const *names, size_t n)
{
	if (!n)
		return;
	buf_adds(out, "{target=~");
	report_re_alt(out, names, n);
	buf_addc(out, '}');
}

/* {target=~"...",site=~"..."} for step 1: only the chosen targets' and sites' timelines are fetched. */
static void report_info_sel(struct buf *out, const struct report_select *sel)
{
	if (!sel->ntargets && !sel->nsites)
		return;
	buf_addc(out, '{');
	if (sel->ntargets) {
		buf_adds(out, "target=~");
		report_re_alt(out, sel->targets, sel->ntargets);
	}
	if (sel->nsites) {
		buf_adds(out, sel->ntargets ? ",site=~" : "site=~");
		report_re_alt(out, sel->sites, sel->nsites);
	}
	buf_addc(out, '}');
}

struct report_q {
	const struct prom_client *client;
	struct report *r;
	char *msg;
	size_t msglen;
};

static enum perr report_ask(struct report_q *q, const char *expr, int range, struct prom_result *res)
{
	const struct report_grid *g = &q->r->grid;
	double end = g->start + (double)g->n * g->step;
	enum perr rc = range ? prom_client_query_range(q->client, expr, g->start + g->step, end, g->step, res,
						       q->msg, q->msglen)
			     : prom_client_query(q->client, expr, end, res, q->msg, q->msglen);
	if (!rc && res->warnings)
		buf_adds(&q->r->warnings, res->warnings);
	return rc;
}

static char *report_dup_label(const struct prom_series *s, const char *name)
{
	const char *v = prom_series_label(s, name);
	return strdup(v ? v : "");
}

static struct report_target *report_find(struct report *r, const struct prom_series *s)
{
	const char *job = prom_series_label(s, "job"), *inst = prom_series_label(s, "instance");
	const char *name = prom_series_label(s, "target");
	for (size_t i = 0; i < r->ntargets; i++) {
		struct report_target *t = &r->targets[i];
		if (!strcmp(t->job, job ? job : "") && !strcmp(t->instance, inst ? inst : "") &&
		    !strcmp(t->name, name ? name : ""))
			return t;
	}
	return NULL;
}

static int report_in(const char *v, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v, list[i]) == 0)
			return 1;
	return 0;
}

static void report_facts_unknown(struct report_facts *f)
{
	f->last_backup = f->max_age = f->restore_documented = NAN;
	f->copies = f->offsite_copies = f->last_verified = NAN;
	f->restore_test_success = f->restore_test_result = f->restore_test_duration = NAN;
}

/* Adds the target of info series s (a newer label set of a known target replaces the older one). */
static enum perr report_add_target(struct report *r, const struct prom_series *s, double *seen)
{
	struct report_target *t = report_find(r, s);
	double when = s->n ? s->samples[s->n - 1].t : 0;
	if (t && seen[t - r->targets] >= when)
		return PE_OK;
	if (!t) {
		t = &r->targets[r->ntargets++];
		t->job = report_dup_label(s, "job");
		t->instance = report_dup_label(s, "instance");
		t->name = report_dup_label(s, "target");
		t->ok = malloc(r->grid.n);
		report_facts_unknown(&t->facts);
		if (!t->job || !t->instance || !t->name || !t->ok)
			return PE_NOMEM;
		memset(t->ok, -1, r->grid.n);
	}
	free(t->site);
	free(t->kind);
	free(t->source);
	free(t->severity);
	t->site = report_dup_label(s, "site");
	t->kind = report_dup_label(s, "kind");
	t->source = report_dup_label(s, "source");
	t->severity = report_dup_label(s, "severity");
	seen[t - r->targets] = when;
	return t->site && t->kind && t->source && t->severity ? PE_OK : PE_NOMEM;
}

static int report_target_cmp(const void *x, const void *y)
{
	const struct report_target *a = x, *b = y;
	int c = strcmp(a->site, b->site);
	if (!c)
		c = strcmp(a->name, b->name);
	if (!c)
		c = strcmp(a->instance, b->instance);
	return c ? c : strcmp(a->job, b->job);
}

/* Checks that every --target and --site named something; PE_NOTFOUND with msg otherwise. */
static enum perr report_check_names(struct report_q *q, const struct report_select *sel,
				    const struct prom_result *res)
{
	for (size_t i = 0; i < sel->ntargets; i++) {
		size_t k = 0;
		const char *name;
		while (k < res->nseries && (!(name = prom_series_label(&res->series[k], "target")) ||
					    strcmp(sel->targets[i], name)))
			k++;
		if (k == res->nseries) {
			snprintf(q->msg, q->msglen,
				 "target %s: no persistence_target_info series in the range",
				 sel->targets[i]);
			return PE_NOTFOUND;
		}
	}
	for (size_t i = 0; i < sel->nsites; i++) {
		size_t k = 0;
		while (k < q->r->ntargets && strcmp(sel->sites[i], q->r->targets[k].site))
			k++;
		if (k == q->r->ntargets) {
			snprintf(q->msg, q->msglen, "site %s: no target in the range", sel->sites[i]);
			return PE_NOTFOUND;
		}
	}
	return PE_OK;
}

/* Step 1: which targets existed in the range, with their newest labels (site, kind, source, severity). */
static enum perr report_targets(struct report_q *q, const struct report_select *sel)
{
	struct report *r = q->r;
	struct prom_result res = {0};
	struct buf e;
	double *seen = NULL;
	buf_init(&e, 0);
	buf_adds(&e, "max by (job, instance, target, site, kind, source, severity) "
		     "(max_over_time(persistence_target_info");
	report_info_sel(&e, sel);
	buf_addf(&e, "[%.0fs]))", r->grid.step);
	enum perr rc = buf_err(&e) ? PE_NOMEM : report_ask(q, buf_str(&e), 1, &res);
	if (rc)
		goto out;
	rc = PE_NOMEM;
	if (!(r->targets = calloc(res.nseries + 1, sizeof(*r->targets))) ||
	    !(seen = calloc(res.nseries + 1, sizeof(*seen))))
		goto out;
	for (size_t i = 0; i < res.nseries; i++) {
		const char *site = prom_series_label(&res.series[i], "site");
		if (sel->nsites && !report_in(site ? site : "", sel->sites, sel->nsites))
			continue;
		if (report_add_target(r, &res.series[i], seen) != PE_OK)
			goto out;
	}
	rc = report_check_names(q, sel, &res);
	if (!rc && !r->ntargets) {
		snprintf(q->msg, q->msglen,
			 "no persistence_target_info series in the range on %s: is "
			 "persistence_exporter scraped there, with targets: in its config?",
			 r->prometheus);
		rc = PE_NOTFOUND;
	}
	qsort(r->targets, r->ntargets, sizeof(*r->targets), report_target_cmp);
out:
	free(seen);
	prom_result_free(&res);
	buf_free(&e);
	return rc;
}

/* Names of the chosen targets, for the selectors of the later queries. */
static const char **report_names(const struct report *r, int instances)
{
	const char **v = calloc(r->ntargets * 2 + 1, sizeof(*v));
	for (size_t i = 0; v && i < r->ntargets; i++) {
		v[i] = instances ? r->targets[i].instance : r->targets[i].name;
		v[r->ntargets + i] = r->targets[i].job;
	}
	return v;
}

/* Each sample of s into its window of dst: 1 when it is >= 1 (OK, up), else 0. */
static void report_fill_flags(const struct report_grid *g, const struct prom_series *s, signed char *dst)
{
	for (size_t k = 0; k < s->n; k++) {
		long w = report_grid_index(g, s->samples[k].t);
		if (w >= 0)
			dst[w] = s->samples[k].v >= 1 ? 1 : 0;
	}
}

/* Each sample of s (a count) into its window of dst. */
static void report_fill_counts(const struct report_grid *g, const struct prom_series *s, unsigned short *dst)
{
	for (size_t k = 0; k < s->n; k++) {
		long w = report_grid_index(g, s->samples[k].t);
		double v = s->samples[k].v;
		if (w >= 0)
			dst[w] = v >= 65535 ? 65535 : v > 0 ? (unsigned short)v : 0;
	}
}

/* "AGG by (BY) (FN(METRIC{SEL}[step]))" over the grid. */
static enum perr report_range(struct report_q *q, const char *agg, const char *by, const char *fn,
			      const char *metric, const struct buf *sel, struct prom_result *res)
{
	struct buf e;
	buf_init(&e, 0);
	buf_addf(&e, "%s by (%s) (%s(%s%s[%.0fs]))", agg, by, fn, metric, buf_str(sel), q->r->grid.step);
	enum perr rc = buf_err(&e) ? PE_NOMEM : report_ask(q, buf_str(&e), 1, res);
	buf_free(&e);
	return rc;
}

/* Step 2: each target's windows (1 / 0 / none) and how many samples each had. */
static enum perr report_windows(struct report_q *q, const char **names)
{
	struct report *r = q->r;
	struct prom_result res = {0};
	struct buf sel;
	buf_init(&sel, 0);
	report_target_sel(&sel, names, r->ntargets);
	enum perr rc = buf_err(&sel) ? PE_NOMEM
				     : report_range(q, "min", "job, instance, target", "min_over_time",
						    "persistence_target_ok", &sel, &res);
	for (size_t i = 0; !rc && i < res.nseries; i++) {
		struct report_target *t = report_find(r, &res.series[i]);
		if (t)
			report_fill_flags(&r->grid, &res.series[i], t->ok);
	}
	prom_result_free(&res);
	if (!rc)
		rc = report_range(q, "max", "job, instance, target", "count_over_time",
				  "persistence_target_ok", &sel, &res);
	for (size_t i = 0; !rc && i < res.nseries; i++) {
		struct report_target *t = report_find(r, &res.series[i]);
		if (t && !t->count && !(t->count = calloc(r->grid.n, sizeof(*t->count))))
			rc = PE_NOMEM;
		else if (t)
			report_fill_counts(&r->grid, &res.series[i], t->count);
	}
	for (size_t i = 0; i < r->ntargets; i++)
		for (size_t j = i + 1; j < r->ntargets; j++)
			if (!strcmp(r->targets[i].name, r->targets[j].name))
				r->targets[i].show_instance = r->targets[j].show_instance = 1;
	prom_result_free(&res);
	buf_free(&sel);
	return rc;
}

static struct report_up *report_find_up(struct report *r, const struct prom_series *s)
{
	const char *job = prom_series_label(s, "job"), *inst = prom_series_label(s, "instance");
	for (size_t i = 0; i < r->nups; i++)
		if (!strcmp(r->ups[i].job, job ? job : "") && !strcmp(r->ups[i].instance, inst ? inst : ""))
			return &r->ups[i];
	return NULL;
}

static enum perr report_up_new(struct report *r, const struct prom_series *s)
{
	struct report_up *u = &r->ups[r->nups++];
	u->job = report_dup_label(s, "job");
	u->instance = report_dup_label(s, "instance");
	if (!u->job || !u->instance || !(u->up = malloc(r->grid.n)))
		return PE_NOMEM;
	memset(u->up, -1, r->grid.n);
	report_fill_flags(&r->grid, s, u->up);
	return PE_OK;
}

/* Step 3: the exporters' up (to tell "exporter down" from "nothing recorded") and scrapes per window. */
static enum perr report_ups(struct report_q *q, const char **names)
{
	struct report *r = q->r;
	struct prom_result res = {0};
	struct buf sel;
	buf_init(&sel, 0);
	buf_adds(&sel, "{job=~");
	report_re_alt(&sel, names + r->ntargets, r->ntargets);
	buf_adds(&sel, ",instance=~");
	report_re_alt(&sel, names, r->ntargets);
	buf_addc(&sel, '}');
	enum perr rc = buf_err(&sel)
			       ? PE_NOMEM
			       : report_range(q, "min", "job, instance", "min_over_time", "up", &sel, &res);
	if (!rc && res.nseries && !(r->ups = calloc(res.nseries, sizeof(*r->ups))))
		rc = PE_NOMEM;
	for (size_t i = 0; !rc && i < res.nseries; i++)
		rc = report_up_new(r, &res.series[i]);
	prom_result_free(&res);
	if (!rc)
		rc = report_range(q, "max", "job, instance", "count_over_time", "up", &sel, &res);
	for (size_t i = 0; !rc && i < res.nseries; i++) {
		struct report_up *u = report_find_up(r, &res.series[i]);
		if (u && !u->count && !(u->count = calloc(r->grid.n, sizeof(*u->count))))
			rc = PE_NOMEM;
		else if (u)
			report_fill_counts(&r->grid, &res.series[i], u->count);
		for (size_t k = 0; u && u->count && k < r->grid.n; k++)
			if (u->count[k] > u->expected)
				u->expected = u->count[k];
	}
	for (size_t i = 0; i < r->ntargets; i++) {
		struct report_target *t = &r->targets[i];
		for (size_t k = 0; k < r->nups; k++)
			if (!strcmp(t->job, r->ups[k].job) && !strcmp(t->instance, r->ups[k].instance))
				t->up = &r->ups[k];
	}
	prom_result_free(&res);
	buf_free(&sel);
	return rc;
}

/* Step 4: the alerts that fired, for the causes of gaps (ours carry instance; absent() ones carry none). */
static enum perr report_alerts(struct report_q *q, const char **names)
{
	struct report *r = q->r;
	struct prom_result res = {0};
	struct buf e;
	buf_init(&e, 0);
	buf_adds(&e, "max_over_time(ALERTS{alertstate=\"firing\",instance=~");
	report_re_alt(&e, names, r->ntargets);
	e.len--; /* the closing quote: "" (no instance label) is allowed too */
	buf_addf(&e, "|\"}[%.0fs])", r->grid.step);
	enum perr rc = buf_err(&e) ? PE_NOMEM : report_ask(q, buf_str(&e), 1, &res);
	if (!rc && res.nseries && !(r->alerts = calloc(res.nseries, sizeof(*r->alerts))))
		rc = PE_NOMEM;
	for (size_t i = 0; !rc && i < res.nseries; i++) {
		const struct prom_series *s = &res.series[i];
		struct report_alert *a = &r->alerts[r->nalerts++];
		if (!(a->firing = calloc(r->grid.n, 1)) ||
		    (s->nlabels && !(a->labels = calloc(s->nlabels, sizeof(*a->labels))))) {
			rc = PE_NOMEM;
			break;
		}
		for (size_t k = 0; k < s->nlabels; k++) {
			if (!strcmp(s->labels[2 * k], "__name__"))
				continue;
			struct report_label *l = &a->labels[a->nlabels++];
			l->name = strdup(s->labels[2 * k]);
			l->value = strdup(s->labels[2 * k + 1]);
			if (!l->name || !l->value)
				rc = PE_NOMEM;
		}
		for (size_t k = 0; k < s->n; k++) {
			long w = report_grid_index(&r->grid, s->samples[k].t);
			if (w >= 0)
				a->firing[w] = 1;
		}
	}
	prom_result_free(&res);
	buf_free(&e);
	return rc;
}

/* Step 5: values at the end of the range, as last seen in it. */
static enum perr report_facts(struct report_q *q, const char **names)
{
	static const struct {
		const char *metric;
		size_t off;
	} facts[] = {
		{"persistence_target_last_backup_timestamp_seconds",
		 offsetof(struct report_facts, last_backup)},
		{"persistence_target_max_age_seconds", offsetof(struct report_facts, max_age)},
		{"persistence_target_restore_documented", offsetof(struct report_facts, restore_documented)},
		{"persistence_target_copies", offsetof(struct report_facts, copies)},
		{"persistence_target_offsite_copies", offsetof(struct report_facts, offsite_copies)},
		{"persistence_target_last_verified_timestamp_seconds",
		 offsetof(struct report_facts, last_verified)},
		{"persistence_target_restore_test_last_success_timestamp_seconds",
		 offsetof(struct report_facts, restore_test_success)},
		{"persistence_target_restore_test_last_result",
		 offsetof(struct report_facts, restore_test_result)},
		{"persistence_target_restore_test_duration_seconds",
		 offsetof(struct report_facts, restore_test_duration)},
	};
	struct report *r = q->r;
	enum perr rc = PE_OK;
	for (size_t f = 0; !rc && f < sizeof(facts) / sizeof(facts[0]); f++) {
		struct prom_result res = {0};
		struct buf e;
		buf_init(&e, 0);
		buf_addf(&e, "max by (job, instance, target) (last_over_time(%s", facts[f].metric);
		report_target_sel(&e, names, r->ntargets);
		buf_addf(&e, "[%.0fs]))", (double)r->grid.n * r->grid.step);
		rc = buf_err(&e) ? PE_NOMEM : report_ask(q, buf_str(&e), 0, &res);
		for (size_t i = 0; !rc && i < res.nseries; i++) {
			struct report_target *t = report_find(r, &res.series[i]);
			if (t && res.series[i].n)
				*(double *)((char *)&t->facts + facts[f].off) = res.series[i].samples[0].v;
		}
		prom_result_free(&res);
		buf_free(&e);
	}
	for (size_t i = 0; i < r->ntargets; i++) {
		const struct report_facts *f = &r->targets[i].facts;
		r->have_copies |= !isnan(f->copies) || !isnan(f->offsite_copies);
		r->have_verified |= !isnan(f->last_verified);
		r->have_restore_test |= !isnan(f->restore_test_success) || !isnan(f->restore_test_result);
	}
	return rc;
}

enum perr report_query(const struct prom_client *c, const struct report_select *sel, struct report *r,
		       char *msg, size_t msglen)
{
	struct report_q q = {c, r, msg, msglen};
	const char **names = NULL;
	enum perr rc = report_targets(&q, sel);
	if (rc)
		return rc;
	if (!(names = report_names(r, 0))) {
		snprintf(msg, msglen, "out of memory");
		return PE_NOMEM;
	}
	rc = report_windows(&q, names);
	if (!rc) {
		const char **inst = report_names(r, 1);
		rc = inst ? report_ups(&q, inst) : PE_NOMEM;
		if (!rc)
			rc = report_alerts(&q, inst);
		free(inst);
	}
	if (!rc)
		rc = report_facts(&q, names);
	if (rc == PE_NOMEM)
		snprintf(msg, msglen, "out of memory");
	free(names);
	return rc;
}
