/* test_inventory.c - the inventory collector: OK rule per kind, restore docs, guests in no target, rendering. */
#include "testutil.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <sys/time.h>

#include "collector.h"
#include "expfmt.h"
#include "inventory.h"
#include "pve_restore.h"
#include "vzdump_log.h"
#include "probe.h"
#include "status.h"

#define H 3600.0
#define D 86400.0

/* ---------- fake phase-0 collectors: each test says which facts they leave ---------- */

/* Set per test: fills the facts of one source; its return value is the source's outcome. */
static enum perr (*fake_fill)(struct collect *c, const char *kind);

/* The scrape's start, whole seconds: facts are set relative to it so samples are exact. */
static double now0(struct collect *c)
{
	return floor(collect_now(c));
}

static void fact(struct collect *c, const char *kind, const char *key, double v, const char *str)
{
	collect_fact_set(c, kind, c->source, key, v, str);
}

static enum perr fake_pve(struct collect *c)
{
	return fake_fill ? fake_fill(c, "pve") : PE_OK;
}

static enum perr fake_mount(struct collect *c)
{
	return fake_fill ? fake_fill(c, "mount") : PE_OK;
}

static enum perr fake_n8n(struct collect *c)
{
	return fake_fill ? fake_fill(c, "n8n") : PE_OK;
}

static enum perr fake_pbs(struct collect *c)
{
	return fake_fill ? fake_fill(c, "pbs") : PE_OK;
}

static size_t count_pbs(const struct config *cfg)
{
	return cfg->npbs;
}

static const char *name_pbs(const struct config *cfg, size_t i)
{
	return cfg->pbs[i].name;
}

static size_t count_pve(const struct config *cfg)
{
	return cfg->npve;
}

static size_t count_mount(const struct config *cfg)
{
	return cfg->nmounts;
}

static size_t count_n8n(const struct config *cfg)
{
	return cfg->nn8n;
}

static const char *name_pve(const struct config *cfg, size_t i)
{
	return cfg->pve[i].name;
}

static const char *name_mount(const struct config *cfg, size_t i)
{
	return cfg->mounts[i].name;
}

static const char *name_n8n(const struct config *cfg, size_t i)
{
	return cfg->n8n[i].name;
}

static const struct collector fake_col_pve = {"pve", "pve", 0, count_pve, name_pve, fake_pve};
static const struct collector fake_col_mount = {"mount", "mount", 0, count_mount, name_mount, fake_mount};
static const struct collector fake_col_n8n = {"n8n", "n8n", 0, count_n8n, name_n8n, fake_n8n};
static const struct collector fake_col_pbs = {"pbs", "pbs", 0, count_pbs, name_pbs, fake_pbs};
static const struct collector *const table[] = {&fake_col_pve, &fake_col_mount,      &fake_col_n8n,
						&fake_col_pbs, &collector_inventory, NULL};

/* ---------- config building ---------- */

static char *xdup(const char *s)
{
	char *d = strdup(s);
	ck_assert_ptr_nonnull(d);
	return d;
}

static void *grow(void *p, size_t n, size_t size)
{
	void *q = realloc(p, n * size);
	ck_assert_ptr_nonnull(q);
	memset((char *)q + (n - 1) * size, 0, size);
	return q;
}

static void add_pve(struct config *c, const char *name)
{
	c->pve = grow(c->pve, ++c->npve, sizeof(*c->pve));
	c->pve[c->npve - 1].name = xdup(name);
}

static void add_mount(struct config *c, const char *name)
{
	c->mounts = grow(c->mounts, ++c->nmounts, sizeof(*c->mounts));
	c->mounts[c->nmounts - 1].name = xdup(name);
}

static void add_n8n(struct config *c, const char *name)
{
	c->n8n = grow(c->n8n, ++c->nn8n, sizeof(*c->n8n));
	c->n8n[c->nn8n - 1].name = xdup(name);
}

static struct config_target *add_target(struct config *c, const char *name, enum target_kind kind,
					const char *source, long vmid, double max_age)
{
	c->targets = grow(c->targets, ++c->ntargets, sizeof(*c->targets));
	struct config_target *t = &c->targets[c->ntargets - 1];
	t->name = xdup(name);
	t->site = xdup("");
	t->severity = xdup("warning");
	t->kind = kind;
	t->source = source ? xdup(source) : NULL;
	t->vmid = vmid;
	t->max_age = max_age;
	t->policy = (struct config_policy){1, 0, 0};
	return t;
}

static struct config_target *add_file_target(struct config *c, const char *name, const char *glob,
					     double max_age)
{
	struct config_target *t = add_target(c, name, TARGET_FILE, NULL, -1, max_age);
	t->file_glob = xdup(glob);
	return t;
}

/* ---------- running a scrape ---------- */

struct run {
	struct scrape_state *st;
	struct scrape *s;
	char *text;
	const struct inventory_report *r;
	double now; /* floor of the scrape's start */
};

/* A scrape on st (a fresh state when NULL; run_free() frees it either way). */
static void run_scrape_on(struct run *x, struct scrape_state *st, struct config *cfg, double timeout)
{
	memset(x, 0, sizeof(*x));
	x->st = st ? st : scrape_state_new();
	ck_assert_ptr_nonnull(x->st);
	scrape_state_set_collectors(x->st, table);
	x->s = scrape_new(x->st, cfg, timeout, NULL, 0);
	ck_assert_ptr_nonnull(x->s);
	ck_assert_int_eq(scrape_run(x->s), PE_OK);
	struct buf out;
	buf_init(&out, 0);
	ck_assert_int_eq(scrape_write(x->s, &out), PE_OK);
	buf_add(&out, "", 0);
	x->text = buf_steal(&out, NULL);
	x->r = facts_attached(scrape_facts(x->s), INVENTORY_ATTACHMENT);
	ck_assert_ptr_nonnull(x->r);
	x->now = floor(scrape_now(x->s));
}

static void run_scrape(struct run *x, struct config *cfg, double timeout)
{
	run_scrape_on(x, NULL, cfg, timeout);
}

static void run_free(struct run *x)
{
	free(x->text);
	scrape_free(x->s);
	scrape_state_free(x->st);
}

static const struct inventory_target *target(const struct run *x, const char *name)
{
	for (size_t i = 0; i < x->r->ntargets; i++)
		if (strcmp(x->r->targets[i].name, name) == 0)
			return &x->r->targets[i];
	ck_abort_msg("no target %s in the report", name);
	return NULL;
}

/* Asserts that the exposition holds this exact line. */
static void has_line(const struct run *x, const char *line)
{
	char want[1024];
	snprintf(want, sizeof(want), "\n%s\n", line);
	if (!strstr(x->text, want)) {
		fprintf(stderr, "--- exposition:\n%s--- end\n", x->text);
		ck_abort_msg("missing line \"%s\"", line);
	}
}

static void lacks(const struct run *x, const char *prefix)
{
	char want[1024];
	snprintf(want, sizeof(want), "\n%s", prefix);
	if (strstr(x->text, want)) {
		fprintf(stderr, "--- exposition:\n%s--- end\n", x->text);
		ck_abort_msg("unexpected \"%s\"", prefix);
	}
}

/* The sample line of a timestamp metric for target name at value v. */
static void has_last(const struct run *x, const char *name, double v)
{
	char val[64], line[512];
	expfmt_format_value(val, sizeof(val), v);
	snprintf(line, sizeof(line), "persistence_target_last_backup_timestamp_seconds{target=\"%s\"} %s",
		 name, val);
	has_line(x, line);
}

static void check_state(const struct run *x, const char *name, enum inventory_state st, const char *reason)
{
	const struct inventory_target *t = target(x, name);
	char line[512];
	ck_assert_msg(t->state == st, "%s: state %s, want %s (reason \"%s\")", name,
		      inventory_state_str(t->state), inventory_state_str(st), t->reason);
	ck_assert_int_eq(t->ok, st == INVENTORY_OK);
	if (reason)
		ck_assert_str_eq(t->reason, reason);
	snprintf(line, sizeof(line), "persistence_target_ok{target=\"%s\"} %d", name, st == INVENTORY_OK);
	has_line(x, line);
}

/* ---------- pve ---------- */

