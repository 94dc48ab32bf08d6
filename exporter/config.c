/* config.c - YAML -> struct config / struct web_config with file:line:col errors; the only libyaml user. */
#include "config.h"
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
#include <yaml.h>

#define CFG_MAX_FILE (1024 * 1024) /* a config larger than this is refused */
#define CFG_MAX_SECRET 4096 /* secret files larger than this are refused */
#define CFG_MAX_ERRORS 100 /* errors kept per load; the rest are counted */
#define CFG_MAX_KEYS 24 /* largest key table */
#define CFG_PATH 160 /* "targets[12].pve.source" and the like */
#define CFG_MAX_DURATION 9.2e9 /* seconds: Prometheus' limit (int64 nanoseconds) */

/* One problem found while loading, kept until all are sorted by position. */
struct cfg_err {
	size_t line, col, seq;
	char *msg;
};

/*
 * Load state. Setters never fail: they record problems here and carry on,
 * so one pass reports everything. oom is sticky and wins over errors.
 */
struct cfg_ctx {
	const char *file; /* as given, the prefix of every message */
	char *dir; /* directory of file: relative *_file paths start here */
	char *text; /* file contents (zeroed before free: may hold secrets) */
	size_t textlen;
	yaml_document_t doc;
	int have_doc;
	struct config *cfg; /* the config being built; NULL for a web config */
	yaml_node_t *targets; /* parsed last, once every source is known */
	struct cfg_err *errs;
	size_t nerrs, errcap, dropped;
	int oom;
};

/*
 * A key of a mapping: its setter gets the value node, the key's path for
 * messages and obj + off. Keys sharing a nonzero group exclude each other;
 * required means the key (or one key of its group) must be present.
 */
struct cfg_key {
	const char *name;
	void (*set)(struct cfg_ctx *ctx, yaml_node_t *val, const char *path, void *dst);
	size_t off;
	int group;
	int required;
};

/* A top-level list of named mappings (pve:, mounts:, ...). Elements start with `char *name`. */
struct cfg_list {
	const char *section;
	size_t size;
	const struct cfg_key *keys;
	size_t nkeys;
	void (*init)(void *elem);
	void (*check)(struct cfg_ctx *ctx, yaml_node_t *map, const char *path, void *elem);
};

_Static_assert(offsetof(struct config_pve, name) == 0, "name first");
_Static_assert(offsetof(struct config_mount, name) == 0, "name first");
_Static_assert(offsetof(struct config_n8n, name) == 0, "name first");
_Static_assert(offsetof(struct config_docker, name) == 0, "name first");
_Static_assert(offsetof(struct config_target, name) == 0, "name first");

/* ---- errors ---- */

static void cfg_errv(struct cfg_ctx *ctx, yaml_mark_t m, const char *path, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n = 0;
	if (ctx->nerrs >= CFG_MAX_ERRORS) {
		ctx->dropped++;
		return;
	}
	if (path && *path)
		n = (size_t)snprintf(msg, sizeof(msg), "%s: ", path);
	if (n < sizeof(msg))
		vsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
	if (ctx->nerrs == ctx->errcap) {
		size_t cap = ctx->errcap ? ctx->errcap * 2 : 8;
		struct cfg_err *e = realloc(ctx->errs, cap * sizeof(*e));
		if (!e) {
			ctx->oom = 1;
			return;
		}
		ctx->errs = e;
		ctx->errcap = cap;
	}
	struct cfg_err *e = &ctx->errs[ctx->nerrs];
	e->msg = strdup(msg);
	if (!e->msg) {
		ctx->oom = 1;
		return;
	}
	e->line = m.line + 1;
	e->col = m.column + 1;
	e->seq = ctx->nerrs++;
}

__attribute__((format(printf, 4, 5))) static void cfg_err(struct cfg_ctx *ctx, const yaml_node_t *n,
							  const char *path, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cfg_errv(ctx, n->start_mark, path, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 4, 5))) static void cfg_err_at(struct cfg_ctx *ctx, yaml_mark_t m,
							     const char *path, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cfg_errv(ctx, m, path, fmt, ap);
	va_end(ap);
}

static int cfg_err_cmp(const void *a, const void *b)
{
	const struct cfg_err *x = a, *y = b;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Writes the collected errors in file order; returns PE_NOMEM, PE_CONFIG or PE_OK. */
static enum perr cfg_finish(struct cfg_ctx *ctx, struct buf *errors)
{
	if (ctx->oom)
		return PE_NOMEM;
	if (!ctx->nerrs)
		return PE_OK;
	qsort(ctx->errs, ctx->nerrs, sizeof(*ctx->errs), cfg_err_cmp);
	for (size_t i = 0; errors && i < ctx->nerrs; i++)
		buf_addf(errors, "%s:%zu:%zu: %s\n", ctx->file, ctx->errs[i].line, ctx->errs[i].col,
			 ctx->errs[i].msg);
	if (errors && ctx->dropped)
		buf_addf(errors, "%s: %zu more errors not shown\n", ctx->file, ctx->dropped);
	return PE_CONFIG;
}

/* ---- nodes ---- */

static yaml_node_t *cfg_node(struct cfg_ctx *ctx, int id)
{
	return yaml_document_get_node(&ctx->doc, id);
}

/* A plain empty, "~" or "null" scalar: YAML's null. */
static int cfg_is_null(const yaml_node_t *n)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (strcmp((const char *)n->data.scalar.value, nulls[i]) == 0)
			return 1;
	return 0;
}

static const char *cfg_kind(const yaml_node_t *n)
{
	if (n->type == YAML_MAPPING_NODE)
		return "a mapping";
	if (n->type == YAML_SEQUENCE_NODE)
		return "a sequence";
	return cfg_is_null(n) ? "null" : "a scalar";
}

/* Quotes s for a message: at most 60 bytes, control characters as '?'. */
static const char *cfg_quote(const char *s, char *out, size_t size)
{
	size_t o = 0;
	out[o++] = '"';
	for (; *s && o + 6 < size && o < 61; s++)
		out[o++] = ((unsigned char)*s < 0x20 || *s == 0x7f) ? '?' : *s;
	if (*s) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}

/* parent.key, or key at the top level; a path too long for out is cut short. */
static void cfg_path(char *out, size_t size, const char *parent, const char *key)
{
	int n = *parent ? snprintf(out, size, "%s.%s", parent, key) : snprintf(out, size, "%s", key);
	if (n < 0)
		out[0] = '\0';
}

