/* config.c - the exporter's configuration: its schema tables, loading, lifetime and lookups. */
#include "config.h"
#include "config_pbs.h"
#include "config_policy.h"
#include "config_schema.h"
#include "log.h"
#include "secret.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

_Static_assert(offsetof(struct config_pve, name) == 0, "name first");
_Static_assert(offsetof(struct config_mount, name) == 0, "name first");
_Static_assert(offsetof(struct config_n8n, name) == 0, "name first");
_Static_assert(offsetof(struct config_docker, name) == 0, "name first");
_Static_assert(offsetof(struct config_target, name) == 0, "name first");

/* ---- config sections ---- */

static const struct cfg_key tls_keys[] = {
	{"ca_file", cfg_set_readable_file, offsetof(struct config_tls, ca_file), 1, 0},
	{"fingerprint", cfg_set_fingerprint, offsetof(struct config_tls, fingerprint), 1, 0},
	{"insecure_skip_verify", cfg_set_bool, offsetof(struct config_tls, insecure_skip_verify), 0, 0},
};

void cfg_set_tls(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	struct config_tls *t = dst;
	if (cfg_map(ctx, v, path, tls_keys, sizeof(tls_keys) / sizeof(tls_keys[0]), t) < 0)
		return;
	if (t->insecure_skip_verify && (t->ca_file || t->fingerprint))
		cfg_err(ctx, v, path, "insecure_skip_verify cannot be combined with ca_file or fingerprint");
	else if (t->insecure_skip_verify)
		log_warn("TLS certificate verification is disabled", "file", ctx->file, "key", path);
}

static const struct cfg_key global_keys[] = {
	{"scrape_timeout", cfg_set_duration_pos, offsetof(struct config_global, scrape_timeout), 0, 0},
	{"cache_ttl", cfg_set_duration, offsetof(struct config_global, cache_ttl), 0, 0},
	{"max_staleness", cfg_set_duration_pos, offsetof(struct config_global, max_staleness), 0, 0},
	{"drill_state_file", cfg_set_abspath, offsetof(struct config_global, drill_state_file), 0, 0},
	{"policy", cfg_set_policy, offsetof(struct config_global, policy), 0, 0},
};

static void set_global(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	if (!cfg_is_null(v))
		(void)cfg_map(ctx, v, path, global_keys, sizeof(global_keys) / sizeof(global_keys[0]), dst);
}

/* pve[].exempt: a sequence of {vmid | storage, reason}; each guest or storage at most once. */
static const struct cfg_key exempt_keys[] = {
	{"vmid", cfg_set_vmid, offsetof(struct config_exempt, vmid), 1, 1},
	{"storage", cfg_set_str, offsetof(struct config_exempt, storage), 1, 1},
	{"reason", cfg_set_str, offsetof(struct config_exempt, reason), 0, 1},
};

/* 1 when an earlier entry exempts the same guest or storage. */
static int exempt_dup(const struct config_pve *p, const struct config_exempt *x)
{
	for (const struct config_exempt *o = p->exempt; o < x; o++)
		if ((x->vmid >= 0 && o->vmid == x->vmid) ||
		    (x->storage && o->storage && strcmp(o->storage, x->storage) == 0))
			return 1;
	return 0;
}

static void set_exempt(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	struct config_pve *p = dst;
	if (cfg_is_null(v))
		return;
	if (v->kind != YNODE_SEQ) {
		cfg_err(ctx, v, path, "expected a sequence, got %s", cfg_kind(v));
		return;
	}
	size_t n = v->n;
	p->exempt = n ? calloc(n, sizeof(*p->exempt)) : NULL;
	if (n && !p->exempt) {
		ctx->oom = 1;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct ynode *item = v->items[i];
		struct config_exempt *x = &p->exempt[p->nexempt++];
		char sub[CFG_PATH];
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		x->vmid = -1;
		if (cfg_map(ctx, item, sub, exempt_keys, sizeof(exempt_keys) / sizeof(exempt_keys[0]), x) ==
			    0 &&
		    exempt_dup(p, x))
			cfg_err(ctx, item, sub, "this %s is already exempted above",
				x->storage ? "storage" : "guest");
	}
}

