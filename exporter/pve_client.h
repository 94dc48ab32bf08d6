/* pve_client.h - the one PVE API client: targets for its tokens, calls, errors in words, audited tasks. */
#ifndef PE_PVE_CLIENT_H
#define PE_PVE_CLIENT_H

#include <stddef.h>
#include "buf.h"
#include "config.h"
#include "err.h"
#include "fetch.h"
#include "pve.h"

struct cJSON;

/*
 * What a caller may rely on:
 * - A client is made from one configured pve source and borrows it (the
 *   config must outlive the client). It owns its fetch targets; their auth
 *   headers are wiped when the client is freed. The token secrets are
 *   redacted from every log line (config loading or config_read_secret()
 *   registers them). The action and drill secrets kept in files are not in
 *   the loaded config: the command that uses one reads it into a copy of
 *   the source (config_read_secret()) before making its client.
 * - Reads use the read token (token_id). Mutations use the action token
 *   (action_token_id: persistencectl vzdump) or the drill token
 *   (drill.token_id: persistencectl restore-test), never the read token,
 *   and every mutation writes one audit line (log level info: source,
 *   who, what, when, upid, result) whether it worked or not. A client
 *   without the token a call names refuses it with PE_DENIED before
 *   anything is sent.
 * - Nothing here prints or exits: results come back as values, failures
 *   as an enum perr plus one line for the operator in a caller's buf
 *   (never a secret, no control characters).
 * - Calls here are synchronous and uncached (for CLIs). The collector
 *   reads through the scrape's cache instead, with pve_client_target().
 * - Thread-safe for concurrent calls on one client (no mutable state
 *   after pve_client_new()).
 */
enum pve_token { PVE_TOKEN_READ = 0, PVE_TOKEN_ACTION, PVE_TOKEN_DRILL };

struct pve_client;

/* PE_NOMEM, or PE_OK with *out set. */
enum perr pve_client_new(const struct config_pve *p, struct pve_client **out) PE_WUR;
void pve_client_free(struct pve_client *c); /* takes NULL */

const struct config_pve *pve_client_config(const struct pve_client *c);
/* "<url>/api2/json": what every path is appended to; safe to print. */
const char *pve_client_base_url(const struct pve_client *c);
/* 1 when the source given had an action token id and its secret (read, not only its file's path). */
int pve_client_can_act(const struct pve_client *c);
/* 1 when the token is configured (the read token always is). */
int pve_client_has_token(const struct pve_client *c, enum pve_token tok);
/* The token's id for messages ("monitor@pve!exporter"), "(none)" when not configured; never a secret. */
const char *pve_client_token_id(const struct pve_client *c, enum pve_token tok);
/* The fetch target of a token (NULL for an action or drill token that is not configured); valid until free. */
const struct fetch_target *pve_client_target(const struct pve_client *c, enum pve_token tok);

/*
 * One synchronous request (method "GET", "POST", "PUT" or "DELETE"; form
 * for POST and PUT or NULL). PE_OK with *doc (the caller cJSON_Delete()s it) for a 200 whose
 * body is a JSON object; pve_data(*doc) is the payload. Otherwise *doc is
 * NULL, the error says what kind of failure (PE_AUTH 401, PE_DENIED 403,
 * PE_HTTP other statuses, PE_PARSE a 200 that is not a JSON object, or
 * the transport's error) and why (reset first) explains it in one line
 * (pve_explain()). A mutation here is NOT audited: use pve_client_mutate()
 * or pve_client_start_task().
 */
enum perr pve_client_call(const struct pve_client *c, enum pve_token tok, const char *method,
			  const char *path, const char *form, struct cJSON **doc, struct buf *why) PE_WUR;

/*
 * A mutation that starts a PVE task: POST path (form may be NULL) with the
 * action token, then one audit line. PE_OK and upid (NUL-terminated, at
 * most n-1 bytes) when PVE answered with a UPID; PE_NOTFOUND when it
 * answered 200 without one (nothing started); PE_DENIED when no action
 * token is configured (nothing sent); else the call's error. why says why.
 */
enum perr pve_client_start_task(const struct pve_client *c, const char *path, const char *form, char *upid,
				size_t n, struct buf *why) PE_WUR;

