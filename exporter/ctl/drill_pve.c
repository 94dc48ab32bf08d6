/* drill_pve.c - the restore drill of a pve target: find the newest archive, clear leftovers, pick an id, run. */
#include "drill_ctx.h"
#include "clock.h"
#include "inventory.h"
#include "pve.h"

#include <stdlib.h>
#include <string.h>

#include "cJSON.h"

#define DP_MAX_PROBES 50 /* nextid probes per drill */

/* ---------------------------------------------------------------- lookups (read token) */

static enum perr dp_get(struct drill_ctx *x, enum pve_token tok, const char *path, cJSON **doc)
{
	drill_request_line(x, "GET", path, NULL, tok);
	return pve_client_call(x->client, tok, "GET", path, NULL, doc, &x->why);
}

static const cJSON *dp_find_vm(const cJSON *vms, long vmid)
{
	const cJSON *g;
	double v;

	cJSON_ArrayForEach(g, vms)
	{
		if (pve_json_num(g, "vmid", &v) && v == (double)vmid)
			return g;
	}
	return NULL;
}

static int dp_guest(struct drill_ctx *x)
{
	const cJSON *g;
	const char *type, *node;

	if (dp_get(x, PVE_TOKEN_READ, "/cluster/resources?type=vm", &x->vms) != PE_OK) {
		drill_fail(x, "guest lookup failed");
		drill_reason(x, "guest lookup failed: %s", buf_str(&x->why));
		return -1;
	}
	g = dp_find_vm(pve_data(x->vms), x->t->vmid);
	type = pve_json_str(g, "type");
	node = pve_json_str(g, "node");
	if (!g || !type || !node || strlen(node) >= sizeof(x->node) ||
	    (strcmp(type, "qemu") != 0 && strcmp(type, "lxc") != 0)) {
		buf_reset(&x->why);
		buf_addf(&x->why,
			 "guest %ld is not in /cluster/resources of source %s (deleted, or token %s lacks "
			 "VM.Audit "
			 "on /vms/%ld): a drill restores on the guest's node",
			 x->t->vmid, x->p->name, pve_client_token_id(x->client, PVE_TOKEN_READ), x->t->vmid);
		drill_fail(x, "no guest");
		drill_reason(x, "%s", buf_str(&x->why));
		return -1;
	}
	snprintf(x->gtype, sizeof(x->gtype), "%s", type);
	snprintf(x->node, sizeof(x->node), "%s", node);
	snprintf(x->gname, sizeof(x->gname), "%s", pve_json_str(g, "name") ? pve_json_str(g, "name") : "");
	x->template_guest = pve_json_bool(g, "template", 0);
	buf_addf(&x->out, "       -> %s %ld \"%s\" on node %s%s\n", type, x->t->vmid, x->gname, node,
		 x->template_guest ? " (a template: it restores as a template and cannot boot)" : "");
	return 0;
}

/* Keeps the newest archive of the guest from one storage's content listing. */
static void dp_archives_of(struct drill_ctx *x, const cJSON *items, const char *sid)
{
	const cJSON *it;
	long n = 0;

	cJSON_ArrayForEach(it, items)
	{
		long vmid;
		double ctime, size;
		const char *volid = pve_json_str(it, "volid");
		const char *sub = pve_json_str(it, "subtype");
		if (!pve_archive_parse(it, &vmid, &ctime, &size) || vmid != x->t->vmid || !volid ||
		    strlen(volid) >= sizeof(x->volid) || (sub && strcmp(sub, x->gtype) != 0))
			continue;
		n++;
		if (ctime > x->archive_ctime || (ctime == x->archive_ctime && strcmp(volid, x->volid) > 0)) {
			x->archive_ctime = ctime;
			x->archive_size = size;
			snprintf(x->volid, sizeof(x->volid), "%s", volid);
		}
	}
	buf_addf(&x->out, "       -> %ld archive%s of %ld on %s\n", n, n == 1 ? "" : "s", x->t->vmid, sid);
}

static void dp_storage(struct drill_ctx *x, const char *sid)
{
	char *path = pve_node_path(x->node, "/storage/", sid, "/content?content=backup");
	struct buf q;
	cJSON *doc;

	buf_init(&q, 0);
	if (path)
		buf_addf(&q, "%s&vmid=%ld", path, x->t->vmid);
	free(path);
	if (buf_err(&q) != PE_OK || dp_get(x, PVE_TOKEN_READ, buf_str(&q), &doc) != PE_OK)
		buf_addf(&x->out, "       -> not listed: %s\n", buf_str(&x->why));
	else
		dp_archives_of(x, pve_data(doc), sid);
	cJSON_Delete(doc);
	buf_free(&q);
	drill_flush(x);
}

