/* http_parse.c - what the server reads from a request: collect[] names, the scrape timeout, gzip acceptance (pure). */
#include "http_parse.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int http_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes src[0..n) into dst (room for cap bytes incl. NUL); -1 if it does not fit or is bad. */
static long http_unescape(const char *src, size_t n, char *dst, size_t cap)
{
	size_t o = 0;
	if (cap == 0)
		return -1; /* not even room for the NUL (storage used up); found by fuzz_http_collect */
	for (size_t i = 0; i < n; i++) {
		char c = src[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			if (i + 2 >= n)
				return -1;
			int hi = http_hexval(src[i + 1]), lo = http_hexval(src[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (c == '\0' || o + 1 >= cap)
			return -1;
		dst[o++] = c;
	}
	dst[o] = '\0';
	return (long)o;
}

static int http_collect_seen(char **names, size_t n, const char *v)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], v) == 0)
			return 1;
	return 0;
}

/* Contract in http_parse.h; e.g. "/metrics?a=1&collect%5B%5D=pve&collect[]=mount". */
size_t http_parse_collect(const char *query, char **names, size_t max, char *storage, size_t storagelen)
{
	size_t n = 0, used = 0;
	char key[16];
	if (!query || !names || !storage)
		return 0;
	const char *q = strchr(query, '?');
	q = q ? q + 1 : query;
	while (*q && n < max) {
		size_t len = strcspn(q, "&");
		const char *eq = memchr(q, '=', len);
		if (eq && http_unescape(q, (size_t)(eq - q), key, sizeof key) >= 0 &&
		    strcmp(key, "collect[]") == 0) {
			size_t vlen = len - (size_t)(eq - q) - 1;
			size_t room = storagelen - used;
			if (room > HTTP_COLLECT_LEN + 1)
				room = HTTP_COLLECT_LEN + 1;
			long got = http_unescape(eq + 1, vlen, storage + used, room);
			if (got > 0 && !http_collect_seen(names, n, storage + used)) {
				names[n++] = storage + used;
				used += (size_t)got + 1;
			}
		}
		q += len;
		if (*q == '&')
			q++;
	}
	return n;
}

/* X-Prometheus-Scrape-Timeout-Seconds: a plain positive decimal, else 0. */
double http_parse_timeout(const char *v)
{
	if (!v)
		return 0;
	while (*v == ' ' || *v == '\t')
		v++;
	size_t digits = strspn(v, "0123456789.");
	if (digits == 0 || digits > 32 || strspn(v + digits, " \t") != strlen(v + digits))
		return 0;
	char tmp[40];
	memcpy(tmp, v, digits);
	tmp[digits] = '\0';
	char *end;
	double d = strtod(tmp, &end);
	if (*end || !isfinite(d) || d <= 0)
		return 0;
	return d;
}

/* 1 if an Accept-Encoding q parameter is zero ("q=0", "q=0.000"). */
static int http_q_is_zero(const char *p, size_t n)
{
	if (n < 3 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=')
		return 0;
	p += 2;
	n -= 2;
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n == 0 || p[0] != '0')
		return 0;
	if (n == 1)
		return 1;
	if (p[1] != '.' || n > 5)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] != '0')
			return 0;
	return 1;
}

/* Whether one Accept-Encoding element ("gzip;q=0.5") names gzip with q > 0. */
static int http_element_gzip(const char *p, size_t n)
{
	while (n && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	size_t name = 0;
	while (name < n && p[name] != ';' && p[name] != ' ' && p[name] != '\t')
		name++;
	if (name != 4 || strncasecmp(p, "gzip", 4) != 0)
		return 0;
	const char *par = memchr(p, ';', n);
	while (par) {
		par++;
		while (par < p + n && (*par == ' ' || *par == '\t'))
			par++;
		size_t plen = (size_t)(p + n - par);
		const char *next = memchr(par, ';', plen);
		if (http_q_is_zero(par, next ? (size_t)(next - par) : plen))
			return 0;
		par = next;
	}
	return 1;
}

int http_parse_accepts_gzip(const char *ae)
{
	if (!ae)
		return 0;
	while (*ae) {
		size_t len = strcspn(ae, ",");
		if (http_element_gzip(ae, len))
			return 1;
		ae += len;
		if (*ae == ',')
			ae++;
	}
	return 0;
}
