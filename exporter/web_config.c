/* web_config.c - the exporter-toolkit web config (--web.config.file): TLS, basic-auth users, headers. */
#include "config.h"
#include "config_schema.h"
#include "log.h"

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

/* ---- web config (exporter-toolkit format) ---- */

static void set_unsupported(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	(void)dst;
	cfg_err(ctx, v, path, "not supported by persistence_exporter");
}

/* One of a fixed set of words. */
static void cfg_set_word(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst,
			 const char *const *words, const char *hint)
{
	const char *s = cfg_scalar(ctx, v, path, "a string");
	if (!s)
		return;
	for (; *words; words++)
		if (strcmp(s, *words) == 0) {
			cfg_set_str(ctx, v, path, dst);
			return;
		}
	char q[80];
	cfg_err(ctx, v, path, "invalid value %s (expected %s)", cfg_quote(s, q, sizeof(q)), hint);
}

static void set_client_auth(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	static const char *const w[] = {"NoClientCert",
					"RequestClientCert",
					"RequireAnyClientCert",
					"VerifyClientCertIfGiven",
					"RequireAndVerifyClientCert",
					NULL};
	cfg_set_word(ctx, v, path, dst, w,
		     "NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven or "
		     "RequireAndVerifyClientCert");
}

static void set_min_version(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	static const char *const w[] = {"TLS10", "TLS11", "TLS12", "TLS13", NULL};
	cfg_set_word(ctx, v, path, dst, w, "TLS10, TLS11, TLS12 or TLS13");
}

#define WEB_OFF(f) offsetof(struct web_config, f)
static const struct cfg_key web_tls_keys[] = {
	{"cert_file", cfg_set_readable_file, WEB_OFF(cert_file), 0, 0},
	{"key_file", cfg_set_readable_file, WEB_OFF(key_file), 0, 0},
	{"client_ca_file", cfg_set_readable_file, WEB_OFF(client_ca_file), 0, 0},
	{"client_auth_type", set_client_auth, WEB_OFF(client_auth_type), 0, 0},
	{"min_version", set_min_version, WEB_OFF(min_version), 0, 0},
	{"cert", set_unsupported, 0, 0, 0},
	{"key", set_unsupported, 0, 0, 0},
	{"client_ca", set_unsupported, 0, 0, 0},
	{"client_allowed_sans", set_unsupported, 0, 0, 0},
	{"max_version", set_unsupported, 0, 0, 0},
	{"cipher_suites", set_unsupported, 0, 0, 0},
	{"prefer_server_cipher_suites", set_unsupported, 0, 0, 0},
	{"curve_preferences", set_unsupported, 0, 0, 0},
};

/* tls_server_config: cert and key together; client verification needs a CA and a server cert. */
static void set_web_tls(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	struct web_config *w = dst;
	const struct ynode *cert = cfg_map_get(v, "cert_file"), *key = cfg_map_get(v, "key_file");
	if (cfg_map(ctx, v, path, web_tls_keys, sizeof(web_tls_keys) / sizeof(web_tls_keys[0]), w) < 0)
		return;
	if (!cert != !key)
		cfg_err(ctx, v, path, "cert_file and key_file must be set together");
	else if (!cert && (cfg_map_get(v, "client_ca_file") || cfg_map_get(v, "client_auth_type")))
		cfg_err(ctx, v, path, "client certificate settings need cert_file and key_file");
	if (w->client_auth_type && strstr(w->client_auth_type, "Verify") && !cfg_map_get(v, "client_ca_file"))
		cfg_err(ctx, v, path, "client_auth_type %s needs client_ca_file", w->client_auth_type);
}

/* A bcrypt hash as htpasswd -B or crypt(3) make it: $2a$/$2b$/$2y$, cost, 53 characters. */
static int cfg_is_bcrypt(const char *s)
{
	static const char alphabet[] = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	if (strlen(s) != 60 || strncmp(s, "$2", 2) || !strchr("aby", s[2]) || s[3] != '$' ||
	    !isdigit((unsigned char)s[4]) || !isdigit((unsigned char)s[5]) || s[6] != '$')
		return 0;
	return strspn(s + 7, alphabet) == 53;
}

static void set_web_users(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	struct web_config *w = dst;
	if (v->kind != YNODE_MAP) {
		cfg_err(ctx, v, path, "expected a mapping of user names to bcrypt hashes, got %s",
			cfg_kind(v));
		return;
	}
	size_t n = v->n;
	if (n && !(w->users = calloc(n, sizeof(*w->users)))) {
		ctx->oom = 1;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct ynode *k = v->items[2 * i], *h = v->items[2 * i + 1];
		const char *user = cfg_scalar(ctx, k, path, "a user name");
		char sub[CFG_PATH], q[80];
		if (!user)
			continue;
		cfg_path(sub, sizeof(sub), path, user);
		if (strchr(user, ':') || cfg_has_ctl(user)) {
			cfg_err(ctx, k, path, "invalid user name %s", cfg_quote(user, q, sizeof(q)));
			continue;
		}
		if (h->kind != YNODE_SCALAR || !cfg_is_bcrypt(h->value)) {
			cfg_err(ctx, h, sub, "not a bcrypt hash (htpasswd -nBC 10 \"\" | tr -d ':\\n')");
			continue;
		}
		for (size_t j = 0; j < w->nusers; j++)
			if (strcmp(w->users[j].name, user) == 0)
				goto dup;
		w->users[w->nusers].name = cfg_strdup(ctx, user);
		w->users[w->nusers].bcrypt_hash = cfg_strdup(ctx, h->value);
		w->nusers++;
		continue;
	dup:
		cfg_err(ctx, k, path, "duplicate user %s", cfg_quote(user, q, sizeof(q)));
	}
}

