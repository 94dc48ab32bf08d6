/* pve_pbs.c - which PVE storages are datastores of a configured pbs: source (pure: JSON in, matches out). */
#include "pve_pbs.h"

#include <stdio.h>
#include <string.h>

#include "cJSON.h"
#include "pbs.h"
#include "pve.h"

size_t pve_pbs_match_each(const cJSON *list, const struct config *cfg,
			  void (*cb)(void *ctx, const struct pve_pbs_match *m), void *ctx)
{
	const cJSON *it;
	size_t n = 0;

	cJSON_ArrayForEach(it, list)
	{
		const char *type = pve_json_str(it, "type"), *sid = pve_json_str(it, "storage");
		const char *server = pve_json_str(it, "server"), *store = pve_json_str(it, "datastore");
		const char *ns = pve_json_str(it, "namespace");
		double port = 0;

		if (!type || strcmp(type, "pbs") != 0 || !sid || !*sid || !server || !store || !*store)
			continue;
		if (!pve_json_num(it, "port", &port) || port < 0 || port > 65535)
			port = 0;
		for (size_t i = 0; i < cfg->npbs; i++) {
			const struct config_pbs *p = &cfg->pbs[i];
			struct pve_pbs_match m = {sid, p->name, store, ns ? ns : ""};
			if (!pbs_same_server(p->url, p->tls.fingerprint, server, (long)port,
					     pve_json_str(it, "fingerprint")) ||
			    !pbs_store_selected(store, p->datastores, p->ndatastores))
				continue;
			cb(ctx, &m);
			n++;
			break;
		}
	}
	return n;
}

enum perr pve_pbs_match_body(const char *body, size_t len, const struct config *cfg,
			     void (*cb)(void *ctx, const struct pve_pbs_match *m), void *ctx, char *msg,
			     size_t msglen)
{
	cJSON *doc = body ? cJSON_ParseWithLength(body, len) : NULL;
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(doc, "data");

	if (!cJSON_IsArray(list)) {
		snprintf(msg, msglen, doc ? "data is not an array" : "invalid or truncated JSON");
		cJSON_Delete(doc);
		return PE_PARSE;
	}
	(void)pve_pbs_match_each(list, cfg, cb, ctx);
	cJSON_Delete(doc);
	return PE_OK;
}
