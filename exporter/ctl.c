/* ctl.c - persistencectl: one-shot status report and the governed vzdump trigger. */
#include "collector.h"
#include "config.h"
#include "fetch.h"
#include "log.h"
#include "scrape.h"
#include "status.h"
#include "vzdump.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void ctl_usage(FILE *f)
{
	fprintf(f, "usage:\n"
		   "  persistencectl status [--config.file=FILE] [--format=text|json]\n"
		   "  persistencectl vzdump --config.file=FILE --source=NAME --vmid=ID [--storage=ID]\n"
		   "                        [--restart-scheduler] [--execute] [--wait]\n");
}

static const char *arg_value(const char *arg, const char *name)
{
	size_t n = strlen(name);
	if (strncmp(arg, name, n) == 0 && arg[n] == '=')
		return arg + n + 1;
	return NULL;
}

/* One collection with the daemon's code; prints the sources. Exit 0 all up, 1 degraded, 2 error. */
static int ctl_status(int argc, char **argv)
{
	const char *file = "/etc/persistence_exporter/config.yml";
	const char *format = "text";
	for (int i = 2; i < argc; i++) {
		const char *v;
		if ((v = arg_value(argv[i], "--config.file")) != NULL) {
			file = v;
		} else if ((v = arg_value(argv[i], "--format")) != NULL) {
			format = v;
		} else {
			ctl_usage(stderr);
			return 2;
		}
	}
	struct config *cfg = NULL;
	struct buf errors, out;
	buf_init(&errors, 1 << 20);
	buf_init(&out, 0);
	int status = 2;
	if (config_load_file(file, &cfg, &errors) != PE_OK) {
		fputs(buf_str(&errors), stderr);
		goto out;
	}
	struct scrape_state *st = scrape_state_new();
	struct scrape *s = st ? scrape_new(st, cfg, cfg->global.scrape_timeout, NULL, 0) : NULL;
	if (!s || scrape_run(s) != PE_OK) {
		fprintf(stderr, "persistencectl: collection failed\n");
	} else {
		size_t down = 0;
		for (size_t i = 0; i < scrape_nsources(s); i++)
			down += !scrape_source(s, i)->up;
		if (strcmp(format, "json") == 0 ? status_render_json(s, &out) == PE_OK
						: status_render_text(s, &out, 0) == PE_OK) {
			fputs(buf_str(&out), stdout);
			status = down ? 1 : 0;
		}
	}
	scrape_free(s);
	scrape_state_free(st);
out:
	config_unref(cfg);
	buf_free(&errors);
	buf_free(&out);
	return status;
}

/* The governed backup trigger (exporter/vzdump.c): a dry run unless --execute. */
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

int main(int argc, char **argv)
{
	if (argc < 2) {
		ctl_usage(stderr);
		return 2;
	}
	log_setup(LOG_LVL_WARN, LOG_FMT_LOGFMT);
	if (fetch_global_init() != PE_OK)
		return 2;
	int rc = 2;
	if (strcmp(argv[1], "status") == 0)
		rc = ctl_status(argc, argv);
	else if (strcmp(argv[1], "vzdump") == 0)
		rc = ctl_vzdump(argc, argv);
	else
		ctl_usage(stderr);
	fetch_global_cleanup();
	return rc;
}
