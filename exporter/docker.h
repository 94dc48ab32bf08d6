/* docker.h - pure rules over Docker Engine API JSON: anonymous volumes, statefulness, container names. */
#ifndef PE_DOCKER_H
#define PE_DOCKER_H

#include <stddef.h>
#include "config.h"
#include "err.h"
#include "expfmt.h"

struct cJSON;

/* Unversioned paths: the engine answers at its own API version (see docs/docker.md). */
#define DOCKER_PATH_CONTAINERS "/containers/json?all=1"
#define DOCKER_PATH_VOLUMES "/volumes"

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

/* A mount of a container as published: mount_type is bind, volume, anonymous or tmpfs. */
struct docker_mount {
	const char *type;
	const char *dest;
	const char *volume; /* the volume's name; "" for other types */
};

struct docker_container {
	const char *name;
	char idbuf[13]; /* short Id when the container has no name */
	struct docker_mount *mounts; /* sorted by destination, duplicates removed */
	size_t nmounts;
	size_t nanon; /* anonymous volumes, all of them */
	int stateful;
};

/*
 * What /containers/json?all=1 and /volumes say together (docker_facts.c),
 * pure: the answers' bytes in, containers out. Strings point into the
 * parsed answers the facts own; docker_facts_free() releases all. On
 * PE_PARSE msg says what is wrong, naming the request ("GET /volumes:
 * ...") and the container when there is one.
 */
struct docker_facts {
	const struct config_docker *cfg; /* borrowed: label and name rules */
	struct cJSON *containers, *volumes;
	const struct cJSON **vols; /* items of /volumes, sorted by Name */
	size_t nvols;
	struct docker_container *ctr;
	struct docker_container **order; /* ctr sorted by name */
	size_t nctr;
	char msg[256];
};

/* Both answers at once (tests, fuzzing); out->cfg is set from cfg. */
enum perr docker_parse(const struct config_docker *cfg, const char *containers, size_t clen,
		       const char *volumes, size_t vlen, struct docker_facts *out) PE_WUR;
/* The same in steps, as the collector reads the answers: each body's JSON, then the facts. */
enum perr docker_parse_containers_json(struct docker_facts *x, const char *body, size_t len) PE_WUR;
enum perr docker_parse_volumes_json(struct docker_facts *x, const char *body, size_t len) PE_WUR;
enum perr docker_facts_build(struct docker_facts *x) PE_WUR;
void docker_facts_free(struct docker_facts *x);

/*
 * The samples of the facts for source src: per container its anonymous
 * volumes, statefulness and mounts (at most 32 per container and 2,000
 * per host; dropped(ctx, why, label, container, n, mounts) tells which
 * caps cut what).
 */
void docker_emit(const struct docker_facts *x, const char *src, struct expfmt *out,
		 void (*dropped)(void *ctx, const char *why, const char *ctr_key, const char *ctr, size_t n,
				 size_t mounts),
		 void *ctx);

#endif
