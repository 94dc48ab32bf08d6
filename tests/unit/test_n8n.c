/* test_n8n.c - n8n page parser, snapshot counter and (later) the n8n collector. */
#include "testutil.h"

#include <check.h>
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collector.h"
#include "n8n.h"
#include "n8n_snapshot.h"
#include "probe.h"

static char *read_fixture(const char *rel, size_t *len)
{
	const char *root = getenv("SRCDIR");
	char path[1024];
	snprintf(path, sizeof(path), "%s/tests/fixtures/n8n/%s", root ? root : ".", rel);
	FILE *f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *p = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(fread(p, 1, (size_t)n, f), (size_t)n);
	p[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return p;
}

static enum perr parse_text(const char *text, struct n8n_counts *c, char **next, char *msg, size_t msglen)
{
	cJSON *doc = cJSON_Parse(text);
	ck_assert_ptr_nonnull(doc);
	enum perr e = n8n_page_parse(doc, c, next, msg, msglen);
	cJSON_Delete(doc);
	return e;
}

/* ---- page parser ---- */

START_TEST(page_full_list_fixture)
{
	char *text = read_fixture("api-v1-workflows-list.n8n-2.8.4.json", NULL);
	struct n8n_counts c = {0, 0, 0};
	char *next = (char *)"x";
	char msg[256];
	ck_assert_int_eq(parse_text(text, &c, &next, msg, sizeof(msg)), PE_OK);
	ck_assert_uint_eq(c.active, 1);
	ck_assert_uint_eq(c.inactive, 4);
	ck_assert_uint_eq(c.archived, 1);
	ck_assert_ptr_null(next);
	free(text);
}
END_TEST

START_TEST(page_with_cursor_fixture)
{
	char *text = read_fixture("api-v1-workflows-limit2-page1.n8n-2.8.4.json", NULL);
	struct n8n_counts c = {0, 0, 0};
	char *next = NULL;
	char msg[256];
	ck_assert_int_eq(parse_text(text, &c, &next, msg, sizeof(msg)), PE_OK);
	ck_assert_uint_eq(c.active + c.inactive + c.archived, 2);
	ck_assert_str_eq(next, "eyJsaW1pdCI6Miwib2Zmc2V0IjoyfQ==");
	free(next);
	free(text);
}
END_TEST

START_TEST(page_missing_archived_is_not_archived)
{
	struct n8n_counts c = {0, 0, 0};
	char *next = NULL;
	char msg[256];
	ck_assert_int_eq(
		parse_text("{\"data\":[{\"id\":\"a\",\"active\":true},{\"id\":\"b\",\"active\":false,"
			   "\"isArchived\":null}],\"nextCursor\":null}",
			   &c, &next, msg, sizeof(msg)),
		PE_OK);
	ck_assert_uint_eq(c.active, 1);
	ck_assert_uint_eq(c.inactive, 1);
	ck_assert_uint_eq(c.archived, 0);
}
END_TEST

static const char *const bad_pages[] = {
	"[]",
	"{}",
	"{\"data\":{}}",
	"{\"data\":null,\"nextCursor\":null}",
	"{\"data\":[1],\"nextCursor\":null}",
	"{\"data\":[{\"active\":\"true\"}],\"nextCursor\":null}",
	"{\"data\":[{\"id\":\"a\"}],\"nextCursor\":null}",
	"{\"data\":[{\"active\":true,\"isArchived\":\"no\"}],\"nextCursor\":null}",
	"{\"data\":[{\"active\":2}],\"nextCursor\":null}",
	"{\"data\":[],\"nextCursor\":5}",
	"{\"data\":[],\"nextCursor\":\"\"}",
	"{\"message\":\"unauthorized\"}",
};

START_TEST(page_wrong_types_rejected)
{
	struct n8n_counts c = {7, 7, 7};
	char *next = NULL;
	char msg[256] = "";
	ck_assert_int_eq(parse_text(bad_pages[_i], &c, &next, msg, sizeof(msg)), PE_PARSE);
	ck_assert_ptr_null(next);
	ck_assert(msg[0] != '\0');
	/* nothing half-added */
	ck_assert_uint_eq(c.active, 7);
	ck_assert_uint_eq(c.inactive, 7);
	ck_assert_uint_eq(c.archived, 7);
}
END_TEST

START_TEST(page_path_encodes_cursor)
{
	struct buf b;
	buf_init(&b, 0);
	n8n_page_path(&b, NULL);
	ck_assert_str_eq(buf_str(&b), "/api/v1/workflows?limit=250&excludePinnedData=true");
	buf_reset(&b);
	n8n_page_path(&b, "ab+/c=&x");
	ck_assert_str_eq(buf_str(&b),
			 "/api/v1/workflows?limit=250&excludePinnedData=true&cursor=ab%2B%2Fc%3D%26x");
	buf_free(&b);
}
END_TEST

START_TEST(failure_messages)
{
	char msg[256];
	const char *html = "<!DOCTYPE html><html><body>n8n is starting up. Please wait</body></html>";
	n8n_describe_failure(200, "text/html; charset=utf-8", html, strlen(html), msg, sizeof(msg));
	ck_assert_msg(strstr(msg, "starting up") != NULL, "%s", msg);
	const char *nf = "<pre>Cannot GET /api/v1/workflows</pre>";
	n8n_describe_failure(404, "text/html", nf, strlen(nf), msg, sizeof(msg));
	ck_assert_msg(strstr(msg, "404") && strstr(msg, "not mounted"), "%s", msg);
	const char *un = "{\"message\":\"unauthorized\"}";
	n8n_describe_failure(401, "application/json", un, strlen(un), msg, sizeof(msg));
	ck_assert_msg(strstr(msg, "API key is wrong") != NULL, "%s", msg);
	const char *sig = "{\"message\":\"invalid signature\"}";
	n8n_describe_failure(401, "application/json", sig, strlen(sig), msg, sizeof(msg));
	ck_assert_msg(strstr(msg, "invalid signature") && strstr(msg, "encryption key"), "%s", msg);
	const char *trunc = "{\"data\":[{\"id\":";
	n8n_describe_failure(200, "application/json", trunc, strlen(trunc), msg, sizeof(msg));
	ck_assert_msg(strstr(msg, "not valid JSON") != NULL, "%s", msg);
}
END_TEST

/* ---- snapshot counter ---- */

static enum perr count_str(const char *s, size_t *n)
{
	struct n8n_snap st;
	n8n_snap_init(&st);
	enum perr e = n8n_snap_feed(&st, s, strlen(s));
	if (e)
		return e;
	return n8n_snap_finish(&st, n);
}

/* Same, one byte per feed: chunk boundaries anywhere must not matter. */
static enum perr count_bytewise(const char *s, size_t *n)
{
	struct n8n_snap st;
	n8n_snap_init(&st);
	for (; *s; s++)
		if (n8n_snap_feed(&st, s, 1) != PE_OK)
			return st.err;
	return n8n_snap_finish(&st, n);
}

struct snap_case {
	const char *text;
	enum perr want;
	size_t count;
};

static const struct snap_case snap_cases[] = {
	{"[{\"id\":\"a\"},{\"id\":\"b\"},{\"id\":\"c\"}]", PE_OK, 3},
	{"[]", PE_OK, 0},
	{" \n[ ]\n", PE_OK, 0},
	{"{\"id\":\"one\",\"nodes\":[{\"id\":\"n1\"},{\"id\":\"n2\"}]}", PE_OK, 1},
	{"\xef\xbb\xbf[{\"id\":\"a\"}]", PE_OK, 1},
	/* nested ids and brackets in strings do not count */
	{"[{\"id\":\"a\",\"nodes\":[{\"id\":\"n1\",\"parameters\":{\"x\":\"[{]}\\\"{\"}}],\"shared\":[{"
	 "\"project\":{"
	 "\"id\":\"p\"}}]}]",
	 PE_OK, 1},
	{"[{\"s\":\"back\\\\\"},{\"s\":\"q\\\"}{\"}]", PE_OK, 2},
	{"[{\"n\":[1,2.5e3,-1,true,false,null]}]", PE_OK, 1},
	/* errors */
	{"", PE_PARSE, 0},
	{"   ", PE_PARSE, 0},
	{"\xef\xbb\xbf", PE_PARSE, 0},
	{"\xef\xbb[]", PE_PARSE, 0},
	{"[{\"id\":\"a\"},{\"id\":\"b\"", PE_PARSE, 0},
	{"[{\"id\":\"a\"},", PE_PARSE, 0},
	{"[{\"id\":\"a\"}", PE_PARSE, 0},
	{"[{\"id\":\"a\\\"}]", PE_PARSE, 0},
	{"[{\"id\":\"a\"}] x", PE_PARSE, 0},
	{"[{\"id\":\"a\"}][]", PE_PARSE, 0},
	{"[{\"a\":1]}", PE_PARSE, 0},
	{"[{}{}]", PE_PARSE, 0},
	{"[,{}]", PE_PARSE, 0},
	{"[{},]", PE_PARSE, 0},
	{"[1,2]", PE_PARSE, 0},
	{"[\"a\"]", PE_PARSE, 0},
	{"\"just a string\"", PE_PARSE, 0},
	{"null", PE_PARSE, 0},
	{"<html>n8n</html>", PE_PARSE, 0},
	{"[{\"a\":\"line\nbreak\"}]", PE_PARSE, 0},
	{"[{\"a\":@}]", PE_PARSE, 0},
};

START_TEST(snap_table)
{
	const struct snap_case *tc = &snap_cases[_i];
	size_t n = 999, m = 999;
	ck_assert_msg(count_str(tc->text, &n) == tc->want, "case %d: %s", _i, tc->text);
	ck_assert_msg(count_bytewise(tc->text, &m) == tc->want, "case %d bytewise", _i);
	if (tc->want == PE_OK) {
		ck_assert_uint_eq(n, tc->count);
		ck_assert_uint_eq(m, tc->count);
	} else {
		ck_assert_uint_eq(n, 999); /* never a count on failure */
	}
}
END_TEST

START_TEST(snap_nul_inside_garbage)
{
	/* an explicit NUL after the array (strlen-based cases cannot carry one) */
	static const char text[] = "[{}]\0";
	struct n8n_snap st;
	size_t n = 999;
	n8n_snap_init(&st);
	ck_assert_int_eq(n8n_snap_feed(&st, text, sizeof(text) - 1), PE_PARSE);
	ck_assert_int_eq(n8n_snap_finish(&st, &n), PE_PARSE);
	ck_assert_uint_eq(n, 999);
	ck_assert_msg(strstr(st.msg, "byte 4") != NULL, "%s", st.msg);
}
END_TEST

START_TEST(snap_too_deep)
{
	char text[N8N_SNAP_MAX_DEPTH + 16];
	size_t k = 0, n = 0;
	text[k++] = '[';
	text[k++] = '{';
	text[k++] = '"';
	text[k++] = 'a';
	text[k++] = '"';
	text[k++] = ':';
	while (k < sizeof(text) - 1)
		text[k++] = '[';
	text[k] = '\0';
	struct n8n_snap st;
	n8n_snap_init(&st);
	ck_assert_int_eq(n8n_snap_feed(&st, text, k), PE_PARSE);
	ck_assert_msg(strstr(st.msg, "too deep") != NULL, "%s", st.msg);
	ck_assert_int_eq(n8n_snap_finish(&st, &n), PE_PARSE);
}
END_TEST

static void fixture_path(char *out, size_t n, const char *rel)
{
	const char *root = getenv("SRCDIR");
	snprintf(out, n, "%s/tests/fixtures/n8n/%s", root ? root : ".", rel);
}

START_TEST(snap_fixture_files)
{
	static const char *const files[] = {"export-workflow-all.n8n-2.8.4.json",
					    "export-workflow-all-pretty.n8n-2.8.4.json"};
	char path[1024], msg[256];
	for (size_t i = 0; i < 2; i++) {
		size_t n = 0;
		int obj = -1;
		fixture_path(path, sizeof(path), files[i]);
		ck_assert_int_eq(n8n_snapshot_count_file(path, 7, &n, &obj, msg, sizeof(msg)), PE_OK);
		ck_assert_uint_eq(n, 6);
		ck_assert_int_eq(obj, 0);
	}
	fixture_path(path, sizeof(path), "export-backup-dir/RvPuEWDat9dOY5N1.json");
	size_t n = 0;
	int obj = -1;
	ck_assert_int_eq(n8n_snapshot_count_file(path, 0, &n, &obj, msg, sizeof(msg)), PE_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(obj, 1);
	fixture_path(path, sizeof(path), "does-not-exist.json");
	ck_assert_int_eq(n8n_snapshot_count_file(path, 0, &n, &obj, msg, sizeof(msg)), PE_IO);
}
END_TEST

/* A truncated copy of the real export is an error, never a smaller count. */
START_TEST(snap_truncated_fixture)
{
	size_t len = 0;
	char *text = read_fixture("export-workflow-all.n8n-2.8.4.json", &len);
	for (size_t cut = 0; cut < len; cut += 97) {
		struct n8n_snap st;
		size_t n = 999;
		n8n_snap_init(&st);
		enum perr e = n8n_snap_feed(&st, text, cut);
		if (e == PE_OK)
			e = n8n_snap_finish(&st, &n);
		ck_assert_msg(e == PE_PARSE, "cut at %zu accepted", cut);
		ck_assert_uint_eq(n, 999);
	}
	free(text);
}
END_TEST

/* ~50 MB export written to a temp file, counted with a 4 KiB chunk buffer. */
START_TEST(snap_huge_file)
{
	char path[] = "/tmp/pe-n8n-huge-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	FILE *f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	const size_t want = 40000;
	char pad[1200];
	memset(pad, 'x', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	fputc('[', f);
	for (size_t i = 0; i < want; i++)
		fprintf(f,
			"%s{\"id\":\"wf%zu\",\"nodes\":[{\"id\":\"n1\",\"parameters\":{\"code\":\"if (a[0]) "
			"{ "
			"return \\\"}]\\\"; } %s\"}}],\"active\":false}",
			i ? "," : "", i, pad);
	fputc(']', f);
	ck_assert_int_eq(fclose(f), 0);

	size_t n = 0;
	char msg[256] = "";
	ck_assert_msg(n8n_snapshot_count_file(path, 4096, &n, NULL, msg, sizeof(msg)) == PE_OK, "%s", msg);
	ck_assert_uint_eq(n, want);
	/* the whole state is the fixed-size struct: no per-element memory */
	ck_assert_uint_lt(sizeof(struct n8n_snap), 512);
	unlink(path);
}
END_TEST

/* ---- snapshot location scan ---- */

static void write_file(const char *dir, const char *name, const char *text, time_t mtime)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	struct timespec ts[2] = {{mtime, 0}, {mtime, 0}};
	ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void set_mtime(const char *dir, const char *name, time_t mtime)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	struct timespec ts[2] = {{mtime, 0}, {mtime, 0}};
	ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void rm_tree(const char *dir)
{
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(scan_folder_of_files_picks_newest)
{
	char dir[] = "/tmp/pe-n8n-snap-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	write_file(dir, "export-1.json", "[{},{},{}]", 1000);
	write_file(dir, "export-3.json", "[{\"id\":\"a\",\"nodes\":[{\"id\":\"n\"}]},{}]", 3000);
	write_file(dir, "export-2.json", "[{}]", 2000);
	write_file(dir, "notes.txt", "[{},{},{},{}]", 9000);
	write_file(dir, ".partial.json", "[{", 9000);
	struct n8n_snapshot_info info;
	ck_assert_int_eq(n8n_snapshot_scan(dir, &info), PE_OK);
	ck_assert_uint_eq(info.nsnapshots, 3);
	ck_assert(info.newest_mtime == 3000.0);
	ck_assert_int_eq(info.counted, 1);
	ck_assert_uint_eq(info.workflows, 2);
	ck_assert_ptr_nonnull(strstr(info.newest, "export-3.json"));
	rm_tree(dir);
}
END_TEST

START_TEST(scan_truncated_newest_is_uncounted)
{
	char dir[] = "/tmp/pe-n8n-snap-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	write_file(dir, "old.json", "[{},{},{}]", 1000);
	write_file(dir, "new.json", "[{},{\"id\":", 2000);
	struct n8n_snapshot_info info;
	ck_assert_int_eq(n8n_snapshot_scan(dir, &info), PE_OK);
	ck_assert_uint_eq(info.nsnapshots, 2);
	ck_assert(info.newest_mtime == 2000.0);
	ck_assert_int_eq(info.counted, 0); /* not the older file's 3, not 0 */
	ck_assert_msg(strstr(info.msg, "truncated") != NULL, "%s", info.msg);
	rm_tree(dir);
}
END_TEST

START_TEST(scan_folder_of_backup_folders)
{
	char dir[] = "/tmp/pe-n8n-snap-XXXXXX", sub[1100];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/2026-11-25", dir);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	write_file(sub, "a.json", "{\"id\":\"a\"}", 1000);
	set_mtime(dir, "2026-11-25", 1000);
	snprintf(sub, sizeof(sub), "%s/2026-11-26", dir);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	write_file(sub, "a.json", "{\"id\":\"a\",\"nodes\":[{\"id\":\"x\"}]}", 5000);
	write_file(sub, "b.json", "\xef\xbb\xbf{\"id\":\"b\"}\n", 5000);
	write_file(sub, "README", "x", 5000);
	set_mtime(dir, "2026-11-26", 900); /* rewritten in place: the files are newer than the folder */
	struct n8n_snapshot_info info;
	ck_assert_int_eq(n8n_snapshot_scan(dir, &info), PE_OK);
	ck_assert_uint_eq(info.nsnapshots, 2);
	ck_assert(info.newest_mtime == 5000.0);
	ck_assert_int_eq(info.counted, 1);
	ck_assert_uint_eq(info.workflows, 2);
	/* one broken workflow file spoils the folder's count */
	write_file(sub, "c.json", "{\"id\":", 5000);
	ck_assert_int_eq(n8n_snapshot_scan(dir, &info), PE_OK);
	ck_assert_int_eq(info.counted, 0);
	ck_assert_msg(strstr(info.msg, "c.json") != NULL, "%s", info.msg);
	rm_tree(dir);
}
END_TEST

START_TEST(scan_real_backup_dir_fixture)
{
	char path[1024];
	fixture_path(path, sizeof(path), "export-backup-dir/*");
	/* as a glob over its files: six single-object snapshots, the newest counts 1 */
	struct n8n_snapshot_info info;
	ck_assert_int_eq(n8n_snapshot_scan(path, &info), PE_OK);
	ck_assert_uint_eq(info.nsnapshots, 6);
	ck_assert_int_eq(info.counted, 1);
	ck_assert_uint_eq(info.workflows, 1);
	/* as a glob naming the folder itself: one snapshot of six workflows */
	fixture_path(path, sizeof(path), "export-backup-*");
	ck_assert_int_eq(n8n_snapshot_scan(path, &info), PE_OK);
	ck_assert_uint_eq(info.nsnapshots, 1);
	ck_assert_int_eq(info.counted, 1);
	ck_assert_uint_eq(info.workflows, 6);
}
END_TEST

START_TEST(scan_nothing_there)
{
	char dir[] = "/tmp/pe-n8n-snap-XXXXXX", glob_spec[1100];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	struct n8n_snapshot_info info;
	ck_assert_int_eq(n8n_snapshot_scan(dir, &info), PE_OK);
	ck_assert_uint_eq(info.nsnapshots, 0);
	ck_assert_int_eq(info.counted, 0);
	snprintf(glob_spec, sizeof(glob_spec), "%s/*.json", dir);
	ck_assert_int_eq(n8n_snapshot_scan(glob_spec, &info), PE_OK);
	ck_assert_uint_eq(info.nsnapshots, 0);
	ck_assert_int_eq(n8n_snapshot_scan("/nonexistent/pe-test/snapshots", &info), PE_OK);
	ck_assert_uint_eq(info.nsnapshots, 0);
	rm_tree(dir);
}
END_TEST

/* ---- the collector, over a fixture transport ---- */

#define P1 "/api/v1/workflows?limit=250&excludePinnedData=true"
#define P2 P1 "&cursor=eyJsaW1pdCI6Miwib2Zmc2V0IjoyfQ%3D%3D"
#define P3 P1 "&cursor=page3"
#define PAGE2                                                                                                \
	"{\"data\":[{\"id\":\"a\",\"active\":true},{\"id\":\"b\",\"active\":true,\"isArchived\":true}],"     \
	"\"nextCursor\":\"page3\"}"
#define FIX_PAGE1 "tests/fixtures/n8n/api-v1-workflows-limit2-page1.n8n-2.8.4.json"
#define FIX_LAST "tests/fixtures/n8n/api-v1-workflows-list.n8n-2.8.4.json"

static struct config *n8n_config(const char *snapshots)
{
	struct config *cfg = tu_config_new();
	cfg->n8n = calloc(1, sizeof(*cfg->n8n));
	ck_assert_ptr_nonnull(cfg->n8n);
	cfg->nn8n = 1;
	cfg->n8n[0].name = strdup("app");
	cfg->n8n[0].url = strdup("http://n8n.test:5678/");
	cfg->n8n[0].api_key = strdup("test-n8n-key-secret");
	cfg->n8n[0].snapshots = snapshots ? strdup(snapshots) : NULL;
	cfg->n8n[0].timeout = 5;
	return cfg;
}

struct run_result {
	char *text;
	char error[256];
	int up;
	double live_total;
	int has_live_total;
};

/* One scrape of the n8n collector against routes. */
static void run_n8n(const struct tu_route *routes, size_t n, const char *snapshots, struct run_result *rr)
{
	static const char *const only[] = {"n8n"};
	struct tu_upstream up;
	struct scrape_state *st = scrape_state_new();
	struct config *cfg = n8n_config(snapshots);
	tu_upstream_init(&up, routes, n);
	scrape_state_set_transport(st, tu_transport, &up);
	struct scrape *s = scrape_new(st, cfg, 10, only, 1);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(scrape_run(s), PE_OK);
	struct buf out;
	buf_init(&out, 0);
	ck_assert_int_eq(scrape_write(s, &out), PE_OK);
	buf_add(&out, "", 0);
	rr->text = buf_steal(&out, NULL);
	ck_assert_uint_eq(scrape_nsources(s), 1);
	const struct source_result *r = scrape_source(s, 0);
	rr->up = r->up;
	snprintf(rr->error, sizeof(rr->error), "%s", r->error);
	rr->has_live_total = facts_get(scrape_facts(s), "n8n", "app", "live_total", &rr->live_total, NULL);
	ck_assert_str_eq(up.last_auth, "X-N8N-API-KEY: test-n8n-key-secret");
	scrape_free(s);
	scrape_state_free(st);
	config_unref(cfg);
	pthread_mutex_destroy(&up.lock);
}

/* The source is down, no workflow count exists, the key never shows, and the error says why. */
static void assert_down(struct run_result *rr, const char *why)
{
	ck_assert_int_eq(rr->up, 0);
	ck_assert_msg(strstr(rr->text, "persistence_n8n_workflows") == NULL, "count published:\n%s",
		      rr->text);
	ck_assert_ptr_nonnull(strstr(rr->text, "persistence_source_up{source=\"app\",kind=\"n8n\"} 0"));
	ck_assert_int_eq(rr->has_live_total, 0);
	ck_assert_msg(strstr(rr->error, why) != NULL, "error \"%s\" lacks \"%s\"", rr->error, why);
	ck_assert(strstr(rr->error, "test-n8n-key-secret") == NULL);
	ck_assert(strstr(rr->text, "test-n8n-key-secret") == NULL);
	free(rr->text);
}

START_TEST(collect_pages_golden)
{
	static const struct tu_route routes[] = {
		{.path = P1, .file = FIX_PAGE1},
		{.path = P2, .body = PAGE2},
		{.path = P3, .file = FIX_LAST},
	};
	char dir[] = "/tmp/pe-n8n-coll-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	write_file(dir, "export-2026-11-24.json", "[{},{},{}]", 1790000000);
	write_file(dir, "export-2026-11-25.json", "[{\"id\":\"a\"},{\"id\":\"b\"}]", 1790086400);
	struct run_result rr;
	run_n8n(routes, 3, dir, &rr);
	ck_assert_msg(rr.up == 1, "down: %s", rr.error);
	ck_assert_int_eq(rr.has_live_total, 1);
	ck_assert(rr.live_total == 10.0); /* 2 + 2 + 6, archived included */
	char *text = tu_strip_volatile(rr.text);
	tu_assert_promtool_clean(text);
	tu_assert_golden(text, "tests/unit/golden/n8n/pages.prom");
	free(text);
	free(rr.text);
	rm_tree(dir);
}
END_TEST

START_TEST(collect_api_down_keeps_snapshot)
{
	static const struct tu_route routes[] = {
		{.path = P1,
		 .status = 404,
		 .body = "<pre>Cannot GET /api/v1/workflows</pre>",
		 .content_type = "text/html"},
		{.path = "/healthz", .body = "{\"status\":\"ok\"}"},
	};
	char dir[] = "/tmp/pe-n8n-coll-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	write_file(dir, "export.json", "[{},{},{}]", 1790000000);
	struct run_result rr;
	run_n8n(routes, 2, dir, &rr);
	ck_assert_ptr_nonnull(strstr(rr.text, "persistence_n8n_snapshot_workflows{source=\"app\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(rr.text, "persistence_n8n_snapshots{source=\"app\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(rr.error, "/healthz ok"));
	assert_down(&rr, "not mounted");
	rm_tree(dir);
}
END_TEST

/* A job that blocks on a pipe until the test writes: a snapshot folder on a dead NFS server. */
static void hang_run(void *arg)
{
	char c;
	ssize_t n = read(*(int *)arg, &c, 1);
	(void)n;
}

START_TEST(collect_hung_snapshot_folder)
{
	static const char *const only[] = {"n8n"};
	static const struct tu_route routes[] = {{.path = P1, .file = FIX_LAST}};
	struct tu_upstream up;
	struct scrape_state *st = scrape_state_new();
	/* a readable snapshot: only the hang-safe path can keep it from being counted */
	char dir[] = "/tmp/pe-n8n-hung-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	write_file(dir, "export.json", "[{},{},{}]", 1790000000);
	struct config *cfg = n8n_config(dir);
	tu_upstream_init(&up, routes, 1);
	scrape_state_set_transport(st, tu_transport, &up);
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	int *fd = malloc(sizeof(*fd));
	ck_assert_ptr_nonnull(fd);
	*fd = p[0];
	/* an earlier scan still hangs: the next scrapes must neither start another nor wait */
	ck_assert_int_eq(probe_run(scrape_state_probes(st), "n8n-snap:app", hang_run, fd, free, 0.05),
			 PE_TIMEOUT);
	for (int i = 0; i < 3; i++) {
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		char *text = tu_scrape_text(st, cfg, only, 1, 10);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ck_assert_msg(t1.tv_sec - t0.tv_sec < 5, "a hung snapshot folder held the scrape");
		ck_assert_ptr_null(strstr(text, "persistence_n8n_snapshot"));
		/* the live count does not depend on the files */
		ck_assert_ptr_nonnull(strstr(text, "persistence_source_up{source=\"app\",kind=\"n8n\"} 1\n"));
		free(text);
	}
	ck_assert_uint_eq(probe_pool_threads(scrape_state_probes(st)), 1);
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	/* once the file server answers again, the next scrape counts the snapshot */
	struct timespec pause = {0, 100 * 1000 * 1000};
	nanosleep(&pause, NULL);
	char *text = tu_scrape_text(st, cfg, only, 1, 10);
	ck_assert_ptr_nonnull(strstr(text, "persistence_n8n_snapshot_workflows{source=\"app\"} 3\n"));
	free(text);
	scrape_state_free(st);
	close(p[1]);
	config_unref(cfg);
	pthread_mutex_destroy(&up.lock);
	rm_tree(dir);
}
END_TEST

START_TEST(collect_repeated_cursor_down)
{
	static const struct tu_route routes[] = {
		{.path = P1, .body = "{\"data\":[{\"active\":true}],\"nextCursor\":\"loop\"}"},
		{.path = P1 "&cursor=loop", .body = "{\"data\":[{\"active\":true}],\"nextCursor\":\"loop\"}"},
	};
	struct run_result rr;
	run_n8n(routes, 2, NULL, &rr);
	assert_down(&rr, "cursor repeats");
}
END_TEST

START_TEST(collect_cursor_cycle_down)
{
	static const struct tu_route routes[] = {
		{.path = P1, .body = "{\"data\":[{\"active\":true}],\"nextCursor\":\"A\"}"},
		{.path = P1 "&cursor=A", .body = "{\"data\":[{\"active\":true}],\"nextCursor\":\"B\"}"},
		{.path = P1 "&cursor=B", .body = "{\"data\":[{\"active\":true}],\"nextCursor\":\"A\"}"},
	};
	struct run_result rr;
	run_n8n(routes, 3, NULL, &rr);
	assert_down(&rr, "cursor repeats");
}
END_TEST

START_TEST(collect_html_200_down)
{
	static const struct tu_route routes[] = {
		{.path = P1,
		 .body = "<!DOCTYPE html><html><head><title>n8n</title></head><body>n8n is starting up. "
			 "Please "
			 "wait</body></html>",
		 .content_type = "text/html; charset=utf-8"},
		{.path = "/healthz", .status = 503, .body = "{\"status\":\"error\"}"},
	};
	struct run_result rr;
	run_n8n(routes, 2, NULL, &rr);
	ck_assert_ptr_nonnull(strstr(rr.error, "/healthz fails"));
	assert_down(&rr, "starting up");
}
END_TEST

START_TEST(collect_401_unauthorized_down)
{
	static const struct tu_route routes[] = {
		{.path = P1, .status = 401, .body = "{\"message\":\"unauthorized\"}"},
	};
	struct run_result rr;
	run_n8n(routes, 1, NULL, &rr);
	assert_down(&rr, "API key is wrong");
}
END_TEST

START_TEST(collect_401_invalid_signature_down)
{
	static const struct tu_route routes[] = {
		{.path = P1, .status = 401, .body = "{\"message\":\"invalid signature\"}"},
	};
	struct run_result rr;
	run_n8n(routes, 1, NULL, &rr);
	assert_down(&rr, "encryption key");
}
END_TEST

START_TEST(collect_truncated_json_down)
{
	static const struct tu_route routes[] = {
		{.path = P1, .body = "{\"data\":[{\"id\":\"a\",\"active\":true},{\"id\":\"b\",\"act"},
	};
	struct run_result rr;
	run_n8n(routes, 1, NULL, &rr);
	assert_down(&rr, "not valid JSON");
}
END_TEST

START_TEST(collect_error_on_page2_down)
{
	static const struct tu_route routes[] = {
		{.path = P1, .file = FIX_PAGE1},
		{.path = P2, .status = 500, .body = "{\"message\":\"Internal Server Error\"}"},
	};
	struct run_result rr;
	run_n8n(routes, 2, NULL, &rr);
	assert_down(&rr, "page 2");
}
END_TEST

START_TEST(collect_transport_failure_down)
{
	static const struct tu_route routes[] = {
		{.path = P1, .transport_rc = PE_CONNECT},
	};
	struct run_result rr;
	run_n8n(routes, 1, NULL, &rr);
	assert_down(&rr, "page 1");
}
END_TEST

START_TEST(collect_wrong_types_down)
{
	static const struct tu_route routes[] = {
		{.path = P1, .body = "{\"data\":[{\"id\":\"a\",\"active\":\"yes\"}],\"nextCursor\":null}"},
	};
	struct run_result rr;
	run_n8n(routes, 1, NULL, &rr);
	assert_down(&rr, "boolean");
}
END_TEST

static Suite *n8n_suite(void)
{
	Suite *s = suite_create("n8n");
	TCase *t = tcase_create("page");
	tcase_add_test(t, page_full_list_fixture);
	tcase_add_test(t, page_with_cursor_fixture);
	tcase_add_test(t, page_missing_archived_is_not_archived);
	tcase_add_loop_test(t, page_wrong_types_rejected, 0, (int)(sizeof(bad_pages) / sizeof(bad_pages[0])));
	tcase_add_test(t, page_path_encodes_cursor);
	tcase_add_test(t, failure_messages);
	suite_add_tcase(s, t);

	t = tcase_create("snapshot");
	tcase_set_timeout(t, 120);
	tcase_add_loop_test(t, snap_table, 0, (int)(sizeof(snap_cases) / sizeof(snap_cases[0])));
	tcase_add_test(t, snap_nul_inside_garbage);
	tcase_add_test(t, snap_too_deep);
	tcase_add_test(t, snap_fixture_files);
	tcase_add_test(t, snap_truncated_fixture);
	tcase_add_test(t, snap_huge_file);
	suite_add_tcase(s, t);

	t = tcase_create("scan");
	tcase_add_test(t, scan_folder_of_files_picks_newest);
	tcase_add_test(t, scan_truncated_newest_is_uncounted);
	tcase_add_test(t, scan_folder_of_backup_folders);
	tcase_add_test(t, scan_real_backup_dir_fixture);
	tcase_add_test(t, scan_nothing_there);
	suite_add_tcase(s, t);

	t = tcase_create("collector");
	tcase_set_timeout(t, 30);
	tcase_add_test(t, collect_pages_golden);
	tcase_add_test(t, collect_api_down_keeps_snapshot);
	tcase_add_test(t, collect_hung_snapshot_folder);
	tcase_add_test(t, collect_repeated_cursor_down);
	tcase_add_test(t, collect_cursor_cycle_down);
	tcase_add_test(t, collect_html_200_down);
	tcase_add_test(t, collect_401_unauthorized_down);
	tcase_add_test(t, collect_401_invalid_signature_down);
	tcase_add_test(t, collect_truncated_json_down);
	tcase_add_test(t, collect_error_on_page2_down);
	tcase_add_test(t, collect_transport_failure_down);
	tcase_add_test(t, collect_wrong_types_down);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(n8n_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
