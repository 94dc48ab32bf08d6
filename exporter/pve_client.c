/* pve_client.c - the one PVE API client: targets for its tokens, calls, errors in words, audited tasks. */
#include "pve_client.h"
#include "clock.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cJSON.h"

#define PVE_POLL_ERRORS 5 /* consecutive failed polls before giving up on a task */

struct pve_client {
	const struct config_pve *p;
	struct fetch_target *read, *act, *drill; /* act, drill NULL: that token is not configured */
};

/* A target for one token: the source's URL and TLS settings, "Authorization: PVEAPIToken=id=secret". */
static struct fetch_target *pve_target_new(const struct config_pve *p, const char *id, const char *secret)
{
	struct fetch_target tmpl = {
		.ca_file = p->tls.ca_file,
		.fingerprint = p->tls.fingerprint,
		.insecure = p->tls.insecure_skip_verify,
		.timeout = p->timeout > 0 ? p->timeout : CONFIG_PVE_TIMEOUT,
	};
	struct fetch_target *t = fetch_target_new(&tmpl);

	if (t && (fetch_target_set_url(t, p->url ? p->url : "", "/api2/json", (char *)NULL) != PE_OK ||
		  fetch_target_set_auth(t, "Authorization: PVEAPIToken=", id ? id : "", "=",
					secret ? secret : "", (char *)NULL) != PE_OK)) {
		fetch_target_free(t);
		t = NULL;
	}
	return t;
}

enum perr pve_client_new(const struct config_pve *p, struct pve_client **out)
{
	struct pve_client *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return PE_NOMEM;
	c->p = p;
	c->read = pve_target_new(p, p->token_id, p->token_secret);
	if (p->action_token_id && p->action_token_secret)
		c->act = pve_target_new(p, p->action_token_id, p->action_token_secret);
	if (p->drill && p->drill->token_id && p->drill->token_secret)
		c->drill = pve_target_new(p, p->drill->token_id, p->drill->token_secret);
	if (!c->read || (p->action_token_id && p->action_token_secret && !c->act) ||
	    (p->drill && p->drill->token_id && p->drill->token_secret && !c->drill)) {
		pve_client_free(c);
		return PE_NOMEM;
	}
	*out = c;
	return PE_OK;
}

void pve_client_free(struct pve_client *c)
{
	if (!c)
		return;
	fetch_target_free(c->read);
	fetch_target_free(c->act);
	fetch_target_free(c->drill);
	free(c);
}

const struct config_pve *pve_client_config(const struct pve_client *c)
{
	return c->p;
}

const char *pve_client_base_url(const struct pve_client *c)
{
	return c->read->base_url;
}

int pve_client_can_act(const struct pve_client *c)
{
	return c->act != NULL;
}

int pve_client_has_token(const struct pve_client *c, enum pve_token tok)
{
	return pve_client_target(c, tok) != NULL;
}

const char *pve_client_token_id(const struct pve_client *c, enum pve_token tok)
{
	const char *id = tok == PVE_TOKEN_ACTION  ? c->p->action_token_id
			 : tok == PVE_TOKEN_DRILL ? (c->p->drill ? c->p->drill->token_id : NULL)
						  : c->p->token_id;

	return id ? id : "(none)";
}

const struct fetch_target *pve_client_target(const struct pve_client *c, enum pve_token tok)
{
	return tok == PVE_TOKEN_ACTION ? c->act : tok == PVE_TOKEN_DRILL ? c->drill : c->read;
}

/* ---------------------------------------------------------------- errors in words */

void pve_add_clean(struct buf *out, const char *s, size_t max)
{
	size_t len = strlen(s);

	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' '))
		len--;
	for (size_t i = 0; i < len && i < max; i++) {
		unsigned char ch = (unsigned char)s[i];
		buf_addc(out, ch < 0x20 || ch == 0x7f ? ' ' : (char)ch);
	}
	if (len > max)
		buf_adds(out, "...");
}

