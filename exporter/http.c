/* http.c - the HTTP server: listening, routes, responses; the only libmicrohttpd user (rules in http_auth.c). */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "http_auth.h"
#include "http_parse.h"
#include "log.h"
#include "runbook.h"
#include "secret.h"

#define HTTP_REALM "persistence_exporter"
#define HTTP_METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define HTTP_TEXT_TYPE "text/plain; charset=utf-8"
#define HTTP_BODY_MAX (64u << 20) /* cap on a handler's response body */
#define HTTP_UPLOAD_MAX (64u << 10) /* request body bytes dropped before the connection is cut */
#define HTTP_CONN_MEMORY (32u << 10) /* per-connection pool: bounds request line + headers */

/* Methods a route accepts, as a bit set. */
enum { HTTP_M_GET = 1, HTTP_M_POST = 2 };

struct http_server;
struct http_route {
	const char *path; /* NULL: the telemetry path */
	unsigned methods;
	const char *allow; /* the Allow header for a 405 */
	int open; /* 1: no authentication (health checks, runbooks) */
	enum MHD_Result (*serve)(struct http_server *s, struct MHD_Connection *c, const char *uri);
	int prefix; /* 1: path is a prefix ("/runbooks/"), the rest of the URL is the handler's */
};

struct http_server {
	struct MHD_Daemon *daemon;
	struct http_handlers h;
	char *telemetry_path;
	int enable_lifecycle;
	struct http_auth *auth; /* basic-auth users */
	struct web_header *headers;
	size_t nheaders;
	enum http_client_auth client_auth;
};

/* ---- small helpers ---- */

static void http_msg(char *msg, size_t msglen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void http_msg(char *msg, size_t msglen, const char *fmt, ...)
{
	va_list ap;
	if (!msg || !msglen)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
}

/* ---- responses ---- */

/* Adds the configured headers and Content-Type, queues and releases resp. */
static enum MHD_Result http_queue(struct http_server *s, struct MHD_Connection *c, unsigned status,
				  struct MHD_Response *resp, const char *ctype)
{
	if (!resp)
		return MHD_NO;
	if (ctype)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	for (size_t i = 0; i < s->nheaders; i++)
		MHD_add_response_header(resp, s->headers[i].name, s->headers[i].value);
	enum MHD_Result r = status == MHD_HTTP_UNAUTHORIZED
				    ? MHD_queue_basic_auth_fail_response(c, HTTP_REALM, resp)
				    : MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return r;
}

static struct MHD_Response *http_static(const char *text)
{
	return MHD_create_response_from_buffer(strlen(text), (void *)(uintptr_t)text, MHD_RESPMEM_PERSISTENT);
}

static enum MHD_Result http_text(struct http_server *s, struct MHD_Connection *c, unsigned status,
				 const char *text)
{
	return http_queue(s, c, status, http_static(text), HTTP_TEXT_TYPE);
}

/* Hands a heap block to MHD, which free()s it; frees it here when MHD cannot take it. */
static struct MHD_Response *http_owned(char *data, size_t len)
{
	if (!data)
		return http_static("");
	struct MHD_Response *r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
	if (!r)
		free(data);
	return r;
}

/* A 200 with an owned body; encoding non-NULL marks a negotiated (/metrics) answer. */
static enum MHD_Result http_ok(struct http_server *s, struct MHD_Connection *c, char *data, size_t len,
			       const char *ctype, const char *encoding)
{
	struct MHD_Response *r = http_owned(data, len);
	if (r && encoding) {
		MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, MHD_HTTP_HEADER_ACCEPT_ENCODING);
		if (strcmp(encoding, "identity") != 0)
			MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, encoding);
	}
	return http_queue(s, c, MHD_HTTP_OK, r, ctype);
}

/* Answers a body-producing handler's result; errors become a short 500 (400 for PE_INVAL). */
static enum MHD_Result http_body(struct http_server *s, struct MHD_Connection *c, const char *what,
				 enum perr e, struct buf *out, const char *ctype, const char *encoding)
{
	if (!e)
		e = buf_err(out);
	if (e) {
		buf_free(out);
		log_warn("request failed", "route", what, "err", err_str(e));
		if (e == PE_INVAL)
			return http_text(s, c, MHD_HTTP_BAD_REQUEST, "Bad request.\n");
		return http_text(s, c, MHD_HTTP_INTERNAL_SERVER_ERROR,
				 "Internal error; see the exporter log.\n");
	}
	size_t len = out->len;
	return http_ok(s, c, buf_steal(out, NULL), len, ctype, encoding);
}

