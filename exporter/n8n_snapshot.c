/* n8n_snapshot.c - streaming count of the workflows in an n8n export file (bounded memory). */
#include "n8n_snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { ST_BOM0 = 0, ST_BOM1, ST_BOM2, ST_PRE, ST_IN, ST_POST, ST_ERR };

/* At depth 1 of the top-level array: what the next significant byte may be. */
enum { EXP_FIRST = 0, EXP_ELEM, EXP_COMMA };

#define SNAP_DEFAULT_CHUNK (64 * 1024)

void n8n_snap_init(struct n8n_snap *s)
{
	memset(s, 0, sizeof(*s));
	s->state = ST_BOM0;
}

static enum perr snap_fail(struct n8n_snap *s, const char *why)
{
	s->state = ST_ERR;
	s->err = PE_PARSE;
	snprintf(s->msg, sizeof(s->msg), "%s at byte %llu", why, s->offset);
	return s->err;
}

static int is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Bytes allowed outside strings inside a value: numbers, true/false/null, separators. */
static int is_scalar_byte(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c != 0 && strchr("-+.eEaflnrstu:,", c) != NULL);
}

static void stack_set(struct n8n_snap *s, size_t level, int is_object)
{
	unsigned char bit = (unsigned char)(1u << (level % 8));
	if (is_object)
		s->stack[level / 8] |= bit;
	else
		s->stack[level / 8] &= (unsigned char)~bit;
}

static int stack_is_object(const struct n8n_snap *s, size_t level)
{
	return (s->stack[level / 8] >> (level % 8)) & 1;
}

static enum perr snap_open(struct n8n_snap *s, int is_object)
{
	if (s->depth >= N8N_SNAP_MAX_DEPTH)
		return snap_fail(s, "nesting too deep");
	stack_set(s, s->depth, is_object);
	s->depth++;
	return PE_OK;
}

static enum perr snap_close(struct n8n_snap *s, unsigned char c)
{
	if (s->depth == 0 || stack_is_object(s, s->depth - 1) != (c == '}'))
		return snap_fail(s, "mismatched bracket");
	s->depth--;
	if (s->depth == 0) {
		if (s->top == '{')
			s->count = 1;
		s->state = ST_POST;
	}
	return PE_OK;
}

/* One byte at depth 1 of a top-level array: only objects, ',' and ']' may appear. */
static enum perr snap_array_level(struct n8n_snap *s, unsigned char c)
{
	if (c == '{' && s->expect != EXP_COMMA) {
		s->count++;
		s->expect = EXP_COMMA;
		return snap_open(s, 1);
	}
	if (c == ']' && s->expect != EXP_ELEM)
		return snap_close(s, c);
	if (c == ',' && s->expect == EXP_COMMA) {
		s->expect = EXP_ELEM;
		return PE_OK;
	}
	if (s->expect == EXP_COMMA)
		return snap_fail(s, "expected ',' or ']' between workflows");
	return snap_fail(s, "array element is not a workflow object");
}

static enum perr snap_string_byte(struct n8n_snap *s, unsigned char c)
{
	if (s->escape)
		s->escape = 0;
	else if (c == '\\')
		s->escape = 1;
	else if (c == '"')
		s->in_string = 0;
	else if (c < 0x20)
		return snap_fail(s, "control character in a string");
	return PE_OK;
}

/* One byte inside the top-level value. */
static enum perr snap_in(struct n8n_snap *s, unsigned char c)
{
	if (s->in_string)
		return snap_string_byte(s, c);
	if (is_ws(c))
		return PE_OK;
	if (s->depth == 1 && s->top == '[')
		return snap_array_level(s, c);
	if (c == '"') {
		s->in_string = 1;
		return PE_OK;
	}
	if (c == '{' || c == '[')
		return snap_open(s, c == '{');
	if (c == '}' || c == ']')
		return snap_close(s, c);
	if (is_scalar_byte(c))
		return PE_OK;
	return snap_fail(s, "unexpected byte");
}

