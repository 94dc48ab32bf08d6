/* main.c - persistencectl: one-shot status, the governed vzdump trigger, the restore drill, the compliance report. */
#include "collector.h"
#include "config.h"
#include "drill.h"
#include "fetch.h"
#include "log.h"
#include "report.h"
#include "scrape.h"
#include "status.h"
#include "version.h"
#include "vzdump.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void ctl_usage(FILE *f)
{
	fprintf(f,
		"usage:\n"
		"  persistencectl status [--config.file=FILE] [--format=text|json] [--path.procfs=DIR]\n"
		"                        [--path.sysfs=DIR] [--path.pvelib=DIR] [--path.rundir=DIR]\n"
		"  persistencectl vzdump --config.file=FILE --source=NAME --vmid=ID [--storage=ID]\n"
		"                        [--restart-scheduler] [--execute] [--wait]\n"
		"  persistencectl restore-test --config.file=FILE --target=NAME [--boot] [--execute]\n"
		"                        [--keep-on-failure] [--poll-interval=DURATION]\n"
		"  persistencectl report --prometheus.url=URL [--range=30d] [--end=TIME] [--step=DURATION]\n"
		"                        [--format=text|markdown|html|csv|json] [--target=NAME]...\n"
		"                        [--site=NAME]... [--prometheus.config.file=FILE] "
		"[--prometheus.timeout=2m]\n"
		"  persistencectl --help | --version\n");
}

static const char *arg_value(const char *arg, const char *name)
{
	size_t n = strlen(name);
	if (strncmp(arg, name, n) == 0 && arg[n] == '=')
		return arg + n + 1;
	return NULL;
}

struct ctl_status_opts {
	const char *file;
	int json;
	/* the daemon's --path.* flags, so a node-local or demo set-up reads the same trees */
	struct config_path_flags paths;
};

/* Applies one --path.NAME=DIR flag; 1 when arg was one. */
static int ctl_path_arg(const char *arg, struct ctl_status_opts *o)
{
	static const char *const names[] = {"--path.procfs", "--path.sysfs", "--path.pvelib",
					    "--path.rundir"};
	const char **slots[] = {&o->paths.procfs, &o->paths.sysfs, &o->paths.pvelib, &o->paths.rundir};
	for (size_t i = 0; i < 4; i++) {
		const char *v = arg_value(arg, names[i]);
		if (v) {
			*slots[i] = v;
			return 1;
		}
	}
	return 0;
}

/* Parses status's flags; 0 on success, prints usage and returns 2 otherwise. */
static int ctl_status_args(int argc, char **argv, struct ctl_status_opts *o)
{
	o->file = "/etc/persistence_exporter/config.yml";
	o->json = 0;
	o->paths = (struct config_path_flags){NULL, NULL, NULL, NULL};
	for (int i = 2; i < argc; i++) {
		const char *v = NULL;
		if (ctl_path_arg(argv[i], o)) {
			continue;
		} else if ((v = arg_value(argv[i], "--config.file")) != NULL) {
			o->file = v;
		} else if ((v = arg_value(argv[i], "--format")) != NULL && strcmp(v, "text") == 0) {
			o->json = 0;
		} else if (v && strcmp(v, "json") == 0) {
			o->json = 1;
		} else {
			ctl_usage(stderr);
			return 2;
		}
	}
	return 0;
}

/* Runs one collection of cfg with the daemon's code and prints it; returns the exit code. */
static int ctl_status_report(struct config *cfg, int json)
{
	struct buf out;
	int status = 2;
	buf_init(&out, 0);
	struct scrape_state *st = scrape_state_new();
	struct scrape *s = st ? scrape_new(st, cfg, cfg->global.scrape_timeout, NULL, 0) : NULL;
	if (!s || scrape_run(s) != PE_OK) {
		fprintf(stderr, "persistencectl: collection failed\n");
		goto out;
	}
	enum perr rc =
		json ? status_render_json(s, &out) : status_render_text(s, &out, isatty(STDOUT_FILENO));
	if (rc != PE_OK) {
		fprintf(stderr, "persistencectl: cannot render the report: %s\n", err_str(rc));
		goto out;
	}
	fputs(buf_str(&out), stdout);
	status = status_verdict(s);
out:
	scrape_free(s);
	scrape_state_free(st);
	buf_free(&out);
	return status;
}

/*
 * persistencectl status: one collection, the inventory as aligned text (or
 * the /status JSON), then the summary line. Exit 0 all OK, 1 degraded
 * (a target not OK or a source down), 2 error (bad config, collection failed).
 */
static int ctl_status(int argc, char **argv)
{
	struct ctl_status_opts o;
	if (ctl_status_args(argc, argv, &o) != 0)
		return 2;
	struct config *cfg = NULL;
	struct buf errors;
	buf_init(&errors, 1 << 20);
	int status = 2;
	if (config_load_file(o.file, &cfg, &errors) != PE_OK) {
		fputs(buf_str(&errors), stderr);
	} else {
		config_apply_path_flags(cfg, &o.paths);
		status = ctl_status_report(cfg, o.json);
	}
	config_unref(cfg);
	buf_free(&errors);
	return status;
}

/* The governed backup trigger (exporter/ctl/vzdump.c): a dry run unless --execute. */
static int ctl_vzdump(int argc, char **argv)
{
	struct vzdump_opts o;
	char msg[256];

	if (vzdump_parse_args(argc, argv, 2, &o, msg, sizeof(msg)) != PE_OK) {
		fprintf(stderr, "persistencectl vzdump: %s\n", msg);
		ctl_usage(stderr);
		return VZDUMP_EXIT_USAGE;
	}
	log_setup(LOG_LVL_INFO, LOG_FMT_LOGFMT); /* the audit lines of executed mutations are info */
	return vzdump_run(&o, stdout, stderr);
}

/* The governed restore drill (exporter/ctl/drill.c): a dry run unless --execute. */
static int ctl_restore_test(int argc, char **argv)
{
	struct drill_opts o;
	char msg[256];

	if (drill_parse_args(argc, argv, 2, &o, msg, sizeof(msg)) != PE_OK) {
		fprintf(stderr, "persistencectl restore-test: %s\n", msg);
		ctl_usage(stderr);
		return DRILL_EXIT_USAGE;
	}
	log_setup(LOG_LVL_INFO, LOG_FMT_LOGFMT); /* the audit lines of executed mutations are info */
	return drill_run(&o, stdout, stderr);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		ctl_usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		ctl_usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("persistencectl %s (revision %s)\n", PE_VERSION, PE_REVISION);
		return 0;
	}
	log_setup(LOG_LVL_WARN, LOG_FMT_LOGFMT);
	if (fetch_global_init() != PE_OK)
		return 2;
	int rc = 2;
	if (strcmp(argv[1], "status") == 0)
		rc = ctl_status(argc, argv);
	else if (strcmp(argv[1], "vzdump") == 0)
		rc = ctl_vzdump(argc, argv);
	else if (strcmp(argv[1], "restore-test") == 0)
		rc = ctl_restore_test(argc, argv);
	else if (strcmp(argv[1], "report") == 0)
		rc = report_command(argc, argv, 2);
	else
		ctl_usage(stderr);
	fetch_global_cleanup();
	return rc;
}