/* ---- routes ---- */

/* Releases a handler-owned body when MHD is done with it. */
static void http_body_release(void *cls)
{
	struct http_body *b = cls;
	if (b->release)
		b->release(b->owner);
	free(b);
}

/* Serves handler-owned bytes (the metrics handler's) without copying them. */
static enum MHD_Result http_serve_body(struct http_server *s, struct MHD_Connection *c, double timeout,
				       char **names, size_t n, int gz)
{
	struct http_body *b = calloc(1, sizeof(*b));
	if (!b)
		return MHD_NO;
	enum perr e = s->h.metrics(s->h.ctx, timeout, (const char *const *)names, n, gz, b);
	if (e) {
		http_body_release(b);
		struct buf none;
		buf_init(&none, 1);
		return http_body(s, c, "metrics", e, &none, HTTP_METRICS_TYPE, "identity");
	}
	struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback_cls(
		b->len, (void *)(uintptr_t)(b->data ? b->data : ""), http_body_release, b);
	if (!r) {
		http_body_release(b);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, MHD_HTTP_HEADER_ACCEPT_ENCODING);
	if (b->gzipped)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
	return http_queue(s, c, MHD_HTTP_OK, r, HTTP_METRICS_TYPE);
}

static enum MHD_Result http_serve_metrics(struct http_server *s, struct MHD_Connection *c, const char *uri)
{
	char *names[HTTP_COLLECT_MAX];
	char storage[HTTP_COLLECT_MAX * (HTTP_COLLECT_LEN + 1)];
	size_t n = http_parse_collect(uri ? uri : "", names, HTTP_COLLECT_MAX, storage, sizeof storage);
	double timeout = http_parse_timeout(
		MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Prometheus-Scrape-Timeout-Seconds"));
	int want_gz = http_parse_accepts_gzip(
		MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING));
	return http_serve_body(s, c, timeout, names, n, want_gz);
}

static enum MHD_Result http_serve_html(struct http_server *s, struct MHD_Connection *c, const char *uri)
{
	struct buf out;
	(void)uri;
	buf_init(&out, HTTP_BODY_MAX);
	enum perr e = s->h.status_html(s->h.ctx, &out);
	return http_body(s, c, "status_html", e, &out, "text/html; charset=utf-8", NULL);
}

static enum MHD_Result http_serve_json(struct http_server *s, struct MHD_Connection *c, const char *uri)
{
	struct buf out;
	(void)uri;
	buf_init(&out, HTTP_BODY_MAX);
	enum perr e = s->h.status_json(s->h.ctx, &out);
	return http_body(s, c, "status_json", e, &out, "application/json", NULL);
}

static enum MHD_Result http_serve_healthy(struct http_server *s, struct MHD_Connection *c, const char *uri)
{
	(void)uri;
	return http_text(s, c, MHD_HTTP_OK, "OK\n");
}

static enum MHD_Result http_serve_ready(struct http_server *s, struct MHD_Connection *c, const char *uri)
{
	(void)uri;
	if (s->h.ready && s->h.ready(s->h.ctx))
		return http_text(s, c, MHD_HTTP_OK, "OK\n");
	return http_text(s, c, MHD_HTTP_SERVICE_UNAVAILABLE, "Not ready.\n");
}

static enum MHD_Result http_serve_reload(struct http_server *s, struct MHD_Connection *c, const char *uri)
{
	(void)uri;
	if (!s->enable_lifecycle)
		return http_text(s, c, MHD_HTTP_FORBIDDEN,
				 "Lifecycle API is not enabled (start with --web.enable-lifecycle).\n");
	if (s->h.reload)
		s->h.reload(s->h.ctx);
	return http_text(s, c, MHD_HTTP_OK, "OK\n");
}

/*
 * /runbooks/ (the index) and /runbooks/<Alert>: pages compiled into the
 * binary, open like the health checks (no secret in them), so the link in
 * an alert opens for whoever receives the page.
 */
