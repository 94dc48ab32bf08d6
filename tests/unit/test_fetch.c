/* test_fetch.c - fetch against a local test server: bodies, deadlines, caps, redirects, TLS trust, unix sockets. */
#include <check.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fetch.h"

#define SECRET "s3cr3t-DO-NOT-LEAK-7f3a"
#define AUTH "Authorization: Bearer " SECRET

/* One running fetch_server.py. */
struct server {
	pid_t pid;
	int port; /* 0 for the unix-socket server */
	char log[300]; /* its request log */
};

/* Fixture state, set up once in main() before any test runs (and before Check forks). */
static char g_dir[64]; /* temp dir: certs, logs, socket */
static char g_setup_err[512]; /* why the fixture failed; every test asserts it is empty */
static char g_fp[128]; /* leaf SHA-256 fingerprint as openssl prints it */
static char g_ca[300], g_other_ca[300], g_sock[300];
static struct server g_http, g_https, g_unix;

static void setup_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void setup_fail(const char *fmt, ...)
{
	va_list ap;

	if (g_setup_err[0])
		return;
	va_start(ap, fmt);
	vsnprintf(g_setup_err, sizeof(g_setup_err), fmt, ap);
	va_end(ap);
}

/* Runs a shell command; records a setup failure when it does not exit 0. */
static int sh(const char *cmd)
{
	int rc = system(cmd);
	if (rc != 0)
		setup_fail("command failed: %s", cmd);
	return rc == 0;
}

static int require_tool(const char *name)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", name);
	if (system(cmd) != 0) {
		setup_fail("%s is required by test_fetch but was not found (run deploy/install-deps.sh)",
			   name);
		return 0;
	}
	return 1;
}

/* A throwaway CA, a leaf for 127.0.0.1/localhost signed by it, an unrelated CA, and the leaf fingerprint. */
static int make_certs(void)
{
	char cmd[2048];
	const char *ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";

	snprintf(cmd, sizeof(cmd),
		 "cd %s && exec 2>>openssl.log && "
		 "openssl req -x509 %s -keyout ca.key -out ca.pem -days 2 -subj /CN=pe-test-ca && "
		 "openssl req -x509 %s -keyout other.key -out other-ca.pem -days 2 -subj /CN=pe-other-ca && "
		 "openssl req %s -keyout leaf.key -out leaf.csr -subj /CN=localhost && "
		 "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\nbasicConstraints=CA:FALSE\\n"
		 "extendedKeyUsage=serverAuth\\n' > leaf.ext && "
		 "openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
		 "-extfile leaf.ext -out leaf.pem && "
		 "openssl x509 -noout -fingerprint -sha256 -in leaf.pem > leaf.fp",
		 g_dir, ec, ec, ec);
	if (!sh(cmd))
		return 0;
	snprintf(cmd, sizeof(cmd), "%s/leaf.fp", g_dir);
	FILE *f = fopen(cmd, "r");
	char line[256] = "";
	if (!f || !fgets(line, sizeof(line), f) || !strchr(line, '=')) {
		if (f)
			fclose(f);
		setup_fail("cannot read the fingerprint from %s", cmd);
		return 0;
	}
	fclose(f);
	snprintf(g_fp, sizeof(g_fp), "%s", strchr(line, '=') + 1);
	g_fp[strcspn(g_fp, "\r\n")] = '\0';
	snprintf(g_ca, sizeof(g_ca), "%s/ca.pem", g_dir);
	snprintf(g_other_ca, sizeof(g_other_ca), "%s/other-ca.pem", g_dir);
	return 1;
}

