/* test_docker.c - Docker rules (anonymous volumes, statefulness, names) and the Docker collector against fixtures. */
#include "testutil.h"

#include "cJSON.h"
#include "collector.h"
#include "docker.h"

#define D "tests/fixtures/docker/"
#define SOCK "/run/docker-test.sock"
#define PATH_CONTAINERS "/containers/json?all=1"
#define PATH_VOLUMES "/volumes"

static cJSON *json(const char *text)
{
	cJSON *doc = cJSON_Parse(text);

	ck_assert_msg(doc != NULL, "bad test JSON: %s", text);
	return doc;
}

/* ---------- the pure rules ---------- */

START_TEST(test_generated_name)
{
	ck_assert(
		docker_is_generated_name("3f9c1b2d4e5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"));
	/* 63 and 65 digits, upper case, a non-hex letter, empty, NULL */
	ck_assert(
		!docker_is_generated_name("3f9c1b2d4e5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f"));
	ck_assert(!docker_is_generated_name(
		"3f9c1b2d4e5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f00"));
	ck_assert(!docker_is_generated_name(
		"3F9C1B2D4E5A69788796A5B4C3D2E1F00F1E2D3C4B5A69788796A5B4C3D2E1F0"));
	ck_assert(!docker_is_generated_name(
		"3f9c1b2d4e5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1g0"));
	ck_assert(!docker_is_generated_name("pgdata"));
	ck_assert(!docker_is_generated_name(""));
	ck_assert(!docker_is_generated_name(NULL));
}
END_TEST

START_TEST(test_anonymous_rule)
{
	static const char hex[] = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
	cJSON *anon = json("{\"com.docker.volume.anonymous\":\"\"}");
	cJSON *compose =
		json("{\"com.docker.compose.project\":\"archive\",\"com.docker.compose.volume\":\"data\"}");
	cJSON *project_only = json("{\"com.docker.compose.project\":\"archive\"}");
	cJSON *both = json("{\"com.docker.volume.anonymous\":\"\",\"com.docker.compose.volume\":\"data\"}");
	cJSON *empty = json("{}");
	cJSON *arr = json("[\"com.docker.volume.anonymous\"]");

	/* the engine's own label, whatever the name */
	ck_assert_int_eq(docker_volume_anonymous("odd-name", anon), 1);
	ck_assert_int_eq(docker_volume_anonymous(hex, anon), 1);
	ck_assert_int_eq(docker_volume_anonymous(hex, both), 1);
	/* a Compose volume is named, even with a 64-hex name */
	ck_assert_int_eq(docker_volume_anonymous(hex, compose), 0);
	/* a project label alone proves nothing: the name decides */
	ck_assert_int_eq(docker_volume_anonymous(hex, project_only), 1);
	/* no labels (engines before 23.0, Compose through HostConfig.Mounts): the generated name */
	ck_assert_int_eq(docker_volume_anonymous(hex, NULL), 1);
	ck_assert_int_eq(docker_volume_anonymous(hex, empty), 1);
	ck_assert_int_eq(docker_volume_anonymous(hex, arr), 1); /* not an object: ignored */
	ck_assert_int_eq(docker_volume_anonymous("pgdata", NULL), 0);
	ck_assert_int_eq(docker_volume_anonymous("pgdata", empty), 0);
	cJSON_Delete(anon);
	cJSON_Delete(compose);
	cJSON_Delete(project_only);
	cJSON_Delete(both);
	cJSON_Delete(empty);
	cJSON_Delete(arr);
}
END_TEST

