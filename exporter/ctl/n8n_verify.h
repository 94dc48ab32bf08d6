/* n8n_verify.h - checks an n8n snapshot restores: every workflow has nodes and connections (streaming). */
#ifndef PE_N8N_VERIFY_H
#define PE_N8N_VERIFY_H

#include <stddef.h>
#include "err.h"
#include "n8n_snapshot.h"

/*
 * The streaming check, built on the snapshot tokenizer (n8n_snap), which
 * still validates the JSON and counts workflows. Each workflow object (an
 * element of the top-level array, or the top-level object itself) must
 * have a non-empty "nodes" array and a "connections" object (empty is
 * fine: a single trigger has none). Pure: no I/O; fixed size.
 */
struct n8n_wfcheck {
	struct n8n_snap snap;
	size_t wf_depth; /* 2 for an array of workflows, 1 for one object; 0 until known */
	int in_wf, key_pos, val_pos, capture; /* capture: 1 a key, 2 the "name" value */
	char key[16];
	size_t key_len;
	char name[80];
	size_t name_len;
	int nodes, nodes_open, nodes_nonempty, connections;
	size_t workflows, bad;
	char first_bad[160]; /* "workflow 3 \"Invoices\": no connections" */
};

void n8n_wfcheck_init(struct n8n_wfcheck *w);
/* The tokenizer's sticky error (PE_PARSE, w->snap.msg) once the bytes are not an export. */
enum perr n8n_wfcheck_feed(struct n8n_wfcheck *w, const char *p, size_t n) PE_WUR;
/* PE_OK when the export was complete (w->workflows, w->bad set); PE_PARSE otherwise. */
enum perr n8n_wfcheck_finish(struct n8n_wfcheck *w) PE_WUR;

/* What a snapshot check found. */
struct n8n_verify_result {
	char path[512]; /* the snapshot checked: a file or a --separate folder */
	double mtime;
	size_t workflows; /* all of them */
	size_t bad; /* those without nodes or connections */
	char first_bad[200]; /* file: and why, for the first bad one */
};

/*
 * Finds the newest snapshot under spec (as the n8n collector does:
 * n8n_snapshot_scan) and checks it: a file with the streaming check, a
 * folder file by file (each one workflow object). PE_NOTFOUND when there
 * is no snapshot, PE_IO when unreadable, PE_PARSE when not a complete
 * export; msg says why. PE_OK with bad > 0 is a restorable file whose
 * workflows are not all usable: the caller decides.
 */
enum perr n8n_verify_snapshot(const char *spec, struct n8n_verify_result *r, char *msg, size_t msglen) PE_WUR;

#endif