static enum MHD_Result http_serve_runbook(struct http_server *s, struct MHD_Connection *c, const char *uri)
{
	char name[128];
	const char *p = uri + strlen("/runbooks");
	size_t n = strcspn(p, "?#");
	if (n && *p == '/') {
		p++;
		n--;
	}
	if (n >= sizeof(name))
		return http_text(s, c, MHD_HTTP_NOT_FOUND, "No such runbook.\n");
	memcpy(name, p, n);
	name[n] = '\0';
	if (!n) {
		struct buf out;
		buf_init(&out, HTTP_BODY_MAX);
		return http_body(s, c, "runbooks", runbook_index(&out), &out, "text/html; charset=utf-8",
				 NULL);
	}
	const struct runbook *rb = runbook_find(name);
	if (!rb)
		return http_text(s, c, MHD_HTTP_NOT_FOUND, "No such runbook.\n");
	return http_queue(
		s, c, MHD_HTTP_OK,
		MHD_create_response_from_buffer(rb->len, (void *)(uintptr_t)rb->html, MHD_RESPMEM_PERSISTENT),
		"text/html; charset=utf-8");
}

static const struct http_route http_routes[] = {
	{NULL, HTTP_M_GET, "GET, HEAD", 0, http_serve_metrics},
	{"/", HTTP_M_GET, "GET, HEAD", 0, http_serve_html},
	{"/status", HTTP_M_GET, "GET, HEAD", 0, http_serve_json},
	{"/-/healthy", HTTP_M_GET, "GET, HEAD", 1, http_serve_healthy},
	{"/-/ready", HTTP_M_GET, "GET, HEAD", 0, http_serve_ready},
	{"/-/reload", HTTP_M_POST, "POST", 0, http_serve_reload},
	{"/runbooks", HTTP_M_GET, "GET, HEAD", 1, http_serve_runbook},
	{"/runbooks/", HTTP_M_GET, "GET, HEAD", 1, http_serve_runbook, 1},
};

static const struct http_route *http_route_find(const struct http_server *s, const char *url)
{
	for (size_t i = 0; i < sizeof http_routes / sizeof http_routes[0]; i++) {
		const char *p = http_routes[i].path ? http_routes[i].path : s->telemetry_path;
		if (strcmp(p, url) == 0 || (http_routes[i].prefix && strncmp(p, url, strlen(p)) == 0))
			return &http_routes[i];
	}
	return NULL;
}

static unsigned http_method_bit(const char *method)
{
	if (strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0)
		return HTTP_M_GET; /* MHD sends no body for HEAD */
	if (strcmp(method, MHD_HTTP_METHOD_POST) == 0)
		return HTTP_M_POST;
	return 0;
}

/* ---- access ---- */

/* Basic auth when users are configured; the password is wiped once checked. */
static int http_auth_ok(struct http_server *s, struct MHD_Connection *c)
{
	char *pass = NULL;
	char *user = MHD_basic_auth_get_username_password(c, &pass);
	int ok = http_auth_check(s->auth, user, pass);
	if (pass) {
		secret_wipe(pass, strlen(pass));
		MHD_free(pass);
	}
	if (user)
		MHD_free(user);
	return ok;
}

/* Enforces client_auth_type on a TLS connection (MHD requests the certificate when a CA is set). */
static int http_client_ok(const struct http_server *s, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		s->client_auth == HTTP_CA_NONE
			? NULL
			: MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	return http_client_cert_ok(s->client_auth, ci ? ci->tls_session : NULL);
}

/* Headers that frame or type the body cannot be overridden; CR/LF would split the response. */
static int http_header_allowed(const struct web_header *h)
{
	static const char *const fixed[] = {"Content-Type", "Content-Encoding", "Content-Length",
					    "Transfer-Encoding", "Connection"};
	if (!h->name || !h->value || !*h->name || strpbrk(h->name, "\r\n: \t") || strpbrk(h->value, "\r\n"))
		return 0;
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		if (strcasecmp(h->name, fixed[i]) == 0)
			return 0;
	return 1;
}