START_TEST(test_stateful_rule)
{
	char p1[] = "*-stalwart-*", p2[] = "postgres?", label[] = "persistence.stateful";
	char *pats[] = {p1, p2};
	struct config_docker dflt = {.stateful_label = label};
	struct config_docker named = {.stateful_label = label, .stateful_names = pats, .nstateful_names = 2};

	ck_assert_int_eq(docker_label_bool("true"), 1);
	ck_assert_int_eq(docker_label_bool("False"), 0);
	ck_assert_int_eq(docker_label_bool("yes"), -1);
	ck_assert_int_eq(docker_label_bool(""), -1);
	ck_assert_int_eq(docker_label_bool(NULL), -1);
	/* the default: a writable volume or bind mount */
	ck_assert_int_eq(docker_stateful(&dflt, NULL, "x", 1), 1);
	ck_assert_int_eq(docker_stateful(&dflt, NULL, "x", 0), 0);
	/* the label forces it either way */
	ck_assert_int_eq(docker_stateful(&dflt, "false", "x", 1), 0);
	ck_assert_int_eq(docker_stateful(&dflt, "TRUE", "x", 0), 1);
	ck_assert_int_eq(docker_stateful(&dflt, "maybe", "x", 1), 1); /* unrecognised: next rule */
	/* patterns replace the default */
	ck_assert_int_eq(docker_stateful(&named, NULL, "comms-stalwart-1", 0), 1);
	ck_assert_int_eq(docker_stateful(&named, NULL, "postgres1", 0), 1);
	ck_assert_int_eq(docker_stateful(&named, NULL, "postgres12", 1), 0);
	ck_assert_int_eq(docker_stateful(&named, NULL, "redis", 1), 0);
	ck_assert_int_eq(docker_stateful(&named, "false", "comms-stalwart-1", 1), 0);
	ck_assert_int_eq(docker_stateful(&named, "true", "redis", 0), 1);
}
END_TEST

START_TEST(test_container_name)
{
	char idbuf[13];
	cJSON *a = json("{\"Id\":\"5f1c0c3b2a9e4d7b\",\"Names\":[\"/comms-stalwart-1\",\"/other/alias\"]}");
	cJSON *b = json("{\"Id\":\"5f1c0c3b2a9e4d7b4d7b\",\"Names\":[]}");
	cJSON *c = json("{\"Id\":\"5f1c0c3b2a9e4d7b\",\"Names\":[\"/\"]}");
	cJSON *d = json("{\"Names\":[7]}");
	cJSON *e = json("{\"Names\":[\"bare\"]}");

	ck_assert_str_eq(docker_container_name(a, idbuf), "comms-stalwart-1");
	ck_assert_str_eq(docker_container_name(b, idbuf), "5f1c0c3b2a9e");
	ck_assert_str_eq(docker_container_name(c, idbuf), "5f1c0c3b2a9e");
	ck_assert_ptr_null(docker_container_name(d, idbuf));
	ck_assert_str_eq(docker_container_name(e, idbuf), "bare");
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(c);
	cJSON_Delete(d);
	cJSON_Delete(e);
}
END_TEST

/* ---------- the collector through the scrape framework ---------- */

struct dk_run {
	struct tu_upstream u;
	char log[65536]; /* stderr during the scrapes */
	char error[256]; /* the source's error after the last scrape */
	int up;
	int scrapes; /* 0 means 1 */
	const char *const *names; /* stateful_names */
	size_t nnames;
};

/* tu_transport, except that a transport failure carries the route's body as its message. */
static enum perr dk_transport(void *ctx, const struct fetch_target *t, const char *method, const char *path,
			      const char *body, double timeout, const struct fetch_stream *stream,
			      struct fetch_resp *r)
{
	struct dk_run *run = ctx;
	const struct tu_route *rt = tu_route_find(&run->u, path);

	ck_assert_str_eq(t->unix_socket, SOCK);
	ck_assert_str_eq(t->base_url, "http://localhost");
	if (rt && rt->transport_rc != PE_OK) {
		pthread_mutex_lock(&run->u.lock);
		run->u.calls++;
		pthread_mutex_unlock(&run->u.lock);
		snprintf(r->err, sizeof(r->err), "%s", rt->body ? rt->body : "simulated transport failure");
		return rt->transport_rc;
	}
	return tu_transport(&run->u, t, method, path, body, timeout, stream, r);
}

static struct config *dk_config(const struct dk_run *run)
{
	struct config *c = tu_config_new();

