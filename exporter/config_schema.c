/* config_schema.c - how YAML becomes structs: keys with setters, lists, errors at file:line:col (config.c, web_config.c). */
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

/* ---- errors ---- */

static void cfg_errv(struct cfg_ctx *ctx, size_t line, size_t col, const char *path, const char *fmt,
		     va_list ap)
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
	e->line = line + 1;
	e->col = col + 1;
	e->seq = ctx->nerrs++;
}

void cfg_err(struct cfg_ctx *ctx, const struct ynode *n, const char *path, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cfg_errv(ctx, n->line, n->col, path, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 5, 6))) static void cfg_err_at(struct cfg_ctx *ctx, size_t line, size_t col,
							     const char *path, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cfg_errv(ctx, line, col, path, fmt, ap);
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
enum perr cfg_finish(struct cfg_ctx *ctx, struct buf *errors)
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

/* A plain empty, "~" or "null" scalar: YAML's null. */
int cfg_is_null(const struct ynode *n)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
	if (n->kind != YNODE_SCALAR || !n->plain)
		return 0;
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (strcmp(n->value, nulls[i]) == 0)
			return 1;
	return 0;
}

const char *cfg_kind(const struct ynode *n)
{
	if (n->kind == YNODE_MAP)
		return "a mapping";
	if (n->kind == YNODE_SEQ)
		return "a sequence";
	return cfg_is_null(n) ? "null" : "a scalar";
}

/* Quotes s for a message: at most 60 bytes, control characters as '?'. */
const char *cfg_quote(const char *s, char *out, size_t size)
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
void cfg_path(char *out, size_t size, const char *parent, const char *key)
{
	int n = *parent ? snprintf(out, size, "%s.%s", parent, key) : snprintf(out, size, "%s", key);
	if (n < 0)
		out[0] = '\0';
}

