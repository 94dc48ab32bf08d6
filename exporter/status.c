/* status.c - the status page, /status JSON and persistencectl's text: targets, sources, unlisted guests. */
#include "status.h"
#include "drill_state.h"
#include "html.h"
#include "inventory.h"
#include "status_restore.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---------- what every rendering shares ---------- */

static const struct inventory_report *status_report(struct scrape *s)
{
	return facts_attached(scrape_facts(s), INVENTORY_ATTACHMENT);
}

static void format_time(char *out, size_t n, double t)
{
	if (t <= 0) {
		snprintf(out, n, "never");
		return;
	}
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, n, "%Y-%m-%d %H:%M:%SZ", &tm);
}

/*
 * The restore-drill line of target i ("restore tested 6d ago, 14 min"):
 * 1 with out set, 0 when there is nothing to say (the collector did not
 * run, or the target was never drilled and has no max_restore_test_age).
 */
static int restore_test_line(struct scrape *s, size_t i, char *out, size_t n, int *bad)
{
	const struct drill_report *d = facts_attached(scrape_facts(s), DRILL_ATTACHMENT);
	const struct config *cfg = scrape_config(s);

	*bad = 0;
	out[0] = '\0';
	if (!d || i >= d->n || i >= cfg->ntargets)
		return 0;
	if (d->unreadable) {
		snprintf(out, n, "restore tests unknown: the drill state file is unreadable");
		*bad = 1;
		return 1;
	}
	if (!d->e[i].has_last && cfg->targets[i].max_restore_test_age <= 0)
		return 0;
	drill_state_summary(&d->e[i], scrape_now(s), cfg->targets[i].max_restore_test_age,
			    cfg->targets[i].rto, out, n, bad);
	return 1;
}

/* The summary after "backup.status: ". */
static void status_summary(struct scrape *s, char *out, size_t n)
{
	const struct inventory_report *r = status_report(s);
	if (scrape_config(s)->ntargets == 0)
		snprintf(out, n, "no targets configured");
	else if (r)
		inventory_summary(r, out, n);
	else
		snprintf(out, n, "inventory not evaluated before the deadline");
}

int status_verdict(struct scrape *s)
{
	const struct inventory_report *r = status_report(s);
	if (!r && scrape_config(s)->ntargets > 0)
		return 2;
	int bad = r && r->nok < r->ntargets;
	for (size_t i = 0; i < scrape_nsources(s); i++)
		bad |= !scrape_source(s, i)->up;
	return bad ? 1 : 0;
}

/* The reason shown for t: a down source's own error completes it ("source home down: GET ...: HTTP 401"). */
static void target_reason(struct scrape *s, const struct inventory_target *t, char *out, size_t n)
{
	snprintf(out, n, "%s", t->reason);
	if (!t->source_down || !t->source_kind)
		return;
	for (size_t i = 0; i < scrape_nsources(s); i++) {
		const struct source_result *r = scrape_source(s, i);
		if (strcmp(r->kind, t->source_kind) == 0 && strcmp(r->name, t->source) == 0 && r->error[0]) {
			snprintf(out, n, "%s: %s", t->reason, r->error);
			return;
		}
	}
}

/* Age of the newest backup, or "-" when there is none. */
static void target_age(struct scrape *s, const struct inventory_target *t, char *out, size_t n)
{
	if (t->has_last)
		inventory_format_age(out, n, scrape_now(s) - t->last);
	else
		snprintf(out, n, "-");
}

/* ---------- HTML ---------- */

