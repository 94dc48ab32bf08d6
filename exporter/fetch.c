/* fetch.c - the upstream HTTP client; the only libcurl user. */
#include "fetch.h"
#include "secret.h"
#include "version.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define FETCH_DEFAULT_MAX_BODY ((size_t)16 << 20)
#define FETCH_DEFAULT_TIMEOUT 10.0
#define FETCH_FP_LEN 32 /* SHA-256 */
#define FETCH_FP_HEX (FETCH_FP_LEN * 3) /* "AB:" per byte, last ':' becomes NUL */

/* Per-request state for leaf-certificate pinning (read by the TLS verify hook). */
struct fetch_pin {
	unsigned char want[FETCH_FP_LEN];
	char want_hex[FETCH_FP_HEX];
	char got_hex[FETCH_FP_HEX];
	int checked; /* the hook ran */
	int ok; /* and the leaf matched */
};

/*
 * Write-callback state: the body buffer, whether the cap was hit, whether
 * it was presized; with a stream, whether this answer streams (a 2xx) and
 * how many bytes went to it.
 */
struct fetch_sink {
	struct buf *body;
	CURL *h;
	int toobig;
	int sized;
	const struct fetch_stream *stream;
	struct fetch_resp *r;
	int streaming; /* -1 not decided yet, 0 into body, 1 into the stream */
	size_t streamed;
};

/* Everything one request owns or refers to. */
struct fetch_call {
	const struct fetch_target *t;
	CURL *h;
	struct buf url;
	struct curl_slist *hdrs;
	struct fetch_sink sink;
	struct fetch_pin pin;
	double secs; /* the effective deadline */
	char errbuf[CURL_ERROR_SIZE];
};

enum perr fetch_global_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return PE_INTERNAL;
	return PE_OK;
}

void fetch_global_cleanup(void)
{
	curl_global_cleanup();
}

static int g_fetch_stopping; /* set once by fetch_stop_all() */

void fetch_stop_all(void)
{
	__atomic_store_n(&g_fetch_stopping, 1, __ATOMIC_RELEASE);
}

static int fetch_stopping(void)
{
	return __atomic_load_n(&g_fetch_stopping, __ATOMIC_ACQUIRE);
}

