/* report_analysis.c - step windows -> OK/degraded/unknown time, days fully OK, gaps and their causes. */
#include "report.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY 86400.0

double report_default_step(double range)
{
	static const double nice[] = {300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400};
	double need = range / REPORT_MAX_WINDOWS;
	for (size_t i = 0; i < sizeof(nice) / sizeof(nice[0]); i++)
		if (nice[i] >= need)
			return nice[i];
	return ceil(need / DAY) * DAY;
}

enum perr report_grid_make(double end, double range, double step, struct report_grid *g, char *msg,
			   size_t msglen)
{
	if (!(step >= REPORT_MIN_STEP) || !(range > 0) || !isfinite(end) || end < 0) {
		snprintf(msg, msglen, "the step must be at least %.0fs and the range positive",
			 REPORT_MIN_STEP);
		return PE_INVAL;
	}
	double n = ceil(range / step - 1e-9);
	if (n > REPORT_MAX_WINDOWS) {
		snprintf(msg, msglen,
			 "a range of %.0fs in steps of %.0fs is %.0f points per series; Prometheus answers "
			 "at most "
			 "%d: use a larger --step",
			 range, step, n, REPORT_MAX_WINDOWS);
		return PE_INVAL;
	}
	g->step = step;
	g->n = (size_t)n;
	g->start = floor(end / step) * step - n * step;
	return PE_OK;
}

long report_grid_index(const struct report_grid *g, double t)
{
	double x = (t - g->start) / g->step - 1.0;
	double i = round(x);
	if (fabs(x - i) > 1e-6 || i < 0 || i >= (double)g->n)
		return -1;
	return (long)i;
}

/* Scrapes a full window of t has: its exporter's, else the most samples t had in a window. */
static unsigned report_expected(const struct report_target *t, size_t n)
{
	unsigned most = 0;
	if (t->up && t->up->expected)
		return t->up->expected;
	for (size_t i = 0; t->count && i < n; i++)
		if (t->count[i] > most)
			most = t->count[i];
	return most;
}

static enum report_nodata report_why(const struct report_target *t, size_t i, unsigned expected)
{
	if (!t->up || t->up->up[i] < 0)
		return REPORT_NODATA_NOTHING;
	if (t->up->up[i] == 0)
		return REPORT_NODATA_SCRAPE_FAILED;
	if (t->up->count && 2u * t->up->count[i] < expected)
		return REPORT_NODATA_NOTHING; /* Prometheus missed most scrapes of the window */
	return REPORT_NODATA_NOT_REPORTED;
}

enum report_state report_window_state(const struct report_target *t, size_t i, enum report_nodata *why)
{
	*why = REPORT_NODATA_NONE;
	if (t->ok[i] == 0)
		return REPORT_DEGRADED;
	if (t->ok[i] == 1 && !(t->count && 2u * t->count[i] < t->expected))
		return REPORT_OK;
	*why = report_why(t, i, t->expected);
	return REPORT_UNKNOWN;
}

static const char *report_nodata_text(enum report_nodata why)
{
	switch (why) {
	case REPORT_NODATA_SCRAPE_FAILED:
		return "no data: exporter not answering scrapes";
	case REPORT_NODATA_NOT_REPORTED:
		return "no data: exporter answered without this target";
	case REPORT_NODATA_NOTHING:
		return "no data: nothing recorded, Prometheus down or not scraping";
	default:
		return "no data";
	}
}

/* Firing windows of a in [lo, hi]. */
static size_t report_alert_overlap(const struct report_alert *a, size_t lo, size_t hi)
{
	size_t k = 0;
	for (size_t i = lo; i <= hi; i++)
		k += a->firing[i] != 0;
	return k;
}

struct report_candidate {
	const struct report_alert *a;
	const char *name, *text;
	int rank;
	size_t overlap;
};

static int report_candidate_cmp(const void *x, const void *y)
{
	const struct report_candidate *a = x, *b = y;
	if (a->rank != b->rank)
		return a->rank < b->rank ? -1 : 1;
	if (a->overlap != b->overlap)
		return a->overlap > b->overlap ? -1 : 1;
	return strcmp(a->name, b->name);
}

