/* report_html.c - the report as one self-contained HTML page: inline CSS, an inline SVG timeline per target. */
#include "report.h"
#include "html.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CELL 512
#define TIMELINE_W 1000.0 /* SVG user units across the range */
#define MIN_MARK 2.0 /* a short gap is drawn at least this wide, so it stays visible */

static const char report_css[] =
	":root{--ok:#2e7d32;--bad:#c62828;--unk:#9e9e9e;--line:#ddd;--muted:#555}"
	"*{box-sizing:border-box}"
	"body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;padding:1rem;"
	"color:#1b1b1b;background:#fff;max-width:75rem;margin-inline:auto}"
	"h1{font-size:1.4rem;margin:0 0 .25rem}h2{font-size:1.15rem;margin:1.6rem 0 .5rem;"
	"border-bottom:2px solid var(--line);padding-bottom:.2rem}h3{font-size:1rem;margin:0}"
	".muted{color:var(--muted);font-size:.9rem}"
	".verdict{font-weight:600;padding:.5rem .75rem;border-radius:6px;margin:.75rem 0}"
	".verdict.met{background:#e8f5e9;border-left:6px solid var(--ok)}"
	".verdict.notmet{background:#ffebee;border-left:6px solid var(--bad)}"
	"ul.sites{margin:.25rem 0 .75rem;padding-left:1.2rem}"
	".legend span.sw{display:inline-block;width:.9em;height:.9em;border-radius:2px;vertical-align:-.1em;"
	"margin:0 .3em 0 .8em}.legend span.sw:first-child{margin-left:0}"
	".ok{background:var(--ok)}.bad{background:var(--bad)}.unk{background:var(--unk)}"
	".scroll{overflow-x:auto}"
	"table{border-collapse:collapse;width:100%;font-size:.9rem}"
	"th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}"
	"th{background:#f5f5f5;white-space:nowrap}td.num,th.num{text-align:right;white-space:nowrap}"
	"table.overview td,table.gaps td.when{white-space:nowrap}"
	"article{border:1px solid var(--line);border-radius:8px;padding:.75rem;margin:.75rem 0;"
	"break-inside:avoid}"
	"article.notmet{border-left:6px solid var(--bad)}article.met{border-left:6px solid var(--ok)}"
	".head{display:flex;flex-wrap:wrap;gap:.25rem "
	"1rem;align-items:baseline;justify-content:space-between}"
	".share{font-weight:600}"
	"svg.timeline{display:block;width:100%;height:26px;margin:.5rem 0 0;border-radius:3px}"
	".axis{position:relative;height:1.2em;font-size:.75rem;color:var(--muted);margin-bottom:.5rem}"
	".axis span{position:absolute;top:0;transform:translateX(-50%);white-space:nowrap}"
	".axis span:first-child{transform:none}.axis span:last-child{transform:translateX(-100%)}"
	"dl.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(10rem,1fr));gap:.4rem .75rem;"
	"margin:.25rem 0 .5rem}dl.facts div{min-width:0}dt{font-size:.75rem;color:var(--muted);"
	"text-transform:uppercase;letter-spacing:.03em}dd{margin:0;overflow-wrap:anywhere}"
	"@media (max-width:40rem){body{padding:.6rem;font-size:14px}"
	"table.gaps thead{display:none}table.gaps tr{display:block;border-bottom:1px solid var(--line);"
	"padding:.3rem 0}table.gaps td{display:block;border:0;padding:.05rem 0}"
	"table.gaps td.num{text-align:left}table.gaps td.when{display:inline-block;margin-right:.6rem}"
	"table.gaps td[data-h]::before{content:attr(data-h) ': ';color:var(--muted);font-size:.8rem}}"
	"@media print{body{font-size:10pt;padding:0;max-width:none}"
	"*{-webkit-print-color-adjust:exact;print-color-adjust:exact}.scroll{overflow:visible}"
	"h2{break-after:avoid}}";