/* libcurl's progress callback: non-zero aborts the transfer (CURLE_ABORTED_BY_CALLBACK). */
static int fetch_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
			  curl_off_t ulnow)
{
	(void)ctx, (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return fetch_stopping();
}

/* ---------- targets that own their strings ---------- */

/* What fetch_target_new() allocates: the target first, so its address is the allocation's. */
struct fetch_owned {
	struct fetch_target t;
	char *base_url, *unix_socket, *ca_file, *fingerprint, *auth_header, *cert_file, *key_file;
};

static int fetch_dup(char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return 1;
	*dst = strdup(src);
	return *dst != NULL;
}

void fetch_target_free(struct fetch_target *t)
{
	struct fetch_owned *o = (struct fetch_owned *)t;

	if (!o)
		return;
	free(o->base_url);
	free(o->unix_socket);
	free(o->ca_file);
	free(o->fingerprint);
	free(o->cert_file);
	free(o->key_file);
	secret_free(o->auth_header);
	free(o);
}

struct fetch_target *fetch_target_new(const struct fetch_target *tmpl)
{
	struct fetch_owned *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	o->t = *tmpl;
	if (!fetch_dup(&o->base_url, tmpl->base_url) || !fetch_dup(&o->unix_socket, tmpl->unix_socket) ||
	    !fetch_dup(&o->ca_file, tmpl->ca_file) || !fetch_dup(&o->fingerprint, tmpl->fingerprint) ||
	    !fetch_dup(&o->auth_header, tmpl->auth_header) || !fetch_dup(&o->cert_file, tmpl->cert_file) ||
	    !fetch_dup(&o->key_file, tmpl->key_file)) {
		fetch_target_free(&o->t);
		return NULL;
	}
	o->t.base_url = o->base_url;
	o->t.unix_socket = o->unix_socket;
	o->t.ca_file = o->ca_file;
	o->t.fingerprint = o->fingerprint;
	o->t.auth_header = o->auth_header;
	o->t.cert_file = o->cert_file;
	o->t.key_file = o->key_file;
	return &o->t;
}

/* Concatenates the NULL-terminated parts into one allocation sized up front (no realloc copies). */
static char *fetch_concat(va_list ap)
{
	va_list count;
	size_t len = 0;
	char *s, *p;

	va_copy(count, ap);
	for (const char *part; (part = va_arg(count, const char *)) != NULL;)
		len += strlen(part);
	va_end(count);
	s = p = malloc(len + 1);
	if (!s)
		return NULL;
	for (const char *part; (part = va_arg(ap, const char *)) != NULL;) {
		size_t n = strlen(part);
		memcpy(p, part, n);
		p += n;
	}
	*p = '\0';
	return s;
}

/* Replaces one owned string (*slot, mirrored in *field) with the parts; a secret is wiped on the way out. */
static enum perr fetch_owned_set(char **slot, const char **field, int secret, va_list ap)
{
	char *s = fetch_concat(ap);

	if (!s)
		return PE_NOMEM;
	if (secret)
		secret_free(*slot);
	else
		free(*slot);
	*slot = s;
	*field = s;
	return PE_OK;
}

enum perr fetch_target_set_url(struct fetch_target *t, ...)
{
	struct fetch_owned *o = (struct fetch_owned *)t;
	va_list ap;

	va_start(ap, t);
	enum perr e = fetch_owned_set(&o->base_url, &o->t.base_url, 0, ap);
	va_end(ap);
	return e;
}

enum perr fetch_target_set_auth(struct fetch_target *t, ...)
{
	struct fetch_owned *o = (struct fetch_owned *)t;
	va_list ap;

	va_start(ap, t);
	enum perr e = fetch_owned_set(&o->auth_header, &o->t.auth_header, 1, ap);
	va_end(ap);
	return e;
}

/* ---------- responses ---------- */

void fetch_resp_init(struct fetch_resp *r)
{
	r->status = 0;
	buf_init(&r->body, 0);
	r->content_type[0] = '\0';
	r->err[0] = '\0';
}

void fetch_resp_free(struct fetch_resp *r)
{
	if (!r)
		return;
	buf_free(&r->body);
}

void fetch_urlencode(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			buf_addc(out, (char)*p);
		} else {
			char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
			buf_add(out, esc, sizeof(esc));
		}
	}
}

static void fetch_hex(const unsigned char *md, char *out)
{
	static const char hex[] = "0123456789ABCDEF";

	for (int i = 0; i < FETCH_FP_LEN; i++) {
		out[i * 3] = hex[md[i] >> 4];
		out[i * 3 + 1] = hex[md[i] & 15];
		out[i * 3 + 2] = i + 1 < FETCH_FP_LEN ? ':' : '\0';
	}
}

static int fetch_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Parses "AB:CD:..", case-insensitive, colons optional, into 32 bytes. */
static enum perr fetch_parse_fp(const char *s, struct fetch_pin *pin)
{
	int n = 0;

	for (const char *p = s; *p;) {
		if (*p == ':') {
			p++;
			continue;
		}
		int hi = fetch_hexval((unsigned char)p[0]);
		int lo = hi < 0 ? -1 : fetch_hexval((unsigned char)p[1]);
		if (lo < 0 || n == FETCH_FP_LEN)
			return PE_INVAL;
		pin->want[n++] = (unsigned char)(hi << 4 | lo);
		p += 2;
	}
	if (n != FETCH_FP_LEN)
		return PE_INVAL;
	fetch_hex(pin->want, pin->want_hex);
	return PE_OK;
}

/*
 * Replaces OpenSSL's chain verification: accepts the handshake only when
 * the SHA-256 of the leaf certificate (DER) equals the pin. Runs inside
 * the handshake, so nothing is sent to a server that fails the check.
 */