/* vmid_range: [first, last], two guest ids, first <= last. */
static void set_vmid_range(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	struct config_drill *d = dst;
	char sub[CFG_PATH];
	if (v->kind != YNODE_SEQ || v->n != 2) {
		cfg_err(ctx, v, path, "expected [first, last], two guest ids");
		return;
	}
	long ids[2] = {-1, -1};
	for (int i = 0; i < 2; i++) {
		snprintf(sub, sizeof(sub), "%s[%d]", path, i);
		cfg_set_vmid(ctx, v->items[i], sub, &ids[i]);
	}
	if (ids[0] > 0 && ids[1] > 0 && ids[0] > ids[1])
		cfg_err(ctx, v, path, "first id %ld is greater than last id %ld", ids[0], ids[1]);
	else if (ids[0] > 0 && ids[1] - ids[0] >= CONFIG_DRILL_MAX_IDS)
		cfg_err(ctx, v, path, "%ld ids: a scratch range has at most %d", ids[1] - ids[0] + 1,
			CONFIG_DRILL_MAX_IDS);
	d->vmid_lo = ids[0];
	d->vmid_hi = ids[1];
}

/* A PVE storage or pool id, and the name prefix: letters, digits, '-', '_' (and '.' for ids). */
static void cfg_set_word_of(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst,
			    const char *extra, size_t max, const char *what)
{
	const char *s = cfg_scalar(ctx, v, path, what);
	if (!s)
		return;
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr(extra, s[i]))
			n = 0;
	if (n == 0 || n > max || !isalpha((unsigned char)s[0])) {
		char q[80];
		cfg_err(ctx, v, path, "invalid %s %s", what, cfg_quote(s, q, sizeof(q)));
		return;
	}
	cfg_set_str(ctx, v, path, dst);
}

static void set_pve_id(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	cfg_set_word_of(ctx, v, path, dst, "-_.", 100, "PVE id (letters, digits, '-', '_', '.')");
}

/* The restored guest's name is prefix + source + vmid: a DNS label, so letters, digits and '-'. */
static void set_name_prefix(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	cfg_set_word_of(ctx, v, path, dst, "-", 20, "name prefix (up to 20 letters, digits or '-')");
}

#define DRILL_OFF(f) offsetof(struct config_drill, f)
static const struct cfg_key drill_keys[] = {
	{"token_id", cfg_set_token_id, DRILL_OFF(token_id), 0, 1},
	{"token_secret_file", cfg_set_secret_path, DRILL_OFF(token_secret_file), 1, 1},
	{"token_secret", cfg_set_secret_inline, DRILL_OFF(token_secret), 1, 1},
	{"vmid_range", set_vmid_range, 0, 0, 1},
	{"storage", set_pve_id, DRILL_OFF(storage), 0, 1},
	{"pool", set_pve_id, DRILL_OFF(pool), 0, 1},
	{"boot_timeout", cfg_set_duration_pos, DRILL_OFF(boot_timeout), 0, 0},
	{"restore_timeout", cfg_set_duration_pos, DRILL_OFF(restore_timeout), 0, 0},
	{"name_prefix", set_name_prefix, DRILL_OFF(name_prefix), 0, 0},
};

static void set_drill(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	struct config_pve *p = dst;
	struct config_drill *d = calloc(1, sizeof(*d));
	if (!d) {
		ctx->oom = 1;
		return;
	}
	d->vmid_lo = d->vmid_hi = -1;
	d->boot_timeout = 600;
	d->restore_timeout = 4 * 3600;
	p->drill = d;
	if (cfg_map(ctx, v, path, drill_keys, sizeof(drill_keys) / sizeof(drill_keys[0]), d) < 0)
		return;
	if (!d->name_prefix)
		d->name_prefix = cfg_strdup(ctx, "drill-");
}