static const char page_head[] =
	"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	"<title>persistence_exporter</title>\n<style>\n"
	"body{font-family:system-ui,sans-serif;margin:1rem;color:#222;background:#fff;line-height:1.35}\n"
	"h1{font-size:1.2rem;margin:0;color:#444}h2{font-size:1.1rem;margin:1.5rem 0 .4rem}\n"
	".wrap{overflow-x:auto}\n"
	"table{border-collapse:collapse;width:100%}\n"
	"th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #ddd;font-size:.95rem;"
	"vertical-align:top}\n"
	"th{background:#f4f4f4}td.n{white-space:nowrap}\n"
	".ok{color:#176f2c;font-weight:600}.bad{color:#b3261e;font-weight:600}"
	".unk{color:#8a6d00;font-weight:600}\n"
	".summary{font-size:1.6rem;font-weight:700;margin:.6rem 0;padding:.6rem .9rem;border-radius:.3rem;"
	"background:#f4f4f4;border-left:.4rem solid #999}\n"
	".summary.ok{background:#e6f4ea;border-color:#176f2c}.summary.bad{background:#fce8e6;"
	"border-color:#b3261e}.summary.unk{background:#fef7e0;border-color:#8a6d00}\n"
	".muted{color:#666;font-size:.85rem}code{word-break:break-all;font-size:.85rem}\n"
	".targets td:nth-child(2),.targets td:nth-child(3){white-space:nowrap}\n"
	".targets td:nth-child(2){font-weight:600}.targets td:nth-child(9){min-width:11rem}\n"
	"tr.st-bad td{background:#fdf3f2}tr.st-unk td{background:#fffbeb}\n"
	"@media (max-width:600px){body{margin:.5rem}th,td{font-size:.85rem;padding:.25rem .3rem}"
	".summary{font-size:1.1rem;padding:.5rem .6rem}\n"
	".targets tr:first-child{display:none}\n"
	".targets tr{display:flex;flex-wrap:wrap;align-items:baseline;column-gap:.7rem;padding:.4rem .3rem;"
	"border-bottom:1px solid #ddd}\n"
	".targets tr::before{content:\"\";order:25;flex-basis:100%}"
	".targets tr::after{content:\"\";order:55;flex-basis:100%}\n"
	".targets td{border:0;padding:0;background:none!important;min-width:0!important}\n"
	".targets tr.st-bad{background:#fdf3f2}.targets tr.st-unk{background:#fffbeb}"
	".targets td .muted{font-size:inherit}\n"
	".targets td:nth-child(2){order:10;font-size:1rem}.targets td:nth-child(7){order:20}\n"
	".targets td:nth-child(5){order:30}.targets td:nth-child(5)::before{content:\"age \";color:#666}\n"
	".targets td:nth-child(6){order:40}.targets td:nth-child(6)::before{content:\"max \";color:#666}\n"
	".targets td:nth-child(9){order:50}\n"
	".targets td:nth-child(1),.targets td:nth-child(3),.targets td:nth-child(4),"
	".targets td:nth-child(8){order:60;color:#666;font-size:.8rem}\n"
	".targets td:nth-child(4)::before{content:\"last \"}}\n"
	"</style></head><body>\n<h1>persistence_exporter</h1>\n";

static const char *state_class(enum inventory_state st)
{
	return st == INVENTORY_OK ? "ok" : st == INVENTORY_DEGRADED ? "bad" : "unk";
}

static void render_summary_html(struct scrape *s, struct buf *out)
{
	const struct inventory_report *r = status_report(s);
	char line[128], when[64];
	status_summary(s, line, sizeof(line));
	const char *cls = !r ? "unk" : r->ndegraded ? "bad" : r->nunknown ? "unk" : "ok";
	buf_addf(out, "<p class=\"summary %s\">backup.status: ", cls);
	html_escape(out, line);
	format_time(when, sizeof(when), scrape_now(s));
	buf_addf(out, "</p>\n<p class=\"muted\">collected %s</p>\n", when);
}

static void render_doc_html(const struct inventory_target *t, struct buf *out)
{
	if (!t->doc_known) {
		buf_adds(out, "<span class=\"unk\">unknown</span>");
	} else if (t->documented && inventory_doc_is_url(t->restore_doc)) {
		buf_adds(out, "<a href=\"");
		html_escape(out, t->restore_doc);
		buf_adds(out, "\">restore doc</a>");
	} else if (t->documented) {
		buf_adds(out, "<code>");
		html_escape(out, t->restore_doc);
		buf_adds(out, "</code>");
	} else {
		buf_adds(out, "<span class=\"bad\">missing</span>");
	}
}