static int fetch_pin_verify(X509_STORE_CTX *xs, void *arg)
{
	struct fetch_pin *pin = arg;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	X509 *leaf = X509_STORE_CTX_get0_cert(xs);

	pin->checked = 1;
	pin->ok = 0;
	if (!leaf || !X509_digest(leaf, EVP_sha256(), md, &len) || len != FETCH_FP_LEN) {
		snprintf(pin->got_hex, sizeof(pin->got_hex), "(no certificate)");
	} else {
		fetch_hex(md, pin->got_hex);
		pin->ok = CRYPTO_memcmp(md, pin->want, FETCH_FP_LEN) == 0;
	}
	if (!pin->ok)
		X509_STORE_CTX_set_error(xs, X509_V_ERR_CERT_REJECTED);
	return pin->ok;
}

/* CURLOPT_SSL_CTX_FUNCTION: runs after libcurl's own setup of each SSL_CTX. */
static CURLcode fetch_ssl_ctx(CURL *curl, void *ssl_ctx, void *arg)
{
	(void)curl;
	SSL_CTX_set_verify(ssl_ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_cert_verify_callback(ssl_ctx, fetch_pin_verify, arg);
	return CURLE_OK;
}

/* After a transfer that got a response (or at its first body byte): status and Content-Type. */
static void fetch_collect(CURL *h, struct fetch_resp *r)
{
	char *ct = NULL;

	if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status) != CURLE_OK)
		r->status = 0;
	if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
		snprintf(r->content_type, sizeof(r->content_type), "%s", ct);
}

/* A 2xx body goes to the stream (counted against the cap); 0 when the cap is passed. */
static int fetch_write_stream(struct fetch_sink *sink, const char *p, size_t len)
{
	if (sink->streaming < 0) {
		fetch_collect(sink->h, sink->r);
		sink->streaming = sink->r->status >= 200 && sink->r->status < 300;
	}
	if (!sink->streaming)
		return -1;
	if (len > sink->body->max - sink->streamed) {
		sink->toobig = 1;
		return 0;
	}
	sink->streamed += len;
	sink->stream->chunk(sink->stream->ctx, p, len);
	return 1;
}

static size_t fetch_write(char *p, size_t size, size_t n, void *arg)
{
	struct fetch_sink *sink = arg;
	size_t len = size * n;
	curl_off_t cl = -1;

	if (sink->stream) {
		int rc = fetch_write_stream(sink, p, len);
		if (rc >= 0)
			return rc ? len : 0; /* 0 aborts the transfer with CURLE_WRITE_ERROR */
	}
	/* one allocation of the announced size instead of doubling (a 3.5 MB body in an 8 MB buffer) */
	if (!sink->sized && sink->body->len == 0 &&
	    curl_easy_getinfo(sink->h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK && cl > 0 &&
	    (unsigned long long)cl <= (unsigned long long)sink->body->max)
		(void)buf_reserve(sink->body, (size_t)cl);
	sink->sized = 1;
	if (buf_add(sink->body, p, len) != PE_OK) {
		sink->toobig = buf_err(sink->body) == PE_TOOBIG;
		return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
	}
	return len;
}

/* A client certificate, when the target has one (any trust mode). */
static enum perr fetch_setup_client_cert(CURL *h, const struct fetch_target *t, struct fetch_resp *r)
{
	CURLcode c = CURLE_OK;

	if (!t->cert_file || !t->cert_file[0])
		return PE_OK;
	c = curl_easy_setopt(h, CURLOPT_SSLCERT, t->cert_file);
	if (!c)
		c = curl_easy_setopt(h, CURLOPT_SSLKEY, t->key_file);
	if (c) {
		snprintf(r->err, sizeof(r->err), "TLS: client certificate: %s", curl_easy_strerror(c));
		return PE_TLS;
	}
	return PE_OK;
}

/* Trust settings; the strictest configured check wins: pin, CA file, insecure, system store. */
static enum perr fetch_setup_tls(CURL *h, const struct fetch_target *t, struct fetch_pin *pin,
				 struct fetch_resp *r)
{
	CURLcode c = CURLE_OK;

	if (t->fingerprint && t->fingerprint[0]) {
		if (fetch_parse_fp(t->fingerprint, pin) != PE_OK) {
			snprintf(r->err, sizeof(r->err), "TLS: fingerprint is not 32 hex pairs (AB:CD:..)");
			return PE_INVAL;
		}
		c = curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		if (!c)
			c = curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
		if (!c)
			c = curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, fetch_ssl_ctx);
		if (!c)
			c = curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, pin);
		if (c) {
			snprintf(r->err, sizeof(r->err), "TLS: fingerprint pinning needs an OpenSSL libcurl");
			return PE_TLS;
		}
		return PE_OK;
	}
	if (t->ca_file && t->ca_file[0]) {
		c = curl_easy_setopt(h, CURLOPT_CAINFO, t->ca_file);
	} else if (t->insecure) {
		c = curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		if (!c)
			c = curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (c) {
		snprintf(r->err, sizeof(r->err), "TLS: %s", curl_easy_strerror(c));
		return PE_TLS;
	}
	return PE_OK;
}

