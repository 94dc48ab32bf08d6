/* upcache.c - the upstream answer cache: single-flight background fetches, fresh or stale answers, packed idle bodies. */
#include "upcache.h"
#include "clock.h"
#include "zip.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UPCACHE_PACK_MIN (64 * 1024) /* idle cached bodies from this size on are kept deflated */
#define UPCACHE_FEED_CHUNK (64 * 1024) /* a whole body from a transport is fed in pieces of this size */

/* A completed HTTP answer, shared by the cache and the callers holding it. */
struct upcache_hold {
	int refs; /* under the cache lock */
	int no_stale; /* asked for as fresh: dropped once older than ttl */
	double ttl;
	int in_cache; /* an entry's resp points here */
	int packing; /* a caller is deflating it (see upcache_pack) */
	int packed; /* r.body dropped, pack holds it deflated: only while no caller holds it */
	size_t rawlen; /* r.body.len while packed */
	unsigned char *pack; /* deflated copy of r.body once made, else NULL */
	size_t packlen;
	double at; /* monotonic time it arrived */
	double asked; /* monotonic time the fetch that brought it started */
	struct fetch_resp r;
	const struct upcache_parser *parser; /* what made parsed; NULL: none */
	void *parsed; /* the parser's result for a 2xx answer */
	enum perr parse_rc;
	char parse_msg[256];
};

struct upcache_entry {
	char *key;
	struct upcache_hold *resp; /* newest HTTP answer, NULL if none yet */
	int in_flight;
	int no_stale; /* asked for as fresh */
	unsigned long gen; /* bumped when a fetch ends */
	double asked; /* monotonic time the last ended fetch had started, 0 before */
	enum perr last_rc; /* transport outcome of the last fetch */
	char last_msg[256];
	double last_used;
	struct upcache_entry *next;
};

struct upcache {
	pthread_mutex_t lock;
	pthread_cond_t fetched; /* broadcast whenever a fetch ends */
	int refs; /* the owner's and one per running fetch */
	struct upcache_entry *entries;
	upcache_transport_fn transport;
	void *transport_ctx;
};

static enum perr upcache_transport_default(void *ctx, const struct fetch_target *t, const char *method,
					   const char *path, const char *body, double timeout,
					   const struct fetch_stream *stream, struct fetch_resp *r)
{
	(void)ctx;
	return fetch_request_stream(t, method, path, body, timeout, stream, r);
}

struct upcache *upcache_new(void)
{
	struct upcache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	pthread_mutex_init(&c->lock, NULL);
	clock_cond_init(&c->fetched);
	c->refs = 1;
	c->transport = upcache_transport_default;
	return c;
}

void upcache_set_transport(struct upcache *c, upcache_transport_fn fn, void *ctx)
{
	c->transport = fn ? fn : upcache_transport_default;
	c->transport_ctx = ctx;
}

static void hold_free(struct upcache_hold *h)
{
	fetch_resp_free(&h->r);
	free(h->pack);
	if (h->parsed)
		h->parser->free(h->parsed);
	free(h);
}

static void hold_unref_locked(struct upcache_hold *h)
{
	if (h && --h->refs == 0)
		hold_free(h);
}

/* Points e at h (which may be NULL), dropping the cache's reference to the previous answer. */
static void entry_set_locked(struct upcache_entry *e, struct upcache_hold *h)
{
	if (e->resp) {
		e->resp->in_cache = 0;
		hold_unref_locked(e->resp);
	}
	e->resp = h;
	if (h)
		h->in_cache = 1;
}

static void upcache_unref(struct upcache *c)
{
	pthread_mutex_lock(&c->lock);
	int left = --c->refs;
	pthread_mutex_unlock(&c->lock);
	if (left)
		return;
	for (struct upcache_entry *e = c->entries, *n; e; e = n) {
		n = e->next;
		hold_unref_locked(e->resp);
		free(e->key);
		free(e);
	}
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->fetched);
	free(c);
}

void upcache_free(struct upcache *c)
{
	if (c)
		upcache_unref(c);
}

