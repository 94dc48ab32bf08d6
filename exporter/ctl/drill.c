/* drill.c - persistencectl restore-test: flags, the target, signals, one drill per source, the record. */
#include "drill_ctx.h"
#include "clock.h"
#include "log.h"
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "cJSON.h"

volatile sig_atomic_t drill_stop;
volatile sig_atomic_t drill_signals;

/* ---------------------------------------------------------------- arguments */

static const char *dr_arg_value(const char *arg, const char *name)
{
	size_t n = strlen(name);

	if (strncmp(arg, name, n) == 0 && arg[n] == '=')
		return arg + n + 1;
	return NULL;
}

static int dr_set_once(const char **slot, const char *v, const char *name, char *msg, size_t msglen)
{
	if (*slot) {
		snprintf(msg, msglen, "%s given twice", name);
		return 0;
	}
	*slot = v;
	return 1;
}

static int dr_flag(const char *a, struct drill_opts *o)
{
	int *slot = strcmp(a, "--boot") == 0              ? &o->boot
		    : strcmp(a, "--execute") == 0         ? &o->execute
		    : strcmp(a, "--keep-on-failure") == 0 ? &o->keep_on_failure
							  : NULL;
	if (slot)
		*slot = 1;
	return slot != NULL;
}

/* --poll-interval=SECONDS (for tests and slow links): 0.05 to 60. */
static int dr_poll(const char *v, struct drill_opts *o, char *msg, size_t msglen)
{
	double d = config_parse_duration(v);

	if (d < 0.05 || d > 60) {
		snprintf(msg, msglen, "--poll-interval: '%.40s' is not a duration from 50ms to 60s", v);
		return 0;
	}
	o->poll_interval = d;
	return 1;
}

enum perr drill_parse_args(int argc, char **argv, int first, struct drill_opts *o, char *msg, size_t msglen)
{
	memset(o, 0, sizeof(*o));
	o->poll_interval = 1;
	for (int i = first; i < argc; i++) {
		const char *a = argv[i], *v;
		int ok = 1;

		if ((v = dr_arg_value(a, "--config.file")) != NULL)
			ok = dr_set_once(&o->config_file, v, "--config.file", msg, msglen);
		else if ((v = dr_arg_value(a, "--target")) != NULL)
			ok = dr_set_once(&o->target, v, "--target", msg, msglen);
		else if ((v = dr_arg_value(a, "--poll-interval")) != NULL)
			ok = dr_poll(v, o, msg, msglen);
		else if (!dr_flag(a, o)) {
			snprintf(msg, msglen, "unknown argument '%.60s'", a);
			ok = 0;
		}
		if (!ok)
			return PE_INVAL;
	}
	if (!o->config_file || !*o->config_file) {
		snprintf(msg, msglen, "--config.file=FILE is required");
		return PE_INVAL;
	}
	if (!o->target || !*o->target) {
		snprintf(msg, msglen, "--target=NAME is required (a target of the config)");
		return PE_INVAL;
	}
	return PE_OK;
}

/* ---------------------------------------------------------------- output */

void drill_flush(struct drill_ctx *x)
{
	if (x->out.len) {
		fputs(buf_str(&x->out), x->fout);
		fflush(x->fout);
	}
	buf_reset(&x->out);
}

void drill_fail(struct drill_ctx *x, const char *what)
{
	drill_flush(x);
	fprintf(x->ferr, "persistencectl restore-test: %s: %s\n", what, buf_str(&x->why));
	fflush(x->ferr);
}

static int dr_hex(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
				      : -1;
}

/* A form for people: key=value words, values percent-decoded, quoted when they hold a space. */
static void dr_form_words(struct buf *out, const char *form)
{
	for (const char *p = form; *p;) {
		const char *end = strchr(p, '&'), *eq = strchr(p, '=');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		struct buf v;
		buf_init(&v, 0);
		if (eq && eq < p + n) {
			for (const char *q = eq + 1; q < p + n; q++) {
				int hi = q + 2 < p + n + 1 && *q == '%' ? dr_hex(q[1]) : -1,
				    lo = hi >= 0 ? dr_hex(q[2]) : -1;
				if (lo >= 0) {
					char c = (char)(hi * 16 + lo);
					buf_addc(&v, (unsigned char)c < 0x20 ? ' ' : c);
					q += 2;
				} else {
					buf_addc(&v, *q == '+' ? ' ' : *q);
				}
			}
			buf_add(out, p, (size_t)(eq - p) + 1);
			buf_addf(out, strchr(buf_str(&v), ' ') ? "\"%s\"" : "%s", buf_str(&v));
		} else {
			buf_add(out, p, n);
		}
		buf_free(&v);
		p += n;
		if (*p == '&') {
			buf_addc(out, ' ');
			p++;
		}
	}
}

