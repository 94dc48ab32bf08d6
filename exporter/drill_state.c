/* drill_state.c - the restore-drill state file: format and append a record, read the tail, parse it (pure). */
#include "drill_state.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cJSON.h"

/* ---------------------------------------------------------------- one record <-> one line */

static int ds_add_num_or_null(cJSON *o, const char *key, double v)
{
	return (v >= 0 && isfinite(v) ? cJSON_AddNumberToObject(o, key, v) : cJSON_AddNullToObject(o, key)) !=
	       NULL;
}

enum perr drill_state_format(const struct drill_record *r, struct buf *out)
{
	cJSON *o = cJSON_CreateObject();
	char *text = NULL;
	enum perr rc = PE_NOMEM;

	if (o && cJSON_AddStringToObject(o, "target", r->target) &&
	    cJSON_AddStringToObject(o, "kind", r->kind) &&
	    cJSON_AddStringToObject(o, "archive", r->archive) &&
	    cJSON_AddNumberToObject(o, "started", floor(r->started * 1000) / 1000) &&
	    cJSON_AddNumberToObject(o, "finished", floor(r->finished * 1000) / 1000) &&
	    ds_add_num_or_null(o, "restore_seconds", floor(r->restore_seconds * 1000) / 1000) &&
	    ds_add_num_or_null(o, "boot_seconds", floor(r->boot_seconds * 1000) / 1000) &&
	    cJSON_AddStringToObject(o, "result", r->ok ? "ok" : "failed") &&
	    cJSON_AddStringToObject(o, "reason", r->reason) && (text = cJSON_PrintUnformatted(o)) != NULL) {
		buf_adds(out, text);
		buf_addc(out, '\n');
		rc = buf_err(out);
	}
	free(text);
	cJSON_Delete(o);
	return rc;
}

static void ds_copy(char *dst, size_t n, const cJSON *v)
{
	snprintf(dst, n, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

/* A seconds field: a non-negative number, or null/absent (-1). 0 when it is something else. */
static int ds_seconds(const cJSON *o, const char *key, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	*out = -1;
	if (!v || cJSON_IsNull(v))
		return 1;
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0)
		return 0;
	*out = v->valuedouble;
	return 1;
}

static int ds_time(const cJSON *o, const char *key, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble <= 0)
		return 0;
	*out = v->valuedouble;
	return 1;
}

/* One line to a record; 0 when the line is not one. */
static int ds_record(const char *line, size_t len, struct drill_record *r)
{
	cJSON *o = cJSON_ParseWithLength(line, len);
	const cJSON *target, *result;
	int ok = 0;

	memset(r, 0, sizeof(*r));
	if (!cJSON_IsObject(o))
		goto out;
	target = cJSON_GetObjectItemCaseSensitive(o, "target");
	result = cJSON_GetObjectItemCaseSensitive(o, "result");
	if (!cJSON_IsString(target) || !*target->valuestring ||
	    strlen(target->valuestring) >= sizeof(r->target) || !cJSON_IsString(result) ||
	    (strcmp(result->valuestring, "ok") != 0 && strcmp(result->valuestring, "failed") != 0))
		goto out;
	if (!ds_time(o, "started", &r->started) || !ds_time(o, "finished", &r->finished) ||
	    !ds_seconds(o, "restore_seconds", &r->restore_seconds) ||
	    !ds_seconds(o, "boot_seconds", &r->boot_seconds))
		goto out;
	ds_copy(r->target, sizeof(r->target), target);
	ds_copy(r->kind, sizeof(r->kind), cJSON_GetObjectItemCaseSensitive(o, "kind"));
	ds_copy(r->archive, sizeof(r->archive), cJSON_GetObjectItemCaseSensitive(o, "archive"));
	ds_copy(r->reason, sizeof(r->reason), cJSON_GetObjectItemCaseSensitive(o, "reason"));
	r->ok = strcmp(result->valuestring, "ok") == 0;
	ok = 1;
out:
	cJSON_Delete(o);
	return ok;
}

/* ---------------------------------------------------------------- parsing (pure) */

static void ds_keep(struct drill_entry *e, const struct drill_record *r)
{
	if (!e->has_last || r->finished >= e->last.finished) {
		e->last = *r;
		e->has_last = 1;
	}
	if (r->ok && (!e->has_ok || r->finished >= e->last_ok.finished)) {
		e->last_ok = *r;
		e->has_ok = 1;
	}
}