static void report_html_head(const struct report *r, struct buf *out)
{
	char from[32], to[32], range[32], step[32];
	double end = r->grid.start + (double)r->grid.n * r->grid.step;
	report_fmt_time(from, sizeof(from), r->grid.start);
	report_fmt_time(to, sizeof(to), end);
	report_fmt_duration(range, sizeof(range), end - r->grid.start, 3);
	report_fmt_duration(step, sizeof(step), r->grid.step, 3);
	buf_addf(
		out,
		"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
		"<title>Backup compliance report %s → %s</title><style>%s</style></head>\n<body>\n"
		"<header><h1>Backup compliance report</h1>\n<p class=\"muted\">%s → %s · %s in steps of %s · "
		"Prometheus <code>",
		from, to, report_css, from, to, range, step);
	html_escape(out, r->prometheus);
	buf_adds(out, "</code></p>\n");
}

static enum perr report_html_summary(const struct report *r, struct buf *out)
{
	struct buf line;
	size_t n;
	const char **sites = report_sites(r, &n);
	if (!sites)
		return PE_NOMEM;
	buf_init(&line, 0);
	report_summary_line(r, "≥", &line);
	buf_addf(out, "<p class=\"verdict %s\">", report_verdict(r) == 0 ? "met" : "notmet");
	html_escape(out, buf_str(&line));
	buf_adds(out, "</p>\n<ul class=\"sites\">\n");
	for (size_t i = 0; i < n; i++) {
		struct report_sum s;
		buf_reset(&line);
		report_sum(r, sites[i], &s);
		report_fmt_sum(&s, "≥", &line);
		buf_adds(out, "<li><b>");
		html_escape(out, sites[i][0] ? sites[i] : "no site");
		buf_adds(out, "</b>: ");
		html_escape(out, buf_str(&line));
		buf_adds(out, "</li>\n");
	}
	buf_adds(out,
		 "</ul>\n<p class=\"legend muted\"><span class=\"sw ok\"></span>OK"
		 "<span class=\"sw bad\"></span>degraded<span class=\"sw unk\"></span>unknown (no data)</p>"
		 "\n</header>\n");
	free(sites);
	enum perr rc = buf_err(&line);
	buf_free(&line);
	return rc;
}

static int report_numeric_col(enum report_col c)
{
	return c >= REPORT_COL_OK && c <= REPORT_COL_UNKNOWN;
}

static void report_html_overview(const struct report *r, struct buf *out)
{
	char cell[CELL];
	buf_adds(out, "<h2>Targets</h2>\n<div class=\"scroll\"><table class=\"overview\"><thead><tr>");
	for (int c = 0; c < REPORT_COL__COUNT; c++)
		if (report_col_shown(r, (enum report_col)c))
			buf_addf(out, "<th%s>%s</th>",
				 report_numeric_col((enum report_col)c) ? " class=\"num\"" : "",
				 report_col_title((enum report_col)c));
	buf_adds(out, "</tr></thead><tbody>\n");
	for (size_t i = 0; i < r->ntargets; i++) {
		buf_adds(out, "<tr>");
		for (int c = 0; c < REPORT_COL__COUNT; c++) {
			if (!report_col_shown(r, (enum report_col)c))
				continue;
			report_cell(r, &r->targets[i], (enum report_col)c, cell, sizeof(cell));
			buf_addf(out, "<td%s>",
				 report_numeric_col((enum report_col)c) ? " class=\"num\"" : "");
			if (c == REPORT_COL_TARGET)
				buf_addf(out, "<a href=\"#t%zu\">", i);
			html_escape(out, cell);
			buf_adds(out, c == REPORT_COL_TARGET ? "</a></td>" : "</td>");
		}
		buf_adds(out, "</tr>\n");
	}
	buf_adds(out, "</tbody></table></div>\n");
}

/* One coloured mark over windows [a, b] of state st, with a tooltip. */
static void report_svg_mark(const struct report *r, const struct report_target *t, size_t a, size_t b,
			    enum report_state st, struct buf *out)
{
	static const char *const fill[] = {"var(--ok)", "var(--bad)", "var(--unk)"};
	static const char *const what[] = {"OK", "degraded", "no data"};
	const struct report_grid *g = &r->grid;
	double x = (double)a / (double)g->n * TIMELINE_W;
	double w = (double)(b - a + 1) / (double)g->n * TIMELINE_W;
	char from[32], to[32];
	(void)t;
	if (st != REPORT_OK && w < MIN_MARK) {
		x -= (MIN_MARK - w) / 2;
		w = MIN_MARK;
	}
	report_fmt_time(from, sizeof(from), g->start + (double)a * g->step);
	report_fmt_time(to, sizeof(to), g->start + (double)(b + 1) * g->step);
	buf_addf(out,
		 "<rect x=\"%.2f\" y=\"0\" width=\"%.2f\" height=\"26\" fill=\"%s\"><title>%s → %s: "
		 "%s</title></rect>",
		 x, w, fill[st], from, to, what[st]);
}