#define PVE_OFF(f) offsetof(struct config_pve, f)
static const struct cfg_key pve_keys[] = {
	{"name", cfg_set_str, PVE_OFF(name), 0, 1},
	{"url", cfg_set_url, PVE_OFF(url), 0, 1},
	{"token_id", cfg_set_token_id, PVE_OFF(token_id), 0, 1},
	{"token_secret_file", cfg_set_secret_file, PVE_OFF(token_secret), 1, 1},
	{"token_secret", cfg_set_secret_inline, PVE_OFF(token_secret), 1, 1},
	{"action_token_id", cfg_set_token_id, PVE_OFF(action_token_id), 0, 0},
	{"action_token_secret_file", cfg_set_secret_path, PVE_OFF(action_token_secret_file), 2, 0},
	{"action_token_secret", cfg_set_secret_inline, PVE_OFF(action_token_secret), 2, 0},
	{"tls", cfg_set_tls, PVE_OFF(tls), 0, 0},
	{"timeout", cfg_set_duration_pos, PVE_OFF(timeout), 0, 0},
	{"local", cfg_set_bool, PVE_OFF(local), 0, 0},
	{"local_node", cfg_set_str, PVE_OFF(local_node), 0, 0},
	{"exempt", set_exempt, 0, 0, 0},
	{"drill", set_drill, 0, 0, 0},
	{"storages", cfg_set_pve_storages, 0, 0, 0},
};

static void pve_init(void *elem)
{
	struct config_pve *p = elem;
	p->timeout = CONFIG_PVE_TIMEOUT;
}

/* The action token is optional, but its id and its secret come together. */
static void pve_check(struct cfg_ctx *ctx, const struct ynode *map, const char *path, void *elem)
{
	int id = cfg_map_get(map, "action_token_id") != NULL;
	int secret = cfg_map_get(map, "action_token_secret_file") || cfg_map_get(map, "action_token_secret");
	const struct config_pve *p = elem;
	if (id && !secret)
		cfg_err(ctx, map, path,
			"action_token_id needs action_token_secret_file or action_token_secret");
	else if (secret && !id)
		cfg_err(ctx, map, path, "an action token secret needs action_token_id");
	/* the drill token is a third credential: never the daemon's read token, never the action token */
	if (p->drill && p->drill->token_id &&
	    ((p->token_id && strcmp(p->drill->token_id, p->token_id) == 0) ||
	     (p->action_token_id && strcmp(p->drill->token_id, p->action_token_id) == 0))) {
		char sub[CFG_PATH];
		cfg_path(sub, sizeof(sub), path, "drill.token_id");
		cfg_err(ctx, cfg_map_get(cfg_map_get(map, "drill"), "token_id"), sub,
			"the drill token must be its own token, not the %s token",
			strcmp(p->drill->token_id, p->token_id ? p->token_id : "") == 0 ? "read" : "action");
	}
}

#define MOUNT_OFF(f) offsetof(struct config_mount, f)
static const struct cfg_key mount_keys[] = {
	{"name", cfg_set_str, MOUNT_OFF(name), 0, 1},
	{"path", cfg_set_abspath, MOUNT_OFF(path), 0, 1},
	{"fstype", cfg_set_str, MOUNT_OFF(fstype), 0, 0},
	{"timeout", cfg_set_duration_pos, MOUNT_OFF(timeout), 0, 0},
	{"write_probe", cfg_set_bool, MOUNT_OFF(write_probe), 0, 0},
	{"dump_dir", cfg_set_relpath, MOUNT_OFF(dump_dir), 0, 0},
	{"timezone", cfg_set_timezone, MOUNT_OFF(timezone), 0, 0},
	{"location", cfg_set_location, MOUNT_OFF(offsite), 0, 0},
};

static void mount_init(void *elem)
{
	struct config_mount *m = elem;
	m->timeout = 5;
}

#define N8N_OFF(f) offsetof(struct config_n8n, f)
static const struct cfg_key n8n_keys[] = {
	{"name", cfg_set_str, N8N_OFF(name), 0, 1},
	{"url", cfg_set_url, N8N_OFF(url), 0, 1},
	{"api_key_file", cfg_set_secret_file, N8N_OFF(api_key), 1, 1},
	{"api_key", cfg_set_secret_inline, N8N_OFF(api_key), 1, 1},
	{"snapshots", cfg_set_abspath, N8N_OFF(snapshots), 0, 0},
	{"tls", cfg_set_tls, N8N_OFF(tls), 0, 0},
	{"timeout", cfg_set_duration_pos, N8N_OFF(timeout), 0, 0},
};

