/* config_schema.h - how YAML becomes structs: keys with setters, lists, errors at file:line:col (config.c, web_config.c). */
#ifndef PE_CONFIG_SCHEMA_H
#define PE_CONFIG_SCHEMA_H

#include <stddef.h>
#include <sys/types.h>
#include "buf.h"
#include "config.h"
#include "err.h"
#include "ytree.h"

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
	struct ytree *tree; /* the parsed file */
	struct config *cfg; /* the config being built; NULL for a web config */
	const struct ynode *targets; /* parsed last, once every source is known */
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
	void (*set)(struct cfg_ctx *ctx, const struct ynode *val, const char *path, void *dst);
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
	void (*check)(struct cfg_ctx *ctx, const struct ynode *map, const char *path, void *elem);
};

/*
 * Errors: recorded with the node's position and the key path, reported
 * all at once in file order by cfg_finish() (PE_NOMEM, PE_CONFIG or PE_OK).
 */
void cfg_err(struct cfg_ctx *ctx, const struct ynode *n, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
enum perr cfg_finish(struct cfg_ctx *ctx, struct buf *errors);

/* Nodes. */
int cfg_is_null(const struct ynode *n); /* a plain empty, "~" or "null" scalar */
const char *cfg_kind(const struct ynode *n); /* "a mapping", "a list" or "a scalar", for messages */
const char *cfg_quote(const char *s, char *out, size_t size); /* s for a message: short, printable */
void cfg_path(char *out, size_t size, const char *parent, const char *key); /* "parent.key" */
/* The text of a non-null, non-empty scalar without NUL bytes; else reports and returns NULL. */
const char *cfg_scalar(struct cfg_ctx *ctx, const struct ynode *n, const char *path, const char *what);
const struct ynode *cfg_map_get(const struct ynode *n, const char *key); /* key's value, or NULL */
char *cfg_strdup(struct cfg_ctx *ctx, const char *s); /* NULL (and ctx->oom) when out of memory */
int cfg_has_ctl(const char *s); /* 1 when s holds a control character */

/*
 * Walks mapping n against keys[]: unknown, duplicate, conflicting and
 * missing keys are reported; each admitted value goes to its setter with
 * obj + the key's offset. Returns 0 when n was a mapping, -1 (reported)
 * otherwise.
 */
int cfg_map(struct cfg_ctx *ctx, const struct ynode *n, const char *path, const struct cfg_key *keys,
	    size_t nkeys, void *obj);
/*
 * Parses a sequence of mappings into a new array of l->size elements.
 * *count covers every element allocated, even when errors were found, so
 * the caller frees them. A null node is an empty list.
 */
void *cfg_list(struct cfg_ctx *ctx, const struct ynode *n, const struct cfg_list *l, size_t *count);

/* Setters for cfg_key tables: each checks its value, reports problems and stores into dst. */
void cfg_set_str(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst); /* char * */
void cfg_set_url(struct cfg_ctx *ctx, const struct ynode *v, const char *path,
		 void *dst); /* http(s), no creds */
void cfg_set_abspath(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst);
void cfg_set_relpath(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst); /* no .. */
void cfg_set_timezone(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst); /* IANA */
void cfg_set_token_id(struct cfg_ctx *ctx, const struct ynode *v, const char *path,
		      void *dst); /* user@realm!id */
void cfg_set_bool(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst); /* int */
void cfg_set_duration(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst); /* double s */
void cfg_set_duration_pos(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst); /* > 0 */
void cfg_set_vmid(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst); /* long */
void cfg_set_severity(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst);
void cfg_set_fingerprint(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst);
/* tls: {ca_file | fingerprint, insecure_skip_verify} into a struct config_tls (config.c). */
void cfg_set_tls(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst);
/* A secret from a file relative to the config's directory (trailing newline dropped), or inline (warned). */
void cfg_set_secret_file(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst);
void cfg_set_secret_inline(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst);
/* A secret file's resolved path only (char *): read later by config_read_secret(), never by the loader. */
void cfg_set_secret_path(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst);
void cfg_set_readable_file(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst);

/*
 * Reads a whole small file (config, secret) into out (size bytes, NUL
 * added), with its mode for the world-readable check: 0, or -1 with why
 * (config_files.c, like the secret setters above).
 */
int cfg_slurp(const char *file, char *out, size_t size, size_t *len, mode_t *mode, char *why, size_t wsize);

/* Loading: read ctx->file (PE_IO with a "file: reason" line), parse its one document, then close. */
enum perr cfg_read(struct cfg_ctx *ctx, struct buf *errors);
/* The document's root; NULL (and reported) when broken, or when empty unless empty_ok. */
const struct ynode *cfg_parse(struct cfg_ctx *ctx, int empty_ok);
void cfg_ctx_close(struct cfg_ctx *ctx); /* wipes the text and the tree: they may hold secrets */

#endif