/* Starts fetch_server.py with extra arguments and waits for its port file. */
static int server_start(struct server *s, const char *name, const char *a1, const char *a2, const char *a3,
			const char *a4)
{
	const char *src = getenv("SRCDIR") ? getenv("SRCDIR") : ".";
	char script[300], pfile[300];

	snprintf(script, sizeof(script), "%s/tests/unit/fetch_server.py", src);
	snprintf(pfile, sizeof(pfile), "%s/%s.port", g_dir, name);
	snprintf(s->log, sizeof(s->log), "%s/%s.log", g_dir, name);
	s->pid = fork();
	if (s->pid == 0) {
		execlp("python3", "python3", script, "--port-file", pfile, "--log", s->log, a1, a2, a3, a4,
		       (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200 && s->pid > 0; i++) {
		FILE *f = fopen(pfile, "r");
		char line[32] = "";
		if (f) {
			int ok = fgets(line, sizeof(line), f) != NULL;
			fclose(f);
			if (ok) {
				s->port = (int)strtol(line, NULL, 10);
				return 1;
			}
		}
		int st;
		if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
			s->pid = 0;
			break;
		}
		usleep(50 * 1000);
	}
	setup_fail("fetch_server.py (%s) did not start: is python3 installed? is SRCDIR set?", name);
	return 0;
}

static void server_stop(struct server *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
}

static void fixture_up(void)
{
	char tmpl[] = "/tmp/pe-fetch-XXXXXX";
	char cert[300], key[300];

	if (!mkdtemp(tmpl)) {
		setup_fail("mkdtemp failed: %s", strerror(errno));
		return;
	}
	snprintf(g_dir, sizeof(g_dir), "%s", tmpl);
	if (!require_tool("python3") || !require_tool("openssl") || !make_certs())
		return;
	snprintf(cert, sizeof(cert), "%s/leaf.pem", g_dir);
	snprintf(key, sizeof(key), "%s/leaf.key", g_dir);
	snprintf(g_sock, sizeof(g_sock), "%s/docker.sock", g_dir);
	if (!server_start(&g_http, "http", NULL, NULL, NULL, NULL) ||
	    !server_start(&g_https, "https", "--tls-cert", cert, "--tls-key", key) ||
	    !server_start(&g_unix, "unix", "--unix", g_sock, NULL, NULL))
		return;
	if (fetch_global_init() != PE_OK)
		setup_fail("%s", "fetch_global_init failed");
}

static void fixture_down(void)
{
	char cmd[128];

	server_stop(&g_http);
	server_stop(&g_https);
	server_stop(&g_unix);
	fetch_global_cleanup();
	if (g_dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "test_fetch: could not remove %s\n", g_dir);
	}
}

/* Per-test helpers. */

static void need_fixture(void)
{
	ck_assert_msg(g_setup_err[0] == '\0', "fixture: %s", g_setup_err);
}

static struct fetch_target target(const char *scheme, const struct server *s, char *url, size_t n)
{
	snprintf(url, n, "%s://127.0.0.1:%d", scheme, s->port);
	return (struct fetch_target){.base_url = url, .auth_header = AUTH, .timeout = 10};
}

static void assert_no_secret(const struct fetch_resp *r)
{
	ck_assert_msg(strstr(r->err, SECRET) == NULL, "secret leaked into err: %s", r->err);
	ck_assert_msg(strstr(r->err, "Bearer") == NULL, "auth header leaked into err: %s", r->err);
}

