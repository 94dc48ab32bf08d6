/* promapi.c - a Prometheus query API answer (JSON) -> series of samples; pure. */
#include "promapi.h"
#include "buf.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "1", "NaN", "+Inf", "-Inf", "1e3": the value strings Prometheus writes. */
static int prom_value(const cJSON *v, double *out)
{
	char *end;
	if (!cJSON_IsString(v) || !v->valuestring[0])
		return -1;
	errno = 0;
	*out = strtod(v->valuestring, &end);
	return *end || (errno == ERANGE && !isinf(*out)) ? -1 : 0;
}

/* [time, "value"]. */
static int prom_sample(const cJSON *pair, struct prom_sample *s)
{
	const cJSON *t = cJSON_GetArrayItem(pair, 0);
	if (!cJSON_IsArray(pair) || cJSON_GetArraySize(pair) != 2 || !cJSON_IsNumber(t) ||
	    !isfinite(t->valuedouble))
		return -1;
	s->t = t->valuedouble;
	return prom_value(cJSON_GetArrayItem(pair, 1), &s->v);
}

static enum perr prom_labels(const cJSON *metric, struct prom_series *s, char *msg, size_t msglen)
{
	size_t n = 0;
	const cJSON *l;
	if (!cJSON_IsObject(metric)) {
		snprintf(msg, msglen, "a result's \"metric\" is not an object");
		return PE_PARSE;
	}
	cJSON_ArrayForEach(l, metric) n++;
	if (n && !(s->labels = calloc(2 * n, sizeof(*s->labels))))
		return PE_NOMEM;
	cJSON_ArrayForEach(l, metric)
	{
		if (!cJSON_IsString(l) || !l->string) {
			snprintf(msg, msglen, "label %s is not a string", l->string ? l->string : "?");
			return PE_PARSE;
		}
		s->labels[2 * s->nlabels] = strdup(l->string);
		s->labels[2 * s->nlabels + 1] = strdup(l->valuestring);
		s->nlabels++;
		if (!s->labels[2 * s->nlabels - 2] || !s->labels[2 * s->nlabels - 1])
			return PE_NOMEM;
	}
	return PE_OK;
}

static enum perr prom_one_series(const cJSON *item, int matrix, struct prom_series *s, char *msg,
				 size_t msglen)
{
	enum perr rc = prom_labels(cJSON_GetObjectItemCaseSensitive(item, "metric"), s, msg, msglen);
	const cJSON *vals = cJSON_GetObjectItemCaseSensitive(item, matrix ? "values" : "value");
	if (rc)
		return rc;
	if (!matrix) {
		if (!(s->samples = calloc(1, sizeof(*s->samples))))
			return PE_NOMEM;
		s->n = 1;
		if (prom_sample(vals, &s->samples[0]) == 0)
			return PE_OK;
		snprintf(msg, msglen, "a vector result's \"value\" is not [time, \"number\"]");
		return PE_PARSE;
	}
	if (!cJSON_IsArray(vals)) {
		snprintf(msg, msglen, "a matrix result has no \"values\" array");
		return PE_PARSE;
	}
	size_t n = (size_t)cJSON_GetArraySize(vals);
	if (n && !(s->samples = calloc(n, sizeof(*s->samples))))
		return PE_NOMEM;
	const cJSON *p;
	cJSON_ArrayForEach(p, vals)
	{
		if (prom_sample(p, &s->samples[s->n]) != 0) {
			snprintf(msg, msglen, "a matrix value is not [time, \"number\"]");
			return PE_PARSE;
		}
		s->n++;
	}
	return PE_OK;
}

static enum perr prom_error(const cJSON *doc, char *msg, size_t msglen)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(doc, "errorType");
	const cJSON *text = cJSON_GetObjectItemCaseSensitive(doc, "error");
	const char *t = cJSON_IsString(type) ? type->valuestring : "error";
	snprintf(msg, msglen, "%s: %s", t, cJSON_IsString(text) ? text->valuestring : "(no message)");
	if (strcmp(t, "bad_data") == 0)
		return PE_INVAL;
	return strcmp(t, "timeout") == 0 ? PE_TIMEOUT : PE_UNAVAIL;
}

static enum perr prom_warnings(const cJSON *doc, struct prom_result *out)
{
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(doc, "warnings"), *e;
	struct buf b;
	buf_init(&b, 0);
	cJSON_ArrayForEach(e, w)
	{
		if (cJSON_IsString(e))
			buf_addf(&b, "%s\n", e->valuestring);
	}
	if (buf_err(&b)) {
		buf_free(&b);
		return PE_NOMEM;
	}
	out->warnings = b.len ? buf_steal(&b, NULL) : NULL;
	buf_free(&b);
	return PE_OK;
}

static enum perr prom_result_of(const cJSON *data, struct prom_result *out, char *msg, size_t msglen)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(data, "resultType");
	const cJSON *result = cJSON_GetObjectItemCaseSensitive(data, "result"), *item;
	if (!cJSON_IsString(type) || !cJSON_IsArray(result)) {
		snprintf(msg, msglen, "no \"data.resultType\" and \"data.result\"");
		return PE_PARSE;
	}
	out->matrix = strcmp(type->valuestring, "matrix") == 0;
	if (!out->matrix && strcmp(type->valuestring, "vector") != 0) {
		snprintf(msg, msglen, "result type %.40s, expected vector or matrix", type->valuestring);
		return PE_PARSE;
	}
	size_t n = (size_t)cJSON_GetArraySize(result);
	if (n && !(out->series = calloc(n, sizeof(*out->series))))
		return PE_NOMEM;
	cJSON_ArrayForEach(item, result)
	{
		enum perr rc = prom_one_series(item, out->matrix, &out->series[out->nseries++], msg, msglen);
		if (rc)
			return rc;
	}
	return PE_OK;
}

enum perr prom_parse_answer(const char *body, size_t len, struct prom_result *out, char *msg, size_t msglen)
{
	cJSON *doc = cJSON_ParseWithLength(body, len);
	enum perr rc = PE_PARSE;
	memset(out, 0, sizeof(*out));
	msg[0] = '\0';
	const cJSON *status = cJSON_GetObjectItemCaseSensitive(doc, "status");
	if (!cJSON_IsObject(doc) || !cJSON_IsString(status)) {
		snprintf(msg, msglen, "not a Prometheus API answer (no JSON object with \"status\")");
		goto out;
	}
	if (strcmp(status->valuestring, "success") != 0) {
		rc = prom_error(doc, msg, msglen);
		goto out;
	}
	rc = prom_result_of(cJSON_GetObjectItemCaseSensitive(doc, "data"), out, msg, msglen);
	if (!rc)
		rc = prom_warnings(doc, out);
out:
	if (rc == PE_NOMEM)
		snprintf(msg, msglen, "out of memory");
	if (rc)
		prom_result_free(out);
	cJSON_Delete(doc);
	return rc;
}

void prom_result_free(struct prom_result *r)
{
	for (size_t i = 0; i < r->nseries; i++) {
		struct prom_series *s = &r->series[i];
		for (size_t k = 0; s->labels && k < 2 * s->nlabels; k++)
			free(s->labels[k]);
		free(s->labels);
		free(s->samples);
	}
	free(r->series);
	free(r->warnings);
	memset(r, 0, sizeof(*r));
}

const char *prom_series_label(const struct prom_series *s, const char *name)
{
	for (size_t i = 0; i < s->nlabels; i++)
		if (strcmp(s->labels[2 * i], name) == 0)
			return s->labels[2 * i + 1];
	return NULL;
}