/* The text of a non-null, non-empty scalar without NUL bytes; else reports and returns NULL. */
static const char *cfg_scalar(struct cfg_ctx *ctx, const yaml_node_t *n, const char *path, const char *what)
{
	if (n->type != YAML_SCALAR_NODE || cfg_is_null(n)) {
		cfg_err(ctx, n, path, "expected %s, got %s", what, cfg_kind(n));
		return NULL;
	}
	const char *s = (const char *)n->data.scalar.value;
	if (strlen(s) != n->data.scalar.length) {
		cfg_err(ctx, n, path, "contains a NUL character");
		return NULL;
	}
	if (!*s) {
		cfg_err(ctx, n, path, "must not be empty");
		return NULL;
	}
	return s;
}

/* The value node of key in mapping n, or NULL. */
static yaml_node_t *cfg_map_get(struct cfg_ctx *ctx, yaml_node_t *n, const char *key)
{
	if (n->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = cfg_node(ctx, p->key);
		if (k->type == YAML_SCALAR_NODE && strcmp((const char *)k->data.scalar.value, key) == 0)
			return cfg_node(ctx, p->value);
	}
	return NULL;
}

static char *cfg_strdup(struct cfg_ctx *ctx, const char *s)
{
	char *d = strdup(s);
	if (!d)
		ctx->oom = 1;
	return d;
}

/* ---- mappings ---- */

/* Index of key node k in keys[], or -1 after reporting it. */
static int cfg_key_find(struct cfg_ctx *ctx, yaml_node_t *k, const char *path, const struct cfg_key *keys,
			size_t nkeys)
{
	char q[80];
	const char *name = cfg_scalar(ctx, k, path, "a key");
	if (!name)
		return -1;
	for (size_t i = 0; i < nkeys; i++)
		if (strcmp(keys[i].name, name) == 0)
			return (int)i;
	cfg_err(ctx, k, path, "unknown key %s", cfg_quote(name, q, sizeof(q)));
	return -1;
}

/* 1 when key i may be used: not seen before and no other key of its group is set. */
static int cfg_key_admit(struct cfg_ctx *ctx, yaml_node_t *k, const char *path, const struct cfg_key *keys,
			 size_t nkeys, yaml_node_t **seen, size_t i)
{
	if (seen[i]) {
		cfg_err(ctx, k, path, "duplicate key \"%s\"", keys[i].name);
		return 0;
	}
	for (size_t j = 0; keys[i].group && j < nkeys; j++) {
		if (j != i && seen[j] && keys[j].group == keys[i].group) {
			cfg_err(ctx, k, path, "%s and %s are mutually exclusive", keys[j].name, keys[i].name);
			return 0;
		}
	}
	return 1;
}

/* "a, b, c": the keys of group g. */
static void cfg_group_names(const struct cfg_key *keys, size_t nkeys, int g, char *out, size_t size)
{
	size_t len = 0;
	out[0] = '\0';
	for (size_t j = 0; j < nkeys && len < size; j++)
		if (keys[j].group == g)
			len += (size_t)snprintf(out + len, size - len, "%s%s", len ? ", " : "", keys[j].name);
}

/* 1 when key i is the first of its group and no key of the group was seen. */
static int cfg_group_missing(const struct cfg_key *keys, size_t nkeys, yaml_node_t **seen, size_t i)
{
	for (size_t j = 0; j < nkeys; j++)
		if (keys[j].group == keys[i].group && (seen[j] || j < i))
			return 0;
	return 1;
}

/* Reports required keys (or required groups) that the mapping n lacks. */
static void cfg_key_required(struct cfg_ctx *ctx, yaml_node_t *n, const char *path,
			     const struct cfg_key *keys, size_t nkeys, yaml_node_t **seen)
{
	char list[160];
	for (size_t i = 0; i < nkeys; i++) {
		if (!keys[i].required || seen[i])
			continue;
		if (!keys[i].group) {
			cfg_err(ctx, n, path, "missing required key \"%s\"", keys[i].name);
		} else if (cfg_group_missing(keys, nkeys, seen, i)) {
			cfg_group_names(keys, nkeys, keys[i].group, list, sizeof(list));
			cfg_err(ctx, n, path, "missing one of %s", list);
		}
	}
}

/*
 * Walks mapping n against keys[]: unknown, duplicate, conflicting and
 * missing keys are reported; each admitted value goes to its setter.
 * Returns 0 when n was a mapping, -1 (reported) otherwise.
 */
static int cfg_map(struct cfg_ctx *ctx, yaml_node_t *n, const char *path, const struct cfg_key *keys,
		   size_t nkeys, void *obj)
{
	yaml_node_t *seen[CFG_MAX_KEYS] = {0};
	if (n->type != YAML_MAPPING_NODE) {
		cfg_err(ctx, n, path, "expected a mapping%s, got %s", *path ? "" : " at the top level",
			cfg_kind(n));
		return -1;
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = cfg_node(ctx, p->key);
		int i = cfg_key_find(ctx, k, path, keys, nkeys);
		if (i < 0 || !cfg_key_admit(ctx, k, path, keys, nkeys, seen, (size_t)i))
			continue;
		seen[i] = k;
		char sub[CFG_PATH];
		cfg_path(sub, sizeof(sub), path, keys[i].name);
		keys[i].set(ctx, cfg_node(ctx, p->value), sub, (char *)obj + keys[i].off);
	}
	cfg_key_required(ctx, n, path, keys, nkeys, seen);
	return 0;
}

/* ---- scalar setters ---- */