static void ds_line(const char *line, size_t len, long lineno, const char *const *targets, size_t ntargets,
		    struct drill_entry *out, struct drill_parse_stats *st, struct drill_record *r)
{
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	if (len == 0)
		return; /* blank lines (e.g. the newline that ends a torn line) are not records */
	if (len > DRILL_STATE_LINE_MAX || !ds_record(line, len, r)) {
		if (st->bad++ == 0)
			st->first_bad = lineno;
		return;
	}
	st->records++;
	for (size_t i = 0; i < ntargets; i++)
		if (targets[i] && strcmp(targets[i], r->target) == 0)
			ds_keep(&out[i], r);
}

enum perr drill_state_parse(const char *data, size_t len, int head_partial, const char *const *targets,
			    size_t ntargets, struct drill_entry *out, struct drill_parse_stats *stats)
{
	struct drill_record *r = malloc(sizeof(*r));
	size_t pos = 0;
	long lineno = 0;

	memset(stats, 0, sizeof(*stats));
	if (ntargets)
		memset(out, 0, ntargets * sizeof(*out));
	if (!r)
		return PE_NOMEM;
	if (head_partial) {
		const char *nl = memchr(data, '\n', len);
		pos = nl ? (size_t)(nl - data) + 1 : len;
	}
	while (pos < len) {
		const char *line = data + pos;
		const char *nl = memchr(line, '\n', len - pos);
		lineno++;
		if (!nl) {
			stats->torn = 1; /* no newline: the writer died mid-line */
			break;
		}
		ds_line(line, (size_t)(nl - line), lineno, targets, ntargets, out, stats, r);
		pos = (size_t)(nl - data) + 1;
	}
	free(r);
	return PE_OK;
}

/* ---------------------------------------------------------------- for people (pure) */

void drill_report_free(void *report)
{
	struct drill_report *r = report;

	if (!r)
		return;
	free(r->e);
	free(r);
}

double drill_record_duration(const struct drill_record *r)
{
	return (r->restore_seconds > 0 ? r->restore_seconds : 0) +
	       (r->boot_seconds > 0 ? r->boot_seconds : 0);
}

/* An age in its largest unit: "6d", "5h", "12m", "40s". */
static void ds_age(double secs, char *out, size_t n)
{
	long s = secs > 0 ? (long)secs : 0;

	if (s >= 86400)
		snprintf(out, n, "%ldd", s / 86400);
	else if (s >= 3600)
		snprintf(out, n, "%ldh", s / 3600);
	else if (s >= 60)
		snprintf(out, n, "%ldm", s / 60);
	else
		snprintf(out, n, "%lds", s);
}

/* A duration: "40 s", "14 min", "1 h 12 min". */
static void ds_took(double secs, char *out, size_t n)
{
	long s = secs > 0 ? (long)(secs + 0.5) : 0;

	if (s < 60)
		snprintf(out, n, "%ld s", s);
	else if (s < 3600)
		snprintf(out, n, "%ld min", (s + 30) / 60);
	else
		snprintf(out, n, "%ld h %ld min", s / 3600, s % 3600 / 60);
}

/* A configured span in the largest unit that divides it: "30d", "2h", "90m". */
static void ds_span(double secs, char *out, size_t n)
{
	long v = secs > 0 ? (long)secs : 0;

	if (v && v % 86400 == 0)
		snprintf(out, n, "%ldd", v / 86400);
	else if (v && v % 3600 == 0)
		snprintf(out, n, "%ldh", v / 3600);
	else if (v && v % 60 == 0)
		snprintf(out, n, "%ldm", v / 60);
	else
		snprintf(out, n, "%lds", v);
}