/* Before the top-level value: an optional BOM, whitespace, then '[' or '{'. */
static enum perr snap_pre(struct n8n_snap *s, unsigned char c)
{
	static const unsigned char bom[3] = {0xef, 0xbb, 0xbf};
	if (s->state <= ST_BOM2 && c == bom[s->state - ST_BOM0]) {
		s->state = s->state == ST_BOM2 ? ST_PRE : s->state + 1;
		return PE_OK;
	}
	if (s->state != ST_BOM0 && s->state != ST_PRE)
		return snap_fail(s, "broken UTF-8 byte order mark");
	s->state = ST_PRE;
	if (is_ws(c))
		return PE_OK;
	if (c != '[' && c != '{')
		return snap_fail(s, "not a JSON array or object");
	s->top = c;
	s->state = ST_IN;
	s->expect = EXP_FIRST;
	return snap_open(s, c == '{');
}

enum perr n8n_snap_feed(struct n8n_snap *s, const char *p, size_t n)
{
	for (size_t i = 0; i < n && s->state != ST_ERR; i++, s->offset++) {
		unsigned char c = (unsigned char)p[i];
		enum perr e = PE_OK;
		if (s->state == ST_IN)
			e = snap_in(s, c);
		else if (s->state == ST_POST)
			e = is_ws(c) ? PE_OK : snap_fail(s, "data after the end of the export");
		else
			e = snap_pre(s, c);
		if (e)
			break;
	}
	return s->err;
}

enum perr n8n_snap_finish(struct n8n_snap *s, size_t *count)
{
	if (s->state == ST_ERR)
		return s->err;
	if (s->state == ST_IN)
		return snap_fail(s, "truncated: the file ends inside the export");
	if (s->state != ST_POST)
		return snap_fail(s, "empty: no JSON value");
	*count = s->count;
	return PE_OK;
}

/* Feeds the whole file through s, chunk bytes at a time. */
static enum perr snap_read_fd(struct n8n_snap *s, int fd, char *chunk_buf, size_t chunk, char *msg,
			      size_t msglen)
{
	for (;;) {
		ssize_t r = read(fd, chunk_buf, chunk);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(msg, msglen, "read: %s", strerror(errno));
			return PE_IO;
		}
		if (r == 0)
			return PE_OK;
		if (n8n_snap_feed(s, chunk_buf, (size_t)r) != PE_OK) {
			snprintf(msg, msglen, "%s", s->msg);
			return s->err;
		}
	}
}

enum perr n8n_snapshot_count_file(const char *path, size_t chunk, size_t *count, int *is_object, char *msg,
				  size_t msglen)
{
	struct n8n_snap s;
	enum perr e = PE_OK;
	char *chunk_buf = NULL;
	int fd = -1;

	if (chunk == 0)
		chunk = SNAP_DEFAULT_CHUNK;
	n8n_snap_init(&s);
	chunk_buf = malloc(chunk);
	if (!chunk_buf) {
		snprintf(msg, msglen, "out of memory");
		e = PE_NOMEM;
		goto out;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(msg, msglen, "open: %s", strerror(errno));
		e = PE_IO;
		goto out;
	}
	e = snap_read_fd(&s, fd, chunk_buf, chunk, msg, msglen);
	if (e)
		goto out;
	e = n8n_snap_finish(&s, count);
	if (e) {
		snprintf(msg, msglen, "%s", s.msg);
		goto out;
	}
	if (is_object)
		*is_object = s.top == '{';
out:
	if (fd >= 0)
		close(fd);
	free(chunk_buf);
	return e;
}

static int has_json_suffix(const char *name)
{
	size_t n = strlen(name);
	return n > 5 && strcmp(name + n - 5, ".json") == 0;
}

static double stat_mtime(const struct stat *st)
{
	return (double)st->st_mtim.tv_sec + (double)st->st_mtim.tv_nsec / 1e9;
}

/* One file of a --separate/--backup folder: it must hold exactly one workflow object. */
static enum perr snap_dir_count_one(const char *path, const char *name, size_t *count, char *msg,
				    size_t msglen)
{
	char why[200];
	size_t n = 0;
	int obj = 0;
	enum perr e = n8n_snapshot_count_file(path, 0, &n, &obj, why, sizeof(why));
	if (e == PE_OK && !obj) {
		snprintf(why, sizeof(why), "an array, not one workflow object");
		e = PE_PARSE;
	}
	if (e) {
		snprintf(msg, msglen, "%s: %s", name, why);
		return e;
	}
	(*count)++;
	return PE_OK;
}