static enum perr fill_pve(struct collect *c, const char *kind)
{
	double now = now0(c);
	if (strcmp(kind, "mount") == 0) {
		fact(c, "mount", "vmid/103/last_backup", now - H, NULL);
		return PE_OK;
	}
	if (strcmp(kind, "pve") != 0)
		return PE_OK;
	if (strcmp(c->source, "shop") == 0) {
		fact(c, "pve", "guest/200/template", 0, NULL);
		fact(c, "pve", "guest/200/last_backup", now - H, NULL);
		collect_fail(c, "GET /cluster/resources: HTTP 401: authentication failure");
		return PE_AUTH;
	}
	static const long vmids[] = {100, 101, 102, 103, 104};
	for (size_t i = 0; i < 5; i++) {
		char key[64];
		snprintf(key, sizeof(key), "guest/%ld/template", vmids[i]);
		fact(c, "pve", key, vmids[i] == 104, NULL);
		snprintf(key, sizeof(key), "guest/%ld/name", vmids[i]);
		fact(c, "pve", key, 0, vmids[i] == 103 ? "web<b>" : "g");
		snprintf(key, sizeof(key), "guest/%ld/type", vmids[i]);
		fact(c, "pve", key, 0, vmids[i] == 103 ? "lxc" : "qemu");
		snprintf(key, sizeof(key), "guest/%ld/node", vmids[i]);
		fact(c, "pve", key, 0, "pve1");
	}
	fact(c, "pve", "guest/100/last_backup", now - 2 * H, NULL);
	fact(c, "pve", "guest/101/last_backup", now - (4 * D + 2 * H + 5), NULL);
	fact(c, "pve", "guest/104/last_backup", now - H, NULL);
	return PE_OK;
}

static struct config *pve_config(void)
{
	struct config *cfg = tu_config_new();
	add_pve(cfg, "home");
	add_pve(cfg, "shop");
	add_mount(cfg, "nas");
	add_target(cfg, "fresh", TARGET_PVE, "home", 100, 26 * H);
	add_target(cfg, "stale", TARGET_PVE, "home", 101, 26 * H);
	add_target(cfg, "missing", TARGET_PVE, "home", 102, 26 * H);
	add_target(cfg, "gone", TARGET_PVE, "home", 109, 26 * H);
	add_target(cfg, "down", TARGET_PVE, "shop", 200, 26 * H);
	add_target(cfg, "nas-103", TARGET_MOUNT, "nas", 103, 8 * D);
	return cfg;
}

START_TEST(test_pve_ok_rule)
{
	struct config *cfg = pve_config();
	struct run x;
	fake_fill = fill_pve;
	run_scrape(&x, cfg, 5);
	check_state(&x, "fresh", INVENTORY_OK, "");
	has_last(&x, "fresh", x.now - 2 * H);
	check_state(&x, "stale", INVENTORY_DEGRADED, "backup 4d 2h old, max 26h");
	has_last(&x, "stale", x.now - (4 * D + 2 * H + 5));
	check_state(&x, "missing", INVENTORY_DEGRADED, "no backup of guest 102 found");
	lacks(&x, "persistence_target_last_backup_timestamp_seconds{target=\"missing\"}");
	check_state(&x, "gone", INVENTORY_DEGRADED, "guest 109 not found on home");
	check_state(&x, "down", INVENTORY_DEGRADED, "source shop down");
	ck_assert_int_eq(target(&x, "down")->source_down, 1);
	/* a down source's facts are not trusted, even when some were left */
	has_line(&x, "persistence_target_max_age_seconds{target=\"down\"} 93600");
	has_line(&x, "persistence_target_info{target=\"fresh\",site=\"\",kind=\"pve\",source=\"home\","
		     "severity=\"warning\"} 1");
	has_line(&x, "persistence_target_info{target=\"nas-103\",site=\"\",kind=\"mount\",source=\"nas\","
		     "severity=\"warning\"} 1");
	has_line(&x, "persistence_target_restore_documented{target=\"fresh\"} 0");
	ck_assert_uint_eq(x.r->nok, 2);
	ck_assert_uint_eq(x.r->ndegraded, 4);
	ck_assert_uint_eq(x.r->nunknown, 0);
	tu_assert_promtool_clean(x.text);
	run_free(&x);
	config_unref(cfg);
}
END_TEST

START_TEST(test_pve_guest_in_inventory)
{
	struct config *cfg = pve_config();
	struct run x;
	fake_fill = fill_pve;
	run_scrape(&x, cfg, 5);
	has_line(&x, "persistence_pve_guest_in_inventory{source=\"home\",vmid=\"100\"} 1");
	has_line(&x, "persistence_pve_guest_in_inventory{source=\"home\",vmid=\"101\"} 1");
	has_line(&x, "persistence_pve_guest_in_inventory{source=\"home\",vmid=\"102\"} 1");
	/* only a mount target names 103: that does not put the PVE guest in the inventory */
	has_line(&x, "persistence_pve_guest_in_inventory{source=\"home\",vmid=\"103\"} 0");
	/* a template gets no sample, the down source's guest still does */
	lacks(&x, "persistence_pve_guest_in_inventory{source=\"home\",vmid=\"104\"}");
	has_line(&x, "persistence_pve_guest_in_inventory{source=\"shop\",vmid=\"200\"} 1");
	ck_assert_uint_eq(x.r->nuninventoried, 1);
	const struct inventory_guest *g = &x.r->uninventoried[0];
	ck_assert_str_eq(g->source, "home");
	ck_assert_int_eq(g->vmid, 103);
	ck_assert_str_eq(g->name, "web<b>");
	ck_assert_str_eq(g->type, "lxc");
	ck_assert_str_eq(g->node, "pve1");
	run_free(&x);
	config_unref(cfg);
}
END_TEST

/* ---------- exempt guests in no target ---------- */

/* home: 100 (listed), 103 (pve[].exempt), 107 (in no target), 9900 (a drill's scratch guest), 9950 (outside). */
static enum perr fill_exempt(struct collect *c, const char *kind)
{
	static const long vmids[] = {100, 103, 107, 9900, 9950};
	if (strcmp(kind, "pve") != 0)
		return PE_OK;
	for (size_t i = 0; i < 5; i++) {
		char key[64];
		snprintf(key, sizeof(key), "guest/%ld/template", vmids[i]);
		fact(c, "pve", key, 0, NULL);
		snprintf(key, sizeof(key), "guest/%ld/name", vmids[i]);
		fact(c, "pve", key, 0, vmids[i] == 9900 ? "drill-home-9900" : "g");
		snprintf(key, sizeof(key), "guest/%ld/type", vmids[i]);
		fact(c, "pve", key, 0, "qemu");
		snprintf(key, sizeof(key), "guest/%ld/node", vmids[i]);
		fact(c, "pve", key, 0, "pve1");
	}
	fact(c, "pve", "guest/100/last_backup", now0(c) - H, NULL);
	return PE_OK;
}

static struct config *exempt_config(void)
{
	struct config *cfg = tu_config_new();
	add_pve(cfg, "home");
	struct config_pve *p = &cfg->pve[0];
	p->exempt = calloc(2, sizeof(*p->exempt));
	ck_assert_ptr_nonnull(p->exempt);
	p->nexempt = 2;
	p->exempt[0] = (struct config_exempt){-1, xdup("usb"), xdup("plugged in on Sundays")};
	p->exempt[1] = (struct config_exempt){103, NULL, xdup("scratch <b>CI</b>, rebuilt from git")};
	p->drill = calloc(1, sizeof(*p->drill));
	ck_assert_ptr_nonnull(p->drill);
	p->drill->vmid_lo = 9900;
	p->drill->vmid_hi = 9909;
	add_target(cfg, "home-vm-100", TARGET_PVE, "home", 100, 26 * H);
	return cfg;
}

