/* ytree.c - the only libyaml user: one YAML document as a tree of nodes that know where they were written. */
#include "ytree.h"
#include "secret.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct ytree {
	yaml_document_t doc;
	int have_doc;
	struct ynode *nodes; /* one per libyaml node, same order (ids are 1-based) */
	size_t nnodes;
	const struct ynode *root;
	char error[256]; /* "" when none */
	size_t eline, ecol;
};

static void ytree_set_error(struct ytree *t, size_t line, size_t col, const char *msg)
{
	if (t->error[0])
		return;
	snprintf(t->error, sizeof(t->error), "%s", msg);
	t->eline = line;
	t->ecol = col;
}

/* Records a libyaml failure at its position; 0 when it was running out of memory. */
static int ytree_parser_error(struct ytree *t, const yaml_parser_t *p)
{
	char msg[256];

	if (p->error == YAML_MEMORY_ERROR)
		return 0;
	if (p->context)
		snprintf(msg, sizeof(msg), "YAML syntax error: %s (%s)", p->problem ? p->problem : "unknown",
			 p->context);
	else
		snprintf(msg, sizeof(msg), "YAML syntax error: %s", p->problem ? p->problem : "unknown");
	ytree_set_error(t, p->problem_mark.line, p->problem_mark.column, msg);
	return 1;
}

static struct ynode *ytree_node(struct ytree *t, int id)
{
	return id >= 1 && (size_t)id <= t->nnodes ? &t->nodes[id - 1] : NULL;
}

/* Fills y from libyaml's node n; child pointers are resolved against the node array. */
static int ytree_convert(struct ytree *t, const yaml_node_t *n, struct ynode *y)
{
	y->line = n->start_mark.line;
	y->col = n->start_mark.column;
	if (n->type == YAML_SCALAR_NODE) {
		y->kind = YNODE_SCALAR;
		y->plain = n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		y->value = (const char *)n->data.scalar.value;
		y->len = n->data.scalar.length;
		return 1;
	}
	if (n->type == YAML_SEQUENCE_NODE) {
		y->kind = YNODE_SEQ;
		y->n = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
		y->items = calloc(y->n ? y->n : 1, sizeof(*y->items));
		for (size_t i = 0; y->items && i < y->n; i++)
			y->items[i] = ytree_node(t, n->data.sequence.items.start[i]);
		return y->items != NULL;
	}
	y->kind = YNODE_MAP;
	y->n = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	y->items = calloc(y->n ? 2 * y->n : 1, sizeof(*y->items));
	for (size_t i = 0; y->items && i < y->n; i++) {
		y->items[2 * i] = ytree_node(t, n->data.mapping.pairs.start[i].key);
		y->items[2 * i + 1] = ytree_node(t, n->data.mapping.pairs.start[i].value);
	}
	return y->items != NULL;
}

static enum perr ytree_build(struct ytree *t)
{
	t->nnodes = (size_t)(t->doc.nodes.top - t->doc.nodes.start);
	t->nodes = calloc(t->nnodes ? t->nnodes : 1, sizeof(*t->nodes));
	if (!t->nodes)
		return PE_NOMEM;
	for (size_t i = 0; i < t->nnodes; i++)
		if (!ytree_convert(t, &t->doc.nodes.start[i], &t->nodes[i]))
			return PE_NOMEM;
	t->root = yaml_document_get_root_node(&t->doc) ? &t->nodes[0] : NULL;
	return PE_OK;
}

/* A second document after the first is an error at its start. */
static int ytree_check_extra(struct ytree *t, yaml_parser_t *p)
{
	yaml_document_t extra;

	if (!yaml_parser_load(p, &extra))
		return ytree_parser_error(t, p);
	yaml_node_t *r = yaml_document_get_root_node(&extra);
	if (r)
		ytree_set_error(t, r->start_mark.line, r->start_mark.column,
				"only one YAML document is allowed");
	yaml_document_delete(&extra);
	return 1;
}

enum perr ytree_parse(const char *text, size_t len, struct ytree **out)
{
	struct ytree *t = calloc(1, sizeof(*t));
	yaml_parser_t p;
	enum perr e = PE_NOMEM;

	*out = NULL;
	if (!t)
		return PE_NOMEM;
	if (!yaml_parser_initialize(&p)) {
		free(t);
		return PE_NOMEM;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	if (!yaml_parser_load(&p, &t->doc)) {
		if (ytree_parser_error(t, &p))
			e = PE_OK;
		goto out;
	}
	t->have_doc = 1;
	if ((e = ytree_build(t)) == PE_OK && t->root && !ytree_check_extra(t, &p))
		e = PE_NOMEM;
out:
	yaml_parser_delete(&p);
	if (e != PE_OK) {
		ytree_free(t);
		return e;
	}
	*out = t;
	return PE_OK;
}

const struct ynode *ytree_root(const struct ytree *t)
{
	return t->root;
}

const char *ytree_error(const struct ytree *t, size_t *line, size_t *col)
{
	*line = t->eline;
	*col = t->ecol;
	return t->error[0] ? t->error : NULL;
}

void ytree_free(struct ytree *t)
{
	if (!t)
		return;
	if (t->have_doc) {
		for (yaml_node_t *n = t->doc.nodes.start; n < t->doc.nodes.top; n++)
			if (n->type == YAML_SCALAR_NODE)
				secret_wipe(n->data.scalar.value, n->data.scalar.length);
		yaml_document_delete(&t->doc);
	}
	for (size_t i = 0; i < t->nnodes; i++)
		free(t->nodes[i].items);
	free(t->nodes);
	free(t);
}
