/* inventory.c - the backup inventory report: freeing it, its summary line, and how ages and docs are shown. */
#include "inventory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void inventory_guest_clear(struct inventory_guest *g)
{
	free(g->source);
	free(g->name);
	free(g->node);
	free(g->type);
}

void inventory_report_free(void *report)
{
	struct inventory_report *r = report;
	if (!r)
		return;
	for (size_t i = 0; i < r->nuninventoried; i++)
		inventory_guest_clear(&r->uninventoried[i]);
	free(r->uninventoried);
	for (size_t i = 0; r->targets && i < r->ntargets; i++) {
		for (size_t k = 0; k < r->targets[i].restore.nplaces; k++)
			free(r->targets[i].restore.places[k].name);
		free(r->targets[i].restore.places);
	}
	free(r->targets);
	free(r);
}

const char *inventory_state_str(enum inventory_state s)
{
	switch (s) {
	case INVENTORY_OK:
		return "OK";
	case INVENTORY_DEGRADED:
		return "DEGRADED";
	default:
		return "UNKNOWN";
	}
}

void inventory_summary(const struct inventory_report *r, char *out, size_t n)
{
	int len = snprintf(out, n, "%zu/%zu OK, %zu degraded", r->nok, r->ntargets, r->ndegraded);
	if (r->nunknown && len >= 0 && (size_t)len < n)
		snprintf(out + len, n - (size_t)len, ", %zu unknown", r->nunknown);
}

void inventory_format_age(char *out, size_t n, double seconds)
{
	static const struct {
		const char *unit;
		long secs;
	} units[] = {{"d", 86400}, {"h", 3600}, {"m", 60}, {"s", 1}};
	long v = seconds > 0 ? (long)seconds : 0;
	for (size_t i = 0; i < 3; i++) {
		if (v < units[i].secs)
			continue;
		long hi = v / units[i].secs, lo = (v % units[i].secs) / units[i + 1].secs;
		if (lo)
			snprintf(out, n, "%ld%s %ld%s", hi, units[i].unit, lo, units[i + 1].unit);
		else
			snprintf(out, n, "%ld%s", hi, units[i].unit);
		return;
	}
	snprintf(out, n, "%lds", v);
}

void inventory_format_max_age(char *out, size_t n, double seconds)
{
	long v = seconds > 0 ? (long)seconds : 0;
	if (v && v % 86400 == 0)
		snprintf(out, n, "%ldd", v / 86400);
	else if (v && v % 3600 == 0)
		snprintf(out, n, "%ldh", v / 3600);
	else if (v && v % 60 == 0)
		snprintf(out, n, "%ldm", v / 60);
	else
		snprintf(out, n, "%lds", v);
}

int inventory_doc_is_url(const char *doc)
{
	return doc && (strncasecmp(doc, "http://", 7) == 0 || strncasecmp(doc, "https://", 8) == 0) &&
	       doc[doc[4] == ':' ? 7 : 8] != '\0';
}