/* "Permission check failed (/vms/105, VM.Backup)": names the path and the privilege. */
static void pve_explain_403(const char *msg, const char *token_id, struct buf *out)
{
	const char *open = msg ? strstr(msg, "Permission check failed (") : NULL;
	const char *comma = open ? strchr(open, ',') : NULL;
	const char *close = comma ? strchr(comma, ')') : NULL;

	buf_adds(out, "403 ");
	if (msg)
		pve_add_clean(out, msg, 300);
	else
		buf_adds(out, "permission denied (PVE sent no message)");
	if (open && comma && close && strstr(msg, "URI '") == NULL) {
		const char *priv = comma + 1;
		while (*priv == ' ')
			priv++;
		buf_addf(out, ": token %s lacks %.*s on %.*s", token_id, (int)(close - priv), priv,
			 (int)(comma - (open + 25)), open + 25);
	} else {
		buf_addf(out, ": token %s is not allowed to do this", token_id);
	}
}

static void pve_explain_param(const cJSON *doc, struct buf *out)
{
	const cJSON *errs = cJSON_GetObjectItemCaseSensitive(doc, "errors"), *e;
	int first = 1;

	if (!cJSON_IsObject(errs))
		return;
	cJSON_ArrayForEach(e, errs)
	{
		buf_adds(out, first ? ": " : "; ");
		pve_add_clean(out, e->string ? e->string : "?", 60);
		buf_adds(out, ": ");
		pve_add_clean(out, cJSON_IsString(e) ? e->valuestring : "(not a string)", 200);
		first = 0;
	}
}

static void pve_explain_status(long status, const char *msg, const cJSON *doc, const char *token_id,
			       struct buf *out)
{
	if (status == 401) {
		buf_addf(out,
			 "401 authentication failed: PVE refused token %s (wrong token id or secret, "
			 "expired or deleted token)",
			 token_id);
	} else if (status == 403) {
		pve_explain_403(msg, token_id, out);
	} else if (status >= 595 && status <= 599) {
		buf_addf(out, "%ld the PVE node could not be reached through the API proxy", status);
		if (msg) {
			buf_adds(out, " (");
			pve_add_clean(out, msg, 200);
			buf_adds(out, ")");
		}
	} else {
		buf_addf(out, "%ld ", status);
		if (msg)
			pve_add_clean(out, msg, 300);
		else
			buf_adds(out, status >= 500 ? "server error (PVE sent no message)"
						    : "unexpected HTTP status");
		if (status == 400)
			pve_explain_param(doc, out);
	}
}

void pve_explain(enum perr e, const char *fetch_err, long status, const char *body, const char *token_id,
		 struct buf *out)
{
	cJSON *doc = NULL;
	const char *msg = NULL;

	if (!token_id)
		token_id = "(none)";
	if (e != PE_OK) {
		buf_addf(out, "%s: ", e == PE_TIMEOUT ? "timeout, no answer in time" : err_str(e));
		pve_add_clean(out, fetch_err && *fetch_err ? fetch_err : "request failed", 240);
		return;
	}
	if (body && *body)
		doc = cJSON_Parse(body);
	if (cJSON_IsObject(doc)) {
		msg = pve_json_str(doc, "message");
		if (msg && !*msg)
			msg = NULL;
	}
	pve_explain_status(status, msg, doc, token_id, out);
	cJSON_Delete(doc);
}

/* ---------------------------------------------------------------- calls */

enum perr pve_client_call(const struct pve_client *c, enum pve_token tok, const char *method,
			  const char *path, const char *form, cJSON **doc, struct buf *why)
{
	const struct fetch_target *t = pve_client_target(c, tok);
	struct fetch_resp r;
	enum perr e;

	*doc = NULL;
	buf_reset(why);
	if (!t) {
		buf_addf(why, "no %s token configured", tok == PVE_TOKEN_DRILL ? "drill" : "action");
		return PE_DENIED;
	}
	fetch_resp_init(&r);
	e = fetch_request(t, method, path, form, 0, &r);
	if (e == PE_OK && r.status == 200) {
		*doc = cJSON_ParseWithLength(r.body.data ? r.body.data : "", r.body.len);
		if (!cJSON_IsObject(*doc)) {
			cJSON_Delete(*doc);
			*doc = NULL;
			buf_adds(why, "200 but the answer is not a JSON object (a proxy or the wrong URL?)");
			e = PE_PARSE;
		}
	} else {
		pve_explain(e, r.err, r.status, buf_str(&r.body), pve_client_token_id(c, tok), why);
		if (e == PE_OK)
			e = r.status == 401 ? PE_AUTH : r.status == 403 ? PE_DENIED : PE_HTTP;
	}
	fetch_resp_free(&r);
	return e;
}

