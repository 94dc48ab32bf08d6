/* http_auth.h - the web config's access rules: basic-auth users (bcrypt), TLS material, client certificates. */
#ifndef PE_HTTP_AUTH_H
#define PE_HTTP_AUTH_H

#include <stddef.h>
#include "config.h"
#include "err.h"

/* tls_server_config.client_auth_type, exporter-toolkit's names in order. */
enum http_client_auth {
	HTTP_CA_NONE = 0, /* NoClientCert */
	HTTP_CA_REQUEST, /* RequestClientCert */
	HTTP_CA_REQUIRE_ANY, /* RequireAnyClientCert */
	HTTP_CA_VERIFY_IF_GIVEN, /* VerifyClientCertIfGiven */
	HTTP_CA_REQUIRE_VERIFY, /* RequireAndVerifyClientCert */
};

/*
 * The basic-auth users of a web config, with a cache of the last password
 * that passed bcrypt per user (as exporter-toolkit keeps), so a scraper
 * costs one fast hash per request instead of one bcrypt. Thread-safe.
 */
struct http_auth;

/*
 * Copies the users of w (w NULL or without users: everyone passes).
 * PE_CONFIG with msg when a password is not a bcrypt hash, PE_INTERNAL
 * when libcrypt has no bcrypt, PE_NOMEM.
 */
enum perr http_auth_new(const struct web_config *w, struct http_auth **out, char *msg, size_t msglen) PE_WUR;
void http_auth_free(struct http_auth *a); /* wipes the hashes; takes NULL */
/*
 * 1 when no users are configured, or user (NULL: none sent) is one of
 * them and password matches. An unknown user costs one bcrypt run against
 * a dummy hash, so timing does not tell users apart.
 */
int http_auth_check(struct http_auth *a, const char *user, const char *password);

/* PEM material read at start; the key is wiped by http_tls_clear() once the server has loaded it. */
struct http_tls {
	char *cert, *key, *ca;
	const char *priorities; /* GnuTLS priority string for min_version */
	enum http_client_auth client_auth;
};

/*
 * Reads the tls_server_config of w (cert_file set) into t. PE_CONFIG with
 * msg for an unknown client_auth_type or min_version, cert without key, a
 * verifying client_auth_type without client_ca_file; PE_IO or PE_TLS for
 * a file that cannot be read or is empty.
 */
enum perr http_tls_load(const struct web_config *w, struct http_tls *t, char *msg, size_t msglen) PE_WUR;
void http_tls_clear(struct http_tls *t);
/*
 * Enforces client_auth on one connection: tls_session is the connection's
 * gnutls session (NULL when there is none). 1 when the connection may go on.
 */
int http_client_cert_ok(enum http_client_auth client_auth, void *tls_session);

#endif
