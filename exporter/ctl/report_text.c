/* report_text.c - the report as aligned text for a terminal and as Markdown for tickets. */
#include "report.h"

#include <stdlib.h>
#include <string.h>

#define CELL 160

/* Characters of s as a terminal shows them (UTF-8 continuation bytes take no column). */
static size_t report_width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		w += ((unsigned char)*s & 0xC0) != 0x80;
	return w;
}

/* Text from Prometheus labels with control characters replaced by '?'. */
static void report_add_clean(struct buf *out, const char *s)
{
	for (; *s; s++)
		buf_addc(out, ((unsigned char)*s < 0x20 || *s == 0x7f) ? '?' : *s);
}

static void report_header(const struct report *r, struct buf *out, const char *arrow)
{
	char from[32], to[32], range[32], step[32];
	report_fmt_time(from, sizeof(from), r->grid.start);
	report_fmt_time(to, sizeof(to), r->grid.start + (double)r->grid.n * r->grid.step);
	report_fmt_duration(range, sizeof(range), (double)r->grid.n * r->grid.step, 3);
	report_fmt_duration(step, sizeof(step), r->grid.step, 3);
	buf_addf(out, "Backup compliance report, %s %s %s (%s in steps of %s)", from, arrow, to, range, step);
}

/* Widths of the shown columns over the titles and every target's cells. */
static void report_widths(const struct report *r, size_t *w)
{
	char cell[CELL];
	for (int c = 0; c < REPORT_COL__COUNT; c++)
		w[c] = report_width(report_col_title((enum report_col)c));
	for (size_t i = 0; i < r->ntargets; i++)
		for (int c = 0; c < REPORT_COL__COUNT; c++) {
			report_cell(r, &r->targets[i], (enum report_col)c, cell, sizeof(cell));
			if (report_width(cell) > w[c])
				w[c] = report_width(cell);
		}
}

static void report_text_row(const struct report *r, const struct report_target *t, const size_t *w,
			    struct buf *out)
{
	char cell[CELL];
	int first = 1;
	for (int c = 0; c < REPORT_COL__COUNT; c++) {
		if (!report_col_shown(r, (enum report_col)c))
			continue;
		if (t)
			report_cell(r, t, (enum report_col)c, cell, sizeof(cell));
		const char *s = t ? cell : report_col_title((enum report_col)c);
		if (!first)
			buf_adds(out, "  ");
		first = 0;
		report_add_clean(out, s);
		for (size_t k = report_width(s); k < w[c] && c != REPORT_COL__COUNT - 1; k++)
			buf_addc(out, ' ');
	}
	while (out->len && out->data[out->len - 1] == ' ')
		out->data[--out->len] = '\0';
	buf_addc(out, '\n');
}

static void report_text_gaps(const struct report *r, struct buf *out)
{
	char from[32], to[32], len[32], cause[512];
	buf_adds(out, "\nGAPS (not OK, or no data)\n");
	for (size_t i = 0; i < r->ntargets; i++) {
		const struct report_target *t = &r->targets[i];
		if (!t->ngaps)
			continue;
		report_add_clean(out, t->name);
		if (t->show_instance) {
			buf_adds(out, " @");
			report_add_clean(out, t->instance);
		}
		buf_adds(out, "\n");
		for (size_t k = 0; k < t->ngaps; k++) {
			const struct report_gap *g = &t->gaps[k];
			report_fmt_time(from, sizeof(from), g->start);
			report_fmt_time(to, sizeof(to), g->end);
			report_fmt_duration(len, sizeof(len), g->end - g->start, 3);
			report_fmt_cause(g, cause, sizeof(cause));
			buf_addf(out, "  %s -> %s%s  %-9s  ", from, to, g->open_end ? " (still open)" : "",
				 len);
			report_add_clean(out, cause);
			if (g->nalso) {
				report_fmt_also(g, cause, sizeof(cause));
				buf_adds(out, "; also ");
				report_add_clean(out, cause);
			}
			buf_addc(out, '\n');
		}
	}
}

static enum perr report_text_sites(const struct report *r, struct buf *out)
{
	size_t n, w = 4;
	const char **sites = report_sites(r, &n);
	struct report_sum s;
	if (!sites)
		return PE_NOMEM;
	buf_adds(out, "\nSITES\n");
	for (size_t i = 0; i < n; i++)
		if (report_width(sites[i]) > w)
			w = report_width(sites[i]);
	for (size_t i = 0; i < n; i++) {
		report_sum(r, sites[i], &s);
		buf_adds(out, "  ");
		report_add_clean(out, sites[i][0] ? sites[i] : "-");
		for (size_t k = report_width(sites[i][0] ? sites[i] : "-"); k < w + 2; k++)
			buf_addc(out, ' ');
		report_fmt_sum(&s, ">=", out);
		buf_addc(out, '\n');
	}
	free(sites);
	return PE_OK;
}

