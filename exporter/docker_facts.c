/* docker_facts.c - the Docker Engine's answers as facts (containers, their mounts, statefulness) and their samples. */
#include "docker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"

#define DK_MAX_MOUNTS_PER_CONTAINER 32 /* mount_info samples per container */
#define DK_MAX_MOUNTS_PER_SOURCE 2000 /* mount_info samples per Docker host */

static const struct expfmt_desc d_mount_info = {"persistence_docker_container_mount_info", EXPFMT_GAUGE,
						"A mount of a container (running or stopped); mount_type is "
						"bind, volume (named), anonymous or tmpfs."};
static const struct expfmt_desc d_anon = {
	"persistence_docker_anonymous_volumes", EXPFMT_GAUGE,
	"Anonymous volumes mounted by the container: their data is lost when it is recreated."};
static const struct expfmt_desc d_stateful = {
	"persistence_docker_container_stateful", EXPFMT_GAUGE,
	"1 when the container counts as stateful (label, name pattern, or a writable volume or bind mount)."};

/* A malformed answer: the reason (naming the request and the container) goes to x->msg. */
static enum perr dk_bad(struct docker_facts *x, const char *path, const char *what, const char *who)
{
	if (who)
		snprintf(x->msg, sizeof(x->msg), "GET %s: container \"%.60s\": %s", path, who, what);
	else
		snprintf(x->msg, sizeof(x->msg), "GET %s: %s", path, what);
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
static enum perr dk_index_volumes(struct docker_facts *x, const cJSON *doc)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(doc, "Volumes");
	const cJSON *v;

	if (!cJSON_IsObject(doc) || !dk_optional(doc, "Volumes", 1))
		return dk_bad(x, DOCKER_PATH_VOLUMES, "expected an object with a Volumes list", NULL);
	if (!cJSON_IsArray(list))
		return PE_OK;
	x->vols = calloc((size_t)cJSON_GetArraySize(list) + 1, sizeof(*x->vols));
	if (!x->vols)
		return PE_NOMEM;
	cJSON_ArrayForEach(v, list)
	{
		if (!cJSON_IsObject(v) || !dk_str(v, "Name") || !dk_optional(v, "Labels", 0))
			return dk_bad(x, DOCKER_PATH_VOLUMES, "a volume without a Name or with bad Labels",
				      NULL);
		x->vols[x->nvols++] = v;
	}
	qsort(x->vols, x->nvols, sizeof(*x->vols), dk_cmp_vol);
	return PE_OK;
}

/* The Labels of the volume called name, NULL when /volumes does not list it. */
static const cJSON *dk_volume_labels(const struct docker_facts *x, const char *name)
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
static const char *dk_parse_mount(const struct docker_facts *x, const cJSON *m, struct docker_mount *out,
				  struct docker_container *k, int *rw_data)
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
	return strcmp(((const struct docker_mount *)a)->dest, ((const struct docker_mount *)b)->dest);
}

/* Sorts a container's mounts by destination and drops repeated destinations (one series each). */
static void dk_sort_mounts(struct docker_container *k)
{
	size_t w = 0;

	qsort(k->mounts, k->nmounts, sizeof(*k->mounts), dk_cmp_mount);
	for (size_t r = 0; r < k->nmounts; r++)
		if (w == 0 || strcmp(k->mounts[w - 1].dest, k->mounts[r].dest) != 0)
			k->mounts[w++] = k->mounts[r];
	k->nmounts = w;
}

static enum perr dk_parse_mounts(struct docker_facts *x, const cJSON *item, struct docker_container *k,
				 int *rw_data)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(item, "Mounts");
	const cJSON *m;

	if (!dk_optional(item, "Mounts", 1))
		return dk_bad(x, DOCKER_PATH_CONTAINERS, "Mounts is not a list", k->name);
	if (!cJSON_IsArray(list))
		return PE_OK;
	k->mounts = calloc((size_t)cJSON_GetArraySize(list) + 1, sizeof(*k->mounts));
	if (!k->mounts)
		return PE_NOMEM;
	cJSON_ArrayForEach(m, list)
	{
		const char *why = dk_parse_mount(x, m, &k->mounts[k->nmounts], k, rw_data);
		if (why)
			return dk_bad(x, DOCKER_PATH_CONTAINERS, why, k->name);
		k->nmounts++;
	}
	dk_sort_mounts(k);
	return PE_OK;
}

/* One item of /containers/json into k: name, mounts, anonymous count, statefulness. */
static enum perr dk_parse_container(struct docker_facts *x, const cJSON *item, struct docker_container *k)
{
	const cJSON *labels = cJSON_GetObjectItemCaseSensitive(item, "Labels");
	const char *label_value = NULL;
	int rw_data = 0;
	enum perr rc;

	if (!cJSON_IsObject(item))
		return dk_bad(x, DOCKER_PATH_CONTAINERS, "a container that is not an object", NULL);
	k->name = docker_container_name(item, k->idbuf);
	if (!k->name)
		return dk_bad(x, DOCKER_PATH_CONTAINERS, "a container without Names or Id", NULL);
	if (!dk_optional(item, "Labels", 0))
		return dk_bad(x, DOCKER_PATH_CONTAINERS, "Labels is not an object", k->name);
	if ((rc = dk_parse_mounts(x, item, k, &rw_data)) != PE_OK)
		return rc;
	if (x->cfg->stateful_label && x->cfg->stateful_label[0] && cJSON_IsObject(labels))
		label_value = dk_str(labels, x->cfg->stateful_label);
	k->stateful = docker_stateful(x->cfg, label_value, k->name, rw_data);
	return PE_OK;
}

