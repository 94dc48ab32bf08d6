/* report_cmd.c - persistencectl report: flags, then query, analyse, render; exit 0 met, 1 not met, 2 error. */
#include "report.h"
#include "clock.h"
#include "config.h"
#include "promclient.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REPORT_MAX_NAMES 1000

struct report_opts {
	const char *url, *config_file;
	double range, end, step, timeout;
	enum report_format format;
	const char *targets[REPORT_MAX_NAMES];
	size_t ntargets;
	const char *sites[REPORT_MAX_NAMES];
	size_t nsites;
};

static void report_usage(FILE *f)
{
	fputs("usage: persistencectl report --prometheus.url=URL [--range=30d] [--end=TIME] "
	      "[--step=DURATION]\n"
	      "                             [--format=text|markdown|html|csv|json] [--target=NAME]... "
	      "[--site=NAME]...\n"
	      "                             [--prometheus.config.file=FILE] [--prometheus.timeout=2m]\n",
	      f);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static double report_days(int y, int m, int d)
{
	y -= m <= 2;
	int era = (y >= 0 ? y : y - 399) / 400;
	int yoe = y - era * 400;
	int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (double)era * 146097 + doe - 719468;
}

/* "Z", "+01:00", "-0530" -> seconds east of UTC; -1 when not an offset. */
static int report_offset(const char *s, long *off)
{
	int h, m, n = 0;
	if (!strcmp(s, "Z") || !strcmp(s, "z")) {
		*off = 0;
		return 0;
	}
	if ((s[0] != '+' && s[0] != '-') ||
	    (sscanf(s + 1, "%2d:%2d%n", &h, &m, &n) != 2 && sscanf(s + 1, "%2d%2d%n", &h, &m, &n) != 2) ||
	    s[1 + n] || h > 23 || m > 59)
		return -1;
	*off = (s[0] == '-' ? -1 : 1) * (h * 3600L + m * 60L);
	return 0;
}

double report_parse_time(const char *s, double now)
{
	int y, mo, d, h = 0, mi = 0, n = 0;
	double sec = 0;
	long off = 0;
	char *end;
	if (!strcmp(s, "now"))
		return now;
	if (isdigit((unsigned char)s[0]) && strspn(s, "0123456789.") == strlen(s)) {
		double t = strtod(s, &end);
		return *end || !isfinite(t) ? -1 : t;
	}
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10 || mo < 1 || mo > 12 || d < 1 ||
	    d > 31)
		return -1;
	if (s[10]) {
		int k = 0;
		if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
		    sscanf(s + 11, "%2d:%2d%n", &h, &mi, &k) != 2 || h > 23 || mi > 59)
			return -1;
		const char *p = s + 11 + k;
		if (*p == ':') {
			sec = strtod(p + 1, &end);
			if (end == p + 1 || sec < 0 || sec >= 61)
				return -1;
			p = end;
		}
		if (report_offset(p, &off) < 0)
			return -1;
	}
	return report_days(y, mo, d) * 86400.0 + h * 3600.0 + mi * 60.0 + sec - (double)off;
}

static const char *report_arg(const char *arg, const char *name)
{
	size_t n = strlen(name);
	return strncmp(arg, name, n) == 0 && arg[n] == '=' ? arg + n + 1 : NULL;
}

/* A positive duration flag; 0 on success, -1 after printing what is wrong. */
static int report_duration_arg(const char *flag, const char *v, double *out)
{
	double d = config_parse_duration(v);
	if (!(d > 0)) {
		fprintf(stderr, "persistencectl report: %s=%s is not a duration such as 30d, 12h or 5m\n",
			flag, v);
		return -1;
	}
	*out = d;
	return 0;
}

static int report_add_name(const char *flag, const char *v, const char **list, size_t *n)
{
	if (!*v || *n >= REPORT_MAX_NAMES) {
		fprintf(stderr, "persistencectl report: %s needs a name (at most %d of them)\n", flag,
			REPORT_MAX_NAMES);
		return -1;
	}
	list[(*n)++] = v;
	return 0;
}