/* Thin lines at each day boundary (counted back from the end), when there are at most 62 days. */
static void report_svg_days(const struct report *r, struct buf *out)
{
	const struct report_grid *g = &r->grid;
	double span = (double)g->n * g->step;
	if (span / 86400.0 > 62)
		return;
	for (double back = 86400; back < span - 1e-6; back += 86400)
		buf_addf(out,
			 "<line x1=\"%.2f\" x2=\"%.2f\" y1=\"0\" y2=\"26\" stroke=\"#fff\" "
			 "stroke-opacity=\".55\" "
			 "vector-effect=\"non-scaling-stroke\"/>",
			 (span - back) / span * TIMELINE_W, (span - back) / span * TIMELINE_W);
}

static void report_html_timeline(const struct report *r, const struct report_target *t, struct buf *out)
{
	const struct report_grid *g = &r->grid;
	char share[32];
	report_fmt_share(share, sizeof(share), t->ok_seconds / ((double)g->n * g->step));
	buf_addf(out,
		 "<svg class=\"timeline\" viewBox=\"0 0 %.0f 26\" preserveAspectRatio=\"none\" role=\"img\" "
		 "aria-label=\"timeline: %s OK\">",
		 TIMELINE_W, share);
	report_svg_mark(r, t, 0, g->n - 1, REPORT_OK, out);
	/* grey first, red on top: a red mark is never hidden by a widened grey one */
	for (int pass = REPORT_UNKNOWN; pass >= REPORT_DEGRADED; pass--) {
		size_t i = 0;
		while (i < g->n) {
			enum report_nodata why;
			if (report_window_state(t, i, &why) != (enum report_state)pass) {
				i++;
				continue;
			}
			size_t a = i;
			while (i + 1 < g->n && report_window_state(t, i + 1, &why) == (enum report_state)pass)
				i++;
			report_svg_mark(r, t, a, i, (enum report_state)pass, out);
			i++;
		}
	}
	report_svg_days(r, out);
	buf_adds(out, "</svg>\n");
}

/* Dates under the timeline: about five, at day boundaries counted back from the end. */
static void report_html_axis(const struct report *r, struct buf *out)
{
	const struct report_grid *g = &r->grid;
	double span = (double)g->n * g->step, end = g->start + span;
	double every = span <= 2 * 86400.0 ? span / 4 : ceil(span / 86400.0 / 4) * 86400.0;
	char when[32];
	buf_adds(out, "<div class=\"axis\" aria-hidden=\"true\">");
	for (double back = span; back >= -1e-6; back -= every) {
		if (back < every * 0.6 && back > 1e-6)
			continue; /* too close to the end label */
		report_fmt_time(when, sizeof(when), end - back);
		if (span > 2 * 86400.0)
			when[10] = '\0'; /* the date is enough */
		buf_addf(out, "<span style=\"left:%.2f%%\">%s</span>", (span - back) / span * 100.0,
			 when + 5);
	}
	buf_adds(out, "</div>\n");
}

static void report_html_facts(const struct report *r, const struct report_target *t, struct buf *out)
{
	static const enum report_col cols[] = {
		REPORT_COL_DAYS,   REPORT_COL_GAPS,     REPORT_COL_LONGEST,     REPORT_COL_UNKNOWN,
		REPORT_COL_NEWEST, REPORT_COL_AGE,      REPORT_COL_MAX_AGE,     REPORT_COL_RESTORE_DOC,
		REPORT_COL_COPIES, REPORT_COL_VERIFIED, REPORT_COL_RESTORE_TEST};
	char cell[CELL];
	buf_adds(out, "<dl class=\"facts\">");
	for (size_t k = 0; k < sizeof(cols) / sizeof(cols[0]); k++) {
		if (!report_col_shown(r, cols[k]))
			continue;
		report_cell(r, t, cols[k], cell, sizeof(cell));
		if (cols[k] >= REPORT_COL_COPIES && !strcmp(cell, "-"))
			continue; /* this target has no such metric */
		buf_addf(out, "<div><dt>%s</dt><dd>", report_col_title(cols[k]));
		html_escape(out, cell);
		buf_adds(out, "</dd></div>");
	}
	buf_adds(out, "</dl>\n");
}

