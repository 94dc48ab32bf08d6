/* http_auth.c - the web config's access rules: basic-auth users (bcrypt), TLS material, client certificates. */
#include "http_auth.h"
#include "buf.h"
#include "secret.h"

#include <crypt.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTTP_PEM_MAX (1u << 20) /* cap on a PEM file */

struct http_auth_user {
	char *name;
	char *bcrypt_hash;
	char cached[CRYPT_OUTPUT_SIZE]; /* fast hash of the last password that passed bcrypt */
};

struct http_auth {
	struct http_auth_user *users;
	size_t nusers;
	char cache_salt[CRYPT_GENSALT_OUTPUT_SIZE]; /* "$5$rounds=1000$..." random per start */
	pthread_mutex_t cache_lock;
	char dummy_hash[CRYPT_OUTPUT_SIZE]; /* checked for unknown users so timing does not tell */
};

static void http_auth_msg(char *msg, size_t msglen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void http_auth_msg(char *msg, size_t msglen, const char *fmt, ...)
{
	va_list ap;
	if (!msg || !msglen)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
}

/* Compares a computed hash with the stored one without an early exit. */
static int http_ct_equal(const char *computed, const char *stored)
{
	size_t lc = strlen(computed), ls = strlen(stored);
	volatile unsigned char diff = lc != ls;
	for (size_t i = 0; i < ls; i++)
		diff |= (unsigned char)((i < lc ? computed[i] : 0) ^ stored[i]);
	return diff == 0;
}

/* Checks one password against a bcrypt hash with crypt_r; the work area is scrubbed. */
static int http_bcrypt_ok(const char *password, const char *hash)
{
	struct crypt_data *cd = calloc(1, sizeof *cd);
	if (!cd)
		return 0;
	const char *got = crypt_r(password, hash, cd);
	int ok = got && got[0] == '$' && http_ct_equal(got, hash);
	secret_wipe(cd, sizeof *cd);
	free(cd);
	return ok;
}

/* A cheap salted hash of the password (SHA-256 crypt, 1000 rounds) for the success cache. */
static void http_fast_hash(const struct http_auth *a, const char *password, char *out)
{
	struct crypt_data *cd = calloc(1, sizeof *cd);
	const char *h = cd ? crypt_r(password, a->cache_salt, cd) : NULL;
	snprintf(out, CRYPT_OUTPUT_SIZE, "%s", h && h[0] == '$' ? h : "!");
	if (cd)
		secret_wipe(cd, sizeof *cd);
	free(cd);
}

/*
 * Checks one user's password. bcrypt (tens of ms at cost 10) runs only
 * when the password differs from the last one that passed for that user.
 */
static int http_password_ok(struct http_auth *a, size_t user, const char *password)
{
	char fast[CRYPT_OUTPUT_SIZE];
	http_fast_hash(a, password, fast);
	if (user < a->nusers) {
		pthread_mutex_lock(&a->cache_lock);
		int hit = fast[0] == '$' && http_ct_equal(fast, a->users[user].cached);
		pthread_mutex_unlock(&a->cache_lock);
		if (hit)
			return 1;
	}
	const char *hash = user < a->nusers ? a->users[user].bcrypt_hash : a->dummy_hash;
	int ok = http_bcrypt_ok(password, hash) && user < a->nusers;
	if (ok && fast[0] == '$') {
		pthread_mutex_lock(&a->cache_lock);
		memcpy(a->users[user].cached, fast, sizeof fast);
		pthread_mutex_unlock(&a->cache_lock);
	}
	return ok;
}

int http_auth_check(struct http_auth *a, const char *user, const char *password)
{
	size_t idx;

	if (!a || a->nusers == 0)
		return 1;
	idx = a->nusers; /* unknown */
	for (size_t i = 0; user && i < a->nusers; i++)
		if (strcmp(a->users[i].name, user) == 0)
			idx = i;
	return http_password_ok(a, idx, password ? password : "") && user;
}

static int http_bcrypt_shaped(const char *h)
{
	return h && strlen(h) == 60 && h[0] == '$' && h[1] == '2' && strchr("aby", h[2]) && h[2] &&
	       h[3] == '$';
}

/* Builds the dummy hash (same cost as the first user's) for unknown names, and the cache's salt. */
static enum perr http_auth_salts(struct http_auth *a, const char *first_hash, char *msg, size_t msglen)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	unsigned long cost = strtoul(first_hash + 4, NULL, 10);
	struct crypt_data *cd = calloc(1, sizeof *cd);
	const char *h = NULL;
	if (cd && crypt_gensalt_rn("$2b$", cost, NULL, 0, salt, sizeof salt))
		h = crypt_r("not-a-password", salt, cd);
	if (h && h[0] == '$')
		snprintf(a->dummy_hash, sizeof a->dummy_hash, "%s", h);
	free(cd);
	if (!crypt_gensalt_rn("$5$", 1000, NULL, 0, a->cache_salt, sizeof a->cache_salt))
		a->dummy_hash[0] = '\0';
	if (!a->dummy_hash[0]) {
		http_auth_msg(msg, msglen, "basic_auth_users: bcrypt is not available from libcrypt");
		return PE_INTERNAL;
	}
	return PE_OK;
}