static int dk_cmp_ctr(const void *a, const void *b)
{
	return strcmp((*(struct docker_container *const *)a)->name,
		      (*(struct docker_container *const *)b)->name);
}

/* Parses every container, then orders them by name; two containers with one name are an error. */
static enum perr dk_parse_containers(struct docker_facts *x, const cJSON *list)
{
	const cJSON *item;
	size_t n = cJSON_IsArray(list) ? (size_t)cJSON_GetArraySize(list) : 0;
	enum perr rc;

	if (!cJSON_IsArray(list))
		return dk_bad(x, DOCKER_PATH_CONTAINERS, "expected a JSON array of containers", NULL);
	x->ctr = calloc(n + 1, sizeof(*x->ctr));
	x->order = calloc(n + 1, sizeof(*x->order));
	if (!x->ctr || !x->order)
		return PE_NOMEM;
	cJSON_ArrayForEach(item, list)
	{
		struct docker_container *k = &x->ctr[x->nctr++];
		if ((rc = dk_parse_container(x, item, k)) != PE_OK)
			return rc;
	}
	for (size_t i = 0; i < x->nctr; i++)
		x->order[i] = &x->ctr[i];
	qsort(x->order, x->nctr, sizeof(*x->order), dk_cmp_ctr);
	for (size_t i = 1; i < x->nctr; i++)
		if (strcmp(x->order[i - 1]->name, x->order[i]->name) == 0)
			return dk_bad(x, DOCKER_PATH_CONTAINERS, "two containers have this name",
				      x->order[i]->name);
	return PE_OK;
}

/* Emits every sample; runs only once every answer was read and understood. */
void docker_emit(const struct docker_facts *x, const char *src, struct expfmt *out,
		 void (*dropped)(void *ctx, const char *why, const char *ctr_key, const char *ctr, size_t n,
				 size_t mounts),
		 void *ctx)
{
	const char *first_cut = NULL;
	size_t budget = DK_MAX_MOUNTS_PER_SOURCE, cut = 0, total = 0;

	for (size_t i = 0; i < x->nctr; i++) {
		const struct docker_container *k = x->order[i];
		size_t want =
			k->nmounts < DK_MAX_MOUNTS_PER_CONTAINER ? k->nmounts : DK_MAX_MOUNTS_PER_CONTAINER;
		size_t emit = want < budget ? want : budget;
		expfmt_add(out, &d_anon, (double)k->nanon, "source", src, "container", k->name, NULL);
		expfmt_add(out, &d_stateful, k->stateful, "source", src, "container", k->name, NULL);
		for (size_t j = 0; j < emit; j++) {
			const struct docker_mount *m = &k->mounts[j];
			expfmt_add(out, &d_mount_info, 1, "source", src, "container", k->name, "destination",
				   m->dest, "mount_type", m->type, "volume", m->volume, NULL);
		}
		budget -= emit;
		total += k->nmounts;
		if (want < k->nmounts)
			dropped(ctx, "more than 32 mounts in one container", "container", k->name,
				k->nmounts - want, k->nmounts);
		if (emit < want && !first_cut)
			first_cut = k->name;
		cut += want - emit;
	}
	if (cut)
		dropped(ctx, "more than 2000 mounts on one Docker host", "first_container", first_cut, cut,
			total);
}

void docker_facts_free(struct docker_facts *x)
{
	for (size_t i = 0; i < x->nctr; i++)
		free(x->ctr[i].mounts);
	free(x->ctr);
	free(x->order);
	free(x->vols);
	cJSON_Delete(x->containers);
	cJSON_Delete(x->volumes);
	memset(x, 0, sizeof(*x));
}

/* One answer's JSON; PE_PARSE with x->msg as the collector's request would say it. */
static enum perr dk_json(struct docker_facts *x, const char *path, const char *body, size_t len, cJSON **doc)
{
	const char *end = NULL;

	*doc = cJSON_ParseWithLengthOpts(body ? body : "", body ? len : 0, &end, 0);
	if (*doc)
		return PE_OK;
	snprintf(x->msg, sizeof(x->msg), "GET %s: invalid or truncated JSON near byte %zu of %zu", path,
		 end && body ? (size_t)(end - body) : 0, len);
	return PE_PARSE;
}

enum perr docker_parse_containers_json(struct docker_facts *x, const char *body, size_t len)
{
	return dk_json(x, DOCKER_PATH_CONTAINERS, body, len, &x->containers);
}

enum perr docker_parse_volumes_json(struct docker_facts *x, const char *body, size_t len)
{
	return dk_json(x, DOCKER_PATH_VOLUMES, body, len, &x->volumes);
}

enum perr docker_facts_build(struct docker_facts *x)
{
	enum perr rc = dk_index_volumes(x, x->volumes);

	return rc == PE_OK ? dk_parse_containers(x, x->containers) : rc;
}

enum perr docker_parse(const struct config_docker *cfg, const char *containers, size_t clen,
		       const char *volumes, size_t vlen, struct docker_facts *out)
{
	enum perr rc;

	memset(out, 0, sizeof(*out));
	out->cfg = cfg;
	if ((rc = docker_parse_containers_json(out, containers, clen)) != PE_OK ||
	    (rc = docker_parse_volumes_json(out, volumes, vlen)) != PE_OK)
		return rc;
	return docker_facts_build(out);
}
