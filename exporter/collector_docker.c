/* collector_docker.c - the Docker collector: container mounts (bind, named or anonymous volume, tmpfs), statefulness. */
#include "collector.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "docker.h"
#include "log.h"

#define DK_MAX_MOUNTS_PER_CONTAINER 32 /* mount_info samples per container */
#define DK_MAX_MOUNTS_PER_SOURCE 2000 /* mount_info samples per Docker host */
/* Unversioned paths: the engine answers at its own API version (see docs/docker.md). */
#define DK_PATH_CONTAINERS "/containers/json?all=1"
#define DK_PATH_VOLUMES "/volumes"

static const struct expfmt_desc d_mount_info = {"persistence_docker_container_mount_info", EXPFMT_GAUGE,
						"A mount of a container (running or stopped); mount_type is "
						"bind, volume (named), anonymous or tmpfs."};
static const struct expfmt_desc d_anon = {
	"persistence_docker_anonymous_volumes", EXPFMT_GAUGE,
	"Anonymous volumes mounted by the container: their data is lost when it is recreated."};
static const struct expfmt_desc d_stateful = {
	"persistence_docker_container_stateful", EXPFMT_GAUGE,
	"1 when the container counts as stateful (label, name pattern, or a writable volume or bind mount)."};

struct dk_mount {
	const char *type; /* the exported mount_type */
	const char *dest;
	const char *volume; /* the volume's name; "" for other types */
};

struct dk_container {
	const char *name;
	char idbuf[13]; /* short Id when the container has no name */
	struct dk_mount *mounts; /* sorted by destination, duplicates removed */
	size_t nmounts;
	size_t nanon; /* anonymous volumes, all of them */
	int stateful;
};

struct dk_ctx {
	struct collect *c;
	const struct config_docker *cfg;
	struct fetch_target t;
	const cJSON **vols; /* items of /volumes, sorted by Name */
	size_t nvols;
	struct dk_container *ctr;
	struct dk_container **order; /* ctr sorted by name */
	size_t nctr;
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

static enum perr dk_get(struct dk_ctx *x, const char *path, cJSON **doc)
{
	char msg[256];
	enum perr rc = collect_get_json(x->c, &x->t, path, doc, msg, sizeof(msg));

	if (rc != PE_OK)
		dk_fail(x, rc, msg);
	return rc;
}

/* A malformed answer: the source goes down with this reason. */
static enum perr dk_bad(struct dk_ctx *x, const char *path, const char *what, const char *who)
{
	char msg[256];

	if (who)
		snprintf(msg, sizeof(msg), "GET %s: container \"%.60s\": %s", path, who, what);
	else
		snprintf(msg, sizeof(msg), "GET %s: %s", path, what);
	dk_fail(x, PE_PARSE, msg);
	return PE_PARSE;
}

/* A member that must be an object or array when present: 1 when absent, null or of that type. */
static int dk_optional(const cJSON *o, const char *key, int array)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return !v || cJSON_IsNull(v) || (array ? cJSON_IsArray(v) : cJSON_IsObject(v));
}

static const char *dk_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int dk_cmp_vol(const void *a, const void *b)
{
	return strcmp(dk_str(*(const cJSON *const *)a, "Name"), dk_str(*(const cJSON *const *)b, "Name"));
}

/* Indexes /volumes ({"Volumes": [...] or null, "Warnings": ...}) by name. */
static enum perr dk_index_volumes(struct dk_ctx *x, const cJSON *doc)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(doc, "Volumes");
	const cJSON *v;

	if (!cJSON_IsObject(doc) || !dk_optional(doc, "Volumes", 1))
		return dk_bad(x, DK_PATH_VOLUMES, "expected an object with a Volumes list", NULL);
	if (!cJSON_IsArray(list))
		return PE_OK;
	x->vols = calloc((size_t)cJSON_GetArraySize(list) + 1, sizeof(*x->vols));
	if (!x->vols)
		return PE_NOMEM;
	cJSON_ArrayForEach(v, list)
	{
		if (!cJSON_IsObject(v) || !dk_str(v, "Name") || !dk_optional(v, "Labels", 0))
			return dk_bad(x, DK_PATH_VOLUMES, "a volume without a Name or with bad Labels", NULL);
		x->vols[x->nvols++] = v;
	}
	qsort(x->vols, x->nvols, sizeof(*x->vols), dk_cmp_vol);
	return PE_OK;
}

/* The Labels of the volume called name, NULL when /volumes does not list it. */
static const cJSON *dk_volume_labels(const struct dk_ctx *x, const char *name)
{
	size_t lo = 0, hi = x->nvols;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, dk_str(x->vols[mid], "Name"));
		if (c == 0)
			return cJSON_GetObjectItemCaseSensitive(x->vols[mid], "Labels");
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/*
 * Classifies one item of a container's Mounts into out. *rw_data is set
 * when it is a volume or bind mount that is not read-only. NULL on
 * success, else what is wrong with it.
 */
