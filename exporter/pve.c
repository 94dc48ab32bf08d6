/* pve.c - pure helpers over PVE API JSON: loose typing, coverage, task status, UPIDs. */
#include "pve.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cJSON.h"

static const cJSON *pve_member(const cJSON *o, const char *key)
{
	if (!o || !cJSON_IsObject(o) || !key)
		return NULL;
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* Parses a whole string as a finite number (surrounding blanks allowed). */
static int pve_parse_num(const char *s, double *v)
{
	char *end;
	double d;

	if (!s)
		return 0;
	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s)
		return 0;
	errno = 0;
	d = strtod(s, &end);
	if (end == s || errno == ERANGE || !isfinite(d))
		return 0;
	while (*end == ' ' || *end == '\t' || *end == '\n')
		end++;
	if (*end)
		return 0;
	*v = d;
	return 1;
}

static int pve_str_bool(const char *s, int dflt)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	static const char *const no[] = {"0", "false", "no", "off"};
	double d;

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	}
	if (pve_parse_num(s, &d))
		return d != 0;
	return dflt;
}

int pve_json_bool(const cJSON *o, const char *key, int dflt)
{
	const cJSON *m = pve_member(o, key);

	if (!m)
		return dflt;
	if (cJSON_IsTrue(m))
		return 1;
	if (cJSON_IsFalse(m))
		return 0;
	if (cJSON_IsNumber(m))
		return isfinite(m->valuedouble) ? m->valuedouble != 0 : dflt;
	if (cJSON_IsString(m) && m->valuestring)
		return pve_str_bool(m->valuestring, dflt);
	return dflt;
}

int pve_json_num(const cJSON *o, const char *key, double *v)
{
	const cJSON *m = pve_member(o, key);

	if (!m)
		return 0;
	if (cJSON_IsNumber(m)) {
		if (!isfinite(m->valuedouble))
			return 0;
		*v = m->valuedouble;
		return 1;
	}
	if (cJSON_IsString(m))
		return pve_parse_num(m->valuestring, v);
	return 0;
}

const char *pve_json_str(const cJSON *o, const char *key)
{
	const cJSON *m = pve_member(o, key);

	return cJSON_IsString(m) ? m->valuestring : NULL;
}

const cJSON *pve_data(const cJSON *doc)
{
	if (!doc)
		return NULL;
	if (cJSON_IsArray(doc))
		return doc;
	return pve_member(doc, "data");
}

int pve_list_has(const char *list, long id)
{
	const char *p = list;

	if (!list)
		return 0;
	while (*p) {
		char *end;
		long v;

		if (*p == ',' || *p == ';' || *p == ' ' || *p == '\t' || *p == '\n') {
			p++;
			continue;
		}
		errno = 0;
		v = strtol(p, &end, 10);
		if (end == p) { /* not a number: skip the token */
			while (*p && *p != ',' && *p != ';' && *p != ' ')
				p++;
			continue;
		}
		if (errno == 0 && v == id && (!*end || strchr(",; \t\n", *end)))
			return 1;
		p = end;
	}
	return 0;
}

int pve_job_enabled(const cJSON *job)
{
	return pve_json_bool(job, "enabled", 1);
}

/* The job's vmid selection as a list string; a bare number is accepted too. */
static int pve_job_vmid_has(const cJSON *job, long vmid, int *present)
{
	const cJSON *m = pve_member(job, "vmid");
	double d;

	*present = 0;
	if (cJSON_IsString(m) && m->valuestring && *m->valuestring) {
		*present = 1;
		return pve_list_has(m->valuestring, vmid);
	}
	if (cJSON_IsNumber(m) && pve_json_num(job, "vmid", &d)) {
		*present = 1;
		return (long)d == vmid;
	}
	return 0;
}

int pve_job_selects(const cJSON *job, const cJSON *guest)
{
	const char *pool = pve_json_str(job, "pool");
	const char *jnode = pve_json_str(job, "node");
	const char *gnode = pve_json_str(guest, "node");
	double d;
	long vmid;
	int present, hit;

	if (!pve_json_num(guest, "vmid", &d))
		return 0;
	vmid = (long)d;
	if (jnode && *jnode && (!gnode || strcmp(jnode, gnode) != 0))
		return 0;
	if (pool && *pool) {
		const char *gpool = pve_json_str(guest, "pool");
		return gpool && strcmp(gpool, pool) == 0;
	}
	hit = pve_job_vmid_has(job, vmid, &present);
	if (present)
		return hit;
	if (pve_json_bool(job, "all", 0))
		return !pve_list_has(pve_json_str(job, "exclude"), vmid);
	return 0;
}

