/* test_http.c - the HTTP server against stub handlers, driven with libcurl and raw sockets. */
#include <check.h>
#include <crypt.h>
#include <curl/curl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <zlib.h>

#include "http.h"
#include "http_parse.h"
#include "zip.h"
#include "log.h"

#define METRICS_BODY "# HELP pe_test A test metric.\n# TYPE pe_test gauge\npe_test{a=\"b\"} 1\n"

/* Stub daemon: canned bodies, records what it was called with. */
struct stub {
	enum perr fail; /* returned by every body handler when set */
	int ready;
	int reloads;
	int metrics_calls;
	double timeout;
	size_t ncollect;
	char collect[40][80];
	const char *body;
};

/* Renders the body the way the daemon's output cache hands it over: owned bytes, gzipped when asked. */
static enum perr stub_metrics(void *ctx, double timeout, const char *const *collect, size_t ncollect,
			      int gzip, struct http_body *body)
{
	struct stub *st = ctx;
	struct buf out;
	st->metrics_calls++;
	st->timeout = timeout;
	st->ncollect = ncollect;
	for (size_t i = 0; i < ncollect && i < 40; i++)
		snprintf(st->collect[i], sizeof st->collect[i], "%s", collect[i]);
	buf_init(&out, 0);
	(void)buf_adds(&out, st->body ? st->body : METRICS_BODY);
	if (st->fail)
		(void)buf_adds(&out, "secret-token-1234 internal detail");
	size_t len = out.len;
	char *data = buf_steal(&out, NULL);
	char *gz = NULL;
	size_t gzlen = 0;
	if (gzip && !st->fail && zip_gzip(data, len, &gz, &gzlen) == PE_OK) {
		free(data);
		data = gz;
		len = gzlen;
		body->gzipped = 1;
	}
	body->data = data;
	body->len = len;
	body->release = free;
	body->owner = data;
	return st->fail;
}

static enum perr stub_html(void *ctx, struct buf *out)
{
	struct stub *st = ctx;
	(void)buf_adds(out, "<html><body>status</body></html>");
	return st->fail;
}

static enum perr stub_json(void *ctx, struct buf *out)
{
	struct stub *st = ctx;
	(void)buf_adds(out, "{\"targets\":[]}");
	return st->fail;
}

static int stub_ready(void *ctx)
{
	return ((struct stub *)ctx)->ready;
}

static void stub_reload(void *ctx)
{
	((struct stub *)ctx)->reloads++;
}

static struct http_handlers stub_handlers(struct stub *st)
{
	struct http_handlers h = {st, stub_metrics, stub_html, stub_json, stub_ready, stub_reload};
	return h;
}

/* One server under test. */
struct srv {
	struct stub st;
	struct http_server *s;
	unsigned short port;
	char base[64];
};

static void srv_start_web(struct srv *v, int lifecycle, const struct web_config *web, unsigned limit,
			  unsigned timeout)
{
	char msg[256] = "";
	memset(v, 0, sizeof *v);
	struct http_handlers h = stub_handlers(&v->st);
	struct http_opts o = {"127.0.0.1:0", "/metrics", lifecycle, web, limit, timeout};
	enum perr e = http_start(&o, &h, &v->s, msg, sizeof msg);
	ck_assert_msg(e == PE_OK, "http_start: %s: %s", err_str(e), msg);
	v->port = http_port(v->s);
	ck_assert_uint_ne(v->port, 0);
	snprintf(v->base, sizeof v->base, "%s://127.0.0.1:%u", web && web->cert_file ? "https" : "http",
		 v->port);
}

static void srv_start(struct srv *v, int lifecycle)
{
	srv_start_web(v, lifecycle, NULL, 0, 0);
}

/* ---- a small libcurl client ---- */

struct req {
	const char *method; /* NULL: GET */
	const char *hdr[4]; /* extra request headers */
	const char *userpwd;
	const char *cafile;
	const char *cert, *key; /* client certificate */
	long sslversion;
	const char *iface; /* "host!127.0.0.2" */
	long timeout; /* seconds; 0: 10 */
};

struct resp {
	CURLcode rc;
	long status;
	struct buf body;
	struct buf head;
};

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
	(void)buf_add(ud, p, sz * n);
	return sz * n;
}

static void resp_free(struct resp *r)
{
	buf_free(&r->body);
	buf_free(&r->head);
}

static void do_req(const struct srv *v, const char *path, const struct req *q, struct resp *r)
{
	char url[256];
	struct curl_slist *hl = NULL;
	CURL *c = curl_easy_init();
	ck_assert_ptr_nonnull(c);
	memset(r, 0, sizeof *r);
	buf_init(&r->body, 0);
	buf_init(&r->head, 0);
	snprintf(url, sizeof url, "%s%s", v->base, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->head);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, q && q->timeout ? q->timeout : 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (q && q->method && strcmp(q->method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (q && q->method)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
	for (int i = 0; q && i < 4 && q->hdr[i]; i++)
		hl = curl_slist_append(hl, q->hdr[i]);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	if (q && q->userpwd) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERPWD, q->userpwd);
	}
	if (q && q->cafile)
		curl_easy_setopt(c, CURLOPT_CAINFO, q->cafile);
	if (q && q->cert) {
		curl_easy_setopt(c, CURLOPT_SSLCERT, q->cert);
		curl_easy_setopt(c, CURLOPT_SSLKEY, q->key);
	}
	if (q && q->sslversion)
		curl_easy_setopt(c, CURLOPT_SSLVERSION, q->sslversion);
	if (q && q->iface)
		curl_easy_setopt(c, CURLOPT_INTERFACE, q->iface);
	r->rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
}

