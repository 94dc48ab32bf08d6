/* http_client_config.c - Prometheus' HTTP client config (basic auth, bearer token, TLS) for persistencectl report. */
#include "config.h"
#include "config_schema.h"
#include "log.h"
#include "secret.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void set_unsupported(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	(void)dst;
	cfg_err(ctx, v, path, "not supported by persistence_exporter");
}

#define HC_OFF(f) offsetof(struct http_client_config, f)
static const struct cfg_key hc_basic_keys[] = {
	{"username", cfg_set_str, HC_OFF(username), 0, 1},
	{"password", cfg_set_secret_inline, HC_OFF(password), 1, 0},
	{"password_file", cfg_set_secret_file, HC_OFF(password), 1, 0},
	{"username_file", set_unsupported, 0, 0, 0},
};

static void set_basic(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	(void)cfg_map(ctx, v, path, hc_basic_keys, sizeof(hc_basic_keys) / sizeof(hc_basic_keys[0]), dst);
}

/* authorization.type: any one-word scheme but Basic (Prometheus sends basic_auth for that). */
static void set_auth_type(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	const char *s = cfg_scalar(ctx, v, path, "a string");
	if (s && strcasecmp(s, "basic") == 0)
		cfg_err(ctx, v, path, "authorization type Basic is not allowed: use basic_auth");
	else if (s && (strpbrk(s, " \t") || cfg_has_ctl(s)))
		cfg_err(ctx, v, path, "an authorization type is one word, such as Bearer");
	else if (s)
		cfg_set_str(ctx, v, path, dst);
}

static const struct cfg_key hc_auth_keys[] = {
	{"type", set_auth_type, HC_OFF(auth_type), 0, 0},
	{"credentials", cfg_set_secret_inline, HC_OFF(credentials), 1, 1},
	{"credentials_file", cfg_set_secret_file, HC_OFF(credentials), 1, 1},
};

static void set_auth(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	(void)cfg_map(ctx, v, path, hc_auth_keys, sizeof(hc_auth_keys) / sizeof(hc_auth_keys[0]), dst);
}

static const struct cfg_key hc_tls_keys[] = {
	{"ca_file", cfg_set_readable_file, HC_OFF(ca_file), 0, 0},
	{"cert_file", cfg_set_readable_file, HC_OFF(cert_file), 0, 0},
	{"key_file", cfg_set_readable_file, HC_OFF(key_file), 0, 0},
	{"insecure_skip_verify", cfg_set_bool, HC_OFF(insecure_skip_verify), 0, 0},
	{"server_name", set_unsupported, 0, 0, 0},
	{"min_version", set_unsupported, 0, 0, 0},
	{"max_version", set_unsupported, 0, 0, 0},
	{"ca", set_unsupported, 0, 0, 0},
	{"cert", set_unsupported, 0, 0, 0},
	{"key", set_unsupported, 0, 0, 0},
};

static void set_tls(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	struct http_client_config *c = dst;
	if (cfg_map(ctx, v, path, hc_tls_keys, sizeof(hc_tls_keys) / sizeof(hc_tls_keys[0]), c) < 0)
		return;
	if (!c->cert_file != !c->key_file)
		cfg_err(ctx, v, path, "cert_file and key_file must be set together");
	if (c->insecure_skip_verify && c->ca_file)
		cfg_err(ctx, v, path, "insecure_skip_verify cannot be combined with ca_file");
	else if (c->insecure_skip_verify)
		log_warn("TLS certificate verification is disabled", "file", ctx->file, "key", path);
}

/* follow_redirects, enable_http2: accepted for copied configs; the client never follows redirects. */
static void set_ignored_bool(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	int on = 0;
	(void)dst;
	cfg_set_bool(ctx, v, path, &on);
}

static const struct cfg_key hc_root_keys[] = {
	{"basic_auth", set_basic, 0, 1, 0},
	{"authorization", set_auth, 0, 1, 0},
	{"bearer_token", cfg_set_secret_inline, HC_OFF(credentials), 1, 0},
	{"bearer_token_file", cfg_set_secret_file, HC_OFF(credentials), 1, 0},
	{"tls_config", set_tls, 0, 0, 0},
	{"follow_redirects", set_ignored_bool, 0, 0, 0},
	{"enable_http2", set_ignored_bool, 0, 0, 0},
	{"oauth2", set_unsupported, 0, 0, 0},
	{"proxy_url", set_unsupported, 0, 0, 0},
	{"proxy_from_environment", set_unsupported, 0, 0, 0},
	{"no_proxy", set_unsupported, 0, 0, 0},
	{"proxy_connect_header", set_unsupported, 0, 0, 0},
	{"http_headers", set_unsupported, 0, 0, 0},
};

enum perr http_client_config_load_file(const char *path, struct http_client_config **out, struct buf *errors)
{
	struct cfg_ctx ctx = {.file = path};
	struct http_client_config *c = NULL;
	*out = NULL;
	enum perr rc = cfg_read(&ctx, errors);
	if (rc)
		goto out;
	rc = PE_NOMEM;
	if (!(c = calloc(1, sizeof(*c))))
		goto out;
	const struct ynode *root = cfg_parse(&ctx, 1);
	if (root && !cfg_is_null(root))
		(void)cfg_map(&ctx, root, "", hc_root_keys, sizeof(hc_root_keys) / sizeof(hc_root_keys[0]),
			      c);
	if (c->credentials && !c->auth_type)
		c->auth_type = cfg_strdup(&ctx, "Bearer");
	rc = cfg_finish(&ctx, errors);
out:
	cfg_ctx_close(&ctx);
	if (rc)
		http_client_config_free(c);
	else
		*out = c;
	return rc;
}

void http_client_config_free(struct http_client_config *c)
{
	if (!c)
		return;
	free(c->username);
	secret_free(c->password);
	free(c->auth_type);
	secret_free(c->credentials);
	free(c->ca_file);
	free(c->cert_file);
	free(c->key_file);
	free(c);
}