	c->docker = calloc(1, sizeof(*c->docker));
	ck_assert_ptr_nonnull(c->docker);
	c->ndocker = 1;
	c->docker[0].name = strdup("comms");
	c->docker[0].socket = strdup(SOCK);
	c->docker[0].timeout = 5;
	c->docker[0].stateful_label = strdup("persistence.stateful");
	if (run->nnames) {
		c->docker[0].stateful_names = calloc(run->nnames, sizeof(char *));
		ck_assert_ptr_nonnull(c->docker[0].stateful_names);
		for (size_t i = 0; i < run->nnames; i++)
			c->docker[0].stateful_names[i] = strdup(run->names[i]);
		c->docker[0].nstateful_names = run->nnames;
	}
	return c;
}

/* Keeps the Docker families and source_up: the golden part of an exposition. */
static char *dk_filter(const char *text)
{
	static const char *const keep[] = {"persistence_docker_", "persistence_source_up"};
	return tu_filter_families(text, keep, 2, 1);
}

/* One scrape of collector docker on st; returns the whole exposition. */
static char *dk_scrape_once(struct scrape_state *st, struct config *cfg, struct dk_run *run)
{
	static const char *const collect[] = {"docker"};
	struct scrape *s = scrape_new(st, cfg, 10, collect, 1);
	struct buf out;

	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(scrape_run(s), PE_OK);
	ck_assert_uint_eq(scrape_nsources(s), 1);
	snprintf(run->error, sizeof(run->error), "%s", scrape_source(s, 0)->error);
	run->up = scrape_source(s, 0)->up;
	buf_init(&out, 0);
	ck_assert_int_eq(scrape_write(s, &out), PE_OK);
	buf_add(&out, "", 0);
	scrape_free(s);
	return buf_steal(&out, NULL);
}

/* Runs run->scrapes scrapes (stderr captured into run->log); returns the golden part of the last. */
static char *dk_scrape(const struct tu_route *routes, size_t n, struct dk_run *run)
{
	struct scrape_state *st = scrape_state_new();
	struct config *cfg = dk_config(run);
	char tmpl[] = "/tmp/pe-test-docker-XXXXXX", *full = NULL, *text;
	int fd = mkstemp(tmpl), saved = dup(2);
	ssize_t got;

	ck_assert_int_ge(fd, 0);
	tu_upstream_init(&run->u, routes, n);
	scrape_state_set_transport(st, dk_transport, run);
	fflush(stderr);
	dup2(fd, 2);
	for (int i = 0; i < (run->scrapes ? run->scrapes : 1); i++) {
		free(full);
		full = dk_scrape_once(st, cfg, run);
	}
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	got = pread(fd, run->log, sizeof(run->log) - 1, 0);
	run->log[got > 0 ? got : 0] = '\0';
	close(fd);
	unlink(tmpl);
	config_unref(cfg);
	scrape_state_free(st);
	text = tu_strip_volatile(full);
	free(full);
	tu_assert_promtool_clean(text);
	full = text;
	text = dk_filter(full);
	free(full);
	return text;
}

static void dk_run_free(struct dk_run *run)
{
	pthread_mutex_destroy(&run->u.lock);
}

static const struct tu_route routes_full[] = {
	{.path = PATH_CONTAINERS, .file = D "containers.json", .content_type = "application/json"},
	{.path = PATH_VOLUMES, .file = D "volumes.json", .content_type = "application/json"},
};

#define HAS(text, s) ck_assert_msg(strstr((text), (s)) != NULL, "missing: %s\nin:\n%s", (s), (text))
#define HASNT(text, s) ck_assert_msg(strstr((text), (s)) == NULL, "unexpected: %s\nin:\n%s", (s), (text))