/* The value of a response header (first match, case-insensitive name) in out, or 0. */
static int resp_header(const struct resp *r, const char *name, char *out, size_t outlen)
{
	const char *p = buf_str(&r->head);
	size_t nl = strlen(name);
	while (*p) {
		size_t len = strcspn(p, "\n");
		if (len > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1;
			while (*v == ' ')
				v++;
			size_t vl = (size_t)(p + len - v);
			while (vl && (v[vl - 1] == '\r' || v[vl - 1] == ' '))
				vl--;
			snprintf(out, outlen, "%.*s", (int)vl, v);
			return 1;
		}
		p += len + (p[len] == '\n');
	}
	return 0;
}

static void expect(const struct srv *v, const char *method, const char *path, long status)
{
	struct req q = {method};
	struct resp r;
	do_req(v, path, &q, &r);
	ck_assert_msg(r.rc == CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(r.rc));
	ck_assert_msg(r.status == status, "%s %s: got %ld, want %ld", method, path, r.status, status);
	resp_free(&r);
}

/* ---- routes ---- */

START_TEST(test_routes_and_methods)
{
	struct srv v;
	struct resp r;
	char val[256];
	srv_start(&v, 0);
	v.st.ready = 1;
	expect(&v, "GET", "/metrics", 200);
	expect(&v, "HEAD", "/metrics", 200);
	expect(&v, "GET", "/", 200);
	expect(&v, "GET", "/status", 200);
	expect(&v, "GET", "/-/healthy", 200);
	expect(&v, "HEAD", "/-/healthy", 200);
	expect(&v, "GET", "/-/ready", 200);
	expect(&v, "GET", "/nope", 404);
	expect(&v, "DELETE", "/nope", 404);
	expect(&v, "GET", "/metrics/extra", 404);
	expect(&v, "GET", "/METRICS", 404);

	struct req post = {"POST"};
	do_req(&v, "/metrics", &post, &r);
	ck_assert_int_eq(r.status, 405);
	ck_assert(resp_header(&r, "Allow", val, sizeof val));
	ck_assert_str_eq(val, "GET, HEAD");
	resp_free(&r);

	struct req put = {"PUT"};
	do_req(&v, "/", &put, &r);
	ck_assert_int_eq(r.status, 405);
	resp_free(&r);

	struct req get = {"GET"};
	do_req(&v, "/-/reload", &get, &r);
	ck_assert_int_eq(r.status, 405);
	ck_assert(resp_header(&r, "Allow", val, sizeof val));
	ck_assert_str_eq(val, "POST");
	resp_free(&r);

	do_req(&v, "/-/healthy", NULL, &r);
	ck_assert_str_eq(buf_str(&r.body), "OK\n");
	resp_free(&r);

	do_req(&v, "/", NULL, &r);
	ck_assert(resp_header(&r, "Content-Type", val, sizeof val));
	ck_assert_str_eq(val, "text/html; charset=utf-8");
	ck_assert_ptr_nonnull(strstr(buf_str(&r.body), "<html>"));
	resp_free(&r);

	do_req(&v, "/status", NULL, &r);
	ck_assert(resp_header(&r, "Content-Type", val, sizeof val));
	ck_assert_str_eq(val, "application/json");
	ck_assert_str_eq(buf_str(&r.body), "{\"targets\":[]}");
	resp_free(&r);

	/* the runbooks compiled in: the index, a page (also by its .md name), and 404s */
	do_req(&v, "/runbooks/", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert(resp_header(&r, "Content-Type", val, sizeof val));
	ck_assert_str_eq(val, "text/html; charset=utf-8");
	ck_assert_ptr_nonnull(strstr(buf_str(&r.body), "<a href=\"PVEBackupJobOverdue\">"));
	resp_free(&r);
	expect(&v, "GET", "/runbooks", 200);
	static const char *const pages[] = {"/runbooks/PVEBackupJobOverdue",
					    "/runbooks/PVEBackupJobOverdue.md",
					    "/runbooks/PVEBackupJobOverdue?from=alert"};
	for (size_t i = 0; i < 3; i++) {
		do_req(&v, pages[i], NULL, &r);
		ck_assert_msg(r.status == 200, "%s: %ld", pages[i], r.status);
		ck_assert_ptr_nonnull(strstr(buf_str(&r.body), "<h1>PVEBackupJobOverdue</h1>"));
		resp_free(&r);
	}
	expect(&v, "HEAD", "/runbooks/PVEBackupJobOverdue", 200);
	expect(&v, "GET", "/runbooks/NoSuchAlert", 404);
	expect(&v, "GET", "/runbooks/PVEBackupJobOverdue/x", 404);
	expect(&v, "GET", "/runbooksX", 404);
	http_stop(v.s);
}
END_TEST

START_TEST(test_metrics_content_and_args)
{
	struct srv v;
	struct resp r;
	char val[256];
	srv_start(&v, 0);
	struct req q = {NULL, {"X-Prometheus-Scrape-Timeout-Seconds: 2.5"}};
	do_req(&v, "/metrics?collect%5B%5D=pve&x=1&collect[]=mount", &q, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert(resp_header(&r, "Content-Type", val, sizeof val));
	ck_assert_str_eq(val, "text/plain; version=0.0.4; charset=utf-8");
	ck_assert(!resp_header(&r, "Content-Encoding", val, sizeof val));
	ck_assert_str_eq(buf_str(&r.body), METRICS_BODY);
	ck_assert_int_eq(v.st.metrics_calls, 1);
	ck_assert_uint_eq(v.st.ncollect, 2);
	ck_assert_str_eq(v.st.collect[0], "pve");
	ck_assert_str_eq(v.st.collect[1], "mount");
	ck_assert_double_eq(v.st.timeout, 2.5);
	resp_free(&r);

	static const char *const junk[] = {"X-Prometheus-Scrape-Timeout-Seconds: junk",
					   "X-Prometheus-Scrape-Timeout-Seconds: -3",
					   "X-Prometheus-Scrape-Timeout-Seconds: 1e400",
					   "X-Prometheus-Scrape-Timeout-Seconds: 4s", "X-Other: 1"};
	for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
		struct req jq = {NULL, {junk[i]}};
		v.st.timeout = -1;
		do_req(&v, "/metrics", &jq, &r);
		ck_assert_int_eq(r.status, 200);
		ck_assert_msg(v.st.timeout == 0, "%s gave %f", junk[i], v.st.timeout);
		ck_assert_uint_eq(v.st.ncollect, 0);
		resp_free(&r);
	}
	struct req iq = {NULL, {"X-Prometheus-Scrape-Timeout-Seconds: 10"}};
	do_req(&v, "/metrics", &iq, &r);
	ck_assert_double_eq(v.st.timeout, 10);
	resp_free(&r);
	http_stop(v.s);
}
END_TEST

START_TEST(test_custom_telemetry_path)
{
	char msg[128] = "";
	struct stub st = {0};
	struct http_handlers h = stub_handlers(&st);
	struct http_server *s = NULL;
	struct http_opts o = {"127.0.0.1:0", "/x/metrics", 0, NULL, 0, 0};
	ck_assert_int_eq(http_start(&o, &h, &s, msg, sizeof msg), PE_OK);
	struct srv v = {.s = s, .port = http_port(s)};
	snprintf(v.base, sizeof v.base, "http://127.0.0.1:%u", v.port);
	expect(&v, "GET", "/x/metrics", 200);
	expect(&v, "GET", "/metrics", 404);
	http_stop(s);

	o.telemetry_path = "metrics";
	ck_assert_int_eq(http_start(&o, &h, &s, msg, sizeof msg), PE_INVAL);
	ck_assert_ptr_null(s);
	ck_assert(msg[0] != '\0');
}
END_TEST

static void gunzip(const struct buf *in, struct buf *out)
{
	z_stream zs;
	unsigned char chunk[4096];
	int rc;
	memset(&zs, 0, sizeof zs);
	ck_assert_int_eq(inflateInit2(&zs, 15 + 16), Z_OK);
	zs.next_in = (Bytef *)in->data;
	zs.avail_in = (uInt)in->len;
	do {
		zs.next_out = chunk;
		zs.avail_out = sizeof chunk;
		rc = inflate(&zs, Z_NO_FLUSH);
		ck_assert_msg(rc == Z_OK || rc == Z_STREAM_END, "inflate: %d", rc);
		(void)buf_add(out, chunk, sizeof chunk - zs.avail_out);
	} while (rc != Z_STREAM_END);
	ck_assert_uint_eq(zs.avail_in, 0);
	inflateEnd(&zs);
}

START_TEST(test_gzip)
{
	struct srv v;
	struct resp r;
	char val[256];
	struct buf big, plain;
	buf_init(&big, 0);
	for (int i = 0; i < 500; i++)
		(void)buf_addf(&big, "pe_test_series{target=\"t%d\",site=\"home\"} %d\n", i, i * 7);
	srv_start(&v, 0);
	v.st.body = buf_str(&big);

	struct req gz = {NULL, {"Accept-Encoding: deflate, GZip;q=0.8, br"}};
	do_req(&v, "/metrics", &gz, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert(resp_header(&r, "Content-Encoding", val, sizeof val));
	ck_assert_str_eq(val, "gzip");
	ck_assert(resp_header(&r, "Vary", val, sizeof val));
	ck_assert_str_eq(val, "Accept-Encoding");
	ck_assert(resp_header(&r, "Content-Type", val, sizeof val));
	ck_assert_str_eq(val, "text/plain; version=0.0.4; charset=utf-8");
	ck_assert_uint_lt(r.body.len, big.len);
	buf_init(&plain, 0);
	gunzip(&r.body, &plain);
	ck_assert_uint_eq(plain.len, big.len);
	ck_assert(memcmp(plain.data, big.data, big.len) == 0);
	buf_free(&plain);
	resp_free(&r);

	static const char *const no[] = {NULL, "Accept-Encoding: gzip;q=0", "Accept-Encoding: identity",
					 "Accept-Encoding: x-gzip2, gzipx",
					 "Accept-Encoding: deflate, gzip ; q=0.000"};
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
		struct req q = {NULL, {no[i]}};
		do_req(&v, "/metrics", &q, &r);
		ck_assert_int_eq(r.status, 200);
		ck_assert_msg(!resp_header(&r, "Content-Encoding", val, sizeof val), "gzip for %s", no[i]);
		ck_assert(r.body.len == big.len && memcmp(r.body.data, big.data, big.len) == 0);
		resp_free(&r);
	}
	http_stop(v.s);
	buf_free(&big);
}
END_TEST

START_TEST(test_ready_and_reload)
{
	struct srv v;
	struct resp r;
	srv_start(&v, 0);
	expect(&v, "GET", "/-/ready", 503);
	v.st.ready = 1;
	expect(&v, "GET", "/-/ready", 200);
	struct req post = {"POST"};
	do_req(&v, "/-/reload", &post, &r);
	ck_assert_int_eq(r.status, 403);
	ck_assert_ptr_nonnull(strstr(buf_str(&r.body), "enable-lifecycle"));
	ck_assert_int_eq(v.st.reloads, 0);
	resp_free(&r);
	http_stop(v.s);

	srv_start(&v, 1);
	do_req(&v, "/-/reload", &post, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(v.st.reloads, 1);
	resp_free(&r);
	http_stop(v.s);
}
END_TEST

START_TEST(test_handler_error)
{
	struct srv v;
	struct resp r;
	static const char *const paths[] = {"/metrics", "/", "/status"};
	srv_start(&v, 0);
	v.st.fail = PE_TIMEOUT;
	for (size_t i = 0; i < 3; i++) {
		struct req q = {NULL, {"Accept-Encoding: gzip"}};
		do_req(&v, paths[i], &q, &r);
		ck_assert_int_eq(r.status, 500);
		ck_assert_ptr_null(strstr(buf_str(&r.body), "secret"));
		ck_assert_ptr_null(strstr(buf_str(&r.body), "pe_test"));
		ck_assert_uint_gt(r.body.len, 0);
		ck_assert_uint_lt(r.body.len, 100);
		resp_free(&r);
	}
	v.st.fail = PE_INVAL;
	expect(&v, "GET", "/metrics?collect[]=nope", 400);
	http_stop(v.s);
}
END_TEST

/* ---- collect[] parsing ---- */

START_TEST(test_parse_collect)
{
	char *names[32];
	char storage[32 * 65];
	char longv[200];
	size_t n =
		http_parse_collect("/metrics?collect%5b%5D=pve&collect[]=mount&collect[]=pve&collect[]=&"
				   "collect[]=a%2&collect[]=a%00b&collect=x&collect[]&collect%5B%5D=n%38n+x",
				   names, 32, storage, sizeof storage);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(names[0], "pve");
	ck_assert_str_eq(names[1], "mount");
	ck_assert_str_eq(names[2], "n8n x");

	ck_assert_uint_eq(http_parse_collect("", names, 32, storage, sizeof storage), 0);
	ck_assert_uint_eq(http_parse_collect("&&&=&", names, 32, storage, sizeof storage), 0);
	ck_assert_uint_eq(http_parse_collect(NULL, names, 32, storage, sizeof storage), 0);

	memset(longv, 'a', sizeof longv);
	memcpy(longv, "collect[]=", 10);
	longv[10 + 65] = '\0'; /* one byte over the cap */
	ck_assert_uint_eq(http_parse_collect(longv, names, 32, storage, sizeof storage), 0);
	longv[10 + 64] = '\0';
	ck_assert_uint_eq(http_parse_collect(longv, names, 32, storage, sizeof storage), 1);
	ck_assert_uint_eq(strlen(names[0]), 64);

	/* the count cap and a too-small storage */
	struct buf q;
	buf_init(&q, 0);
	for (int i = 0; i < 50; i++)
		(void)buf_addf(&q, "collect[]=c%d&", i);
	ck_assert_uint_eq(http_parse_collect(buf_str(&q), names, 32, storage, sizeof storage), 32);
	ck_assert_str_eq(names[31], "c31");
	ck_assert_uint_eq(http_parse_collect(buf_str(&q), names, 32, storage, 10), 3); /* "c0\0c1\0c2\0" */
	buf_free(&q);

	/* storage used up exactly, then an empty value: nothing is written past the end */
	char *exact = malloc(6); /* "c0\0c1\0", no spare byte for ASan to hide an overflow in */
	ck_assert_ptr_nonnull(exact);
	ck_assert_uint_eq(http_parse_collect("collect[]=c0&collect[]=c1&collect[]=", names, 32, exact, 6), 2);
	ck_assert_str_eq(names[1], "c1");
	free(exact);
}
END_TEST

/* ---- listen addresses ---- */

START_TEST(test_listen_addresses)
{
	char msg[256];
	struct stub st = {0};
	struct http_handlers h = stub_handlers(&st);
	struct http_server *s = NULL;
	static const char *const bad[] = {"9709",         "",
					  "127.0.0.1:",   "127.0.0.1:99999",
					  "[::1:80",      "::1:80",
					  "127.0.0.1:ab", "1.2.3.4.5:80",
					  "[nothex]:80",  "127.0.0.1:-1"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct http_opts o = {bad[i], "/metrics", 0, NULL, 0, 0};
		msg[0] = '\0';
		ck_assert_msg(http_start(&o, &h, &s, msg, sizeof msg) == PE_INVAL, "accepted %s", bad[i]);
		ck_assert_ptr_null(s);
		ck_assert_ptr_nonnull(strstr(msg, "listen address"));
	}
	struct http_opts none = {NULL, "/metrics", 0, NULL, 0, 0};
	ck_assert_int_eq(http_start(&none, &h, &s, msg, sizeof msg), PE_INVAL);

	static const char *const good[] = {":0", "0.0.0.0:0", "localhost:0", "127.0.0.1:0"};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		struct http_opts o = {good[i], "/metrics", 0, NULL, 0, 0};
		ck_assert_msg(http_start(&o, &h, &s, msg, sizeof msg) == PE_OK, "%s: %s", good[i], msg);
		struct srv v = {.s = s, .port = http_port(s)};
		snprintf(v.base, sizeof v.base, "http://127.0.0.1:%u", v.port);
		expect(&v, "GET", "/-/healthy", 200);
		http_stop(s);
	}
	struct http_opts o6 = {"[::1]:0", "/metrics", 0, NULL, 0, 0};
	if (http_start(&o6, &h, &s, msg, sizeof msg) == PE_OK) { /* no IPv6 loopback in some sandboxes */
		struct srv v = {.s = s, .port = http_port(s)};
		snprintf(v.base, sizeof v.base, "http://[::1]:%u", v.port);
		expect(&v, "GET", "/-/healthy", 200);
		http_stop(s);
	}
	http_stop(NULL);
}
END_TEST

/* ---- basic auth and headers ---- */

static void make_bcrypt(const char *password, char *out, size_t outlen)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = calloc(1, sizeof *cd);
	ck_assert_ptr_nonnull(cd);
	ck_assert_ptr_nonnull(crypt_gensalt_rn("$2b$", 5, NULL, 0, salt, sizeof salt));
	const char *h = crypt_r(password, salt, cd);
	ck_assert(h && h[0] == '$');
	snprintf(out, outlen, "%s", h);
	free(cd);
}