void drill_request_line(struct drill_ctx *x, const char *method, const char *path, const char *form,
			enum pve_token tok)
{
	static const char *const kinds[] = {"read", "action", "drill"};

	buf_addf(&x->out, "%-6s %s", method, path);
	if (form && *form) {
		buf_adds(&x->out, "   ");
		dr_form_words(&x->out, form);
	}
	buf_addf(&x->out, "   [%s token %s]\n", kinds[tok], pve_client_token_id(x->client, tok));
	drill_flush(x);
}

void drill_reason(struct drill_ctx *x, const char *fmt, ...)
{
	va_list ap;

	if (x->rec.reason[0])
		return;
	va_start(ap, fmt);
	vsnprintf(x->rec.reason, sizeof(x->rec.reason), fmt, ap);
	va_end(ap);
	for (char *p = x->rec.reason; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
}

int drill_nap(double secs)
{
	return drill_nap_until(secs, 1);
}

int drill_nap_until(double secs, int stop_at)
{
	double end = clock_mono() + secs;

	while (!stop_at || drill_signals < stop_at) {
		double left = end - clock_mono();
		if (left <= 0)
			return 0;
		clock_sleep(left < 0.1 ? left : 0.1);
	}
	return 1;
}

void drill_iso_time(double t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, n, "?");
}

/* ---------------------------------------------------------------- signals */

static void dr_on_signal(int sig)
{
	if (!drill_stop)
		drill_stop = sig;
	drill_signals++;
}

/* SIGINT/SIGTERM/SIGHUP stop the drill at the next poll; cleanup still runs. No SA_RESTART: waits wake. */
static void dr_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = dr_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* ---------------------------------------------------------------- one drill per source */

/* An exclusive lock next to the state file: two drills on one source would fight over its scratch range. */
static int dr_lock(struct drill_ctx *x, const char *name)
{
	struct buf path;
	int fd;

	buf_init(&path, 8192);
	buf_addf(&path, "%s.%s.lock", x->cfg->global.drill_state_file, name);
	fd = buf_err(&path) == PE_OK ? open(buf_str(&path), O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644)
				     : -1;
	if (fd < 0) {
		fprintf(x->ferr, "persistencectl restore-test: cannot open the lock file %s: %s\n",
			buf_str(&path), strerror(errno));
	} else if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		fprintf(x->ferr,
			"persistencectl restore-test: another restore drill is running on %s (it holds %s); "
			"nothing was done\n",
			name, buf_str(&path));
		close(fd);
		fd = -1;
	}
	buf_free(&path);
	return fd;
}

/* ---------------------------------------------------------------- the record */

static void dr_summary(struct drill_ctx *x)
{
	char r[32] = "-", b[32] = "-";

	if (x->rec.restore_seconds >= 0)
		drill_format_duration(x->rec.restore_seconds, r, sizeof(r));
	if (x->rec.boot_seconds >= 0)
		drill_format_duration(x->rec.boot_seconds, b, sizeof(b));
	buf_addf(&x->out, "\nrestore test of %s: %s", x->t->name, x->rec.ok ? "OK" : "FAILED");
	if (strcmp(x->rec.kind, "pve") == 0)
		buf_addf(&x->out, " (restore %s, boot %s)", r, x->o->boot ? b : "not asked (--boot)");
	else
		buf_addf(&x->out, " (read in %s)", r);
	if (!x->rec.ok)
		buf_addf(&x->out, ": %s", x->rec.reason);
	buf_adds(&x->out, "\n");
	drill_flush(x);
}

