/* vzdump_log.c - what a vzdump task log beside an archive says: finished, failed or unknown (pure). */
#include "vzdump_log.h"

#include <string.h>

/* 1 when s (n bytes) starts with "YYYY-MM-DD HH:MM:SS " (the time stamp vzdump puts on each line). */
static int vzlog_has_stamp(const char *s, size_t n)
{
	static const char shape[] = "dddd-dd-dd dd:dd:dd ";
	if (n < sizeof(shape) - 1)
		return 0;
	for (size_t i = 0; i < sizeof(shape) - 1; i++)
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return 0;
	return 1;
}

/* 1 when the line [s, s+n) starts with prefix. */
static int vzlog_starts(const char *s, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);
	return n >= k && memcmp(s, prefix, k) == 0;
}

/* 1 when text is "Finished Backup of VM <vmid> (" followed by anything (vmid -1: any number). */
static int vzlog_is_finish(const char *s, size_t n, long vmid)
{
	static const char head[] = "Finished Backup of VM ";
	size_t i = sizeof(head) - 1, digits = 0;
	long v = 0;
	if (!vzlog_starts(s, n, head))
		return 0;
	while (i < n && s[i] >= '0' && s[i] <= '9' && digits < 10) {
		v = v * 10 + (s[i++] - '0');
		digits++;
	}
	if (!digits || i + 1 >= n || s[i] != ' ' || s[i + 1] != '(')
		return 0;
	return vmid < 0 || v == vmid;
}

static void vzlog_keep_error(struct vzdump_log_result *r, const char *s, size_t n)
{
	size_t k = n < sizeof(r->first_error) - 1 ? n : sizeof(r->first_error) - 1;
	for (size_t i = 0; i < k; i++)
		r->first_error[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	r->first_error[k] = '\0';
}

/* One line without its newline; terminated: it ended with '\n' (else the file was cut inside it). */
static void vzlog_line(struct vzdump_log_result *r, const char *s, size_t n, int terminated, long vmid)
{
	if (n && s[n - 1] == '\r')
		n--;
	if (vzlog_has_stamp(s, n)) {
		s += 20;
		n -= 20;
	}
	if (vzlog_starts(s, n, "ERROR:")) {
		size_t skip = n > 6 && s[6] == ' ' ? 7 : 6;
		if (r->errors++ == 0)
			vzlog_keep_error(r, s + skip, n - skip);
	} else if (terminated && vzlog_starts(s, n, "INFO: ") && vzlog_is_finish(s + 6, n - 6, vmid)) {
		r->finished = 1;
	}
}

enum vzdump_log_verdict vzdump_log_parse(const char *bytes, size_t n, int partial, long vmid,
					 struct vzdump_log_result *out)
{
	const char *p = bytes, *end = bytes + n;
	memset(out, 0, sizeof(*out));
	if (partial) { /* the first line starts before the window: not a line we can judge */
		const char *nl = n ? memchr(p, '\n', n) : NULL;
		p = nl ? nl + 1 : end;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		vzlog_line(out, p, len, nl != NULL, vmid);
		p = nl ? nl + 1 : end;
	}
	out->verdict = out->errors ? VZDUMP_LOG_FAILED : out->finished ? VZDUMP_LOG_OK : VZDUMP_LOG_UNKNOWN;
	return out->verdict;
}

const char *vzdump_log_verdict_str(enum vzdump_log_verdict v)
{
	return v == VZDUMP_LOG_OK ? "ok" : v == VZDUMP_LOG_FAILED ? "failed" : "unknown";
}

int vzdump_log_name(const char *archive, char *out, size_t n)
{
	const char *dot = archive ? strchr(archive, '.') : NULL;
	size_t base = dot ? (size_t)(dot - archive) : 0;
	if (!dot || base == 0 || base + sizeof(".log") > n)
		return -1;
	memcpy(out, archive, base);
	memcpy(out + base, ".log", sizeof(".log"));
	return 0;
}