START_TEST(test_basic_auth)
{
	char hash[128], val[256];
	struct srv v;
	struct resp r;
	make_bcrypt("s3cret pass", hash, sizeof hash);
	struct web_user users[] = {{(char *)"prometheus", hash}, {(char *)"other", hash}};
	struct web_header hdrs[] = {{(char *)"X-Frame-Options", (char *)"deny"},
				    {(char *)"X-Content-Type-Options", (char *)"nosniff"}};
	struct web_config w = {.users = users, .nusers = 2, .headers = hdrs, .nheaders = 2};
	srv_start_web(&v, 1, &w, 0, 0);
	v.st.ready = 1;

	struct req none = {NULL};
	do_req(&v, "/metrics", &none, &r);
	ck_assert_int_eq(r.status, 401);
	ck_assert(resp_header(&r, "WWW-Authenticate", val, sizeof val));
	ck_assert_str_eq(val, "Basic realm=\"persistence_exporter\"");
	ck_assert(resp_header(&r, "X-Frame-Options", val, sizeof val));
	ck_assert_int_eq(v.st.metrics_calls, 0);
	resp_free(&r);

	static const char *const wrong[] = {"prometheus:wrong", "prometheus:", "nobody:s3cret pass",
					    "Prometheus:s3cret pass", "prometheus:s3cret pass "};
	for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
		struct req q = {NULL, {NULL}, wrong[i]};
		do_req(&v, "/metrics", &q, &r);
		ck_assert_msg(r.status == 401, "%s got %ld", wrong[i], r.status);
		resp_free(&r);
	}
	static const char *const paths[] = {"/", "/status", "/-/ready", "/nope"};
	for (size_t i = 0; i < 4; i++)
		expect(&v, "GET", paths[i], 401);
	struct req post = {"POST"};
	do_req(&v, "/-/reload", &post, &r);
	ck_assert_int_eq(r.status, 401);
	ck_assert_int_eq(v.st.reloads, 0);
	resp_free(&r);
	expect(&v, "GET", "/-/healthy", 200);
	/* runbooks are open: whoever receives a page can open its link (they hold no secret) */
	expect(&v, "GET", "/runbooks/PVEBackupJobOverdue", 200);

	struct req ok = {NULL, {NULL}, "prometheus:s3cret pass"};
	do_req(&v, "/metrics", &ok, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(buf_str(&r.body), METRICS_BODY);
	ck_assert(resp_header(&r, "X-Frame-Options", val, sizeof val));
	ck_assert_str_eq(val, "deny");
	ck_assert(resp_header(&r, "X-Content-Type-Options", val, sizeof val));
	ck_assert_str_eq(val, "nosniff");
	ck_assert(resp_header(&r, "Content-Type", val, sizeof val));
	ck_assert_str_eq(val, "text/plain; version=0.0.4; charset=utf-8");
	resp_free(&r);
	/* after a success (cached), a wrong password still fails and the right one still works */
	for (int round = 0; round < 2; round++) {
		struct req bad = {NULL, {NULL}, "prometheus:s3cret pasS"};
		do_req(&v, "/metrics", &bad, &r);
		ck_assert_int_eq(r.status, 401);
		resp_free(&r);
		do_req(&v, "/metrics", &ok, &r);
		ck_assert_int_eq(r.status, 200);
		resp_free(&r);
	}
	do_req(&v, "/nope", &ok, &r);
	ck_assert_int_eq(r.status, 404);
	ck_assert(resp_header(&r, "X-Frame-Options", val, sizeof val));
	resp_free(&r);
	struct req okpost = {"POST", {NULL}, "other:s3cret pass"};
	do_req(&v, "/-/reload", &okpost, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(v.st.reloads, 1);
	resp_free(&r);
	http_stop(v.s);
}
END_TEST

START_TEST(test_web_config_rejected)
{
	char msg[256];
	char hash[128];
	struct stub st = {0};
	struct http_handlers h = stub_handlers(&st);
	struct http_server *s = NULL;
	make_bcrypt("x", hash, sizeof hash);
	struct web_user plain[] = {{(char *)"u", (char *)"plaintext-password"}};
	struct web_header ct[] = {{(char *)"content-type", (char *)"text/html"}};
	struct web_header crlf[] = {{(char *)"X-Frame-Options", (char *)"deny\r\nSet-Cookie: a=b"}};
	struct web_config bad[] = {
		{.users = plain, .nusers = 1},
		{.headers = ct, .nheaders = 1},
		{.headers = crlf, .nheaders = 1},
		{.cert_file = (char *)"/nonexistent/cert.pem",
		 .key_file = (char *)"/x",
		 .min_version = (char *)"TLS10"},
		{.cert_file = (char *)"/nonexistent/cert.pem",
		 .key_file = (char *)"/x",
		 .client_auth_type = (char *)"Sometimes"},
		{.cert_file = (char *)"/nonexistent/cert.pem"},
		{.key_file = (char *)"/nonexistent/key.pem"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct http_opts o = {"127.0.0.1:0", "/metrics", 0, &bad[i], 0, 0};
		msg[0] = '\0';
		ck_assert_msg(http_start(&o, &h, &s, msg, sizeof msg) == PE_CONFIG, "case %zu: %s", i, msg);
		ck_assert_ptr_null(s);
		ck_assert(msg[0] != '\0');
		ck_assert_ptr_null(strstr(msg, "plaintext-password"));
	}
	struct web_config missing = {.cert_file = (char *)"/nonexistent/cert.pem", .key_file = (char *)"/x"};
	struct http_opts o = {"127.0.0.1:0", "/metrics", 0, &missing, 0, 0};
	ck_assert_int_eq(http_start(&o, &h, &s, msg, sizeof msg), PE_IO);
	ck_assert_ptr_nonnull(strstr(msg, "/nonexistent/cert.pem"));
}
END_TEST

/* ---- hardening: connection limits, idle timeout, header cap ---- */

/* A connected TCP socket from src (e.g. "127.0.0.2") to the server; -1 on failure. */
static int raw_connect(const struct srv *v, const char *src)
{
	struct sockaddr_in a;
	struct timeval tv = {10, 0};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	inet_pton(AF_INET, src, &a.sin_addr);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	a.sin_port = htons(v->port);
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	return fd;
}

/* Sends a keep-alive request and reads its answer, so the connection is known to hold a slot. */
static int raw_keepalive(const struct srv *v, const char *src)
{
	static const char rq[] = "GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n";
	char in[1024];
	int fd = raw_connect(v, src);
	ck_assert_int_eq(send(fd, rq, sizeof rq - 1, MSG_NOSIGNAL), (ssize_t)(sizeof rq - 1));
	ssize_t n = recv(fd, in, sizeof in - 1, 0);
	ck_assert_int_gt(n, 0);
	in[n] = '\0';
	ck_assert_msg(strncmp(in, "HTTP/1.1 200", 12) == 0, "%s", in);
	return fd;
}

/* A second request on a kept-alive connection. */
static int raw_keepalive_again(int fd)
{
	static const char rq[] = "GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n";
	char in[1024];
	ck_assert_int_eq(send(fd, rq, sizeof rq - 1, MSG_NOSIGNAL), (ssize_t)(sizeof rq - 1));
	ssize_t n = recv(fd, in, sizeof in - 1, 0);
	ck_assert_int_gt(n, 0);
	in[n] = '\0';
	ck_assert_msg(strncmp(in, "HTTP/1.1 200", 12) == 0, "%s", in);
	return fd;
}

static long get_from(const struct srv *v, const char *iface)
{
	struct req q = {NULL, {NULL}, NULL, NULL, NULL, NULL, 0, iface, 3};
	struct resp r;
	do_req(v, "/-/healthy", &q, &r);
	long status = r.rc == CURLE_OK ? r.status : -1;
	resp_free(&r);
	return status;
}

START_TEST(test_connection_limit)
{
	struct srv v;
	int fds[4];
	srv_start_web(&v, 0, NULL, 4, 30);
	fds[0] = raw_keepalive(&v, "127.0.0.2");
	fds[1] = raw_keepalive(&v, "127.0.0.2");
	fds[2] = raw_keepalive(&v, "127.0.0.3");
	fds[3] = raw_keepalive(&v, "127.0.0.3");
	ck_assert_int_ne(get_from(&v, "host!127.0.0.1"), 200); /* refused or left waiting */
	close(raw_keepalive_again(fds[0])); /* a held connection is kept alive and still served */
	fds[0] = -1;
	for (int i = 1; i < 4; i++)
		close(fds[i]);
	long status = -1;
	for (int i = 0; i < 100 && status != 200; i++) {
		status = get_from(&v, "host!127.0.0.1");
		if (status != 200)
			usleep(50 * 1000);
	}
	ck_assert_int_eq(status, 200);
	http_stop(v.s);
}
END_TEST

START_TEST(test_per_ip_limit)
{
	struct srv v;
	srv_start_web(&v, 0, NULL, 4, 30);
	/* two slowloris connections from one address: half the slots */
	int a = raw_connect(&v, "127.0.0.1"), b = raw_connect(&v, "127.0.0.1");
	ck_assert_int_eq(send(a, "GET / HTTP/1.1\r\nHo", 18, MSG_NOSIGNAL), 18);
	ck_assert_int_eq(send(b, "GET / HTTP/1.1\r\nHo", 18, MSG_NOSIGNAL), 18);
	usleep(200 * 1000);
	ck_assert_int_ne(get_from(&v, "host!127.0.0.1"), 200);
	ck_assert_int_eq(get_from(&v, "host!127.0.0.2"), 200);
	close(a);
	close(b);
	http_stop(v.s);
}
END_TEST

START_TEST(test_idle_timeout_and_header_cap)
{
	struct srv v;
	char in[512];
	srv_start_web(&v, 0, NULL, 8, 1);
	int fd = raw_connect(&v, "127.0.0.1");
	ck_assert_int_eq(send(fd, "GET / HTTP/1.1\r\n", 16, MSG_NOSIGNAL), 16);
	ssize_t n = recv(fd, in, sizeof in, 0); /* SO_RCVTIMEO 10 s: a generous bound on a 1 s deadline */
	ck_assert_msg(n >= 0, "idle connection not closed by the server");
	close(fd);

	fd = raw_connect(&v, "127.0.0.1");
	struct buf big;
	buf_init(&big, 0);
	(void)buf_adds(&big, "GET /-/healthy HTTP/1.1\r\nHost: x\r\nX-Big: ");
	for (int i = 0; i < 64 * 1024; i++)
		(void)buf_addc(&big, 'a');
	(void)buf_adds(&big, "\r\n\r\n");
	(void)send(fd, big.data, big.len, MSG_NOSIGNAL);
	n = recv(fd, in, sizeof in - 1, 0);
	if (n > 0) {
		in[n] = '\0';
		ck_assert_msg(strncmp(in, "HTTP/1.1 200", 12) != 0, "oversized header accepted");
	}
	close(fd);
	buf_free(&big);

	/* a request body is dropped, and cut off past its cap (no route takes one) */
	fd = raw_connect(&v, "127.0.0.1");
	static const char post[] = "POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n";
	char chunk[8192];
	memset(chunk, 'a', sizeof chunk);
	ck_assert_int_eq(send(fd, post, sizeof post - 1, MSG_NOSIGNAL), (ssize_t)(sizeof post - 1));
	for (int i = 0; i < 64; i++)
		if (send(fd, chunk, sizeof chunk, MSG_NOSIGNAL) < 0)
			break;
	n = recv(fd, in, sizeof in - 1, 0);
	ck_assert_msg(n <= 0, "an oversized body got an answer");
	close(fd);
	expect(&v, "GET", "/-/healthy", 200);
	http_stop(v.s);
}
END_TEST

/* ---- TLS ---- */

struct tls_dir {
	char path[64];
	char cert[128], key[128], ca[128], ccert[128], ckey[128];
};

static void sh(const char *dir, const char *cmd)
{
	char full[1024];
	snprintf(full, sizeof full, "cd '%s' && ( %s ) >/dev/null 2>&1", dir, cmd);
	ck_assert_msg(system(full) == 0, "command failed: %s", cmd);
}

/* Server cert for 127.0.0.1, a CA and a client cert it signed, made with the openssl CLI. */
static void tls_make(struct tls_dir *t)
{
	ck_assert_msg(system("command -v openssl >/dev/null 2>&1") == 0,
		      "the openssl CLI is missing (apt-get install openssl): TLS tests cannot run");
	snprintf(t->path, sizeof t->path, "/tmp/pe_http_tls_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(t->path));
	sh(t->path, "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
		    "-keyout key.pem -out cert.pem -subj /CN=localhost "
		    "-addext subjectAltName=IP:127.0.0.1,DNS:localhost");
	sh(t->path, "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
		    "-keyout ca.key -out ca.pem -subj /CN=pe-test-ca");
	sh(t->path, "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
		    "-keyout client.key -out client.csr -subj /CN=scraper && "
		    "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
		    "-out client.pem");
	snprintf(t->cert, sizeof t->cert, "%s/cert.pem", t->path);
	snprintf(t->key, sizeof t->key, "%s/key.pem", t->path);
	snprintf(t->ca, sizeof t->ca, "%s/ca.pem", t->path);
	snprintf(t->ccert, sizeof t->ccert, "%s/client.pem", t->path);
	snprintf(t->ckey, sizeof t->ckey, "%s/client.key", t->path);
}

static void tls_clean(struct tls_dir *t)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->path);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_tls)
{
	struct tls_dir t;
	struct srv v;
	struct resp r;
	char val[256];
	tls_make(&t);
	struct web_config w = {.cert_file = t.cert, .key_file = t.key};
	srv_start_web(&v, 0, &w, 0, 0);
	struct req q = {NULL, {NULL}, NULL, t.cert};
	do_req(&v, "/metrics", &q, &r);
	ck_assert_msg(r.rc == CURLE_OK, "%s", curl_easy_strerror(r.rc));
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(buf_str(&r.body), METRICS_BODY);
	ck_assert(resp_header(&r, "Content-Type", val, sizeof val));
	resp_free(&r);
	struct req q12 = {NULL,
			  {NULL},
			  NULL,
			  t.cert,
			  NULL,
			  NULL,
			  CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_TLSv1_2};
	do_req(&v, "/metrics", &q12, &r);
	ck_assert_int_eq(r.status, 200); /* TLS12 is the default minimum */
	resp_free(&r);
	struct req noca = {NULL};
	do_req(&v, "/metrics", &noca, &r); /* self-signed: verification must fail */
	ck_assert_int_ne(r.rc, CURLE_OK);
	resp_free(&r);
	snprintf(v.base, sizeof v.base, "http://127.0.0.1:%u", v.port);
	do_req(&v, "/metrics", &noca, &r);
	ck_assert(r.rc != CURLE_OK || r.status != 200);
	resp_free(&r);
	http_stop(v.s);

	w.min_version = (char *)"TLS13";
	srv_start_web(&v, 0, &w, 0, 0);
	do_req(&v, "/metrics", &q12, &r);
	ck_assert_int_ne(r.rc, CURLE_OK);
	ck_assert_int_eq(v.st.metrics_calls, 0);
	resp_free(&r);
	do_req(&v, "/metrics", &q, &r);
	ck_assert_int_eq(r.rc, CURLE_OK);
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);
	http_stop(v.s);
	tls_clean(&t);
}
END_TEST