static void n8n_init(void *elem)
{
	struct config_n8n *n = elem;
	n->timeout = 10;
}

/* stateful_names: a sequence of fnmatch patterns. */
static void set_stateful_names(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	struct config_docker *d = dst;
	if (v->kind != YNODE_SEQ) {
		cfg_err(ctx, v, path, "expected a sequence, got %s", cfg_kind(v));
		return;
	}
	size_t n = v->n;
	d->stateful_names = n ? calloc(n, sizeof(char *)) : NULL;
	if (n && !d->stateful_names) {
		ctx->oom = 1;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char sub[CFG_PATH], *pat = NULL;
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		cfg_set_str(ctx, v->items[i], sub, &pat);
		if (pat)
			d->stateful_names[d->nstateful_names++] = pat;
	}
}

#define DOCKER_OFF(f) offsetof(struct config_docker, f)
static const struct cfg_key docker_keys[] = {
	{"name", cfg_set_str, DOCKER_OFF(name), 0, 1},
	{"socket", cfg_set_abspath, DOCKER_OFF(socket), 0, 0},
	{"timeout", cfg_set_duration_pos, DOCKER_OFF(timeout), 0, 0},
	{"stateful_label", cfg_set_str, DOCKER_OFF(stateful_label), 0, 0},
	{"stateful_names", set_stateful_names, 0, 0, 0},
};

static void docker_init(void *elem)
{
	struct config_docker *d = elem;
	d->timeout = 5;
}

static void docker_check(struct cfg_ctx *ctx, const struct ynode *map, const char *path, void *elem)
{
	struct config_docker *d = elem;
	(void)map;
	(void)path;
	if (!d->socket)
		d->socket = cfg_strdup(ctx, "/var/run/docker.sock");
	if (!d->stateful_label)
		d->stateful_label = cfg_strdup(ctx, "persistence.stateful");
}

static void no_check(struct cfg_ctx *ctx, const struct ynode *map, const char *path, void *elem)
{
	(void)ctx;
	(void)map;
	(void)path;
	(void)elem;
}

/* ---- targets ---- */

/* What a target's kind mapping (pve: {source, vmid} ...) holds. */
struct cfg_ref {
	char *source;
	long vmid;
	char *path;
};

static const struct cfg_key ref_vm_keys[] = {
	{"source", cfg_set_str, offsetof(struct cfg_ref, source), 0, 1},
	{"vmid", cfg_set_vmid, offsetof(struct cfg_ref, vmid), 0, 1},
};
static const struct cfg_key ref_n8n_keys[] = {
	{"source", cfg_set_str, offsetof(struct cfg_ref, source), 0, 1},
};
static const struct cfg_key ref_file_keys[] = {
	{"path", cfg_set_abspath, offsetof(struct cfg_ref, path), 0, 1},
};

/* 1 when a source of kind k is named name. */
static int cfg_source_known(const struct config *c, enum target_kind k, const char *name)
{
	if (k == TARGET_PVE)
		return config_find_pve(c, name) != NULL;
	if (k == TARGET_MOUNT)
		return config_find_mount(c, name) != NULL;
	return config_find_n8n(c, name) != NULL;
}

static void cfg_target_kind(struct cfg_ctx *ctx, const struct ynode *v, const char *path,
			    struct config_target *t, enum target_kind kind, const struct cfg_key *keys,
			    size_t nkeys)
{
	static const char *const sections[] = {"pve", "mounts", "n8n", ""};
	struct cfg_ref r = {NULL, -1, NULL};
	t->kind = kind;
	if (cfg_map(ctx, v, path, keys, nkeys, &r) == 0 && r.source &&
	    !cfg_source_known(ctx->cfg, kind, r.source)) {
		char sub[CFG_PATH], q[80];
		cfg_path(sub, sizeof(sub), path, "source");
		cfg_err(ctx, cfg_map_get(v, "source"), sub,
			"no source named %s under %s:", cfg_quote(r.source, q, sizeof(q)), sections[kind]);
	}
	t->source = r.source;
	t->vmid = r.vmid;
	t->file_glob = r.path;
}