static void render_target_html(struct scrape *s, size_t i, const struct inventory_target *t, struct buf *out)
{
	char last[64], age[32], max[32], reason[640], drill[640];
	int drill_bad;
	format_time(last, sizeof(last), t->has_last ? t->last : 0);
	target_age(s, t, age, sizeof(age));
	inventory_format_max_age(max, sizeof(max), t->max_age);
	target_reason(s, t, reason, sizeof(reason));
	buf_addf(out, "<tr class=\"st-%s\"><td>", state_class(t->state));
	html_escape(out, t->site);
	buf_adds(out, "</td><td>");
	html_escape(out, t->name);
	buf_adds(out, "</td><td>");
	html_escape(out, t->kind);
	if (t->source[0]) {
		buf_adds(out, " <span class=\"muted\">");
		html_escape(out, t->source);
		buf_adds(out, "</span>");
	}
	buf_addf(out, "</td><td class=\"n\">%s%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td>",
		 t->has_last ? last : "none",
		 t->remembered ? " <span class=\"muted\">(remembered)</span>" : "", age, max);
	buf_addf(out, "<td class=\"%s\">%s</td><td>", state_class(t->state), inventory_state_str(t->state));
	render_doc_html(t, out);
	if (restore_test_line(s, i, drill, sizeof(drill), &drill_bad)) {
		buf_addf(out, "<br><span class=\"%s\">", drill_bad ? "bad" : "muted");
		html_escape(out, drill);
		buf_adds(out, "</span>");
	}
	if (status_restore_line(scrape_now(s), t, drill, sizeof(drill), &drill_bad)) {
		buf_addf(out, "<br><span class=\"%s\">", drill_bad ? "bad" : "muted");
		html_escape(out, drill);
		buf_adds(out, "</span>");
	}
	buf_adds(out, "</td><td>");
	html_escape(out, reason);
	buf_adds(out, "</td></tr>\n");
}

static void render_targets_html(struct scrape *s, struct buf *out)
{
	const struct inventory_report *r = status_report(s);
	buf_adds(out, "<h2>Backup targets</h2>\n");
	if (!r || !r->ntargets) {
		buf_adds(out, "<p class=\"muted\">No target to show.</p>\n");
		return;
	}
	buf_adds(out,
		 "<div class=\"wrap\"><table class=\"targets\"><tr><th>site</th><th>target</th><th>kind</th>"
		 "<th>last backup</th><th>age</th><th>max age</th><th>state</th><th>restore</th>"
		 "<th>reason</th></tr>\n");
	for (size_t i = 0; i < r->ntargets; i++)
		render_target_html(s, i, &r->targets[i], out);
	buf_adds(out, "</table></div>\n");
}

static void render_sources_html(struct scrape *s, struct buf *out)
{
	buf_adds(out, "<h2>Sources</h2>\n<div class=\"wrap\"><table><tr><th>source</th><th>kind</th>"
		      "<th>state</th><th>last success</th><th>last error</th></tr>\n");
	for (size_t i = 0; i < scrape_nsources(s); i++) {
		const struct source_result *r = scrape_source(s, i);
		char when[64];
		format_time(when, sizeof(when), r->last_success);
		buf_adds(out, "<tr><td>");
		html_escape(out, r->name);
		buf_adds(out, "</td><td>");
		html_escape(out, r->kind);
		buf_adds(out, r->up ? "</td><td class=\"ok\">UP" : "</td><td class=\"bad\">DOWN");
		buf_adds(out, "</td><td class=\"n\">");
		buf_adds(out, when);
		buf_adds(out, "</td><td>");
		html_escape(out, r->error);
		buf_adds(out, "</td></tr>\n");
	}
	buf_adds(out, "</table></div>\n");
}

/* Names of the PVE sources that are down ("home, shop") into out; returns how many. */
static size_t pve_sources_down(struct scrape *s, struct buf *out)
{
	size_t n = 0;
	for (size_t i = 0; i < scrape_nsources(s); i++) {
		const struct source_result *r = scrape_source(s, i);
		if (strcmp(r->kind, "pve") != 0 || r->up)
			continue;
		buf_adds(out, n++ ? ", " : "");
		buf_adds(out, r->name);
	}
	return n;
}

