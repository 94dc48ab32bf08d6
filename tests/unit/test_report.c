/* test_report.c - persistencectl report: windows -> gaps, causes, shares, days; formats; the API answer parser. */
#include <check.h>
#include <stdarg.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promapi.h"
#include "promclient.h"
#include "report.h"

#define END 1772323200.0 /* 2026-03-01T00:00:00Z */
#define HOUR 3600.0

/* ---- a report built from strings: '1' OK, '0' not OK, '-' no sample ---- */

static void tr_windows(signed char *w, const char *s)
{
	for (size_t i = 0; s[i]; i++)
		w[i] = s[i] == '1' ? 1 : s[i] == '0' ? 0 : -1;
}

/* A report of strlen(windows[0]) one-hour windows ending at END. */
static void tr_init(struct report *r, size_t n)
{
	char msg[256];
	memset(r, 0, sizeof(*r));
	buf_init(&r->warnings, 0);
	ck_assert_int_eq(report_grid_make(END, (double)n * HOUR, HOUR, &r->grid, msg, sizeof(msg)), PE_OK);
	r->end = END;
	r->prometheus = strdup("http://prom.lan:9090");
	r->targets = calloc(8, sizeof(*r->targets));
	r->alerts = calloc(16, sizeof(*r->alerts));
	r->ups = calloc(4, sizeof(*r->ups));
}

static struct report_target *tr_target(struct report *r, const char *name, const char *kind,
				       const char *source, const char *instance, const char *ok)
{
	struct report_target *t = &r->targets[r->ntargets++];
	ck_assert_uint_eq(strlen(ok), r->grid.n);
	t->job = strdup("persistence_exporter");
	t->instance = strdup(instance);
	t->name = strdup(name);
	t->site = strdup("home");
	t->kind = strdup(kind);
	t->source = strdup(source);
	t->severity = strdup("critical");
	t->ok = malloc(r->grid.n);
	tr_windows(t->ok, ok);
	t->facts = (struct report_facts){NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN};
	return t;
}

static void tr_up(struct report *r, struct report_target *t, const char *up)
{
	struct report_up *u = &r->ups[r->nups++];
	u->job = strdup(t->job);
	u->instance = strdup(t->instance);
	u->up = malloc(r->grid.n);
	tr_windows(u->up, up);
	t->up = u;
}

/* An alert from "name=value" labels (NULL-terminated); firing: '1' in the windows it fired. */
static void tr_alert(struct report *r, const char *firing, ...)
{
	struct report_alert *a = &r->alerts[r->nalerts++];
	va_list ap;
	a->labels = calloc(8, sizeof(*a->labels));
	va_start(ap, firing);
	for (const char *l; (l = va_arg(ap, const char *)) != NULL;) {
		const char *eq = strchr(l, '=');
		a->labels[a->nlabels].name = strndup(l, (size_t)(eq - l));
		a->labels[a->nlabels++].value = strdup(eq + 1);
	}
	va_end(ap);
	a->firing = calloc(r->grid.n, 1);
	for (size_t i = 0; firing[i]; i++)
		a->firing[i] = firing[i] == '1';
}

static const char *tr_alertname(const struct report_gap *g)
{
	return g->alert ? report_alert_label(g->alert, "alertname") : "";
}

/* ---- the grid ---- */

START_TEST(test_grid)
{
	struct report_grid g;
	char msg[256];
	ck_assert_int_eq(report_grid_make(END + 199, 30 * 86400.0, 300, &g, msg, sizeof(msg)), PE_OK);
	ck_assert_uint_eq(g.n, 8640);
	ck_assert(g.start == END - 30 * 86400.0); /* the end is rounded down to the step */
	ck_assert_int_eq(report_grid_index(&g, g.start + 300), 0);
	ck_assert_int_eq(report_grid_index(&g, END), 8639);
	ck_assert_int_eq(report_grid_index(&g, g.start), -1);
	ck_assert_int_eq(report_grid_index(&g, END + 300), -1);
	ck_assert_int_eq(report_grid_index(&g, g.start + 450), -1);
	/* a range that is not a multiple of the step gets one more window, at the start */
	ck_assert_int_eq(report_grid_make(END, 1000, 300, &g, msg, sizeof(msg)), PE_OK);
	ck_assert_uint_eq(g.n, 4);
	ck_assert(g.start == END - 1200);
	/* Prometheus answers at most 11,000 points per series */
	ck_assert_int_eq(report_grid_make(END, 30 * 86400.0, 60, &g, msg, sizeof(msg)), PE_INVAL);
	ck_assert_ptr_nonnull(strstr(msg, "43200 points"));
	ck_assert_ptr_nonnull(strstr(msg, "--step"));
	ck_assert_int_eq(report_grid_make(END, 86400, 5, &g, msg, sizeof(msg)), PE_INVAL);
	ck_assert(report_default_step(30 * 86400.0) == 300);
	ck_assert(report_default_step(7 * 86400.0) == 300);
	ck_assert(report_default_step(90 * 86400.0) == 900);
	ck_assert(report_default_step(365 * 86400.0) == 3600);
	ck_assert(report_default_step(100 * 365 * 86400.0) == 4 * 86400);
	ck_assert_uint_le(365 * 86400.0 / report_default_step(365 * 86400.0), REPORT_MAX_WINDOWS);
}
END_TEST