void drill_state_summary(const struct drill_entry *e, double now, double max_age, double rto, char *out,
			 size_t n, int *bad)
{
	char age[32], took[48], span[32];
	int len = 0;

	*bad = 0;
	if (!e || !e->has_last) {
		*bad = max_age > 0;
		snprintf(out, n, "never restore-tested");
		return;
	}
	if (!e->last.ok) {
		ds_age(now - e->last.finished, age, sizeof(age));
		len = snprintf(out, n, "restore test failed %s ago: %s", age, e->last.reason);
		*bad = 1;
	} else {
		ds_age(now - e->last_ok.finished, age, sizeof(age));
		ds_took(drill_record_duration(&e->last_ok), took, sizeof(took));
		len = snprintf(out, n, "restore tested %s ago, %s", age, took);
	}
	if (len < 0 || (size_t)len >= n)
		return;
	if (max_age > 0 && (!e->has_ok || now - e->last_ok.finished > max_age)) {
		ds_span(max_age, span, sizeof(span));
		len += snprintf(out + len, n - (size_t)len, "; overdue (every %s)", span);
		*bad = 1;
	}
	if (len >= 0 && (size_t)len < n && rto > 0 && e->has_ok && drill_record_duration(&e->last_ok) > rto) {
		ds_span(rto, span, sizeof(span));
		snprintf(out + len, n - (size_t)len, "; slower than the RTO of %s", span);
		*bad = 1;
	}
}

/* ---------------------------------------------------------------- file I/O */

enum perr drill_state_read(const char *path, size_t max, struct buf *out, int *head_partial, char *msg,
			   size_t msglen)
{
	struct stat st;
	enum perr rc = PE_OK;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	buf_reset(out);
	*head_partial = 0;
	if (fd < 0) {
		snprintf(msg, msglen, "cannot open %s: %s", path, strerror(errno));
		return errno == ENOENT ? PE_NOTFOUND : errno == EACCES ? PE_DENIED : PE_IO;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(msg, msglen, "%s is not a regular file", path);
		close(fd);
		return PE_IO;
	}
	off_t from = st.st_size > (off_t)max ? st.st_size - (off_t)max : 0;
	*head_partial = from > 0;
	if (buf_reserve(out, (size_t)(st.st_size - from)) != PE_OK) {
		close(fd);
		return PE_NOMEM;
	}
	while (out->len < (size_t)(st.st_size - from)) {
		ssize_t n = pread(fd, out->data + out->len, (size_t)(st.st_size - from) - out->len,
				  from + (off_t)out->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(msg, msglen, "cannot read %s: %s", path, strerror(errno));
			rc = PE_IO;
			break;
		}
		if (n == 0)
			break; /* truncated meanwhile: what was read is still lines */
		out->len += (size_t)n;
	}
	if (out->data)
		out->data[out->len] = '\0';
	close(fd);
	return rc;
}

static enum perr ds_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return PE_IO;
		p += w;
		n -= (size_t)w;
	}
	return PE_OK;
}

/* A new file's directory entry is durable only once the directory is synced. */
static void ds_sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd = copy ? open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;

	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	free(copy);
}

/* Under the lock: a newline first when the file does not end with one (a torn last line). */
static enum perr ds_terminate_torn(int fd, off_t size)
{
	char last = '\n';

	if (size > 0 && pread(fd, &last, 1, size - 1) != 1)
		return PE_IO;
	return last == '\n' ? PE_OK : ds_write_all(fd, "\n", 1);
}

enum perr drill_state_append(const char *path, const struct drill_record *r, char *msg, size_t msglen)
{
	struct buf line;
	struct stat st;
	enum perr rc;
	int fd;

	buf_init(&line, DRILL_STATE_LINE_MAX);
	rc = drill_state_format(r, &line);
	if (rc != PE_OK) {
		snprintf(msg, msglen, "cannot format the record: %s", err_str(rc));
		buf_free(&line);
		return rc;
	}
	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644); /* read: the last byte */
	if (fd < 0) {
		snprintf(msg, msglen, "cannot open %s for appending: %s", path, strerror(errno));
		buf_free(&line);
		return errno == EACCES ? PE_DENIED : PE_IO;
	}
	rc = PE_IO;
	if (flock(fd, LOCK_EX) != 0 || fstat(fd, &st) != 0)
		snprintf(msg, msglen, "cannot lock %s: %s", path, strerror(errno));
	else if (ds_terminate_torn(fd, st.st_size) != PE_OK || ds_write_all(fd, line.data, line.len) != PE_OK)
		snprintf(msg, msglen, "cannot write %s: %s", path, strerror(errno));
	else if (fsync(fd) != 0)
		snprintf(msg, msglen, "cannot fsync %s: %s", path, strerror(errno));
	else
		rc = PE_OK;
	if (rc == PE_OK && st.st_size == 0)
		ds_sync_dir(path);
	close(fd); /* releases the lock */
	buf_free(&line);
	return rc;
}
