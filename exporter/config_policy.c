/* config_policy.c - the restorability keys of the config: places (pve[].storages, mounts[].location) and policy. */
#include "config_policy.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cfg_set_location(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	const char *s = cfg_scalar(ctx, v, path, "a location (onsite or offsite)");
	char q[80];
	if (!s)
		return;
	if (strcmp(s, "offsite") == 0 || strcmp(s, "onsite") == 0) {
		*(int *)dst = strcmp(s, "offsite") == 0;
		return;
	}
	cfg_err(ctx, v, path, "invalid location %s (expected onsite or offsite)", cfg_quote(s, q, sizeof(q)));
}

void cfg_set_min_copies(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	const char *s = cfg_scalar(ctx, v, path, "a number of copies");
	char *end = NULL, q[80];
	long n;
	if (!s)
		return;
	errno = 0;
	n = isdigit((unsigned char)*s) ? strtol(s, &end, 10) : -1;
	if (n < 1 || n > 100 || errno || (end && *end)) {
		cfg_err(ctx, v, path, "invalid min_copies %s (expected an integer from 1 to 100)",
			cfg_quote(s, q, sizeof(q)));
		return;
	}
	*(long *)dst = n;
}

#define POLICY_OFF(f) offsetof(struct config_policy, f)
static const struct cfg_key policy_keys[] = {
	{"min_copies", cfg_set_min_copies, POLICY_OFF(min_copies), 0, 0},
	{"require_offsite", cfg_set_bool, POLICY_OFF(require_offsite), 0, 0},
	{"max_verify_age", cfg_set_duration_pos, POLICY_OFF(max_verify_age), 0, 0},
};

void cfg_set_policy(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	if (!cfg_is_null(v))
		(void)cfg_map(ctx, v, path, policy_keys, sizeof(policy_keys) / sizeof(policy_keys[0]), dst);
}

static const struct cfg_key place_keys[] = {
	{"location", cfg_set_location, offsetof(struct config_place, offsite), 0, 0},
	{"immutable", cfg_set_bool, offsetof(struct config_place, immutable), 0, 0},
};

/* A PVE storage id: a letter, then letters, digits, '-', '_', '.' (at most 100). */
static const char *policy_storage_id(struct cfg_ctx *ctx, const struct ynode *k, const char *path)
{
	const char *s = cfg_scalar(ctx, k, path, "a storage id");
	size_t n = s ? strlen(s) : 0;
	char q[80];
	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("-_.", s[i]))
			n = 0;
	if (n == 0 || n > 100 || !isalpha((unsigned char)s[0])) {
		cfg_err(ctx, k, path, "invalid storage id %s (letters, digits, '-', '_', '.')",
			cfg_quote(s, q, sizeof(q)));
		return NULL;
	}
	return s;
}

void cfg_set_pve_storages(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	struct config_pve *p = dst;
	if (cfg_is_null(v))
		return;
	if (v->kind != YNODE_MAP) {
		cfg_err(ctx, v, path, "expected a mapping of storage ids, got %s", cfg_kind(v));
		return;
	}
	if (!(p->storages = v->n ? calloc(v->n, sizeof(*p->storages)) : NULL) && v->n) {
		ctx->oom = 1;
		return;
	}
	for (size_t i = 0; i < v->n; i++) {
		const struct ynode *k = v->items[2 * i], *val = v->items[2 * i + 1];
		const char *sid = policy_storage_id(ctx, k, path);
		struct config_place pl = {NULL, 0, 0};
		char sub[CFG_PATH], q[80];
		if (!sid)
			continue;
		if (config_pve_place(p, sid)) {
			cfg_err(ctx, k, path, "storage %s is listed twice", cfg_quote(sid, q, sizeof(q)));
			continue;
		}
		if (!(pl.storage = cfg_strdup(ctx, sid)))
			return;
		cfg_path(sub, sizeof(sub), path, sid);
		if (!cfg_is_null(val))
			(void)cfg_map(ctx, val, sub, place_keys, sizeof(place_keys) / sizeof(place_keys[0]),
				      &pl);
		p->storages[p->nstorages++] = pl;
	}
}

void cfg_target_policy(struct cfg_ctx *ctx, const struct ynode *map, const char *path,
		       struct config_target *t)
{
	static const char *const keys[] = {"min_copies", "require_offsite", "max_verify_age"};
	const struct config_policy *g = &ctx->cfg->global.policy;
	struct config_policy *p = &t->policy;
	int places = t->kind == TARGET_PVE || t->kind == TARGET_MOUNT;
	int verifies = t->kind == TARGET_PVE || t->kind == TARGET_PBS;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const struct ynode *k = cfg_map_get(map, keys[i]);
		char sub[CFG_PATH];
		if (!k || (i < 2 ? places : verifies))
			continue;
		cfg_path(sub, sizeof(sub), path, keys[i]);
		cfg_err(ctx, k, sub, "%s does not apply to %s targets (%s)", keys[i],
			config_target_kind_str(t->kind),
			i < 2 ? "pve and mount targets count copies"
			      : "pve and pbs targets: only PBS verifies backups");
	}
	if (p->max_verify_age < 0)
		p->max_verify_age = verifies ? g->max_verify_age : 0;
	if (!verifies)
		p->max_verify_age = 0;
	if (!places) {
		p->min_copies = 1;
		p->require_offsite = 0;
		return;
	}
	if (p->min_copies == 0)
		p->min_copies = g->min_copies;
	if (p->require_offsite < 0)
		p->require_offsite = g->require_offsite;
}