/* The other alert names of c[1..n), each once and not c[0]'s. */
static enum perr report_also(const struct report_candidate *c, size_t n, struct report_gap *g)
{
	if (n < 2)
		return PE_OK;
	if (!(g->also = calloc(n - 1, sizeof(*g->also))))
		return PE_NOMEM;
	for (size_t i = 1; i < n; i++) {
		int seen = strcmp(c[i].name, c[0].name) == 0;
		for (size_t j = 0; j < g->nalso && !seen; j++)
			seen = strcmp(c[i].name, g->also[j]) == 0;
		if (!seen)
			g->also[g->nalso++] = c[i].name;
	}
	return PE_OK;
}

/*
 * The most likely cause of gap g of t: the best-ranked alert that concerns t
 * and fired in the gap or in the window just before it (an alert that ended
 * as the gap began, within the step, still explains it).
 */
static enum perr report_gap_cause(const struct report *r, const struct report_target *t, struct report_gap *g)
{
	struct report_candidate *c = NULL;
	size_t n = 0, lo = g->first > 0 ? g->first - 1 : 0;
	enum perr rc;
	if (r->nalerts && !(c = calloc(r->nalerts, sizeof(*c))))
		return PE_NOMEM;
	for (size_t i = 0; i < r->nalerts; i++) {
		const struct report_alert *a = &r->alerts[i];
		struct report_candidate k = {.a = a, .name = report_alert_label(a, "alertname")};
		if (!k.name || !report_cause_of(a, &k.text, &k.rank) || !report_alert_concerns(a, t))
			continue;
		k.overlap = report_alert_overlap(a, lo, g->last);
		if (k.overlap)
			c[n++] = k;
	}
	if (n)
		qsort(c, n, sizeof(*c), report_candidate_cmp); /* c is NULL without alerts */
	g->alert = n ? c[0].a : NULL;
	if (g->degraded_seconds > 0)
		g->cause = n ? c[0].text : "no alert fired";
	else
		g->cause = report_nodata_text(g->nodata);
	rc = report_also(c, n, g);
	free(c);
	return rc;
}

/* Day (0 = oldest) of window i: 24-hour days counted back from the end of the range. */
static size_t report_day_of(const struct report_grid *g, size_t i, size_t days)
{
	double back = ((double)(g->n - 1 - i) * g->step) / DAY;
	size_t k = (size_t)floor(back + 1e-9);
	return k < days ? days - 1 - k : 0;
}

static enum perr report_gap_add(struct report_target *t, const struct report_gap *g)
{
	struct report_gap *p = realloc(t->gaps, (t->ngaps + 1) * sizeof(*p));
	if (!p)
		return PE_NOMEM;
	t->gaps = p;
	t->gaps[t->ngaps++] = *g;
	return PE_OK;
}

/* The gaps of t: maximal runs of windows that are not OK. */
static enum perr report_find_gaps(const struct report_grid *grid, struct report_target *t,
				  unsigned char *bad_day, size_t days)
{
	struct report_gap g = {0};
	size_t why_count[4] = {0};
	int open = 0;
	for (size_t i = 0; i <= grid->n; i++) {
		enum report_nodata why = REPORT_NODATA_NONE;
		enum report_state st = i < grid->n ? report_window_state(t, i, &why) : REPORT_OK;
		if (st != REPORT_OK) {
			bad_day[report_day_of(grid, i, days)] = 1;
			if (!open) {
				memset(&g, 0, sizeof(g));
				memset(why_count, 0, sizeof(why_count));
				g.first = i;
				open = 1;
			}
			g.last = i;
			*(st == REPORT_DEGRADED ? &g.degraded_seconds : &g.unknown_seconds) += grid->step;
			why_count[why]++;
			continue;
		}
		if (!open)
			continue;
		open = 0;
		g.start = grid->start + (double)g.first * grid->step;
		g.end = grid->start + (double)(g.last + 1) * grid->step;
		g.open_start = g.first == 0;
		g.open_end = g.last == grid->n - 1;
		for (int k = REPORT_NODATA_SCRAPE_FAILED; k <= REPORT_NODATA_NOTHING; k++)
			if (why_count[k] > why_count[g.nodata])
				g.nodata = (enum report_nodata)k;
		if (report_gap_add(t, &g) != PE_OK)
			return PE_NOMEM;
	}
	return PE_OK;
}