/* A table of guests; with the exemption's reason as a last column when exempt. */
static void guests_table_html(const struct inventory_guest *guests, size_t n, int exempt, struct buf *out)
{
	buf_adds(out, "<div class=\"wrap\"><table><tr><th>source</th><th>vmid</th><th>name</th><th>type</th>"
		      "<th>node</th>");
	buf_adds(out, exempt ? "<th>exempt because</th></tr>\n" : "</tr>\n");
	for (size_t i = 0; i < n; i++) {
		const struct inventory_guest *g = &guests[i];
		buf_adds(out, "<tr><td>");
		html_escape(out, g->source);
		buf_addf(out, "</td><td>%ld</td><td>", g->vmid);
		html_escape(out, g->name);
		buf_adds(out, "</td><td>");
		html_escape(out, g->type);
		buf_adds(out, "</td><td>");
		html_escape(out, g->node);
		if (exempt) {
			buf_adds(out, "</td><td>");
			html_escape(out, g->exempt_reason);
		}
		buf_adds(out, "</td></tr>\n");
	}
	buf_adds(out, "</table></div>\n");
}

static void render_guests_html(struct scrape *s, struct buf *out)
{
	const struct inventory_report *r = status_report(s);
	struct buf down;
	buf_init(&down, 4096);
	buf_adds(out, "<h2>Guests in no target</h2>\n");
	if (pve_sources_down(s, &down)) {
		buf_adds(out, "<p class=\"bad\">Not known for PVE sources that are down: ");
		html_escape(out, buf_str(&down));
		buf_adds(out, ".</p>\n");
	}
	buf_free(&down);
	if (!r || !r->nuninventoried)
		buf_addf(out,
			 "<p class=\"muted\">None found: every PVE guest seen is listed by a target%s.</p>\n",
			 r && r->nexempt_guests ? " or exempt" : "");
	else
		guests_table_html(r->uninventoried, r->nuninventoried, 0, out);
	if (!r || !r->nexempt_guests)
		return;
	buf_adds(out, "<h2>Exempt guests in no target</h2>\n<p class=\"muted\">They need no target: "
		      "<code>pve[].exempt</code> or a restore drill&#39;s scratch range.</p>\n");
	guests_table_html(r->exempt_guests, r->nexempt_guests, 1, out);
}

enum perr status_render_html(struct scrape *s, struct buf *out)
{
	buf_adds(out, page_head);
	render_summary_html(s, out);
	render_targets_html(s, out);
	render_sources_html(s, out);
	render_guests_html(s, out);
	buf_adds(out, "<p><a href=\"/metrics\">metrics</a> · <a href=\"/status\">status (JSON)</a> · "
		      "<a href=\"/-/healthy\">health</a></p>\n</body></html>\n");
	return buf_err(out);
}

/* ---------- JSON ---------- */

static cJSON *sources_json(struct scrape *s)
{
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; arr && i < scrape_nsources(s); i++) {
		const struct source_result *r = scrape_source(s, i);
		cJSON *o = cJSON_CreateObject();
		if (!o || !cJSON_AddItemToArray(arr, o)) {
			cJSON_Delete(o);
			break;
		}
		cJSON_AddStringToObject(o, "name", r->name);
		cJSON_AddStringToObject(o, "kind", r->kind);
		cJSON_AddBoolToObject(o, "up", r->up);
		cJSON_AddNumberToObject(o, "last_success", r->last_success);
		cJSON_AddNumberToObject(o, "duration_seconds", r->duration);
		cJSON_AddStringToObject(o, "error", r->error);
	}
	return arr;
}

/* A number, or null when unknown. */
static void add_number_or_null(cJSON *o, const char *name, int known, double v)
{
	if (known)
		cJSON_AddNumberToObject(o, name, v);
	else
		cJSON_AddNullToObject(o, name);
}

/* "restore_test": what the newest drills say, or null when there is nothing to say. */
static void restore_test_json(struct scrape *s, size_t i, cJSON *o)
{
	const struct drill_report *d = facts_attached(scrape_facts(s), DRILL_ATTACHMENT);
	char line[640];
	int bad;
	cJSON *rt;

	if (!restore_test_line(s, i, line, sizeof(line), &bad) ||
	    !(rt = cJSON_AddObjectToObject(o, "restore_test"))) {
		cJSON_AddNullToObject(o, "restore_test");
		return;
	}
	const struct drill_entry *e = d->unreadable ? NULL : &d->e[i];
	cJSON_AddStringToObject(rt, "summary", line);
	cJSON_AddBoolToObject(rt, "problem", bad);
	add_number_or_null(rt, "last", e && e->has_last, e ? e->last.finished : 0);
	if (e && e->has_last)
		cJSON_AddStringToObject(rt, "last_result", e->last.ok ? "ok" : "failed");
	else
		cJSON_AddNullToObject(rt, "last_result");
	if (e && e->has_last && !e->last.ok)
		cJSON_AddStringToObject(rt, "last_reason", e->last.reason);
	add_number_or_null(rt, "last_success", e && e->has_ok, e ? e->last_ok.finished : 0);
	add_number_or_null(rt, "duration_seconds", e && e->has_ok,
			   e ? drill_record_duration(&e->last_ok) : 0);
}

