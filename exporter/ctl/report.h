/* report.h - persistencectl report: the compliance report's model and its pure analysis over step windows. */
#ifndef PE_REPORT_H
#define PE_REPORT_H

#include <stddef.h>
#include "buf.h"
#include "err.h"

/*
 * The range is cut into n windows of one step: window i is
 * (start + i*step, start + (i+1)*step], and Prometheus answers for it at
 * its end (query_range from start + step to end). A window is DEGRADED
 * when one of the target's samples in it was not OK; else UNKNOWN when it
 * has fewer than half the samples a window normally has (the scrapes its
 * exporter's `up` shows in a full window) or none; else OK. Missing data
 * never counts as OK beyond half a step.
 */
#define REPORT_MAX_WINDOWS 11000 /* Prometheus refuses more points per series */
#define REPORT_MIN_STEP 10.0

enum report_state { REPORT_OK = 0, REPORT_DEGRADED, REPORT_UNKNOWN };

/* Why a window had no sample of the target, from the exporter's `up` in that window. */
enum report_nodata {
	REPORT_NODATA_NONE = 0,
	REPORT_NODATA_SCRAPE_FAILED, /* up was 0: the exporter did not answer */
	REPORT_NODATA_NOT_REPORTED, /* up was 1: the exporter answered without this target */
	REPORT_NODATA_NOTHING /* no up either: Prometheus recorded nothing (down, or not scraping) */
};

struct report_grid {
	double start; /* start of window 0 */
	double step; /* seconds */
	size_t n; /* windows; end = start + n * step */
};

struct report_label {
	char *name;
	char *value;
};

/* One series of ALERTS{alertstate="firing"} over the grid. */
struct report_alert {
	struct report_label *labels;
	size_t nlabels;
	unsigned char *firing; /* n flags: fired in window i */
};

struct report_gap {
	size_t first, last; /* windows */
	double start, end; /* start of the first window, end of the last */
	double degraded_seconds, unknown_seconds;
	int open_start, open_end; /* touches the start / end of the range: may be longer */
	enum report_nodata nodata; /* the most frequent reason of its unknown windows */
	const struct report_alert *alert; /* the most likely cause, NULL when none concerns the target */
	const char *cause; /* static text: the alert's cause, or why there was no data */
	const char *
		*also; /* names of the other alerts that concerned the target in it (borrowed from alerts) */
	size_t nalso;
};

/* Values at the end of the range (last seen in it); NaN when unknown. */
struct report_facts {
	double last_backup, max_age, restore_documented;
	double copies, offsite_copies, last_verified;
	double restore_test_success, restore_test_result, restore_test_duration;
};

struct report_target {
	char *job, *instance, *name, *site, *kind, *source, *severity;
	int show_instance; /* the same name is reported by several exporters */
	signed char *ok; /* n windows: 1 all OK, 0 one not OK, -1 no sample */
	unsigned short *count; /* n windows: samples in it; NULL: not known (then any sample is enough) */
	const struct report_up *up; /* its exporter's up (borrowed), NULL: no up series */
	unsigned expected; /* samples in a full window (report_analyse) */
	struct report_facts facts;
	/* results of report_analyse */
	double ok_seconds, degraded_seconds, unknown_seconds;
	unsigned days_ok, days;
	struct report_gap *gaps;
	size_t ngaps;
	const struct report_gap *longest; /* NULL without gaps */
	int met; /* OK in every window */
};

/* Up of one exporter: n windows, like report_target.ok, and how many scrapes a full window has. */
struct report_up {
	char *job, *instance;
	signed char *up; /* min of up in the window: 1, 0, -1 none */
	unsigned short *count; /* scrapes (up samples) in the window; NULL: not known */
	unsigned expected; /* the most scrapes any window had: a full window */
};

struct report {
	char *prometheus; /* the URL as shown: no credentials */
	double end, range; /* as asked, after aligning end to the step */
	struct report_grid grid;
	struct report_target *targets;
	size_t ntargets;
	struct report_up *ups;
	size_t nups;
	struct report_alert *alerts;
	size_t nalerts;
	int have_copies, have_verified, have_restore_test; /* some target has those metrics */
	struct buf warnings; /* Prometheus' warnings, one per line */
};

/* Totals over a set of targets (a site, or all). */
struct report_sum {
	size_t targets, met, at_least_99;
	double ok_seconds, degraded_seconds, unknown_seconds;
};

/* The default step for a range: 5 minutes or more, at most REPORT_MAX_WINDOWS windows. */
double report_default_step(double range);

/*
 * The windows for a range ending at end: end is rounded down to a multiple
 * of step, n = ceil(range / step). PE_INVAL with msg when there would be
 * more than REPORT_MAX_WINDOWS or the step is below REPORT_MIN_STEP.
 */
enum perr report_grid_make(double end, double range, double step, struct report_grid *g, char *msg,
			   size_t msglen) PE_WUR;

/* Window of a Prometheus answer at time t (the window's end); -1 when t is not on the grid. */
long report_grid_index(const struct report_grid *g, double t);

/* State of window i of t (after report_analyse), and why it has no data (REPORT_NODATA_NONE unless UNKNOWN). */
enum report_state report_window_state(const struct report_target *t, size_t i, enum report_nodata *why);

/*
 * Fills every target's results from its windows and r's alerts: shares,
 * days fully OK (24-hour days counted back from the end), gaps (runs of
 * windows that are not OK) with their most likely cause, the longest gap,
 * and met. Pure: no I/O, no clock. PE_NOMEM leaves r freeable.
 */
enum perr report_analyse(struct report *r) PE_WUR;

/* Sums the targets of site (NULL: all). */
void report_sum(const struct report *r, const char *site, struct report_sum *s);

