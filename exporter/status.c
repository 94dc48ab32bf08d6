/* status.c - the status page and /status JSON: sources with their state and last error. */
#include "status.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

void status_html_escape(struct buf *out, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&':
			buf_adds(out, "&amp;");
			break;
		case '<':
			buf_adds(out, "&lt;");
			break;
		case '>':
			buf_adds(out, "&gt;");
			break;
		case '"':
			buf_adds(out, "&quot;");
			break;
		case '\'':
			buf_adds(out, "&#39;");
			break;
		default:
			buf_addc(out, *s);
		}
	}
}

static void format_time(char *out, size_t n, double t)
{
	if (t <= 0) {
		snprintf(out, n, "never");
		return;
	}
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, n, "%Y-%m-%d %H:%M:%SZ", &tm);
}

static const char page_head[] =
	"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	"<title>persistence_exporter</title>\n<style>\n"
	"body{font-family:system-ui,sans-serif;margin:1rem;color:#222}\n"
	"table{border-collapse:collapse;width:100%;margin-bottom:1.5rem}\n"
	"th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #ddd;font-size:.95rem}\n"
	".ok{color:#176f2c;font-weight:600}.bad{color:#b3261e;font-weight:600}.unk{color:#8a6d00;font-weight:"
	"600}\n"
	".summary{font-size:1.4rem;margin:.5rem 0 1rem}\n"
	"@media (max-width:600px){th,td{font-size:.85rem;padding:.2rem}}\n"
	"</style></head><body>\n<h1>persistence_exporter</h1>\n";

static void render_sources_html(struct scrape *s, struct buf *out)
{
	buf_adds(out, "<h2>Sources</h2>\n<table><tr><th>source</th><th>kind</th><th>state</th>"
		      "<th>last success</th><th>last error</th></tr>\n");
	for (size_t i = 0; i < scrape_nsources(s); i++) {
		const struct source_result *r = scrape_source(s, i);
		char when[64];
		format_time(when, sizeof(when), r->last_success);
		buf_adds(out, "<tr><td>");
		status_html_escape(out, r->name);
		buf_adds(out, "</td><td>");
		status_html_escape(out, r->kind);
		buf_adds(out, r->up ? "</td><td class=\"ok\">UP" : "</td><td class=\"bad\">DOWN");
		buf_adds(out, "</td><td>");
		buf_adds(out, when);
		buf_adds(out, "</td><td>");
		status_html_escape(out, r->error);
		buf_adds(out, "</td></tr>\n");
	}
	buf_adds(out, "</table>\n");
}

enum perr status_render_html(struct scrape *s, struct buf *out)
{
	buf_adds(out, page_head);
	render_sources_html(s, out);
	buf_adds(out, "<p><a href=\"/metrics\">metrics</a> · <a href=\"/status\">status (JSON)</a> · "
		      "<a href=\"/-/healthy\">health</a></p>\n</body></html>\n");
	return buf_err(out);
}

static cJSON *sources_json(struct scrape *s)
{
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; arr && i < scrape_nsources(s); i++) {
		const struct source_result *r = scrape_source(s, i);
		cJSON *o = cJSON_CreateObject();
		if (!o)
			break;
		cJSON_AddStringToObject(o, "name", r->name);
		cJSON_AddStringToObject(o, "kind", r->kind);
		cJSON_AddBoolToObject(o, "up", r->up);
		cJSON_AddNumberToObject(o, "last_success", r->last_success);
		cJSON_AddNumberToObject(o, "duration_seconds", r->duration);
		cJSON_AddStringToObject(o, "error", r->error);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

enum perr status_render_json(struct scrape *s, struct buf *out)
{
	cJSON *root = cJSON_CreateObject();
	if (!root)
		return PE_NOMEM;
	cJSON_AddNumberToObject(root, "time", scrape_now(s));
	cJSON_AddItemToObject(root, "sources", sources_json(s));
	char *text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (!text)
		return PE_NOMEM;
	buf_adds(out, text);
	buf_addc(out, '\n');
	free(text);
	return buf_err(out);
}

enum perr status_render_text(struct scrape *s, struct buf *out, int color)
{
	const char *green = color ? "\033[32m" : "", *red = color ? "\033[31m" : "",
		   *off = color ? "\033[0m" : "";
	size_t down = 0, n = scrape_nsources(s);
	buf_addf(out, "%-24s %-10s %-6s %s\n", "SOURCE", "KIND", "STATE", "LAST ERROR");
	for (size_t i = 0; i < n; i++) {
		const struct source_result *r = scrape_source(s, i);
		down += !r->up;
		buf_addf(out, "%-24s %-10s %s%-6s%s %s\n", r->name, r->kind, r->up ? green : red,
			 r->up ? "UP" : "DOWN", off, r->error);
	}
	buf_addf(out, "sources: %zu/%zu up\n", n - down, n);
	return buf_err(out);
}