START_TEST(test_collect_full)
{
	struct dk_run run = {0};
	char *text = dk_scrape(routes_full, 2, &run);

	tu_assert_golden(text, "tests/unit/golden/docker/full.prom");
	ck_assert_int_eq(run.up, 1);
	ck_assert_int_eq(run.u.calls, 2);
	/* the incident's mail server: a named volume */
	HAS(text, "persistence_docker_container_mount_info{source=\"comms\",container=\"communications-stack-"
		  "stalwart-1\",destination=\"/opt/stalwart\",mount_type=\"volume\",volume=\"communications-"
		  "stack_stalwart-data\"} 1\n");
	/* redis: the engine's anonymous label, stateful by default */
	HAS(text, "persistence_docker_anonymous_volumes{source=\"comms\",container=\"communications-stack-"
		  "redis-1\"} "
		  "1\n");
	HAS(text, "persistence_docker_container_stateful{source=\"comms\",container=\"communications-stack-"
		  "redis-1\"} "
		  "1\n");
	/* no label: the generated name; a 64-hex Compose volume stays named; missing from /volumes: the name */
	HAS(text, "container=\"legacy-postgres\",destination=\"/var/lib/postgresql/"
		  "data\",mount_type=\"anonymous\"");
	HAS(text, "container=\"archive-app-1\",destination=\"/srv/archive\",mount_type=\"volume\"");
	HAS(text, "persistence_docker_anonymous_volumes{source=\"comms\",container=\"archive-app-1\"} 0\n");
	HAS(text, "persistence_docker_anonymous_volumes{source=\"comms\",container=\"racy\"} 1\n");
	/* statefulness: label false, label TRUE, read-only only, no mounts, read-only bind + tmpfs */
	HAS(text, "persistence_docker_container_stateful{source=\"comms\",container=\"build-cache\"} 0\n");
	HAS(text, "persistence_docker_container_stateful{source=\"comms\",container=\"session-store\"} 1\n");
	HAS(text, "persistence_docker_container_stateful{source=\"comms\",container=\"static-web\"} 0\n");
	HAS(text,
	    "persistence_docker_container_stateful{source=\"comms\",container=\"stateless-proxy\"} 0\n");
	HAS(text, "persistence_docker_anonymous_volumes{source=\"comms\",container=\"stateless-proxy\"} 0\n");
	HAS(text, "persistence_docker_container_stateful{source=\"comms\",container=\"communications-stack-"
		  "roundcube-1\"} 0\n");
	/* the stopped certbot is there; tmpfs and binds carry no volume name */
	HAS(text, "container=\"communications-stack-certbot-1\",destination=\"/etc/"
		  "letsencrypt\",mount_type=\"bind\","
		  "volume=\"\"} 1\n");
	HAS(text, "destination=\"/tmp\",mount_type=\"tmpfs\",volume=\"\"} 1\n");
	HAS(text, "persistence_source_up{source=\"comms\",kind=\"docker\"} 1\n");
	free(text);
	dk_run_free(&run);
}
END_TEST

START_TEST(test_collect_name_patterns)
{
	static const char *const names[] = {"communications-stack-stalwart-*", "legacy-*"};
	struct dk_run run = {.names = names, .nnames = 2};
	char *text = dk_scrape(routes_full, 2, &run);

	tu_assert_golden(text, "tests/unit/golden/docker/name-patterns.prom");
	HAS(text, "persistence_docker_container_stateful{source=\"comms\",container=\"communications-stack-"
		  "stalwart-1\"} 1\n");
	HAS(text,
	    "persistence_docker_container_stateful{source=\"comms\",container=\"legacy-postgres\"} 1\n");
	/* patterns replace the default: writable mounts alone no longer count */
	HAS(text, "persistence_docker_container_stateful{source=\"comms\",container=\"communications-stack-"
		  "redis-1\"} "
		  "0\n");
	HAS(text, "persistence_docker_container_stateful{source=\"comms\",container=\"communications-stack-"
		  "certbot-1\"} "
		  "0\n");
	/* the label still wins */
	HAS(text, "persistence_docker_container_stateful{source=\"comms\",container=\"session-store\"} 1\n");
	free(text);
	dk_run_free(&run);
}
END_TEST

