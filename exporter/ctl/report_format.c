/* report_format.c - how the report writes durations, times and shares, and the choice of renderer. */
#include "report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void report_fmt_duration(char *out, size_t n, double seconds, int units)
{
	static const struct {
		char unit;
		long long secs;
	} scale[] = {{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};
	long long left = seconds > 0 ? llround(seconds) : 0;
	size_t len = 0;
	int shown = 0;
	snprintf(out, n, "0s");
	for (size_t i = 0; i < 4 && shown < units && left > 0; i++) {
		long long k = left / scale[i].secs;
		left -= k * scale[i].secs;
		if (k == 0)
			continue;
		int w = snprintf(out + len, len < n ? n - len : 0, "%s%lld%c", shown ? " " : "", k,
				 scale[i].unit);
		len += w > 0 ? (size_t)w : 0;
		shown++;
	}
}

static int report_gmtime(double t, struct tm *tm)
{
	time_t s = (time_t)floor(t);
	return isfinite(t) && gmtime_r(&s, tm) != NULL;
}

void report_fmt_time(char *out, size_t n, double t)
{
	struct tm tm;
	if (!report_gmtime(t, &tm)) {
		snprintf(out, n, "-");
		return;
	}
	if (tm.tm_sec)
		strftime(out, n, "%Y-%m-%d %H:%M:%SZ", &tm);
	else
		strftime(out, n, "%Y-%m-%d %H:%MZ", &tm);
}

void report_fmt_rfc3339(char *out, size_t n, double t)
{
	struct tm tm;
	if (!report_gmtime(t, &tm)) {
		snprintf(out, n, "-");
		return;
	}
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void report_fmt_share(char *out, size_t n, double share)
{
	double pct = share * 100.0;
	if (!isfinite(pct))
		snprintf(out, n, "-");
	else if (pct > 0 && pct < 0.1)
		snprintf(out, n, "<0.1 %%");
	else
		snprintf(out, n, "%.1f %%", floor(pct * 10.0 + 1e-9) / 10.0);
}

int report_format_parse(const char *s)
{
	static const char *const names[] = {"text", "markdown", "html", "csv", "json"};
	for (int i = 0; i < 5; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

enum perr report_render(const struct report *r, enum report_format f, struct buf *out)
{
	switch (f) {
	case REPORT_TEXT:
		return report_render_text(r, out);
	case REPORT_MARKDOWN:
		return report_render_markdown(r, out);
	case REPORT_HTML:
		return report_render_html(r, out);
	case REPORT_CSV:
		return report_render_csv(r, out);
	case REPORT_JSON:
		return report_render_json(r, out);
	}
	return PE_INVAL;
}

const char *report_col_title(enum report_col c)
{
	static const char *const titles[REPORT_COL__COUNT] = {
		"SITE",          "TARGET", "OK",      "DAYS OK",     "GAPS",   "LONGEST GAP", "UNKNOWN",
		"NEWEST BACKUP", "AGE",    "MAX AGE", "RESTORE DOC", "COPIES", "VERIFIED",    "RESTORE TEST"};
	return c < REPORT_COL__COUNT ? titles[c] : "";
}

int report_col_shown(const struct report *r, enum report_col c)
{
	if (c == REPORT_COL_COPIES)
		return r->have_copies;
	if (c == REPORT_COL_VERIFIED)
		return r->have_verified;
	if (c == REPORT_COL_RESTORE_TEST)
		return r->have_restore_test;
	return c < REPORT_COL__COUNT;
}

/* "ok 2026-02-20 10:00Z, 14m" / "failed, last ok 2026-01-15 10:00Z" / "-". */
static void report_restore_test_cell(const struct report_facts *f, char *out, size_t n)
{
	char when[32], took[32];
	report_fmt_time(when, sizeof(when), f->restore_test_success);
	if (isnan(f->restore_test_result) && isnan(f->restore_test_success)) {
		snprintf(out, n, "-");
	} else if (f->restore_test_result == 0) {
		snprintf(out, n, "failed, last ok %s", isnan(f->restore_test_success) ? "never" : when);
	} else if (!isnan(f->restore_test_duration)) {
		report_fmt_duration(took, sizeof(took), f->restore_test_duration, 3);
		snprintf(out, n, "ok %s, %s", when, took);
	} else {
		snprintf(out, n, "ok %s", when);
	}
}

/* A policy as it is usually written: "26h", "7d"; "-" when unknown. */
static void report_fmt_max_age(char *out, size_t n, double secs)
{
	if (isnan(secs))
		snprintf(out, n, "-");
	else if (fmod(secs, 86400) == 0)
		snprintf(out, n, "%.0fd", secs / 86400);
	else if (fmod(secs, 3600) == 0)
		snprintf(out, n, "%.0fh", secs / 3600);
	else
		report_fmt_duration(out, n, secs, 3);
}

static void report_count_cell(double v, char *out, size_t n)
{
	if (isnan(v))
		snprintf(out, n, "-");
	else
		snprintf(out, n, "%.0f", v);
}

void report_cell(const struct report *r, const struct report_target *t, enum report_col c, char *out,
		 size_t n)
{
	const struct report_facts *f = &t->facts;
	double span = (double)r->grid.n * r->grid.step;
	char a[48], b[48];
	snprintf(out, n, "-");
	switch (c) {
	case REPORT_COL_SITE:
		snprintf(out, n, "%s", t->site[0] ? t->site : "-");
		break;
	case REPORT_COL_TARGET:
		snprintf(out, n, t->show_instance ? "%s @%s" : "%s", t->name, t->instance);
		break;
	case REPORT_COL_OK:
		report_fmt_share(out, n, span > 0 ? t->ok_seconds / span : NAN);
		break;
	case REPORT_COL_DAYS:
		snprintf(out, n, "%u/%u", t->days_ok, t->days);
		break;
	case REPORT_COL_GAPS:
		snprintf(out, n, "%zu", t->ngaps);
		break;
	case REPORT_COL_LONGEST:
		if (t->longest)
			report_fmt_duration(out, n, t->longest->end - t->longest->start, 3);
		break;
	case REPORT_COL_UNKNOWN:
		if (t->unknown_seconds > 0)
			report_fmt_duration(out, n, t->unknown_seconds, 3);
		break;
	case REPORT_COL_NEWEST:
		report_fmt_time(out, n, f->last_backup);
		break;
	case REPORT_COL_AGE:
		if (!isnan(f->last_backup))
			report_fmt_duration(out, n, r->end - f->last_backup, 2);
		break;
	case REPORT_COL_MAX_AGE:
		report_fmt_max_age(out, n, f->max_age);
		break;
	case REPORT_COL_RESTORE_DOC:
		if (!isnan(f->restore_documented))
			snprintf(out, n, "%s", f->restore_documented == 1 ? "yes" : "no");
		break;
	case REPORT_COL_COPIES:
		report_count_cell(f->copies, a, sizeof(a));
		report_count_cell(f->offsite_copies, b, sizeof(b));
		if (!isnan(f->copies))
			snprintf(out, n, isnan(f->offsite_copies) ? "%s" : "%s (%s offsite)", a, b);
		break;
	case REPORT_COL_VERIFIED:
		report_fmt_time(out, n, f->last_verified);
		break;
	case REPORT_COL_RESTORE_TEST:
		report_restore_test_cell(f, out, n);
		break;
	case REPORT_COL__COUNT:
		break;
	}
}

void report_fmt_cause(const struct report_gap *g, char *out, size_t n)
{
	const char *name = g->alert ? report_alert_label(g->alert, "alertname") : NULL;
	char unknown[48];
	size_t len = (size_t)snprintf(out, n, name ? "%s (%s)" : "%s", g->cause, name);
	if (g->degraded_seconds > 0 && g->unknown_seconds > 0 && len < n) {
		report_fmt_duration(unknown, sizeof(unknown), g->unknown_seconds, 3);
		snprintf(out + len, n - len, "; %s no data", unknown);
	}
}

void report_fmt_also(const struct report_gap *g, char *out, size_t n)
{
	size_t len = 0;
	out[0] = '\0';
	for (size_t i = 0; i < g->nalso && len < n; i++) {
		int w = snprintf(out + len, n - len, "%s%s", i ? ", " : "", g->also[i]);
		len += w > 0 ? (size_t)w : 0;
	}
}

const char **report_sites(const struct report *r, size_t *n)
{
	const char **s = calloc(r->ntargets ? r->ntargets : 1, sizeof(*s));
	*n = 0;
	for (size_t i = 0; s && i < r->ntargets; i++) {
		size_t k = 0;
		while (k < *n && strcmp(s[k], r->targets[i].site) != 0)
			k++;
		if (k == *n)
			s[(*n)++] = r->targets[i].site;
	}
	return s;
}

void report_fmt_sum(const struct report_sum *s, const char *ge, struct buf *out)
{
	char ok[32], unknown[32];
	double total = s->ok_seconds + s->degraded_seconds + s->unknown_seconds;
	report_fmt_share(ok, sizeof(ok), total > 0 ? s->ok_seconds / total : 0);
	report_fmt_share(unknown, sizeof(unknown), total > 0 ? s->unknown_seconds / total : 0);
	buf_addf(out,
		 "%zu/%zu targets in policy for the whole range, %zu/%zu %s 99 %%; OK %s of the time, "
		 "unknown %s",
		 s->met, s->targets, s->at_least_99, s->targets, ge, ok, unknown);
}
