/* collect.c - what a collector task sees: its source, its output, upstream answers, facts, warnings. */
#include "collect.h"
#include "collect_task.h"
#include "jsonwalk.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "clock.h"

/* What only the framework touches. */
struct collect_private {
	const struct collect_env *env;
	double fetch_end; /* monotonic time upstream waits give up */
	struct cJSON **docs;
	size_t ndocs, capdocs;
	struct upcache_hold **held; /* cached answers in use */
	size_t nheld, capheld;
};

enum perr collect_task_init(struct collect *c, const struct collect_env *env, const struct config *cfg,
			    size_t index, const char *source, double fetch_end)
{
	memset(c, 0, sizeof(*c));
	c->cfg = cfg;
	c->index = index;
	c->source = source;
	c->out = expfmt_new(0);
	c->priv = calloc(1, sizeof(*c->priv));
	if (!c->out || !c->priv) {
		collect_task_free(c);
		return PE_NOMEM;
	}
	c->priv->env = env;
	c->priv->fetch_end = fetch_end;
	return PE_OK;
}

void collect_task_release(struct collect *c)
{
	struct collect_private *p = c->priv;

	if (!p)
		return;
	for (size_t i = 0; i < p->ndocs; i++)
		cJSON_Delete(p->docs[i]);
	free(p->docs);
	p->docs = NULL;
	p->ndocs = p->capdocs = 0;
	for (size_t i = 0; i < p->nheld; i++)
		upcache_release(p->env->cache, p->held[i]);
	free(p->held);
	p->held = NULL;
	p->nheld = p->capheld = 0;
}

void collect_task_free(struct collect *c)
{
	collect_task_release(c);
	free(c->priv);
	c->priv = NULL;
	expfmt_free(c->out);
	c->out = NULL;
}

/* ---------- outcomes and warnings ---------- */

void collect_fail(struct collect *c, const char *fmt, ...)
{
	if (c->err[0])
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
}

enum log_level collect_warn_level(struct collect *c, const char *key)
{
	return ratelimit_due(c->priv->env->limits, key, RATELIMIT_WARN_EVERY) ? LOG_LVL_WARN : LOG_LVL_DEBUG;
}

int collect_once(struct collect *c, const char *key)
{
	return ratelimit_due(c->priv->env->limits, key, INFINITY);
}

void collect_warn_kv(struct collect *c, const char *msg, ...)
{
	va_list ap, keys;
	struct buf key;
	buf_init(&key, 4096);
	buf_addf(&key, "%s\x1f%s", c->source ? c->source : "", msg);
	va_start(ap, msg);
	va_copy(keys, ap);
	for (const char *k; (k = va_arg(keys, const char *)) != NULL;) {
		const char *v = va_arg(keys, const char *);
		buf_addf(&key, "\x1f%s=%s", k, v ? v : "");
	}
	va_end(keys);
	/* an over-long key cannot be remembered: warn rather than go quiet */
	enum log_level level = buf_err(&key) ? LOG_LVL_WARN : collect_warn_level(c, buf_str(&key));
	log_kvv(level, msg, ap);
	va_end(ap);
	buf_free(&key);
}

/* ---------- the scrape's clock, probes and facts ---------- */

double collect_now(const struct collect *c)
{
	return c->priv->env->now;
}

double collect_remaining(const struct collect *c)
{
	double r = c->priv->env->deadline - clock_mono();
	return r > 0 ? r : 0;
}

struct probe_pool *collect_probes(struct collect *c)
{
	return c->priv->env->probes;
}

struct lastknown *collect_memory(struct collect *c)
{
	return c->priv->env->memory;
}

struct facts *collect_facts(struct collect *c)
{
	return c->priv->env->facts;
}

void collect_fact_set(struct collect *c, const char *kind, const char *source, const char *key, double v,
		      const char *str)
{
	facts_set(c->priv->env->facts, kind, source, key, v, str);
}