/* ---- windows -> shares, gaps, days ---- */

START_TEST(test_gaps_and_shares)
{
	struct report r;
	tr_init(&r, 12);
	struct report_target *t = tr_target(&r, "vm", "pve", "home", "a:9709", "111100011110");
	struct report_target *ok = tr_target(&r, "fine", "pve", "home", "a:9709", "111111111111");
	ck_assert_int_eq(report_analyse(&r), PE_OK);
	ck_assert(t->ok_seconds == 8 * HOUR);
	ck_assert(t->degraded_seconds == 4 * HOUR);
	ck_assert(t->unknown_seconds == 0);
	ck_assert_uint_eq(t->ngaps, 2);
	ck_assert(t->gaps[0].start == r.grid.start + 4 * HOUR);
	ck_assert(t->gaps[0].end == r.grid.start + 7 * HOUR);
	ck_assert(!t->gaps[0].open_start && !t->gaps[0].open_end);
	ck_assert(t->gaps[1].end == END);
	ck_assert(t->gaps[1].open_end);
	ck_assert_ptr_eq(t->longest, &t->gaps[0]);
	ck_assert_str_eq(t->gaps[0].cause, "no alert fired");
	ck_assert_ptr_null(t->gaps[0].alert);
	ck_assert_int_eq(t->met, 0);
	ck_assert_uint_eq(t->days, 1);
	ck_assert_uint_eq(t->days_ok, 0);
	ck_assert_int_eq(ok->met, 1);
	ck_assert_uint_eq(ok->ngaps, 0);
	ck_assert_ptr_null(ok->longest);
	ck_assert_uint_eq(ok->days_ok, 1);
	ck_assert_int_eq(report_verdict(&r), 1);

	struct report_sum s;
	report_sum(&r, NULL, &s);
	ck_assert_uint_eq(s.targets, 2);
	ck_assert_uint_eq(s.met, 1);
	ck_assert_uint_eq(s.at_least_99, 1);
	ck_assert(s.ok_seconds == 20 * HOUR);
	report_sum(&r, "shop", &s);
	ck_assert_uint_eq(s.targets, 0);
	struct buf line;
	buf_init(&line, 0);
	report_summary_line(&r, ">=", &line);
	ck_assert_str_eq(buf_str(&line), "report: 1/2 targets >= 99 % in policy, 1/2 for the whole range");
	buf_free(&line);
	/* analysing again gives the same gaps, not twice as many */
	ck_assert_int_eq(report_analyse(&r), PE_OK);
	ck_assert_uint_eq(t->ngaps, 2);
	report_free(&r);

	tr_init(&r, 3);
	tr_target(&r, "ok", "pve", "home", "a:9709", "111");
	ck_assert_int_eq(report_analyse(&r), PE_OK);
	ck_assert_int_eq(report_verdict(&r), 0);
	report_free(&r);
}
END_TEST

