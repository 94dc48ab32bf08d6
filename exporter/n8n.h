/* n8n.h - parses pages of the n8n public API workflow list (GET /api/v1/workflows). */
#ifndef PE_N8N_H
#define PE_N8N_H

#include <stddef.h>
#include "buf.h"
#include "err.h"

struct cJSON;

/* Largest page the exporter asks for (the API's maximum; never 0, which disables paging). */
#define N8N_PAGE_LIMIT 250

/* Workflow counts summed over pages. Archived ones are neither active nor inactive. */
struct n8n_counts {
	size_t active;
	size_t inactive;
	size_t archived;
};

/*
 * Adds one page `{"data":[...], "nextCursor": string|null}` to *counts.
 * Each element must be an object whose `active` is a boolean (0/1 is
 * accepted) and whose `isArchived`, when present and not null, is one too
 * (absent means not archived, as before n8n 1.94). *next gets a copy of
 * nextCursor (free() it) or NULL on the last page. On PE_PARSE nothing
 * is added to *counts and msg says what was wrong.
 */
enum perr n8n_page_parse(const struct cJSON *page, struct n8n_counts *counts, char **next, char *msg,
			 size_t msglen) PE_WUR;

/*
 * One answer to a page request, bytes in (status, Content-Type, body):
 * a 2xx JSON page goes through n8n_page_parse(); anything else is
 * described by n8n_describe_failure() (PE_PARSE, or PE_HTTP-like errors
 * passed in as e when the request itself failed with a response). *odd
 * is set when n8n answered with something other than a JSON page or a
 * 401 (worth a /healthz look).
 */
enum perr n8n_page_read(enum perr e, long status, const char *content_type, const char *body, size_t len,
			struct n8n_counts *counts, char **next, int *odd, char *msg, size_t msglen) PE_WUR;

/*
 * Classifies an answer that is not a usable page, for the log and the
 * source error: status, content type and body of the response. Writes a
 * one-line reason, e.g. "HTTP 401 unauthorized: the API key is wrong".
 */
void n8n_describe_failure(long status, const char *content_type, const char *body, size_t len, char *msg,
			  size_t msglen);

/* Appends the list path for one page: limit, excludePinnedData and the percent-encoded cursor. */
void n8n_page_path(struct buf *out, const char *cursor);

#endif
