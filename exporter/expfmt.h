/* expfmt.h - the Prometheus text exposition format (0.0.4): the only module that knows it. */
#ifndef PE_EXPFMT_H
#define PE_EXPFMT_H

#include <stddef.h>
#include "buf.h"
#include "err.h"

enum expfmt_type { EXPFMT_GAUGE = 0, EXPFMT_COUNTER, EXPFMT_UNTYPED };

/* A metric family's fixed description; collectors keep these static const. */
struct expfmt_desc {
	const char *name;
	enum expfmt_type type;
	const char *help;
};

/*
 * A set of metric families under construction. Samples may be added in
 * any order; expfmt_write() emits each family once (HELP, TYPE, samples)
 * with families sorted by name and samples in insertion order. Errors
 * (bad names, size cap, allocation) stick and are reported by
 * expfmt_err(); a family with an invalid name is dropped, never emitted.
 * Not thread-safe: one expfmt per writer.
 */
struct expfmt;

struct expfmt *expfmt_new(size_t max_bytes); /* max_bytes 0 = unlimited */
void expfmt_free(struct expfmt *e);

/* Adds one sample; labels are name/value string pairs ended by NULL. */
void expfmt_add(struct expfmt *e, const struct expfmt_desc *d, double value, ...) __attribute__((sentinel));
/* Same with an array of 2*npairs strings (name, value, name, value...). */
void expfmt_addv(struct expfmt *e, const struct expfmt_desc *d, double value, const char *const *labels,
		 size_t npairs);

enum perr expfmt_err(const struct expfmt *e);
size_t expfmt_samples(const struct expfmt *e);

/* Moves every sample of src into dst; src is left empty. */
enum perr expfmt_merge(struct expfmt *dst, struct expfmt *src) PE_WUR;

/* Appends the whole exposition to out. */
enum perr expfmt_write(const struct expfmt *e, struct buf *out) PE_WUR;
/* The same, freeing each family's samples once appended (the peak holds the output, not both): e ends empty. */
enum perr expfmt_write_release(struct expfmt *e, struct buf *out) PE_WUR;

/* Helpers, exposed for tests and the fuzzer. */
int expfmt_valid_metric_name(const char *s);
int expfmt_valid_label_name(const char *s);
/* Label value escaping (\\, \", \n); invalid UTF-8 bytes become U+FFFD. */
void expfmt_escape_label_value(struct buf *out, const char *s);
/* HELP escaping (\\ and \n). */
void expfmt_escape_help(struct buf *out, const char *s);
/* Shortest round-trip decimal, or NaN, +Inf, -Inf. */
void expfmt_format_value(char *out, size_t n, double v);

#endif