/* An engine with no volumes answers "Volumes": null; every volume is then judged by its name. */
START_TEST(test_collect_volumes_null)
{
	static const struct tu_route routes[] = {
		{.path = PATH_CONTAINERS, .file = D "containers.json"},
		{.path = PATH_VOLUMES, .file = D "volumes-none.json"},
	};
	struct dk_run run = {0};
	char *text = dk_scrape(routes, 2, &run);

	ck_assert_int_eq(run.up, 1);
	HAS(text, "persistence_docker_anonymous_volumes{source=\"comms\",container=\"communications-stack-"
		  "redis-1\"} "
		  "1\n");
	HAS(text, "container=\"communications-stack-stalwart-1\",destination=\"/opt/"
		  "stalwart\",mount_type=\"volume\"");
	/* without its Compose label the 64-hex named volume looks generated (documented limit) */
	HAS(text, "persistence_docker_anonymous_volumes{source=\"comms\",container=\"archive-app-1\"} 1\n");
	free(text);
	dk_run_free(&run);
}
END_TEST

START_TEST(test_collect_hostile_names)
{
	static const struct tu_route routes[] = {
		{.path = PATH_CONTAINERS, .file = D "containers-hostile.json"},
		{.path = PATH_VOLUMES, .file = D "volumes-none.json"},
	};
	struct dk_run run = {0};
	char *text = dk_scrape(routes, 2, &run);

	tu_assert_golden(text, "tests/unit/golden/docker/hostile.prom");
	ck_assert_int_eq(run.up, 1);
	HAS(text,
	    "container=\"evil\\\"name\\\\x\\ny\",destination=\"/data/\\\"q\\\"\\n\",mount_type=\"volume\","
	    "volume=\"vol\\\"\\\\\\nname\"} 1\n");
	/* invalid UTF-8 becomes U+FFFD, never raw bytes */
	HAS(text, "container=\"utf8-\xef\xbf\xbd\xef\xbf\xbd\"");
	HASNT(text, "\xff");
	free(text);
	dk_run_free(&run);
}
END_TEST

/* A containers list: "big" with 40 mounts (20 anonymous volumes), then 70 containers with 32 binds each. */
static char *many_mounts_body(void)
{
	struct buf b;

	buf_init(&b, 0);
	buf_adds(&b, "[{\"Id\":\"big\",\"Names\":[\"/big\"],\"Labels\":{},\"Mounts\":[");
	for (int j = 0; j < 40; j++)
		buf_addf(&b,
			 "%s{\"Type\":\"volume\",\"Name\":\"%s%02d\",\"Destination\":\"/d%02d\",\"RW\":true}",
			 j ? "," : "",
			 j % 2 ? "named" : "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd",
			 j, j);
	buf_adds(&b, "]}");
	for (int i = 0; i < 70; i++) {
		buf_addf(&b, ",{\"Id\":\"c%02d\",\"Names\":[\"/c%02d\"],\"Mounts\":[", i, i);
		for (int j = 0; j < 32; j++)
			buf_addf(&b,
				 "%s{\"Type\":\"bind\",\"Source\":\"/srv/%d\",\"Destination\":\"/m%02d\"}",
				 j ? "," : "", j, j);
		buf_adds(&b, "]}");
	}
	buf_adds(&b, "]");
	ck_assert_int_eq(buf_err(&b), PE_OK);
	return buf_steal(&b, NULL);
}

static size_t count_lines(const char *text, const char *prefix)
{
	size_t n = 0, l = strlen(prefix);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, prefix, l) == 0)
			n++;
	return n;
}