/* Missing data is unknown, never OK; up says why. */
START_TEST(test_unknown_windows)
{
	struct report r;
	tr_init(&r, 8);
	struct report_target *a = tr_target(&r, "a", "pve", "home", "a:9709", "11---111");
	tr_up(&r, a, "1100-111");
	struct report_target *b = tr_target(&r, "b", "pve", "home", "b:9709", "1----111");
	tr_up(&r, b, "1-----11");
	struct report_target *c = tr_target(&r, "c", "pve", "home", "c:9709", "1--11111");
	tr_up(&r, c, "11111111");
	struct report_target *d = tr_target(&r, "d", "pve", "home", "d:9709", "--------");
	tr_alert(&r, "..111...", "alertname=PersistenceExporterDown", "instance=a:9709",
		 "job=persistence_exporter", "severity=critical", NULL);
	ck_assert_int_eq(report_analyse(&r), PE_OK);
	ck_assert(a->unknown_seconds == 3 * HOUR);
	ck_assert(a->ok_seconds == 5 * HOUR);
	ck_assert_int_eq(a->met, 0);
	ck_assert_uint_eq(a->ngaps, 1);
	ck_assert(a->gaps[0].degraded_seconds == 0);
	ck_assert_int_eq(a->gaps[0].nodata, REPORT_NODATA_SCRAPE_FAILED); /* 2 of its 3 windows */
	ck_assert_str_eq(a->gaps[0].cause, "no data: exporter not answering scrapes");
	ck_assert_str_eq(tr_alertname(&a->gaps[0]), "PersistenceExporterDown");
	ck_assert_int_eq(b->gaps[0].nodata, REPORT_NODATA_NOTHING);
	ck_assert_str_eq(b->gaps[0].cause, "no data: nothing recorded, Prometheus down or not scraping");
	ck_assert_ptr_null(b->gaps[0].alert); /* another instance's alert */
	ck_assert_int_eq(c->gaps[0].nodata, REPORT_NODATA_NOT_REPORTED);
	ck_assert_str_eq(c->gaps[0].cause, "no data: exporter answered without this target");
	/* no up series at all */
	ck_assert(d->unknown_seconds == 8 * HOUR);
	ck_assert(d->ok_seconds == 0);
	ck_assert_int_eq(d->gaps[0].nodata, REPORT_NODATA_NOTHING);
	ck_assert(d->gaps[0].open_start && d->gaps[0].open_end);
	report_free(&r);
}
END_TEST

static unsigned short *tr_counts(size_t n, const char *digits)
{
	unsigned short *c = calloc(n, sizeof(*c));
	for (size_t i = 0; i < n && digits[i]; i++)
		c[i] = (unsigned short)(digits[i] - '0');
	return c;
}

/* A window with fewer than half its usual samples is unknown, even when those it has are OK. */
START_TEST(test_partial_windows)
{
	struct report r;
	tr_init(&r, 6);
	struct report_target *a = tr_target(&r, "a", "pve", "home", "a:9709", "111111");
	a->count = tr_counts(6, "552355");
	tr_up(&r, a, "111111");
	r.ups[0].count = tr_counts(6, "552555");
	r.ups[0].expected = 5;
	struct report_target *b = tr_target(&r, "b", "pve", "home", "b:9709", "110111");
	b->count = tr_counts(6, "661666"); /* no up series: a full window is the most it had */
	ck_assert_int_eq(report_analyse(&r), PE_OK);
	ck_assert_uint_eq(a->expected, 5);
	ck_assert(a->unknown_seconds == 1 * HOUR); /* 2 of 5; 3 of 5 is OK */
	ck_assert_uint_eq(a->ngaps, 1);
	ck_assert(a->gaps[0].start == r.grid.start + 2 * HOUR);
	ck_assert_int_eq(a->gaps[0].nodata, REPORT_NODATA_NOTHING); /* up missed scrapes too */
	ck_assert_uint_eq(b->expected, 6);
	ck_assert(b->degraded_seconds == 1 * HOUR); /* a not-OK sample wins over a missing majority */
	ck_assert(b->unknown_seconds == 0);
	report_free(&r);

	tr_init(&r, 2);
	struct report_target *c = tr_target(&r, "c", "pve", "home", "a:9709", "11");
	c->count = tr_counts(2, "51");
	tr_up(&r, c, "11");
	r.ups[0].count = tr_counts(2, "55");
	r.ups[0].expected = 5;
	ck_assert_int_eq(report_analyse(&r), PE_OK);
	ck_assert_int_eq(c->gaps[0].nodata, REPORT_NODATA_NOT_REPORTED); /* scraped, target missing */
	report_free(&r);
}
END_TEST

/* 24-hour days counted back from the end; a partial oldest day is a day too. */
START_TEST(test_days)
{
	struct report r;
	char ok[64];
	tr_init(&r, 36);
	memset(ok, '1', 36);
	ok[36] = '\0';
	ok[11] = '0'; /* the last window of the partial oldest day (12 h) */
	struct report_target *a = tr_target(&r, "a", "pve", "home", "a:9709", ok);
	ok[11] = '1';
	ok[12] = '-'; /* the first window of the last full day */
	struct report_target *b = tr_target(&r, "b", "pve", "home", "a:9709", ok);
	ok[12] = '1';
	struct report_target *c = tr_target(&r, "c", "pve", "home", "a:9709", ok);
	ck_assert_int_eq(report_analyse(&r), PE_OK);
	ck_assert_uint_eq(a->days, 2);
	ck_assert_uint_eq(a->days_ok, 1);
	ck_assert_uint_eq(b->days_ok, 1);
	ck_assert_uint_eq(c->days_ok, 2);
	report_free(&r);
}
END_TEST

