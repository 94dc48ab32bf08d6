/* runbook.c - finds the embedded runbook pages and renders their index. */
#include "runbook.h"

#include <string.h>

const struct runbook *runbook_find(const char *name)
{
	size_t len = strlen(name);
	if (len > 3 && strcmp(name + len - 3, ".md") == 0)
		len -= 3;
	for (size_t i = 0; i < runbook_count; i++)
		if (strlen(runbook_table[i].name) == len && strncmp(runbook_table[i].name, name, len) == 0)
			return &runbook_table[i];
	return NULL;
}

enum perr runbook_index(struct buf *out)
{
	buf_adds(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
		      "<title>persistence_exporter runbooks</title></head>"
		      "<body style=\"font-family:system-ui,sans-serif;max-width:52rem;margin:1.5rem auto\">\n"
		      "<p><a href=\"../\">exporter status</a></p>\n<h1>Runbooks</h1>\n<ul>\n");
	for (size_t i = 0; i < runbook_count; i++) /* names are [A-Za-z0-9]: nothing to escape */
		buf_addf(out, "<li><a href=\"%s\">%s</a></li>\n", runbook_table[i].name,
			 runbook_table[i].name);
	buf_adds(out, "</ul>\n</body></html>\n");
	return buf_err(out);
}