/* Exempt guests are not "in no target": they are listed apart, with the reason, in every view. */
START_TEST(test_exempt_guests_apart)
{
	struct config *cfg = exempt_config();
	struct run x;
	fake_fill = fill_exempt;
	run_scrape(&x, cfg, 5);
	/* the metric is unchanged (the rules join it with persistence_pve_guest_exempt) */
	has_line(&x, "persistence_pve_guest_in_inventory{source=\"home\",vmid=\"103\"} 0");
	has_line(&x, "persistence_pve_guest_in_inventory{source=\"home\",vmid=\"9900\"} 0");
	ck_assert_uint_eq(x.r->nuninventoried, 2);
	ck_assert_int_eq(x.r->uninventoried[0].vmid, 107);
	ck_assert_ptr_null(x.r->uninventoried[0].exempt_reason);
	ck_assert_int_eq(x.r->uninventoried[1].vmid, 9950); /* outside the scratch range */
	ck_assert_uint_eq(x.r->nexempt_guests, 2);
	ck_assert_int_eq(x.r->exempt_guests[0].vmid, 103);
	ck_assert_str_eq(x.r->exempt_guests[0].exempt_reason, "scratch <b>CI</b>, rebuilt from git");
	ck_assert_int_eq(x.r->exempt_guests[1].vmid, 9900);
	ck_assert_str_eq(x.r->exempt_guests[1].name, "drill-home-9900");
	ck_assert_str_eq(x.r->exempt_guests[1].exempt_reason, "restore drill scratch range");

	struct buf out;
	buf_init(&out, 0);
	ck_assert_int_eq(status_render_text(x.s, &out, 0), PE_OK);
	ck_assert_ptr_nonnull(strstr(buf_str(&out),
				     "\nGuests in no target:\n"
				     "  home/107 g (qemu on pve1)\n"
				     "  home/9950 g (qemu on pve1)\n"
				     "\nExempt guests in no target (pve[].exempt, drill scratch range):\n"
				     "  home/103 g (qemu on pve1): scratch <b>CI</b>, rebuilt from git\n"
				     "  home/9900 drill-home-9900 (qemu on pve1): restore drill scratch "
				     "range\n\nbackup.status: "));

	buf_reset(&out);
	ck_assert_int_eq(status_render_html(x.s, &out), PE_OK);
	const char *h = buf_str(&out), *apart = strstr(h, "<h2>Exempt guests in no target</h2>");
	const char *in_none = strstr(h, "<h2>Guests in no target</h2>");
	ck_assert_ptr_nonnull(in_none);
	ck_assert_ptr_nonnull(apart);
	ck_assert_ptr_nonnull(strstr(in_none, "<td>107</td>"));
	ck_assert(strstr(in_none, "<td>107</td>") < apart && strstr(in_none, "<td>9950</td>") < apart);
	ck_assert(strstr(h, "<td>103</td>") > apart && strstr(h, "<td>9900</td>") > apart);
	ck_assert_ptr_nonnull(strstr(apart, "<th>exempt because</th>"));
	ck_assert_ptr_nonnull(strstr(apart, "<td>scratch &lt;b&gt;CI&lt;/b&gt;, rebuilt from git</td>"));
	ck_assert_ptr_nonnull(strstr(apart, "<td>restore drill scratch range</td>"));

	buf_reset(&out);
	ck_assert_int_eq(status_render_json(x.s, &out), PE_OK);
	cJSON *doc = cJSON_Parse(buf_str(&out));
	ck_assert_ptr_nonnull(doc);
	const cJSON *un = cJSON_GetObjectItemCaseSensitive(doc, "uninventoried");
	const cJSON *ex = cJSON_GetObjectItemCaseSensitive(doc, "uninventoried_exempt");
	ck_assert_int_eq(cJSON_GetArraySize(un), 2);
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(un, 0), "exempt_reason"));
	ck_assert_int_eq(cJSON_GetArraySize(ex), 2);
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(ex, 1), "vmid")->valueint, 9900);
	ck_assert_str_eq(
		cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(ex, 1), "exempt_reason")->valuestring,
		"restore drill scratch range");
	cJSON_Delete(doc);
	buf_free(&out);
	run_free(&x);
	config_unref(cfg);
}
END_TEST

/* Only exempt guests in no target: "none found" says why, and the exempt ones are still shown. */
static enum perr fill_exempt_only(struct collect *c, const char *kind)
{
	if (strcmp(kind, "pve") == 0) {
		fact(c, "pve", "guest/100/template", 0, NULL);
		fact(c, "pve", "guest/9901/template", 0, NULL);
	}
	return PE_OK;
}

START_TEST(test_only_exempt_guests)
{
	struct config *cfg = exempt_config();
	struct run x;
	fake_fill = fill_exempt_only;
	run_scrape(&x, cfg, 5);
	ck_assert_uint_eq(x.r->nuninventoried, 0);
	ck_assert_uint_eq(x.r->nexempt_guests, 1);
	struct buf out;
	buf_init(&out, 0);
	ck_assert_int_eq(status_render_text(x.s, &out, 0), PE_OK);
	ck_assert_ptr_nonnull(strstr(buf_str(&out),
				     "\nGuests in no target: none found\n\nExempt guests in no "
				     "target (pve[].exempt, drill scratch range):\n"
				     "  home/9901  (? on ?): restore drill scratch range\n"));
	buf_reset(&out);
	ck_assert_int_eq(status_render_html(x.s, &out), PE_OK);
	ck_assert_ptr_nonnull(
		strstr(buf_str(&out), "None found: every PVE guest seen is listed by a target or exempt."));
	buf_free(&out);
	run_free(&x);
	config_unref(cfg);
}
END_TEST

/* ---------- remembered last backups ---------- */

/* 0: shop answers with a 3-day-old backup of 200; 1: shop is down; 2: shop answers, no backup of 200. */
static int shop_phase;
static double shop_last;

static enum perr fill_memory(struct collect *c, const char *kind)
{
	if (strcmp(kind, "pve") != 0 || strcmp(c->source, "shop") != 0)
		return PE_OK;
	if (shop_phase == 1) {
		collect_fail(c, "GET /nodes: HTTP 595: no route to host");
		return PE_HTTP;
	}
	fact(c, "pve", "guest/200/template", 0, NULL);
	if (shop_phase == 0) {
		shop_last = now0(c) - 3 * D;
		fact(c, "pve", "guest/200/last_backup", shop_last, NULL);
	}
	return PE_OK;
}

/* One more scrape on the state of prev (which is freed, all but its state). */
static void run_again(struct run *next, struct run *prev, struct config *cfg)
{
	struct scrape_state *st = prev->st;
	prev->st = NULL;
	run_free(prev);
	run_scrape_on(next, st, cfg, 5);
}

/* A down source does not erase a known stale backup: the time read last stands in, marked as such. */
START_TEST(test_remembered_while_source_down)
{
	struct config *cfg = pve_config();
	struct run a, b, c, d;
	char line[256];
	fake_fill = fill_memory;
	shop_phase = 0;
	run_scrape(&a, cfg, 5);
	has_last(&a, "down", shop_last);
	has_line(&a, "persistence_target_last_backup_remembered{target=\"down\"} 0");
	check_state(&a, "down", INVENTORY_DEGRADED, "backup 3d old, max 26h");

	shop_phase = 1;
	run_again(&b, &a, cfg);
	has_last(&b, "down", shop_last);
	has_line(&b, "persistence_target_last_backup_remembered{target=\"down\"} 1");
	check_state(&b, "down", INVENTORY_DEGRADED, "source shop down");
	ck_assert_int_eq(target(&b, "down")->remembered, 1);
	/* a target never read is not made up */
	lacks(&b, "persistence_target_last_backup_timestamp_seconds{target=\"missing\"}");
	tu_assert_promtool_clean(b.text);

	/* the source answers that the backup is gone: forgotten, also for the next outage */
	shop_phase = 2;
	run_again(&c, &b, cfg);
	lacks(&c, "persistence_target_last_backup_timestamp_seconds{target=\"down\"}");
	lacks(&c, "persistence_target_last_backup_remembered{target=\"down\"}");
	shop_phase = 1;
	run_again(&d, &c, cfg);
	snprintf(line, sizeof(line), "persistence_target_last_backup_timestamp_seconds{target=\"down\"}");
	lacks(&d, line);
	run_free(&d);
	config_unref(cfg);
}
END_TEST

/* ---------- mount ---------- */

static enum perr fill_mount(struct collect *c, const char *kind)
{
	double now = now0(c);
	if (strcmp(kind, "mount") != 0)
		return PE_OK;
	if (strcmp(c->source, "dead") == 0) {
		collect_fail(c, "probe not done within 5s (file server not responding?)");
		return PE_TIMEOUT;
	}
	fact(c, "mount", "vmid/105/last_backup", now - 3 * D, NULL);
	fact(c, "mount", "vmid/106/last_backup", now - 9 * D, NULL);
	return PE_OK;
}

START_TEST(test_mount_ok_rule)
{
	struct config *cfg = tu_config_new();
	add_mount(cfg, "nas");
	add_mount(cfg, "dead");
	add_target(cfg, "m-fresh", TARGET_MOUNT, "nas", 105, 8 * D);
	add_target(cfg, "m-stale", TARGET_MOUNT, "nas", 106, 8 * D);
	add_target(cfg, "m-missing", TARGET_MOUNT, "nas", 107, 8 * D);
	add_target(cfg, "m-down", TARGET_MOUNT, "dead", 105, 8 * D);
	struct run x;
	fake_fill = fill_mount;
	run_scrape(&x, cfg, 5);
	check_state(&x, "m-fresh", INVENTORY_OK, "");
	has_last(&x, "m-fresh", x.now - 3 * D);
	check_state(&x, "m-stale", INVENTORY_DEGRADED, "backup 9d old, max 8d");
	check_state(&x, "m-missing", INVENTORY_DEGRADED, "no archive of guest 107 found on nas");
	check_state(&x, "m-down", INVENTORY_DEGRADED, "source dead down");
	lacks(&x, "persistence_target_last_backup_timestamp_seconds{target=\"m-down\"}");
	has_line(&x, "persistence_target_max_age_seconds{target=\"m-fresh\"} 691200");
	/* no pve source: no guest samples */
	lacks(&x, "persistence_pve_guest_in_inventory");
	tu_assert_promtool_clean(x.text);
	run_free(&x);
	config_unref(cfg);
}
END_TEST

/* ---------- restorability: copies, offsite, verification, vzdump log ---------- */