/* One flag; 0 when understood, -1 after printing why not. */
static int report_flag(const char *a, struct report_opts *o, double now)
{
	const char *v;
	if ((v = report_arg(a, "--prometheus.url")))
		o->url = v;
	else if ((v = report_arg(a, "--prometheus.config.file")))
		o->config_file = v;
	else if ((v = report_arg(a, "--prometheus.timeout")))
		return report_duration_arg("--prometheus.timeout", v, &o->timeout);
	else if ((v = report_arg(a, "--range")))
		return report_duration_arg("--range", v, &o->range);
	else if ((v = report_arg(a, "--step")))
		return report_duration_arg("--step", v, &o->step);
	else if ((v = report_arg(a, "--target")))
		return report_add_name("--target", v, o->targets, &o->ntargets);
	else if ((v = report_arg(a, "--site")))
		return report_add_name("--site", v, o->sites, &o->nsites);
	else if ((v = report_arg(a, "--end"))) {
		o->end = report_parse_time(v, now);
		if (o->end < 0) {
			fprintf(stderr,
				"persistencectl report: --end=%s is not now, Unix seconds, YYYY-MM-DD or RFC "
				"3339\n",
				v);
			return -1;
		}
	} else if ((v = report_arg(a, "--format"))) {
		int f = report_format_parse(v);
		if (f < 0) {
			fprintf(stderr,
				"persistencectl report: --format=%s: use text, markdown, html, csv or json\n",
				v);
			return -1;
		}
		o->format = (enum report_format)f;
	} else {
		fprintf(stderr, "persistencectl report: unknown flag %s\n", a);
		return -1;
	}
	return 0;
}

static int report_args(int argc, char **argv, int first, struct report_opts *o)
{
	double now = clock_wall();
	memset(o, 0, sizeof(*o));
	o->range = 30 * 86400.0;
	o->end = now;
	o->timeout = 120;
	for (int i = first; i < argc; i++)
		if (report_flag(argv[i], o, now) < 0)
			return -1;
	if (!o->url) {
		fprintf(stderr, "persistencectl report: --prometheus.url is required\n");
		return -1;
	}
	if (o->step && (o->step != floor(o->step) || o->step < REPORT_MIN_STEP)) {
		fprintf(stderr, "persistencectl report: --step must be whole seconds, at least %.0fs\n",
			REPORT_MIN_STEP);
		return -1;
	}
	return 0;
}

/* Loads --prometheus.config.file; 0, or -1 after printing every problem. */
static int report_load_client_config(const char *file, struct http_client_config **hc)
{
	struct buf errors;
	buf_init(&errors, 1 << 20);
	enum perr rc = http_client_config_load_file(file, hc, &errors);
	if (rc)
		fputs(errors.len ? buf_str(&errors)
				 : "persistencectl report: cannot load --prometheus.config.file\n",
		      stderr);
	buf_free(&errors);
	return rc ? -1 : 0;
}

static int report_write(const struct buf *out)
{
	if (fwrite(out->data ? out->data : "", 1, out->len, stdout) != out->len || fflush(stdout) != 0) {
		perror("persistencectl report: cannot write the report");
		return -1;
	}
	return 0;
}

/* Prometheus' warnings (partial answers from Thanos, for example) go to stderr too. */
static void report_print_warnings(const struct report *r)
{
	const char *p = buf_str(&r->warnings);
	while (*p) {
		size_t n = strcspn(p, "\n");
		fprintf(stderr, "persistencectl report: warning from Prometheus: %.*s\n", (int)n, p);
		p += n + (p[n] == '\n');
	}
}

static int report_run(const struct report_opts *o, struct prom_client *c)
{
	struct report r = {0};
	struct report_select sel = {o->targets, o->ntargets, o->sites, o->nsites};
	struct buf out;
	char msg[1024] = "out of memory";
	int status = 2;
	buf_init(&out, 0);
	buf_init(&r.warnings, 1 << 20);
	r.range = o->range;
	if (report_grid_make(o->end, o->range, o->step ? o->step : report_default_step(o->range), &r.grid,
			     msg, sizeof(msg)) != PE_OK ||
	    !(r.prometheus = strdup(prom_client_url(c))) ||
	    report_query(c, &sel, &r, msg, sizeof(msg)) != PE_OK) {
		fprintf(stderr, "persistencectl report: %s\n", msg);
		goto out;
	}
	r.end = r.grid.start + (double)r.grid.n * r.grid.step;
	report_print_warnings(&r);
	if (report_analyse(&r) != PE_OK || report_render(&r, o->format, &out) != PE_OK) {
		fprintf(stderr, "persistencectl report: out of memory\n");
		goto out;
	}
	if (report_write(&out) == 0)
		status = report_verdict(&r);
out:
	report_free(&r);
	buf_free(&out);
	return status;
}

int report_command(int argc, char **argv, int first)
{
	struct report_opts o;
	struct http_client_config *hc = NULL;
	struct prom_client *c = NULL;
	char msg[512];
	int status = 2;
	if (report_args(argc, argv, first, &o) < 0) {
		report_usage(stderr);
		return 2;
	}
	if (o.config_file && report_load_client_config(o.config_file, &hc) < 0)
		return 2;
	if (prom_client_new(o.url, hc, o.timeout, &c, msg, sizeof(msg)) != PE_OK)
		fprintf(stderr, "persistencectl report: %s\n", msg);
	else
		status = report_run(&o, c);
	prom_client_free(c);
	http_client_config_free(hc);
	return status;
}