/* The headers exporter-toolkit allows, with the values it allows (NULL: any). */
static const struct {
	const char *name;
	const char *values;
} web_headers[] = {
	{"Content-Security-Policy", NULL},     {"X-Frame-Options", "deny|sameorigin"},
	{"X-Content-Type-Options", "nosniff"}, {"X-XSS-Protection", NULL},
	{"Strict-Transport-Security", NULL},
};

/* 1 when s (case-insensitively) is one of the '|'-separated words. */
static int cfg_word_in(const char *s, const char *words)
{
	size_t n = strlen(s);
	for (const char *w = words; w; w = strchr(w, '|') ? strchr(w, '|') + 1 : NULL) {
		size_t wl = strchr(w, '|') ? (size_t)(strchr(w, '|') - w) : strlen(w);
		if (wl == n && strncasecmp(s, w, n) == 0)
			return 1;
	}
	return 0;
}

/* Checks one header; returns its index in web_headers or -1 (reported). */
static int cfg_web_header(struct cfg_ctx *ctx, const struct ynode *k, const struct ynode *v, const char *path)
{
	char q[80], sub[CFG_PATH];
	const char *name = cfg_scalar(ctx, k, path, "a header name");
	if (!name)
		return -1;
	for (size_t i = 0; i < sizeof(web_headers) / sizeof(web_headers[0]); i++) {
		if (strcasecmp(name, web_headers[i].name))
			continue;
		cfg_path(sub, sizeof(sub), path, web_headers[i].name);
		const char *val = cfg_scalar(ctx, v, sub, "a string");
		if (val && cfg_has_ctl(val)) {
			cfg_err(ctx, v, sub, "contains a line break or control character");
			return -1;
		}
		if (val && web_headers[i].values && !cfg_word_in(val, web_headers[i].values)) {
			cfg_err(ctx, v, sub, "invalid value %s (expected %s)", cfg_quote(val, q, sizeof(q)),
				web_headers[i].values);
			return -1;
		}
		return val ? (int)i : -1;
	}
	cfg_err(ctx, k, path, "header %s can not be configured", cfg_quote(name, q, sizeof(q)));
	return -1;
}

static void set_web_headers(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	struct web_config *w = dst;
	if (v->kind != YNODE_MAP) {
		cfg_err(ctx, v, path, "expected a mapping, got %s", cfg_kind(v));
		return;
	}
	size_t n = v->n;
	if (n && !(w->headers = calloc(n, sizeof(*w->headers)))) {
		ctx->oom = 1;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct ynode *k = v->items[2 * i], *val = v->items[2 * i + 1];
		int h = cfg_web_header(ctx, k, val, path);
		if (h < 0)
			continue;
		for (size_t j = 0; j < w->nheaders; j++)
			if (strcmp(w->headers[j].name, web_headers[h].name) == 0)
				goto dup;
		w->headers[w->nheaders].name = cfg_strdup(ctx, web_headers[h].name);
		w->headers[w->nheaders].value = cfg_strdup(ctx, val->value);
		w->nheaders++;
		continue;
	dup:
		cfg_err(ctx, k, path, "duplicate header \"%s\"", web_headers[h].name);
	}
}

static void set_http2(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	int on = 0;
	(void)dst;
	cfg_set_bool(ctx, v, path, &on);
	log_warn("http2 is not supported and is ignored", "file", ctx->file, "key", path);
}

static const struct cfg_key web_http_keys[] = {
	{"headers", set_web_headers, 0, 0, 0},
	{"http2", set_http2, 0, 0, 0},
};

static void set_web_http(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	(void)cfg_map(ctx, v, path, web_http_keys, sizeof(web_http_keys) / sizeof(web_http_keys[0]), dst);
}

static const struct cfg_key web_root_keys[] = {
	{"tls_server_config", set_web_tls, 0, 0, 0},
	{"basic_auth_users", set_web_users, 0, 0, 0},
	{"http_server_config", set_web_http, 0, 0, 0},
	{"rate_limit", set_unsupported, 0, 0, 0},
};

enum perr web_config_load_file(const char *path, struct web_config **out, struct buf *errors)
{
	struct cfg_ctx ctx = {.file = path};
	struct web_config *w = NULL;
	*out = NULL;
	enum perr rc = cfg_read(&ctx, errors);
	if (rc)
		goto out;
	rc = PE_NOMEM;
	if (!(w = calloc(1, sizeof(*w))))
		goto out;
	const struct ynode *root = cfg_parse(&ctx, 1);
	if (root && !cfg_is_null(root))
		(void)cfg_map(&ctx, root, "", web_root_keys, sizeof(web_root_keys) / sizeof(web_root_keys[0]),
			      w);
	rc = cfg_finish(&ctx, errors);
out:
	cfg_ctx_close(&ctx);
	if (rc)
		web_config_free(w);
	else
		*out = w;
	return rc;
}

void web_config_free(struct web_config *w)
{
	if (!w)
		return;
	free(w->cert_file);
	free(w->key_file);
	free(w->client_ca_file);
	free(w->client_auth_type);
	free(w->min_version);
	for (size_t i = 0; i < w->nusers; i++) {
		free(w->users[i].name);
		free(w->users[i].bcrypt_hash);
	}
	free(w->users);
	for (size_t i = 0; i < w->nheaders; i++) {
		free(w->headers[i].name);
		free(w->headers[i].value);
	}
	free(w->headers);
	free(w);
}