static void set_target_pve(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	cfg_target_kind(ctx, v, path, dst, TARGET_PVE, ref_vm_keys, 2);
}

static void set_target_mount(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	cfg_target_kind(ctx, v, path, dst, TARGET_MOUNT, ref_vm_keys, 2);
}

static void set_target_n8n(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	cfg_target_kind(ctx, v, path, dst, TARGET_N8N, ref_n8n_keys, 1);
}

static void set_target_file(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	cfg_target_kind(ctx, v, path, dst, TARGET_FILE, ref_file_keys, 1);
}

static void set_target_pbs(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	config_pbs_target(ctx, v, path, dst);
}

#define TARGET_OFF(f) offsetof(struct config_target, f)
static const struct cfg_key target_keys[] = {
	{"name", cfg_set_str, TARGET_OFF(name), 0, 1},
	{"site", cfg_set_str, TARGET_OFF(site), 0, 0},
	{"severity", cfg_set_severity, TARGET_OFF(severity), 0, 0},
	{"pve", set_target_pve, 0, 1, 1},
	{"mount", set_target_mount, 0, 1, 1},
	{"n8n", set_target_n8n, 0, 1, 1},
	{"file", set_target_file, 0, 1, 1},
	{"pbs", set_target_pbs, 0, 1, 1},
	{"max_age", cfg_set_duration_pos, TARGET_OFF(max_age), 0, 1},
	{"restore_doc", cfg_set_str, TARGET_OFF(restore_doc), 0, 0},
	{"max_restore_test_age", cfg_set_duration_pos, TARGET_OFF(max_restore_test_age), 0, 0},
	{"rto", cfg_set_duration_pos, TARGET_OFF(rto), 0, 0},
	{"min_copies", cfg_set_min_copies, TARGET_OFF(policy.min_copies), 0, 0},
	{"require_offsite", cfg_set_bool, TARGET_OFF(policy.require_offsite), 0, 0},
	{"max_verify_age", cfg_set_duration_pos, TARGET_OFF(policy.max_verify_age), 0, 0},
};

static void target_init(void *elem)
{
	struct config_target *t = elem;
	t->vmid = -1;
	t->policy = (struct config_policy){0, -1, -1}; /* unset: global.policy decides */
}

static void target_check(struct cfg_ctx *ctx, const struct ynode *map, const char *path, void *elem)
{
	struct config_target *t = elem;
	cfg_target_policy(ctx, map, path, t);
	if (!t->site)
		t->site = cfg_strdup(ctx, "");
	if (!t->severity)
		t->severity = cfg_strdup(ctx, "warning");
}

static const struct cfg_list pve_list = {"pve",    sizeof(struct config_pve),
					 pve_keys, sizeof(pve_keys) / sizeof(pve_keys[0]),
					 pve_init, pve_check};
static const struct cfg_list mount_list = {"mounts",   sizeof(struct config_mount),
					   mount_keys, sizeof(mount_keys) / sizeof(mount_keys[0]),
					   mount_init, no_check};
static const struct cfg_list n8n_list = {"n8n",    sizeof(struct config_n8n),
					 n8n_keys, sizeof(n8n_keys) / sizeof(n8n_keys[0]),
					 n8n_init, no_check};
static const struct cfg_list docker_list = {"docker",    sizeof(struct config_docker),
					    docker_keys, sizeof(docker_keys) / sizeof(docker_keys[0]),
					    docker_init, docker_check};
static const struct cfg_list target_list = {"targets",   sizeof(struct config_target),
					    target_keys, sizeof(target_keys) / sizeof(target_keys[0]),
					    target_init, target_check};

static void set_pve_list(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	struct config *c = dst;
	(void)path;
	c->pve = cfg_list(ctx, v, &pve_list, &c->npve);
}

