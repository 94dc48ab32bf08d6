/* ytree.h - the only libyaml user: one YAML document as a tree of nodes that know where they were written. */
#ifndef PE_YTREE_H
#define PE_YTREE_H

#include <stddef.h>
#include "err.h"

enum ynode_kind { YNODE_SCALAR = 0, YNODE_MAP, YNODE_SEQ };

/*
 * A node of the document. Aliases are resolved: a node may be reached
 * from several parents (so walking the tree is bounded by the file, not
 * by how often aliases repeat). Everything belongs to the struct ytree.
 */
struct ynode {
	enum ynode_kind kind;
	int plain; /* a scalar written without quotes or block style (only those can mean null) */
	const char *value; /* scalar: its bytes, NUL-terminated; may hold NUL bytes before len */
	size_t len;
	size_t line, col; /* where it starts, 0-based */
	struct ynode **items; /* sequence: its n items; mapping: keys and values, items[2i] and items[2i+1] */
	size_t n; /* sequence items, or mapping pairs */
};

struct ytree;

/*
 * Parses text (not NUL-terminated) as one YAML document. PE_NOMEM, or
 * PE_OK with *out, whose root is NULL when the text is empty or broken.
 * A syntax error, or a second document after the first, is reported by
 * ytree_error(); the first document is kept either way.
 */
enum perr ytree_parse(const char *text, size_t len, struct ytree **out) PE_WUR;
const struct ynode *ytree_root(const struct ytree *t);
/* The parse problem ("YAML syntax error: ...", "only one YAML document is allowed") and its position, or NULL. */
const char *ytree_error(const struct ytree *t, size_t *line, size_t *col);
/* Wipes every scalar (they may hold inline secrets), then frees; takes NULL. */
void ytree_free(struct ytree *t);

#endif