static void pve_iso_time(double t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, n, "?");
}

static void pve_audit(const struct pve_client *c, enum pve_token tok, const char *method, const char *path,
		      const char *form, const char *upid, const char *result)
{
	char when[32];
	struct buf what;

	pve_iso_time(clock_wall(), when, sizeof(when));
	buf_init(&what, 4096);
	buf_addf(&what, "%s %s%s%s", method, path, form ? " " : "", form ? form : "");
	log_info("audit", "source", c->p->name, "who", pve_client_token_id(c, tok), "what", buf_str(&what),
		 "when", when, "upid", upid, "result", result);
	buf_free(&what);
}

enum perr pve_client_mutate(const struct pve_client *c, enum pve_token tok, const char *method,
			    const char *path, const char *form, cJSON **doc, struct buf *why)
{
	cJSON *mine = NULL;
	enum perr e;

	if (doc)
		*doc = NULL;
	if (tok == PVE_TOKEN_READ || !pve_client_target(c, tok)) {
		buf_reset(why);
		buf_addf(why, "refused: no %s token configured; nothing was sent",
			 tok == PVE_TOKEN_READ    ? "mutating"
			 : tok == PVE_TOKEN_DRILL ? "drill"
						  : "action");
		return PE_DENIED;
	}
	e = pve_client_call(c, tok, method, path, form, &mine, why);
	pve_audit(c, tok, method, path, form, "", e == PE_OK ? "ok" : buf_str(why));
	if (doc)
		*doc = mine;
	else
		cJSON_Delete(mine);
	return e;
}

enum perr pve_client_start_task(const struct pve_client *c, const char *path, const char *form, char *upid,
				size_t n, struct buf *why)
{
	return pve_client_start_task_as(c, PVE_TOKEN_ACTION, "POST", path, form, upid, n, why);
}

enum perr pve_client_start_task_as(const struct pve_client *c, enum pve_token tok, const char *method,
				   const char *path, const char *form, char *upid, size_t n, struct buf *why)
{
	struct pve_upid u;
	char msg[64];
	cJSON *doc;
	enum perr e;

	upid[0] = '\0';
	if (tok == PVE_TOKEN_READ) {
		buf_reset(why);
		buf_adds(why, "refused: the read token never mutates; nothing was sent");
		return PE_DENIED;
	}
	e = pve_client_call(c, tok, method, path, form, &doc, why);
	if (e == PE_OK) {
		const cJSON *d = pve_data(doc);
		const char *s = cJSON_IsString(d) ? d->valuestring : NULL;
		if (s && pve_upid_parse(s, &u, msg, sizeof(msg)) == PE_OK && strlen(s) < n) {
			snprintf(upid, n, "%s", s);
		} else {
			buf_addf(why, "PVE answered %s without a task: nothing was started",
				 s && strlen(s) < 40 && !strchr(s, '\n') ? s
				 : cJSON_IsNull(d)                       ? "null"
									 : "(no UPID)");
			e = PE_NOTFOUND;
		}
	}
	if (e != PE_DENIED || pve_client_has_token(c, tok)) /* nothing sent without the token */
		pve_audit(c, tok, method, path, form, upid, e == PE_OK ? "started" : buf_str(why));
	cJSON_Delete(doc);
	return e;
}

/* ---------------------------------------------------------------- following a task */

enum perr pve_task_init(struct pve_task *t, const char *upid, enum pve_token tok, struct buf *why)
{
	char msg[64];

