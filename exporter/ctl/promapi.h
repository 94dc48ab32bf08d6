/* promapi.h - answers of the Prometheus HTTP query API (/api/v1/query, /api/v1/query_range) as data. */
#ifndef PE_PROMAPI_H
#define PE_PROMAPI_H

#include <stddef.h>
#include "err.h"

struct prom_sample {
	double t; /* Unix seconds */
	double v; /* NaN and ±Inf as Prometheus wrote them */
};

struct prom_series {
	char **labels; /* name, value, name, value, ...; __name__ included when present */
	size_t nlabels; /* pairs */
	struct prom_sample *samples; /* one for a vector, time-ordered for a matrix */
	size_t n;
};

struct prom_result {
	int matrix; /* 1: resultType matrix, 0: vector */
	struct prom_series *series;
	size_t nseries;
	char *warnings; /* the answer's warnings, one per line; NULL when none */
};

/*
 * Parses one answer body (Prometheus, Thanos, Mimir and VictoriaMetrics
 * write the same document). Pure. On status "error" returns PE_INVAL for
 * bad_data (a bad query), PE_TIMEOUT for timeout, PE_UNAVAIL otherwise,
 * with msg "errorType: error"; PE_PARSE when the body is not such a
 * document (msg says what was wrong); PE_NOMEM. Only vector and matrix
 * results are accepted. On failure out is empty.
 */
enum perr prom_parse_answer(const char *body, size_t len, struct prom_result *out, char *msg,
			    size_t msglen) PE_WUR;

void prom_result_free(struct prom_result *r); /* r may be zeroed */

/* Value of label name, NULL when the series does not have it. */
const char *prom_series_label(const struct prom_series *s, const char *name);

#endif