/* The most likely cause: the best-ranked alert that concerns the target and fired in the gap. */
START_TEST(test_causes)
{
	struct report r;
	tr_init(&r, 10);
	struct report_target *t = tr_target(&r, "home-vm-100", "pve", "home", "a:9709", "1110000111");
	const char *A = "instance=a:9709", *J = "job=persistence_exporter";
	tr_alert(&r, "1111111...", "alertname=PVEBackupJobOverdue", A, J, "source=home", "backup_job=b",
		 "node=pve1", "severity=critical", NULL);
	tr_alert(&r, "11111111..", "alertname=PVESchedulerMemoryHigh", A, J, "source=home", "node=pve1",
		 "severity=warning", NULL);
	tr_alert(&r, "....1111..", "alertname=BackupTargetStale", A, J, "target=home-vm-100", "source=home",
		 "kind=pve", "severity=critical", NULL);
	/* not about this target: a guest, another target, another source, another exporter, info */
	tr_alert(&r, "1111111111", "alertname=PVEGuestNotCovered", A, J, "source=home", "vmid=112",
		 "severity=warning", NULL);
	tr_alert(&r, "1111111111", "alertname=BackupTargetNeverBackedUp", A, J, "target=other", "source=home",
		 "severity=critical", NULL);
	tr_alert(&r, "1111111111", "alertname=PVEBackupStorageDown", A, J, "source=shop", "severity=critical",
		 NULL);
	tr_alert(&r, "1111111111", "alertname=PVESchedulerDown", "instance=b:9709", J, "source=home",
		 "severity=critical", NULL);
	tr_alert(&r, "1111111111", "alertname=BackupTargetRestoreUndocumented", A, J, "target=home-vm-100",
		 "severity=info", NULL);
	ck_assert_int_eq(report_analyse(&r), PE_OK);
	ck_assert_uint_eq(t->ngaps, 1);
	const struct report_gap *g = &t->gaps[0];
	ck_assert_str_eq(tr_alertname(g), "PVEBackupJobOverdue");
	ck_assert_str_eq(g->cause, "backup job overdue");
	ck_assert_uint_eq(g->nalso, 2);
	ck_assert_str_eq(g->also[0], "PVESchedulerMemoryHigh");
	ck_assert_str_eq(g->also[1], "BackupTargetStale");
	char s[256];
	report_fmt_cause(g, s, sizeof(s));
	ck_assert_str_eq(s, "backup job overdue (PVEBackupJobOverdue)");
	report_fmt_also(g, s, sizeof(s));
	ck_assert_str_eq(s, "PVESchedulerMemoryHigh, BackupTargetStale");
	report_free(&r);
}
END_TEST

/* An alert that stopped one window before the gap still explains it; two windows before does not. */
START_TEST(test_cause_slack)
{
	struct report r;
	tr_init(&r, 10);
	struct report_target *t = tr_target(&r, "app", "n8n", "app", "a:9709", "1111000011");
	struct report_target *u = tr_target(&r, "app2", "n8n", "app2", "a:9709", "1111000011");
	tr_alert(&r, "1111......", "alertname=N8nWorkflowCountDropped", "instance=a:9709", "source=app",
		 "severity=critical", NULL);
	tr_alert(&r, "111.......", "alertname=N8nWorkflowCountDropped", "instance=a:9709", "source=app2",
		 "severity=critical", NULL);
	tr_alert(&r, "....1111..", "alertname=BackupTargetStale", "instance=a:9709", "target=app",
		 "severity=critical", NULL);
	ck_assert_int_eq(report_analyse(&r), PE_OK);
	ck_assert_str_eq(tr_alertname(&t->gaps[0]), "N8nWorkflowCountDropped");
	ck_assert_str_eq(t->gaps[0].cause, "n8n workflow count dropped");
	ck_assert_ptr_null(u->gaps[0].alert);
	ck_assert_str_eq(u->gaps[0].cause, "no alert fired");
	report_free(&r);
}
END_TEST