static void place(struct collect *c, long vmid, const char *sid, double newest)
{
	char key[128];
	snprintf(key, sizeof(key), "guest/%ld/place/%s", vmid, sid);
	fact(c, "pve", key, newest, NULL);
}

static void guest_fact(struct collect *c, long vmid, const char *what, double v)
{
	char key[64];
	snprintf(key, sizeof(key), "guest/%ld/%s", vmid, what);
	fact(c, "pve", key, v, NULL);
}

static enum perr fill_restore(struct collect *c, const char *kind)
{
	double now = now0(c);
	if (strcmp(kind, "mount") == 0) {
		if (strcmp(c->source, "nas") == 0) {
			fact(c, "mount", "vmid/400/last_backup", now - H, NULL);
			fact(c, "mount", "vmid/400/log", VZDUMP_LOG_FAILED, "Backup of VM 400 failed - x");
			fact(c, "mount", "vmid/401/last_backup", now - H, NULL);
			fact(c, "mount", "vmid/401/log", VZDUMP_LOG_UNKNOWN, "");
		} else {
			fact(c, "mount", "vmid/400/last_backup", now - 2 * H, NULL);
			fact(c, "mount", "vmid/400/log", VZDUMP_LOG_OK, "");
		}
		return PE_OK;
	}
	if (strcmp(kind, "pve") != 0)
		return PE_OK;
	for (long vmid = 300; vmid <= 305; vmid++) {
		guest_fact(c, vmid, "template", 0);
		guest_fact(c, vmid, "last_backup", vmid == 305 ? now - 2 * D : now - H);
	}
	place(c, 300, "local", now - H);
	place(c, 300, "pbs-remote", now - 2 * H);
	guest_fact(c, 300, "verifiable", 4);
	guest_fact(c, 300, "newest_verify", PVE_VERIFY_NONE);
	guest_fact(c, 300, "last_verified", now - 2 * D);
	place(c, 301, "local", now - H);
	place(c, 301, "nfs", now - 30 * H); /* older than max_age: no copy */
	place(c, 302, "local", now - H);
	place(c, 302, "nfs", now - 3 * H);
	place(c, 303, "pbs-remote", now - H);
	guest_fact(c, 303, "verifiable", 9);
	guest_fact(c, 303, "newest_verify", PVE_VERIFY_NONE);
	guest_fact(c, 303, "last_verified", now - (9 * D + 3 * H));
	place(c, 304, "local", now - 3 * H);
	place(c, 304, "pbs-remote", 0); /* its only archive there failed verification */
	guest_fact(c, 304, "verifiable", 1);
	guest_fact(c, 304, "newest_verify", PVE_VERIFY_FAILED);
	guest_fact(c, 304, "last_failed", now - H);
	place(c, 305, "pbs-remote", 0);
	guest_fact(c, 305, "verifiable", 1);
	guest_fact(c, 305, "newest_verify", PVE_VERIFY_FAILED);
	guest_fact(c, 305, "last_failed", now - 2 * D);
	return PE_OK;
}

static void has_value(const struct run *x, const char *metric, const char *target_name, double v)
{
	char line[512], val[64];
	expfmt_format_value(val, sizeof(val), v);
	snprintf(line, sizeof(line), "%s{target=\"%s\"} %s", metric, target_name, val);
	has_line(x, line);
}

START_TEST(test_restorability)
{
	struct config *cfg = tu_config_new();
	add_pve(cfg, "home");
	cfg->pve[0].storages = calloc(1, sizeof(*cfg->pve[0].storages));
	cfg->pve[0].storages[0] = (struct config_place){xdup("pbs-remote"), 1, 1};
	cfg->pve[0].nstorages = 1;
	add_mount(cfg, "nas");
	add_mount(cfg, "usb");
	cfg->mounts[1].offsite = 1;
	struct config_target *t;
	t = add_target(cfg, "r-ok", TARGET_PVE, "home", 300, 26 * H);
	t->policy = (struct config_policy){2, 1, 7 * D};
	t = add_target(cfg, "r-copies", TARGET_PVE, "home", 301, 26 * H);
	t->policy.min_copies = 2;
	t = add_target(cfg, "r-offsite", TARGET_PVE, "home", 302, 26 * H);
	t->policy.require_offsite = 1;
	t = add_target(cfg, "r-verified-old", TARGET_PVE, "home", 303, 26 * H);
	t->policy.max_verify_age = 7 * D;
	add_target(cfg, "r-verify-failed", TARGET_PVE, "home", 304, 26 * H);
	add_target(cfg, "r-stale-failed", TARGET_PVE, "home", 305, 26 * H);
	t = add_target(cfg, "m-log", TARGET_MOUNT, "nas", 400, 26 * H);
	t->policy.require_offsite = 1;
	add_target(cfg, "m-log-cut", TARGET_MOUNT, "nas", 401, 26 * H);
	add_target(cfg, "m-usb", TARGET_MOUNT, "usb", 400, 26 * H);
	struct run x;
	fake_fill = fill_restore;
	run_scrape(&x, cfg, 5);

	check_state(&x, "r-ok", INVENTORY_OK, "");
	has_value(&x, "persistence_target_copies", "r-ok", 2);
	has_value(&x, "persistence_target_offsite_copies", "r-ok", 1);
	has_value(&x, "persistence_target_min_copies", "r-ok", 2);
	has_value(&x, "persistence_target_require_offsite", "r-ok", 1);
	has_value(&x, "persistence_target_max_verify_age_seconds", "r-ok", 7 * D);
	has_value(&x, "persistence_target_last_verified_timestamp_seconds", "r-ok", x.now - 2 * D);
	has_value(&x, "persistence_target_verify_failed", "r-ok", 0);
	has_value(&x, "persistence_target_policy_ok", "r-ok", 1);
	ck_assert_uint_eq(target(&x, "r-ok")->restore.nplaces, 2);
	ck_assert_str_eq(target(&x, "r-ok")->restore.places[1].name, "pbs-remote");
	ck_assert_int_eq(target(&x, "r-ok")->restore.places[1].offsite, 1);
	ck_assert_int_eq(target(&x, "r-ok")->restore.places[1].immutable, 1);

	check_state(&x, "r-copies", INVENTORY_DEGRADED, "1 copy, policy wants 2");
	has_value(&x, "persistence_target_copies", "r-copies", 1);
	has_value(&x, "persistence_target_policy_ok", "r-copies", 0);
	lacks(&x, "persistence_target_verify_failed{target=\"r-copies\"}"); /* nothing verifiable */
	lacks(&x, "persistence_target_max_verify_age_seconds{target=\"r-copies\"}");
	check_state(&x, "r-offsite", INVENTORY_DEGRADED, "no offsite copy");
	has_value(&x, "persistence_target_offsite_copies", "r-offsite", 0);
	check_state(&x, "r-verified-old", INVENTORY_DEGRADED, "newest verified backup 9d 3h old, max 7d");
	check_state(&x, "r-verify-failed", INVENTORY_DEGRADED, "newest backup failed verification");
	has_value(&x, "persistence_target_verify_failed", "r-verify-failed", 1);
	has_value(&x, "persistence_target_copies", "r-verify-failed", 1); /* the failed one is no copy */
	check_state(&x, "r-stale-failed", INVENTORY_DEGRADED,
		    "backup 2d old, max 26h; newest backup failed verification");
	has_value(&x, "persistence_target_copies", "r-stale-failed", 0);

	check_state(&x, "m-log", INVENTORY_DEGRADED,
		    "newest backup's log reports an error: Backup of VM 400 failed - x");
	has_value(&x, "persistence_target_copies", "m-log", 1); /* the usb mount's; nas's newest failed */
	has_value(&x, "persistence_target_offsite_copies", "m-log", 1);
	check_state(&x, "m-log-cut", INVENTORY_DEGRADED, "newest backup's log does not show it finished");
	check_state(&x, "m-usb", INVENTORY_OK, "");
	lacks(&x, "persistence_target_max_verify_age_seconds{target=\"m-usb\"}");
	tu_assert_promtool_clean(x.text);

	/* the page, /status and persistencectl status show copies, offsite and verified */
	struct buf out;
	buf_init(&out, 0);
	ck_assert_int_eq(status_render_html(x.s, &out), PE_OK);
	ck_assert_ptr_nonnull(
		strstr(buf_str(&out), "<span class=\"muted\">2 copies, 1 offsite · verified backup 2d old"));
	ck_assert_ptr_nonnull(strstr(buf_str(&out),
				     "<span class=\"bad\">1 copy, 0 offsite · a backup failed verification"));
	buf_reset(&out);
	ck_assert_int_eq(status_render_text(x.s, &out, 0), PE_OK);
	ck_assert_ptr_nonnull(strstr(buf_str(&out), "COPIES"));
	ck_assert_ptr_nonnull(strstr(buf_str(&out), "1 copy, 1 offsite · verified backup 9d 3h old"));
	buf_reset(&out);
	ck_assert_int_eq(status_render_json(x.s, &out), PE_OK);
	cJSON *doc = cJSON_Parse(buf_str(&out));
	ck_assert_ptr_nonnull(doc);
	const cJSON *t0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(doc, "targets"), 0);
	const cJSON *rj = cJSON_GetObjectItemCaseSensitive(t0, "restorability");
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(rj, "copies")->valueint, 2);
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(rj, "min_copies")->valueint, 2);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rj, "require_offsite")));
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rj, "policy_ok")));
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(rj, "verify_failed")));
	ck_assert_double_eq(cJSON_GetObjectItemCaseSensitive(rj, "last_verified")->valuedouble,
			    x.now - 2 * D);
	const cJSON *pl = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(rj, "places"), 1);
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(pl, "name")->valuestring, "pbs-remote");
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(pl, "location")->valuestring, "offsite");
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(pl, "immutable")));
	cJSON_Delete(doc);
	buf_free(&out);
	run_free(&x);
	config_unref(cfg);
}
END_TEST

