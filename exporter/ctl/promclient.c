/* promclient.c - POSTs PromQL to /api/v1/query(_range) with the configured auth and TLS; explains failures. */
#include "promclient.h"
#include "buf.h"
#include "fetch.h"
#include "secret.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct prom_client {
	struct fetch_target *target;
	char *url;
	int have_auth;
};

/* Standard base64 of n bytes of in into out (NUL-terminated). */
static void prom_base64(const unsigned char *in, size_t n, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) |
			     (i + 2 < n ? in[i + 2] : 0);
		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		out[o++] = i + 1 < n ? a[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? a[v & 63] : '=';
	}
	out[o] = '\0';
}

/* The Authorization header for hc, if it has credentials. */
static enum perr prom_client_auth(struct prom_client *c, const struct http_client_config *hc)
{
	enum perr rc = PE_OK;
	if (hc && hc->username) {
		struct buf pair;
		buf_init(&pair, 0);
		buf_addf(&pair, "%s:%s", hc->username, hc->password ? hc->password : "");
		char *b64 = buf_err(&pair) ? NULL : malloc(pair.len / 3 * 4 + 5);
		if (b64) {
			prom_base64((const unsigned char *)pair.data, pair.len, b64);
			rc = fetch_target_set_auth(c->target, "Authorization: Basic ", b64, NULL);
			secret_free(b64);
		} else {
			rc = PE_NOMEM;
		}
		secret_buf_free(&pair);
	} else if (hc && hc->credentials) {
		rc = fetch_target_set_auth(c->target,
					   "Authorization: ", hc->auth_type ? hc->auth_type : "Bearer", " ",
					   hc->credentials, NULL);
	} else {
		return PE_OK;
	}
	c->have_auth = rc == PE_OK;
	return rc;
}

/* http(s)://authority[/path]: no userinfo, query or fragment. */
static int prom_url_ok(const char *url, char *msg, size_t msglen)
{
	const char *rest = NULL;
	if (strncasecmp(url, "http://", 7) == 0)
		rest = url + 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		rest = url + 8;
	if (!rest || !*rest || *rest == '/') {
		snprintf(msg, msglen, "--prometheus.url must be http://host[:port][/prefix] or https://...");
		return 0;
	}
	size_t host = strcspn(rest, "/");
	if (memchr(rest, '@', host)) {
		snprintf(msg, msglen,
			 "--prometheus.url must not hold credentials: put them in --prometheus.config.file "
			 "(basic_auth, authorization)");
		return 0;
	}
	if (strpbrk(url, "?# \t\r\n")) {
		snprintf(msg, msglen, "--prometheus.url must not have a query, a fragment or spaces");
		return 0;
	}
	return 1;
}

enum perr prom_client_new(const char *url, const struct http_client_config *hc, double timeout,
			  struct prom_client **out, char *msg, size_t msglen)
{
	struct prom_client *c = NULL;
	*out = NULL;
	if (!prom_url_ok(url, msg, msglen))
		return PE_INVAL;
	size_t n = strlen(url);
	while (n > 0 && url[n - 1] == '/')
		n--;
	struct fetch_target tmpl = {.timeout = timeout, .max_body = PROM_MAX_ANSWER};
	if (hc) {
		tmpl.ca_file = hc->ca_file;
		tmpl.insecure = hc->insecure_skip_verify;
		tmpl.cert_file = hc->cert_file;
		tmpl.key_file = hc->key_file;
	}
	if (!(c = calloc(1, sizeof(*c))) || !(c->url = strndup(url, n)) ||
	    !(c->target = fetch_target_new(&tmpl)) ||
	    fetch_target_set_url(c->target, c->url, NULL) != PE_OK || prom_client_auth(c, hc) != PE_OK) {
		prom_client_free(c);
		snprintf(msg, msglen, "out of memory");
		return PE_NOMEM;
	}
	*out = c;
	return PE_OK;
}