	memset(t, 0, sizeof(*t));
	t->tok = tok;
	if (!upid || strlen(upid) >= sizeof(t->upid) ||
	    pve_upid_parse(upid, &t->u, msg, sizeof(msg)) != PE_OK) {
		buf_reset(why);
		buf_adds(why, "not a task id (UPID)");
		return PE_PARSE;
	}
	snprintf(t->upid, sizeof(t->upid), "%s", upid);
	return PE_OK;
}

int pve_task_ok(const struct pve_task *t)
{
	return t->stopped && pve_exitstatus_ok(t->exitstatus);
}

enum perr pve_client_task_status(const struct pve_client *c, struct pve_task *t, struct buf *why)
{
	char path[512];
	cJSON *doc;
	enum perr e;

	snprintf(path, sizeof(path), "/nodes/%s/tasks/%s/status", t->u.node, t->upid);
	if ((e = pve_client_call(c, t->tok, "GET", path, NULL, &doc, why)) != PE_OK)
		return e;
	const cJSON *d = pve_data(doc);
	const char *st = pve_json_str(d, "status");
	const char *exit = pve_json_str(d, "exitstatus");

	t->stopped = st && strcmp(st, "stopped") == 0;
	if (t->stopped)
		snprintf(t->exitstatus, sizeof(t->exitstatus), "%s", exit ? exit : "unexpected status");
	cJSON_Delete(doc);
	return PE_OK;
}

enum perr pve_client_task_log(const struct pve_client *c, struct pve_task *t, int limit,
			      void (*line)(void *ctx, const char *text), void *ctx, int *more,
			      struct buf *why)
{
	char path[512];
	const cJSON *it;
	cJSON *doc;
	long got = 0;
	enum perr e;

	*more = 0;
	snprintf(path, sizeof(path), "/nodes/%s/tasks/%s/log?start=%ld&limit=%d", t->u.node, t->upid,
		 t->logged, limit);
	if ((e = pve_client_call(c, t->tok, "GET", path, NULL, &doc, why)) != PE_OK)
		return e;
	cJSON_ArrayForEach(it, pve_data(doc))
	{
		const char *text = pve_json_str(it, "t");
		double num;
		if (!text || !pve_json_num(it, "n", &num) || num <= t->logged)
			continue;
		got++;
		if (line)
			line(ctx, text);
		t->logged = (long)num;
	}
	*more = got >= limit;
	cJSON_Delete(doc);
	return PE_OK;
}

/* Hands every log line written since the last call to the hook. */
static void pve_task_log_drain(const struct pve_client *c, struct pve_task *t, const struct pve_task_hooks *h,
			       struct buf *why)
{
	int more = 1;

	while (more && pve_client_task_log(c, t, PVE_TASK_LOG_PAGE, h->log_line, h->ctx, &more, why) == PE_OK)
		;
}

enum perr pve_client_task_wait(const struct pve_client *c, struct pve_task *t, double deadline,
			       double poll_interval, const struct pve_task_hooks *h, struct buf *why)
{
	static const struct pve_task_hooks none = {0};
	double started = clock_wall();
	int failures = 0;

	if (!h)
		h = &none;
	for (;;) {
		enum perr e = pve_client_task_status(c, t, why);
		failures = e != PE_OK ? failures + 1 : 0;
		if (failures >= PVE_POLL_ERRORS)
			break;
		if (h->log_line && e == PE_OK)
			pve_task_log_drain(c, t, h, why);
		if (e == PE_OK && t->stopped)
			return PE_OK;
		if (deadline > 0 && clock_wall() > deadline) {
			buf_reset(why);
			buf_addf(why, "the task has not ended after %.0fs", deadline - started);
			break;
		}
		if (h->tick)
			h->tick(h->ctx, t, started);
		clock_sleep(poll_interval);
	}
	return PE_TIMEOUT;
}

/* ---------------------------------------------------------------- paths */

char *pve_node_path(const char *node, const char *rest, const char *storage, const char *tail)
{
	struct buf b;

	buf_init(&b, 4096);
	buf_adds(&b, "/nodes/");
	fetch_urlencode(&b, node);
	buf_adds(&b, rest);
	if (storage) {
		fetch_urlencode(&b, storage);
		buf_adds(&b, tail);
	}
	if (buf_err(&b) != PE_OK) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b, NULL);
}