int collect_fact_get(struct collect *c, const char *kind, const char *source, const char *key, double *v,
		     const char **str)
{
	return facts_get(c->priv->env->facts, kind, source, key, v, str);
}

void collect_fact_each(struct collect *c, const char *kind, const char *source, const char *prefix,
		       void (*cb)(void *ctx, const char *key, double v, const char *str), void *ctx)
{
	facts_each(c->priv->env->facts, kind, source, prefix, cb, ctx);
}

void collect_attach(struct collect *c, const char *name, void *p, void (*free_fn)(void *))
{
	facts_attach(c->priv->env->facts, name, p, free_fn);
}

/* ---------- upstream answers ---------- */

static int collect_hold(struct collect *c, struct upcache_hold *h)
{
	struct collect_private *p = c->priv;

	if (p->nheld == p->capheld) {
		size_t ncap = p->capheld ? p->capheld * 2 : 8;
		struct upcache_hold **n = realloc(p->held, ncap * sizeof(*n));
		if (!n)
			return 0;
		p->held = n;
		p->capheld = ncap;
	}
	p->held[p->nheld++] = h;
	return 1;
}

static enum perr status_to_err(long status)
{
	if (status >= 200 && status < 300)
		return PE_OK;
	switch (status) {
	case 401:
		return PE_AUTH;
	case 403:
		return PE_DENIED;
	case 404:
		return PE_NOTFOUND;
	default:
		return PE_HTTP;
	}
}

/* Appends a short, printable excerpt of an upstream error's "message" (PVE and n8n both send one). */
static void describe_error_body(const struct fetch_resp *r, char *out, size_t n)
{
	out[0] = '\0';
	cJSON *doc = cJSON_ParseWithLength(buf_str(&r->body), r->body.len);
	const cJSON *m = doc ? cJSON_GetObjectItemCaseSensitive(doc, "message") : NULL;
	if (cJSON_IsString(m)) {
		size_t j = 0;
		out[j++] = ':';
		out[j++] = ' ';
		for (const char *p = m->valuestring; *p && j + 1 < n && j < 160; p++)
			out[j++] = (*p >= 0x20 && *p < 0x7f) ? *p : ' ';
		while (j > 2 && out[j - 1] == ' ')
			j--;
		out[j] = '\0';
	}
	cJSON_Delete(doc);
}

/* How this task may be answered: the configured ttl and staleness, its deadline, its scrape's own answers. */
static struct upcache_policy collect_policy(const struct collect *c, int fresh,
					    const struct upcache_parser *parser)
{
	const struct config_global *g = &c->cfg->global;

	return (struct upcache_policy){g->cache_ttl,       g->max_staleness, fresh,
				       c->priv->fetch_end, parser,           c->priv->env->start};
}

/* The cache key of a request: source, target, path, and whether a parser keeps only its result. */
static void collect_key(const struct collect *c, const struct fetch_target *t, const char *path,
			const struct upcache_parser *parser, struct buf *key)
{
	buf_init(key, 8192);
	buf_addf(key, "%s\x1f%s\x1f%s\x1f%s%s", c->source ? c->source : "", t->base_url ? t->base_url : "",
		 t->unix_socket ? t->unix_socket : "", path, parser ? "\x1fparsed" : "");
}

void collect_prefetch(struct collect *c, const struct fetch_target *t, const char *path,
		      const struct upcache_parser *parser)
{
	struct upcache_policy pol = collect_policy(c, 0, parser);
	struct buf key;

	collect_key(c, t, path, parser, &key);
	if (buf_err(&key) == PE_OK)
		upcache_prefetch(c->priv->env->cache, buf_str(&key), t, path, &pol);
	buf_free(&key);
}