/* 1 when the server's request log holds a line containing needle. */
static int server_saw(const struct server *s, const char *needle)
{
	FILE *f = fopen(s->log, "r");
	char line[1024];
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Parses an /echo answer; the caller deletes it. */
static cJSON *echo_doc(const struct fetch_resp *r)
{
	cJSON *doc = cJSON_Parse(buf_str(&r->body));
	ck_assert_msg(doc != NULL, "echo answer is not JSON: %s", buf_str(&r->body));
	return doc;
}

static const char *jstr(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(v) ? v->valuestring : "(absent)";
}

/* Plain HTTP. */

START_TEST(test_get_json)
{
	char url[64];
	struct fetch_target t;
	struct fetch_resp r;

	need_fixture();
	t = target("http", &g_http, url, sizeof(url));
	fetch_resp_init(&r);
	ck_assert_int_eq(fetch_request(&t, "GET", "/json", NULL, 0, &r), PE_OK);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(buf_str(&r.body), "{\"data\":[1,2,3]}");
	ck_assert_uint_eq(r.body.len, 16);
	ck_assert_str_eq(r.content_type, "application/json; charset=utf-8");
	ck_assert_str_eq(r.err, "");
	fetch_resp_free(&r);
}
END_TEST

START_TEST(test_post_form_and_auth_header)
{
	char url[64];
	struct fetch_target t;
	struct fetch_resp r;

	need_fixture();
	t = target("http", &g_http, url, sizeof(url));
	fetch_resp_init(&r);
	ck_assert_int_eq(fetch_request(&t, "POST", "/echo?x=1", "a=1&b=x%20y", 0, &r), PE_OK);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.err, "");
	cJSON *doc = echo_doc(&r);
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(doc, "headers");
	ck_assert_str_eq(jstr(doc, "method"), "POST");
	ck_assert_str_eq(jstr(doc, "path"), "/echo?x=1");
	ck_assert_str_eq(jstr(doc, "body"), "a=1&b=x%20y");
	ck_assert_str_eq(jstr(h, "authorization"), "Bearer " SECRET);
	ck_assert_str_eq(jstr(h, "content-type"), "application/x-www-form-urlencoded");
	cJSON_Delete(doc);

	/* GET sends the header too, and no body. */
	ck_assert_int_eq(fetch_request(&t, "GET", "/echo", NULL, 0, &r), PE_OK);
	doc = echo_doc(&r);
	h = cJSON_GetObjectItemCaseSensitive(doc, "headers");
	ck_assert_str_eq(jstr(doc, "method"), "GET");
	ck_assert_str_eq(jstr(doc, "body"), "");
	ck_assert_str_eq(jstr(h, "authorization"), "Bearer " SECRET);
	cJSON_Delete(doc);

	/* PUT carries a form like POST; DELETE has its parameters in the query and no body. */
	ck_assert_int_eq(fetch_request(&t, "PUT", "/echo", "net0=virtio%2Clink_down%3D1", 0, &r), PE_OK);
	doc = echo_doc(&r);
	ck_assert_str_eq(jstr(doc, "method"), "PUT");
	ck_assert_str_eq(jstr(doc, "body"), "net0=virtio%2Clink_down%3D1");
	cJSON_Delete(doc);
	ck_assert_int_eq(fetch_request(&t, "DELETE", "/echo?purge=1", NULL, 0, &r), PE_OK);
	doc = echo_doc(&r);
	ck_assert_str_eq(jstr(doc, "method"), "DELETE");
	ck_assert_str_eq(jstr(doc, "path"), "/echo?purge=1");
	ck_assert_str_eq(jstr(doc, "body"), "");
	cJSON_Delete(doc);
	fetch_resp_free(&r);
}
END_TEST

START_TEST(test_timeout_argument_wins_when_smaller)
{
	char url[64];
	struct fetch_target t;
	struct fetch_resp r;

	need_fixture();
	t = target("http", &g_http, url, sizeof(url));
	t.timeout = 30;
	fetch_resp_init(&r);
	double t0 = now_s();
	ck_assert_int_eq(fetch_request(&t, "GET", "/slow?delay=5", NULL, 1.0, &r), PE_TIMEOUT);
	double took = now_s() - t0;
	ck_assert_msg(took < 4.0, "a 1 s deadline took %.1f s", took);
	ck_assert_str_eq(r.err, "timed out after 1.0 s");
	ck_assert_int_eq(r.status, 0);
	assert_no_secret(&r);
	fetch_resp_free(&r);
}
END_TEST

START_TEST(test_timeout_target_wins_when_smaller)
{
	char url[64];
	struct fetch_target t;
	struct fetch_resp r;

	need_fixture();
	t = target("http", &g_http, url, sizeof(url));
	t.timeout = 1;
	fetch_resp_init(&r);
	double t0 = now_s();
	ck_assert_int_eq(fetch_request(&t, "GET", "/slow?delay=5", NULL, 30, &r), PE_TIMEOUT);
	ck_assert_msg(now_s() - t0 < 4.0, "the target's 1 s deadline was not honoured");
	ck_assert_str_eq(r.err, "timed out after 1.0 s");
	assert_no_secret(&r);
	fetch_resp_free(&r);
}
END_TEST

START_TEST(test_size_cap)
{
	static const char *const paths[] = {"/big?n=5000", "/stream?n=5000"};
	char url[64];
	struct fetch_target t;
	struct fetch_resp r;

	need_fixture();
	t = target("http", &g_http, url, sizeof(url));
	t.max_body = 1024;
	fetch_resp_init(&r);
	/* Declared by Content-Length (rejected early) and undeclared (cut in the write callback). */
	for (size_t i = 0; i < 2; i++) {
		ck_assert_int_eq(fetch_request(&t, "GET", paths[i], NULL, 0, &r), PE_TOOBIG);
		ck_assert_str_eq(r.err, "response larger than 1024 bytes");
		ck_assert_uint_eq(r.body.len, 0);
		assert_no_secret(&r);
	}
	/* Exactly at the cap is fine. */
	ck_assert_int_eq(fetch_request(&t, "GET", "/big?n=1024", NULL, 0, &r), PE_OK);
	ck_assert_uint_eq(r.body.len, 1024);
	ck_assert_int_eq(fetch_request(&t, "GET", "/stream?n=1024", NULL, 0, &r), PE_OK);
	ck_assert_uint_eq(r.body.len, 1024);
	ck_assert_str_eq(r.err, "");
	fetch_resp_free(&r);
}
END_TEST