/* Which alerts concern which targets, and what an unknown alert name means. */
START_TEST(test_alert_concerns)
{
	struct report r;
	tr_init(&r, 2);
	struct report_target *pve = tr_target(&r, "vm", "pve", "home", "a:9709", "11");
	struct report_target *n8n = tr_target(&r, "flows", "n8n", "home", "a:9709", "11");
	const char *text;
	int rank;
	tr_alert(&r, "11", "alertname=PersistenceSourceDown", "instance=a:9709", "source=home", "kind=n8n",
		 "severity=warning", NULL);
	tr_alert(&r, "11", "alertname=PVESchedulerMemoryHigh", "instance=a:9709", "source=home",
		 "kind=pve_local", "severity=warning", NULL);
	tr_alert(&r, "11", "alertname=PersistenceExporterAbsent", "severity=critical", NULL);
	tr_alert(&r, "11", "alertname=SomethingElse", "severity=critical", NULL);
	tr_alert(&r, "11", "alertname=MyOwnAlert", "instance=a:9709", "job=persistence_exporter",
		 "severity=critical", NULL);
	tr_alert(&r, "11", "alertname=MyInfoAlert", "instance=a:9709", "severity=info", NULL);
	tr_alert(&r, "11", "alertname=PersistenceExporterDown", "instance=a:9709", "job=other", NULL);
	ck_assert(!report_alert_concerns(&r.alerts[0], pve));
	ck_assert(report_alert_concerns(&r.alerts[0], n8n));
	ck_assert(report_alert_concerns(&r.alerts[1], pve));
	ck_assert(!report_alert_concerns(&r.alerts[1], n8n));
	ck_assert(report_alert_concerns(&r.alerts[2], pve)); /* absent(up): ours, about every target */
	ck_assert(!report_alert_concerns(&r.alerts[3], pve)); /* someone else's, about no exporter */
	ck_assert(report_alert_concerns(&r.alerts[4], pve));
	ck_assert(!report_alert_concerns(&r.alerts[6], pve)); /* another scrape job */
	ck_assert(report_cause_of(&r.alerts[4], &text, &rank));
	ck_assert_str_eq(text, "MyOwnAlert");
	ck_assert_int_eq(rank, 7);
	ck_assert(!report_cause_of(&r.alerts[5], &text, &rank));
	ck_assert(report_cause_of(&r.alerts[0], &text, &rank));
	ck_assert_str_eq(text, "source down");
	report_free(&r);
}
END_TEST

/* A gap with both kinds of window: the alert's cause, and how much of it had no data. */
START_TEST(test_mixed_gap)
{
	struct report r;
	tr_init(&r, 6);
	struct report_target *t = tr_target(&r, "vm", "pve", "home", "a:9709", "10--01");
	tr_up(&r, t, "110011");
	tr_alert(&r, ".1111.", "alertname=PVEBackupJobOverdue", "instance=a:9709", "source=home",
		 "severity=critical", NULL);
	ck_assert_int_eq(report_analyse(&r), PE_OK);
	ck_assert_uint_eq(t->ngaps, 1);
	ck_assert(t->gaps[0].degraded_seconds == 2 * HOUR);
	ck_assert(t->gaps[0].unknown_seconds == 2 * HOUR);
	char s[256];
	report_fmt_cause(&t->gaps[0], s, sizeof(s));
	ck_assert_str_eq(s, "backup job overdue (PVEBackupJobOverdue); 2h no data");
	report_free(&r);
}
END_TEST

/* ---- formatting ---- */

START_TEST(test_format)
{
	char s[64];
	report_fmt_duration(s, sizeof(s), 0, 3);
	ck_assert_str_eq(s, "0s");
	report_fmt_duration(s, sizeof(s), 45, 3);
	ck_assert_str_eq(s, "45s");
	report_fmt_duration(s, sizeof(s), 3600, 3);
	ck_assert_str_eq(s, "1h");
	report_fmt_duration(s, sizeof(s), 4 * 86400 + 2 * 3600 + 300, 3);
	ck_assert_str_eq(s, "4d 2h 5m");
	report_fmt_duration(s, sizeof(s), 4 * 86400 + 2 * 3600 + 300, 2);
	ck_assert_str_eq(s, "4d 2h");
	report_fmt_duration(s, sizeof(s), 86400 + 61, 3);
	ck_assert_str_eq(s, "1d 1m 1s");
	report_fmt_duration(s, sizeof(s), -5, 3);
	ck_assert_str_eq(s, "0s");
	report_fmt_share(s, sizeof(s), 0.999999);
	ck_assert_str_eq(s, "99.9 %"); /* never rounded up to 100 */
	report_fmt_share(s, sizeof(s), 1);
	ck_assert_str_eq(s, "100.0 %");
	report_fmt_share(s, sizeof(s), 0.0004);
	ck_assert_str_eq(s, "<0.1 %");
	report_fmt_share(s, sizeof(s), 0);
	ck_assert_str_eq(s, "0.0 %");
	report_fmt_share(s, sizeof(s), NAN);
	ck_assert_str_eq(s, "-");
	report_fmt_time(s, sizeof(s), END);
	ck_assert_str_eq(s, "2026-03-01 00:00Z");
	report_fmt_time(s, sizeof(s), END + 61);
	ck_assert_str_eq(s, "2026-03-01 00:01:01Z");
	report_fmt_time(s, sizeof(s), NAN);
	ck_assert_str_eq(s, "-");
	report_fmt_rfc3339(s, sizeof(s), END);
	ck_assert_str_eq(s, "2026-03-01T00:00:00Z");
	ck_assert_int_eq(report_format_parse("html"), REPORT_HTML);
	ck_assert_int_eq(report_format_parse("pdf"), -1);
}
END_TEST