int collect_wait_any(struct collect *c, const struct fetch_target *t, const char *const *paths, size_t n)
{
	struct buf *keys = calloc(n ? n : 1, sizeof(*keys));
	const char **k = calloc(n ? n : 1, sizeof(*k));
	int hit = n ? 0 : -1; /* out of memory: the caller goes on with the first */

	if (keys && k) {
		for (size_t i = 0; i < n; i++) {
			collect_key(c, t, paths[i], NULL, &keys[i]);
			k[i] = buf_err(&keys[i]) == PE_OK ? buf_str(&keys[i]) : "";
		}
		hit = upcache_wait_any(c->priv->env->cache, k, n, c->priv->fetch_end);
	}
	for (size_t i = 0; keys && i < n; i++)
		buf_free(&keys[i]);
	free(keys);
	free(k);
	return hit;
}

/* One cached answer for path (the parser's result when parser is set); held by the task until it ends. */
static enum perr collect_fetch(struct collect *c, const struct fetch_target *t, const char *path, int fresh,
			       const struct upcache_parser *parser, struct upcache_hold **out, char *msg,
			       size_t msglen)
{
	struct upcache_policy pol = collect_policy(c, fresh, parser);
	struct buf key;
	enum perr rc;

	*out = NULL;
	collect_key(c, t, path, parser, &key);
	rc = buf_err(&key);
	if (rc == PE_OK)
		rc = upcache_get(c->priv->env->cache, buf_str(&key), t, path, &pol, out, msg, msglen);
	buf_free(&key);
	if (rc == PE_OK && !collect_hold(c, *out)) {
		upcache_release(c->priv->env->cache, *out);
		*out = NULL;
		rc = PE_NOMEM;
	}
	return rc;
}

/* collect_fetch() and the HTTP status as an error with a one-line reason. */
static enum perr collect_get_mode(struct collect *c, const struct fetch_target *t, const char *path,
				  int fresh, const struct upcache_parser *parser,
				  const struct fetch_resp **resp, struct upcache_hold **hold, char *msg,
				  size_t msglen)
{
	struct upcache_hold *h = NULL;
	enum perr rc;

	msg[0] = '\0';
	*resp = NULL;
	rc = collect_fetch(c, t, path, fresh, parser, &h, msg, msglen);
	if (rc != PE_OK) {
		if (!msg[0])
			snprintf(msg, msglen, "GET %s: %s", path, err_str(rc));
		return rc;
	}
	if (hold)
		*hold = h;
	*resp = upcache_resp(h);
	rc = status_to_err((*resp)->status);
	if (rc != PE_OK) {
		char detail[200];
		describe_error_body(*resp, detail, sizeof(detail));
		snprintf(msg, msglen, "GET %s: HTTP %ld%s", path, (*resp)->status, detail);
	}
	return rc;
}

enum perr collect_get(struct collect *c, const struct fetch_target *t, const char *path,
		      const struct fetch_resp **resp, char *msg, size_t msglen)
{
	return collect_get_mode(c, t, path, 0, NULL, resp, NULL, msg, msglen);
}

enum perr collect_get_fresh(struct collect *c, const struct fetch_target *t, const char *path,
			    const struct fetch_resp **resp, char *msg, size_t msglen)
{
	return collect_get_mode(c, t, path, 1, NULL, resp, NULL, msg, msglen);
}

void collect_release_resp(struct collect *c, const struct fetch_resp *resp)
{
	struct collect_private *p = c->priv;

	for (size_t i = 0; i < p->nheld; i++) {
		if (upcache_resp(p->held[i]) == resp) {
			struct upcache_hold *h = p->held[i];
			p->held[i] = p->held[--p->nheld];
			upcache_release(p->env->cache, h);
			return;
		}
	}
}

void collect_release_body(struct collect *c, const char *body)
{
	struct collect_private *p = c->priv;

	for (size_t i = 0; body && i < p->nheld; i++)
		if (upcache_resp(p->held[i])->body.data == body) {
			collect_release_resp(c, upcache_resp(p->held[i]));
			return;
		}
}

static int looks_like_html(const struct fetch_resp *r)
{
	const char *p = buf_str(&r->body);
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	return *p == '<' || strstr(r->content_type, "html") != NULL;
}