START_TEST(test_default_cap_is_16mib)
{
	char url[64];
	struct fetch_target t;
	struct fetch_resp r;

	need_fixture();
	t = target("http", &g_http, url, sizeof(url));
	fetch_resp_init(&r);
	ck_assert_int_eq(fetch_request(&t, "GET", "/big?n=16777217", NULL, 0, &r), PE_TOOBIG);
	ck_assert_str_eq(r.err, "response larger than 16777216 bytes");
	fetch_resp_free(&r);
}
END_TEST

START_TEST(test_redirect_not_followed)
{
	char url[64];
	struct fetch_target t;
	struct fetch_resp r;

	need_fixture();
	t = target("http", &g_http, url, sizeof(url));
	fetch_resp_init(&r);
	ck_assert_int_eq(fetch_request(&t, "GET", "/redirect", NULL, 0, &r), PE_OK);
	ck_assert_int_eq(r.status, 302);
	ck_assert_str_eq(buf_str(&r.body), "redirecting");
	ck_assert_str_eq(r.content_type, "text/plain");
	ck_assert_msg(server_saw(&g_http, "GET /redirect"), "request log does not work");
	ck_assert_msg(!server_saw(&g_http, "from=redirect"), "the redirect was followed");
	fetch_resp_free(&r);
}
END_TEST

START_TEST(test_connection_refused)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	char url[64], want[128];
	struct fetch_resp r;

	need_fixture();
	/* A bound socket that never listens: connecting to it is refused, and no one else can take the port. */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(sa.sin_port));
	struct fetch_target t = {.base_url = url, .auth_header = AUTH, .timeout = 5};
	fetch_resp_init(&r);
	ck_assert_int_eq(fetch_request(&t, "GET", "/json", NULL, 0, &r), PE_CONNECT);
	snprintf(want, sizeof(want), "connect to 127.0.0.1:%d failed: Connection refused",
		 ntohs(sa.sin_port));
	ck_assert_str_eq(r.err, want);
	ck_assert_int_eq(r.status, 0);
	assert_no_secret(&r);
	close(fd);
	fetch_resp_free(&r);
}
END_TEST

START_TEST(test_bad_arguments)
{
	char url[64];
	struct fetch_target t;
	struct fetch_resp r;

	need_fixture();
	t = target("http", &g_http, url, sizeof(url));
	fetch_resp_init(&r);
	ck_assert_int_eq(fetch_request(&t, "GET", "json", NULL, 0, &r), PE_INVAL);
	ck_assert_int_eq(fetch_request(&t, "GET", "/a b", NULL, 0, &r), PE_INVAL);
	ck_assert_int_eq(fetch_request(&t, "PATCH", "/json", NULL, 0, &r), PE_INVAL);
	ck_assert_msg(!server_saw(&g_http, "PATCH "), "a PATCH reached the server");
	/* A header value with a line break would inject headers: refused, without quoting it. */
	t.auth_header = AUTH "\r\nX-Evil: 1";
	ck_assert_int_eq(fetch_request(&t, "GET", "/echo?case=crlf", NULL, 0, &r), PE_INVAL);
	assert_no_secret(&r);
	ck_assert_msg(!server_saw(&g_http, "case=crlf"), "a request with a broken header was sent");
	/* Only http and https are spoken. */
	t = (struct fetch_target){.base_url = "file:///etc", .timeout = 5};
	ck_assert_int_eq(fetch_request(&t, "GET", "/passwd", NULL, 0, &r), PE_INVAL);
	ck_assert_uint_eq(r.body.len, 0);
	fetch_resp_free(&r);
}
END_TEST

