/* fuzz_pbs.c - fuzzes every PBS parser (bytes -> facts) and the samples made from what they accept. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "expfmt.h"
#include "pbs.h"
#include "replay.h"

#define NOW 1771924800.0

/* A rejected answer must leave the store as it was. */
static void check_store_kept(const struct pbs_store *s, size_t ngroups, size_t nns, int up, int gc_known)
{
	if (s->ngroups != ngroups || s->nns != nns || s->up != up || s->gc.known != gc_known)
		__builtin_trap();
}

/* Every number a parser kept is finite and not negative: no sample may carry NaN or a negative size. */
static void check_numbers(const struct pbs_facts *f)
{
	for (size_t i = 0; i < f->nstores; i++) {
		const struct pbs_store *s = &f->stores[i];
		if (!isfinite(s->total) || s->total < 0 || !isfinite(s->estimated_full) ||
		    s->estimated_full < 0)
			__builtin_trap();
		if (s->estimated_full != 0 && s->estimated_full <= NOW)
			__builtin_trap(); /* only estimates after now are kept */
		for (size_t k = 0; k < s->ngroups; k++) {
			const struct pbs_group *g = &s->groups[k];
			if (g->snapshots < 0 || g->verify_failed < 0 || !isfinite(g->last_backup) ||
			    g->last_size < 0 || (g->snapshots == 0 && g->last_backup != 0))
				__builtin_trap();
		}
	}
	for (size_t i = 0; i < f->njobs; i++)
		if (!f->jobs[i].id || !f->jobs[i].store || f->jobs[i].last_end < 0)
			__builtin_trap();
}

static void parse_all(struct pbs_facts *f, const char *d, size_t n)
{
	struct pbs_store *s = pbs_store_find(f, "fz");
	char msg[256], **ns = NULL;
	size_t nns = 0;
	enum perr e;

	e = pbs_parse_version(f, d, n, msg, sizeof(msg));
	e = pbs_parse_datastores(f, d, n, msg, sizeof(msg));
	(void)e;
	s = pbs_store_find(f, "fz"); /* the array may have moved */
	e = pbs_parse_status(s, d, n, msg, sizeof(msg));
	if (e == PE_PARSE)
		check_store_kept(s, 0, 0, 0, 0);
	e = pbs_parse_usage(f, d, n, NOW, msg, sizeof(msg));
	e = pbs_parse_gc(s, d, n, msg, sizeof(msg));
	if (e == PE_PARSE && s->gc.known)
		__builtin_trap();
	if (pbs_parse_namespaces(d, n, &ns, &nns, msg, sizeof(msg)) == PE_OK) {
		for (size_t i = 1; i < nns; i++)
			if (strcmp(ns[i - 1], ns[i]) >= 0)
				__builtin_trap(); /* sorted, unique */
	} else if (ns || nns) {
		__builtin_trap();
	}
	pbs_strv_free(ns, nns);
	e = pbs_parse_snapshots(s, "", d, n, msg, sizeof(msg));
	if (e == PE_PARSE)
		check_store_kept(s, 0, 0, s->up, s->gc.known);
	for (int t = 0; t < PBS_JOB__COUNT; t++) {
		size_t before = f->njobs;
		if (pbs_parse_jobs(f, (enum pbs_job_type)t, d, n, msg, sizeof(msg)) == PE_PARSE &&
		    f->njobs != before)
			__builtin_trap();
	}
	e = pbs_parse_tasks(f, d, n, msg, sizeof(msg));
	(void)e;
}

/* The listing fed in pieces (1-17 bytes, from the first byte) must fold exactly as fed whole. */
static void check_pieces(const char *d, size_t n)
{
	struct pbs_facts *f = pbs_facts_new();
	struct pbs_store *whole, *pieces;
	struct pbs_listing *l = pbs_listing_new();
	char msg[256], msg2[256];
	size_t step = n ? (size_t)((unsigned char)d[0] % 17) + 1 : 1;
	enum perr a, b;

	if (!f || !l || !pbs_store_add(f, "a") || !pbs_store_add(f, "b")) {
		pbs_listing_free(l);
		pbs_facts_free(f);
		return;
	}
	whole = pbs_store_find(f, "a");
	a = pbs_parse_snapshots(whole, "", d, n, msg, sizeof(msg));
	for (size_t off = 0; off < n; off += step)
		pbs_listing_feed(l, d + off, n - off < step ? n - off : step);
	pieces = pbs_store_find(f, "b");
	b = pbs_listing_end(l, n, msg2, sizeof(msg2));
	if (b == PE_OK)
		b = pbs_store_add_listing(pieces, "", l, msg2, sizeof(msg2));
	if (a != b || (a == PE_PARSE && strcmp(msg, msg2) != 0))
		__builtin_trap();
	if (a == PE_OK) {
		if (whole->ngroups != pieces->ngroups || whole->skipped != pieces->skipped)
			__builtin_trap();
		for (size_t i = 0; i < whole->ngroups; i++) {
			const struct pbs_group *x = &whole->groups[i], *y = &pieces->groups[i];
			if (strcmp(x->id, y->id) != 0 || strcmp(x->type, y->type) != 0 ||
			    x->snapshots != y->snapshots || x->last_backup != y->last_backup ||
			    x->last_verified != y->last_verified || x->verify_failed != y->verify_failed ||
			    x->last_state != y->last_state)
				__builtin_trap();
		}
	}
	pbs_listing_free(l);
	pbs_facts_free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pbs_facts *f = pbs_facts_new();
	struct expfmt *e;
	struct buf out;

	if (!f || !pbs_store_add(f, "fz")) {
		pbs_facts_free(f);
		return 0;
	}
	parse_all(f, (const char *)data, size);
	check_pieces((const char *)data, size);
	pbs_facts_sort(f);
	check_numbers(f);
	e = expfmt_new(0);
	if (e) {
		(void)pbs_emit(f, "fuzz", 1000, e);
		buf_init(&out, 0);
		if (expfmt_err(e) == PE_OK && expfmt_write(e, &out) != PE_OK)
			__builtin_trap();
		buf_free(&out);
		expfmt_free(e);
	}
	pbs_facts_free(f);
	return 0;
}