/* The newest archive of the guest over every backup storage the node sees (PBS included). */
static int dp_archive(struct drill_ctx *x)
{
	char *path = pve_node_path(x->node, "/storage?content=backup", NULL, NULL);
	const cJSON *st;
	cJSON *doc = NULL;
	enum perr e = path ? dp_get(x, PVE_TOKEN_READ, path, &doc) : PE_NOMEM;

	free(path);
	if (e != PE_OK) {
		drill_fail(x, "the backup storages could not be listed");
		drill_reason(x, "backup storages of %s not listed: %s", x->node, buf_str(&x->why));
		return -1;
	}
	cJSON_ArrayForEach(st, pve_data(doc))
	{
		const char *sid = pve_json_str(st, "storage");
		if (!sid)
			continue;
		if (!pve_json_bool(st, "active", 1)) {
			buf_addf(&x->out, "       -> storage %s is not active: skipped\n", sid);
			continue;
		}
		dp_storage(x, sid);
	}
	cJSON_Delete(doc);
	if (!x->volid[0]) {
		buf_reset(&x->why);
		buf_addf(&x->why,
			 "no archive of guest %ld on any backup storage of node %s (none yet, or token %s "
			 "cannot "
			 "see them: that needs Datastore.AllocateSpace on the storage and VM.Backup on "
			 "/vms/%ld)",
			 x->t->vmid, x->node, pve_client_token_id(x->client, PVE_TOKEN_READ), x->t->vmid);
		drill_fail(x, "nothing to restore");
		drill_reason(x, "no archive of guest %ld found", x->t->vmid);
		return -1;
	}
	char when[32], age[32];
	drill_iso_time(x->archive_ctime, when, sizeof(when));
	inventory_format_age(age, sizeof(age), clock_wall() - x->archive_ctime);
	buf_addf(&x->out, "       -> newest: %s (%s, %s ago", x->volid, when, age);
	if (x->archive_size >= 0)
		buf_addf(&x->out, ", %.1f GiB", x->archive_size / (1024.0 * 1024 * 1024));
	buf_adds(&x->out, ")\n");
	snprintf(x->rec.archive, sizeof(x->rec.archive), "%s", x->volid);
	drill_flush(x);
	return 0;
}

/* Warns when an enabled backup job would back up the scratch guest (a backup lock delays the destroy). */
static void dp_jobs(struct drill_ctx *x)
{
	cJSON *doc = NULL, *g = cJSON_CreateObject();
	const cJSON *job;
	int any = 0;

	if (dp_get(x, PVE_TOKEN_READ, "/cluster/backup", &doc) != PE_OK || !g) {
		buf_addf(&x->out,
			 "       -> not readable (%s): cannot tell whether a job selects the scratch guest\n",
			 buf_str(&x->why));
		goto out;
	}
	cJSON_AddNumberToObject(g, "vmid", (double)x->d->vmid_lo);
	cJSON_AddStringToObject(g, "node", x->node);
	cJSON_AddStringToObject(g, "pool", x->d->pool);
	cJSON_ArrayForEach(job, pve_data(doc))
	{
		if (!pve_job_enabled(job) || !pve_job_selects(job, g))
			continue;
		buf_addf(&x->out,
			 "       -> warning: enabled job %s selects scratch guests (pool %s / ids %ld-%ld): "
			 "if it "
			 "runs during the drill it backs the scratch guest up, and its lock delays the "
			 "destroy\n",
			 pve_json_str(job, "id") ? pve_json_str(job, "id") : "?", x->d->pool, x->d->vmid_lo,
			 x->d->vmid_hi);
		any = 1;
	}
	if (!any)
		buf_addf(&x->out, "       -> no enabled backup job selects pool %s or id %ld\n", x->d->pool,
			 x->d->vmid_lo);
out:
	drill_flush(x);
	cJSON_Delete(doc);
	cJSON_Delete(g);
}

/* ---------------------------------------------------------------- the scratch range */