/* A 2xx body that should be JSON: PE_PARSE with a reason when it is empty or HTML. */
static enum perr body_check(const struct fetch_resp *r, const char *path, char *msg, size_t msglen)
{
	if (r->body.len == 0) {
		snprintf(msg, msglen, "GET %s: empty body where JSON was expected", path);
		return PE_PARSE;
	}
	if (looks_like_html(r)) {
		snprintf(msg, msglen, "GET %s: HTML instead of JSON (service starting or wrong URL?)", path);
		return PE_PARSE;
	}
	return PE_OK;
}

enum perr collect_get_body(struct collect *c, const struct fetch_target *t, const char *path,
			   const char **body, size_t *len, char *msg, size_t msglen)
{
	const struct fetch_resp *r;
	enum perr rc = collect_get(c, t, path, &r, msg, msglen);

	*body = NULL;
	*len = 0;
	if (rc != PE_OK) {
		if (r && looks_like_html(r)) {
			size_t l = strlen(msg);
			snprintf(msg + l, msglen - l, " (HTML body)");
		}
		return rc;
	}
	if ((rc = body_check(r, path, msg, msglen)) != PE_OK)
		return rc;
	*body = r->body.data;
	*len = r->body.len;
	return PE_OK;
}

enum perr collect_get_json(struct collect *c, const struct fetch_target *t, const char *path,
			   struct cJSON **doc, char *msg, size_t msglen)
{
	struct collect_private *p = c->priv;
	const char *body, *end = NULL;
	size_t len;

	*doc = NULL;
	enum perr rc = collect_get_body(c, t, path, &body, &len, msg, msglen);
	if (rc != PE_OK)
		return rc;
	cJSON *j = cJSON_ParseWithLengthOpts(body, len, &end, 0);
	if (!j) {
		size_t off = end ? (size_t)(end - body) : 0;
		snprintf(msg, msglen, "GET %s: invalid or truncated JSON near byte %zu of %zu", path, off,
			 len);
		return PE_PARSE;
	}
	if (p->ndocs == p->capdocs) {
		size_t ncap = p->capdocs ? p->capdocs * 2 : 8;
		cJSON **n = realloc(p->docs, ncap * sizeof(*n));
		if (!n) {
			cJSON_Delete(j);
			return PE_NOMEM;
		}
		p->docs = n;
		p->capdocs = ncap;
	}
	p->docs[p->ndocs++] = j;
	*doc = j;
	return PE_OK;
}

enum perr collect_get_json_each(struct collect *c, const struct fetch_target *t, const char *path,
				const char *member, void (*cb)(void *ctx, const cJSON *item), void *ctx,
				char *msg, size_t msglen)
{
	const char *body;
	size_t len;
	char why[200];
	enum perr rc = collect_get_body(c, t, path, &body, &len, msg, msglen);

	if (rc != PE_OK)
		return rc;
	rc = jsonwalk_each(body, len, member, cb, ctx, why, sizeof(why));
	if (rc != PE_OK)
		snprintf(msg, msglen, "GET %s: %s", path, why);
	return rc;
}

enum perr collect_get_parsed(struct collect *c, const struct fetch_target *t, const char *path,
			     const struct upcache_parser *parser, const void **result, char *msg,
			     size_t msglen)
{
	const struct fetch_resp *r;
	struct upcache_hold *h = NULL;
	const char *why;
	enum perr rc = collect_get_mode(c, t, path, 0, parser, &r, &h, msg, msglen);

	*result = NULL;
	if (rc != PE_OK) {
		if (r && looks_like_html(r)) {
			size_t l = strlen(msg);
			snprintf(msg + l, msglen - l, " (HTML body)");
		}
		return rc;
	}
	rc = upcache_parsed(h, result, &why);
	if (rc != PE_OK)
		snprintf(msg, msglen, "GET %s: %s", path, why);
	return rc;
}
