/* upcache.h - the upstream answer cache: single-flight background fetches, fresh or stale answers, packed idle bodies. */
#ifndef PE_UPCACHE_H
#define PE_UPCACHE_H

#include <stddef.h>
#include "err.h"
#include "fetch.h"

/*
 * Answers are keyed by a caller's string. Each key has at most one fetch
 * in flight, on a detached thread that owns copies of what it needs (its
 * copy of the auth header is wiped) and outlives any caller: a caller
 * only waits for it until its own deadline. Knows nothing about scrapes
 * or collectors. Thread-safe.
 */
struct upcache;

/*
 * How requests reach upstream; fetch_request_stream() by default. A
 * transport may ignore stream and return the whole body in r: the cache
 * then feeds it to the parser itself, so both paths parse alike.
 */
typedef enum perr (*upcache_transport_fn)(void *ctx, const struct fetch_target *t, const char *method,
					  const char *path, const char *body, double timeout,
					  const struct fetch_stream *stream, struct fetch_resp *r);

struct upcache *upcache_new(void); /* NULL when out of memory */
/* Drops the owner's reference; fetches still running keep the cache alive until they end. Takes NULL. */
void upcache_free(struct upcache *c);
void upcache_set_transport(struct upcache *c, upcache_transport_fn fn, void *ctx); /* fn NULL: the default */
/* Forgets keys nobody asked for in the last keep seconds. */
void upcache_sweep(struct upcache *c, double keep);

/*
 * A parser the background fetch feeds a 2xx body to as it arrives; the
 * cache then keeps what it made (shared, read-only) instead of the body,
 * so a large listing never sits in memory whole. feed gets every byte;
 * a parser that met an error remembers it and ignores the rest. close
 * says whether the whole body (total bytes, with its Content-Type) made
 * sense: PE_OK, or an error with msg set. free takes what open made.
 */
struct upcache_parser {
	void *(*open)(void); /* NULL when out of memory */
	void (*feed)(void *p, const char *data, size_t len);
	enum perr (*close)(void *p, const char *content_type, size_t total, char *msg, size_t msglen);
	void (*free)(void *p);
};

/* How one request may be answered. */
struct upcache_policy {
	double ttl; /* an answer younger than this is served without asking upstream */
	double max_staleness; /* while a refetch runs, an answer younger than this is served */
	int fresh; /* never served stale, and dropped once older than ttl when released */
	double wait_until; /* monotonic time (clock_mono) to stop waiting for a fetch */
	const struct upcache_parser *parser; /* NULL: keep the body */
	double since; /* monotonic time: an answer or failure of a fetch started after it is this caller's (a
			 prefetch earlier in the same scrape), served as it is and not asked again; 0: none */
};

/* One answer a caller holds; valid until upcache_release(). */
struct upcache_hold;

/*
 * The answer for key: a fresh one from the cache, else the one a fetch of
 * t + path brings before p->wait_until, else a stale one the policy
 * allows. PE_OK with *h for any HTTP answer (check its status); the
 * fetch's error (msg "GET <path>: <why>") when the last fetch failed;
 * PE_TIMEOUT ("no answer before the scrape deadline") when none came in
 * time. A key must always be asked with the same parser.
 */
enum perr upcache_get(struct upcache *c, const char *key, const struct fetch_target *t, const char *path,
		      const struct upcache_policy *p, struct upcache_hold **h, char *msg,
		      size_t msglen) PE_WUR;
/*
 * Starts fetching t + path for key in the background and returns at once,
 * unless an answer p allows without asking (younger than p->ttl, or
 * asked for after p->since) is there, a fetch runs, or one started after
 * p->since has ended.
 * A later upcache_get() of key then waits only for what is left.
 */
void upcache_prefetch(struct upcache *c, const char *key, const struct fetch_target *t, const char *path,
		      const struct upcache_policy *p);
/*
 * Waits until one of the n keys has no fetch in flight (its answer or
 * error is there, or none was asked for), at most until `until`
 * (monotonic). Returns that key's index, or -1 at `until` or when n is 0.
 */
int upcache_wait_any(struct upcache *c, const char *const *keys, size_t n, double until);

/* The answer: status, Content-Type and, without a parser (or for a non-2xx status), the body. */
const struct fetch_resp *upcache_resp(const struct upcache_hold *h);
/* With a parser and a 2xx status: close()'s verdict, msg its reason, and what it made (NULL unless PE_OK). */
enum perr upcache_parsed(const struct upcache_hold *h, const void **result, const char **msg);
/*
 * Ends a hold. An answer only the cache still holds is packed (deflated)
 * when large, and a `fresh` one past its ttl leaves the cache.
 */
void upcache_release(struct upcache *c, struct upcache_hold *h);

#endif
