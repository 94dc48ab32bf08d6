/* report_data.c - the report for spreadsheets (CSV, one row per target) and scripts (JSON, everything). */
#include "report.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- CSV (RFC 4180) ---- */

static void report_csv_str(struct buf *out, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		buf_adds(out, s);
		return;
	}
	buf_addc(out, '"');
	for (; *s; s++) {
		if (*s == '"')
			buf_addc(out, '"');
		buf_addc(out, *s);
	}
	buf_addc(out, '"');
}

/* A number, "" when unknown. */
static void report_csv_num(struct buf *out, double v)
{
	if (!isnan(v))
		buf_addf(out, "%.10g", v);
}

static void report_csv_time(struct buf *out, double t)
{
	char s[32];
	if (isnan(t))
		return;
	report_fmt_rfc3339(s, sizeof(s), t);
	buf_adds(out, s);
}

static const char report_csv_header[] =
	"site,target,job,instance,kind,source,severity,ok_ratio,degraded_ratio,unknown_ratio,ok_seconds,"
	"degraded_seconds,unknown_seconds,days_ok,days,met_policy,gaps,longest_gap_seconds,longest_gap_start,"
	"longest_gap_end,longest_gap_cause,longest_gap_alert,newest_backup,age_seconds,max_age_seconds,"
	"restore_documented,copies,offsite_copies,last_verified,restore_test_last_success,"
	"restore_test_last_result,restore_test_duration_seconds\r\n";

static void report_csv_row(const struct report *r, const struct report_target *t, struct buf *out)
{
	const struct report_facts *f = &t->facts;
	const struct report_gap *g = t->longest;
	double span = (double)r->grid.n * r->grid.step;
	const char *strs[] = {t->site, t->name, t->job, t->instance, t->kind, t->source, t->severity};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		report_csv_str(out, strs[i]);
		buf_addc(out, ',');
	}
	buf_addf(out, "%.6f,%.6f,%.6f,%.0f,%.0f,%.0f,%u,%u,%s,%zu,", t->ok_seconds / span,
		 t->degraded_seconds / span, t->unknown_seconds / span, t->ok_seconds, t->degraded_seconds,
		 t->unknown_seconds, t->days_ok, t->days, t->met ? "true" : "false", t->ngaps);
	if (g) {
		buf_addf(out, "%.0f,", g->end - g->start);
		report_csv_time(out, g->start);
		buf_addc(out, ',');
		report_csv_time(out, g->end);
		buf_addc(out, ',');
		report_csv_str(out, g->cause);
		buf_addc(out, ',');
		report_csv_str(out, g->alert ? report_alert_label(g->alert, "alertname") : "");
		buf_addc(out, ',');
	} else {
		buf_adds(out, ",,,,,");
	}
	report_csv_time(out, f->last_backup);
	buf_addc(out, ',');
	report_csv_num(out, isnan(f->last_backup) ? NAN : r->end - f->last_backup);
	const double nums[] = {f->max_age, f->restore_documented, f->copies, f->offsite_copies};
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		buf_addc(out, ',');
		report_csv_num(out, nums[i]);
	}
	buf_addc(out, ',');
	report_csv_time(out, f->last_verified);
	buf_addc(out, ',');
	report_csv_time(out, f->restore_test_success);
	buf_addc(out, ',');
	report_csv_num(out, f->restore_test_result);
	buf_addc(out, ',');
	report_csv_num(out, f->restore_test_duration);
	buf_adds(out, "\r\n");
}

enum perr report_render_csv(const struct report *r, struct buf *out)
{
	buf_adds(out, report_csv_header);
	for (size_t i = 0; i < r->ntargets; i++)
		report_csv_row(r, &r->targets[i], out);
	return buf_err(out);
}

/* ---- JSON ---- */

/* A number, or null when unknown. */
static void report_json_num(cJSON *o, const char *key, double v)
{
	if (isnan(v) || isinf(v))
		cJSON_AddNullToObject(o, key);
	else
		cJSON_AddNumberToObject(o, key, v);
}

static cJSON *report_json_alert(const struct report_alert *a)
{
	cJSON *o = cJSON_CreateObject();
	for (size_t i = 0; o && i < a->nlabels; i++)
		cJSON_AddStringToObject(o, a->labels[i].name, a->labels[i].value);
	return o;
}

static cJSON *report_json_gap(const struct report_gap *g)
{
	static const char *const nodata[] = {"", "scrape_failed", "not_reported", "nothing_recorded"};
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "start", g->start);
	cJSON_AddNumberToObject(o, "end", g->end);
	cJSON_AddNumberToObject(o, "seconds", g->end - g->start);
	cJSON_AddNumberToObject(o, "degraded_seconds", g->degraded_seconds);
	cJSON_AddNumberToObject(o, "unknown_seconds", g->unknown_seconds);
	cJSON_AddBoolToObject(o, "open_start", g->open_start);
	cJSON_AddBoolToObject(o, "open_end", g->open_end);
	cJSON_AddStringToObject(o, "cause", g->cause);
	if (g->alert)
		cJSON_AddItemToObject(o, "alert", report_json_alert(g->alert));
	else
		cJSON_AddNullToObject(o, "alert");
	if (g->nodata != REPORT_NODATA_NONE)
		cJSON_AddStringToObject(o, "no_data", nodata[g->nodata]);
	else
		cJSON_AddNullToObject(o, "no_data");
	cJSON *also = cJSON_AddArrayToObject(o, "also_firing");
	for (size_t i = 0; also && i < g->nalso; i++)
		cJSON_AddItemToArray(also, cJSON_CreateString(g->also[i]));
	return o;
}