static void target_json(struct scrape *s, size_t i, const struct inventory_target *t, cJSON *o)
{
	char reason[640];
	target_reason(s, t, reason, sizeof(reason));
	cJSON_AddStringToObject(o, "name", t->name);
	cJSON_AddStringToObject(o, "site", t->site);
	cJSON_AddStringToObject(o, "kind", t->kind);
	cJSON_AddStringToObject(o, "source", t->source);
	cJSON_AddStringToObject(o, "severity", t->severity);
	add_number_or_null(o, "last_backup", t->has_last, t->last);
	add_number_or_null(o, "age_seconds", t->has_last, scrape_now(s) - t->last);
	cJSON_AddBoolToObject(o, "last_backup_remembered", t->remembered);
	cJSON_AddNumberToObject(o, "max_age_seconds", t->max_age);
	cJSON_AddBoolToObject(o, "ok", t->ok);
	cJSON_AddStringToObject(o, "state", inventory_state_str(t->state));
	cJSON_AddStringToObject(o, "reason", reason);
	if (t->restore_doc)
		cJSON_AddStringToObject(o, "restore_doc", t->restore_doc);
	else
		cJSON_AddNullToObject(o, "restore_doc");
	if (t->doc_known)
		cJSON_AddBoolToObject(o, "restore_documented", t->documented);
	else
		cJSON_AddNullToObject(o, "restore_documented");
	restore_test_json(s, i, o);
	status_restore_json(scrape_now(s), t, o);
}

static cJSON *targets_json(struct scrape *s, const struct inventory_report *r)
{
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; arr && r && i < r->ntargets; i++) {
		cJSON *o = cJSON_CreateObject();
		if (!o || !cJSON_AddItemToArray(arr, o)) {
			cJSON_Delete(o);
			break;
		}
		target_json(s, i, &r->targets[i], o);
	}
	return arr;
}

/* Guests as JSON objects; exempt ones also carry "exempt_reason". */
static cJSON *guests_json(const struct inventory_guest *guests, size_t n)
{
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; arr && i < n; i++) {
		const struct inventory_guest *g = &guests[i];
		cJSON *o = cJSON_CreateObject();
		if (!o || !cJSON_AddItemToArray(arr, o)) {
			cJSON_Delete(o);
			break;
		}
		cJSON_AddStringToObject(o, "source", g->source);
		cJSON_AddNumberToObject(o, "vmid", (double)g->vmid);
		cJSON_AddStringToObject(o, "name", g->name);
		cJSON_AddStringToObject(o, "type", g->type);
		cJSON_AddStringToObject(o, "node", g->node);
		if (g->exempt_reason)
			cJSON_AddStringToObject(o, "exempt_reason", g->exempt_reason);
	}
	return arr;
}

static cJSON *summary_json(struct scrape *s)
{
	const struct inventory_report *r = status_report(s);
	char line[128], full[160];
	status_summary(s, line, sizeof(line));
	snprintf(full, sizeof(full), "backup.status: %s", line);
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "ok", r ? (double)r->nok : 0);
	cJSON_AddNumberToObject(o, "degraded", r ? (double)r->ndegraded : 0);
	cJSON_AddNumberToObject(o, "unknown", r ? (double)r->nunknown : 0);
	cJSON_AddNumberToObject(o, "total", r ? (double)r->ntargets : (double)scrape_config(s)->ntargets);
	cJSON_AddBoolToObject(o, "evaluated", r != NULL);
	cJSON_AddStringToObject(o, "line", full);
	return o;
}

