/* config_pbs.c - the pbs: section and the pbs target kind of the configuration. */
#include "config_pbs.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbs.h"
#include "secret.h"

_Static_assert(offsetof(struct config_pbs, name) == 0, "name first");

/* A PBS datastore or namespace component: [A-Za-z0-9_][A-Za-z0-9._-]* (PBS's safe id). */
static int pbs_id_ok(const char *s, size_t n)
{
	if (n == 0 || !(isalnum((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return 0;
	return 1;
}

static int pbs_store_ok(const char *s)
{
	return pbs_id_ok(s, strlen(s));
}

/* A namespace path: "" (the root) or up to 7 safe ids joined by '/'. */
static int pbs_ns_ok(const char *s)
{
	int depth = 0;
	if (!*s)
		return 1;
	for (const char *p = s;; depth++) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (!pbs_id_ok(p, n) || depth >= 7)
			return 0;
		if (!slash)
			return 1;
		p = slash + 1;
	}
}

/* cfg_scalar() for a value that may be the empty string (quoted: "" is the PBS root namespace). */
static const char *scalar_empty_ok(struct cfg_ctx *ctx, const struct ynode *n, const char *path,
				   const char *what)
{
	if (n->kind == YNODE_SCALAR && !cfg_is_null(n) && n->len == 0)
		return "";
	return cfg_scalar(ctx, n, path, what);
}

/* A sequence of strings, each checked by ok(); what is wrong is named with its position. */
static void str_seq(struct cfg_ctx *ctx, const struct ynode *v, const char *path, char ***out, size_t *n,
		    int (*ok)(const char *s), const char *what, int empty_ok)
{
	if (v->kind != YNODE_SEQ) {
		cfg_err(ctx, v, path, "expected a sequence, got %s", cfg_kind(v));
		return;
	}
	*out = v->n ? calloc(v->n, sizeof(char *)) : NULL;
	if (v->n && !*out) {
		ctx->oom = 1;
		return;
	}
	for (size_t i = 0; i < v->n; i++) {
		char sub[CFG_PATH], q[80];
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		const char *s = empty_ok ? scalar_empty_ok(ctx, v->items[i], sub, what)
					 : cfg_scalar(ctx, v->items[i], sub, what);
		if (s && !ok(s))
			cfg_err(ctx, v->items[i], sub, "invalid %s %s", what, cfg_quote(s, q, sizeof(q)));
		else if (s && ((*out)[*n] = cfg_strdup(ctx, s)) != NULL)
			(*n)++;
	}
}

static void set_datastores(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	struct config_pbs *p = dst;
	str_seq(ctx, v, path, &p->datastores, &p->ndatastores, pbs_store_ok, "datastore name", 0);
}

static void set_namespaces(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	struct config_pbs *p = dst;
	str_seq(ctx, v, path, &p->namespaces, &p->nnamespaces, pbs_ns_ok, "namespace", 1);
}

#define PBS_OFF(f) offsetof(struct config_pbs, f)
static const struct cfg_key pbs_keys[] = {
	{"name", cfg_set_str, PBS_OFF(name), 0, 1},
	{"url", cfg_set_url, PBS_OFF(url), 0, 1},
	{"token_id", cfg_set_token_id, PBS_OFF(token_id), 0, 1},
	{"token_secret_file", cfg_set_secret_file, PBS_OFF(token_secret), 1, 1},
	{"token_secret", cfg_set_secret_inline, PBS_OFF(token_secret), 1, 1},
	{"tls", cfg_set_tls, PBS_OFF(tls), 0, 0},
	{"timeout", cfg_set_duration_pos, PBS_OFF(timeout), 0, 0},
	{"datastores", set_datastores, 0, 0, 0},
	{"namespaces", set_namespaces, 0, 0, 0},
};

static void pbs_init(void *elem)
{
	struct config_pbs *p = elem;
	p->timeout = 10;
}

/* PBS's token header is "PBSAPIToken=<id>:<secret>": the id cannot hold ':'. The URL gets :8007 when it has no port. */
static void pbs_check(struct cfg_ctx *ctx, const struct ynode *map, const char *path, void *elem)
{
	struct config_pbs *p = elem;
	if (p->token_id && strchr(p->token_id, ':')) {
		char sub[CFG_PATH];
		cfg_path(sub, sizeof(sub), path, "token_id");
		cfg_err(ctx, cfg_map_get(map, "token_id"), sub, "a PBS token id cannot contain ':'");
	}
	if (!p->url || !strstr(p->url, "://"))
		return;
	const char *host = strstr(p->url, "://") + 3;
	size_t hlen = strcspn(host, "/?#");
	const char *after = host[0] == '[' ? memchr(host, ']', hlen) : host;
	if (after && memchr(after, ':', hlen - (size_t)(after - host)))
		return;
	size_t size = strlen(p->url) + 8;
	char *url = malloc(size);
	if (!url) {
		ctx->oom = 1;
		return;
	}
	snprintf(url, size, "%.*s:%d%s", (int)(host - p->url + (ptrdiff_t)hlen), p->url, CONFIG_PBS_PORT,
		 host + hlen);
	free(p->url);
	p->url = url;
}

const struct cfg_list config_pbs_list = {"pbs",    sizeof(struct config_pbs),
					 pbs_keys, sizeof(pbs_keys) / sizeof(pbs_keys[0]),
					 pbs_init, pbs_check};

/* ---- the pbs target kind ---- */

struct pbs_ref {
	char *source, *datastore, *ns, *backup_type, *backup_id;
};

static void set_ref_ns(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	const char *s = scalar_empty_ok(ctx, v, path, "a namespace");
	char q[80], **p = dst;
	if (s && !pbs_ns_ok(s)) {
		cfg_err(ctx, v, path, "invalid namespace %s", cfg_quote(s, q, sizeof(q)));
	} else if (s) {
		free(*p);
		*p = cfg_strdup(ctx, s);
	}
}

static void set_ref_store(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	const char *s = cfg_scalar(ctx, v, path, "a datastore name");
	char q[80];
	if (s && !pbs_store_ok(s))
		cfg_err(ctx, v, path, "invalid datastore name %s", cfg_quote(s, q, sizeof(q)));
	else if (s)
		cfg_set_str(ctx, v, path, dst);
}

static void set_ref_type(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	const char *s = cfg_scalar(ctx, v, path, "a backup type");
	char q[80];
	if (s && strcmp(s, "vm") != 0 && strcmp(s, "ct") != 0 && strcmp(s, "host") != 0)
		cfg_err(ctx, v, path, "invalid backup_type %s (expected vm, ct or host)",
			cfg_quote(s, q, sizeof(q)));
	else if (s)
		cfg_set_str(ctx, v, path, dst);
}

static void set_ref_id(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	const char *s = cfg_scalar(ctx, v, path, "a backup id");
	char q[80];
	if (s && (strlen(s) > 256 || strchr(s, '/') || cfg_has_ctl(s)))
		cfg_err(ctx, v, path, "invalid backup_id %s", cfg_quote(s, q, sizeof(q)));
	else if (s)
		cfg_set_str(ctx, v, path, dst);
}

static const struct cfg_key ref_keys[] = {
	{"source", cfg_set_str, offsetof(struct pbs_ref, source), 0, 1},
	{"datastore", set_ref_store, offsetof(struct pbs_ref, datastore), 0, 1},
	{"namespace", set_ref_ns, offsetof(struct pbs_ref, ns), 0, 0},
	{"backup_type", set_ref_type, offsetof(struct pbs_ref, backup_type), 0, 1},
	{"backup_id", set_ref_id, offsetof(struct pbs_ref, backup_id), 0, 1},
};

/* A pbs target must lie in what its source reads (datastores:, namespaces:), or it could never be OK. */
static void check_selected(struct cfg_ctx *ctx, const struct ynode *v, const char *path,
			   const struct config_pbs *p, const struct pbs_ref *r)
{
	char sub[CFG_PATH], q[80];
	if (r->datastore && !pbs_store_selected(r->datastore, p->datastores, p->ndatastores)) {
		cfg_path(sub, sizeof(sub), path, "datastore");
		cfg_err(ctx, cfg_map_get(v, "datastore"), sub,
			"datastore %s is not in the datastores: of pbs %s",
			cfg_quote(r->datastore, q, sizeof(q)), p->name);
	}
	if (!pbs_ns_selected(r->ns ? r->ns : "", p->namespaces, p->nnamespaces)) {
		cfg_path(sub, sizeof(sub), path, "namespace");
		cfg_err(ctx, cfg_map_get(v, "namespace") ? cfg_map_get(v, "namespace") : v, sub,
			"namespace %s is not in the namespaces: of pbs %s",
			cfg_quote(r->ns ? r->ns : "", q, sizeof(q)), p->name);
	}
}

void config_pbs_target(struct cfg_ctx *ctx, const struct ynode *v, const char *path, struct config_target *t)
{
	struct pbs_ref r = {NULL, NULL, NULL, NULL, NULL};
	t->kind = TARGET_PBS;
	if (cfg_map(ctx, v, path, ref_keys, sizeof(ref_keys) / sizeof(ref_keys[0]), &r) == 0 && r.source) {
		const struct config_pbs *p = config_find_pbs(ctx->cfg, r.source);
		char sub[CFG_PATH], q[80];
		if (p) {
			check_selected(ctx, v, path, p, &r);
		} else {
			cfg_path(sub, sizeof(sub), path, "source");
			cfg_err(ctx, cfg_map_get(v, "source"), sub,
				"no source named %s under pbs:", cfg_quote(r.source, q, sizeof(q)));
		}
	}
	t->source = r.source;
	t->datastore = r.datastore;
	t->ns = r.ns ? r.ns : cfg_strdup(ctx, "");
	t->backup_type = r.backup_type;
	t->backup_id = r.backup_id;
}

void config_pbs_free(struct config *c)
{
	for (size_t i = 0; i < c->npbs; i++) {
		struct config_pbs *p = &c->pbs[i];
		free(p->name);
		free(p->url);
		free(p->token_id);
		secret_free(p->token_secret);
		free(p->tls.ca_file);
		free(p->tls.fingerprint);
		for (size_t k = 0; k < p->ndatastores; k++)
			free(p->datastores[k]);
		free(p->datastores);
		for (size_t k = 0; k < p->nnamespaces; k++)
			free(p->namespaces[k]);
		free(p->namespaces);
	}
	free(c->pbs);
	for (size_t i = 0; i < c->ntargets; i++) {
		struct config_target *t = &c->targets[i];
		free(t->datastore);
		free(t->ns);
		free(t->backup_type);
		free(t->backup_id);
	}
}
