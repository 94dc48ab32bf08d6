/* outcache.h - rendered /metrics output reused while young, made by one request at a time. */
#ifndef PE_OUTCACHE_H
#define PE_OUTCACHE_H

#include <stddef.h>
#include "buf.h"
#include "err.h"

struct scrape;

/*
 * Holds the newest rendered exposition per collect[] filter (a few
 * filters at most) and the scrape it came from (the status pages render
 * from it). An entry younger than the TTL is served as is; otherwise one
 * request makes a new one while concurrent requests for the same filter
 * wait for it and share it (single-flight). Thread-safe.
 */
struct outcache;
/* One rendered output; immutable except for its gzip form, which is made on first use. */
struct outcache_entry;

/*
 * Makes an entry: runs a scrape and appends its exposition to plain.
 * *s (may stay NULL) is then owned by the entry and freed with scrape_free().
 */
typedef enum perr (*outcache_make_fn)(void *ctx, const char *const *collect, size_t ncollect, double timeout,
				      struct scrape **s, struct buf *plain);

struct outcache *outcache_new(void);
void outcache_free(struct outcache *oc); /* takes NULL; entries still held stay valid */

/* Forgets every entry (config reload); a collection already running is not reused afterwards. */
void outcache_invalidate(struct outcache *oc);

/*
 * A fresh entry for the filter (order and duplicates do not matter; none
 * = all collectors). ttl <= 0 disables reuse and single-flight: every
 * call makes its own entry. When a request that others waited for fails,
 * they get its error. *out is released with outcache_release().
 */
enum perr outcache_get(struct outcache *oc, double ttl, const char *const *collect, size_t ncollect,
		       double timeout, outcache_make_fn make, void *ctx, struct outcache_entry **out) PE_WUR;
void outcache_release(struct outcache_entry *e); /* takes NULL */

/* The plain exposition; borrowed until release. */
const char *outcache_plain(const struct outcache_entry *e, size_t *len);
/* The same bytes gzipped (made once per entry); NULL when compression fails. */
const char *outcache_gzip(struct outcache_entry *e, size_t *len);
/* The scrape behind the entry, or NULL; borrowed until release; read-only. */
struct scrape *outcache_scrape(const struct outcache_entry *e);
/* How many entries were made so far (for tests). */
unsigned long outcache_made(struct outcache *oc);

#endif
