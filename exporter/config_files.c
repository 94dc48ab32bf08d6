/* config_files.c - the files a config names: paths resolved against it, secrets read, checked and wiped. */
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
int cfg_slurp(const char *file, char *out, size_t size, size_t *len, mode_t *mode, char *why, size_t wsize)
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
static int cfg_store_secret(struct cfg_ctx *ctx, const struct ynode *v, const char *path, char *s, size_t len,
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
void cfg_set_secret_file(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
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

/*
 * A secret file read only by the command that needs it (the drill and action tokens: the daemon never
 * holds them, and may not be allowed to read them): the path is resolved here, the file read by
 * config_read_secret().
 */
void cfg_set_secret_path(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	const char *name = cfg_scalar(ctx, v, path, "a file name");
	char *file = name ? cfg_resolve(ctx, name) : NULL;
	if (!file)
		return;
	if (cfg_has_ctl(file)) {
		char q[80];
		cfg_err(ctx, v, path, "%s is not a file name", cfg_quote(name, q, sizeof(q)));
		free(file);
		return;
	}
	char **p = dst;
	free(*p);
	*p = file;
}

enum perr config_read_secret(const char *file, char **secret, char *why, size_t n)
{
	char buf[CFG_MAX_SECRET + 2], reason[128];
	size_t len;
	mode_t mode = 0;
	enum perr rc = PE_OK;

	*secret = NULL;
	if (cfg_slurp(file, buf, sizeof(buf), &len, &mode, reason, sizeof(reason)) < 0) {
		snprintf(why, n, "cannot read secret file %s: %s", file, reason);
		rc = PE_IO;
		goto out;
	}
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	if (len == 0 || strlen(buf) != len || cfg_has_ctl(buf)) {
		snprintf(why, n, "secret file %s %s", file,
			 len == 0 ? "is empty" : "contains a line break, NUL or control character");
		rc = PE_CONFIG;
		goto out;
	}
	if (!(*secret = strdup(buf))) {
		snprintf(why, n, "out of memory");
		rc = PE_NOMEM;
		goto out;
	}
	log_add_secret(*secret);
	if (mode & S_IROTH)
		log_warn("secret file is readable by other users; chmod o-r", "file", file);
out:
	secret_wipe(buf, sizeof(buf));
	return rc;
}

/* token_secret / api_key inline: accepted, with a warning. */
void cfg_set_secret_inline(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
{
	if (v->kind != YNODE_SCALAR || cfg_is_null(v)) {
		cfg_err(ctx, v, path, "expected a string, got %s", cfg_kind(v));
		return;
	}
	size_t len = v->len;
	char *s = malloc(len + 1);
	if (!s) {
		ctx->oom = 1;
		return;
	}
	memcpy(s, v->value, len + 1);
	if (cfg_store_secret(ctx, v, path, s, len, "inline secret", dst) == 0) {
		char at[64];
		snprintf(at, sizeof(at), "%zu:%zu", v->line + 1, v->col + 1);
		log_warn("inline secret in the configuration; prefer a *_file key", "file", ctx->file, "at",
			 at, "key", path);
	}
	secret_free(s);
}

/* A file read at load time (CA bundle, certificate): must be a readable regular file. */
void cfg_set_readable_file(struct cfg_ctx *ctx, const struct ynode *v, const char *path, void *dst)
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