START_TEST(test_resp_reuse_and_trailing_slash)
{
	char url[64];
	struct fetch_target t;
	struct fetch_resp r;

	need_fixture();
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", g_http.port);
	t = (struct fetch_target){.base_url = url, .timeout = 5, .max_body = 4000};
	fetch_resp_init(&r);
	ck_assert_int_eq(fetch_request(&t, "GET", "/big?n=5000", NULL, 0, &r), PE_TOOBIG);
	ck_assert_str_ne(r.err, "");
	/* The same resp again: every field reflects the new answer only. */
	ck_assert_int_eq(fetch_request(&t, "GET", "/echo", NULL, 0, &r), PE_OK);
	ck_assert_str_eq(r.err, "");
	ck_assert_int_eq(r.status, 200);
	cJSON *doc = echo_doc(&r);
	ck_assert_str_eq(jstr(doc, "path"), "/echo");
	ck_assert_str_eq(jstr(cJSON_GetObjectItemCaseSensitive(doc, "headers"), "authorization"), "(absent)");
	cJSON_Delete(doc);
	fetch_resp_free(&r);
}
END_TEST

START_TEST(test_urlencode)
{
	struct buf b;

	buf_init(&b, 0);
	fetch_urlencode(&b, "AZaz09-._~ &=/?+%\xc3\xa9\"");
	ck_assert_str_eq(buf_str(&b), "AZaz09-._~%20%26%3D%2F%3F%2B%25%C3%A9%22");
	buf_reset(&b);
	fetch_urlencode(&b, "");
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(buf_err(&b), PE_OK);
	buf_free(&b);
}
END_TEST

/* HTTPS with a throwaway CA. */

START_TEST(test_https_default_verification_fails)
{
	char url[64];
	struct fetch_target t;
	struct fetch_resp r;

	need_fixture();
	t = target("https", &g_https, url, sizeof(url));
	fetch_resp_init(&r);
	ck_assert_int_eq(fetch_request(&t, "GET", "/echo?case=untrusted", NULL, 0, &r), PE_TLS);
	ck_assert_msg(strncmp(r.err, "TLS: ", 5) == 0, "err: %s", r.err);
	ck_assert_int_eq(r.status, 0);
	assert_no_secret(&r);
	ck_assert_msg(!server_saw(&g_https, "case=untrusted"), "a request went to an unverified server");
	fetch_resp_free(&r);
}
END_TEST

START_TEST(test_https_ca_file)
{
	char url[64];
	struct fetch_target t;
	struct fetch_resp r;

	need_fixture();
	t = target("https", &g_https, url, sizeof(url));
	t.ca_file = g_ca;
	fetch_resp_init(&r);
	ck_assert_int_eq(fetch_request(&t, "GET", "/json", NULL, 0, &r), PE_OK);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(buf_str(&r.body), "{\"data\":[1,2,3]}");
	/* By name too: the leaf has DNS:localhost. */
	snprintf(url, sizeof(url), "https://localhost:%d", g_https.port);
	ck_assert_int_eq(fetch_request(&t, "GET", "/json", NULL, 0, &r), PE_OK);
	/* Another CA does not vouch for this leaf. */
	t.ca_file = g_other_ca;
	ck_assert_int_eq(fetch_request(&t, "GET", "/json?case=otherca", NULL, 0, &r), PE_TLS);
	assert_no_secret(&r);
	ck_assert_msg(!server_saw(&g_https, "case=otherca"), "a request went to an unverified server");
	fetch_resp_free(&r);
}
END_TEST

/* Lower-case, colon-free spelling of a fingerprint. */
static void fp_compact(const char *in, char *out, size_t n)
{
	size_t j = 0;
	for (size_t i = 0; in[i] && j + 1 < n; i++)
		if (in[i] != ':')
			out[j++] = (char)(in[i] >= 'A' && in[i] <= 'F' ? in[i] - 'A' + 'a' : in[i]);
	out[j] = '\0';
}

START_TEST(test_https_fingerprint_ok)
{
	char url[64], compact[80];
	struct fetch_target t;
	struct fetch_resp r;

	need_fixture();
	t = target("https", &g_https, url, sizeof(url));
	t.fingerprint = g_fp;
	fetch_resp_init(&r);
	ck_assert_int_eq(fetch_request(&t, "POST", "/echo?case=rightfp", "k=v", 0, &r), PE_OK);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.err, "");
	cJSON *doc = echo_doc(&r);
	ck_assert_str_eq(jstr(cJSON_GetObjectItemCaseSensitive(doc, "headers"), "authorization"),
			 "Bearer " SECRET);
	ck_assert_str_eq(jstr(doc, "body"), "k=v");
	cJSON_Delete(doc);
	ck_assert_msg(server_saw(&g_https, "POST /echo?case=rightfp"), "request log does not work");

	fp_compact(g_fp, compact, sizeof(compact));
	ck_assert_uint_eq(strlen(compact), 64);
	t.fingerprint = compact;
	ck_assert_int_eq(fetch_request(&t, "GET", "/json", NULL, 0, &r), PE_OK);
	ck_assert_int_eq(r.status, 200);
	fetch_resp_free(&r);
}
END_TEST