static void set_mount_list(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	struct config *c = dst;
	(void)path;
	c->mounts = cfg_list(ctx, v, &mount_list, &c->nmounts);
}

static void set_n8n_list(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	struct config *c = dst;
	(void)path;
	c->n8n = cfg_list(ctx, v, &n8n_list, &c->nn8n);
}

static void set_pbs_list(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	struct config *c = dst;
	(void)path;
	c->pbs = cfg_list(ctx, v, &config_pbs_list, &c->npbs);
}

static void set_docker_list(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	struct config *c = dst;
	(void)path;
	c->docker = cfg_list(ctx, v, &docker_list, &c->ndocker);
}

/* targets: parsed after the whole root, so every source is known whatever the key order. */
static void set_targets_later(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	(void)path;
	(void)dst;
	ctx->targets = v;
}

static const struct cfg_key root_keys[] = {
	{"global", set_global, offsetof(struct config, global), 0, 0},
	{"pve", set_pve_list, 0, 0, 0},
	{"mounts", set_mount_list, 0, 0, 0},
	{"n8n", set_n8n_list, 0, 0, 0},
	{"docker", set_docker_list, 0, 0, 0},
	{"pbs", set_pbs_list, 0, 0, 0},
	{"targets", set_targets_later, 0, 0, 0},
};

/* ---- loading ---- */

static struct config *cfg_new(const char *path)
{
	struct config *c = calloc(1, sizeof(*c));
	if (!c || !(c->file = strdup(path))) {
		free(c);
		return NULL;
	}
	c->global.scrape_timeout = 10;
	c->global.cache_ttl = 30;
	c->global.max_staleness = 300;
	c->global.policy = (struct config_policy){1, 0, 0};
	if (!(c->global.drill_state_file = strdup(DRILL_STATE_FILE))) {
		free(c->file);
		free(c);
		return NULL;
	}
	snprintf(c->paths.procfs, sizeof(c->paths.procfs), "/proc");
	snprintf(c->paths.sysfs, sizeof(c->paths.sysfs), "/sys");
	snprintf(c->paths.pvelib, sizeof(c->paths.pvelib), "/var/lib/pve-manager");
	snprintf(c->paths.rundir, sizeof(c->paths.rundir), "/run");
	c->refs = 1;
	return c;
}

enum perr config_load_file(const char *path, struct config **out, struct buf *errors)
{
	struct cfg_ctx ctx = {.file = path};
	struct config *c = NULL;
	*out = NULL;
	enum perr rc = cfg_read(&ctx, errors);
	if (rc)
		goto out;
	rc = PE_NOMEM;
	if (!(c = cfg_new(path)))
		goto out;
	ctx.cfg = c;
	const struct ynode *root = cfg_parse(&ctx, 0);
	if (root && cfg_map(&ctx, root, "", root_keys, sizeof(root_keys) / sizeof(root_keys[0]), c) == 0 &&
	    ctx.targets)
		c->targets = cfg_list(&ctx, ctx.targets, &target_list, &c->ntargets);
	rc = cfg_finish(&ctx, errors);
out:
	cfg_ctx_close(&ctx);
	if (rc)
		config_unref(c);
	else
		*out = c;
	return rc;
}

/* ---- lifetime and lookups ---- */

static void cfg_free_tls(struct config_tls *t)
{
	free(t->ca_file);
	free(t->fingerprint);
}