START_TEST(test_parse_time)
{
	ck_assert(report_parse_time("now", 123) == 123);
	ck_assert(report_parse_time("1772323200", 0) == END);
	ck_assert(report_parse_time("1772323200.5", 0) == END + 0.5);
	ck_assert(report_parse_time("2026-03-01", 0) == END);
	ck_assert(report_parse_time("2026-03-01T00:00:00Z", 0) == END);
	ck_assert(report_parse_time("2026-03-01T00:00Z", 0) == END);
	ck_assert(report_parse_time("2026-03-01T01:00:00+01:00", 0) == END);
	ck_assert(report_parse_time("2026-02-28T19:30:00-0430", 0) == END);
	ck_assert(report_parse_time("2026-03-01 00:00:30.5Z", 0) == END + 30.5);
	ck_assert(report_parse_time("2000-02-29", 0) == 951782400);
	const char *bad[] = {"",
			     "yesterday",
			     "2026-13-01",
			     "2026-03-01T25:00:00Z",
			     "2026-03-01T00:00:00",
			     "12abc",
			     "2026-3-1",
			     "2026-03-01T00:00:00+1",
			     "-5",
			     "2026-03-01X"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(report_parse_time(bad[i], 0) < 0, "%s accepted", bad[i]);
}
END_TEST

/* ---- renderers ---- */

/* A report with hostile label values and every optional fact of one target. */
static void tr_hostile(struct report *r)
{
	tr_init(r, 4);
	struct report_target *t = tr_target(r, "<script>x|y,\"z\"\n", "pve", "home", "a:9709", "1001");
	free(t->site);
	t->site = strdup("site|<b>");
	t->facts.last_backup = END - 3600;
	t->facts.max_age = 26 * HOUR;
	t->facts.restore_documented = 0;
	tr_target(r, "plain", "file", "", "a:9709", "1111");
	tr_alert(r, ".11.", "alertname=Evil<img src=x>", "instance=a:9709", "severity=critical", NULL);
	ck_assert_int_eq(report_analyse(r), PE_OK);
}

START_TEST(test_render_escaping)
{
	struct report r;
	struct buf out;
	tr_hostile(&r);
	buf_init(&out, 0);

	ck_assert_int_eq(report_render(&r, REPORT_HTML, &out), PE_OK);
	ck_assert_ptr_null(strstr(buf_str(&out), "<script>"));
	ck_assert_ptr_null(strstr(buf_str(&out), "<img"));
	ck_assert_ptr_nonnull(strstr(buf_str(&out), "&lt;script&gt;x|y,&quot;z&quot;?"));
	ck_assert_ptr_nonnull(strstr(buf_str(&out), "<svg class=\"timeline\""));
	ck_assert_ptr_null(strstr(buf_str(&out), "<script")); /* no JavaScript at all */
	ck_assert_ptr_null(
		strstr(buf_str(&out), "http://prom.lan:9090/")); /* nothing loaded from elsewhere */
	ck_assert_ptr_nonnull(strstr(buf_str(&out), "@media print"));

	buf_reset(&out);
	ck_assert_int_eq(report_render(&r, REPORT_MARKDOWN, &out), PE_OK);
	ck_assert_ptr_nonnull(strstr(buf_str(&out), "| site\\|<b> | <script>x\\|y,\"z\"  |"));

	buf_reset(&out);
	ck_assert_int_eq(report_render(&r, REPORT_CSV, &out), PE_OK);
	ck_assert_ptr_nonnull(
		strstr(buf_str(&out), "site|<b>,\"<script>x|y,\"\"z\"\"\n\",persistence_exporter"));
	ck_assert_ptr_nonnull(strstr(buf_str(&out), ",Evil<img src=x>,")); /* the longest gap's alert */

	buf_reset(&out);
	ck_assert_int_eq(report_render(&r, REPORT_TEXT, &out), PE_OK);
	ck_assert_ptr_nonnull(strstr(buf_str(&out), "<script>x|y,\"z\"?"));
	ck_assert_ptr_null(strstr(buf_str(&out), "\"z\"\n"));
	buf_free(&out);
	report_free(&r);
}
END_TEST

START_TEST(test_render_json)
{
	struct report r;
	struct buf out;
	tr_hostile(&r);
	buf_init(&out, 0);
	ck_assert_int_eq(report_render(&r, REPORT_JSON, &out), PE_OK);
	cJSON *doc = cJSON_Parse(buf_str(&out));
	ck_assert_ptr_nonnull(doc);
	cJSON *t0 = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "targets"), 0);
	ck_assert_str_eq(cJSON_GetObjectItem(t0, "target")->valuestring, "<script>x|y,\"z\"\n");
	ck_assert(cJSON_GetObjectItem(t0, "ok_ratio")->valuedouble == 0.5);
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(t0, "met_policy")));
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(t0, "restore_documented")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(t0, "copies")));
	ck_assert(cJSON_GetObjectItem(t0, "age_seconds")->valuedouble == 3600);
	cJSON *g = cJSON_GetArrayItem(cJSON_GetObjectItem(t0, "gaps"), 0);
	ck_assert(cJSON_GetObjectItem(g, "seconds")->valuedouble == 2 * HOUR);
	ck_assert_str_eq(cJSON_GetObjectItem(g, "cause")->valuestring, "Evil<img src=x>");
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(g, "alert"), "alertname")->valuestring,
			 "Evil<img src=x>");
	cJSON *sum = cJSON_GetObjectItem(doc, "summary");
	ck_assert(cJSON_GetObjectItem(sum, "targets")->valuedouble == 2);
	ck_assert(cJSON_GetObjectItem(sum, "met_policy")->valuedouble == 1);
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "sites"), 0), "site")
				 ->valuestring,
			 "site|<b>");
	cJSON_Delete(doc);
	buf_free(&out);
	report_free(&r);
}
END_TEST