static const char *dk_parse_mount(const struct dk_ctx *x, const cJSON *m, struct dk_mount *out,
				  struct dk_container *k, int *rw_data)
{
	const char *type = dk_str(m, "Type"), *name = dk_str(m, "Name");
	const cJSON *rw = cJSON_GetObjectItemCaseSensitive(m, "RW");
	int writable = !rw || cJSON_IsTrue(rw);

	if (!cJSON_IsObject(m) || !type || !type[0] || !dk_str(m, "Destination"))
		return "a mount without Type or Destination";
	if (rw && !cJSON_IsBool(rw))
		return "a mount whose RW is not a boolean";
	out->dest = dk_str(m, "Destination");
	out->volume = "";
	out->type = type;
	if (strcmp(type, "volume") == 0) {
		if (!name || !name[0])
			return "a volume mount without a Name";
		int anon = docker_volume_anonymous(name, dk_volume_labels(x, name));
		out->type = anon ? "anonymous" : "volume";
		out->volume = name;
		k->nanon += (size_t)anon;
		*rw_data |= writable;
	} else if (strcmp(type, "bind") == 0) {
		*rw_data |= writable;
	}
	return NULL;
}

static int dk_cmp_mount(const void *a, const void *b)
{
	return strcmp(((const struct dk_mount *)a)->dest, ((const struct dk_mount *)b)->dest);
}

/* Sorts a container's mounts by destination and drops repeated destinations (one series each). */
static void dk_sort_mounts(struct dk_container *k)
{
	size_t w = 0;

	qsort(k->mounts, k->nmounts, sizeof(*k->mounts), dk_cmp_mount);
	for (size_t r = 0; r < k->nmounts; r++)
		if (w == 0 || strcmp(k->mounts[w - 1].dest, k->mounts[r].dest) != 0)
			k->mounts[w++] = k->mounts[r];
	k->nmounts = w;
}

static enum perr dk_parse_mounts(struct dk_ctx *x, const cJSON *item, struct dk_container *k, int *rw_data)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(item, "Mounts");
	const cJSON *m;

	if (!dk_optional(item, "Mounts", 1))
		return dk_bad(x, DK_PATH_CONTAINERS, "Mounts is not a list", k->name);
	if (!cJSON_IsArray(list))
		return PE_OK;
	k->mounts = calloc((size_t)cJSON_GetArraySize(list) + 1, sizeof(*k->mounts));
	if (!k->mounts)
		return PE_NOMEM;
	cJSON_ArrayForEach(m, list)
	{
		const char *why = dk_parse_mount(x, m, &k->mounts[k->nmounts], k, rw_data);
		if (why)
			return dk_bad(x, DK_PATH_CONTAINERS, why, k->name);
		k->nmounts++;
	}
	dk_sort_mounts(k);
	return PE_OK;
}

/* One item of /containers/json into k: name, mounts, anonymous count, statefulness. */
static enum perr dk_parse_container(struct dk_ctx *x, const cJSON *item, struct dk_container *k)
{
	const cJSON *labels = cJSON_GetObjectItemCaseSensitive(item, "Labels");
	const char *label_value = NULL;
	int rw_data = 0;
	enum perr rc;

	if (!cJSON_IsObject(item))
		return dk_bad(x, DK_PATH_CONTAINERS, "a container that is not an object", NULL);
	k->name = docker_container_name(item, k->idbuf);
	if (!k->name)
		return dk_bad(x, DK_PATH_CONTAINERS, "a container without Names or Id", NULL);
	if (!dk_optional(item, "Labels", 0))
		return dk_bad(x, DK_PATH_CONTAINERS, "Labels is not an object", k->name);
	if ((rc = dk_parse_mounts(x, item, k, &rw_data)) != PE_OK)
		return rc;
	if (x->cfg->stateful_label && x->cfg->stateful_label[0] && cJSON_IsObject(labels))
		label_value = dk_str(labels, x->cfg->stateful_label);
	k->stateful = docker_stateful(x->cfg, label_value, k->name, rw_data);
	return PE_OK;
}

static int dk_cmp_ctr(const void *a, const void *b)
{
	return strcmp((*(struct dk_container *const *)a)->name, (*(struct dk_container *const *)b)->name);
}

/* Parses every container, then orders them by name; two containers with one name are an error. */
static enum perr dk_parse_containers(struct dk_ctx *x, const cJSON *list)
{
	const cJSON *item;
	size_t n = cJSON_IsArray(list) ? (size_t)cJSON_GetArraySize(list) : 0;
	enum perr rc;

