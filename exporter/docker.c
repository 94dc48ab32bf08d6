/* docker.c - pure rules over Docker Engine API JSON: anonymous volumes, statefulness, container names. */
#include "docker.h"

#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cJSON.h"

int docker_is_generated_name(const char *s)
{
	size_t n = 0;

	if (!s)
		return 0;
	for (; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return 0;
	return n == 64;
}

int docker_volume_anonymous(const char *name, const cJSON *labels)
{
	if (cJSON_IsObject(labels)) {
		if (cJSON_GetObjectItemCaseSensitive(labels, DOCKER_LABEL_ANONYMOUS))
			return 1;
		if (cJSON_GetObjectItemCaseSensitive(labels, DOCKER_LABEL_COMPOSE_VOLUME))
			return 0;
	}
	return docker_is_generated_name(name);
}

int docker_label_bool(const char *value)
{
	if (!value)
		return -1;
	if (strcasecmp(value, "true") == 0)
		return 1;
	if (strcasecmp(value, "false") == 0)
		return 0;
	return -1;
}

int docker_stateful(const struct config_docker *cfg, const char *label_value, const char *name,
		    int has_rw_data)
{
	int forced = docker_label_bool(label_value);

	if (forced >= 0)
		return forced;
	if (cfg->nstateful_names == 0)
		return has_rw_data != 0;
	for (size_t i = 0; i < cfg->nstateful_names; i++)
		if (name && fnmatch(cfg->stateful_names[i], name, 0) == 0)
			return 1;
	return 0;
}

const char *docker_container_name(const cJSON *ctr, char idbuf[13])
{
	const cJSON *names = cJSON_GetObjectItemCaseSensitive(ctr, "Names");
	const cJSON *first = cJSON_IsArray(names) ? cJSON_GetArrayItem(names, 0) : NULL;
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(ctr, "Id");

	if (cJSON_IsString(first) && first->valuestring[0]) {
		const char *n = first->valuestring;
		if (n[0] == '/' && n[1])
			return n + 1;
		if (n[0] != '/')
			return n;
	}
	if (cJSON_IsString(id) && id->valuestring[0]) {
		snprintf(idbuf, 13, "%.12s", id->valuestring);
		return idbuf;
	}
	return NULL;
}