/* Copies, verification and restore tests are columns only when some target has them. */
START_TEST(test_optional_columns)
{
	struct report r;
	struct buf out;
	tr_init(&r, 2);
	struct report_target *t = tr_target(&r, "vm", "pve", "home", "a:9709", "11");
	tr_target(&r, "other", "pve", "home", "a:9709", "11");
	ck_assert_int_eq(report_analyse(&r), PE_OK);
	buf_init(&out, 0);
	ck_assert_int_eq(report_render_text(&r, &out), PE_OK);
	ck_assert_ptr_null(strstr(buf_str(&out), "COPIES"));
	ck_assert_ptr_null(strstr(buf_str(&out), "RESTORE TEST"));
	t->facts.copies = 2;
	t->facts.offsite_copies = 1;
	t->facts.restore_test_success = END - 86400;
	t->facts.restore_test_result = 1;
	t->facts.restore_test_duration = 840;
	r.have_copies = r.have_restore_test = 1;
	buf_reset(&out);
	ck_assert_int_eq(report_render_text(&r, &out), PE_OK);
	ck_assert_ptr_nonnull(strstr(buf_str(&out), "COPIES"));
	ck_assert_ptr_nonnull(strstr(buf_str(&out), "2 (1 offsite)"));
	ck_assert_ptr_nonnull(strstr(buf_str(&out), "ok 2026-02-28 00:00Z, 14m"));
	ck_assert_ptr_null(strstr(buf_str(&out), "VERIFIED"));
	char cell[128];
	t->facts.restore_test_result = 0;
	report_cell(&r, t, REPORT_COL_RESTORE_TEST, cell, sizeof(cell));
	ck_assert_str_eq(cell, "failed, last ok 2026-02-28 00:00Z");
	report_cell(&r, &r.targets[1], REPORT_COL_RESTORE_TEST, cell, sizeof(cell));
	ck_assert_str_eq(cell, "-");
	buf_free(&out);
	report_free(&r);
}
END_TEST

/* ---- the API answer parser ---- */

static enum perr tr_parse(const char *body, struct prom_result *res, char *msg)
{
	return prom_parse_answer(body, strlen(body), res, msg, 256);
}