static int dp_skipped(const struct drill_ctx *x, long vmid)
{
	for (size_t i = 0; i < x->nskip; i++)
		if (x->skip[i] == vmid)
			return 1;
	return 0;
}

static void dp_skip(struct drill_ctx *x, long vmid)
{
	long *n = realloc(x->skip, (x->nskip + 1) * sizeof(*n));

	if (n) {
		x->skip = n;
		x->skip[x->nskip++] = vmid;
	}
}

/* The config of a guest in the range, read with the read token (VM.Audit on /): NULL when unreadable. */
static cJSON *dp_config(struct drill_ctx *x, const cJSON *g, long vmid)
{
	char rest[64], *path;
	cJSON *doc = NULL;

	snprintf(rest, sizeof(rest), "/%s/%ld/config", pve_json_str(g, "type"), vmid);
	path = pve_node_path(pve_json_str(g, "node"), rest, NULL, NULL);
	if (!path || dp_get(x, PVE_TOKEN_READ, path, &doc) != PE_OK) {
		cJSON_Delete(doc);
		doc = NULL;
	}
	free(path);
	return doc;
}

/* Handles one guest in the scratch range: a leftover is removed (on --execute), anything else is skipped. */
static void dp_range_guest(struct drill_ctx *x, const cJSON *g, long vmid)
{
	const char *type = pve_json_str(g, "type"), *node = pve_json_str(g, "node");
	cJSON *conf = dp_config(x, g, vmid);
	enum drill_leftover k = type && node ? drill_classify(g, pve_data(conf), x->d) : DRILL_FOREIGN;

	dp_skip(x, vmid);
	if (k == DRILL_FOREIGN) {
		buf_addf(&x->out,
			 "       -> %ld is in the scratch range but not a drill's guest: left alone, id "
			 "skipped "
			 "(take it out of vmid_range)\n",
			 vmid);
	} else if (!x->o->execute) {
		buf_addf(&x->out, "       -> %ld is %s: --execute removes it first\n", vmid,
			 k == DRILL_STUB ? "an empty config left by a failed restore"
					 : "left over by an earlier drill");
	} else {
		buf_addf(&x->out, "       -> %ld is %s: removing it first\n", vmid,
			 k == DRILL_STUB ? "an empty config left by a failed restore"
					 : "left over by an earlier drill");
		drill_flush(x);
		if (drill_guest_destroy(x, vmid, type, node) == 0)
			x->nskip--; /* gone: the id may be used again */
	}
	drill_flush(x);
	cJSON_Delete(conf);
}

static void dp_range(struct drill_ctx *x)
{
	const cJSON *g;
	int any = 0;

	cJSON_ArrayForEach(g, pve_data(x->vms))
	{
		double v;
		if (!pve_json_num(g, "vmid", &v) || v < x->d->vmid_lo || v > x->d->vmid_hi)
			continue;
		any = 1;
		dp_range_guest(x, g, (long)v);
	}
	if (!any)
		buf_addf(&x->out, "       -> scratch range %ld-%ld: no guest in it\n", x->d->vmid_lo,
			 x->d->vmid_hi);
	drill_flush(x);
}

/* The first id of the range PVE calls free (nextid is cluster-wide, also for guests no token sees). */
static long dp_pick_vmid(struct drill_ctx *x, long from)
{
	int probes = 0;

	for (long id = from; id <= x->d->vmid_hi && probes < DP_MAX_PROBES; id++) {
		char path[64];
		cJSON *doc = NULL;
		enum perr e;
		if (dp_skipped(x, id) || dp_find_vm(pve_data(x->vms), id))
			continue;
		snprintf(path, sizeof(path), "/cluster/nextid?vmid=%ld", id);
		probes++;
		e = dp_get(x, PVE_TOKEN_DRILL, path, &doc);
		cJSON_Delete(doc);
		if (e == PE_OK) {
			buf_addf(&x->out, "       -> %ld is free\n", id);
			drill_flush(x);
			return id;
		}
		buf_addf(&x->out, "       -> %s\n", buf_str(&x->why));
		drill_flush(x);
		if (e != PE_HTTP || !strstr(buf_str(&x->why), "already exists"))
			return -1; /* 401, 403, an unreachable node: probing on would not help */
	}
	buf_reset(&x->why);
	buf_addf(&x->why, "no free id in the scratch range %ld-%ld", x->d->vmid_lo, x->d->vmid_hi);
	return -1;
}