static cJSON *report_json_sum(const struct report_sum *s, const char *site)
{
	cJSON *o = cJSON_CreateObject();
	double total = s->ok_seconds + s->degraded_seconds + s->unknown_seconds;
	if (!o)
		return NULL;
	if (site)
		cJSON_AddStringToObject(o, "site", site);
	cJSON_AddNumberToObject(o, "targets", (double)s->targets);
	cJSON_AddNumberToObject(o, "met_policy", (double)s->met);
	cJSON_AddNumberToObject(o, "at_least_99_percent", (double)s->at_least_99);
	report_json_num(o, "ok_ratio", total > 0 ? s->ok_seconds / total : NAN);
	report_json_num(o, "degraded_ratio", total > 0 ? s->degraded_seconds / total : NAN);
	report_json_num(o, "unknown_ratio", total > 0 ? s->unknown_seconds / total : NAN);
	return o;
}

static void report_json_facts(cJSON *o, const struct report *r, const struct report_facts *f)
{
	report_json_num(o, "newest_backup", f->last_backup);
	report_json_num(o, "age_seconds", isnan(f->last_backup) ? NAN : r->end - f->last_backup);
	report_json_num(o, "max_age_seconds", f->max_age);
	if (isnan(f->restore_documented))
		cJSON_AddNullToObject(o, "restore_documented");
	else
		cJSON_AddBoolToObject(o, "restore_documented", f->restore_documented == 1);
	report_json_num(o, "copies", f->copies);
	report_json_num(o, "offsite_copies", f->offsite_copies);
	report_json_num(o, "last_verified", f->last_verified);
	cJSON *rt = cJSON_AddObjectToObject(o, "restore_test");
	if (rt) {
		report_json_num(rt, "last_success", f->restore_test_success);
		report_json_num(rt, "last_result", f->restore_test_result);
		report_json_num(rt, "duration_seconds", f->restore_test_duration);
	}
}

static cJSON *report_json_target(const struct report *r, const struct report_target *t)
{
	double span = (double)r->grid.n * r->grid.step;
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	const char *keys[] = {"target", "site", "job", "instance", "kind", "source", "severity"};
	const char *vals[] = {t->name, t->site, t->job, t->instance, t->kind, t->source, t->severity};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		cJSON_AddStringToObject(o, keys[i], vals[i]);
	cJSON_AddNumberToObject(o, "ok_ratio", t->ok_seconds / span);
	cJSON_AddNumberToObject(o, "degraded_ratio", t->degraded_seconds / span);
	cJSON_AddNumberToObject(o, "unknown_ratio", t->unknown_seconds / span);
	cJSON_AddNumberToObject(o, "ok_seconds", t->ok_seconds);
	cJSON_AddNumberToObject(o, "degraded_seconds", t->degraded_seconds);
	cJSON_AddNumberToObject(o, "unknown_seconds", t->unknown_seconds);
	cJSON_AddNumberToObject(o, "days_ok", t->days_ok);
	cJSON_AddNumberToObject(o, "days", t->days);
	cJSON_AddBoolToObject(o, "met_policy", t->met);
	report_json_facts(o, r, &t->facts);
	cJSON *gaps = cJSON_AddArrayToObject(o, "gaps");
	for (size_t k = 0; gaps && k < t->ngaps; k++)
		cJSON_AddItemToArray(gaps, report_json_gap(&t->gaps[k]));
	if (t->longest)
		cJSON_AddNumberToObject(o, "longest_gap", (double)(t->longest - t->gaps));
	else
		cJSON_AddNullToObject(o, "longest_gap");
	return o;
}

static void report_json_head(const struct report *r, cJSON *doc)
{
	struct buf line;
	buf_init(&line, 0);
	cJSON_AddStringToObject(doc, "prometheus", r->prometheus);
	cJSON_AddNumberToObject(doc, "start", r->grid.start);
	cJSON_AddNumberToObject(doc, "end", r->grid.start + (double)r->grid.n * r->grid.step);
	cJSON_AddNumberToObject(doc, "step_seconds", r->grid.step);
	struct report_sum s;
	report_sum(r, NULL, &s);
	cJSON *sum = report_json_sum(&s, NULL);
	report_summary_line(r, ">=", &line);
	if (sum)
		cJSON_AddStringToObject(sum, "line", buf_str(&line));
	cJSON_AddItemToObject(doc, "summary", sum);
	buf_free(&line);
	cJSON *warnings = cJSON_AddArrayToObject(doc, "warnings");
	for (const char *p = buf_str(&r->warnings); warnings && *p;) {
		size_t n = strcspn(p, "\n");
		char *w = strndup(p, n);
		if (w)
			cJSON_AddItemToArray(warnings, cJSON_CreateString(w));
		free(w);
		p += n + (p[n] == '\n');
	}
}

enum perr report_render_json(const struct report *r, struct buf *out)
{
	cJSON *doc = cJSON_CreateObject();
	enum perr rc = PE_NOMEM;
	size_t nsites;
	const char **sites = report_sites(r, &nsites);
	if (!doc || !sites)
		goto out;
	report_json_head(r, doc);
	cJSON *arr = cJSON_AddArrayToObject(doc, "sites");
	for (size_t i = 0; arr && i < nsites; i++) {
		struct report_sum s;
		report_sum(r, sites[i], &s);
		cJSON_AddItemToArray(arr, report_json_sum(&s, sites[i]));
	}
	arr = cJSON_AddArrayToObject(doc, "targets");
	for (size_t i = 0; arr && i < r->ntargets; i++)
		cJSON_AddItemToArray(arr, report_json_target(r, &r->targets[i]));
	char *text = cJSON_PrintUnformatted(doc);
	if (text) {
		buf_adds(out, text);
		buf_addc(out, '\n');
		free(text);
		rc = buf_err(out);
	}
out:
	free(sites);
	cJSON_Delete(doc);
	return rc;
}
