/* http_parse.h - what the server reads from a request: collect[] names, the scrape timeout, gzip acceptance (pure). */
#ifndef PE_HTTP_PARSE_H
#define PE_HTTP_PARSE_H

#include <stddef.h>

#define HTTP_COLLECT_MAX 32 /* collect[] values passed to the metrics handler */
#define HTTP_COLLECT_LEN 64 /* longer collect[] values are dropped */

/*
 * collect[] parsing: splits a query string (a leading "/path?" is
 * skipped), percent-decodes keys and values, and stores each collect[]
 * value NUL-terminated in storage, pointed to by names. Drops empty,
 * duplicate, undecodable (bad %, NUL) and over-long values and those that
 * do not fit; returns how many were kept (<= max).
 */
size_t http_parse_collect(const char *query, char **names, size_t max, char *storage, size_t storagelen);
/* X-Prometheus-Scrape-Timeout-Seconds: a plain positive decimal, else 0 (also for NULL). */
double http_parse_timeout(const char *v);
/* 1 when an Accept-Encoding header (NULL: absent) names gzip with a q above zero. */
int http_parse_accepts_gzip(const char *ae);

#endif