/* base_url + path, without a doubled '/'. */
static enum perr fetch_url(struct buf *url, const char *base, const char *path)
{
	size_t n = strlen(base);

	while (n > 0 && base[n - 1] == '/')
		n--;
	buf_add(url, base, n);
	buf_adds(url, path);
	return buf_err(url);
}

/* Transport options common to every request. */
static CURLcode fetch_setup_common(struct fetch_call *call)
{
	CURL *h = call->h;
	const struct fetch_target *t = call->t;
	long ms = (long)ceil(call->secs * 1000.0);
	CURLcode c = CURLE_OK;

	c |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, call->errbuf);
	c |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	c |= curl_easy_setopt(h, CURLOPT_VERBOSE, 0L);
	c |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ms > 0 ? ms : 1L);
	c |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ms > 0 ? ms : 1L);
	c |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	c |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	c |= curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	c |= curl_easy_setopt(h, CURLOPT_PROXY, ""); /* never hand the token to an env-configured proxy */
	c |= curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	c |= curl_easy_setopt(h, CURLOPT_USERAGENT, "persistence_exporter/" PE_VERSION);
	c |= curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)call->sink.body->max);
	c |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, fetch_write);
	c |= curl_easy_setopt(h, CURLOPT_WRITEDATA, &call->sink);
	c |= curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	c |= curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, fetch_progress);
	if (t->unix_socket && t->unix_socket[0])
		c |= curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, t->unix_socket);
	return c;
}

/* Headers and method; the auth header is copied into the list only. */
static enum perr fetch_setup_request(struct fetch_call *call, const char *method, const char *form_body)
{
	static const char *const fixed[] = {"Accept: application/json", "Expect:"};
	const struct fetch_target *t = call->t;
	struct curl_slist **hdrs = &call->hdrs;
	CURL *h = call->h;
	CURLcode c = CURLE_OK;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		struct curl_slist *n = curl_slist_append(*hdrs, fixed[i]);
		if (!n)
			return PE_NOMEM;
		*hdrs = n;
	}
	if (t->auth_header && t->auth_header[0]) {
		struct curl_slist *n = curl_slist_append(*hdrs, t->auth_header);
		if (!n)
			return PE_NOMEM;
		*hdrs = n;
	}
	c |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hdrs);
	if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
		const char *body = form_body ? form_body : "";
		c |= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
		c |= curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		if (method[1] == 'U')
			c |= curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
	} else if (strcmp(method, "DELETE") == 0) {
		c |= curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
	} else {
		c |= curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	}
	return c ? PE_INTERNAL : PE_OK;
}

/* "host:port" of the target URL, for connect errors. */
static void fetch_hostport(const char *url, char *out, size_t n)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL;

	snprintf(out, n, "upstream");
	if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
		goto out;
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
		goto out;
	snprintf(out, n, "%s:%s", host, port);
out:
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
}

static int fetch_is_tls_error(CURLcode c)
{
	switch (c) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CLIENTCERT:
	case CURLE_USE_SSL_FAILED:
		return 1;
	default:
		return 0;
	}
}

