/* vzdump_plan.c - persistencectl vzdump's pure part: flags, the guest's job and storage, the report's plan. */
#include "vzdump.h"
#include "fetch.h"
#include "pve.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"

/* ---------------------------------------------------------------- arguments */

static const char *vz_arg_value(const char *arg, const char *name)
{
	size_t n = strlen(name);

	if (strncmp(arg, name, n) == 0 && arg[n] == '=')
		return arg + n + 1;
	return NULL;
}

int vzdump_safe_id(const char *s)
{
	if (!s || !*s || strlen(s) > 100)
		return 0;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '.' || *p == '_' || *p == '-'))
			return 0;
	return 1;
}

static int vz_parse_vmid(const char *s, long *vmid)
{
	char *end;
	long v;

	if (!s || *s < '1' || *s > '9')
		return 0;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 100 || v > 999999999)
		return 0;
	*vmid = v;
	return 1;
}

/* Sets *slot to v once; a repeated option is an error. */
static int vz_set_once(const char **slot, const char *v, const char *name, char *msg, size_t msglen)
{
	if (*slot) {
		snprintf(msg, msglen, "%s given twice", name);
		return 0;
	}
	*slot = v;
	return 1;
}

static int vz_parse_flag(const char *a, struct vzdump_opts *o)
{
	if (strcmp(a, "--restart-scheduler") == 0)
		o->restart_scheduler = 1;
	else if (strcmp(a, "--execute") == 0)
		o->execute = 1;
	else if (strcmp(a, "--wait") == 0)
		o->wait = 1;
	else
		return 0;
	return 1;
}

static enum perr vz_check_args(struct vzdump_opts *o, const char *vmid, char *msg, size_t msglen)
{
	if (!o->config_file || !*o->config_file) {
		snprintf(msg, msglen, "--config.file=FILE is required");
		return PE_INVAL;
	}
	if (!o->source || !*o->source) {
		snprintf(msg, msglen, "--source=NAME is required (a pve source of the config)");
		return PE_INVAL;
	}
	if (!vmid) {
		snprintf(msg, msglen, "--vmid=ID is required");
		return PE_INVAL;
	}
	if (!vz_parse_vmid(vmid, &o->vmid)) {
		snprintf(msg, msglen, "--vmid: '%.40s' is not a VM id (100-999999999)", vmid);
		return PE_INVAL;
	}
	if (o->storage && !vzdump_safe_id(o->storage)) {
		snprintf(msg, msglen, "--storage: '%.40s' is not a storage id", o->storage);
		return PE_INVAL;
	}
	return PE_OK;
}

enum perr vzdump_parse_args(int argc, char **argv, int first, struct vzdump_opts *o, char *msg, size_t msglen)
{
	const char *vmid = NULL;

	memset(o, 0, sizeof(*o));
	o->poll_interval = 1;
	for (int i = first; i < argc; i++) {
		const char *a = argv[i], *v;
		int ok = 1;

		if ((v = vz_arg_value(a, "--config.file")) != NULL)
			ok = vz_set_once(&o->config_file, v, "--config.file", msg, msglen);
		else if ((v = vz_arg_value(a, "--source")) != NULL)
			ok = vz_set_once(&o->source, v, "--source", msg, msglen);
		else if ((v = vz_arg_value(a, "--vmid")) != NULL)
			ok = vz_set_once(&vmid, v, "--vmid", msg, msglen);
		else if ((v = vz_arg_value(a, "--storage")) != NULL)
			ok = vz_set_once(&o->storage, v, "--storage", msg, msglen);
		else if (!vz_parse_flag(a, o)) {
			snprintf(msg, msglen, "unknown argument '%.60s'", a);
			ok = 0;
		}
		if (!ok)
			return PE_INVAL;
	}
	return vz_check_args(o, vmid, msg, msglen);
}

/* ---------------------------------------------------------------- pure pieces */

