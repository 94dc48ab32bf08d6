/* n8n_snapshot.h - counts the workflows in an n8n export file with a streaming, bounded-memory tokenizer. */
#ifndef PE_N8N_SNAPSHOT_H
#define PE_N8N_SNAPSHOT_H

#include <stddef.h>
#include "err.h"

/* Deepest nesting the counter follows; deeper input is rejected. */
#define N8N_SNAP_MAX_DEPTH 512

/*
 * Counts the top-level elements of `n8n export:workflow --all` output: a
 * JSON array of workflow objects (compact or pretty), optionally after a
 * UTF-8 BOM. A single top-level object (an editor download, or one file
 * of a --separate export) counts as 1. Strings and escapes are followed,
 * so brackets or "id" keys inside nodes never count. Every top-level
 * array element must be an object.
 *
 * Feed the bytes in chunks of any size, then call finish. The state is
 * this fixed-size struct: memory does not grow with the input. The first
 * error sticks; msg describes it (with the byte offset).
 */
struct n8n_snap {
	int state; /* private: see n8n_snapshot.c */
	int top; /* '[' or '{' once seen, else 0 */
	int in_string, escape;
	int expect; /* at depth 1 of an array: what may come next */
	size_t depth;
	size_t count;
	unsigned long long offset; /* bytes consumed */
	unsigned char stack[N8N_SNAP_MAX_DEPTH / 8]; /* bit per level: 1 = object, 0 = array */
	enum perr err;
	char msg[96];
};

void n8n_snap_init(struct n8n_snap *s);
/* Consumes n bytes; returns the sticky error (PE_PARSE) once the input is bad. */
enum perr n8n_snap_feed(struct n8n_snap *s, const char *p, size_t n) PE_WUR;
/* Ends the input: PE_OK and *count when a complete value was seen, PE_PARSE otherwise. */
enum perr n8n_snap_finish(struct n8n_snap *s, size_t *count) PE_WUR;

/*
 * Counts one export file, reading chunk bytes at a time (0: 64 KiB) into
 * one heap buffer. *is_object tells whether the top level was a single
 * object (may be NULL). PE_IO when it cannot be read, PE_PARSE when it is
 * not a complete export; msg says why. Never a count on failure.
 */
enum perr n8n_snapshot_count_file(const char *path, size_t chunk, size_t *count, int *is_object, char *msg,
				  size_t msglen) PE_WUR;

/* What the snapshot location holds (see n8n_snapshot_scan). */
struct n8n_snapshot_info {
	size_t nsnapshots; /* candidates found */
	double newest_mtime; /* unix time of the newest; valid when nsnapshots > 0 */
	char newest[512]; /* its path, for logs */
	int counted; /* 1: workflows is the newest snapshot's count */
	size_t workflows;
	char msg[320]; /* why the newest (see newest) was not counted, or the location is unusable */
};

/*
 * Finds the snapshots under spec and counts the newest. spec is a folder
 * (candidates: its non-hidden *.json files and its non-hidden
 * sub-folders) or a glob (candidates: matching files and folders). The
 * newest is the one with the latest mtime; a folder's mtime is the latest
 * of its own and of its *.json files (a reused --backup folder is
 * rewritten in place). A file snapshot is counted with the streaming
 * counter; a folder snapshot counts its non-hidden *.json files, each of
 * which must hold exactly one workflow object, or the whole snapshot is
 * uncounted. PE_IO only when spec cannot be listed at all.
 */
enum perr n8n_snapshot_scan(const char *spec, struct n8n_snapshot_info *out) PE_WUR;

#endif