static enum perr fill_down(struct collect *c, const char *kind)
{
	if (strcmp(kind, "pve") != 0)
		return PE_OK;
	guest_fact(c, 300, "template", 0); /* facts a down source left are not used */
	place(c, 300, "local", now0(c) - H);
	collect_fail(c, "GET /nodes: HTTP 500");
	return PE_HTTP;
}

/* The source is down: nothing is judged, the policy is still published. */
START_TEST(test_restorability_source_down)
{
	struct config *cfg = tu_config_new();
	add_pve(cfg, "home");
	struct config_target *t = add_target(cfg, "r", TARGET_PVE, "home", 300, 26 * H);
	t->policy = (struct config_policy){2, 1, 7 * D};
	struct run x;
	fake_fill = fill_down;
	run_scrape(&x, cfg, 5);
	check_state(&x, "r", INVENTORY_DEGRADED, "source home down");
	has_value(&x, "persistence_target_min_copies", "r", 2);
	has_value(&x, "persistence_target_max_verify_age_seconds", "r", 7 * D);
	lacks(&x, "persistence_target_copies{");
	lacks(&x, "persistence_target_policy_ok{");
	lacks(&x, "persistence_target_verify_failed{");
	run_free(&x);
	config_unref(cfg);
}
END_TEST

/* ---------- n8n ---------- */

/* Sources: same (35/35), smaller (1 < 35), nosnapcount, nolive, stale, nosnap, down. */
static enum perr fill_n8n(struct collect *c, const char *kind)
{
	double now = now0(c);
	const char *src = c->source;
	if (strcmp(kind, "n8n") != 0)
		return PE_OK;
	if (strcmp(src, "down") == 0) {
		fact(c, "n8n", "snapshot_last", now - 60, NULL);
		collect_fail(c,
			     "GET /api/v1/workflows: HTML instead of JSON (service starting or wrong URL?)");
		return PE_PARSE;
	}
	if (strcmp(src, "nolive") != 0)
		fact(c, "n8n", "live_total", 35, NULL);
	if (strcmp(src, "nosnap") == 0)
		return PE_OK;
	fact(c, "n8n", "snapshot_last", now - (strcmp(src, "stale") == 0 ? 3 * H : 30 * 60), NULL);
	if (strcmp(src, "nosnapcount") != 0)
		fact(c, "n8n", "snapshot_workflows", strcmp(src, "smaller") == 0 ? 1 : 35, NULL);
	return PE_OK;
}

START_TEST(test_n8n_ok_rule)
{
	static const char *const names[] = {"same",  "smaller", "nosnapcount", "nolive",
					    "stale", "nosnap",  "down"};
	struct config *cfg = tu_config_new();
	for (size_t i = 0; i < 7; i++) {
		add_n8n(cfg, names[i]);
		add_target(cfg, names[i], TARGET_N8N, names[i], -1, 2 * H);
	}
	struct run x;
	fake_fill = fill_n8n;
	run_scrape(&x, cfg, 5);
	check_state(&x, "same", INVENTORY_OK, "");
	has_last(&x, "same", x.now - 30 * 60);
	check_state(&x, "smaller", INVENTORY_DEGRADED, "snapshot holds 1 workflow, live 35");
	/* the snapshot exists, so its time is still published */
	has_last(&x, "smaller", x.now - 30 * 60);
	check_state(&x, "nosnapcount", INVENTORY_DEGRADED,
		    "workflows in the newest snapshot could not be counted");
	check_state(&x, "nolive", INVENTORY_DEGRADED, "live workflow count unknown");
	check_state(&x, "stale", INVENTORY_DEGRADED, "backup 3h old, max 2h");
	check_state(&x, "nosnap", INVENTORY_DEGRADED, "no snapshot found");
	check_state(&x, "down", INVENTORY_DEGRADED, "source down down");
	has_line(&x, "persistence_target_info{target=\"same\",site=\"\",kind=\"n8n\",source=\"same\","
		     "severity=\"warning\"} 1");
	ck_assert_uint_eq(x.r->nok, 1);
	tu_assert_promtool_clean(x.text);
	run_free(&x);
	config_unref(cfg);
}
END_TEST

/* ---------- pbs ---------- */

/*
 * Source "pbs1": datastore store1 listed; its root listing read, "lab" failed (403), "slow" late,
 * the namespace list read (so "none" does not exist). Groups of the root: vm/1 fresh and verified,
 * vm/2 stale, vm/3 newest failed verification, vm/4 never verified, vm/5 verified 9 days ago,
 * host/h only a backup being written. Source "pbs2" is down.
 */
static enum perr fill_pbs(struct collect *c, const char *kind)
{
	static const struct {
		const char *id;
		double age, verified_age, state;
	} groups[] = {{"vm/1", H, 2 * H, 1},
		      {"vm/2", 3 * D, 3 * D, 1},
		      {"vm/3", H, 2 * D, -1},
		      {"vm/4", H, -1, 0},
		      {"vm/5", H, 9 * D, 0}};
	double now = now0(c);
	char key[256];
	if (strcmp(kind, "pbs") != 0)
		return PE_OK;
	if (strcmp(c->source, "pbs2") == 0) {
		collect_fail(c, "GET /admin/datastore: HTTP 500: unable to open chunk store");
		return PE_HTTP;
	}
	fact(c, "pbs", "datastore/store1", 1, NULL);
	fact(c, "pbs", "namespaces/store1", 1, NULL);
	fact(c, "pbs", "listing/store1/", 1, NULL);
	fact(c, "pbs", "listing/store1/lab", 0, "GET /admin/datastore/store1/snapshots?ns=lab: HTTP 403");
	fact(c, "pbs", "listing/store1/slow", -1, "GET ...: no answer before the scrape deadline");
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		snprintf(key, sizeof(key), "group/store1//%s/snapshots", groups[i].id);
		fact(c, "pbs", key, 3, NULL);
		snprintf(key, sizeof(key), "group/store1//%s/last_backup", groups[i].id);
		fact(c, "pbs", key, now - groups[i].age, NULL);
		snprintf(key, sizeof(key), "group/store1//%s/last_state", groups[i].id);
		fact(c, "pbs", key, groups[i].state, NULL);
		snprintf(key, sizeof(key), "group/store1//%s/last_verified", groups[i].id);
		if (groups[i].verified_age >= 0)
			fact(c, "pbs", key, now - groups[i].verified_age, NULL);
	}
	fact(c, "pbs", "group/store1//host/h/snapshots", 0, NULL);
	return PE_OK;
}

static struct config_target *add_pbs_target(struct config *c, const char *name, const char *source,
					    const char *store, const char *ns, const char *group,
					    double max_verify)
{
	struct config_target *t = add_target(c, name, TARGET_PBS, source, -1, D);
	const char *slash = strchr(group, '/');
	t->datastore = xdup(store);
	t->ns = xdup(ns);
	t->backup_type = strndup(group, (size_t)(slash - group));
	t->backup_id = xdup(slash + 1);
	t->policy.max_verify_age = max_verify;
	return t;
}