/* Connection failure text: "connect to H:P failed: <errno text>". */
static void fetch_connect_err(struct fetch_call *call, CURLcode c, struct fetch_resp *r)
{
	char where[200], tmp[128];
	long oserr = 0;
	const char *why = curl_easy_strerror(c);
	const struct fetch_target *t = call->t;

	if (curl_easy_getinfo(call->h, CURLINFO_OS_ERRNO, &oserr) == CURLE_OK && oserr > 0)
		why = strerror_r((int)oserr, tmp, sizeof(tmp));
	if (t->unix_socket && t->unix_socket[0])
		snprintf(where, sizeof(where), "unix socket %s", t->unix_socket);
	else
		fetch_hostport(buf_str(&call->url), where, sizeof(where));
	if (c == CURLE_COULDNT_RESOLVE_HOST)
		snprintf(r->err, sizeof(r->err), "resolve %.200s failed", where);
	else
		snprintf(r->err, sizeof(r->err), "connect to %.150s failed: %.80s", where, why);
}

/* Maps a failed transfer to the error enum and a secret-free message. */
static enum perr fetch_map_error(struct fetch_call *call, CURLcode c, struct fetch_resp *r)
{
	const struct fetch_pin *pin = &call->pin;

	if (call->sink.toobig || c == CURLE_FILESIZE_EXCEEDED) {
		snprintf(r->err, sizeof(r->err), "response larger than %zu bytes", r->body.max);
		return PE_TOOBIG;
	}
	if (pin->checked && !pin->ok) {
		snprintf(r->err, sizeof(r->err), "TLS: certificate fingerprint mismatch: got %s, want %s",
			 pin->got_hex, pin->want_hex);
		return PE_TLS;
	}
	const char *detail = call->errbuf[0] ? call->errbuf : curl_easy_strerror(c);
	switch (c) {
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(r->err, sizeof(r->err), "timed out after %.1f s", call->secs);
		return PE_TIMEOUT;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		fetch_connect_err(call, c, r);
		return PE_CONNECT;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		snprintf(r->err, sizeof(r->err), "bad upstream URL: %.200s", detail);
		return PE_INVAL;
	case CURLE_OUT_OF_MEMORY:
		snprintf(r->err, sizeof(r->err), "out of memory");
		return PE_NOMEM;
	case CURLE_WRITE_ERROR:
		snprintf(r->err, sizeof(r->err), "storing the response failed");
		return r->body.err == PE_NOMEM ? PE_NOMEM : PE_IO;
	case CURLE_ABORTED_BY_CALLBACK:
		snprintf(r->err, sizeof(r->err), "stopped: shutting down");
		return PE_IO;
	default:
		break;
	}
	if (fetch_is_tls_error(c)) {
		snprintf(r->err, sizeof(r->err), "TLS: %.240s", detail);
		return PE_TLS;
	}
	snprintf(r->err, sizeof(r->err), "%s", detail);
	return PE_IO;
}

/*
 * Defence in depth: a message that quotes the auth header's value, or its
 * last '='/' '-separated part (the secret in "PVEAPIToken=id=SECRET"), is
 * replaced.
 */
static void fetch_scrub(const struct fetch_target *t, struct fetch_resp *r)
{
	const char *v = t->auth_header ? strchr(t->auth_header, ':') : NULL;
	const char *tail;

	if (!v || !r->err[0])
		return;
	while (*++v == ' ')
		;
	tail = v;
	for (const char *p = v; *p; p++)
		if (*p == '=' || *p == ' ')
			tail = p + 1;
	if ((strlen(v) >= 4 && strstr(r->err, v)) || (strlen(tail) >= 6 && strstr(r->err, tail)))
		snprintf(r->err, sizeof(r->err), "request failed (message withheld: it quoted a credential)");
}

static double fetch_deadline(const struct fetch_target *t, double timeout)
{
	double secs = t->timeout > 0 ? t->timeout : 0;

	if (timeout > 0 && (secs <= 0 || timeout < secs))
		secs = timeout;
	return secs > 0 ? secs : FETCH_DEFAULT_TIMEOUT;
}