enum perr status_render_json(struct scrape *s, struct buf *out)
{
	const struct inventory_report *r = status_report(s);
	cJSON *root = cJSON_CreateObject();
	if (!root)
		return PE_NOMEM;
	cJSON_AddNumberToObject(root, "time", scrape_now(s));
	cJSON_AddItemToObject(root, "summary", summary_json(s));
	cJSON_AddItemToObject(root, "targets", targets_json(s, r));
	cJSON_AddItemToObject(root, "sources", sources_json(s));
	cJSON_AddItemToObject(root, "uninventoried",
			      guests_json(r ? r->uninventoried : NULL, r ? r->nuninventoried : 0));
	cJSON_AddItemToObject(root, "uninventoried_exempt",
			      guests_json(r ? r->exempt_guests : NULL, r ? r->nexempt_guests : 0));
	char *text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (!text)
		return PE_NOMEM;
	buf_adds(out, text);
	buf_addc(out, '\n');
	free(text);
	return buf_err(out);
}

/* ---------- aligned text for persistencectl ---------- */

#define TXT_COLS 11

/* One table of text cells; cells are sanitized copies (no control characters reach the terminal). */
struct txt_table {
	char **cells; /* nrows * TXT_COLS */
	size_t nrows, cap;
	int failed;
};

static char *txt_clean(const char *s)
{
	char *c = strdup(s ? s : "");
	for (char *p = c; p && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return c;
}

static void txt_row(struct txt_table *t, const char *const *vals, size_t n)
{
	if (t->nrows == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 16;
		char **nc = realloc(t->cells, ncap * TXT_COLS * sizeof(*nc));
		if (!nc) {
			t->failed = 1;
			return;
		}
		t->cells = nc;
		t->cap = ncap;
	}
	char **row = &t->cells[t->nrows++ * TXT_COLS];
	for (size_t i = 0; i < TXT_COLS; i++)
		if ((row[i] = txt_clean(i < n ? vals[i] : "")) == NULL)
			t->failed = 1;
}

static void txt_free(struct txt_table *t)
{
	for (size_t i = 0; i < t->nrows * TXT_COLS; i++)
		free(t->cells[i]);
	free(t->cells);
}

/* Display width: UTF-8 continuation bytes take no column. */
static size_t txt_width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

/*
 * Writes the table with columns padded to their widest cell; the last
 * used column is not padded. Column `color_col` of each row after the
 * header is wrapped in colors[row] (may be "").
 */
static void txt_write(const struct txt_table *t, size_t ncols, size_t color_col, const char *const *colors,
		      const char *off, struct buf *out)
{
	size_t w[TXT_COLS] = {0};
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < ncols; c++) {
			size_t cw = txt_width(t->cells[r * TXT_COLS + c]);
			w[c] = cw > w[c] ? cw : w[c];
		}
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < ncols; c++) {
			const char *cell = t->cells[r * TXT_COLS + c];
			int colored = r > 0 && c == color_col && colors && colors[r][0];
			buf_addf(out, "%s%s%s", colored ? colors[r] : "", cell, colored ? off : "");
			if (c + 1 < ncols)
				buf_addf(out, "%*s", (int)(w[c] - txt_width(cell) + 2), "");
		}
		while (out->len > 0 && out->data[out->len - 1] == ' ')
			out->data[--out->len] = '\0';
		buf_addc(out, '\n');
	}
}

static void text_targets(struct scrape *s, const struct inventory_report *r, int color, struct buf *out)
{
	static const char *const head[] = {"SITE",         "TARGET",  "KIND",  "LAST BACKUP",
					   "AGE",          "MAX AGE", "STATE", "RESTORE",
					   "RESTORE TEST", "COPIES",  "REASON"};
	struct txt_table t = {NULL, 0, 0, 0};
	const char **colors = calloc(r->ntargets + 1, sizeof(*colors));
	if (!colors) {
		buf_adds(out, "(out of memory)\n");
		return;
	}
	colors[0] = "";
	txt_row(&t, head, TXT_COLS);
	for (size_t i = 0; i < r->ntargets; i++) {
		const struct inventory_target *x = &r->targets[i];
		char last[64], age[32], max[32], reason[640], drill[640];
		int drill_bad;
		format_time(last, sizeof(last), x->has_last ? x->last : 0);
		target_age(s, x, age, sizeof(age));
		inventory_format_max_age(max, sizeof(max), x->max_age);
		target_reason(s, x, reason, sizeof(reason));
		if (!restore_test_line(s, i, drill, sizeof(drill), &drill_bad))
			snprintf(drill, sizeof(drill), "-");
		char copies[256];
		if (!status_restore_line(scrape_now(s), x, copies, sizeof(copies), &drill_bad))
			snprintf(copies, sizeof(copies), "-");
		const char *doc = !x->doc_known ? "unknown" : x->documented ? x->restore_doc : "missing";
		const char *row[] = {x->site[0] ? x->site : "-",
				     x->name,
				     x->kind,
				     x->has_last ? last : "none",
				     age,
				     max,
				     inventory_state_str(x->state),
				     doc,
				     drill,
				     copies,
				     reason};
		txt_row(&t, row, TXT_COLS);
		colors[i + 1] = !color                           ? ""
				: x->state == INVENTORY_OK       ? "\033[32m"
				: x->state == INVENTORY_DEGRADED ? "\033[31m"
								 : "\033[33m";
	}
	if (t.failed)
		buf_adds(out, "(out of memory)\n");
	else
		txt_write(&t, TXT_COLS, 6, colors, color ? "\033[0m" : "", out);
	txt_free(&t);
	free(colors);
}