START_TEST(test_pbs_ok_rule)
{
	struct config *cfg = tu_config_new();
	struct run x;
	cfg->pbs = calloc(2, sizeof(*cfg->pbs));
	ck_assert_ptr_nonnull(cfg->pbs);
	cfg->npbs = 2;
	cfg->pbs[0].name = xdup("pbs1");
	cfg->pbs[1].name = xdup("pbs2");
	add_pbs_target(cfg, "fresh", "pbs1", "store1", "", "vm/1", 7 * D);
	add_pbs_target(cfg, "stale", "pbs1", "store1", "", "vm/2", 0);
	add_pbs_target(cfg, "corrupt", "pbs1", "store1", "", "vm/3", 0);
	add_pbs_target(cfg, "unverified", "pbs1", "store1", "", "vm/4", 7 * D);
	add_pbs_target(cfg, "unverified-ok", "pbs1", "store1", "", "vm/4", 0);
	add_pbs_target(cfg, "old-verify", "pbs1", "store1", "", "vm/5", 7 * D);
	add_pbs_target(cfg, "running", "pbs1", "store1", "", "host/h", 0);
	add_pbs_target(cfg, "missing", "pbs1", "store1", "", "ct/9", 0);
	add_pbs_target(cfg, "nostore", "pbs1", "offsite", "", "vm/1", 0);
	add_pbs_target(cfg, "nons", "pbs1", "store1", "none", "vm/1", 0);
	add_pbs_target(cfg, "denied", "pbs1", "store1", "lab", "vm/1", 0);
	add_pbs_target(cfg, "late", "pbs1", "store1", "slow", "vm/1", 0);
	add_pbs_target(cfg, "down", "pbs2", "store1", "", "vm/1", 0);
	fake_fill = fill_pbs;
	run_scrape(&x, cfg, 5);
	check_state(&x, "fresh", INVENTORY_OK, "");
	has_last(&x, "fresh", x.now - H);
	has_line(&x, "persistence_target_info{target=\"fresh\",site=\"\",kind=\"pbs\",source=\"pbs1\","
		     "severity=\"warning\"} 1");
	char line[256];
	snprintf(line, sizeof(line),
		 "persistence_target_last_verified_timestamp_seconds{target=\"fresh\"} %.0f", x.now - 2 * H);
	has_line(&x, line);
	check_state(&x, "stale", INVENTORY_DEGRADED, "backup 3d old, max 1d");
	check_state(&x, "corrupt", INVENTORY_DEGRADED, "newest backup failed verification");
	check_state(&x, "unverified", INVENTORY_DEGRADED, "no verified backup");
	lacks(&x, "persistence_target_last_verified_timestamp_seconds{target=\"unverified\"}");
	check_state(&x, "unverified-ok", INVENTORY_OK, ""); /* verification not required */
	check_state(&x, "old-verify", INVENTORY_DEGRADED, "newest verified backup 9d old, max 7d");
	check_state(&x, "running", INVENTORY_DEGRADED, "no finished backup of host/h in store1");
	check_state(&x, "missing", INVENTORY_DEGRADED, "no backup of ct/9 in store1");
	check_state(&x, "nostore", INVENTORY_DEGRADED, "datastore offsite not found on pbs1");
	check_state(&x, "nons", INVENTORY_DEGRADED, "no namespace 'none' in datastore store1");
	check_state(&x, "denied", INVENTORY_DEGRADED,
		    "snapshots of store1 (namespace lab) could not be read: GET "
		    "/admin/datastore/store1/snapshots?ns=lab: "
		    "HTTP 403");
	check_state(&x, "late", INVENTORY_UNKNOWN, "snapshots of store1 (namespace slow) not read in time");
	check_state(&x, "down", INVENTORY_DEGRADED, "source pbs2 down");
	ck_assert(!target(&x, "denied")->answered);
	ck_assert(target(&x, "missing")->answered);
	/* verification is the restorability policy's: the rules tell it from staleness by policy_ok */
	has_value(&x, "persistence_target_policy_ok", "fresh", 1);
	has_value(&x, "persistence_target_verify_failed", "fresh", 0);
	has_value(&x, "persistence_target_max_verify_age_seconds", "fresh", 7 * D);
	has_value(&x, "persistence_target_policy_ok", "stale", 1); /* only stale: not the policy's */
	has_value(&x, "persistence_target_policy_ok", "corrupt", 0);
	has_value(&x, "persistence_target_verify_failed", "corrupt", 1);
	has_value(&x, "persistence_target_ok", "corrupt", 0);
	has_value(&x, "persistence_target_policy_ok", "unverified", 0);
	has_value(&x, "persistence_target_verify_failed", "unverified", 0);
	has_value(&x, "persistence_target_max_verify_age_seconds", "unverified", 7 * D);
	has_value(&x, "persistence_target_policy_ok", "unverified-ok", 1);
	lacks(&x, "persistence_target_max_verify_age_seconds{target=\"unverified-ok\"}");
	has_value(&x, "persistence_target_policy_ok", "old-verify", 0);
	has_value(&x, "persistence_target_policy_ok", "missing", 1);
	lacks(&x, "persistence_target_verify_failed{target=\"missing\"}"); /* no snapshot to verify */
	lacks(&x, "persistence_target_verify_failed{target=\"running\"}");
	for (size_t i = 0; i < 4; i++) { /* a PBS group is one place: no copies counted */
		static const char *const fams[] = {"copies", "offsite_copies", "min_copies",
						   "require_offsite"};
		snprintf(line, sizeof(line), "persistence_target_%s{target=\"fresh\"}", fams[i]);
		lacks(&x, line);
	}
	lacks(&x, "persistence_target_policy_ok{target=\"denied\"}"); /* not read: nothing judged */
	lacks(&x, "persistence_target_policy_ok{target=\"late\"}");
	lacks(&x, "persistence_target_policy_ok{target=\"down\"}");
	tu_assert_promtool_clean(x.text);
	run_free(&x);
	config_unref(cfg);
}
END_TEST

/* ---------- file ---------- */

static char tmpdir[256];

static void make_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/pe-inv-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void rm_tmpdir(void)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Writes tmpdir/name with data and sets its mtime. */
static void make_file(const char *name, const char *data, double mtime)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	tu_write_file(path, data, strlen(data));
	struct timeval tv[2] = {{(time_t)mtime, 0}, {(time_t)mtime, 0}};
	ck_assert_int_eq(utimes(path, tv), 0);
}

static char *tmp_path(const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return xdup(path);
}

START_TEST(test_file_kind)
{
	double now = floor((double)time(NULL));
	make_tmpdir();
	make_file("a.tar.zst", "x", now - 5 * H);
	make_file("b.tar.zst", "x", now - H);
	make_file("c.tar.zst", "x", now - 30 * H);
	make_file("newer.txt", "x", now - 60); /* does not match the pattern */
	make_file("old.tar.gz", "x", now - 3 * D);
	struct config *cfg = tu_config_new();
	char pattern[512];
	snprintf(pattern, sizeof(pattern), "%s/*.tar.zst", tmpdir);
	add_file_target(cfg, "f-fresh", pattern, 26 * H);
	snprintf(pattern, sizeof(pattern), "%s/*.tar.gz", tmpdir);
	add_file_target(cfg, "f-stale", pattern, 26 * H);
	snprintf(pattern, sizeof(pattern), "%s/none-*.tar", tmpdir);
	add_file_target(cfg, "f-none", pattern, 26 * H);
	add_file_target(cfg, "f-nodir", "/nonexistent-pe-dir/*.tar", 26 * H);
	struct run x;
	fake_fill = NULL;
	run_scrape(&x, cfg, 5);
	check_state(&x, "f-fresh", INVENTORY_OK, "");
	has_last(&x, "f-fresh", now - H); /* the newest of the three matches */
	check_state(&x, "f-stale", INVENTORY_DEGRADED, "backup 3d old, max 26h");
	check_state(&x, "f-none", INVENTORY_DEGRADED, "no file matches the pattern");
	lacks(&x, "persistence_target_last_backup_timestamp_seconds{target=\"f-none\"}");
	check_state(&x, "f-nodir", INVENTORY_DEGRADED, "no file matches the pattern");
	has_line(&x, "persistence_target_info{target=\"f-fresh\",site=\"\",kind=\"file\",source=\"\","
		     "severity=\"warning\"} 1");
	tu_assert_promtool_clean(x.text);
	run_free(&x);
	config_unref(cfg);
	rm_tmpdir();
}
END_TEST

/* ---------- restore docs ---------- */

static enum perr fill_doc(struct collect *c, const char *kind)
{
	if (strcmp(kind, "pve") == 0) {
		fact(c, "pve", "guest/100/template", 0, NULL);
		fact(c, "pve", "guest/100/last_backup", now0(c) - H, NULL);
	}
	return PE_OK;
}

