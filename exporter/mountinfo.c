/* mountinfo.c - pure parser for /proc/self/mountinfo lines (no file system access). */
#include "mountinfo.h"

#include <string.h>

#define MOUNTINFO_MAX_TOKENS 64

struct mi_tok {
	const char *p;
	size_t n;
};

static int mi_is_octal(char c)
{
	return c >= '0' && c <= '7';
}

enum perr mountinfo_unescape(const char *src, size_t n, char *dst, size_t dstlen)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];
		if (c == '\\' && i + 3 < n && mi_is_octal(src[i + 1]) && mi_is_octal(src[i + 2]) &&
		    mi_is_octal(src[i + 3])) {
			unsigned v = (unsigned)(src[i + 1] - '0') * 64 + (unsigned)(src[i + 2] - '0') * 8 +
				     (unsigned)(src[i + 3] - '0');
			if (v == 0 || v > 0xff)
				return PE_PARSE;
			c = (unsigned char)v;
			i += 3;
		}
		if (o + 1 >= dstlen)
			return PE_TOOBIG;
		dst[o++] = (char)c;
	}
	if (dstlen == 0)
		return PE_TOOBIG;
	dst[o] = '\0';
	return PE_OK;
}

/* Splits on spaces and tabs; returns the token count or -1 when there are too many. */
static int mi_split(const char *line, size_t len, struct mi_tok *t, int max)
{
	int n = 0;
	size_t i = 0;
	while (i < len) {
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i >= len)
			break;
		size_t start = i;
		while (i < len && line[i] != ' ' && line[i] != '\t')
			i++;
		if (n == max)
			return -1;
		t[n].p = line + start;
		t[n].n = i - start;
		n++;
	}
	return n;
}

/* Decimal digits only, at least one. */
static int mi_is_number(const struct mi_tok *t)
{
	if (t->n == 0 || t->n > 10)
		return 0;
	for (size_t i = 0; i < t->n; i++)
		if (t->p[i] < '0' || t->p[i] > '9')
			return 0;
	return 1;
}

static int mi_is_devno(const struct mi_tok *t)
{
	const char *colon = memchr(t->p, ':', t->n);
	if (!colon)
		return 0;
	struct mi_tok a = {t->p, (size_t)(colon - t->p)};
	struct mi_tok b = {colon + 1, t->n - a.n - 1};
	return mi_is_number(&a) && mi_is_number(&b);
}

enum perr mountinfo_parse_line(const char *line, size_t len, struct mountinfo_entry *e)
{
	struct mi_tok t[MOUNTINFO_MAX_TOKENS];
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (memchr(line, '\0', len) || memchr(line, '\n', len))
		return PE_PARSE;
	int n = mi_split(line, len, t, MOUNTINFO_MAX_TOKENS);
	if (n < 9 || !mi_is_number(&t[0]) || !mi_is_number(&t[1]) || !mi_is_devno(&t[2]))
		return PE_PARSE;
	int sep = -1;
	for (int i = 6; i < n && sep < 0; i++)
		if (t[i].n == 1 && t[i].p[0] == '-')
			sep = i;
	if (sep < 0 || n - sep < 3) /* fstype and source must follow; super options may be missing */
		return PE_PARSE;
	if (t[2].n >= sizeof(e->devno))
		return PE_PARSE;
	memcpy(e->devno, t[2].p, t[2].n);
	e->devno[t[2].n] = '\0';
	if (mountinfo_unescape(t[3].p, t[3].n, e->root, sizeof(e->root)) != PE_OK ||
	    mountinfo_unescape(t[4].p, t[4].n, e->mount_point, sizeof(e->mount_point)) != PE_OK ||
	    mountinfo_unescape(t[sep + 1].p, t[sep + 1].n, e->fstype, sizeof(e->fstype)) != PE_OK ||
	    mountinfo_unescape(t[sep + 2].p, t[sep + 2].n, e->source, sizeof(e->source)) != PE_OK)
		return PE_PARSE;
	return PE_OK;
}

/* Length of path without trailing slashes ("/" stays "/"). */
static size_t mi_trim_len(const char *path)
{
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	return n;
}

enum perr mountinfo_find(const char *text, size_t len, const char *path, struct mountinfo_entry *e)
{
	struct mountinfo_entry cur;
	size_t plen = mi_trim_len(path);
	int found = 0;
	size_t i = 0;
	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (text + i)) : len - i;
		if (mountinfo_parse_line(text + i, n, &cur) == PE_OK && strlen(cur.mount_point) == plen &&
		    memcmp(cur.mount_point, path, plen) == 0) {
			*e = cur;
			found = 1;
		}
		i += n + 1;
	}
	return found ? PE_OK : PE_NOTFOUND;
}