/* Rejects what would let a caller smuggle extra headers or an odd method. */
static enum perr fetch_check_args(const struct fetch_target *t, const char *method, const char *path,
				  struct fetch_resp *r)
{
	if (!t->base_url || !path || path[0] != '/' || strpbrk(path, "\r\n ")) {
		snprintf(r->err, sizeof(r->err), "bad request path");
		return PE_INVAL;
	}
	if (!method || (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0 &&
			strcmp(method, "PUT") != 0 && strcmp(method, "DELETE") != 0)) {
		snprintf(r->err, sizeof(r->err), "unsupported method");
		return PE_INVAL;
	}
	if (t->auth_header && strpbrk(t->auth_header, "\r\n")) {
		snprintf(r->err, sizeof(r->err), "auth header contains a line break");
		return PE_INVAL;
	}
	return PE_OK;
}

static void fetch_resp_reset(struct fetch_resp *r, size_t max)
{
	buf_free(&r->body);
	buf_init(&r->body, max);
	r->status = 0;
	r->content_type[0] = '\0';
	r->err[0] = '\0';
}

/* Builds the easy handle for one call; r->err is set on failure. */
static enum perr fetch_prepare(struct fetch_call *call, const char *method, const char *path,
			       const char *form_body, struct fetch_resp *r)
{
	enum perr e = fetch_url(&call->url, call->t->base_url, path);

	if (e) {
		snprintf(r->err, sizeof(r->err), "out of memory");
		return e;
	}
	call->h = curl_easy_init();
	call->sink.h = call->h;
	if (!call->h || curl_easy_setopt(call->h, CURLOPT_URL, buf_str(&call->url)) != CURLE_OK ||
	    fetch_setup_common(call) != CURLE_OK) {
		snprintf(r->err, sizeof(r->err), "libcurl setup failed");
		return PE_INTERNAL;
	}
	e = fetch_setup_tls(call->h, call->t, &call->pin, r);
	if (!e)
		e = fetch_setup_client_cert(call->h, call->t, r);
	if (e)
		return e;
	e = fetch_setup_request(call, method, form_body);
	if (e)
		snprintf(r->err, sizeof(r->err), "libcurl setup failed");
	return e;
}

enum perr fetch_request_stream(const struct fetch_target *t, const char *method, const char *path,
			       const char *form_body, double timeout, const struct fetch_stream *stream,
			       struct fetch_resp *r)
{
	struct fetch_call call = {
		.t = t,
		.sink = {.body = &r->body, .stream = stream, .r = r, .streaming = -1},
		.secs = fetch_deadline(t, timeout),
	};
	CURLcode c;
	enum perr e;

	buf_init(&call.url, 0);
	fetch_resp_reset(r, t->max_body ? t->max_body : FETCH_DEFAULT_MAX_BODY);
	e = fetch_check_args(t, method, path, r);
	if (e)
		goto out;
	if (fetch_stopping()) {
		snprintf(r->err, sizeof(r->err), "stopped: shutting down");
		e = PE_IO;
		goto out;
	}
	e = fetch_prepare(&call, method, path, form_body, r);
	if (e)
		goto out;
	c = curl_easy_perform(call.h);
	if (c == CURLE_OK) {
		fetch_collect(call.h, r);
	} else {
		e = fetch_map_error(&call, c, r);
		buf_reset(&r->body);
	}
out:
	fetch_scrub(t, r);
	for (struct curl_slist *h = call.hdrs; h; h = h->next) /* libcurl's copy of the auth header */
		secret_wipe(h->data, strlen(h->data));
	curl_slist_free_all(call.hdrs);
	curl_easy_cleanup(call.h);
	buf_free(&call.url);
	return e;
}

enum perr fetch_request(const struct fetch_target *t, const char *method, const char *path,
			const char *form_body, double timeout, struct fetch_resp *r)
{
	return fetch_request_stream(t, method, path, form_body, timeout, NULL, r);
}