/*
 * An audited mutation with any token but the read one: method "POST",
 * "PUT" or "DELETE", as pve_client_call() (doc may be NULL when the answer
 * is not wanted), then one audit line naming the token. PE_DENIED without
 * sending anything when tok is the read token or is not configured.
 */
enum perr pve_client_mutate(const struct pve_client *c, enum pve_token tok, const char *method,
			    const char *path, const char *form, struct cJSON **doc, struct buf *why) PE_WUR;

/*
 * pve_client_mutate() for a call that starts a task: PE_OK and upid as
 * pve_client_start_task(); PE_NOTFOUND when PVE answered without a UPID.
 */
enum perr pve_client_start_task_as(const struct pve_client *c, enum pve_token tok, const char *method,
				   const char *path, const char *form, char *upid, size_t n,
				   struct buf *why) PE_WUR;

/* A task being followed: fill upid (and tok) with pve_task_init(), then pass it to pve_client_task_*. */
struct pve_task {
	char upid[256];
	struct pve_upid u; /* parsed from upid */
	enum pve_token tok; /* the token that polls it */
	int stopped; /* 1 once PVE reports status "stopped" */
	char exitstatus
		[256]; /* when stopped: "OK", "WARNINGS: 2", an error text; "unexpected status" if none */
	long logged; /* the last task-log line number seen */
};
/* PE_PARSE (why set) when upid is not a UPID. */
enum perr pve_task_init(struct pve_task *t, const char *upid, enum pve_token tok, struct buf *why) PE_WUR;
/* 1 when the task stopped and its exitstatus means success (pve_exitstatus_ok()). */
int pve_task_ok(const struct pve_task *t);

/* One status poll: sets t->stopped (and t->exitstatus when stopped). */
enum perr pve_client_task_status(const struct pve_client *c, struct pve_task *t, struct buf *why) PE_WUR;
/*
 * One page (at most limit lines) of the task log after line t->logged;
 * each new line goes to line(ctx, text) in order and advances t->logged.
 * *more is 1 when the page was full (more may follow).
 */
enum perr pve_client_task_log(const struct pve_client *c, struct pve_task *t, int limit,
			      void (*line)(void *ctx, const char *text), void *ctx, int *more,
			      struct buf *why) PE_WUR;

#define PVE_TASK_LOG_PAGE 500 /* lines per task-log request of pve_client_task_wait() */

/* Hooks of pve_client_task_wait(); each may be NULL. */
struct pve_task_hooks {
	void *ctx;
	void (*log_line)(void *ctx, const char *text); /* set: the task log is followed and handed over */
	void (*tick)(void *ctx, const struct pve_task *t, double started); /* between polls */
};
/*
 * Polls every poll_interval seconds until the task stops: PE_OK with
 * t->exitstatus set. PE_TIMEOUT when deadline (wall-clock Unix time; 0 =
 * none) passes, or after 5 polls in a row failed; why then says why.
 */
enum perr pve_client_task_wait(const struct pve_client *c, struct pve_task *t, double deadline,
			       double poll_interval, const struct pve_task_hooks *h, struct buf *why) PE_WUR;

/*
 * Explains a failed API exchange in one line for the operator: transport
 * errors (e != PE_OK, with the fetch message), 401, 403 with PVE's
 * "Permission check failed (path, privilege)", 400 with the parameter
 * errors, 5xx, and 595-599 (node unreachable through the API proxy).
 * token_id names the credential used (never its secret); NULL prints
 * "(none)". body may be NULL.
 */
void pve_explain(enum perr e, const char *fetch_err, long status, const char *body, const char *token_id,
		 struct buf *out);
/* Appends upstream text on one line: control characters become spaces, at most max bytes, then "...". */
void pve_add_clean(struct buf *out, const char *s, size_t max);

/*
 * "/nodes/<node><rest>", and with storage "…<storage><tail>" appended,
 * node and storage percent-encoded. The caller frees it; NULL when out of
 * memory. E.g. pve_node_path("pve1", "/storage/", "nfs", "/content").
 */
char *pve_node_path(const char *node, const char *rest, const char *storage, const char *tail);

#endif