static enum perr http_setup_headers(struct http_server *s, const struct web_config *w, char *msg,
				    size_t msglen)
{
	if (w->nheaders == 0)
		return PE_OK;
	s->headers = calloc(w->nheaders, sizeof *s->headers);
	if (!s->headers)
		return PE_NOMEM;
	for (size_t i = 0; i < w->nheaders; i++) {
		if (!http_header_allowed(&w->headers[i])) {
			http_msg(msg, msglen,
				 "http_server_config.headers: header \"%s\" can not be configured",
				 w->headers[i].name ? w->headers[i].name : "");
			return PE_CONFIG;
		}
		s->headers[i].name = strdup(w->headers[i].name);
		s->headers[i].value = strdup(w->headers[i].value);
		s->nheaders = i + 1;
		if (!s->headers[i].name || !s->headers[i].value)
			return PE_NOMEM;
	}
	return PE_OK;
}

/* ---- MHD callbacks ---- */

/* Per-request state, made in http_on_uri and freed in http_on_done. */
struct http_req {
	int started;
	size_t body; /* bytes of request body dropped so far */
	char uri[]; /* raw URI with its query string */
};

/*
 * The first call only marks the request as started; a body (no route
 * uses one) is read and dropped, up to HTTP_UPLOAD_MAX; the answer goes
 * out on the last call. Answering on the first call would make MHD close
 * every connection, losing keep-alive for Prometheus.
 */
static enum MHD_Result http_on_request(void *cls, struct MHD_Connection *c, const char *url,
				       const char *method, const char *version, const char *upload,
				       size_t *upload_size, void **con_cls)
{
	struct http_server *s = cls;
	struct http_req *rq = *con_cls;
	(void)version;
	(void)upload;
	if (!rq)
		return MHD_NO; /* out of memory in http_on_uri: drop the connection */
	if (!rq->started) {
		rq->started = 1;
		return MHD_YES;
	}
	if (*upload_size) {
		rq->body += *upload_size;
		*upload_size = 0;
		return rq->body > HTTP_UPLOAD_MAX ? MHD_NO : MHD_YES;
	}
	const struct http_route *rt = http_route_find(s, url);
	if (!http_client_ok(s, c)) /* TLS-level: every route, like a refused handshake */
		return http_text(s, c, MHD_HTTP_FORBIDDEN, "A valid client certificate is required.\n");
	if ((!rt || !rt->open) && !http_auth_ok(s, c))
		return http_text(s, c, MHD_HTTP_UNAUTHORIZED, "Unauthorized.\n");
	if (!rt)
		return http_text(s, c, MHD_HTTP_NOT_FOUND, "Not found.\n");
	if (!(http_method_bit(method) & rt->methods)) {
		struct MHD_Response *r = http_static("Method not allowed.\n");
		if (r)
			MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, rt->allow);
		return http_queue(s, c, MHD_HTTP_METHOD_NOT_ALLOWED, r, HTTP_TEXT_TYPE);
	}
	if ((rt->serve == http_serve_html && !s->h.status_html) ||
	    (rt->serve == http_serve_json && !s->h.status_json) ||
	    (rt->serve == http_serve_metrics && !s->h.metrics))
		return http_text(s, c, MHD_HTTP_NOT_FOUND, "Not found.\n");
	return rt->serve(s, c, rq->uri);
}

/* Keeps the raw URI (with its query) for collect[] parsing; freed in http_on_done. */
static void *http_on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	size_t n = strlen(uri);
	struct http_req *rq = malloc(sizeof *rq + n + 1);
	(void)cls;
	(void)c;
	if (rq) {
		rq->started = 0;
		rq->body = 0;
		memcpy(rq->uri, uri, n + 1);
	}
	return rq;
}

static void http_on_done(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode t)
{
	(void)cls;
	(void)c;
	(void)t;
	free(*con_cls);
	*con_cls = NULL;
}

static void http_on_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void http_on_log(void *cls, const char *fmt, va_list ap)
{
	char line[256];
	(void)cls;
	if (!log_enabled(LOG_LVL_DEBUG))
		return;
	vsnprintf(line, sizeof line, fmt, ap);
	line[strcspn(line, "\r\n")] = '\0';
	log_debug("libmicrohttpd", "msg", line);
}

/* ---- listen address ---- */