static void cfg_free_sources(struct config *c)
{
	for (size_t i = 0; i < c->npve; i++) {
		struct config_pve *p = &c->pve[i];
		free(p->name);
		free(p->url);
		free(p->token_id);
		secret_free(p->token_secret);
		free(p->action_token_id);
		free(p->action_token_secret_file);
		secret_free(p->action_token_secret);
		cfg_free_tls(&p->tls);
		free(p->local_node);
		for (size_t k = 0; k < p->nexempt; k++) {
			free(p->exempt[k].storage);
			free(p->exempt[k].reason);
		}
		free(p->exempt);
		for (size_t k = 0; k < p->nstorages; k++)
			free(p->storages[k].storage);
		free(p->storages);
		if (p->drill) {
			free(p->drill->token_id);
			free(p->drill->token_secret_file);
			secret_free(p->drill->token_secret);
			free(p->drill->storage);
			free(p->drill->pool);
			free(p->drill->name_prefix);
			free(p->drill);
		}
	}
	for (size_t i = 0; i < c->nmounts; i++) {
		struct config_mount *m = &c->mounts[i];
		free(m->name);
		free(m->path);
		free(m->fstype);
		free(m->dump_dir);
		free(m->timezone);
	}
	for (size_t i = 0; i < c->nn8n; i++) {
		struct config_n8n *n = &c->n8n[i];
		free(n->name);
		free(n->url);
		secret_free(n->api_key);
		free(n->snapshots);
		cfg_free_tls(&n->tls);
	}
}

static void cfg_free(struct config *c)
{
	cfg_free_sources(c);
	config_pbs_free(c);
	for (size_t i = 0; i < c->ndocker; i++) {
		struct config_docker *d = &c->docker[i];
		free(d->name);
		free(d->socket);
		free(d->stateful_label);
		for (size_t j = 0; j < d->nstateful_names; j++)
			free(d->stateful_names[j]);
		free(d->stateful_names);
	}
	for (size_t i = 0; i < c->ntargets; i++) {
		struct config_target *t = &c->targets[i];
		free(t->name);
		free(t->site);
		free(t->severity);
		free(t->source);
		free(t->file_glob);
		free(t->restore_doc);
	}
	free(c->global.drill_state_file);
	free(c->pve);
	free(c->mounts);
	free(c->n8n);
	free(c->docker);
	free(c->targets);
	free(c->file);
	free(c);
}

struct config *config_ref(struct config *c)
{
	if (c)
		__atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
	return c;
}

void config_unref(struct config *c)
{
	if (c && __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) == 0)
		cfg_free(c);
}

void config_apply_path_flags(struct config *c, const struct config_path_flags *f)
{
	struct config_paths *p = &c->paths;

	if (f->procfs)
		snprintf(p->procfs, sizeof(p->procfs), "%s", f->procfs);
	if (f->sysfs)
		snprintf(p->sysfs, sizeof(p->sysfs), "%s", f->sysfs);
	if (f->pvelib)
		snprintf(p->pvelib, sizeof(p->pvelib), "%s", f->pvelib);
	if (f->rundir)
		snprintf(p->rundir, sizeof(p->rundir), "%s", f->rundir);
}

const char *config_target_kind_str(enum target_kind k)
{
	static const char *const names[] = {"pve", "mount", "n8n", "file", "pbs"};
	return (unsigned)k < 5 ? names[k] : "unknown";
}

const struct config_pbs *config_find_pbs(const struct config *c, const char *name)
{
	for (size_t i = 0; c && name && i < c->npbs; i++)
		if (c->pbs[i].name && strcmp(c->pbs[i].name, name) == 0)
			return &c->pbs[i];
	return NULL;
}

const struct config_pve *config_find_pve(const struct config *c, const char *name)
{
	for (size_t i = 0; c && name && i < c->npve; i++)
		if (c->pve[i].name && strcmp(c->pve[i].name, name) == 0)
			return &c->pve[i];
	return NULL;
}

const struct config_mount *config_find_mount(const struct config *c, const char *name)
{
	for (size_t i = 0; c && name && i < c->nmounts; i++)
		if (c->mounts[i].name && strcmp(c->mounts[i].name, name) == 0)
			return &c->mounts[i];
	return NULL;
}

const struct config_place *config_pve_place(const struct config_pve *p, const char *sid)
{
	for (size_t i = 0; p && sid && i < p->nstorages; i++)
		if (p->storages[i].storage && strcmp(p->storages[i].storage, sid) == 0)
			return &p->storages[i];
	return NULL;
}

const struct config_n8n *config_find_n8n(const struct config *c, const char *name)
{
	for (size_t i = 0; c && name && i < c->nn8n; i++)
		if (c->n8n[i].name && strcmp(c->n8n[i].name, name) == 0)
			return &c->n8n[i];
	return NULL;
}