START_TEST(test_tls_client_cert)
{
	struct tls_dir t;
	struct srv v;
	struct resp r;
	char msg[256];
	tls_make(&t);
	struct web_config w = {.cert_file = t.cert,
			       .key_file = t.key,
			       .client_ca_file = t.ca,
			       .client_auth_type = (char *)"RequireAndVerifyClientCert"};
	srv_start_web(&v, 0, &w, 0, 0);
	struct req nocert = {NULL, {NULL}, NULL, t.cert};
	do_req(&v, "/metrics", &nocert, &r);
	ck_assert(r.rc != CURLE_OK || r.status == 403);
	resp_free(&r);
	struct req wrong = {NULL, {NULL}, NULL, t.cert, t.cert, t.key}; /* not signed by the CA */
	do_req(&v, "/metrics", &wrong, &r);
	ck_assert(r.rc != CURLE_OK || r.status == 403);
	resp_free(&r);
	ck_assert_int_eq(v.st.metrics_calls, 0);
	do_req(&v, "/-/healthy", &nocert, &r);
	ck_assert(r.rc != CURLE_OK || r.status == 403);
	resp_free(&r);
	struct req good = {NULL, {NULL}, NULL, t.cert, t.ccert, t.ckey};
	do_req(&v, "/metrics", &good, &r);
	ck_assert_msg(r.rc == CURLE_OK, "%s", curl_easy_strerror(r.rc));
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);
	http_stop(v.s);

	/* garbage PEM: start fails with a message, no crash */
	struct web_config g = {.cert_file = t.ca, .key_file = t.ccert};
	struct stub st = {0};
	struct http_handlers h = stub_handlers(&st);
	struct http_server *s = NULL;
	struct http_opts o = {"127.0.0.1:0", "/metrics", 0, &g, 0, 0};
	ck_assert_int_eq(http_start(&o, &h, &s, msg, sizeof msg), PE_TLS);
	ck_assert_ptr_null(s);
	tls_clean(&t);
}
END_TEST

static Suite *http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_routes_and_methods);
	tcase_add_test(tc, test_metrics_content_and_args);
	tcase_add_test(tc, test_custom_telemetry_path);
	tcase_add_test(tc, test_gzip);
	tcase_add_test(tc, test_ready_and_reload);
	tcase_add_test(tc, test_handler_error);
	tcase_add_test(tc, test_parse_collect);
	tcase_add_test(tc, test_listen_addresses);
	tcase_add_test(tc, test_basic_auth);
	tcase_add_test(tc, test_web_config_rejected);
	tcase_add_test(tc, test_connection_limit);
	tcase_add_test(tc, test_per_ip_limit);
	tcase_add_test(tc, test_idle_timeout_and_header_cap);
	tcase_add_test(tc, test_tls);
	tcase_add_test(tc, test_tls_client_cert);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (getenv("PE_TEST_DEBUG"))
		log_setup(LOG_LVL_DEBUG, LOG_FMT_LOGFMT);
	SRunner *sr = srunner_create(http_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	curl_global_cleanup();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