void upcache_sweep(struct upcache *c, double keep)
{
	double now = clock_mono();

	pthread_mutex_lock(&c->lock);
	struct upcache_entry **pp = &c->entries;
	while (*pp) {
		struct upcache_entry *e = *pp;
		if (!e->in_flight && now - e->last_used > keep) {
			*pp = e->next;
			entry_set_locked(e, NULL);
			free(e->key);
			free(e);
		} else {
			pp = &e->next;
		}
	}
	pthread_mutex_unlock(&c->lock);
}

static struct upcache_entry *entry_lookup_locked(struct upcache *c, const char *key)
{
	for (struct upcache_entry *e = c->entries; e; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e;
	struct upcache_entry *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->key = strdup(key);
	if (!e->key) {
		free(e);
		return NULL;
	}
	e->next = c->entries;
	c->entries = e;
	return e;
}

/* ---------- the background fetch ---------- */

/* A background fetch: owns copies of everything it needs (the auth header wiped at the end), outlives callers. */
struct fetch_job {
	struct upcache *c;
	struct upcache_entry *entry; /* kept alive: the sweep skips in-flight entries */
	struct fetch_target *t;
	char *path;
	const struct upcache_parser *parser;
	double asked; /* monotonic time it started */
	void *state; /* the parser's, while the body arrives */
	size_t total; /* body bytes it was fed */
};

static void fetch_job_free(struct fetch_job *j)
{
	fetch_target_free(j->t);
	free(j->path);
	free(j);
}

static struct fetch_job *fetch_job_new(struct upcache *c, struct upcache_entry *e,
				       const struct fetch_target *t, const char *path,
				       const struct upcache_parser *parser)
{
	struct fetch_job *j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->c = c;
	j->entry = e;
	j->parser = parser;
	j->asked = clock_mono();
	j->t = fetch_target_new(t);
	j->path = strdup(path);
	if (!j->t || !j->path) {
		fetch_job_free(j);
		return NULL;
	}
	return j;
}

static void job_chunk(void *ctx, const char *data, size_t len)
{
	struct fetch_job *j = ctx;

	j->total += len;
	j->parser->feed(j->state, data, len);
}

/*
 * Runs the transport; with a parser, a 2xx body is parsed as it arrives
 * (or, from a transport that returned it whole, afterwards) and only the
 * result is kept.
 */
static enum perr fetch_job_transfer(struct fetch_job *j, struct upcache_hold *h)
{
	struct fetch_stream stream = {job_chunk, j};
	enum perr rc;

	if (j->parser && !(j->state = j->parser->open()))
		return PE_NOMEM;
	rc = j->c->transport(j->c->transport_ctx, j->t, "GET", j->path, NULL, 0, j->parser ? &stream : NULL,
			     &h->r);
	if (!j->parser || rc != PE_OK || h->r.status < 200 || h->r.status >= 300)
		return rc;
	for (size_t off = 0; off < h->r.body.len; off += UPCACHE_FEED_CHUNK) {
		size_t n =
			h->r.body.len - off < UPCACHE_FEED_CHUNK ? h->r.body.len - off : UPCACHE_FEED_CHUNK;
		job_chunk(j, h->r.body.data + off, n);
	}
	buf_free(&h->r.body);
	h->parser = j->parser;
	h->parse_rc =
		j->parser->close(j->state, h->r.content_type, j->total, h->parse_msg, sizeof(h->parse_msg));
	if (h->parse_rc == PE_OK) {
		h->parsed = j->state;
		j->state = NULL;
	}
	return PE_OK;
}

static void *fetch_job_run(void *arg)
{
	struct fetch_job *j = arg;
	struct upcache *c = j->c;
	struct upcache_hold *h = calloc(1, sizeof(*h));
	enum perr rc = PE_NOMEM;

	if (h) {
		fetch_resp_init(&h->r);
		rc = fetch_job_transfer(j, h);
	}
	if (j->state)
		j->parser->free(j->state);
	pthread_mutex_lock(&c->lock);
	struct upcache_entry *e = j->entry;
	e->in_flight = 0;
	e->gen++;
	e->asked = j->asked;
	e->last_rc = rc;
	snprintf(e->last_msg, sizeof(e->last_msg), "%s", h && h->r.err[0] ? h->r.err : err_str(rc));
	if (rc == PE_OK) {
		h->refs = 1;
		h->no_stale = e->no_stale;
		h->at = clock_mono();
		h->asked = j->asked;
		entry_set_locked(e, h);
		h = NULL;
	}
	pthread_cond_broadcast(&c->fetched);
	pthread_mutex_unlock(&c->lock);
	if (h)
		hold_free(h);
	fetch_job_free(j);
	upcache_unref(c);
	return NULL;
}

/* Starts a detached background fetch for e (caller holds the lock). */
static enum perr fetch_start_locked(struct upcache *c, struct upcache_entry *e, const struct fetch_target *t,
				    const char *path, const struct upcache_parser *parser)
{
	struct fetch_job *j = fetch_job_new(c, e, t, path, parser);
	if (!j)
		return PE_NOMEM;
	pthread_attr_t attr;
	pthread_t tid;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	c->refs++;
	e->in_flight = 1;
	int rc = pthread_create(&tid, &attr, fetch_job_run, j);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		c->refs--;
		e->in_flight = 0;
		fetch_job_free(j);
		return PE_NOMEM;
	}
	return PE_OK;
}