	if (!cJSON_IsArray(list))
		return dk_bad(x, DK_PATH_CONTAINERS, "expected a JSON array of containers", NULL);
	x->ctr = calloc(n + 1, sizeof(*x->ctr));
	x->order = calloc(n + 1, sizeof(*x->order));
	if (!x->ctr || !x->order)
		return PE_NOMEM;
	cJSON_ArrayForEach(item, list)
	{
		struct dk_container *k = &x->ctr[x->nctr++];
		if ((rc = dk_parse_container(x, item, k)) != PE_OK)
			return rc;
	}
	for (size_t i = 0; i < x->nctr; i++)
		x->order[i] = &x->ctr[i];
	qsort(x->order, x->nctr, sizeof(*x->order), dk_cmp_ctr);
	for (size_t i = 1; i < x->nctr; i++)
		if (strcmp(x->order[i - 1]->name, x->order[i]->name) == 0)
			return dk_bad(x, DK_PATH_CONTAINERS, "two containers have this name",
				      x->order[i]->name);
	return PE_OK;
}

/* Logs once per key (a new count logs again): mounts the cardinality caps kept out of mount_info. */
static void dk_warn_dropped(struct dk_ctx *x, const char *why, const char *ctr_key, const char *ctr,
			    size_t dropped, size_t mounts)
{
	char key[512], n[32], total[32];

	snprintf(key, sizeof(key), "docker\x1f%s\x1f%s\x1f%.400s\x1f%zu", x->c->source, why, ctr, dropped);
	if (!collect_once(x->c, key))
		return;
	snprintf(n, sizeof(n), "%zu", dropped);
	snprintf(total, sizeof(total), "%zu", mounts);
	log_warn("docker mounts left out of persistence_docker_container_mount_info", "reason", why, "source",
		 x->c->source, ctr_key, ctr, "dropped", n, "mounts", total);
}

/* Emits every sample; runs only once every answer was read and understood. */
static void dk_emit(struct dk_ctx *x)
{
	const char *src = x->c->source, *first_cut = NULL;
	size_t budget = DK_MAX_MOUNTS_PER_SOURCE, cut = 0, total = 0;

	for (size_t i = 0; i < x->nctr; i++) {
		const struct dk_container *k = x->order[i];
		size_t want =
			k->nmounts < DK_MAX_MOUNTS_PER_CONTAINER ? k->nmounts : DK_MAX_MOUNTS_PER_CONTAINER;
		size_t emit = want < budget ? want : budget;
		expfmt_add(x->c->out, &d_anon, (double)k->nanon, "source", src, "container", k->name, NULL);
		expfmt_add(x->c->out, &d_stateful, k->stateful, "source", src, "container", k->name, NULL);
		for (size_t j = 0; j < emit; j++) {
			const struct dk_mount *m = &k->mounts[j];
			expfmt_add(x->c->out, &d_mount_info, 1, "source", src, "container", k->name,
				   "destination", m->dest, "mount_type", m->type, "volume", m->volume, NULL);
		}
		budget -= emit;
		total += k->nmounts;
		if (want < k->nmounts)
			dk_warn_dropped(x, "more than 32 mounts in one container", "container", k->name,
					k->nmounts - want, k->nmounts);
		if (emit < want && !first_cut)
			first_cut = k->name;
		cut += want - emit;
	}
	if (cut)
		dk_warn_dropped(x, "more than 2000 mounts on one Docker host", "first_container", first_cut,
				cut, total);
}

static void dk_ctx_free(struct dk_ctx *x)
{
	for (size_t i = 0; i < x->nctr; i++)
		free(x->ctr[i].mounts);
	free(x->ctr);
	free(x->order);
	free(x->vols);
}

/*
 * Reads the container list (running and stopped) and the volume list,
 * and publishes nothing unless both were read and understood.
 */
static enum perr docker_collect(struct collect *c)
{
	struct dk_ctx x = {.c = c, .cfg = &c->cfg->docker[c->index]};
	cJSON *containers = NULL, *volumes = NULL;
	enum perr rc;

	x.t.base_url = "http://localhost";
	x.t.unix_socket = x.cfg->socket ? x.cfg->socket : "/var/run/docker.sock";
	x.t.timeout = x.cfg->timeout > 0 ? x.cfg->timeout : 5;
	if ((rc = dk_get(&x, DK_PATH_CONTAINERS, &containers)) != PE_OK ||
	    (rc = dk_get(&x, DK_PATH_VOLUMES, &volumes)) != PE_OK)
		goto out;
	if ((rc = dk_index_volumes(&x, volumes)) != PE_OK ||
	    (rc = dk_parse_containers(&x, containers)) != PE_OK)
		goto out;
	dk_emit(&x);
	log_debug("docker collected", "source", c->source, "socket", x.t.unix_socket);
out:
	dk_ctx_free(&x);
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