/*
 * Walks the non-hidden *.json regular files of dir. With count != NULL
 * each must hold one workflow object (*count gets how many); *mtime is
 * raised to the latest mtime of its files. PE_PARSE/PE_IO with msg set.
 */
static enum perr snap_dir_walk(const char *dir, double *mtime, size_t *count, char *msg, size_t msglen)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	enum perr e = PE_OK;
	char path[4096];
	if (!d) {
		snprintf(msg, msglen, "%s: %s", dir, strerror(errno));
		return PE_IO;
	}
	while (e == PE_OK && (de = readdir(d)) != NULL) {
		struct stat st;
		if (de->d_name[0] == '.' || !has_json_suffix(de->d_name))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= sizeof(path))
			continue;
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (stat_mtime(&st) > *mtime)
			*mtime = stat_mtime(&st);
		if (count)
			e = snap_dir_count_one(path, de->d_name, count, msg, msglen);
	}
	closedir(d);
	return e;
}

/* Considers one candidate path: a regular file or a folder; newer ones replace out->newest. */
static void snap_consider(const char *path, struct n8n_snapshot_info *out)
{
	struct stat st;
	char ignored[64];
	if (stat(path, &st) != 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
		return;
	double mtime = stat_mtime(&st);
	if (S_ISDIR(st.st_mode) && snap_dir_walk(path, &mtime, NULL, ignored, sizeof(ignored)) != PE_OK)
		return; /* unreadable folder: not a usable snapshot */
	out->nsnapshots++;
	if (out->nsnapshots == 1 || mtime > out->newest_mtime ||
	    (mtime == out->newest_mtime && strcmp(path, out->newest) > 0)) {
		out->newest_mtime = mtime;
		snprintf(out->newest, sizeof(out->newest), "%s", path);
	}
}

/* Candidates of a folder spec: non-hidden *.json files and non-hidden sub-folders. */
static enum perr snap_list_folder(const char *dir, struct n8n_snapshot_info *out)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[4096];
	if (!d) {
		snprintf(out->msg, sizeof(out->msg), "cannot list %s: %s", dir, strerror(errno));
		return PE_IO;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= sizeof(path))
			continue;
		if (stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode) || (S_ISREG(st.st_mode) && has_json_suffix(de->d_name)))
			snap_consider(path, out);
	}
	closedir(d);
	return PE_OK;
}

static enum perr snap_list_glob(const char *pattern, struct n8n_snapshot_info *out)
{
	glob_t g;
	int rc = glob(pattern, GLOB_NOSORT, NULL, &g);
	if (rc == GLOB_NOMATCH)
		return PE_OK;
	if (rc != 0) {
		snprintf(out->msg, sizeof(out->msg), "glob %s failed", pattern);
		return PE_IO;
	}
	for (size_t i = 0; i < g.gl_pathc; i++)
		snap_consider(g.gl_pathv[i], out);
	globfree(&g);
	return PE_OK;
}

/* Counts the chosen snapshot: an export file or a --separate folder. */
static void snap_count_newest(struct n8n_snapshot_info *out)
{
	struct stat st;
	char why[256] = "";
	size_t n = 0;
	double ignored = 0;
	enum perr e;
	if (stat(out->newest, &st) != 0) {
		snprintf(out->msg, sizeof(out->msg), "vanished: %s", strerror(errno));
		return;
	}
	if (S_ISDIR(st.st_mode))
		e = snap_dir_walk(out->newest, &ignored, &n, why, sizeof(why));
	else
		e = n8n_snapshot_count_file(out->newest, 0, &n, NULL, why, sizeof(why));
	if (e) {
		snprintf(out->msg, sizeof(out->msg), "%s", why);
		return;
	}
	out->counted = 1;
	out->workflows = n;
}

enum perr n8n_snapshot_scan(const char *spec, struct n8n_snapshot_info *out)
{
	struct stat st;
	enum perr e;
	memset(out, 0, sizeof(*out));
	if (stat(spec, &st) == 0 && S_ISDIR(st.st_mode))
		e = snap_list_folder(spec, out);
	else
		e = snap_list_glob(spec, out);
	if (e)
		return e;
	if (out->nsnapshots == 0) {
		snprintf(out->msg, sizeof(out->msg), "no snapshot matches %s", spec);
		return PE_OK;
	}
	snap_count_newest(out);
	return PE_OK;
}