static enum perr http_parse_port(const char *p, unsigned short *port)
{
	size_t n = strlen(p);
	if (n == 0 || n > 5 || strspn(p, "0123456789") != n)
		return PE_INVAL;
	unsigned long v = strtoul(p, NULL, 10);
	if (v > 65535)
		return PE_INVAL;
	*port = (unsigned short)v;
	return PE_OK;
}

/* Resolves a host name (e.g. "localhost"), preferring IPv4 as Go's net.Listen does. */
static enum perr http_resolve(const char *host, unsigned short port, struct sockaddr_storage *ss)
{
	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
		return PE_INVAL;
	const struct addrinfo *pick = res;
	for (const struct addrinfo *a = res; a; a = a->ai_next)
		if (a->ai_family == AF_INET) {
			pick = a;
			break;
		}
	memcpy(ss, pick->ai_addr, pick->ai_addrlen);
	freeaddrinfo(res);
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
	else
		return PE_INVAL;
	return PE_OK;
}

/*
 * Parses "host:port", "[v6]:port" or ":port" into ss. An empty host
 * leaves ss_family AF_UNSPEC: listen on every address.
 */
static enum perr http_parse_listen(const char *listen, struct sockaddr_storage *ss, char *msg, size_t msglen)
{
	char host[256];
	unsigned short port;
	const char *colon = listen ? strrchr(listen, ':') : NULL;
	memset(ss, 0, sizeof *ss);
	size_t hlen = colon ? (size_t)(colon - listen) : 0;
	if (!colon || hlen >= sizeof host || http_parse_port(colon + 1, &port) != PE_OK)
		goto bad;
	memcpy(host, listen, hlen);
	host[hlen] = '\0';
	if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		host[hlen - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
			goto bad;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		return PE_OK;
	}
	if (hlen == 0) {
		((struct sockaddr_in *)ss)->sin_port = htons(port); /* family stays AF_UNSPEC */
		return PE_OK;
	}
	if (strpbrk(host, ":[]") || http_resolve(host, port, ss) != PE_OK)
		goto bad;
	return PE_OK;
bad:
	http_msg(msg, msglen, "invalid listen address \"%s\" (want host:port, [ipv6]:port or :port)",
		 listen ? listen : "");
	return PE_INVAL;
}

/* ---- start / stop ---- */

/* Starts MHD on ss; flags add TLS/IPv6 bits to the common ones. */
static struct MHD_Daemon *http_daemon(struct http_server *s, const struct http_opts *o, unsigned flags,
				      const struct sockaddr_storage *ss, const struct http_tls *t)
{
	unsigned limit = o->conn_limit ? o->conn_limit : 64;
	unsigned per_ip = limit / 2 > 1 ? limit / 2 : 1;
	struct MHD_OptionItem tls[] = {
		{MHD_OPTION_HTTPS_MEM_CERT, 0, t->cert},
		{MHD_OPTION_HTTPS_MEM_KEY, 0, t->key},
		{MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)(uintptr_t)t->priorities},
		{t->ca ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, 0, t->ca},
		{MHD_OPTION_END, 0, NULL},
	};
	/*
	 * One thread per connection (bounded by conn_limit): a scrape that
	 * waits on a slow upstream blocks only its own connection, so
	 * /-/healthy and other scrapers are served meanwhile. A fixed pool
	 * would be exhausted by a few slow scrapes or slowloris clients.
	 * One address may hold at most half the slots, and idle connections
	 * are closed after conn_timeout, so a slow client cannot starve
	 * Prometheus.
	 */
	flags |= MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;
	return MHD_start_daemon(flags, 0, NULL, NULL, http_on_request, s, MHD_OPTION_EXTERNAL_LOGGER,
				http_on_log, s, MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)ss,
				MHD_OPTION_CONNECTION_LIMIT, limit, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
				per_ip, MHD_OPTION_CONNECTION_TIMEOUT,
				o->conn_timeout ? o->conn_timeout : 30u, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
				(size_t)HTTP_CONN_MEMORY, MHD_OPTION_URI_LOG_CALLBACK, http_on_uri, s,
				MHD_OPTION_NOTIFY_COMPLETED, http_on_done, s, MHD_OPTION_ARRAY,
				t->cert ? tls : tls + 4, MHD_OPTION_END);
}

