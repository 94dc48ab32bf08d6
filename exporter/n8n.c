/* n8n.c - n8n public API: workflow list pages, failure classification, page paths. */
#include "n8n.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A JSON boolean, or the numbers 0/1; -1 for anything else. */
static int json_flag(const cJSON *v)
{
	if (cJSON_IsBool(v))
		return cJSON_IsTrue(v);
	if (cJSON_IsNumber(v) && (v->valuedouble == 0 || v->valuedouble == 1))
		return v->valuedouble == 1;
	return -1;
}

/* Classifies one workflow object into *add; -1 when its fields have the wrong type. */
static int page_count_one(const cJSON *wf, struct n8n_counts *add)
{
	if (!cJSON_IsObject(wf))
		return -1;
	int active = json_flag(cJSON_GetObjectItemCaseSensitive(wf, "active"));
	const cJSON *arch = cJSON_GetObjectItemCaseSensitive(wf, "isArchived");
	int archived = (!arch || cJSON_IsNull(arch)) ? 0 : json_flag(arch);
	if (active < 0 || archived < 0)
		return -1;
	if (archived)
		add->archived++;
	else if (active)
		add->active++;
	else
		add->inactive++;
	return 0;
}

/* Copies nextCursor into *next (NULL when absent or null); -1 when it has a wrong type or is empty. */
static int page_cursor(const cJSON *page, char **next)
{
	const cJSON *cur = cJSON_GetObjectItemCaseSensitive(page, "nextCursor");
	*next = NULL;
	if (!cur || cJSON_IsNull(cur))
		return 0;
	if (!cJSON_IsString(cur) || !cur->valuestring[0])
		return -1;
	*next = strdup(cur->valuestring);
	return *next ? 0 : -1;
}

enum perr n8n_page_parse(const cJSON *page, struct n8n_counts *counts, char **next, char *msg, size_t msglen)
{
	struct n8n_counts add = {0, 0, 0};
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(page, "data");
	const cJSON *wf;
	size_t i = 0;

	*next = NULL;
	if (!cJSON_IsObject(page) || !cJSON_IsArray(data)) {
		snprintf(msg, msglen, "workflow list: no \"data\" array");
		return PE_PARSE;
	}
	cJSON_ArrayForEach(wf, data)
	{
		if (page_count_one(wf, &add) < 0) {
			snprintf(msg, msglen,
				 "workflow list: element %zu lacks a boolean \"active\"/\"isArchived\"", i);
			return PE_PARSE;
		}
		i++;
	}
	if (page_cursor(page, next) < 0) {
		snprintf(msg, msglen, "workflow list: \"nextCursor\" is neither a string nor null");
		return PE_PARSE;
	}
	counts->active += add.active;
	counts->inactive += add.inactive;
	counts->archived += add.archived;
	return PE_OK;
}

static int looks_like_html(const char *content_type, const char *body, size_t len)
{
	if (content_type && strstr(content_type, "text/html"))
		return 1;
	while (len > 0 && (*body == ' ' || *body == '\n' || *body == '\r' || *body == '\t'))
		body++, len--;
	return len > 0 && *body == '<';
}

/* Bounded substring search: body is not NUL-terminated for sure. */
static int body_has(const char *body, size_t len, const char *needle)
{
	return body && memmem(body, len, needle, strlen(needle)) != NULL;
}

static void describe_401(const char *body, size_t len, char *msg, size_t msglen)
{
	if (body_has(body, len, "invalid signature"))
		snprintf(msg, msglen,
			 "HTTP 401 invalid signature: the API key was signed with another secret "
			 "(n8n rebuilt with a new encryption key or JWT secret?); create a new API key");
	else if (body_has(body, len, "unauthorized"))
		snprintf(msg, msglen, "HTTP 401 unauthorized: the API key is wrong, revoked or expired");
	else if (body_has(body, len, "header required"))
		snprintf(msg, msglen, "HTTP 401: no API key was sent (api_key_file empty?)");
	else
		snprintf(msg, msglen, "HTTP 401: the API key was refused");
}

void n8n_describe_failure(long status, const char *content_type, const char *body, size_t len, char *msg,
			  size_t msglen)
{
	int html = len > 0 && looks_like_html(content_type, body, len);

	if (status == 401)
		describe_401(body, len, msg, msglen);
	else if (html && body_has(body, len, "starting up"))
		snprintf(msg, msglen, "HTTP %ld HTML: n8n is starting up", status);
	else if (status == 404 && html)
		snprintf(msg, msglen,
			 "HTTP 404 HTML: the public API is not mounted (N8N_PUBLIC_API_DISABLED, or n8n "
			 "still starting)");
	else if (html)
		snprintf(msg, msglen, "HTTP %ld: HTML instead of JSON", status);
	else if (status == 403)
		snprintf(msg, msglen, "HTTP 403: the API key may not list workflows (scopes)");
	else if (status == 429)
		snprintf(msg, msglen, "HTTP 429: rate limited by n8n");
	else if (status >= 200 && status < 300 && len == 0)
		snprintf(msg, msglen, "HTTP %ld with an empty body", status);
	else if (status >= 200 && status < 300)
		snprintf(msg, msglen, "HTTP %ld: body is not valid JSON (truncated or garbage, %zu bytes)",
			 status, len);
	else
		snprintf(msg, msglen, "HTTP %ld", status);
}

static void urlencode(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-._~", c)) {
			buf_addc(out, (char)c);
			continue;
		}
		buf_addc(out, '%');
		buf_addc(out, hex[c >> 4]);
		buf_addc(out, hex[c & 15]);
	}
}

void n8n_page_path(struct buf *out, const char *cursor)
{
	buf_addf(out, "/api/v1/workflows?limit=%d&excludePinnedData=true", N8N_PAGE_LIMIT);
	if (cursor) {
		buf_adds(out, "&cursor=");
		urlencode(out, cursor);
	}
}

enum perr n8n_page_read(enum perr e, long status, const char *content_type, const char *body, size_t len,
			struct n8n_counts *counts, char **next, int *odd, char *msg, size_t msglen)
{
	cJSON *doc = e == PE_OK ? cJSON_ParseWithLength(body ? body : "", body ? len : 0) : NULL;

	*next = NULL;
	if (!doc) {
		n8n_describe_failure(status, content_type, body, len, msg, msglen);
		*odd = status != 401;
		return e ? e : PE_PARSE;
	}
	e = n8n_page_parse(doc, counts, next, msg, msglen);
	cJSON_Delete(doc);
	return e;
}