START_TEST(test_collect_cardinality_cap)
{
	char *body = many_mounts_body();
	const struct tu_route routes[] = {
		{.path = PATH_CONTAINERS, .body = body},
		{.path = PATH_VOLUMES, .body = "{\"Volumes\":[],\"Warnings\":null}"},
	};
	struct dk_run run = {.scrapes = 3};
	char *text = dk_scrape(routes, 2, &run);

	ck_assert_int_eq(run.up, 1);
	/* 2000 per source; 32 for "big"; every container still has its counts */
	ck_assert_uint_eq(count_lines(text, "persistence_docker_container_mount_info{"), 2000);
	ck_assert_uint_eq(
		count_lines(text,
			    "persistence_docker_container_mount_info{source=\"comms\",container=\"big\""),
		32);
	ck_assert_uint_eq(count_lines(text, "persistence_docker_anonymous_volumes{"), 71);
	ck_assert_uint_eq(count_lines(text, "persistence_docker_container_stateful{"), 71);
	/* the count is not capped: 20 of the 40 are anonymous, though only 32 mounts are listed */
	HAS(text, "persistence_docker_anonymous_volumes{source=\"comms\",container=\"big\"} 20\n");
	HAS(text, "persistence_docker_anonymous_volumes{source=\"comms\",container=\"c69\"} 0\n");
	HASNT(text, "container=\"c69\",destination");
	/* one warning per container over three scrapes, naming it and the dropped count */
	HAS(run.log,
	    "reason=\"more than 32 mounts in one container\" source=comms container=big dropped=8 mounts=40");
	ck_assert_ptr_null(strstr(strstr(run.log, "container=big dropped=8") + 1, "container=big dropped=8"));
	/* the host cap: one line, from the first container cut (c61 keeps 16 of 32), 8*32 + 16 dropped */
	HAS(run.log, "reason=\"more than 2000 mounts on one Docker host\" source=comms first_container=c61 "
		     "dropped=272 mounts=2280");
	ck_assert_ptr_null(strstr(strstr(run.log, "first_container=c61") + 1, "first_container="));
	HASNT(run.log, "container=c62");
	free(text);
	free(body);
	dk_run_free(&run);
}
END_TEST

