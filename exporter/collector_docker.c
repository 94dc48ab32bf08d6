/* collector_docker.c - the Docker collector: container mounts (bind, named or anonymous volume, tmpfs), statefulness. */
#include "collector.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker.h"
#include "log.h"

struct dk_ctx {
	struct collect *c;
	struct fetch_target t;
	struct docker_facts f;
};

static size_t docker_count(const struct config *cfg)
{
	return cfg->ndocker;
}

static const char *docker_source_name(const struct config *cfg, size_t i)
{
	return cfg->docker[i].name;
}

/* 1 when a failed request's message carries the text of errno e (fetch.c quotes strerror). */
static int dk_msg_has_errno(const char *msg, int e)
{
	char tmp[128];
	const char *text = strerror_r(e, tmp, sizeof(tmp));

	return text && text[0] && strstr(msg, text) != NULL;
}

/* Records why the source is down, in the operator's terms for the usual socket problems. */
static void dk_fail(struct dk_ctx *x, enum perr rc, const char *msg)
{
	const char *sock = x->t.unix_socket;

	if (rc == PE_CONNECT && dk_msg_has_errno(msg, ENOENT))
		collect_fail(x->c, "docker socket %s not found: is Docker running?", sock);
	else if (rc == PE_CONNECT && dk_msg_has_errno(msg, EACCES))
		collect_fail(x->c, "permission denied on %s: add the exporter's user to the docker group",
			     sock);
	else if (rc == PE_CONNECT && dk_msg_has_errno(msg, ECONNREFUSED))
		collect_fail(x->c, "docker socket %s refuses connections: is Docker running?", sock);
	else
		collect_fail(x->c, "docker engine on %s: %s", sock, msg);
}

/* GET one answer; its bytes are borrowed until the task ends. */
static enum perr dk_get(struct dk_ctx *x, const char *path, const char **body, size_t *len)
{
	char msg[256];
	enum perr rc = collect_get_body(x->c, &x->t, path, body, len, msg, sizeof(msg));

	if (rc != PE_OK)
		dk_fail(x, rc, msg);
	return rc;
}

/* Logs once per key (a new count logs again): mounts the cardinality caps kept out of mount_info. */
static void dk_warn_dropped(void *ctx, const char *why, const char *ctr_key, const char *ctr, size_t dropped,
			    size_t mounts)
{
	struct dk_ctx *x = ctx;
	char key[512], n[32], total[32];

	snprintf(key, sizeof(key), "docker\x1f%s\x1f%s\x1f%.400s\x1f%zu", x->c->source, why, ctr, dropped);
	if (!collect_once(x->c, key))
		return;
	snprintf(n, sizeof(n), "%zu", dropped);
	snprintf(total, sizeof(total), "%zu", mounts);
	log_warn("docker mounts left out of persistence_docker_container_mount_info", "reason", why, "source",
		 x->c->source, ctr_key, ctr, "dropped", n, "mounts", total);
}

/* A parse failure is the source's error; out of memory is the task's. */
static enum perr dk_parsed(struct dk_ctx *x, enum perr rc)
{
	if (rc == PE_PARSE)
		dk_fail(x, rc, x->f.msg);
	return rc;
}

/*
 * Reads the container list (running and stopped) and the volume list,
 * and publishes nothing unless both were read and understood.
 */
static enum perr docker_collect(struct collect *c)
{
	struct dk_ctx x = {.c = c};
	const struct config_docker *cfg = &c->cfg->docker[c->index];
	const char *body;
	size_t len;
	enum perr rc;

	x.f.cfg = cfg;
	x.t.base_url = "http://localhost";
	x.t.unix_socket = cfg->socket ? cfg->socket : "/var/run/docker.sock";
	x.t.timeout = cfg->timeout > 0 ? cfg->timeout : 5;
	if ((rc = dk_get(&x, DOCKER_PATH_CONTAINERS, &body, &len)) != PE_OK ||
	    (rc = dk_parsed(&x, docker_parse_containers_json(&x.f, body, len))) != PE_OK ||
	    (rc = dk_get(&x, DOCKER_PATH_VOLUMES, &body, &len)) != PE_OK ||
	    (rc = dk_parsed(&x, docker_parse_volumes_json(&x.f, body, len))) != PE_OK ||
	    (rc = dk_parsed(&x, docker_facts_build(&x.f))) != PE_OK)
		goto out;
	docker_emit(&x.f, c->source, c->out, dk_warn_dropped, &x);
	log_debug("docker collected", "source", c->source, "socket", x.t.unix_socket);
out:
	docker_facts_free(&x.f);
	return rc;
}

const struct collector collector_docker = {
	.name = "docker",
	.kind = "docker",
	.phase = 0,
	.count = docker_count,
	.source_name = docker_source_name,
	.collect = docker_collect,
};