static enum perr report_analyse_target(const struct report *r, struct report_target *t)
{
	const struct report_grid *g = &r->grid;
	size_t days = (size_t)ceil((double)g->n * g->step / DAY - 1e-9);
	unsigned char *bad_day = calloc(days ? days : 1, 1);
	enum perr rc = PE_NOMEM;
	if (!bad_day)
		return PE_NOMEM;
	t->expected = report_expected(t, g->n);
	t->ok_seconds = t->degraded_seconds = t->unknown_seconds = 0;
	for (size_t i = 0; i < g->n; i++) {
		enum report_nodata why;
		enum report_state st = report_window_state(t, i, &why);
		*(st == REPORT_OK         ? &t->ok_seconds
		  : st == REPORT_DEGRADED ? &t->degraded_seconds
					  : &t->unknown_seconds) += g->step;
	}
	if (report_find_gaps(g, t, bad_day, days) != PE_OK)
		goto out;
	t->days = (unsigned)days;
	t->days_ok = 0;
	for (size_t d = 0; d < days; d++)
		t->days_ok += !bad_day[d];
	t->longest = NULL;
	for (size_t i = 0; i < t->ngaps; i++) {
		struct report_gap *gap = &t->gaps[i];
		if (report_gap_cause(r, t, gap) != PE_OK)
			goto out;
		if (!t->longest || gap->end - gap->start >= t->longest->end - t->longest->start)
			t->longest = gap;
	}
	t->met = t->ngaps == 0;
	rc = PE_OK;
out:
	free(bad_day);
	return rc;
}

enum perr report_analyse(struct report *r)
{
	for (size_t i = 0; i < r->ntargets; i++) {
		struct report_target *t = &r->targets[i];
		for (size_t k = 0; k < t->ngaps; k++)
			free(t->gaps[k].also);
		free(t->gaps);
		t->gaps = NULL;
		t->ngaps = 0;
		if (report_analyse_target(r, t) != PE_OK)
			return PE_NOMEM;
	}
	return PE_OK;
}

void report_sum(const struct report *r, const char *site, struct report_sum *s)
{
	double span = (double)r->grid.n * r->grid.step;
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < r->ntargets; i++) {
		const struct report_target *t = &r->targets[i];
		if (site && strcmp(site, t->site) != 0)
			continue;
		s->targets++;
		s->met += t->met != 0;
		s->at_least_99 += span > 0 && t->ok_seconds / span >= 0.99;
		s->ok_seconds += t->ok_seconds;
		s->degraded_seconds += t->degraded_seconds;
		s->unknown_seconds += t->unknown_seconds;
	}
}

void report_summary_line(const struct report *r, const char *ge, struct buf *out)
{
	struct report_sum s;
	char share[32];
	report_sum(r, NULL, &s);
	buf_addf(out, "report: %zu/%zu targets %s 99 %% in policy, %zu/%zu for the whole range",
		 s.at_least_99, s.targets, ge, s.met, s.targets);
	double total = s.ok_seconds + s.degraded_seconds + s.unknown_seconds;
	if (s.unknown_seconds > 0 && total > 0) {
		report_fmt_share(share, sizeof(share), s.unknown_seconds / total);
		buf_addf(out, "; %s of the time unknown", share);
	}
}

int report_verdict(const struct report *r)
{
	for (size_t i = 0; i < r->ntargets; i++)
		if (!r->targets[i].met)
			return 1;
	return 0;
}

static void report_labels_free(struct report_label *l, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(l[i].name);
		free(l[i].value);
	}
	free(l);
}

void report_free(struct report *r)
{
	for (size_t i = 0; i < r->ntargets; i++) {
		struct report_target *t = &r->targets[i];
		free(t->job);
		free(t->instance);
		free(t->name);
		free(t->site);
		free(t->kind);
		free(t->source);
		free(t->severity);
		free(t->ok);
		free(t->count);
		for (size_t k = 0; k < t->ngaps; k++)
			free(t->gaps[k].also);
		free(t->gaps);
	}
	free(r->targets);
	for (size_t i = 0; i < r->nups; i++) {
		free(r->ups[i].job);
		free(r->ups[i].instance);
		free(r->ups[i].up);
		free(r->ups[i].count);
	}
	free(r->ups);
	for (size_t i = 0; i < r->nalerts; i++) {
		report_labels_free(r->alerts[i].labels, r->alerts[i].nlabels);
		free(r->alerts[i].firing);
	}
	free(r->alerts);
	free(r->prometheus);
	buf_free(&r->warnings);
	memset(r, 0, sizeof(*r));
}