START_TEST(test_restore_doc)
{
	static const char *const kinds[] = {"p", "f"};
	double now = floor((double)time(NULL));
	make_tmpdir();
	make_file("good.md", "restore: zfs rollback\n", now);
	make_file("empty.md", "", now);
	make_file("b.tar.zst", "x", now - H);
	struct config *cfg = tu_config_new();
	add_pve(cfg, "home");
	char pattern[512];
	snprintf(pattern, sizeof(pattern), "%s/*.tar.zst", tmpdir);
	/* the same docs on a pve target (docs job) and on a file target (the file's own job) */
	for (size_t k = 0; k < 2; k++) {
		static const char *const docs[] = {"url",   "URL",  "nourl", "missing",
						   "empty", "good", "unset", "ftp"};
		for (size_t i = 0; i < 8; i++) {
			char name[64];
			snprintf(name, sizeof(name), "%s-%s", kinds[k], docs[i]);
			struct config_target *t =
				k == 0 ? add_target(cfg, name, TARGET_PVE, "home", 100, 26 * H)
				       : add_file_target(cfg, name, pattern, 26 * H);
			const char *doc = i == 0   ? "https://wiki.lan/restore/x"
					  : i == 1 ? "HTTP://wiki.lan/r"
					  : i == 2 ? "https://"
					  : i == 7 ? "ftp://wiki.lan/r"
						   : NULL;
			if (doc)
				t->restore_doc = xdup(doc);
			else if (i == 3)
				t->restore_doc = tmp_path("nothing.md");
			else if (i == 4)
				t->restore_doc = tmp_path("empty.md");
			else if (i == 5)
				t->restore_doc = tmp_path("good.md");
		}
	}
	struct run x;
	fake_fill = fill_doc;
	run_scrape(&x, cfg, 5);
	for (size_t k = 0; k < 2; k++) {
		static const char *const docs[] = {"url",   "URL",  "nourl", "missing",
						   "empty", "good", "unset", "ftp"};
		static const int want[] = {1, 1, 0, 0, 0, 1, 0, 0};
		for (size_t i = 0; i < 8; i++) {
			char line[256];
			snprintf(line, sizeof(line),
				 "persistence_target_restore_documented{target=\"%s-%s\"} %d", kinds[k],
				 docs[i], want[i]);
			has_line(&x, line);
		}
	}
	/* the doc does not change the backup verdict */
	check_state(&x, "p-missing", INVENTORY_OK, "");
	check_state(&x, "f-missing", INVENTORY_OK, "");
	run_free(&x);
	config_unref(cfg);
	rm_tmpdir();
}
END_TEST

/* ---------- a hung file system and a late source ---------- */

struct blocker {
	int fd; /* read end: the job blocks until the test writes */
};

static void blocker_run(void *arg)
{
	struct blocker *b = arg;
	char c;
	ssize_t n = read(b->fd, &c, 1);
	(void)n;
}

static void blocker_free(void *arg)
{
	free(arg);
}

START_TEST(test_file_probe_hung_is_unknown)
{
	struct config *cfg = tu_config_new();
	struct config_target *t = add_file_target(cfg, "stalwart", "/tmp/*.none", 26 * H);
	t->restore_doc = xdup("/tmp/doc-on-the-same-mount.md");
	struct scrape_state *st = scrape_state_new();
	ck_assert_ptr_nonnull(st);
	scrape_state_set_collectors(st, table);
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	struct blocker *b = calloc(1, sizeof(*b));
	ck_assert_ptr_nonnull(b);
	b->fd = p[0];
	/* a previous glob of this target still hangs: the next one must not start nor wait */
	ck_assert_int_eq(
		probe_run(scrape_state_probes(st), "file:stalwart", blocker_run, b, blocker_free, 0.05),
		PE_TIMEOUT);
	fake_fill = NULL;
	struct scrape *s = scrape_new(st, cfg, 5, NULL, 0);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(scrape_run(s), PE_OK);
	const struct inventory_report *r = facts_attached(scrape_facts(s), INVENTORY_ATTACHMENT);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->targets[0].state, INVENTORY_UNKNOWN);
	ck_assert_int_eq(r->targets[0].ok, 0);
	ck_assert_int_eq(r->targets[0].doc_known, 0);
	ck_assert_uint_eq(r->nunknown, 1);
	struct buf out;
	buf_init(&out, 0);
	ck_assert_int_eq(scrape_write(s, &out), PE_OK);
	ck_assert_ptr_nonnull(strstr(buf_str(&out), "persistence_target_ok{target=\"stalwart\"} 0\n"));
	ck_assert_ptr_null(strstr(buf_str(&out), "persistence_target_restore_documented{"));
	buf_free(&out);
	scrape_free(s);
	ck_assert_int_eq(write(p[1], "x", 1), 1); /* the file server comes back */
	scrape_state_free(st);
	close(p[1]);
	config_unref(cfg);
}
END_TEST

static int late_done; /* atomic */

static enum perr fill_late(struct collect *c, const char *kind)
{
	if (strcmp(kind, "pve") == 0) {
		struct timespec ts = {1, 500 * 1000 * 1000};
		nanosleep(&ts, NULL);
		__atomic_store_n(&late_done, 1, __ATOMIC_RELEASE);
	}
	(void)c;
	return PE_OK;
}