static void set_str(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
{
	const char *s = cfg_scalar(ctx, v, path, "a string");
	if (!s)
		return;
	char **p = dst;
	free(*p);
	*p = cfg_strdup(ctx, s);
}

static int cfg_has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* A base URL: http(s)://host..., no spaces; trailing slashes dropped. */
static void set_url(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
{
	const char *s = cfg_scalar(ctx, v, path, "a URL");
	if (!s)
		return;
	const char *host = strncmp(s, "https://", 8) == 0  ? s + 8
			   : strncmp(s, "http://", 7) == 0 ? s + 7
							   : NULL;
	if (!host || !*host || *host == '/' || strpbrk(s, " \t") || cfg_has_ctl(s)) {
		char q[80];
		cfg_err(ctx, v, path, "invalid URL %s (expected http://host[:port] or https://...)",
			cfg_quote(s, q, sizeof(q)));
		return;
	}
	char **p = dst;
	free(*p);
	*p = cfg_strdup(ctx, s);
	for (size_t n = *p ? strlen(*p) : 0; n > 0 && (*p)[n - 1] == '/'; n--)
		(*p)[n - 1] = '\0';
}

/* An absolute path or glob used at scrape time. */
static void set_abspath(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
{
	const char *s = cfg_scalar(ctx, v, path, "a path");
	if (s && (*s != '/' || cfg_has_ctl(s))) {
		char q[80];
		cfg_err(ctx, v, path, "%s is not an absolute path", cfg_quote(s, q, sizeof(q)));
		return;
	}
	if (s)
		set_str(ctx, v, path, dst);
}

/* dump_dir: relative to the mount, and staying inside it. */
static void set_relpath(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
{
	const char *s = cfg_scalar(ctx, v, path, "a path");
	if (!s)
		return;
	size_t n = strlen(s);
	int up = strcmp(s, "..") == 0 || strncmp(s, "../", 3) == 0 || strstr(s, "/../") ||
		 (n >= 3 && strcmp(s + n - 3, "/..") == 0);
	if (*s == '/' || up || cfg_has_ctl(s)) {
		char q[80];
		cfg_err(ctx, v, path, "%s must be a relative path inside the mount",
			cfg_quote(s, q, sizeof(q)));
		return;
	}
	set_str(ctx, v, path, dst);
}

/* An IANA zone name such as Europe/Berlin (not checked against tzdata, which may be absent). */
static void set_timezone(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
{
	const char *s = cfg_scalar(ctx, v, path, "a time zone name");
	if (!s)
		return;
	int ok = *s != '/' && !strstr(s, "..");
	for (const char *p = s; ok && *p; p++)
		ok = isalnum((unsigned char)*p) || strchr("/_+-", *p);
	if (!ok) {
		char q[80];
		cfg_err(ctx, v, path, "invalid time zone %s (expected a name like Europe/Berlin)",
			cfg_quote(s, q, sizeof(q)));
		return;
	}
	set_str(ctx, v, path, dst);
}

/* A PVE API token id: user@realm!tokenname. */
static void set_token_id(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
{
	const char *s = cfg_scalar(ctx, v, path, "a token id");
	if (!s)
		return;
	const char *at = strchr(s, '@');
	const char *bang = at ? strchr(at, '!') : NULL;
	if (!at || at == s || !bang || bang == at + 1 || !bang[1] || strpbrk(s, " \t=") || cfg_has_ctl(s)) {
		char q[80];
		cfg_err(ctx, v, path, "invalid token id %s (expected user@realm!tokenname)",
			cfg_quote(s, q, sizeof(q)));
		return;
	}
	set_str(ctx, v, path, dst);
}

static void set_bool(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
{
	const char *s = cfg_scalar(ctx, v, path, "a boolean (true or false)");
	if (!s)
		return;
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) {
		*(int *)dst = 1;
	} else if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")) {
		*(int *)dst = 0;
	} else {
		char q[80];
		cfg_err(ctx, v, path, "expected a boolean (true or false), got %s",
			cfg_quote(s, q, sizeof(q)));
	}
}

/* A duration >= 0 ("0" allowed). */
static void set_duration(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
{
	const char *s = cfg_scalar(ctx, v, path, "a duration");
	if (!s)
		return;
	double d = config_parse_duration(s);
	if (d < 0) {
		char q[80];
		cfg_err(ctx, v, path, "invalid duration %s", cfg_quote(s, q, sizeof(q)));
		return;
	}
	*(double *)dst = d;
}

/* A duration > 0: timeouts and max ages. */
static void set_duration_pos(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
{
	double d = -1;
	set_duration(ctx, v, path, &d);
	if (d == 0)
		cfg_err(ctx, v, path, "duration must be greater than 0");
	else if (d > 0)
		*(double *)dst = d;
}

/* A PVE guest id, 100..999999999; "100" quoted is accepted too. */
static void set_vmid(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
{
	const char *s = cfg_scalar(ctx, v, path, "a guest id");
	if (!s)
		return;
	char *end;
	errno = 0;
	long id = isdigit((unsigned char)*s) ? strtol(s, &end, 10) : -1;
	if (id < 100 || id > 999999999 || errno || *end) {
		char q[80];
		cfg_err(ctx, v, path, "invalid vmid %s (expected an integer from 100 to 999999999)",
			cfg_quote(s, q, sizeof(q)));
		return;
	}
	*(long *)dst = id;
}

static void set_severity(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
{
	const char *s = cfg_scalar(ctx, v, path, "a severity");
	if (!s)
		return;
	if (strcmp(s, "critical") && strcmp(s, "warning") && strcmp(s, "info")) {
		char q[80];
		cfg_err(ctx, v, path, "invalid severity %s (expected critical, warning or info)",
			cfg_quote(s, q, sizeof(q)));
		return;
	}
	set_str(ctx, v, path, dst);
}

/* SHA-256 fingerprint: 32 colon-separated hex bytes. */
static void set_fingerprint(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
{
	const char *s = cfg_scalar(ctx, v, path, "a fingerprint");
	if (!s)
		return;
	int ok = strlen(s) == 95;
	for (size_t i = 0; ok && i < 95; i++)
		ok = i % 3 == 2 ? s[i] == ':' : isxdigit((unsigned char)s[i]) != 0;
	if (!ok) {
		cfg_err(ctx, v, path,
			"invalid fingerprint (expected 32 hex bytes separated by ':', SHA-256)");
		return;
	}
	set_str(ctx, v, path, dst);
}

/* ---- files and secrets ---- */

/* name made absolute against the config's directory; NULL on OOM. */
static char *cfg_resolve(struct cfg_ctx *ctx, const char *name)
{
	struct buf b;
	buf_init(&b, 0);
	if (*name != '/')
		buf_addf(&b, "%s/", ctx->dir);
	buf_adds(&b, name);
	if (buf_err(&b)) {
		buf_free(&b);
		ctx->oom = 1;
		return NULL;
	}
	return buf_steal(&b, NULL);
}

/*
 * Reads the regular file `file` into out (NUL-terminated, at most size-1
 * bytes). Returns 0, or -1 with a reason in why. *mode gets st_mode.
 */
static int cfg_slurp(const char *file, char *out, size_t size, size_t *len, mode_t *mode, char *why,
		     size_t wsize)
{
	struct stat st;
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	int rc = -1;
	*len = 0;
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(why, wsize, "%s", strerror(errno));
		goto out;
	}
	*mode = st.st_mode;
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, wsize, "not a regular file");
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, out + *len, size - 1 - *len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(why, wsize, "%s", strerror(errno));
			goto out;
		}
		*len += (size_t)r;
		if (r == 0 || *len == size - 1)
			break;
	}
	if (*len == size - 1) {
		snprintf(why, wsize, "larger than %zu bytes", size - 2);
		goto out;
	}
	out[*len] = '\0';
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Checks and stores a secret; never echoes it. Returns 0 when stored. */
static int cfg_store_secret(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, char *s, size_t len,
			    const char *origin, void *dst)
{
	if (len > 0 && s[len - 1] == '\n')
		s[--len] = '\0';
	if (len > 0 && s[len - 1] == '\r')
		s[--len] = '\0';
	if (len == 0 || strlen(s) != len || cfg_has_ctl(s)) {
		cfg_err(ctx, v, path, "%s%s", origin,
			len == 0 ? " is empty" : " contains a line break, NUL or control character");
		return -1;
	}
	char **p = dst;
	free(*p);
	*p = cfg_strdup(ctx, s);
	if (*p)
		log_add_secret(*p);
	return 0;
}

/* token_secret_file / api_key_file: path relative to the config's directory. */
static void set_secret_file(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
{
	const char *name = cfg_scalar(ctx, v, path, "a file name");
	char *file = name ? cfg_resolve(ctx, name) : NULL;
	char secret[CFG_MAX_SECRET + 2], why[128], q[80], origin[120];
	size_t len;
	mode_t mode = 0;
	if (!file)
		return;
	cfg_quote(name, q, sizeof(q));
	if (cfg_slurp(file, secret, sizeof(secret), &len, &mode, why, sizeof(why)) < 0) {
		cfg_err(ctx, v, path, "cannot read secret file %s: %s", q, why);
		goto out;
	}
	snprintf(origin, sizeof(origin), "secret file %s", q);
	if (cfg_store_secret(ctx, v, path, secret, len, origin, dst) == 0 && (mode & S_IROTH))
		log_warn("secret file is readable by other users; chmod o-r", "file", file, "key", path);
out:
	secret_wipe(secret, sizeof(secret));
	free(file);
}

/* token_secret / api_key inline: accepted, with a warning. */
static void set_secret_inline(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
{
	if (v->type != YAML_SCALAR_NODE || cfg_is_null(v)) {
		cfg_err(ctx, v, path, "expected a string, got %s", cfg_kind(v));
		return;
	}
	size_t len = v->data.scalar.length;
	char *s = malloc(len + 1);
	if (!s) {
		ctx->oom = 1;
		return;
	}
	memcpy(s, v->data.scalar.value, len + 1);
	if (cfg_store_secret(ctx, v, path, s, len, "inline secret", dst) == 0) {
		char at[64];
		snprintf(at, sizeof(at), "%zu:%zu", v->start_mark.line + 1, v->start_mark.column + 1);
		log_warn("inline secret in the configuration; prefer a *_file key", "file", ctx->file, "at",
			 at, "key", path);
	}
	secret_free(s);
}

/* A file read at load time (CA bundle, certificate): must be a readable regular file. */
static void set_readable_file(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
{
	const char *name = cfg_scalar(ctx, v, path, "a file name");
	char *file = name ? cfg_resolve(ctx, name) : NULL;
	struct stat st;
	char q[80];
	if (!file)
		return;
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		cfg_err(ctx, v, path, "cannot read %s: %s", cfg_quote(name, q, sizeof(q)),
			fd < 0 ? strerror(errno) : "not a regular file");
		free(file);
	} else {
		char **p = dst;
		free(*p);
		*p = file;
	}
	if (fd >= 0)
		close(fd);
}

/* ---- config sections ---- */

static const struct cfg_key tls_keys[] = {
	{"ca_file", set_readable_file, offsetof(struct config_tls, ca_file), 1, 0},
	{"fingerprint", set_fingerprint, offsetof(struct config_tls, fingerprint), 1, 0},
	{"insecure_skip_verify", set_bool, offsetof(struct config_tls, insecure_skip_verify), 0, 0},
};

static void set_tls(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
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
	{"scrape_timeout", set_duration_pos, offsetof(struct config_global, scrape_timeout), 0, 0},
	{"cache_ttl", set_duration, offsetof(struct config_global, cache_ttl), 0, 0},
	{"max_staleness", set_duration_pos, offsetof(struct config_global, max_staleness), 0, 0},
	{"drill_state_file", set_abspath, offsetof(struct config_global, drill_state_file), 0, 0},
};

static void set_global(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
{
	if (!cfg_is_null(v))
		(void)cfg_map(ctx, v, path, global_keys, sizeof(global_keys) / sizeof(global_keys[0]), dst);
}

/* pve[].exempt: a sequence of {vmid | storage, reason}; each guest or storage at most once. */
static const struct cfg_key exempt_keys[] = {
	{"vmid", set_vmid, offsetof(struct config_exempt, vmid), 1, 1},
	{"storage", set_str, offsetof(struct config_exempt, storage), 1, 1},
	{"reason", set_str, offsetof(struct config_exempt, reason), 0, 1},
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

static void set_exempt(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
{
	struct config_pve *p = dst;
	if (cfg_is_null(v))
		return;
	if (v->type != YAML_SEQUENCE_NODE) {
		cfg_err(ctx, v, path, "expected a sequence, got %s", cfg_kind(v));
		return;
	}
	size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	p->exempt = n ? calloc(n, sizeof(*p->exempt)) : NULL;
	if (n && !p->exempt) {
		ctx->oom = 1;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *item = cfg_node(ctx, v->data.sequence.items.start[i]);
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
static void set_vmid_range(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
{
	struct config_drill *d = dst;
	char sub[CFG_PATH];
	if (v->type != YAML_SEQUENCE_NODE || v->data.sequence.items.top - v->data.sequence.items.start != 2) {
		cfg_err(ctx, v, path, "expected [first, last], two guest ids");
		return;
	}
	long ids[2] = {-1, -1};
	for (int i = 0; i < 2; i++) {
		snprintf(sub, sizeof(sub), "%s[%d]", path, i);
		set_vmid(ctx, cfg_node(ctx, v->data.sequence.items.start[i]), sub, &ids[i]);
	}
	if (ids[0] > 0 && ids[1] > 0 && ids[0] > ids[1])
		cfg_err(ctx, v, path, "first id %ld is greater than last id %ld", ids[0], ids[1]);
	d->vmid_lo = ids[0];
	d->vmid_hi = ids[1];
}

/* A PVE storage or pool id, and the name prefix: letters, digits, '-', '_' (and '.' for ids). */
static void cfg_set_word_of(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst,
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
	set_str(ctx, v, path, dst);
}

static void set_pve_id(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
{
	cfg_set_word_of(ctx, v, path, dst, "-_.", 100, "PVE id (letters, digits, '-', '_', '.')");
}

/* The restored guest's name is prefix + source + vmid: a DNS label, so letters, digits and '-'. */
static void set_name_prefix(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
{
	cfg_set_word_of(ctx, v, path, dst, "-", 20, "name prefix (up to 20 letters, digits or '-')");
}

#define DRILL_OFF(f) offsetof(struct config_drill, f)
static const struct cfg_key drill_keys[] = {
	{"token_id", set_token_id, DRILL_OFF(token_id), 0, 1},
	{"token_secret_file", set_secret_file, DRILL_OFF(token_secret), 1, 1},
	{"token_secret", set_secret_inline, DRILL_OFF(token_secret), 1, 1},
	{"vmid_range", set_vmid_range, 0, 0, 1},
	{"storage", set_pve_id, DRILL_OFF(storage), 0, 1},
	{"pool", set_pve_id, DRILL_OFF(pool), 0, 1},
	{"boot_timeout", set_duration_pos, DRILL_OFF(boot_timeout), 0, 0},
	{"restore_timeout", set_duration_pos, DRILL_OFF(restore_timeout), 0, 0},
	{"name_prefix", set_name_prefix, DRILL_OFF(name_prefix), 0, 0},
};

static void set_drill(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
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
	{"name", set_str, PVE_OFF(name), 0, 1},
	{"url", set_url, PVE_OFF(url), 0, 1},
	{"token_id", set_token_id, PVE_OFF(token_id), 0, 1},
	{"token_secret_file", set_secret_file, PVE_OFF(token_secret), 1, 1},
	{"token_secret", set_secret_inline, PVE_OFF(token_secret), 1, 1},
	{"action_token_id", set_token_id, PVE_OFF(action_token_id), 0, 0},
	{"action_token_secret_file", set_secret_file, PVE_OFF(action_token_secret), 2, 0},
	{"action_token_secret", set_secret_inline, PVE_OFF(action_token_secret), 2, 0},
	{"tls", set_tls, PVE_OFF(tls), 0, 0},
	{"timeout", set_duration_pos, PVE_OFF(timeout), 0, 0},
	{"local", set_bool, PVE_OFF(local), 0, 0},
	{"local_node", set_str, PVE_OFF(local_node), 0, 0},
	{"exempt", set_exempt, 0, 0, 0},
	{"drill", set_drill, 0, 0, 0},
};

static void pve_init(void *elem)
{
	struct config_pve *p = elem;
	p->timeout = CONFIG_PVE_TIMEOUT;
}

/* The action token is optional, but its id and its secret come together. */
static void pve_check(struct cfg_ctx *ctx, yaml_node_t *map, const char *path, void *elem)
{
	int id = cfg_map_get(ctx, map, "action_token_id") != NULL;
	int secret = cfg_map_get(ctx, map, "action_token_secret_file") ||
		     cfg_map_get(ctx, map, "action_token_secret");
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
		cfg_err(ctx, cfg_map_get(ctx, cfg_map_get(ctx, map, "drill"), "token_id"), sub,
			"the drill token must be its own token, not the %s token",
			strcmp(p->drill->token_id, p->token_id ? p->token_id : "") == 0 ? "read" : "action");
	}
}

#define MOUNT_OFF(f) offsetof(struct config_mount, f)
static const struct cfg_key mount_keys[] = {
	{"name", set_str, MOUNT_OFF(name), 0, 1},
	{"path", set_abspath, MOUNT_OFF(path), 0, 1},
	{"fstype", set_str, MOUNT_OFF(fstype), 0, 0},
	{"timeout", set_duration_pos, MOUNT_OFF(timeout), 0, 0},
	{"write_probe", set_bool, MOUNT_OFF(write_probe), 0, 0},
	{"dump_dir", set_relpath, MOUNT_OFF(dump_dir), 0, 0},
	{"timezone", set_timezone, MOUNT_OFF(timezone), 0, 0},
};

static void mount_init(void *elem)
{
	struct config_mount *m = elem;
	m->timeout = 5;
}

#define N8N_OFF(f) offsetof(struct config_n8n, f)
static const struct cfg_key n8n_keys[] = {
	{"name", set_str, N8N_OFF(name), 0, 1},
	{"url", set_url, N8N_OFF(url), 0, 1},
	{"api_key_file", set_secret_file, N8N_OFF(api_key), 1, 1},
	{"api_key", set_secret_inline, N8N_OFF(api_key), 1, 1},
	{"snapshots", set_abspath, N8N_OFF(snapshots), 0, 0},
	{"tls", set_tls, N8N_OFF(tls), 0, 0},
	{"timeout", set_duration_pos, N8N_OFF(timeout), 0, 0},
};

static void n8n_init(void *elem)
{
	struct config_n8n *n = elem;
	n->timeout = 10;
}

/* stateful_names: a sequence of fnmatch patterns. */
static void set_stateful_names(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
{
	struct config_docker *d = dst;
	if (v->type != YAML_SEQUENCE_NODE) {
		cfg_err(ctx, v, path, "expected a sequence, got %s", cfg_kind(v));
		return;
	}
	size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	d->stateful_names = n ? calloc(n, sizeof(char *)) : NULL;
	if (n && !d->stateful_names) {
		ctx->oom = 1;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char sub[CFG_PATH], *pat = NULL;
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		set_str(ctx, cfg_node(ctx, v->data.sequence.items.start[i]), sub, &pat);
		if (pat)
			d->stateful_names[d->nstateful_names++] = pat;
	}
}

#define DOCKER_OFF(f) offsetof(struct config_docker, f)
static const struct cfg_key docker_keys[] = {
	{"name", set_str, DOCKER_OFF(name), 0, 1},
	{"socket", set_abspath, DOCKER_OFF(socket), 0, 0},
	{"timeout", set_duration_pos, DOCKER_OFF(timeout), 0, 0},
	{"stateful_label", set_str, DOCKER_OFF(stateful_label), 0, 0},
	{"stateful_names", set_stateful_names, 0, 0, 0},
};

static void docker_init(void *elem)
{
	struct config_docker *d = elem;
	d->timeout = 5;
}

static void docker_check(struct cfg_ctx *ctx, yaml_node_t *map, const char *path, void *elem)
{
	struct config_docker *d = elem;
	(void)map;
	(void)path;
	if (!d->socket)
		d->socket = cfg_strdup(ctx, "/var/run/docker.sock");
	if (!d->stateful_label)
		d->stateful_label = cfg_strdup(ctx, "persistence.stateful");
}

static void no_check(struct cfg_ctx *ctx, yaml_node_t *map, const char *path, void *elem)
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
	{"source", set_str, offsetof(struct cfg_ref, source), 0, 1},
	{"vmid", set_vmid, offsetof(struct cfg_ref, vmid), 0, 1},
};
static const struct cfg_key ref_n8n_keys[] = {
	{"source", set_str, offsetof(struct cfg_ref, source), 0, 1},
};
static const struct cfg_key ref_file_keys[] = {
	{"path", set_abspath, offsetof(struct cfg_ref, path), 0, 1},
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

static void cfg_target_kind(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, struct config_target *t,
			    enum target_kind kind, const struct cfg_key *keys, size_t nkeys)
{
	static const char *const sections[] = {"pve", "mounts", "n8n", ""};
	struct cfg_ref r = {NULL, -1, NULL};
	t->kind = kind;
	if (cfg_map(ctx, v, path, keys, nkeys, &r) == 0 && r.source &&
	    !cfg_source_known(ctx->cfg, kind, r.source)) {
		char sub[CFG_PATH], q[80];
		cfg_path(sub, sizeof(sub), path, "source");
		cfg_err(ctx, cfg_map_get(ctx, v, "source"), sub,
			"no source named %s under %s:", cfg_quote(r.source, q, sizeof(q)), sections[kind]);
	}
	t->source = r.source;
	t->vmid = r.vmid;
	t->file_glob = r.path;
}

static void set_target_pve(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
{
	cfg_target_kind(ctx, v, path, dst, TARGET_PVE, ref_vm_keys, 2);
}

static void set_target_mount(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
{
	cfg_target_kind(ctx, v, path, dst, TARGET_MOUNT, ref_vm_keys, 2);
}

static void set_target_n8n(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
{
	cfg_target_kind(ctx, v, path, dst, TARGET_N8N, ref_n8n_keys, 1);
}

static void set_target_file(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
{
	cfg_target_kind(ctx, v, path, dst, TARGET_FILE, ref_file_keys, 1);
}

#define TARGET_OFF(f) offsetof(struct config_target, f)
static const struct cfg_key target_keys[] = {
	{"name", set_str, TARGET_OFF(name), 0, 1},
	{"site", set_str, TARGET_OFF(site), 0, 0},
	{"severity", set_severity, TARGET_OFF(severity), 0, 0},
	{"pve", set_target_pve, 0, 1, 1},
	{"mount", set_target_mount, 0, 1, 1},
	{"n8n", set_target_n8n, 0, 1, 1},
	{"file", set_target_file, 0, 1, 1},
	{"max_age", set_duration_pos, TARGET_OFF(max_age), 0, 1},
	{"restore_doc", set_str, TARGET_OFF(restore_doc), 0, 0},
	{"max_restore_test_age", set_duration_pos, TARGET_OFF(max_restore_test_age), 0, 0},
	{"rto", set_duration_pos, TARGET_OFF(rto), 0, 0},
};

static void target_init(void *elem)
{
	struct config_target *t = elem;
	t->vmid = -1;
}

static void target_check(struct cfg_ctx *ctx, yaml_node_t *map, const char *path, void *elem)
{
	struct config_target *t = elem;
	(void)map;
	(void)path;
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

/* Reports elems[i] when an earlier element has the same name. */
static void cfg_check_dup_name(struct cfg_ctx *ctx, yaml_node_t *map, const char *path,
			       const struct cfg_list *l, char *elems, size_t i)
{
	const char *name = *(char **)(elems + i * l->size);
	for (size_t j = 0; name && j < i; j++) {
		const char *other = *(char **)(elems + j * l->size);
		if (other && strcmp(other, name) == 0) {
			char sub[CFG_PATH], q[80];
			cfg_path(sub, sizeof(sub), path, "name");
			cfg_err(ctx, cfg_map_get(ctx, map, "name"), sub,
				"duplicate name %s (also used by %s[%zu])", cfg_quote(name, q, sizeof(q)),
				l->section, j);
			return;
		}
	}
}

/*
 * Parses a sequence of mappings into a new array. *count covers every
 * element allocated, even when errors were found, so the config frees
 * them. A null node is an empty list.
 */
static void *cfg_list(struct cfg_ctx *ctx, yaml_node_t *n, const struct cfg_list *l, size_t *count)
{
	*count = 0;
	if (cfg_is_null(n))
		return NULL;
	if (n->type != YAML_SEQUENCE_NODE) {
		cfg_err(ctx, n, l->section, "expected a sequence, got %s", cfg_kind(n));
		return NULL;
	}
	size_t len = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	char *arr = len ? calloc(len, l->size) : NULL;
	if (len && !arr) {
		ctx->oom = 1;
		return NULL;
	}
	*count = len;
	for (size_t i = 0; i < len; i++) {
		yaml_node_t *item = cfg_node(ctx, n->data.sequence.items.start[i]);
		char path[CFG_PATH];
		snprintf(path, sizeof(path), "%s[%zu]", l->section, i);
		l->init(arr + i * l->size);
		if (cfg_map(ctx, item, path, l->keys, l->nkeys, arr + i * l->size) == 0) {
			l->check(ctx, item, path, arr + i * l->size);
			cfg_check_dup_name(ctx, item, path, l, arr, i);
		}
	}
	return arr;
}

static void set_pve_list(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
{
	struct config *c = dst;
	(void)path;
	c->pve = cfg_list(ctx, v, &pve_list, &c->npve);
}

static void set_mount_list(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
{
	struct config *c = dst;
	(void)path;
	c->mounts = cfg_list(ctx, v, &mount_list, &c->nmounts);
}

static void set_n8n_list(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
{
	struct config *c = dst;
	(void)path;
	c->n8n = cfg_list(ctx, v, &n8n_list, &c->nn8n);
}

static void set_docker_list(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
{
	struct config *c = dst;
	(void)path;
	c->docker = cfg_list(ctx, v, &docker_list, &c->ndocker);
}

/* targets: parsed after the whole root, so every source is known whatever the key order. */
static void set_targets_later(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
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
	{"targets", set_targets_later, 0, 0, 0},
};

/* ---- loading ---- */

static void cfg_ctx_close(struct cfg_ctx *ctx)
{
	if (ctx->have_doc) {
		/* scalars may hold inline secrets: wipe them before libyaml frees them */
		for (yaml_node_t *n = ctx->doc.nodes.start; n < ctx->doc.nodes.top; n++)
			if (n->type == YAML_SCALAR_NODE)
				secret_wipe(n->data.scalar.value, n->data.scalar.length);
		yaml_document_delete(&ctx->doc);
	}
	if (ctx->text)
		secret_wipe(ctx->text, ctx->textlen);
	free(ctx->text);
	free(ctx->dir);
	for (size_t i = 0; i < ctx->nerrs; i++)
		free(ctx->errs[i].msg);
	free(ctx->errs);
}

/* Reads the file; a file that cannot be read is PE_IO with a "file: reason" line. */
static enum perr cfg_read(struct cfg_ctx *ctx, struct buf *errors)
{
	char why[128];
	mode_t mode;
	ctx->text = malloc(CFG_MAX_FILE + 2);
	if (!ctx->text)
		return PE_NOMEM;
	if (cfg_slurp(ctx->file, ctx->text, CFG_MAX_FILE + 2, &ctx->textlen, &mode, why, sizeof(why)) < 0) {
		if (errors)
			buf_addf(errors, "%s: cannot read: %s\n", ctx->file, why);
		return PE_IO;
	}
	const char *slash = strrchr(ctx->file, '/');
	ctx->dir = slash ? strndup(ctx->file, slash == ctx->file ? 1 : (size_t)(slash - ctx->file))
			 : strdup(".");
	return ctx->dir ? PE_OK : PE_NOMEM;
}

/* Records a libyaml failure at its position. */
static void cfg_yaml_error(struct cfg_ctx *ctx, const yaml_parser_t *p)
{
	if (p->error == YAML_MEMORY_ERROR) {
		ctx->oom = 1;
		return;
	}
	if (p->context)
		cfg_err_at(ctx, p->problem_mark, "", "YAML syntax error: %s (%s)",
			   p->problem ? p->problem : "unknown", p->context);
	else
		cfg_err_at(ctx, p->problem_mark, "", "YAML syntax error: %s",
			   p->problem ? p->problem : "unknown");
}

/* Parses the one YAML document; the root is NULL (and reported) when empty or broken. */
static yaml_node_t *cfg_parse(struct cfg_ctx *ctx, int empty_ok)
{
	yaml_parser_t p;
	yaml_document_t extra;
	yaml_mark_t start = {0, 0, 0};
	if (!yaml_parser_initialize(&p)) {
		ctx->oom = 1;
		return NULL;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)ctx->text, ctx->textlen);
	if (!yaml_parser_load(&p, &ctx->doc)) {
		cfg_yaml_error(ctx, &p);
		goto out;
	}
	ctx->have_doc = 1;
	if (!yaml_document_get_root_node(&ctx->doc)) {
		if (!empty_ok)
			cfg_err_at(ctx, start, "", "the configuration file is empty");
		goto out;
	}
	if (!yaml_parser_load(&p, &extra)) {
		cfg_yaml_error(ctx, &p);
	} else {
		yaml_node_t *r = yaml_document_get_root_node(&extra);
		if (r)
			cfg_err(ctx, r, "", "only one YAML document is allowed");
		yaml_document_delete(&extra);
	}
out:
	yaml_parser_delete(&p);
	return ctx->have_doc ? yaml_document_get_root_node(&ctx->doc) : NULL;
}

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
	yaml_node_t *root = cfg_parse(&ctx, 0);
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
		secret_free(p->action_token_secret);
		cfg_free_tls(&p->tls);
		free(p->local_node);
		for (size_t k = 0; k < p->nexempt; k++) {
			free(p->exempt[k].storage);
			free(p->exempt[k].reason);
		}
		free(p->exempt);
		if (p->drill) {
			free(p->drill->token_id);
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

/* Descending units; each may appear once, in this order. */
static const struct {
	const char *unit;
	double seconds;
} cfg_units[] = {
	{"y", 365 * 86400.0}, {"w", 7 * 86400.0}, {"d", 86400.0}, {"h", 3600.0},
	{"ms", 0.001},        {"m", 60.0},        {"s", 1.0},
};
/* Rank of each cfg_units[] entry in the required order (ms comes after s). */
static const int cfg_unit_rank[] = {0, 1, 2, 3, 6, 4, 5};

double config_parse_duration(const char *s)
{
	double total = 0;
	int last = -1;
	if (!s || !*s)
		return -1;
	if (strcmp(s, "0") == 0)
		return 0;
	while (*s) {
		double v = 0;
		int digits = 0, u;
		for (; isdigit((unsigned char)*s); s++, digits++)
			v = v * 10 + (*s - '0');
		if (digits == 0 || digits > 15)
			return -1;
		for (u = 0; u < (int)(sizeof(cfg_units) / sizeof(cfg_units[0])); u++)
			if (strncmp(s, cfg_units[u].unit, strlen(cfg_units[u].unit)) == 0)
				break;
		if (u == (int)(sizeof(cfg_units) / sizeof(cfg_units[0])) || cfg_unit_rank[u] <= last)
			return -1;
		last = cfg_unit_rank[u];
		s += strlen(cfg_units[u].unit);
		total += v * cfg_units[u].seconds;
	}
	return total > CFG_MAX_DURATION ? -1 : total;
}

const char *config_target_kind_str(enum target_kind k)
{
	static const char *const names[] = {"pve", "mount", "n8n", "file"};
	return (unsigned)k < 4 ? names[k] : "unknown";
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

const struct config_n8n *config_find_n8n(const struct config *c, const char *name)
{
	for (size_t i = 0; c && name && i < c->nn8n; i++)
		if (c->n8n[i].name && strcmp(c->n8n[i].name, name) == 0)
			return &c->n8n[i];
	return NULL;
}

/* ---- web config (exporter-toolkit format) ---- */

static void set_unsupported(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
{
	(void)dst;
	cfg_err(ctx, v, path, "not supported by persistence_exporter");
}

/* One of a fixed set of words. */
static void cfg_set_word(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst,
			 const char *const *words, const char *hint)
{
	const char *s = cfg_scalar(ctx, v, path, "a string");
	if (!s)
		return;
	for (; *words; words++)
		if (strcmp(s, *words) == 0) {
			set_str(ctx, v, path, dst);
			return;
		}
	char q[80];
	cfg_err(ctx, v, path, "invalid value %s (expected %s)", cfg_quote(s, q, sizeof(q)), hint);
}

static void set_client_auth(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
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

static void set_min_version(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
{
	static const char *const w[] = {"TLS10", "TLS11", "TLS12", "TLS13", NULL};
	cfg_set_word(ctx, v, path, dst, w, "TLS10, TLS11, TLS12 or TLS13");
}

#define WEB_OFF(f) offsetof(struct web_config, f)
static const struct cfg_key web_tls_keys[] = {
	{"cert_file", set_readable_file, WEB_OFF(cert_file), 0, 0},
	{"key_file", set_readable_file, WEB_OFF(key_file), 0, 0},
	{"client_ca_file", set_readable_file, WEB_OFF(client_ca_file), 0, 0},
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
static void set_web_tls(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
{
	struct web_config *w = dst;
	yaml_node_t *cert = cfg_map_get(ctx, v, "cert_file"), *key = cfg_map_get(ctx, v, "key_file");
	if (cfg_map(ctx, v, path, web_tls_keys, sizeof(web_tls_keys) / sizeof(web_tls_keys[0]), w) < 0)
		return;
	if (!cert != !key)
		cfg_err(ctx, v, path, "cert_file and key_file must be set together");
	else if (!cert && (cfg_map_get(ctx, v, "client_ca_file") || cfg_map_get(ctx, v, "client_auth_type")))
		cfg_err(ctx, v, path, "client certificate settings need cert_file and key_file");
	if (w->client_auth_type && strstr(w->client_auth_type, "Verify") &&
	    !cfg_map_get(ctx, v, "client_ca_file"))
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

static void set_web_users(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
{
	struct web_config *w = dst;
	if (v->type != YAML_MAPPING_NODE) {
		cfg_err(ctx, v, path, "expected a mapping of user names to bcrypt hashes, got %s",
			cfg_kind(v));
		return;
	}
	size_t n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
	if (n && !(w->users = calloc(n, sizeof(*w->users)))) {
		ctx->oom = 1;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		yaml_node_pair_t *p = &v->data.mapping.pairs.start[i];
		yaml_node_t *k = cfg_node(ctx, p->key), *h = cfg_node(ctx, p->value);
		const char *user = cfg_scalar(ctx, k, path, "a user name");
		char sub[CFG_PATH], q[80];
		if (!user)
			continue;
		cfg_path(sub, sizeof(sub), path, user);
		if (strchr(user, ':') || cfg_has_ctl(user)) {
			cfg_err(ctx, k, path, "invalid user name %s", cfg_quote(user, q, sizeof(q)));
			continue;
		}
		if (h->type != YAML_SCALAR_NODE || !cfg_is_bcrypt((const char *)h->data.scalar.value)) {
			cfg_err(ctx, h, sub, "not a bcrypt hash (htpasswd -nBC 10 \"\" | tr -d ':\\n')");
			continue;
		}
		for (size_t j = 0; j < w->nusers; j++)
			if (strcmp(w->users[j].name, user) == 0)
				goto dup;
		w->users[w->nusers].name = cfg_strdup(ctx, user);
		w->users[w->nusers].bcrypt_hash = cfg_strdup(ctx, (const char *)h->data.scalar.value);
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
static int cfg_web_header(struct cfg_ctx *ctx, yaml_node_t *k, yaml_node_t *v, const char *path)
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

static void set_web_headers(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
{
	struct web_config *w = dst;
	if (v->type != YAML_MAPPING_NODE) {
		cfg_err(ctx, v, path, "expected a mapping, got %s", cfg_kind(v));
		return;
	}
	size_t n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
	if (n && !(w->headers = calloc(n, sizeof(*w->headers)))) {
		ctx->oom = 1;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		yaml_node_pair_t *p = &v->data.mapping.pairs.start[i];
		yaml_node_t *k = cfg_node(ctx, p->key), *val = cfg_node(ctx, p->value);
		int h = cfg_web_header(ctx, k, val, path);
		if (h < 0)
			continue;
		for (size_t j = 0; j < w->nheaders; j++)
			if (strcmp(w->headers[j].name, web_headers[h].name) == 0)
				goto dup;
		w->headers[w->nheaders].name = cfg_strdup(ctx, web_headers[h].name);
		w->headers[w->nheaders].value = cfg_strdup(ctx, (const char *)val->data.scalar.value);
		w->nheaders++;
		continue;
	dup:
		cfg_err(ctx, k, path, "duplicate header \"%s\"", web_headers[h].name);
	}
}

static void set_http2(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
{
	int on = 0;
	(void)dst;
	set_bool(ctx, v, path, &on);
	log_warn("http2 is not supported and is ignored", "file", ctx->file, "key", path);
}

static const struct cfg_key web_http_keys[] = {
	{"headers", set_web_headers, 0, 0, 0},
	{"http2", set_http2, 0, 0, 0},
};

static void set_web_http(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
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
	yaml_node_t *root = cfg_parse(&ctx, 1);
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

/* ---- the Prometheus HTTP client config (persistencectl report --prometheus.config.file) ---- */

#define HC_OFF(f) offsetof(struct http_client_config, f)
static const struct cfg_key hc_basic_keys[] = {
	{"username", set_str, HC_OFF(username), 0, 1},
	{"password", set_secret_inline, HC_OFF(password), 1, 0},
	{"password_file", set_secret_file, HC_OFF(password), 1, 0},
	{"username_file", set_unsupported, 0, 0, 0},
};

static void set_hc_basic(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
{
	(void)cfg_map(ctx, v, path, hc_basic_keys, sizeof(hc_basic_keys) / sizeof(hc_basic_keys[0]), dst);
}

/* authorization.type: any scheme but Basic (Prometheus sends basic_auth for that). */
static void set_hc_auth_type(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
{
	const char *s = cfg_scalar(ctx, v, path, "a string");
	if (s && strcasecmp(s, "basic") == 0)
		cfg_err(ctx, v, path, "authorization type Basic is not allowed: use basic_auth");
	else if (s && (!*s || strpbrk(s, " \t") || cfg_has_ctl(s)))
		cfg_err(ctx, v, path, "an authorization type is one word, such as Bearer");
	else if (s)
		set_str(ctx, v, path, dst);
}

static const struct cfg_key hc_auth_keys[] = {
	{"type", set_hc_auth_type, HC_OFF(auth_type), 0, 0},
	{"credentials", set_secret_inline, HC_OFF(credentials), 1, 1},
	{"credentials_file", set_secret_file, HC_OFF(credentials), 1, 1},
};

static void set_hc_auth(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
{
	(void)cfg_map(ctx, v, path, hc_auth_keys, sizeof(hc_auth_keys) / sizeof(hc_auth_keys[0]), dst);
}

static const struct cfg_key hc_tls_keys[] = {
	{"ca_file", set_readable_file, HC_OFF(ca_file), 0, 0},
	{"cert_file", set_readable_file, HC_OFF(cert_file), 0, 0},
	{"key_file", set_readable_file, HC_OFF(key_file), 0, 0},
	{"insecure_skip_verify", set_bool, HC_OFF(insecure_skip_verify), 0, 0},
	{"server_name", set_unsupported, 0, 0, 0},
	{"min_version", set_unsupported, 0, 0, 0},
	{"max_version", set_unsupported, 0, 0, 0},
	{"ca", set_unsupported, 0, 0, 0},
	{"cert", set_unsupported, 0, 0, 0},
	{"key", set_unsupported, 0, 0, 0},
};

static void set_hc_tls(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
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
static void set_hc_ignored_bool(struct cfg_ctx *ctx, yaml_node_t *v, const char *path, void *dst)
{
	int on = 0;
	(void)dst;
	set_bool(ctx, v, path, &on);
}

static const struct cfg_key hc_root_keys[] = {
	{"basic_auth", set_hc_basic, 0, 1, 0},
	{"authorization", set_hc_auth, 0, 1, 0},
	{"bearer_token", set_secret_inline, HC_OFF(credentials), 1, 0},
	{"bearer_token_file", set_secret_file, HC_OFF(credentials), 1, 0},
	{"tls_config", set_hc_tls, 0, 0, 0},
	{"follow_redirects", set_hc_ignored_bool, 0, 0, 0},
	{"enable_http2", set_hc_ignored_bool, 0, 0, 0},
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
	yaml_node_t *root = cfg_parse(&ctx, 1);
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