/* Copies the users; PE_CONFIG for a password that is not a bcrypt hash. */
static enum perr http_auth_users(struct http_auth *a, const struct web_config *w, char *msg, size_t msglen)
{
	a->users = calloc(w->nusers, sizeof *a->users);
	if (!a->users)
		return PE_NOMEM;
	for (size_t i = 0; i < w->nusers; i++) {
		const struct web_user *u = &w->users[i];
		if (!u->name || !http_bcrypt_shaped(u->bcrypt_hash)) {
			http_auth_msg(msg, msglen,
				      "basic_auth_users: user \"%s\": password is not a bcrypt hash",
				      u->name ? u->name : "");
			return PE_CONFIG;
		}
		a->users[i].name = strdup(u->name);
		a->users[i].bcrypt_hash = strdup(u->bcrypt_hash);
		a->nusers = i + 1;
		if (!a->users[i].name || !a->users[i].bcrypt_hash)
			return PE_NOMEM;
	}
	return http_auth_salts(a, w->users[0].bcrypt_hash, msg, msglen);
}

enum perr http_auth_new(const struct web_config *w, struct http_auth **out, char *msg, size_t msglen)
{
	struct http_auth *a = calloc(1, sizeof *a);
	enum perr e = PE_OK;

	*out = NULL;
	if (!a)
		return PE_NOMEM;
	pthread_mutex_init(&a->cache_lock, NULL);
	if (w && w->nusers)
		e = http_auth_users(a, w, msg, msglen);
	if (e != PE_OK) {
		http_auth_free(a);
		return e;
	}
	*out = a;
	return PE_OK;
}

void http_auth_free(struct http_auth *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->nusers; i++) {
		free(a->users[i].name);
		secret_free(a->users[i].bcrypt_hash);
	}
	free(a->users);
	pthread_mutex_destroy(&a->cache_lock);
	free(a);
}

/* ---- TLS ---- */

/* Reads a whole (small) file into a NUL-terminated heap string. */
static enum perr http_read_file(const char *path, char **out, char *msg, size_t msglen)
{
	struct buf b;
	char chunk[4096];
	enum perr e = PE_OK;
	FILE *f = fopen(path, "rb");
	if (!f) {
		http_auth_msg(msg, msglen, "cannot open %s: %s", path, strerror(errno));
		return PE_IO;
	}
	buf_init(&b, HTTP_PEM_MAX);
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		(void)buf_add(&b, chunk, n);
	if (ferror(f) || buf_err(&b) || b.len == 0) {
		e = ferror(f) ? PE_IO : b.len == 0 ? PE_TLS : buf_err(&b);
		http_auth_msg(msg, msglen, "cannot read %s: %s", path,
			      b.len == 0 ? "empty file" : err_str(e));
		buf_free(&b);
		goto out;
	}
	*out = buf_steal(&b, NULL);
out:
	fclose(f);
	return e;
}

/* ---- web config ---- */

static enum perr http_client_auth_parse(const char *v, enum http_client_auth *out)
{
	static const char *const names[] = {"NoClientCert", "RequestClientCert", "RequireAnyClientCert",
					    "VerifyClientCertIfGiven", "RequireAndVerifyClientCert"};
	if (!v || !*v) {
		*out = HTTP_CA_NONE;
		return PE_OK;
	}
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(v, names[i]) == 0) {
			*out = (enum http_client_auth)i;
			return PE_OK;
		}
	return PE_CONFIG;
}

/* GnuTLS priority string for min_version; NULL when the value is not supported. */
static const char *http_priorities(const char *min_version)
{
	if (!min_version || !*min_version || strcmp(min_version, "TLS12") == 0)
		return "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2";
	if (strcmp(min_version, "TLS13") == 0)
		return "NORMAL:-VERS-ALL:+VERS-TLS1.3";
	return NULL;
}

void http_tls_clear(struct http_tls *t)
{
	free(t->cert);
	secret_free(t->key);
	free(t->ca);
	memset(t, 0, sizeof *t);
}

enum perr http_tls_load(const struct web_config *w, struct http_tls *t, char *msg, size_t msglen)
{
	enum perr e;
	if (http_client_auth_parse(w->client_auth_type, &t->client_auth) != PE_OK) {
		http_auth_msg(msg, msglen, "tls_server_config: unknown client_auth_type \"%s\"",
			      w->client_auth_type);
		return PE_CONFIG;
	}
	t->priorities = http_priorities(w->min_version);
	if (!t->priorities) {
		http_auth_msg(msg, msglen,
			      "tls_server_config: min_version \"%s\" not supported (TLS12 or TLS13)",
			      w->min_version);
		return PE_CONFIG;
	}
	if (!w->key_file) {
		http_auth_msg(msg, msglen, "tls_server_config: cert_file needs key_file");
		return PE_CONFIG;
	}
	if ((t->client_auth >= HTTP_CA_VERIFY_IF_GIVEN) && !w->client_ca_file) {
		http_auth_msg(msg, msglen, "tls_server_config: client_auth_type %s needs client_ca_file",
			      w->client_auth_type);
		return PE_CONFIG;
	}
	if ((e = http_read_file(w->cert_file, &t->cert, msg, msglen)) ||
	    (e = http_read_file(w->key_file, &t->key, msg, msglen)))
		return e;
	if (w->client_ca_file && (e = http_read_file(w->client_ca_file, &t->ca, msg, msglen)))
		return e;
	return PE_OK;
}

int http_client_cert_ok(enum http_client_auth client_auth, void *tls_session)
{
	if (client_auth == HTTP_CA_NONE || client_auth == HTTP_CA_REQUEST)
		return 1;
	if (!tls_session)
		return 0;
	gnutls_session_t ts = (gnutls_session_t)tls_session;
	unsigned int ncerts = 0;
	if (!gnutls_certificate_get_peers(ts, &ncerts) || ncerts == 0)
		return client_auth == HTTP_CA_VERIFY_IF_GIVEN;
	if (client_auth == HTTP_CA_REQUIRE_ANY)
		return 1;
	unsigned int status = 0;
	return gnutls_certificate_verify_peers2(ts, &status) == 0 && status == 0;
}
