/* drill_ctx.h - what the parts of one restore drill share (drill.c, drill_pve.c, drill_guest.c, drill_local.c). */
#ifndef PE_DRILL_CTX_H
#define PE_DRILL_CTX_H

#include <signal.h>
#include <stdio.h>
#include "buf.h"
#include "config.h"
#include "drill.h"
#include "drill_state.h"
#include "pve_client.h"

struct cJSON;

/* Set by the signal handler (SIGINT, SIGTERM, SIGHUP): the first signal's number; 0 while none came. */
extern volatile sig_atomic_t drill_stop;
/* How many stop signals came: a second one during a restore aborts the task instead of waiting for it. */
extern volatile sig_atomic_t drill_signals;

/* One drill in progress. Output lines go to out (flushed at once), errors to err. */
struct drill_ctx {
	const struct drill_opts *o;
	const struct config *cfg;
	const struct config_target *t;
	FILE *fout, *ferr;
	int tty;
	struct buf out; /* report text not yet written */
	struct buf why; /* explanation of the last failed call */
	struct drill_record rec; /* what will be appended to the state file */
	int recorded; /* 1: rec is to be appended (the drill started for real) */
	int leftover; /* 1: something could not be cleaned up */

	/* pve targets */
	const struct config_pve *p;
	const struct config_drill *d;
	struct pve_client *client;
	struct config_pve
		pcopy; /* the source with the drill token's secret read (the daemon never reads it) */
	struct config_drill dcopy;
	char *drill_secret;
	struct cJSON *vms; /* /cluster/resources?type=vm */
	char gtype[8]; /* "qemu" | "lxc" of the source guest */
	char node[64];
	char gname[128];
	int template_guest;
	char volid[384]; /* the newest archive */
	double archive_ctime, archive_size;
	long *skip; /* scratch ids not to use (foreign guests, leftovers that stayed) */
	size_t nskip;
	long vmid; /* the scratch guest; 0 none yet */
	int exists; /* 1: the scratch guest exists (it must be destroyed) */
	int agent; /* the restored VM has the guest agent enabled */
};

/* ---- drill.c ---- */
void drill_flush(struct drill_ctx *x);
/* Prints "<METHOD> <path>   <form as words>   [<kind> token <id>]" and flushes. */
void drill_request_line(struct drill_ctx *x, const char *method, const char *path, const char *form,
			enum pve_token tok);
/* Prints an error line "persistencectl restore-test: <what>: <x->why>" after flushing the report. */
void drill_fail(struct drill_ctx *x, const char *what);
/* Sets the record's failure reason once (the first cause wins); printf-style. */
void drill_reason(struct drill_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sleeps up to secs, returning early (1) when a stop signal came. */
int drill_nap(double secs);
/* The same, returning early only once stop_at stop signals came (0: never early). */
int drill_nap_until(double secs, int stop_at);
void drill_iso_time(double t, char *out, size_t n);

/* ---- drill_pve.c: the pve target's drill; returns an exit code ---- */
int drill_pve(struct drill_ctx *x);
/* The restore POST raced another client for x->vmid: the next free id (-1 none, x->why says why). */
long drill_next_vmid(struct drill_ctx *x);

/* ---- drill_guest.c: the scratch guest ---- */
/* Restores the archive into x->vmid and waits for the task; 0 ok, else the reason is recorded. */
int drill_guest_restore(struct drill_ctx *x, double *seconds);
/* Cuts every netN (and freezes a VM) and checks the result; 0 when safe to start. */
int drill_guest_isolate(struct drill_ctx *x);
/* Starts the guest and waits for proof of life; 0 ok. */
int drill_guest_boot(struct drill_ctx *x, double *seconds);
/* Stops (when running) and destroys vmid with purge; retried; 0 when it is gone. */
int drill_guest_destroy(struct drill_ctx *x, long vmid, const char *gtype, const char *node);
/* The plan a dry run prints: every call a drill makes, in order. */
void drill_guest_plan(struct drill_ctx *x, long vmid);

/* ---- drill_local.c: file and n8n targets ---- */
int drill_file(struct drill_ctx *x);
int drill_n8n(struct drill_ctx *x);

#endif
