/* docker.h - pure rules over Docker Engine API JSON: anonymous volumes, statefulness, container names. */
#ifndef PE_DOCKER_H
#define PE_DOCKER_H

#include <stddef.h>
#include "config.h"

struct cJSON;

/* The label engines >= 23.0 (API 1.42) put on volumes they create without a name. */
#define DOCKER_LABEL_ANONYMOUS "com.docker.volume.anonymous"
/* The label Compose puts on the volumes it creates from a file's top-level `volumes:`. */
#define DOCKER_LABEL_COMPOSE_VOLUME "com.docker.compose.volume"

/* 1 when s is what the engine generates for an unnamed volume: 64 lowercase hex digits. */
int docker_is_generated_name(const char *s);

/*
 * 1 when the volume is anonymous, 0 when it is named. labels is the
 * volume's Labels object from /volumes (NULL when unknown). In order:
 * the engine's anonymous label wins; a Compose volume label means named;
 * otherwise an engine-generated name (64 hex) means anonymous (engines
 * before 23.0 set no label, nor did later ones for anonymous volumes made
 * through HostConfig.Mounts, as Compose does, until moby PR #48754 in
 * late 2024).
 */
int docker_volume_anonymous(const char *name, const struct cJSON *labels);

/* "true" 1, "false" 0 (any case); -1 for anything else (NULL, "", "yes"). */
int docker_label_bool(const char *value);

/*
 * Whether a container counts as stateful, by the first rule that
 * decides: its label cfg->stateful_label set to true/false; else, when
 * cfg->stateful_names is not empty, whether the name matches one of those
 * fnmatch(3) patterns; else (the default) whether it has a volume or bind
 * mount that is not read-only (has_rw_data). label_value is the
 * container's value of that label, or NULL.
 */
int docker_stateful(const struct config_docker *cfg, const char *label_value, const char *name,
		    int has_rw_data);

/*
 * The container's name for labels: Names[0] without its leading "/",
 * else the first 12 characters of Id (copied to idbuf), else NULL.
 */
const char *docker_container_name(const struct cJSON *ctr, char idbuf[13]);

#endif