/* The summary line: "report: 4/7 targets >= 99 % in policy, 0/7 for the whole range, ..." (ge: ">=" or "≥"). */
void report_summary_line(const struct report *r, const char *ge, struct buf *out);

/* Exit code: 0 when every target met its policy in every window, else 1. */
int report_verdict(const struct report *r);

/* Frees everything r owns; r may be zeroed or partly filled. */
void report_free(struct report *r);

/* ---- filling it from Prometheus (report_query.c) ---- */

struct prom_client;

/* Which targets to report on: all when both lists are empty. Strings are borrowed. */
struct report_select {
	const char *const *targets;
	size_t ntargets;
	const char *const *sites;
	size_t nsites;
};

/*
 * Asks Prometheus (through c) for the targets that existed in r->grid,
 * their windows, their exporters' up, the alerts that fired and the
 * values at the end; r->grid and r->prometheus must be set. PE_NOTFOUND
 * when no target (or a --target / --site named nothing), the client's
 * errors otherwise; msg explains. Then report_analyse.
 */
enum perr report_query(const struct prom_client *c, const struct report_select *sel, struct report *r,
		       char *msg, size_t msglen) PE_WUR;

/* ---- the command (report_cmd.c) ---- */

/*
 * --end: "now", Unix seconds, "2026-03-01" (UTC midnight) or RFC 3339
 * ("2026-03-01T00:00:00Z", "2026-03-01T01:00:00+01:00"). -1 when invalid.
 */
double report_parse_time(const char *s, double now);

/* persistencectl report argv[first..]: prints the report; returns the exit code (0, 1, 2). */
int report_command(int argc, char **argv, int first);

/* ---- alerts as causes (report_causes.c) ---- */

/* Value of label name of a, NULL when absent. */
const char *report_alert_label(const struct report_alert *a, const char *name);

/*
 * What an alert means as the cause of a gap: text and rank (lower is more
 * likely the cause). Known names come from the bundled rules; an unknown
 * alert of severity critical or warning is its own name at a middle rank.
 * Returns 0 when the alert is not a cause of a gap (info alerts, alerts
 * about guests or documentation).
 */
int report_cause_of(const struct report_alert *a, const char **text, int *rank);

/*
 * 1 when alert a concerns target t: same job/instance when a has them,
 * then the same target, else the same source (and kind), else an alert
 * about the whole exporter. Alerts naming a guest (vmid) concern no target.
 */
int report_alert_concerns(const struct report_alert *a, const struct report_target *t);

/* ---- formatting shared by the renderers (report_format.c) ---- */

/* "4d 2h 5m", "45m", "30s": at most units units, largest first, the rest dropped. */
void report_fmt_duration(char *out, size_t n, double seconds, int units);
/* "2026-02-20 02:00Z" (seconds shown when not whole minutes); "-" for NaN. */
void report_fmt_time(char *out, size_t n, double t);
/* RFC 3339 UTC, "2026-02-20T02:00:00Z". */
void report_fmt_rfc3339(char *out, size_t n, double t);
/* A share as a percentage, rounded down, "99.9 %"; "<0.1 %" for a small nonzero one. */
void report_fmt_share(char *out, size_t n, double share);

/* The columns of the per-target table (text, markdown, html). */
enum report_col {
	REPORT_COL_SITE = 0,
	REPORT_COL_TARGET,
	REPORT_COL_OK,
	REPORT_COL_DAYS,
	REPORT_COL_GAPS,
	REPORT_COL_LONGEST,
	REPORT_COL_UNKNOWN,
	REPORT_COL_NEWEST,
	REPORT_COL_AGE,
	REPORT_COL_MAX_AGE,
	REPORT_COL_RESTORE_DOC,
	REPORT_COL_COPIES, /* only when some target has copies metrics */
	REPORT_COL_VERIFIED, /* only with verification metrics */
	REPORT_COL_RESTORE_TEST, /* only with restore drill metrics */
	REPORT_COL__COUNT
};

const char *report_col_title(enum report_col c);
int report_col_shown(const struct report *r, enum report_col c);
/* The cell of target t in column c, as text ("-" when unknown). */
void report_cell(const struct report *r, const struct report_target *t, enum report_col c, char *out,
		 size_t n);
/* "backup job overdue (PVEBackupJobOverdue)", with "; 3h no data" when part of the gap was unknown. */
void report_fmt_cause(const struct report_gap *g, char *out, size_t n);
/* The gap's other alerts as "A, B" ("" when none). */
void report_fmt_also(const struct report_gap *g, char *out, size_t n);
/* The distinct sites in order of first appearance; free() the array, not the strings. NULL on OOM. */
const char **report_sites(const struct report *r, size_t *n);
/* "0/4 targets in policy for the whole range, 1/4 >= 99 %; OK 91.2 % of the time, unknown 0.5 %" */
void report_fmt_sum(const struct report_sum *s, const char *ge, struct buf *out);

/* ---- renderers ---- */

enum report_format { REPORT_TEXT = 0, REPORT_MARKDOWN, REPORT_HTML, REPORT_CSV, REPORT_JSON };

/* Parses "text", "markdown", ...; -1 when unknown. */
int report_format_parse(const char *s);

enum perr report_render_text(const struct report *r, struct buf *out) PE_WUR;
enum perr report_render_markdown(const struct report *r, struct buf *out) PE_WUR;
enum perr report_render_csv(const struct report *r, struct buf *out) PE_WUR;
enum perr report_render_json(const struct report *r, struct buf *out) PE_WUR;
enum perr report_render_html(const struct report *r, struct buf *out) PE_WUR;

enum perr report_render(const struct report *r, enum report_format f, struct buf *out) PE_WUR;

#endif