/* Binds: an empty host tries dual-stack [::] first and falls back to 0.0.0.0. */
static enum perr http_listen(struct http_server *s, const struct http_opts *o, struct sockaddr_storage *ss,
			     const struct http_tls *t, char *msg, size_t msglen)
{
	unsigned tlsflag = t->cert ? MHD_USE_TLS : 0;
	if (ss->ss_family == AF_UNSPEC) {
		struct sockaddr_in6 any6;
		memset(&any6, 0, sizeof any6);
		any6.sin6_family = AF_INET6;
		any6.sin6_addr = in6addr_any;
		any6.sin6_port = ((struct sockaddr_in *)ss)->sin_port;
		struct sockaddr_storage ss6;
		memcpy(&ss6, &any6, sizeof any6);
		s->daemon = http_daemon(s, o, tlsflag | MHD_USE_DUAL_STACK, &ss6, t);
		ss->ss_family = AF_INET; /* sin_port is already set; the address is INADDR_ANY */
	}
	if (!s->daemon)
		s->daemon =
			http_daemon(s, o, tlsflag | (ss->ss_family == AF_INET6 ? MHD_USE_IPv6 : 0), ss, t);
	if (!s->daemon) {
		http_msg(msg, msglen, "cannot listen on %s: %s", o->listen,
			 errno ? strerror(errno) : "failed");
		return t->cert ? PE_TLS : PE_IO;
	}
	return PE_OK;
}

static enum perr http_setup(struct http_server *s, const struct http_opts *o, struct http_tls *t, char *msg,
			    size_t msglen)
{
	enum perr e;
	const char *tp = o->telemetry_path ? o->telemetry_path : "/metrics";
	if (tp[0] != '/' || strchr(tp, '?')) {
		http_msg(msg, msglen, "telemetry path must start with '/': \"%s\"", tp);
		return PE_INVAL;
	}
	s->telemetry_path = strdup(tp);
	if (!s->telemetry_path)
		return PE_NOMEM;
	if ((e = http_auth_new(o->web, &s->auth, msg, msglen)) != PE_OK)
		return e;
	if (!o->web)
		return PE_OK;
	if ((e = http_setup_headers(s, o->web, msg, msglen)))
		return e;
	if (o->web->cert_file && (e = http_tls_load(o->web, t, msg, msglen)))
		return e;
	s->client_auth = t->client_auth;
	if (!o->web->cert_file && (o->web->client_ca_file || o->web->key_file)) {
		http_msg(msg, msglen, "tls_server_config: key_file/client_ca_file need cert_file");
		return PE_CONFIG;
	}
	return PE_OK;
}

enum perr http_start(const struct http_opts *o, const struct http_handlers *h, struct http_server **out,
		     char *msg, size_t msglen)
{
	struct sockaddr_storage ss;
	struct http_tls tls;
	enum perr e;
	*out = NULL;
	memset(&tls, 0, sizeof tls);
	struct http_server *s = calloc(1, sizeof *s);
	if (!s)
		return PE_NOMEM;
	s->h = *h;
	s->enable_lifecycle = o->enable_lifecycle;
	if ((e = http_parse_listen(o->listen, &ss, msg, msglen)) || (e = http_setup(s, o, &tls, msg, msglen)))
		goto out;
	errno = 0;
	if ((e = http_listen(s, o, &ss, &tls, msg, msglen)))
		goto out;
	*out = s;
out:
	http_tls_clear(&tls);
	if (e == PE_NOMEM)
		http_msg(msg, msglen, "out of memory starting the HTTP server");
	if (e)
		http_stop(s);
	return e;
}

unsigned short http_port(const struct http_server *s)
{
	const union MHD_DaemonInfo *di;
	if (!s || !s->daemon)
		return 0;
	di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	return di ? di->port : 0;
}

void http_stop(struct http_server *s)
{
	if (!s)
		return;
	if (s->daemon)
		MHD_stop_daemon(s->daemon);
	http_auth_free(s->auth);
	for (size_t i = 0; i < s->nheaders; i++) {
		free(s->headers[i].name);
		free(s->headers[i].value);
	}
	free(s->headers);
	free(s->telemetry_path);
	free(s);
}