enum perr report_render_text(const struct report *r, struct buf *out)
{
	size_t w[REPORT_COL__COUNT];
	report_header(r, out, "->");
	buf_adds(out, "\nPrometheus: ");
	report_add_clean(out, r->prometheus);
	buf_adds(out, "\n\n");
	report_widths(r, w);
	report_text_row(r, NULL, w, out);
	for (size_t i = 0; i < r->ntargets; i++)
		report_text_row(r, &r->targets[i], w, out);
	report_text_gaps(r, out);
	if (report_text_sites(r, out) != PE_OK)
		return PE_NOMEM;
	buf_addc(out, '\n');
	report_summary_line(r, ">=", out);
	buf_addc(out, '\n');
	return buf_err(out);
}

/* ---- Markdown ---- */

/* A table cell: '|' escaped, line breaks and control characters replaced. */
static void report_md_cell(struct buf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			buf_adds(out, "\\|");
		else
			buf_addc(out, ((unsigned char)*s < 0x20 || *s == 0x7f) ? ' ' : *s);
	}
}

static void report_md_table(const struct report *r, struct buf *out)
{
	char cell[CELL];
	buf_adds(out, "|");
	for (int c = 0; c < REPORT_COL__COUNT; c++)
		if (report_col_shown(r, (enum report_col)c))
			buf_addf(out, " %s |", report_col_title((enum report_col)c));
	buf_adds(out, "\n|");
	for (int c = 0; c < REPORT_COL__COUNT; c++)
		if (report_col_shown(r, (enum report_col)c))
			buf_adds(out, c >= REPORT_COL_OK && c <= REPORT_COL_UNKNOWN ? " ---: |" : " --- |");
	buf_addc(out, '\n');
	for (size_t i = 0; i < r->ntargets; i++) {
		buf_adds(out, "|");
		for (int c = 0; c < REPORT_COL__COUNT; c++) {
			if (!report_col_shown(r, (enum report_col)c))
				continue;
			report_cell(r, &r->targets[i], (enum report_col)c, cell, sizeof(cell));
			buf_addc(out, ' ');
			report_md_cell(out, cell);
			buf_adds(out, " |");
		}
		buf_addc(out, '\n');
	}
}

static void report_md_gaps(const struct report *r, struct buf *out)
{
	char from[32], to[32], len[32], cause[512];
	buf_adds(out, "\n## Gaps\n");
	for (size_t i = 0; i < r->ntargets; i++) {
		const struct report_target *t = &r->targets[i];
		if (!t->ngaps)
			continue;
		buf_adds(out, "\n**");
		report_md_cell(out, t->name);
		if (t->show_instance) {
			buf_adds(out, " @");
			report_md_cell(out, t->instance);
		}
		buf_adds(out, "**\n\n| start | end | length | cause | also firing |\n| --- | --- | ---: | "
			      "--- | --- |\n");
		for (size_t k = 0; k < t->ngaps; k++) {
			const struct report_gap *g = &t->gaps[k];
			report_fmt_time(from, sizeof(from), g->start);
			report_fmt_time(to, sizeof(to), g->end);
			report_fmt_duration(len, sizeof(len), g->end - g->start, 3);
			report_fmt_cause(g, cause, sizeof(cause));
			buf_addf(out, "| %s | %s%s | %s | ", from, to, g->open_end ? " (still open)" : "",
				 len);
			report_md_cell(out, cause);
			buf_adds(out, " | ");
			report_fmt_also(g, cause, sizeof(cause));
			report_md_cell(out, cause);
			buf_adds(out, " |\n");
		}
	}
}

enum perr report_render_markdown(const struct report *r, struct buf *out)
{
	size_t n;
	const char **sites = report_sites(r, &n);
	struct report_sum s;
	if (!sites)
		return PE_NOMEM;
	buf_adds(out, "# ");
	report_header(r, out, "→");
	buf_adds(out, "\n\nPrometheus: `");
	report_md_cell(out, r->prometheus);
	buf_adds(out, "`\n\n**");
	report_summary_line(r, "≥", out);
	buf_adds(out, "**\n\n");
	for (size_t i = 0; i < n; i++) {
		report_sum(r, sites[i], &s);
		buf_adds(out, "- site ");
		report_md_cell(out, sites[i][0] ? sites[i] : "-");
		buf_adds(out, ": ");
		report_fmt_sum(&s, "≥", out);
		buf_addc(out, '\n');
	}
	free(sites);
	buf_adds(out, "\n## Targets\n\n");
	report_md_table(r, out);
	report_md_gaps(r, out);
	return buf_err(out);
}