static void text_sources(struct scrape *s, int color, struct buf *out)
{
	static const char *const head[] = {"SOURCE", "KIND", "STATE", "LAST ERROR"};
	size_t n = scrape_nsources(s);
	struct txt_table t = {NULL, 0, 0, 0};
	if (!n) {
		buf_adds(out, "No source configured.\n");
		return;
	}
	const char **colors = calloc(n + 1, sizeof(*colors));
	if (!colors) {
		buf_adds(out, "(out of memory)\n");
		return;
	}
	colors[0] = "";
	txt_row(&t, head, 4);
	for (size_t i = 0; i < n; i++) {
		const struct source_result *r = scrape_source(s, i);
		const char *row[] = {r->name, r->kind, r->up ? "UP" : "DOWN", r->error};
		txt_row(&t, row, 4);
		colors[i + 1] = !color ? "" : r->up ? "\033[32m" : "\033[31m";
	}
	if (t.failed)
		buf_adds(out, "(out of memory)\n");
	else
		txt_write(&t, 4, 2, colors, color ? "\033[0m" : "", out);
	txt_free(&t);
	free(colors);
}

/* "  home/112 sandbox (lxc on pve1)" per guest, ": <reason>" appended when exempt. */
static void text_guest_lines(const struct inventory_guest *guests, size_t n, struct buf *out)
{
	if (n)
		buf_addc(out, '\n');
	for (size_t i = 0; i < n; i++) {
		const struct inventory_guest *g = &guests[i];
		char line[768];
		snprintf(line, sizeof(line), "  %s/%ld %s (%s on %s)%s%s", g->source, g->vmid, g->name,
			 g->type[0] ? g->type : "?", g->node[0] ? g->node : "?", g->exempt_reason ? ": " : "",
			 g->exempt_reason ? g->exempt_reason : "");
		char *clean = txt_clean(line);
		buf_adds(out, clean ? clean : "  (out of memory)");
		buf_addc(out, '\n');
		free(clean);
	}
}

static void text_guests(struct scrape *s, const struct inventory_report *r, struct buf *out)
{
	struct buf down;
	buf_init(&down, 4096);
	buf_adds(out, "\nGuests in no target:");
	if (pve_sources_down(s, &down)) {
		char *clean = txt_clean(buf_str(&down));
		buf_addf(out, " (not known for PVE sources that are down: %s)", clean ? clean : "?");
		free(clean);
	}
	buf_free(&down);
	if (!r->nuninventoried)
		buf_adds(out, " none found\n");
	else
		text_guest_lines(r->uninventoried, r->nuninventoried, out);
	if (r->nexempt_guests) {
		buf_adds(out, "\nExempt guests in no target (pve[].exempt, drill scratch range):");
		text_guest_lines(r->exempt_guests, r->nexempt_guests, out);
	}
}

enum perr status_render_text(struct scrape *s, struct buf *out, int color)
{
	const struct inventory_report *r = status_report(s);
	char line[128];
	if (r && r->ntargets) {
		text_targets(s, r, color, out);
		buf_addc(out, '\n');
	}
	text_sources(s, color, out);
	if (r && scrape_config(s)->npve)
		text_guests(s, r, out);
	status_summary(s, line, sizeof(line));
	buf_addf(out, "\nbackup.status: %s\n", line);
	return buf_err(out);
}