/* ---------------------------------------------------------------- the drill */

static int dp_prepare(struct drill_ctx *x)
{
	x->p = config_find_pve(x->cfg, x->t->source);
	x->d = x->p ? x->p->drill : NULL;
	if (!x->d) {
		fprintf(x->ferr,
			"persistencectl restore-test: source %s has no drill: section (token, vmid_range, "
			"storage, "
			"pool); see docs/restore-drills.md\n",
			x->t->source);
		return DRILL_EXIT_USAGE;
	}
	if (!x->d->token_secret) { /* the usual case: read here, never by the daemon */
		char why[512];
		if (config_read_secret(x->d->token_secret_file, &x->drill_secret, why, sizeof(why)) !=
		    PE_OK) {
			fprintf(x->ferr, "persistencectl restore-test: the drill token of source %s: %s\n",
				x->p->name, why);
			return DRILL_EXIT_USAGE;
		}
		x->dcopy = *x->d;
		x->dcopy.token_secret = x->drill_secret;
		x->pcopy = *x->p;
		x->pcopy.drill = &x->dcopy;
		x->p = &x->pcopy;
		x->d = &x->dcopy;
	}
	if (pve_client_new(x->p, &x->client) != PE_OK)
		return DRILL_EXIT_FAILED;
	buf_addf(&x->out, "target %s: guest %ld of pve source %s (%s)\n", x->t->name, x->t->vmid, x->p->name,
		 pve_client_base_url(x->client));
	buf_addf(&x->out, "scratch: ids %ld-%ld, storage %s, pool %s%s\n\n", x->d->vmid_lo, x->d->vmid_hi,
		 x->d->storage, x->d->pool, x->o->boot ? ", boot checked" : ", no boot (add --boot)");
	drill_flush(x);
	return DRILL_EXIT_OK;
}

/* The restore, isolation, boot and destroy of one scratch guest; the result goes into x->rec. */
static void dp_run(struct drill_ctx *x)
{
	double restore = -1, boot = -1;
	int ok = drill_guest_restore(x, &restore) == 0;

	x->rec.restore_seconds = ok ? restore : -1;
	if (ok && x->exists && !drill_stop)
		ok = drill_guest_isolate(x) == 0;
	if (ok && x->o->boot && !drill_stop) {
		ok = drill_guest_boot(x, &boot) == 0;
		x->rec.boot_seconds = ok ? boot : -1;
	}
	if (drill_stop)
		drill_reason(x, "interrupted by signal %d", (int)drill_stop);
	if (x->exists && !ok && x->o->keep_on_failure) {
		buf_addf(&x->out,
			 "\n--keep-on-failure: scratch guest %ld stays for inspection (network cut off, not "
			 "in any "
			 "backup job of pool %s); the next drill removes it, or now: DELETE "
			 "/nodes/%s/%s/%ld\n",
			 x->vmid, x->d->pool, x->node, x->gtype, x->vmid);
		drill_flush(x);
		return;
	}
	if (x->exists && drill_guest_destroy(x, x->vmid, x->gtype, x->node) == 0)
		x->exists = 0;
}

int drill_pve(struct drill_ctx *x)
{
	int rc = dp_prepare(x);

	if (rc != DRILL_EXIT_OK)
		return rc;
	x->recorded = x->o->execute; /* from here on a real drill records its outcome */
	if (dp_guest(x) != 0 || dp_archive(x) != 0)
		return DRILL_EXIT_FAILED;
	dp_jobs(x);
	dp_range(x);
	x->vmid = dp_pick_vmid(x, x->d->vmid_lo);
	if (x->vmid < 0) {
		drill_fail(x, "no scratch id");
		drill_reason(x, "no scratch id: %s", buf_str(&x->why));
		return DRILL_EXIT_FAILED;
	}
	if (!x->o->execute) {
		drill_guest_plan(x, x->vmid);
		return DRILL_EXIT_OK;
	}
	buf_adds(&x->out, "\n");
	dp_run(x);
	if (x->exists || x->leftover) {
		fprintf(x->ferr, "persistencectl restore-test: something was left behind (see above)\n");
		return DRILL_EXIT_FAILED;
	}
	return DRILL_EXIT_OK;
}

long drill_next_vmid(struct drill_ctx *x)
{
	dp_skip(x, x->vmid);
	return dp_pick_vmid(x, x->vmid + 1);
}