START_TEST(test_https_fingerprint_mismatch)
{
	char url[64], wrong[128], want[400];
	struct fetch_target t;
	struct fetch_resp r;

	need_fixture();
	snprintf(wrong, sizeof(wrong), "%s", g_fp);
	wrong[0] = wrong[0] == '0' ? '1' : '0';
	t = target("https", &g_https, url, sizeof(url));
	t.fingerprint = wrong;
	fetch_resp_init(&r);
	ck_assert_int_eq(fetch_request(&t, "POST", "/echo?case=wrongfp", "password=hunter2", 0, &r), PE_TLS);
	snprintf(want, sizeof(want), "TLS: certificate fingerprint mismatch: got %s, want %s", g_fp, wrong);
	ck_assert_str_eq(r.err, want);
	ck_assert_int_eq(r.status, 0);
	assert_no_secret(&r);
	ck_assert_msg(!server_saw(&g_https, "case=wrongfp"),
		      "the request reached a server that failed the pin");

	/* A pin also overrides a CA file that would have accepted the server. */
	t.ca_file = g_ca;
	ck_assert_int_eq(fetch_request(&t, "GET", "/echo?case=wrongfp2", NULL, 0, &r), PE_TLS);
	ck_assert_msg(!server_saw(&g_https, "case=wrongfp2"),
		      "the request reached a server that failed the pin");
	fetch_resp_free(&r);
}
END_TEST

START_TEST(test_fingerprint_malformed)
{
	static const char *const bad[] = {"AB:CD", "zz", "", "AB:CD:EF:GH"};
	char url[64], longer[200];
	struct fetch_target t;
	struct fetch_resp r;

	need_fixture();
	t = target("https", &g_https, url, sizeof(url));
	fetch_resp_init(&r);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t.fingerprint = bad[i];
		enum perr e = fetch_request(&t, "GET", "/json?case=badfp", NULL, 0, &r);
		/* "" means no pin: plain verification, which this server fails. */
		ck_assert_int_eq(e, bad[i][0] ? PE_INVAL : PE_TLS);
		ck_assert_str_ne(r.err, "");
	}
	snprintf(longer, sizeof(longer), "%s:00", g_fp);
	t.fingerprint = longer;
	ck_assert_int_eq(fetch_request(&t, "GET", "/json?case=badfp", NULL, 0, &r), PE_INVAL);
	ck_assert_msg(!server_saw(&g_https, "case=badfp"), "a request went out with a malformed pin");
	fetch_resp_free(&r);
}
END_TEST

START_TEST(test_https_insecure)
{
	char url[64];
	struct fetch_target t;
	struct fetch_resp r;

	need_fixture();
	t = target("https", &g_https, url, sizeof(url));
	t.insecure = 1;
	fetch_resp_init(&r);
	ck_assert_int_eq(fetch_request(&t, "GET", "/json", NULL, 0, &r), PE_OK);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.content_type, "application/json; charset=utf-8");
	fetch_resp_free(&r);
}
END_TEST

/* Concurrent callers share nothing: pinned HTTPS and plain HTTP from several threads at once. */
static void *fetch_worker(void *arg)
{
	const struct fetch_target *t = arg;
	struct fetch_resp r;
	long ok = 0;

	fetch_resp_init(&r);
	for (int i = 0; i < 5; i++)
		ok += fetch_request(t, "GET", "/json", NULL, 0, &r) == PE_OK && r.status == 200 &&
		      strcmp(buf_str(&r.body), "{\"data\":[1,2,3]}") == 0;
	fetch_resp_free(&r);
	return (void *)ok;
}

START_TEST(test_concurrent_requests)
{
	char url_s[64], url_p[64];
	struct fetch_target ts, tp;
	pthread_t th[6];

	need_fixture();
	ts = target("https", &g_https, url_s, sizeof(url_s));
	ts.fingerprint = g_fp;
	tp = target("http", &g_http, url_p, sizeof(url_p));
	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, fetch_worker, i % 2 ? &ts : &tp), 0);
	for (int i = 0; i < 6; i++) {
		void *ok = NULL;
		ck_assert_int_eq(pthread_join(th[i], &ok), 0);
		ck_assert_int_eq((long)ok, 5);
	}
}
END_TEST