START_TEST(test_late_source_is_unknown)
{
	struct config *cfg = tu_config_new();
	add_pve(cfg, "home");
	add_target(cfg, "late", TARGET_PVE, "home", 100, 26 * H);
	struct run x;
	late_done = 0;
	fake_fill = fill_late;
	run_scrape(&x, cfg, 1.0);
	check_state(&x, "late", INVENTORY_UNKNOWN, "source home not collected before the deadline");
	char line[128];
	inventory_summary(x.r, line, sizeof(line));
	ck_assert_str_eq(line, "0/1 OK, 0 degraded, 1 unknown");
	run_free(&x);
	while (!__atomic_load_n(&late_done, __ATOMIC_ACQUIRE)) {
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	struct timespec ts = {0, 50 * 1000 * 1000}; /* let the task drop its reference */
	nanosleep(&ts, NULL);
	config_unref(cfg);
}
END_TEST

/* ---------- small helpers ---------- */

START_TEST(test_count_and_formats)
{
	struct config *cfg = tu_config_new();
	ck_assert_uint_eq(collector_inventory.count(cfg), 0);
	add_pve(cfg, "home");
	ck_assert_uint_eq(collector_inventory.count(cfg), 1);
	config_unref(cfg);
	cfg = tu_config_new();
	add_file_target(cfg, "f", "/x/*", 60);
	ck_assert_uint_eq(collector_inventory.count(cfg), 1);
	config_unref(cfg);
	ck_assert_int_eq(collector_inventory.phase, 1);
	ck_assert_ptr_null(collector_inventory.kind);

	char s[64];
	inventory_format_age(s, sizeof(s), 4 * D + 2 * H + 13 * 60);
	ck_assert_str_eq(s, "4d 2h");
	inventory_format_age(s, sizeof(s), 3 * D);
	ck_assert_str_eq(s, "3d");
	inventory_format_age(s, sizeof(s), 5 * H + 12 * 60 + 9);
	ck_assert_str_eq(s, "5h 12m");
	inventory_format_age(s, sizeof(s), 200);
	ck_assert_str_eq(s, "3m 20s");
	inventory_format_age(s, sizeof(s), 12.7);
	ck_assert_str_eq(s, "12s");
	inventory_format_age(s, sizeof(s), -30);
	ck_assert_str_eq(s, "0s");
	inventory_format_max_age(s, sizeof(s), 26 * H);
	ck_assert_str_eq(s, "26h");
	inventory_format_max_age(s, sizeof(s), 8 * D);
	ck_assert_str_eq(s, "8d");
	inventory_format_max_age(s, sizeof(s), 90 * 60);
	ck_assert_str_eq(s, "90m");
	inventory_format_max_age(s, sizeof(s), 45);
	ck_assert_str_eq(s, "45s");

	struct inventory_report r = {0};
	r.ntargets = 20;
	r.nok = 18;
	r.ndegraded = 2;
	inventory_summary(&r, s, sizeof(s));
	ck_assert_str_eq(s, "18/20 OK, 2 degraded");
	r.nok = 17;
	r.nunknown = 1;
	inventory_summary(&r, s, sizeof(s));
	ck_assert_str_eq(s, "17/20 OK, 2 degraded, 1 unknown");

	ck_assert_int_eq(inventory_doc_is_url("https://wiki.lan/x"), 1);
	ck_assert_int_eq(inventory_doc_is_url("Http://w"), 1);
	ck_assert_int_eq(inventory_doc_is_url("https://"), 0);
	ck_assert_int_eq(inventory_doc_is_url("javascript:alert(1)"), 0);
	ck_assert_int_eq(inventory_doc_is_url("/srv/doc.md"), 0);
	ck_assert_int_eq(inventory_doc_is_url(NULL), 0);
}
END_TEST

/* ---------- rendering ---------- */

static enum perr fill_render(struct collect *c, const char *kind)
{
	double now = now0(c);
	if (strcmp(kind, "pve") == 0 && strcmp(c->source, "home") == 0) {
		fact(c, "pve", "guest/100/template", 0, NULL);
		fact(c, "pve", "guest/100/last_backup", now - H, NULL);
		fact(c, "pve", "guest/101/template", 0, NULL);
		fact(c, "pve", "guest/101/last_backup", now - 4 * D, NULL);
		fact(c, "pve", "guest/107/template", 0, NULL);
		fact(c, "pve", "guest/107/name", 0, "<img src=x onerror=alert(1)>");
		fact(c, "pve", "guest/107/type", 0, "lxc");
		fact(c, "pve", "guest/107/node", 0, "pve\x1b[2J1");
		return PE_OK;
	}
	if (strcmp(kind, "pve") == 0) {
		collect_fail(c, "GET /cluster/resources: HTTP 401: authentication failure");
		return PE_AUTH;
	}
	return PE_OK;
}

static struct config *render_config(void)
{
	struct config *cfg = tu_config_new();
	add_pve(cfg, "home");
	add_pve(cfg, "shop");
	struct config_target *t =
		add_target(cfg, "<script>alert(1)</script>", TARGET_PVE, "home", 100, 26 * H);
	t->restore_doc = xdup("https://wiki.lan/restore?a=1&b=\"2\"");
	free(t->site);
	t->site = xdup("home");
	add_target(cfg, "home-vm-101", TARGET_PVE, "home", 101, 26 * H);
	add_target(cfg, "shop-vm-200", TARGET_PVE, "shop", 200, 26 * H);
	return cfg;
}

START_TEST(test_render_html)
{
	struct config *cfg = render_config();
	struct run x;
	fake_fill = fill_render;
	run_scrape(&x, cfg, 5);
	struct buf out;
	buf_init(&out, 0);
	ck_assert_int_eq(status_render_html(x.s, &out), PE_OK);
	const char *h = buf_str(&out);
	ck_assert_ptr_nonnull(strstr(h, "backup.status: 1/3 OK, 2 degraded</p>"));
	ck_assert_ptr_null(strstr(h, "<script>"));
	ck_assert_ptr_null(strstr(h, "<img"));
	ck_assert_ptr_nonnull(strstr(h, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	ck_assert_ptr_nonnull(strstr(h, "&lt;img src=x onerror=alert(1)&gt;"));
	ck_assert_ptr_nonnull(strstr(h, "<a href=\"https://wiki.lan/restore?a=1&amp;b=&quot;2&quot;\">"));
	ck_assert_ptr_nonnull(strstr(h, "backup 4d old, max 26h"));
	/* the down source's own error completes the reason */
	ck_assert_ptr_nonnull(
		strstr(h, "source shop down: GET /cluster/resources: HTTP 401: authentication failure"));
	ck_assert_ptr_nonnull(strstr(h, "<td class=\"bad\">DEGRADED</td>"));
	ck_assert_ptr_nonnull(strstr(h, "<td class=\"ok\">OK</td>"));
	ck_assert_ptr_nonnull(strstr(h, "href=\"/metrics\""));
	ck_assert_ptr_nonnull(strstr(h, "href=\"/status\""));
	ck_assert_ptr_nonnull(strstr(h, "name=\"viewport\""));
	/* shop is down: its guests are not known, and the page says so */
	ck_assert_ptr_nonnull(strstr(h, "Not known for PVE sources that are down: shop."));
	ck_assert_ptr_null(strstr(h, "<script"));
	ck_assert_int_eq(status_verdict(x.s), 1);
	buf_free(&out);
	run_free(&x);
	config_unref(cfg);
}
END_TEST

START_TEST(test_render_json)
{
	struct config *cfg = render_config();
	struct run x;
	fake_fill = fill_render;
	run_scrape(&x, cfg, 5);
	struct buf out;
	buf_init(&out, 0);
	ck_assert_int_eq(status_render_json(x.s, &out), PE_OK);
	cJSON *doc = cJSON_Parse(buf_str(&out));
	ck_assert_ptr_nonnull(doc);
	const cJSON *sum = cJSON_GetObjectItemCaseSensitive(doc, "summary");
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(sum, "ok")->valueint, 1);
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(sum, "degraded")->valueint, 2);
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(sum, "unknown")->valueint, 0);
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(sum, "total")->valueint, 3);
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(sum, "line")->valuestring,
			 "backup.status: 1/3 OK, 2 degraded");
	const cJSON *targets = cJSON_GetObjectItemCaseSensitive(doc, "targets");
	ck_assert_int_eq(cJSON_GetArraySize(targets), 3);
	const cJSON *t0 = cJSON_GetArrayItem(targets, 0);
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(t0, "name")->valuestring,
			 "<script>alert(1)</script>");
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(t0, "state")->valuestring, "OK");
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t0, "ok")));
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t0, "restore_documented")));
	ck_assert_double_eq(cJSON_GetObjectItemCaseSensitive(t0, "last_backup")->valuedouble, x.now - H);
	const cJSON *t2 = cJSON_GetArrayItem(targets, 2);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(t2, "last_backup")));
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(t2, "ok")));
	ck_assert_ptr_nonnull(
		strstr(cJSON_GetObjectItemCaseSensitive(t2, "reason")->valuestring, "HTTP 401"));
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "sources")), 2);
	const cJSON *un = cJSON_GetObjectItemCaseSensitive(doc, "uninventoried");
	ck_assert_int_eq(cJSON_GetArraySize(un), 1);
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(un, 0), "vmid")->valueint, 107);
	cJSON_Delete(doc);
	buf_free(&out);
	run_free(&x);
	config_unref(cfg);
}
END_TEST

START_TEST(test_render_text)
{
	struct config *cfg = render_config();
	struct run x;
	fake_fill = fill_render;
	run_scrape(&x, cfg, 5);
	struct buf out;
	buf_init(&out, 0);
	ck_assert_int_eq(status_render_text(x.s, &out, 0), PE_OK);
	const char *t = buf_str(&out);
	size_t len = strlen(t);
	const char *want_end = "\nbackup.status: 1/3 OK, 2 degraded\n";
	if (len <= strlen(want_end) || strcmp(t + len - strlen(want_end), want_end) != 0) {
		fprintf(stderr, "--- text:\n%s--- end\n", t);
		ck_abort_msg("the text does not end with the summary line");
	}
	ck_assert_ptr_null(strchr(t, '\033')); /* no colour, and the guest's escape sequence is defused */
	ck_assert_ptr_nonnull(strstr(t, "home/107 <img src=x onerror=alert(1)> (lxc on pve?[2J1)"));
	ck_assert_ptr_nonnull(
		strstr(t, "Guests in no target: (not known for PVE sources that are down: shop)"));
	/* columns are aligned: STATE starts at the same offset on the header and each target row */
	const char *hdr = strstr(t, "STATE");
	const char *row = strstr(t, "\nhome ");
	ck_assert_ptr_nonnull(hdr);
	ck_assert_ptr_nonnull(row);
	const char *ok = strstr(row, "OK");
	ck_assert_int_eq(hdr - t, ok - (row + 1));
	buf_reset(&out);
	ck_assert_int_eq(status_render_text(x.s, &out, 1), PE_OK);
	ck_assert_ptr_nonnull(strstr(buf_str(&out), "\033[31mDEGRADED\033[0m"));
	ck_assert_ptr_nonnull(strstr(buf_str(&out), "\033[32mOK\033[0m"));
	buf_free(&out);
	run_free(&x);
	config_unref(cfg);
}
END_TEST

START_TEST(test_verdict)
{
	struct config *cfg = tu_config_new();
	add_pve(cfg, "home");
	add_target(cfg, "ok", TARGET_PVE, "home", 100, 26 * H);
	struct run x;
	fake_fill = fill_doc; /* guest 100 backed up an hour ago */
	run_scrape(&x, cfg, 5);
	ck_assert_int_eq(status_verdict(x.s), 0);
	struct buf out;
	buf_init(&out, 0);
	ck_assert_int_eq(status_render_text(x.s, &out, 0), PE_OK);
	ck_assert_ptr_nonnull(strstr(buf_str(&out), "\nbackup.status: 1/1 OK, 0 degraded\n"));
	buf_free(&out);
	run_free(&x);
	config_unref(cfg);
}
END_TEST

static Suite *inventory_suite(void)
{
	Suite *s = suite_create("inventory");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_pve_ok_rule);
	tcase_add_test(tc, test_pve_guest_in_inventory);
	tcase_add_test(tc, test_exempt_guests_apart);
	tcase_add_test(tc, test_only_exempt_guests);
	tcase_add_test(tc, test_remembered_while_source_down);
	tcase_add_test(tc, test_mount_ok_rule);
	tcase_add_test(tc, test_restorability);
	tcase_add_test(tc, test_restorability_source_down);
	tcase_add_test(tc, test_n8n_ok_rule);
	tcase_add_test(tc, test_file_kind);
	tcase_add_test(tc, test_restore_doc);
	tcase_add_test(tc, test_file_probe_hung_is_unknown);
	tcase_add_test(tc, test_late_source_is_unknown);
	tcase_add_test(tc, test_count_and_formats);
	tcase_add_test(tc, test_render_html);
	tcase_add_test(tc, test_render_json);
	tcase_add_test(tc, test_render_text);
	tcase_add_test(tc, test_verdict);
	tcase_add_test(tc, test_pbs_ok_rule);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(inventory_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
