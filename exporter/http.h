/* http.h - the HTTP server; the only libmicrohttpd user. */
#ifndef PE_HTTP_H
#define PE_HTTP_H

#include <stddef.h>
#include "buf.h"
#include "config.h"
#include "err.h"

/*
 * A response body owned by the handler: data stays valid until the server
 * calls release(owner), exactly once, when it no longer needs it.
 */
struct http_body {
	const char *data;
	size_t len;
	int gzipped;
	void (*release)(void *owner);
	void *owner;
};

/* What the daemon provides to the server; all called from server threads. */
struct http_handlers {
	void *ctx;
	/*
	 * The exposition for /metrics, handed over as ready bytes the handler
	 * keeps alive (a rendered-output cache). timeout comes from
	 * X-Prometheus-Scrape-Timeout-Seconds (0 if absent); gzip says the
	 * client accepts gzip, and the handler sets body->gzipped when the
	 * bytes are gzipped. PE_INVAL answers 400, other errors 500.
	 */
	enum perr (*metrics)(void *ctx, double timeout, const char *const *collect, size_t ncollect, int gzip,
			     struct http_body *body);
	enum perr (*status_html)(void *ctx, struct buf *out);
	enum perr (*status_json)(void *ctx, struct buf *out);
	int (*ready)(void *ctx);
	void (*reload)(void *ctx); /* POST /-/reload with --web.enable-lifecycle */
};

struct http_opts {
	const char *listen; /* ":9709", "127.0.0.1:0", "[::1]:9709" */
	const char *telemetry_path; /* "/metrics" */
	int enable_lifecycle;
	const struct web_config *web; /* NULL: plain HTTP, no auth */
	unsigned conn_limit; /* default 64 */
	unsigned conn_timeout; /* seconds, default 30 */
};

struct http_server;

/*
 * Starts the server (its own threads; one per connection, at most
 * conn_limit, half of them per client address). o and h are copied, web
 * too (users, headers); PEM files are read here. Returns PE_INVAL for a
 * bad listen address or telemetry path, PE_CONFIG for a web config it
 * cannot honour (non-bcrypt password, forbidden header, unknown
 * min_version/client_auth_type), PE_IO for an unreadable file, PE_TLS
 * when MHD will not start with TLS on (bad PEM, or a bind failure), PE_IO
 * when it cannot bind without TLS; msg says which. Handler errors answer 500 (PE_INVAL: 400) with
 * a fixed text; the error is logged, never sent.
 */
enum perr http_start(const struct http_opts *o, const struct http_handlers *h, struct http_server **out,
		     char *msg, size_t msglen) PE_WUR;
unsigned short http_port(const struct http_server *s); /* the bound port (useful with :0) */
void http_stop(struct http_server *s); /* takes NULL */

#endif
