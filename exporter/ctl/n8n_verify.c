/* n8n_verify.c - every workflow of the newest n8n snapshot has nodes and connections; an observer on n8n_snap. */
#include "n8n_verify.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NV_CHUNK (64 * 1024)

void n8n_wfcheck_init(struct n8n_wfcheck *w)
{
	memset(w, 0, sizeof(*w));
	n8n_snap_init(&w->snap);
}

static void nv_begin(struct n8n_wfcheck *w)
{
	w->in_wf = 1;
	w->key_pos = 1;
	w->val_pos = w->capture = 0;
	w->key_len = w->name_len = 0;
	w->key[0] = w->name[0] = '\0';
	w->nodes = w->nodes_open = w->nodes_nonempty = w->connections = 0;
}

static void nv_end(struct n8n_wfcheck *w)
{
	const char *why = !w->nodes            ? "no nodes"
			  : !w->nodes_nonempty ? "no nodes (empty list)"
			  : !w->connections    ? "no connections"
					       : NULL;
	w->in_wf = 0;
	w->workflows++;
	if (why && w->bad++ == 0)
		snprintf(w->first_bad, sizeof(w->first_bad), "workflow %zu \"%s\": %s", w->workflows, w->name,
			 why);
}

/* A byte inside a string at the workflow's own level: part of a key or of the name. */
static void nv_capture(struct n8n_wfcheck *w, unsigned char c)
{
	if (w->capture == 1 && w->key_len + 1 < sizeof(w->key)) {
		w->key[w->key_len++] = (char)c;
		w->key[w->key_len] = '\0';
	} else if (w->capture == 1) {
		w->key[0] = '\0'; /* longer than any key we look for */
	} else if (w->capture == 2 && w->name_len + 1 < sizeof(w->name)) {
		w->name[w->name_len++] = (char)c;
		w->name[w->name_len] = '\0';
	}
}

/* A byte at the workflow object's own level (pre = the tokenizer's state before it). */
static void nv_wf_level(struct n8n_wfcheck *w, unsigned char c, int pre_str, int post_str, size_t post_depth)
{
	if (post_depth == w->wf_depth + 1) { /* a nested value opens */
		if (w->val_pos && strcmp(w->key, "nodes") == 0 && c == '[')
			w->nodes = w->nodes_open = 1;
		if (w->val_pos && strcmp(w->key, "connections") == 0 && c == '{')
			w->connections = 1;
		w->val_pos = 0;
		return;
	}
	if (!pre_str && post_str) { /* a string opens: a key, or a value */
		w->capture = w->key_pos ? 1 : w->val_pos && strcmp(w->key, "name") == 0 ? 2 : 0;
		if (w->capture == 1) {
			w->key_len = 0;
			w->key[0] = '\0';
		}
		w->val_pos = 0;
	} else if (pre_str && post_str) {
		nv_capture(w, c);
	} else if (pre_str && !post_str) {
		if (w->capture == 1)
			w->key_pos = 0;
		w->capture = 0;
	} else if (c == ',') {
		w->key_pos = 1;
	} else if (c == ':') {
		w->val_pos = 1;
	} else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
		w->val_pos = 0; /* a scalar value */
	}
}

static void nv_observe(struct n8n_wfcheck *w, unsigned char c, size_t pre_depth, int pre_str)
{
	size_t post_depth = w->snap.depth;
	int post_str = w->snap.in_string;

	if (!w->wf_depth && w->snap.top)
		w->wf_depth = w->snap.top == '[' ? 2 : 1;
	if (!w->wf_depth)
		return;
	if (pre_depth == w->wf_depth - 1 && post_depth == w->wf_depth) {
		nv_begin(w);
		return;
	}
	if (!w->in_wf)
		return;
	if (pre_depth == w->wf_depth && post_depth == w->wf_depth - 1) {
		nv_end(w);
		return;
	}
	if (pre_depth == w->wf_depth) {
		nv_wf_level(w, c, pre_str, post_str, post_depth);
		return;
	}
	if (w->nodes_open && pre_depth == w->wf_depth + 1) {
		if (post_depth == w->wf_depth)
			w->nodes_open = 0;
		else if (!pre_str && c != ' ' && c != '\t' && c != '\n' && c != '\r')
			w->nodes_nonempty = 1;
	}
}