void prom_client_free(struct prom_client *c)
{
	if (!c)
		return;
	fetch_target_free(c->target);
	free(c->url);
	free(c);
}

const char *prom_client_url(const struct prom_client *c)
{
	return c->url;
}

/* Explains an HTTP answer that is not a Prometheus API document. */
static enum perr prom_explain_http(const struct prom_client *c, const char *path, const struct fetch_resp *r,
				   char *msg, size_t msglen)
{
	if (r->status == 401 || r->status == 403) {
		snprintf(msg, msglen, "%s%s: HTTP %ld: %s", c->url, path, r->status,
			 c->have_auth ? "the credentials of --prometheus.config.file were refused"
				      : "Prometheus (or a proxy in front of it) wants credentials: set "
					"basic_auth or "
					"authorization in --prometheus.config.file");
		return r->status == 401 ? PE_AUTH : PE_DENIED;
	}
	if (r->status == 404) {
		snprintf(msg, msglen,
			 "%s%s: HTTP 404: no Prometheus query API there (wrong --prometheus.url or path "
			 "prefix?)",
			 c->url, path);
		return PE_NOTFOUND;
	}
	snprintf(msg, msglen, "%s%s: HTTP %ld%s%s, not a Prometheus API answer", c->url, path, r->status,
		 r->content_type[0] ? " " : "", r->content_type);
	return PE_HTTP;
}

static enum perr prom_post(const struct prom_client *c, const char *path, const char *form,
			   struct prom_result *out, char *msg, size_t msglen)
{
	struct fetch_resp r;
	char why[200];
	fetch_resp_init(&r);
	enum perr rc = fetch_request(c->target, "POST", path, form, 0, &r);
	if (rc == PE_TOOBIG)
		snprintf(msg, msglen,
			 "%s%s: the answer is larger than %u MiB: narrow the report with --target or "
			 "--site, or use a larger --step",
			 c->url, path, PROM_MAX_ANSWER >> 20);
	else if (rc)
		snprintf(msg, msglen, "cannot query Prometheus at %s: %s", c->url, r.err);
	if (rc)
		goto out;
	rc = prom_parse_answer(r.body.data ? r.body.data : "", r.body.len, out, why, sizeof(why));
	if (rc == PE_PARSE || (rc == PE_OK && r.status != 200) || r.status == 401 || r.status == 403 ||
	    r.status == 404)
		rc = prom_explain_http(c, path, &r, msg, msglen);
	else if (rc)
		snprintf(msg, msglen, "Prometheus at %s refused the query: %s", c->url, why);
out:
	if (rc)
		prom_result_free(out);
	fetch_resp_free(&r);
	return rc;
}

enum perr prom_client_query(const struct prom_client *c, const char *expr, double t, struct prom_result *out,
			    char *msg, size_t msglen)
{
	struct buf form;
	buf_init(&form, 0);
	buf_adds(&form, "query=");
	fetch_urlencode(&form, expr);
	buf_addf(&form, "&time=%.3f", t);
	enum perr rc = buf_err(&form);
	if (!rc)
		rc = prom_post(c, "/api/v1/query", buf_str(&form), out, msg, msglen);
	else
		snprintf(msg, msglen, "out of memory");
	buf_free(&form);
	return rc;
}

enum perr prom_client_query_range(const struct prom_client *c, const char *expr, double start, double end,
				  double step, struct prom_result *out, char *msg, size_t msglen)
{
	struct buf form;
	buf_init(&form, 0);
	buf_adds(&form, "query=");
	fetch_urlencode(&form, expr);
	buf_addf(&form, "&start=%.3f&end=%.3f&step=%.3f", start, end, step);
	enum perr rc = buf_err(&form);
	if (!rc)
		rc = prom_post(c, "/api/v1/query_range", buf_str(&form), out, msg, msglen);
	else
		snprintf(msg, msglen, "out of memory");
	buf_free(&form);
	return rc;
}
