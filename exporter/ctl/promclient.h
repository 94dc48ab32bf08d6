/* promclient.h - persistencectl's client of the Prometheus HTTP query API, through fetch. */
#ifndef PE_PROMCLIENT_H
#define PE_PROMCLIENT_H

#include <stddef.h>
#include "config.h"
#include "err.h"
#include "promapi.h"

#define PROM_MAX_ANSWER (256u << 20) /* bytes of one answer */

struct prom_client;

/*
 * A client for url ("http(s)://host[:port][/path prefix]": Prometheus, or a
 * Thanos/Mimir/VictoriaMetrics query front end). Credentials in the URL are
 * refused (they would show in the report); they belong in hc (may be NULL),
 * whose secrets are copied into the client's auth header. timeout bounds
 * each request. PE_INVAL with msg for a bad URL.
 */
enum perr prom_client_new(const char *url, const struct http_client_config *hc, double timeout,
			  struct prom_client **out, char *msg, size_t msglen) PE_WUR;
void prom_client_free(struct prom_client *c); /* wipes the auth header; takes NULL */

/* The URL as the report shows it: no credentials, no trailing '/'. */
const char *prom_client_url(const struct prom_client *c);

/*
 * POST /api/v1/query (expr at time t) or /api/v1/query_range. The errors
 * are explained in msg for a person: unreachable, TLS, timeout, refused
 * credentials, not a Prometheus API, the query refused (with Prometheus'
 * own message). Never holds a secret.
 */
enum perr prom_client_query(const struct prom_client *c, const char *expr, double t, struct prom_result *out,
			    char *msg, size_t msglen) PE_WUR;
enum perr prom_client_query_range(const struct prom_client *c, const char *expr, double start, double end,
				  double step, struct prom_result *out, char *msg, size_t msglen) PE_WUR;

#endif