static void report_html_gaps(const struct report_target *t, struct buf *out)
{
	char from[32], to[32], len[32], cause[CELL];
	if (!t->ngaps)
		return;
	buf_adds(
		out,
		"<table class=\"gaps\"><thead><tr><th>Gap start</th><th>End</th><th class=\"num\">Length</th>"
		"<th>Most likely cause</th><th>Also firing</th></tr></thead><tbody>\n");
	for (size_t k = 0; k < t->ngaps; k++) {
		const struct report_gap *g = &t->gaps[k];
		report_fmt_time(from, sizeof(from), g->start);
		report_fmt_time(to, sizeof(to), g->end);
		report_fmt_duration(len, sizeof(len), g->end - g->start, 3);
		buf_addf(out,
			 "<tr class=\"%s\"><td class=\"when\" data-h=\"from\">%s</td>"
			 "<td class=\"when\" data-h=\"to\">%s%s</td><td class=\"num when\" "
			 "data-h=\"length\">%s</td><td>",
			 g->degraded_seconds > 0 ? "degraded" : "nodata", from, to,
			 g->open_end ? " (still open)" : "", len);
		report_fmt_cause(g, cause, sizeof(cause));
		html_escape(out, cause);
		report_fmt_also(g, cause, sizeof(cause));
		buf_adds(out, cause[0] ? "</td><td data-h=\"also\">" : "</td><td>");
		html_escape(out, cause);
		buf_adds(out, "</td></tr>\n");
	}
	buf_adds(out, "</tbody></table>\n");
}

static void report_html_target(const struct report *r, const struct report_target *t, size_t i,
			       struct buf *out)
{
	char share[32];
	report_fmt_share(share, sizeof(share), t->ok_seconds / ((double)r->grid.n * r->grid.step));
	buf_addf(out, "<article id=\"t%zu\" class=\"%s\"><div class=\"head\"><h3>", i,
		 t->met ? "met" : "notmet");
	html_escape(out, t->name);
	buf_adds(out, "</h3><span class=\"muted\">");
	html_escape(out, t->kind);
	if (t->source[0]) {
		buf_adds(out, " ");
		html_escape(out, t->source);
	}
	buf_adds(out, " · ");
	html_escape(out, t->severity);
	if (t->show_instance) {
		buf_adds(out, " · ");
		html_escape(out, t->instance);
	}
	buf_addf(out, "</span><span class=\"share\">%s OK</span></div>\n", share);
	report_html_timeline(r, t, out);
	report_html_axis(r, out);
	report_html_facts(r, t, out);
	report_html_gaps(t, out);
	buf_adds(out, "</article>\n");
}

enum perr report_render_html(const struct report *r, struct buf *out)
{
	size_t n;
	const char **sites = NULL;
	report_html_head(r, out);
	if (report_html_summary(r, out) != PE_OK || !(sites = report_sites(r, &n)))
		return PE_NOMEM;
	buf_adds(out, "<main>\n");
	report_html_overview(r, out);
	for (size_t s = 0; s < n; s++) {
		buf_adds(out, "<section><h2>");
		if (sites[s][0])
			buf_adds(out, "Site ");
		html_escape(out, sites[s][0] ? sites[s] : "Targets without a site");
		buf_adds(out, "</h2>\n");
		for (size_t i = 0; i < r->ntargets; i++)
			if (strcmp(r->targets[i].site, sites[s]) == 0)
				report_html_target(r, &r->targets[i], i, out);
		buf_adds(out, "</section>\n");
	}
	free(sites);
	buf_adds(
		out,
		"</main>\n<footer class=\"muted\"><p>Made by <code>persistencectl report</code>. OK: every "
		"sample of <code>persistence_target_ok</code> in a step was 1; degraded: one was 0; unknown: "
		"there was none (the exporter or Prometheus was down). Times are UTC.</p></footer>\n"
		"</body></html>\n");
	return buf_err(out);
}
