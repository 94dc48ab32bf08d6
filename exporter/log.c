/* log.c - the one logging module: logfmt or JSON lines on stderr. */
#include "log.h"
#include "buf.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_MAX_SECRETS 64

static enum log_level log_min = LOG_LVL_INFO;
static enum log_format log_fmt = LOG_FMT_LOGFMT;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char *log_secrets[LOG_MAX_SECRETS];
static size_t log_nsecrets;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int log_level_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	return -1;
}

int log_format_parse(const char *s)
{
	if (strcmp(s, "logfmt") == 0)
		return LOG_FMT_LOGFMT;
	if (strcmp(s, "json") == 0)
		return LOG_FMT_JSON;
	return -1;
}

void log_setup(enum log_level level, enum log_format format)
{
	log_min = level;
	log_fmt = format;
}

int log_enabled(enum log_level level)
{
	return level >= log_min;
}

void log_add_secret(const char *secret)
{
	if (!secret || strlen(secret) < 4)
		return; /* too short to redact without mangling ordinary text */
	pthread_mutex_lock(&log_lock);
	for (size_t i = 0; i < log_nsecrets; i++)
		if (strcmp(log_secrets[i], secret) == 0)
			goto out;
	if (log_nsecrets < LOG_MAX_SECRETS) {
		char *dup = strdup(secret);
		if (dup)
			log_secrets[log_nsecrets++] = dup;
	}
out:
	pthread_mutex_unlock(&log_lock);
}

void log_clear_secrets(void)
{
	pthread_mutex_lock(&log_lock);
	for (size_t i = 0; i < log_nsecrets; i++)
		free(log_secrets[i]);
	log_nsecrets = 0;
	pthread_mutex_unlock(&log_lock);
}

/* Appends s quoted for the format: logfmt quotes only when needed. */
static void log_add_value(struct buf *b, const char *s)
{
	int quote = log_fmt == LOG_FMT_JSON || *s == '\0';
	for (const char *p = s; !quote && *p; p++)
		if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\')
			quote = 1;
	if (quote)
		buf_addc(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			buf_addc(b, '\\');
			buf_addc(b, (char)*p);
		} else if (*p == '\n') {
			buf_adds(b, "\\n");
		} else if (*p < 0x20 || *p == 0x7f) {
			buf_addf(b, "\\u%04x", *p);
		} else {
			buf_addc(b, (char)*p);
		}
	}
	if (quote)
		buf_addc(b, '"');
}

static void log_add_pair(struct buf *b, const char *k, const char *v, int first)
{
	if (log_fmt == LOG_FMT_JSON) {
		buf_adds(b, first ? "{" : ",");
		log_add_value(b, k);
		buf_addc(b, ':');
	} else {
		if (!first)
			buf_addc(b, ' ');
		buf_adds(b, k);
		buf_addc(b, '=');
	}
	log_add_value(b, v ? v : "");
}

/* Replaces registered secrets in place with "<redacted>" (caller holds the lock). */
static void log_redact(struct buf *line)
{
	for (size_t i = 0; i < log_nsecrets; i++) {
		const char *sec = log_secrets[i];
		size_t sl = strlen(sec);
		char *hit;
		while (line->data && (hit = strstr(line->data, sec)) != NULL) {
			struct buf tmp;
			buf_init(&tmp, 0);
			buf_add(&tmp, line->data, (size_t)(hit - line->data));
			buf_adds(&tmp, "<redacted>");
			buf_adds(&tmp, hit + sl);
			if (buf_err(&tmp)) {
				buf_free(&tmp);
				memset(hit, '*', sl);
				continue;
			}
			buf_free(line);
			*line = tmp;
		}
	}
}

void log_kvv(enum log_level level, const char *msg, va_list ap)
{
	if (level < log_min)
		return;
	char ts[40];
	struct timespec now;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	size_t n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, sizeof(ts) - n, ".%03ldZ", now.tv_nsec / 1000000L);

	struct buf line;
	buf_init(&line, 64 * 1024);
	log_add_pair(&line, "ts", ts, 1);
	log_add_pair(&line, "level", level_names[level], 0);
	log_add_pair(&line, "msg", msg, 0);
	for (;;) {
		const char *k = va_arg(ap, const char *);
		if (!k)
			break;
		const char *v = va_arg(ap, const char *);
		log_add_pair(&line, k, v, 0);
	}
	if (log_fmt == LOG_FMT_JSON)
		buf_addc(&line, '}');
	buf_addc(&line, '\n');

	pthread_mutex_lock(&log_lock);
	log_redact(&line);
	if (line.data) {
		size_t off = 0;
		while (off < line.len) {
			ssize_t w = write(STDERR_FILENO, line.data + off, line.len - off);
			if (w <= 0)
				break;
			off += (size_t)w;
		}
	}
	pthread_mutex_unlock(&log_lock);
	buf_free(&line);
}

void log_kv(enum log_level level, const char *msg, ...)
{
	va_list ap;
	va_start(ap, msg);
	log_kvv(level, msg, ap);
	va_end(ap);
}