/* Appends the record; a failure to record fails the command (the exporter would not see the drill). */
static int dr_record(struct drill_ctx *x)
{
	char msg[512];

	x->rec.finished = clock_wall();
	dr_summary(x);
	if (drill_state_append(x->cfg->global.drill_state_file, &x->rec, msg, sizeof(msg)) != PE_OK) {
		fprintf(x->ferr, "persistencectl restore-test: the result could not be recorded: %s\n", msg);
		return 0;
	}
	buf_addf(&x->out, "recorded in %s\n", x->cfg->global.drill_state_file);
	drill_flush(x);
	return 1;
}

/* ---------------------------------------------------------------- the command */

static const struct config_target *dr_find_target(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->ntargets; i++)
		if (strcmp(cfg->targets[i].name, name) == 0)
			return &cfg->targets[i];
	return NULL;
}

static int dr_load(struct drill_ctx *x, struct config **cfg)
{
	struct buf errors;
	int rc = -1;

	buf_init(&errors, 1 << 20);
	if (config_load_file(x->o->config_file, cfg, &errors) != PE_OK) {
		fputs(buf_str(&errors), x->ferr);
		fprintf(x->ferr, "persistencectl restore-test: config %s is not usable\n", x->o->config_file);
	} else if ((x->t = dr_find_target(*cfg, x->o->target)) == NULL) {
		fprintf(x->ferr,
			"persistencectl restore-test: no target named '%s' in %s; it has:", x->o->target,
			x->o->config_file);
		for (size_t i = 0; i < (*cfg)->ntargets; i++)
			fprintf(x->ferr, " %s", (*cfg)->targets[i].name);
		fputs((*cfg)->ntargets ? "\n" : " none\n", x->ferr);
	} else if (x->t->kind == TARGET_MOUNT) {
		fprintf(x->ferr,
			"persistencectl restore-test: target %s is a mount target (archives by file name, no "
			"cluster): drill its guest through a pve target, or its files through a file "
			"target\n",
			x->t->name);
	} else {
		x->cfg = *cfg;
		rc = 0;
	}
	buf_free(&errors);
	return rc;
}

static int dr_main(struct drill_ctx *x)
{
	static const char *const kinds[] = {"pve", "mount", "n8n", "file"};
	int rc, lock = -1;

	snprintf(x->rec.target, sizeof(x->rec.target), "%s", x->t->name);
	snprintf(x->rec.kind, sizeof(x->rec.kind), "%s", kinds[x->t->kind]);
	x->rec.restore_seconds = x->rec.boot_seconds = -1;
	x->rec.started = clock_wall();
	buf_addf(&x->out, "persistencectl restore-test: %s\n",
		 x->o->execute ? "executing" : "dry run, nothing is changed");
	if (x->o->execute && (lock = dr_lock(x, x->t->kind == TARGET_PVE ? x->t->source : x->t->name)) < 0)
		return DRILL_EXIT_FAILED;
	if (x->t->kind == TARGET_PVE)
		rc = drill_pve(x);
	else if (x->t->kind == TARGET_N8N)
		rc = drill_n8n(x);
	else
		rc = drill_file(x);
	if (x->recorded) {
		x->rec.ok = x->rec.reason[0] == '\0';
		if (!dr_record(x) && rc == DRILL_EXIT_OK)
			rc = DRILL_EXIT_FAILED;
		if (!x->rec.ok && rc == DRILL_EXIT_OK)
			rc = DRILL_EXIT_FAILED;
	}
	if (drill_stop)
		rc = DRILL_EXIT_INTERRUPTED + (int)drill_stop;
	if (lock >= 0)
		close(lock);
	return rc;
}

int drill_run(const struct drill_opts *o, FILE *out, FILE *err)
{
	struct config *cfg = NULL;
	struct drill_ctx x;
	int rc = DRILL_EXIT_USAGE;

	memset(&x, 0, sizeof(x));
	x.o = o;
	x.fout = out;
	x.ferr = err;
	x.tty = isatty(fileno(err));
	buf_init(&x.out, 0);
	buf_init(&x.why, 8192);
	drill_stop = 0;
	drill_signals = 0;
	dr_signals();
	if (dr_load(&x, &cfg) == 0)
		rc = dr_main(&x);
	drill_flush(&x);
	cJSON_Delete(x.vms);
	pve_client_free(x.client);
	secret_free(x.drill_secret);
	free(x.skip);
	buf_free(&x.out);
	buf_free(&x.why);
	config_unref(cfg);
	return rc;
}
