/* fetch.h - the upstream HTTP client; the only libcurl user. */
#ifndef PE_FETCH_H
#define PE_FETCH_H

#include <stddef.h>
#include "buf.h"
#include "err.h"

/*
 * How to reach one upstream. All strings are borrowed. TLS trust, the
 * strictest configured check winning: fingerprint (leaf pinned during the
 * handshake, CA chain and host name not checked), else ca_file as the only
 * trust anchor, else insecure, else the system store; peer and host name
 * are verified except with a fingerprint or insecure. Proxies from the
 * environment are ignored. Only http and https URLs are accepted.
 */
struct fetch_target {
	const char *base_url; /* "https://pve:8006/api2/json"; with unix_socket: "http://localhost" */
	const char *unix_socket; /* NULL, or a unix socket path (Docker) */
	const char *ca_file; /* NULL: system store */
	const char *fingerprint; /* "AB:CD:.." SHA-256 of the leaf cert; replaces CA verification */
	int insecure; /* 1: no verification at all (explicit opt-in) */
	const char *cert_file; /* NULL, or a PEM client certificate sent to the server (with key_file) */
	const char *key_file; /* its PEM private key */
	const char *
		auth_header; /* one full header line, e.g. "Authorization: PVEAPIToken=..."; secret, never logged */
	double timeout; /* seconds for the whole exchange */
	size_t max_body; /* response cap in bytes; 0 = 16 MiB */
};

/*
 * The one constructor of a target that owns its strings: a deep copy of
 * tmpl (whose strings are borrowed). NULL when out of memory. Free it with
 * fetch_target_free(), which wipes the auth header; only targets made here
 * may be passed to it.
 */
struct fetch_target *fetch_target_new(const struct fetch_target *tmpl);
/* Sets base_url to the concatenation of the NULL-terminated parts. PE_NOMEM leaves it unchanged. */
enum perr fetch_target_set_url(struct fetch_target *t, ...) __attribute__((sentinel)) PE_WUR;
/* Sets the auth header line to the concatenation of the parts (secrets among them); the old one is wiped. */
enum perr fetch_target_set_auth(struct fetch_target *t, ...) __attribute__((sentinel)) PE_WUR;
void fetch_target_free(struct fetch_target *t); /* takes NULL */

struct fetch_resp {
	long status; /* HTTP status, 0 when no response */
	struct buf body;
	char content_type[128]; /* "" when absent */
	char err[256]; /* human-readable reason on failure; never holds secrets */
};

/* Once per process, before threads start. */
enum perr fetch_global_init(void) PE_WUR;
void fetch_global_cleanup(void);
/*
 * Shutdown: every transfer in progress ends at its next progress check (at
 * least once a second, handshakes and name lookups included) and every later
 * one at once, with PE_IO "stopped: shutting down". Irreversible.
 */
void fetch_stop_all(void);

void fetch_resp_init(struct fetch_resp *r);
void fetch_resp_free(struct fetch_resp *r);

/*
 * One request: method "GET", "POST", "PUT" or "DELETE", path appended to
 * base_url (it must start with '/' and carry its own query string; DELETE
 * parameters go there), form_body for POST and PUT as
 * application/x-www-form-urlencoded (may be NULL). timeout, if
 * > 0, overrides t->timeout when smaller. Redirects are not followed.
 * Returns PE_OK whenever an HTTP response arrived (any status: see
 * r->status); PE_TIMEOUT, PE_TOOBIG, PE_TLS, PE_CONNECT otherwise,
 * with r->err set (also PE_INVAL for bad arguments or a non-http(s) URL,
 * PE_IO for a broken exchange, PE_NOMEM). On failure r->body is empty
 * and r->status 0. r may be reused: each call resets it. Thread-safe:
 * one libcurl handle per call, no shared state. The caller should ignore
 * SIGPIPE (libcurl runs with CURLOPT_NOSIGNAL).
 */
enum perr fetch_request(const struct fetch_target *t, const char *method, const char *path,
			const char *form_body, double timeout, struct fetch_resp *r) PE_WUR;

/* Where fetch_request_stream() hands a 2xx body, chunk by chunk, as it arrives. */
struct fetch_stream {
	void (*chunk)(void *ctx, const char *data, size_t len);
	void *ctx;
};

/*
 * fetch_request(), except that a 2xx body is not kept: it goes to stream
 * (when not NULL) as it arrives, in order, and r->body stays empty; the
 * cap (max_body) still applies to its length. Other statuses keep their
 * body in r as usual. r->status and r->content_type are set before the
 * first chunk. A transfer that breaks after some chunks returns its error:
 * the stream's consumer must then discard what it got.
 */
enum perr fetch_request_stream(const struct fetch_target *t, const char *method, const char *path,
			       const char *form_body, double timeout, const struct fetch_stream *stream,
			       struct fetch_resp *r) PE_WUR;

/* Percent-encodes s for a query or form value into out. */
void fetch_urlencode(struct buf *out, const char *s);

#endif