START_TEST(test_promapi)
{
	struct prom_result res;
	char msg[256];
	ck_assert_int_eq(
		tr_parse("{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
			 "{\"metric\":{\"target\":\"a\",\"job\":\"j\"},\"values\":[[1772323200,\"1\"],"
			 "[1772323500.5,\"NaN\"],[1772323800,\"+Inf\"]]}]},\"warnings\":[\"w1\",\"w2\"]}",
			 &res, msg),
		PE_OK);
	ck_assert(res.matrix);
	ck_assert_uint_eq(res.nseries, 1);
	ck_assert_uint_eq(res.series[0].n, 3);
	ck_assert(res.series[0].samples[1].t == 1772323500.5);
	ck_assert(isnan(res.series[0].samples[1].v));
	ck_assert(isinf(res.series[0].samples[2].v));
	ck_assert_str_eq(prom_series_label(&res.series[0], "target"), "a");
	ck_assert_ptr_null(prom_series_label(&res.series[0], "site"));
	ck_assert_str_eq(res.warnings, "w1\nw2\n");
	prom_result_free(&res);

	ck_assert_int_eq(tr_parse("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
				  "{\"metric\":{},\"value\":[1772323200,\"1.5e3\"]}]}}",
				  &res, msg),
			 PE_OK);
	ck_assert(!res.matrix);
	ck_assert(res.series[0].samples[0].v == 1500);
	prom_result_free(&res);

	ck_assert_int_eq(
		tr_parse("{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"parse error at "
			 "char 5\"}",
			 &res, msg),
		PE_INVAL);
	ck_assert_str_eq(msg, "bad_data: parse error at char 5");
	ck_assert_int_eq(
		tr_parse("{\"status\":\"error\",\"errorType\":\"timeout\",\"error\":\"query timed out\"}",
			 &res, msg),
		PE_TIMEOUT);
	ck_assert_int_eq(
		tr_parse("{\"status\":\"error\",\"errorType\":\"execution\",\"error\":\"many-to-many\"}",
			 &res, msg),
		PE_UNAVAIL);
	/* what a proxy, a login page or a truncated answer looks like */
	const char *bad[] = {
		"<html><body>Login</body></html>",
		"",
		"{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{},"
		"\"values\":[[1,",
		"{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1,\"1\"]}}",
		"{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{},"
		"\"values\":[[1,1]]}]}}",
		"{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{\"a\":"
		"1},\"values\":[]}]}}",
		"{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"values\":[]}]}}",
		"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{},"
		"\"value\":[1,\"x\"]}]}}",
		"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{},"
		"\"value\":[\"1\",\"1\"]}]}}",
		"{\"status\":\"success\"}",
		"[1,2,3]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(tr_parse(bad[i], &res, msg) == PE_PARSE, "accepted: %s", bad[i]);
		ck_assert_uint_eq(res.nseries, 0);
		ck_assert(msg[0] != '\0');
	}
}
END_TEST

/* Credentials never go in the URL: they would be printed in the report. */
START_TEST(test_client_url)
{
	struct prom_client *c;
	char msg[256];
	ck_assert_int_eq(prom_client_new("http://prom.lan:9090/", NULL, 10, &c, msg, sizeof(msg)), PE_OK);
	ck_assert_str_eq(prom_client_url(c), "http://prom.lan:9090");
	prom_client_free(c);
	ck_assert_int_eq(prom_client_new("https://mimir.lan/prometheus", NULL, 10, &c, msg, sizeof(msg)),
			 PE_OK);
	ck_assert_str_eq(prom_client_url(c), "https://mimir.lan/prometheus");
	prom_client_free(c);
	ck_assert_int_eq(prom_client_new("https://user:hunter2@prom.lan", NULL, 10, &c, msg, sizeof(msg)),
			 PE_INVAL);
	ck_assert_ptr_null(c);
	ck_assert_ptr_nonnull(strstr(msg, "--prometheus.config.file"));
	ck_assert_ptr_null(strstr(msg, "hunter2"));
	const char *bad[] = {"prom.lan:9090", "ftp://prom.lan", "http://",
			     "http:///x",     "http://p?x=1",   "http://p#f"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(prom_client_new(bad[i], NULL, 10, &c, msg, sizeof(msg)) == PE_INVAL, "%s",
			      bad[i]);
	prom_client_free(NULL);
}
END_TEST

static Suite *report_suite(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_grid);
	tcase_add_test(tc, test_gaps_and_shares);
	tcase_add_test(tc, test_unknown_windows);
	tcase_add_test(tc, test_days);
	tcase_add_test(tc, test_partial_windows);
	tcase_add_test(tc, test_causes);
	tcase_add_test(tc, test_cause_slack);
	tcase_add_test(tc, test_alert_concerns);
	tcase_add_test(tc, test_mixed_gap);
	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_parse_time);
	tcase_add_test(tc, test_render_escaping);
	tcase_add_test(tc, test_render_json);
	tcase_add_test(tc, test_optional_columns);
	tcase_add_test(tc, test_promapi);
	tcase_add_test(tc, test_client_url);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(report_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
