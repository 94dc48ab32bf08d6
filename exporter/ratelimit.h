/* ratelimit.h - remembers condition keys so that a repeating warning is logged once in a while, not every scrape. */
#ifndef PE_RATELIMIT_H
#define PE_RATELIMIT_H

#include <stddef.h>

#define RATELIMIT_MAX_KEYS 1024 /* distinct conditions the exporter remembers */
#define RATELIMIT_WARN_EVERY 3600.0 /* seconds: a lasting condition is warned about once an hour */

/* Thread-safe; lives as long as the process (or the scrape state) does. */
struct ratelimit;

struct ratelimit *ratelimit_new(size_t max_keys); /* NULL when out of memory */
void ratelimit_free(struct ratelimit *r); /* takes NULL */
/*
 * 1 when key was never seen or last came due `every` seconds ago or more
 * (it is then due again from now); else 0. every may be INFINITY (once per
 * life). Past max_keys distinct keys (or out of memory) it returns 0, so a
 * flood of distinct keys cannot flood the log.
 */
int ratelimit_due(struct ratelimit *r, const char *key, double every);

#endif