enum perr n8n_wfcheck_feed(struct n8n_wfcheck *w, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t pre_depth = w->snap.depth;
		int pre_str = w->snap.in_string;
		if (n8n_snap_feed(&w->snap, p + i, 1) != PE_OK)
			return w->snap.err;
		nv_observe(w, (unsigned char)p[i], pre_depth, pre_str);
	}
	return PE_OK;
}

enum perr n8n_wfcheck_finish(struct n8n_wfcheck *w)
{
	size_t count = 0;
	enum perr e = n8n_snap_finish(&w->snap, &count);

	if (e == PE_OK && count != w->workflows) {
		snprintf(w->snap.msg, sizeof(w->snap.msg), "counted %zu workflows but checked %zu", count,
			 w->workflows);
		return PE_INTERNAL;
	}
	return e;
}

/* ---------------------------------------------------------------- files */

/* Checks one file; *is_object tells whether its top level was a single object. */
static enum perr nv_file(const char *path, struct n8n_wfcheck *w, char *buf, char *msg, size_t msglen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	enum perr e = PE_OK;

	n8n_wfcheck_init(w);
	if (fd < 0) {
		snprintf(msg, msglen, "%s: %s", path, strerror(errno));
		return PE_IO;
	}
	for (;;) {
		ssize_t r = read(fd, buf, NV_CHUNK);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(msg, msglen, "%s: read: %s", path, strerror(errno));
			e = PE_IO;
			break;
		}
		if (r == 0) {
			if ((e = n8n_wfcheck_finish(w)) != PE_OK)
				snprintf(msg, msglen, "%s: %s", path, w->snap.msg);
			break;
		}
		if ((e = n8n_wfcheck_feed(w, buf, (size_t)r)) != PE_OK) {
			snprintf(msg, msglen, "%s: %s", path, w->snap.msg);
			break;
		}
	}
	close(fd);
	return e;
}

static void nv_add(struct n8n_verify_result *r, const struct n8n_wfcheck *w, const char *file)
{
	if (w->bad && !r->bad)
		snprintf(r->first_bad, sizeof(r->first_bad), "%.40s: %.150s",
			 strrchr(file, '/') ? strrchr(file, '/') + 1 : file, w->first_bad);
	r->workflows += w->workflows;
	r->bad += w->bad;
}

/* A --separate/--backup folder: each non-hidden *.json file holds one workflow object. */
static enum perr nv_folder(const char *dir, struct n8n_verify_result *r, struct n8n_wfcheck *w, char *buf,
			   char *msg, size_t msglen)
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
		size_t len = strlen(de->d_name);
		struct stat st;
		if (de->d_name[0] == '.' || len <= 5 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= sizeof(path) ||
		    stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		e = nv_file(path, w, buf, msg, msglen);
		if (e == PE_OK && w->snap.top != '{') {
			snprintf(msg, msglen, "%s: an array, not one workflow object", path);
			e = PE_PARSE;
		}
		if (e == PE_OK)
			nv_add(r, w, de->d_name);
	}
	closedir(d);
	return e;
}

enum perr n8n_verify_snapshot(const char *spec, struct n8n_verify_result *r, char *msg, size_t msglen)
{
	struct n8n_snapshot_info *info = calloc(1, sizeof(*info));
	struct n8n_wfcheck *w = malloc(sizeof(*w));
	char *buf = malloc(NV_CHUNK);
	struct stat st;
	enum perr e;

	memset(r, 0, sizeof(*r));
	if (!info || !w || !buf) {
		snprintf(msg, msglen, "out of memory");
		e = PE_NOMEM;
	} else if ((e = n8n_snapshot_scan(spec, info)) != PE_OK) {
		snprintf(msg, msglen, "%s", info->msg);
	} else if (info->nsnapshots == 0) {
		snprintf(msg, msglen, "%s", info->msg);
		e = PE_NOTFOUND;
	} else if (stat(info->newest, &st) != 0) {
		snprintf(msg, msglen, "%s: %s", info->newest, strerror(errno));
		e = PE_IO;
	} else {
		snprintf(r->path, sizeof(r->path), "%s", info->newest);
		r->mtime = info->newest_mtime;
		e = S_ISDIR(st.st_mode) ? nv_folder(info->newest, r, w, buf, msg, msglen)
					: nv_file(info->newest, w, buf, msg, msglen);
		if (e == PE_OK && !S_ISDIR(st.st_mode))
			nv_add(r, w, info->newest);
	}
	free(info);
	free(w);
	free(buf);
	return e;
}