/* ---------- packing idle bodies ---------- */

/* Restores the body of a packed answer about to be handed out (lock held; no caller holds a packed one). */
static enum perr hold_unpack_locked(struct upcache_hold *h)
{
	if (!h->packed)
		return PE_OK;
	char *raw = zip_unpack(h->pack, h->packlen, h->rawlen);
	if (!raw)
		return PE_NOMEM;
	h->r.body.data = raw;
	h->r.body.len = h->rawlen;
	h->r.body.cap = h->rawlen + 1;
	h->packed = 0;
	return PE_OK;
}

/*
 * An answer only the cache holds any more is kept deflated (a JSON listing
 * shrinks to ~10%) until a caller asks for it again: otherwise a refetch of
 * a large listing holds the old copy and the new one at once. Drops the
 * reference upcache_release() kept for this.
 */
static void upcache_pack(struct upcache *c, struct upcache_hold *h)
{
	size_t zlen = 0;
	/* without the lock: the packing flag makes this the only writer, and the body stays until below */
	unsigned char *z = h->pack ? NULL : zip_pack(h->r.body.data, h->r.body.len, &zlen);
	struct buf raw;

	buf_init(&raw, 0);
	pthread_mutex_lock(&c->lock);
	if (z) {
		h->pack = z;
		h->packlen = zlen;
	}
	if (h->in_cache && h->refs == 2 && h->pack) { /* still only the cache and us */
		raw = h->r.body;
		h->rawlen = raw.len;
		h->r.body.data = NULL;
		h->r.body.len = h->r.body.cap = 0;
		h->packed = 1;
	}
	h->packing = 0;
	hold_unref_locked(h);
	pthread_mutex_unlock(&c->lock);
	buf_free(&raw);
}

void upcache_release(struct upcache *c, struct upcache_hold *h)
{
	int pack = 0;

	pthread_mutex_lock(&c->lock);
	/* a fresh-only answer past its ttl that nobody else holds would never be served again */
	if (h->no_stale && h->refs == 2 && clock_mono() - h->at >= h->ttl) {
		for (struct upcache_entry *e = c->entries; e; e = e->next) {
			if (e->resp == h) {
				e->resp = NULL;
				h->in_cache = 0;
				h->refs--; /* the cache's reference; ours goes below */
				break;
			}
		}
	}
	if (h->in_cache && h->refs == 2 && !h->packing && !h->packed && h->r.body.len >= UPCACHE_PACK_MIN)
		pack = h->packing = 1; /* our reference stays for upcache_pack() */
	else
		hold_unref_locked(h);
	pthread_mutex_unlock(&c->lock);
	if (pack)
		upcache_pack(c, h);
}

/* ---------- asking ---------- */

/* Waits for e's pending fetch until the deadline; the lock is held. Returns 1 if a fetch ended. */
static int fetch_wait_locked(struct upcache *c, struct upcache_entry *e, unsigned long gen0, double until)
{
	struct timespec ts = clock_abs(until);
	while (e->gen == gen0 && clock_mono() < until)
		if (pthread_cond_timedwait(&c->fetched, &c->lock, &ts) == ETIMEDOUT)
			break;
	return e->gen != gen0;
}