int pve_guest_covered(const cJSON *jobs, const cJSON *guest)
{
	const cJSON *job;

	if (!cJSON_IsArray(jobs))
		return 0;
	cJSON_ArrayForEach(job, jobs)
	{
		if (pve_job_enabled(job) && pve_job_selects(job, guest))
			return 1;
	}
	return 0;
}

enum pve_task_result pve_task_status_classify(const char *status)
{
	if (!status || !*status || strcmp(status, "RUNNING") == 0)
		return PVE_TASK_RUNNING;
	if (strcmp(status, "OK") == 0)
		return PVE_TASK_OK;
	if (strncmp(status, "WARNINGS:", 9) == 0)
		return PVE_TASK_WARNINGS;
	return PVE_TASK_FAILED;
}

enum pve_task_result pve_task_classify(const cJSON *task)
{
	double end;

	if (!pve_json_num(task, "endtime", &end))
		return PVE_TASK_RUNNING;
	return pve_task_status_classify(pve_json_str(task, "status"));
}

int pve_task_success(enum pve_task_result r)
{
	return r == PVE_TASK_OK || r == PVE_TASK_WARNINGS;
}

int pve_exitstatus_ok(const char *exitstatus)
{
	return exitstatus && pve_task_success(pve_task_status_classify(exitstatus));
}

/* Copies the field that starts at *p up to the next ':' into out; advances *p past it. */
static int pve_upid_field(const char **p, char *out, size_t n)
{
	const char *colon = strchr(*p, ':');
	size_t len;

	if (!colon)
		return 0;
	len = (size_t)(colon - *p);
	if (len >= n)
		return 0;
	memcpy(out, *p, len);
	out[len] = '\0';
	*p = colon + 1;
	return 1;
}

static int pve_upid_hex(const char **p, size_t minlen, size_t maxlen, unsigned long long *v)
{
	char tmp[20], *end;

	if (!pve_upid_field(p, tmp, sizeof(tmp)) || strlen(tmp) < minlen || strlen(tmp) > maxlen)
		return 0;
	errno = 0;
	*v = strtoull(tmp, &end, 16);
	return errno == 0 && *end == '\0' && tmp[0] != '-' && tmp[0] != '+' && tmp[0] != ' ';
}

enum perr pve_upid_parse(const char *s, struct pve_upid *u, char *msg, size_t msglen)
{
	const char *p = s;
	unsigned long long pid, pstart, start;

	memset(u, 0, sizeof(*u));
	if (!s || strncmp(s, "UPID:", 5) != 0) {
		snprintf(msg, msglen, "not a UPID: missing UPID: prefix");
		return PE_PARSE;
	}
	p = s + 5;
	if (!pve_upid_field(&p, u->node, sizeof(u->node)) || !u->node[0] || !pve_upid_hex(&p, 8, 8, &pid) ||
	    !pve_upid_hex(&p, 8, 9, &pstart) || !pve_upid_hex(&p, 8, 8, &start) ||
	    !pve_upid_field(&p, u->type, sizeof(u->type)) || !u->type[0] ||
	    !pve_upid_field(&p, u->id, sizeof(u->id)) || !pve_upid_field(&p, u->user, sizeof(u->user)) ||
	    !u->user[0]) {
		memset(u, 0, sizeof(*u));
		snprintf(msg, msglen, "not a UPID: malformed field");
		return PE_PARSE;
	}
	u->pid = (unsigned long)pid;
	u->pstart = (unsigned long)pstart;
	u->starttime = (long long)start;
	return PE_OK;
}

int pve_task_by_scheduler(const cJSON *task)
{
	const char *user = pve_json_str(task, "user");
	const char *tok = pve_json_str(task, "tokenid");
	struct pve_upid u;
	char msg[64];

	if (user)
		return strcmp(user, "root@pam") == 0 && (!tok || !*tok);
	if (pve_upid_parse(pve_json_str(task, "upid"), &u, msg, sizeof(msg)) != PE_OK)
		return 0;
	return strcmp(u.user, "root@pam") == 0;
}

int pve_archive_parse(const cJSON *item, long *vmid, double *ctime, double *size)
{
	const char *content = pve_json_str(item, "content");
	double v, t, sz;

	if (content && strcmp(content, "backup") != 0)
		return 0;
	if (!pve_json_num(item, "vmid", &v) || v < 0 || v > 999999999 || v != floor(v))
		return 0;
	if (!pve_json_num(item, "ctime", &t) || t <= 0)
		return 0;
	if (!pve_json_num(item, "size", &sz) || sz < 0)
		sz = -1;
	*vmid = (long)v;
	*ctime = t;
	*size = sz;
	return 1;
}

int pve_service_running(const cJSON *state)
{
	const char *sub = pve_json_str(state, "state");
	const char *act = pve_json_str(state, "active-state");

	if (!sub && !act)
		return -1;
	return sub && act && strcmp(sub, "running") == 0 && strcmp(act, "active") == 0;
}