/* Docker-style unix socket. */

START_TEST(test_unix_socket)
{
	struct fetch_target t = {.base_url = "http://localhost", .unix_socket = g_sock, .timeout = 5};
	struct fetch_resp r;

	need_fixture();
	fetch_resp_init(&r);
	ck_assert_int_eq(fetch_request(&t, "GET", "/json", NULL, 0, &r), PE_OK);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(buf_str(&r.body), "{\"data\":[1,2,3]}");
	ck_assert_msg(server_saw(&g_unix, "GET /json"), "the unix server did not see the request");
	ck_assert_int_eq(fetch_request(&t, "GET", "/echo", NULL, 0, &r), PE_OK);
	cJSON *doc = echo_doc(&r);
	ck_assert_str_eq(jstr(cJSON_GetObjectItemCaseSensitive(doc, "headers"), "host"), "localhost");
	cJSON_Delete(doc);
	fetch_resp_free(&r);
}
END_TEST

START_TEST(test_unix_socket_missing)
{
	char path[400], want[512];
	struct fetch_resp r;

	need_fixture();
	snprintf(path, sizeof(path), "%s/absent.sock", g_dir);
	struct fetch_target t = {
		.base_url = "http://localhost", .unix_socket = path, .auth_header = AUTH, .timeout = 5};
	fetch_resp_init(&r);
	ck_assert_int_eq(fetch_request(&t, "GET", "/json", NULL, 0, &r), PE_CONNECT);
	snprintf(want, sizeof(want), "connect to unix socket %s failed: No such file or directory", path);
	ck_assert_str_eq(r.err, want);
	assert_no_secret(&r);

	/* Defence in depth: a message that would quote the secret (here via the path) is withheld. */
	snprintf(path, sizeof(path), "%s/tok-0123456789abcdef.sock", g_dir);
	t.auth_header = "Authorization: PVEAPIToken=monitor@pve!exporter=tok-0123456789abcdef";
	ck_assert_int_eq(fetch_request(&t, "GET", "/json", NULL, 0, &r), PE_CONNECT);
	ck_assert_msg(strstr(r.err, "tok-0123456789abcdef") == NULL, "secret in err: %s", r.err);
	ck_assert_str_eq(r.err, "request failed (message withheld: it quoted a credential)");
	fetch_resp_free(&r);
}
END_TEST

static Suite *fetch_suite(void)
{
	Suite *s = suite_create("fetch");
	TCase *http = tcase_create("http");
	TCase *tls = tcase_create("tls");
	TCase *unix_tc = tcase_create("unix");

	tcase_set_timeout(http, 30);
	tcase_add_test(http, test_get_json);
	tcase_add_test(http, test_post_form_and_auth_header);
	tcase_add_test(http, test_timeout_argument_wins_when_smaller);
	tcase_add_test(http, test_timeout_target_wins_when_smaller);
	tcase_add_test(http, test_size_cap);
	tcase_add_test(http, test_default_cap_is_16mib);
	tcase_add_test(http, test_redirect_not_followed);
	tcase_add_test(http, test_connection_refused);
	tcase_add_test(http, test_bad_arguments);
	tcase_add_test(http, test_resp_reuse_and_trailing_slash);
	tcase_add_test(http, test_urlencode);
	suite_add_tcase(s, http);

	tcase_set_timeout(tls, 30);
	tcase_add_test(tls, test_https_default_verification_fails);
	tcase_add_test(tls, test_https_ca_file);
	tcase_add_test(tls, test_https_fingerprint_ok);
	tcase_add_test(tls, test_https_fingerprint_mismatch);
	tcase_add_test(tls, test_fingerprint_malformed);
	tcase_add_test(tls, test_https_insecure);
	tcase_add_test(tls, test_concurrent_requests);
	suite_add_tcase(s, tls);

	tcase_set_timeout(unix_tc, 30);
	tcase_add_test(unix_tc, test_unix_socket);
	tcase_add_test(unix_tc, test_unix_socket_missing);
	suite_add_tcase(s, unix_tc);
	return s;
}

int main(void)
{
	fixture_up();
	if (g_setup_err[0])
		fprintf(stderr, "test_fetch: fixture failed: %s\n", g_setup_err);
	SRunner *sr = srunner_create(fetch_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	fixture_down();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