/* Every unusable answer takes the source down with a clear reason and publishes no Docker sample. */
START_TEST(test_collect_failures)
{
	static char enoent[200], eacces[200], refused[200];
	const struct {
		const char *path;
		long status;
		const char *body;
		const char *ctype;
		enum perr rc;
		const char *want; /* in the source's error */
	} cases[] = {
		{PATH_CONTAINERS, 0, enoent, NULL, PE_CONNECT,
		 "docker socket " SOCK " not found: is Docker running?"},
		{PATH_CONTAINERS, 0, eacces, NULL, PE_CONNECT,
		 "permission denied on " SOCK ": add the exporter's user to the docker group"},
		{PATH_CONTAINERS, 0, refused, NULL, PE_CONNECT, "refuses connections"},
		{PATH_CONTAINERS, 0, "timed out after 5.0 s", NULL, PE_TIMEOUT, "timed out after 5.0 s"},
		{PATH_CONTAINERS, 0, "recv failure", NULL, PE_IO,
		 "docker engine on " SOCK ": GET /containers"},
		{PATH_CONTAINERS, 200, "<html><body>502 Bad Gateway</body></html>", "text/html", PE_OK,
		 "HTML"},
		{PATH_CONTAINERS, 200, "[{\"Id\":\"abc\",\"Names\":[\"/x\"],\"Mounts\":[{\"Type\":\"vol",
		 NULL, PE_OK, "truncated JSON"},
		{PATH_CONTAINERS, 200, "", NULL, PE_OK, "empty body"},
		{PATH_CONTAINERS, 500, "{\"message\":\"simulated daemon error\"}", NULL, PE_OK,
		 "HTTP 500: simulated daemon error"},
		{PATH_VOLUMES, 500, "{\"message\":\"volume store down\"}", NULL, PE_OK,
		 "GET /volumes: HTTP 500"},
		{PATH_VOLUMES, 200, "{\"Volumes\":[{\"Na", NULL, PE_OK, "GET /volumes: invalid or truncated"},
		/* wrong shapes */
		{PATH_CONTAINERS, 200, "{\"message\":\"page not found\"}", NULL, PE_OK,
		 "expected a JSON array"},
		{PATH_CONTAINERS, 200, "[1]", NULL, PE_OK, "not an object"},
		{PATH_CONTAINERS, 200, "[{\"Names\":[]}]", NULL, PE_OK, "without Names or Id"},
		{PATH_CONTAINERS, 200, "[{\"Names\":[\"/x\"],\"Mounts\":\"none\"}]", NULL, PE_OK,
		 "container \"x\": Mounts is not a list"},
		{PATH_CONTAINERS, 200, "[{\"Names\":[\"/x\"],\"Labels\":[\"a\"]}]", NULL, PE_OK,
		 "Labels is not"},
		{PATH_CONTAINERS, 200, "[{\"Names\":[\"/x\"],\"Mounts\":[{\"Type\":\"bind\"}]}]", NULL, PE_OK,
		 "without Type or Destination"},
		{PATH_CONTAINERS, 200,
		 "[{\"Names\":[\"/x\"],\"Mounts\":[{\"Type\":\"volume\",\"Destination\":\"/d\"}]}]", NULL,
		 PE_OK, "volume mount without a Name"},
		{PATH_CONTAINERS, 200,
		 "[{\"Names\":[\"/x\"],\"Mounts\":[{\"Type\":\"bind\",\"Destination\":\"/"
		 "d\",\"RW\":\"yes\"}]}]",
		 NULL, PE_OK, "RW is not a boolean"},
		{PATH_CONTAINERS, 200, "[{\"Names\":[\"/x\"],\"Mounts\":[7]}]", NULL, PE_OK, "without Type"},
		{PATH_CONTAINERS, 200, "[{\"Names\":[\"/x\"]},{\"Names\":[\"/x\"]}]", NULL, PE_OK,
		 "container \"x\": two containers have this name"},
		{PATH_VOLUMES, 200, "{\"Volumes\":\"none\"}", NULL, PE_OK,
		 "expected an object with a Volumes list"},
		{PATH_VOLUMES, 200, "[]", NULL, PE_OK, "expected an object with a Volumes list"},
		{PATH_VOLUMES, 200, "{\"Volumes\":[{\"Driver\":\"local\"}]}", NULL, PE_OK, "without a Name"},
	};
	char tmp[128];

	snprintf(enoent, sizeof(enoent), "connect to unix socket %s failed: %s", SOCK,
		 strerror_r(ENOENT, tmp, sizeof(tmp)));
	snprintf(eacces, sizeof(eacces), "connect to unix socket %s failed: %s", SOCK,
		 strerror_r(EACCES, tmp, sizeof(tmp)));
	snprintf(refused, sizeof(refused), "connect to unix socket %s failed: %s", SOCK,
		 strerror_r(ECONNREFUSED, tmp, sizeof(tmp)));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tu_route routes[] = {
			{.path = cases[i].path,
			 .status = cases[i].status,
			 .body = cases[i].body,
			 .content_type = cases[i].ctype,
			 .transport_rc = cases[i].rc},
			{.path = PATH_CONTAINERS, .file = D "containers.json"},
			{.path = PATH_VOLUMES, .file = D "volumes.json"},
		};
		struct dk_run run = {0};
		char *text = dk_scrape(routes, 3, &run);

		ck_assert_msg(run.up == 0, "case %zu: source up", i);
		ck_assert_msg(strstr(run.error, cases[i].want) != NULL, "case %zu: error \"%s\" lacks \"%s\"",
			      i, run.error, cases[i].want);
		ck_assert_msg(strstr(text, "persistence_docker_") == NULL, "case %zu published:\n%s", i,
			      text);
		HAS(text, "persistence_source_up{source=\"comms\",kind=\"docker\"} 0\n");
		HAS(run.log, "source down");
		free(text);
		dk_run_free(&run);
	}
}
END_TEST

static Suite *docker_suite(void)
{
	Suite *s = suite_create("docker");
	TCase *tc = tcase_create("rules");

	tcase_add_test(tc, test_generated_name);
	tcase_add_test(tc, test_anonymous_rule);
	tcase_add_test(tc, test_stateful_rule);
	tcase_add_test(tc, test_container_name);
	suite_add_tcase(s, tc);
	tc = tcase_create("collector");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_collect_full);
	tcase_add_test(tc, test_collect_name_patterns);
	tcase_add_test(tc, test_collect_volumes_null);
	tcase_add_test(tc, test_collect_hostile_names);
	tcase_add_test(tc, test_collect_cardinality_cap);
	tcase_add_test(tc, test_collect_failures);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(docker_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