/* The text of a non-null, non-empty scalar without NUL bytes; else reports and returns NULL. */
const char *cfg_scalar(struct cfg_ctx *ctx, const struct ynode *n, const char *path, const char *what)
{
	if (n->kind != YNODE_SCALAR || cfg_is_null(n)) {
		cfg_err(ctx, n, path, "expected %s, got %s", what, cfg_kind(n));
		return NULL;
	}
	const char *s = n->value;
	if (strlen(s) != n->len) {
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
const struct ynode *cfg_map_get(const struct ynode *n, const char *key)
{
	if (n->kind != YNODE_MAP)
		return NULL;
	for (size_t i = 0; i < n->n; i++) {
		const struct ynode *k = n->items[2 * i];
		if (k->kind == YNODE_SCALAR && strcmp(k->value, key) == 0)
			return n->items[2 * i + 1];
	}
	return NULL;
}

char *cfg_strdup(struct cfg_ctx *ctx, const char *s)
{
	char *d = strdup(s);
	if (!d)
		ctx->oom = 1;
	return d;
}

/* ---- mappings ---- */

/* Index of key node k in keys[], or -1 after reporting it. */
static int cfg_key_find(struct cfg_ctx *ctx, const struct ynode *k, const char *path,
			const struct cfg_key *keys, size_t nkeys)
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
static int cfg_key_admit(struct cfg_ctx *ctx, const struct ynode *k, const char *path,
			 const struct cfg_key *keys, size_t nkeys, const struct ynode **seen, size_t i)
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
static int cfg_group_missing(const struct cfg_key *keys, size_t nkeys, const struct ynode **seen, size_t i)
{
	for (size_t j = 0; j < nkeys; j++)
		if (keys[j].group == keys[i].group && (seen[j] || j < i))
			return 0;
	return 1;
}

/* Reports required keys (or required groups) that the mapping n lacks. */
static void cfg_key_required(struct cfg_ctx *ctx, const struct ynode *n, const char *path,
			     const struct cfg_key *keys, size_t nkeys, const struct ynode **seen)
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
int cfg_map(struct cfg_ctx *ctx, const struct ynode *n, const char *path, const struct cfg_key *keys,
	    size_t nkeys, void *obj)
{
	const struct ynode *seen[CFG_MAX_KEYS] = {0};
	if (n->kind != YNODE_MAP) {
		cfg_err(ctx, n, path, "expected a mapping%s, got %s", *path ? "" : " at the top level",
			cfg_kind(n));
		return -1;
	}
	for (size_t j = 0; j < n->n; j++) {
		const struct ynode *k = n->items[2 * j];
		int i = cfg_key_find(ctx, k, path, keys, nkeys);
		if (i < 0 || !cfg_key_admit(ctx, k, path, keys, nkeys, seen, (size_t)i))
			continue;
		seen[i] = k;
		char sub[CFG_PATH];
		cfg_path(sub, sizeof(sub), path, keys[i].name);
		keys[i].set(ctx, n->items[2 * j + 1], sub, (char *)obj + keys[i].off);
	}
	cfg_key_required(ctx, n, path, keys, nkeys, seen);
	return 0;
}

/* ---- scalar setters ---- */

void cfg_set_str(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	const char *s = cfg_scalar(ctx, v, path, "a string");
	if (!s)
		return;
	char **p = dst;
	free(*p);
	*p = cfg_strdup(ctx, s);
}

int cfg_has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* A base URL: http(s)://host..., no spaces; trailing slashes dropped. */
void cfg_set_url(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
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
void cfg_set_abspath(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	const char *s = cfg_scalar(ctx, v, path, "a path");
	if (s && (*s != '/' || cfg_has_ctl(s))) {
		char q[80];
		cfg_err(ctx, v, path, "%s is not an absolute path", cfg_quote(s, q, sizeof(q)));
		return;
	}
	if (s)
		cfg_set_str(ctx, v, path, dst);
}

/* dump_dir: relative to the mount, and staying inside it. */
void cfg_set_relpath(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
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
	cfg_set_str(ctx, v, path, dst);
}

/* An IANA zone name such as Europe/Berlin (not checked against tzdata, which may be absent). */
void cfg_set_timezone(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
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
	cfg_set_str(ctx, v, path, dst);
}

/* A PVE API token id: user@realm!tokenname. */
void cfg_set_token_id(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
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
	cfg_set_str(ctx, v, path, dst);
}

void cfg_set_bool(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
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
void cfg_set_duration(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
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
void cfg_set_duration_pos(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	double d = -1;
	cfg_set_duration(ctx, v, path, &d);
	if (d == 0)
		cfg_err(ctx, v, path, "duration must be greater than 0");
	else if (d > 0)
		*(double *)dst = d;
}

/* A PVE guest id, 100..999999999; "100" quoted is accepted too. */
void cfg_set_vmid(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
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

void cfg_set_severity(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
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
	cfg_set_str(ctx, v, path, dst);
}

/* SHA-256 fingerprint: 32 colon-separated hex bytes. */
void cfg_set_fingerprint(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
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
	cfg_set_str(ctx, v, path, dst);
}

/* ---- lists of named mappings ---- */

/* Reports elems[i] when an earlier element has the same name. */
static void cfg_check_dup_name(struct cfg_ctx *ctx, const struct ynode *map, const char *path,
			       const struct cfg_list *l, char *elems, size_t i)
{
	const char *name = *(char **)(elems + i * l->size);
	for (size_t j = 0; name && j < i; j++) {
		const char *other = *(char **)(elems + j * l->size);
		if (other && strcmp(other, name) == 0) {
			char sub[CFG_PATH], q[80];
			cfg_path(sub, sizeof(sub), path, "name");
			cfg_err(ctx, cfg_map_get(map, "name"), sub,
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
void *cfg_list(struct cfg_ctx *ctx, const struct ynode *n, const struct cfg_list *l, size_t *count)
{
	*count = 0;
	if (cfg_is_null(n))
		return NULL;
	if (n->kind != YNODE_SEQ) {
		cfg_err(ctx, n, l->section, "expected a sequence, got %s", cfg_kind(n));
		return NULL;
	}
	size_t len = n->n;
	char *arr = len ? calloc(len, l->size) : NULL;
	if (len && !arr) {
		ctx->oom = 1;
		return NULL;
	}
	*count = len;
	for (size_t i = 0; i < len; i++) {
		const struct ynode *item = n->items[i];
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

/* ---- loading ---- */

void cfg_ctx_close(struct cfg_ctx *ctx)
{
	ytree_free(ctx->tree); /* wipes the scalars: they may hold inline secrets */
	if (ctx->text)
		secret_wipe(ctx->text, ctx->textlen);
	free(ctx->text);
	free(ctx->dir);
	for (size_t i = 0; i < ctx->nerrs; i++)
		free(ctx->errs[i].msg);
	free(ctx->errs);
}

/* Reads the file; a file that cannot be read is PE_IO with a "file: reason" line. */
enum perr cfg_read(struct cfg_ctx *ctx, struct buf *errors)
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

/* Parses the one YAML document; the root is NULL (and reported) when empty or broken. */
const struct ynode *cfg_parse(struct cfg_ctx *ctx, int empty_ok)
{
	size_t line, col;
	const char *problem;

	if (ytree_parse(ctx->text, ctx->textlen, &ctx->tree) != PE_OK) {
		ctx->oom = 1;
		return NULL;
	}
	if ((problem = ytree_error(ctx->tree, &line, &col)) != NULL)
		cfg_err_at(ctx, line, col, "", "%s", problem);
	if (!ytree_root(ctx->tree) && !problem && !empty_ok)
		cfg_err_at(ctx, 0, 0, "", "the configuration file is empty");
	return ytree_root(ctx->tree);
}

/* ---- durations ---- */

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
