/* drill.h - persistencectl restore-test: the governed restore drill, a dry run unless --execute. */
#ifndef PE_DRILL_H
#define PE_DRILL_H

#include <stddef.h>
#include <stdio.h>
#include "buf.h"
#include "config.h"
#include "err.h"

struct cJSON;

/* Exit codes of the command. */
enum {
	DRILL_EXIT_OK = 0, /* dry run printed, or the drill proved the restore (and boot) and left nothing */
	DRILL_EXIT_FAILED = 1, /* the drill failed, or something could not be cleaned up (it says what) */
	DRILL_EXIT_USAGE = 2, /* bad flags, bad config, unknown target, no drill: section */
	DRILL_EXIT_INTERRUPTED =
		128 /* + the signal (SIGINT 130, SIGTERM 143, SIGHUP 129): cleaned up, recorded failed */
};

/* Command-line options; strings are borrowed from argv. */
struct drill_opts {
	const char *config_file;
	const char *target;
	int boot; /* start the restored guest and wait for proof of life */
	int execute; /* without it: a dry run (GETs only) */
	int keep_on_failure; /* leave a failed drill's scratch guest for inspection (still cut off) */
	double poll_interval; /* seconds between polls; 1 by default */
};

/* Parses argv[first..argc). PE_INVAL with msg set on a bad, repeated or missing option. */
enum perr drill_parse_args(int argc, char **argv, int first, struct drill_opts *o, char *msg,
			   size_t msglen) PE_WUR;

/* The whole command; the report goes to out, errors to err. Returns an exit code. */
int drill_run(const struct drill_opts *o, FILE *out, FILE *err);

/* ---- pure pieces (exporter/ctl/drill_isolate.c), unit-tested ---- */

/* The marker a drill writes into the scratch guest's description; leftovers are found by it. */
#define DRILL_MARKER "persistence_exporter restore drill"

/* 1 when a netN property string carries link_down=1 (or true/yes/on). */
int drill_net_is_down(const char *value);
/* value with link_down=1: an existing link_down= is replaced, else ",link_down=1" is appended. */
void drill_net_down(const char *value, struct buf *out);

/*
 * The form of the PUT that cuts a restored guest off before its first
 * start: every netN of conf (a config answer's data) with link_down=1,
 * freeze=1 for a VM (its CPUs stay halted until the links are down), and
 * digest. Returns the number of netN keys; the form is empty when there
 * is nothing to change (a container without netN).
 */
int drill_isolate_form(const struct cJSON *conf, int qemu, struct buf *form);

/* 1 when conf is safe to start: every netN has link_down=1 (and a VM has freeze=1); else why says which. */
int drill_is_isolated(const struct cJSON *conf, int qemu, struct buf *why);

/*
 * Why booting conf would reach beyond the guest, or NULL: a hookscript
 * (runs on the node at start and stop; only root can remove it) or, for a
 * VM, raw args with a network device (not covered by netN).
 */
const char *drill_boot_hazard(const struct cJSON *conf, int qemu);

/* 1 when a VM config has the guest agent enabled ("1", "enabled=1,..."). */
int drill_agent_enabled(const struct cJSON *conf);

/* "<prefix><source>-<vmid>" as a DNS label: other characters become '-', at most 63 bytes. */
void drill_guest_name(const char *prefix, const char *source, long vmid, char *out, size_t n);

/* What a guest found in the scratch range is. */
enum drill_leftover {
	DRILL_FOREIGN = 0, /* not made by a drill: left alone, its id skipped */
	DRILL_LEFTOVER, /* an earlier drill's guest (pool, name prefix or marker) */
	DRILL_STUB /* an empty config: what PVE keeps after a failed VM restore */
};
/* item: its /cluster/resources entry; conf: its config (NULL when not read). */
enum drill_leftover drill_classify(const struct cJSON *item, const struct cJSON *conf,
				   const struct config_drill *d);

/* A duration for people: "42s", "3m 20s", "1h 12m". */
void drill_format_duration(double secs, char *out, size_t n);

#endif