/* An answer served as it is: younger than the ttl, or asked for since p->since (the caller's own prefetch). */
static int answer_current(const struct upcache_hold *h, const struct upcache_policy *p, double now)
{
	return h && (now - h->at < p->ttl || (p->since > 0 && h->asked >= p->since));
}

/* The answer for e: fresh, fetched in time, or stale but allowed (lock held). */
static enum perr entry_answer_locked(struct upcache *c, struct upcache_entry *e, const struct fetch_target *t,
				     const char *path, const struct upcache_policy *p,
				     struct upcache_hold **out, char *msg, size_t msglen)
{
	double now = clock_mono();
	enum perr rc;

	e->last_used = now;
	e->no_stale |= p->fresh;
	if (answer_current(e->resp, p, now)) {
		*out = e->resp;
		return PE_OK;
	}
	if (e->resp && (e->no_stale || now - e->resp->at >= p->max_staleness))
		entry_set_locked(e, NULL); /* never served again: not kept while the next one comes */
	if (!e->in_flight && p->since > 0 && e->asked >= p->since && e->last_rc != PE_OK) {
		snprintf(msg, msglen, "GET %s: %s", path,
			 e->last_msg); /* this caller's prefetch failed: not asked twice */
		return e->last_rc;
	}
	unsigned long gen0 = e->gen;
	if (!e->in_flight && (rc = fetch_start_locked(c, e, t, path, p->parser)) != PE_OK)
		return rc;
	if (fetch_wait_locked(c, e, gen0, p->wait_until)) {
		rc = e->last_rc;
		if (rc == PE_OK)
			*out = e->resp;
		else
			snprintf(msg, msglen, "GET %s: %s", path, e->last_msg);
		return rc;
	}
	if (e->resp && !e->no_stale && clock_mono() - e->resp->at < p->max_staleness) {
		*out = e->resp; /* still being refreshed in the background */
		return PE_OK;
	}
	snprintf(msg, msglen, "GET %s: no answer before the scrape deadline", path);
	return PE_TIMEOUT;
}

enum perr upcache_get(struct upcache *c, const char *key, const struct fetch_target *t, const char *path,
		      const struct upcache_policy *p, struct upcache_hold **h, char *msg, size_t msglen)
{
	struct upcache_hold *got = NULL;
	enum perr rc = PE_NOMEM;

	*h = NULL;
	pthread_mutex_lock(&c->lock);
	struct upcache_entry *e = entry_lookup_locked(c, key);
	if (e)
		rc = entry_answer_locked(c, e, t, path, p, &got, msg, msglen);
	if (rc == PE_OK && (rc = hold_unpack_locked(got)) == PE_OK) {
		got->refs++;
		got->ttl = p->ttl;
		*h = got;
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

void upcache_prefetch(struct upcache *c, const char *key, const struct fetch_target *t, const char *path,
		      const struct upcache_policy *p)
{
	pthread_mutex_lock(&c->lock);
	struct upcache_entry *e = entry_lookup_locked(c, key);
	double now = clock_mono();
	if (e) {
		e->last_used = now;
		e->no_stale |= p->fresh;
		if (!e->in_flight && !answer_current(e->resp, p, now) &&
		    !(p->since > 0 && e->asked >= p->since))
			(void)fetch_start_locked(c, e, t, path,
						 p->parser); /* a failure shows in upcache_get() */
	}
	pthread_mutex_unlock(&c->lock);
}

int upcache_wait_any(struct upcache *c, const char *const *keys, size_t n, double until)
{
	struct timespec ts = clock_abs(until);
	int hit = -1;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		for (size_t i = 0; i < n && hit < 0; i++) {
			struct upcache_entry *e = entry_lookup_locked(c, keys[i]);
			if (!e || !e->in_flight)
				hit = (int)i;
		}
		if (hit >= 0 || n == 0 || clock_mono() >= until ||
		    pthread_cond_timedwait(&c->fetched, &c->lock, &ts) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&c->lock);
	return hit;
}

const struct fetch_resp *upcache_resp(const struct upcache_hold *h)
{
	return &h->r;
}

enum perr upcache_parsed(const struct upcache_hold *h, const void **result, const char **msg)
{
	*result = h->parsed;
	*msg = h->parse_msg;
	return h->parser ? h->parse_rc : PE_INVAL;
}