void vzdump_copy(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

const cJSON *vzdump_find_guest(const cJSON *vms, long vmid)
{
	const cJSON *g;
	double v;

	if (!cJSON_IsArray(vms))
		return NULL;
	cJSON_ArrayForEach(g, vms)
	{
		if (pve_json_num(g, "vmid", &v) && v == (double)vmid)
			return g;
	}
	return NULL;
}

const cJSON *vzdump_pick_job(const cJSON *jobs, const cJSON *guest)
{
	const cJSON *job, *any = NULL;

	if (!cJSON_IsArray(jobs))
		return NULL;
	cJSON_ArrayForEach(job, jobs)
	{
		if (!pve_job_enabled(job) || !pve_job_selects(job, guest))
			continue;
		const char *st = pve_json_str(job, "storage");
		if (st && *st)
			return job;
		if (!any)
			any = job;
	}
	return any;
}

void vzdump_facts_from_job(struct vzdump_facts *f, const cJSON *job)
{
	f->repeat_missed = -1;
	f->job[0] = f->job_storage[0] = f->job_tmpdir[0] = '\0';
	if (!job)
		return;
	vzdump_copy(f->job, sizeof(f->job), pve_json_str(job, "id"));
	vzdump_copy(f->job_storage, sizeof(f->job_storage), pve_json_str(job, "storage"));
	vzdump_copy(f->job_tmpdir, sizeof(f->job_tmpdir), pve_json_str(job, "tmpdir"));
	f->repeat_missed = pve_json_bool(job, "repeat-missed", 0);
	if (!f->storage[0] && vzdump_safe_id(f->job_storage))
		vzdump_copy(f->storage, sizeof(f->storage), f->job_storage);
}

void vzdump_facts_from_content(struct vzdump_facts *f, const cJSON *items)
{
	const cJSON *it;

	f->narchives = 0;
	f->newest = 0;
	cJSON_ArrayForEach(it, items)
	{
		long vmid;
		double ctime, size;

		if (!pve_archive_parse(it, &vmid, &ctime, &size) || vmid != f->vmid)
			continue;
		f->narchives++;
		if (ctime > f->newest)
			f->newest = ctime;
	}
}

void vzdump_form(const struct vzdump_facts *f, struct buf *out)
{
	buf_addf(out, "vmid=%ld&storage=", f->vmid);
	fetch_urlencode(out, f->storage);
}

void vzdump_format_age(double secs, char *out, size_t n)
{
	long s = secs > 0 && isfinite(secs) ? (long)secs : 0;

	if (s >= 86400)
		snprintf(out, n, "%ldd %ldh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(out, n, "%ldh %ldm", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(out, n, "%ldm %lds", s / 60, s % 60);
	else
		snprintf(out, n, "%lds", s);
}

/* ---------------------------------------------------------------- the plan */

static void vz_note(struct buf *out, const char *text)
{
	buf_adds(out, "note: ");
	for (const char *p = text; *p; p++) {
		buf_addc(out, *p);
		if (*p == '\n' && p[1])
			buf_adds(out, "      ");
	}
}

static void vz_plan_steps(const struct vzdump_opts *o, const struct vzdump_facts *f, const char *act,
			  struct buf *out)
{
	int n = 1;

	if (o->restart_scheduler) {
		buf_addf(out, "  %d. POST /nodes/%s/services/pvescheduler/restart   [action token %s]\n", n++,
			 f->node, act);
		buf_addf(out,
			 "  %d. GET  /nodes/%s/tasks/<upid>/status   every %gs until the srvrestart task "
			 "ends;\n"
			 "          the backup is started only if it ends OK\n",
			 n++, f->node, o->poll_interval);
	}
	buf_addf(out, "  %d. POST /nodes/%s/vzdump   vmid=%ld storage=%s   [action token %s]\n", n++, f->node,
		 f->vmid, f->storage, act);
	if (o->wait) {
		buf_addf(out,
			 "  %d. GET  /nodes/%s/tasks/<upid>/status and "
			 "/nodes/%s/tasks/<upid>/log?start=N&limit=500\n"
			 "          every %gs until the vzdump task ends\n",
			 n++, f->node, f->node, o->poll_interval);
		buf_addf(out,
			 "  %d. GET  /nodes/%s/storage/%s/content?content=backup&vmid=%ld   (the new "
			 "archive)\n",
			 n, f->node, f->storage, f->vmid);
	} else {
		buf_adds(out, "     (add --wait to follow the task to its end)\n");
	}
}

static void vz_plan_tmpdir(const struct vzdump_facts *f, struct buf *out)
{
	struct buf t;

	buf_init(&t, 0);
	buf_addf(&t,
		 "%ld is an LXC container. When its archive goes to NFS (storage %s is %s), vzdump may\n"
		 "need tmpdir=/var/tmp: tar cannot work on NFS inside a user namespace. PVE accepts tmpdir\n"
		 "only from root@pam, so an API token cannot pass it: this request is sent WITHOUT tmpdir\n"
		 "(with it PVE would answer 400 \"tmpdir: Only root may set this option.\").\n"
		 "To make it apply, as root on node %s add the line `tmpdir: /var/tmp` to /etc/vzdump.conf\n"
		 "(the node default: it covers this API-started backup and the scheduled ones).\n",
		 f->vmid, f->storage, f->storage_type[0] ? f->storage_type : "of unknown type", f->node);
	if (f->job[0] && f->job_tmpdir[0])
		buf_addf(&t, "Job %s sets tmpdir %s; job options apply to its scheduled runs only.\n", f->job,
			 f->job_tmpdir);
	else if (f->job[0])
		buf_addf(&t,
			 "For the scheduled runs only, the job can carry it instead (GUI: Datacenter > "
			 "Backup,\n"
			 "or as root: pvesh set /cluster/backup/%s --tmpdir /var/tmp).\n",
			 f->job);
	vz_note(out, buf_str(&t));
	buf_free(&t);
}

static void vz_plan_repeat_missed(const struct vzdump_facts *f, struct buf *out)
{
	struct buf t;

	buf_init(&t, 0);
	buf_adds(&t, "after a restart pvescheduler does not catch up missed runs unless the job has\n"
		     "repeat-missed set: on its first loop it counts \"now\" as the last run.\n");
	if (f->repeat_missed == 1)
		buf_addf(&t,
			 "Job %s has repeat-missed 1: the scheduler will also start its missed run right\n"
			 "after the restart; only one vzdump runs per node at a time, the other waits.\n",
			 f->job);
	else if (f->repeat_missed == 0)
		buf_addf(&t,
			 "Job %s has repeat-missed 0: its missed runs are skipped; the backup below is\n"
			 "the catch-up, and the next scheduled run is the next slot of its schedule.\n",
			 f->job);
	else
		buf_adds(&t, f->jobs_read
				     ? "No enabled job covers this guest: only this backup runs.\n"
				     : "The backup jobs could not be read, so which applies is unknown.\n");
	vz_note(out, buf_str(&t));
	buf_free(&t);
}

void vzdump_render_plan(const struct vzdump_opts *o, const struct vzdump_facts *f, const char *act,
			struct buf *out)
{
	buf_adds(out, o->execute ? "\nplan (executing):\n"
				 : "\nplan (dry run: nothing below is sent; add --execute):\n");
	vz_plan_steps(o, f, act ? act : "(none configured)", out);
	if (f->lock[0])
		buf_addf(out,
			 "note: %ld is locked (%s) right now; a new backup waits for the lock up to "
			 "lockwait.\n",
			 f->vmid, f->lock);
	if (strcmp(f->guest_type, "lxc") == 0)
		vz_plan_tmpdir(f, out);
	if (o->restart_scheduler)
		vz_plan_repeat_missed(f, out);
	if (!act)
		vz_note(out,
			"no action token is configured for this source (action_token_id and\n"
			"action_token_secret_file), so --execute refuses. The exporter's read token must "
			"not\n"
			"be able to start backups or restart services: create a separate token with the\n"
			"minimal action role in docs/persistencectl.md.\n");
}
