/* vzdump.c - persistencectl vzdump: look up the guest, plan, and (with --execute) start one backup. */
#include "vzdump.h"
#include "clock.h"
#include "config.h"
#include "fetch.h"
#include "log.h"
#include "pve.h"
#include "pve_client.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cJSON.h"

/* ---------------------------------------------------------------- arguments */

static const char *vz_arg_value(const char *arg, const char *name)
{
	size_t n = strlen(name);

	if (strncmp(arg, name, n) == 0 && arg[n] == '=')
		return arg + n + 1;
	return NULL;
}

/* PVE ids (storage, node) are [A-Za-z0-9._-]: anything else is refused before it reaches a path. */
static int vz_safe_id(const char *s)
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
	if (o->storage && !vz_safe_id(o->storage)) {
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

static void vz_copy(char *dst, size_t n, const char *src)
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
	vz_copy(f->job, sizeof(f->job), pve_json_str(job, "id"));
	vz_copy(f->job_storage, sizeof(f->job_storage), pve_json_str(job, "storage"));
	vz_copy(f->job_tmpdir, sizeof(f->job_tmpdir), pve_json_str(job, "tmpdir"));
	f->repeat_missed = pve_json_bool(job, "repeat-missed", 0);
	if (!f->storage[0] && vz_safe_id(f->job_storage))
		vz_copy(f->storage, sizeof(f->storage), f->job_storage);
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

/* ---------------------------------------------------------------- talking to PVE */

#define VZ_RESTART_DEADLINE 300.0 /* s; pvescheduler's stop waits up to ~75 s for its children */

struct vz {
	const struct vzdump_opts *o;
	const struct config_pve *p;
	struct pve_client *pc;
	struct vzdump_facts f;
	cJSON *vms; /* /cluster/resources?type=vm */
	const cJSON *guest; /* the guest's item in vms */
	struct buf out; /* report text not yet written */
	struct buf why; /* explanation of the last failed call */
	FILE *fout, *ferr;
	int tty;
	unsigned spin;
	int spinning; /* the spinner line is on the terminal */
};

static void vz_flush(struct vz *x)
{
	if (x->out.len) {
		fputs(buf_str(&x->out), x->fout);
		fflush(x->fout);
	}
	buf_reset(&x->out);
}

static void vz_fail(struct vz *x, const char *what)
{
	vz_flush(x);
	fprintf(x->ferr, "persistencectl vzdump: %s: %s\n", what, buf_str(&x->why));
}

static const char *vz_token(const struct vz *x, int act)
{
	return act ? x->p->action_token_id : x->p->token_id;
}

/* One GET with the read token; x->why explains a failure. */
static enum perr vz_get(struct vz *x, const char *path, cJSON **doc)
{
	return pve_client_call(x->pc, PVE_TOKEN_READ, "GET", path, NULL, doc, &x->why);
}

/* Prints one request line of the report. */
static void vz_request_line(struct vz *x, const char *method, const char *path, const char *form, int act)
{
	buf_addf(&x->out, "%-4s %s", method, path);
	if (form) {
		buf_adds(&x->out, "   ");
		for (const char *p = form; *p; p++)
			buf_addc(&x->out, *p == '&' ? ' ' : *p);
	}
	buf_addf(&x->out, "   [%s token %s]\n", act ? "action" : "read", vz_token(x, act));
	vz_flush(x);
}

static void vz_iso_time(double t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
		vz_copy(out, n, "?");
}

/* ---------------------------------------------------------------- lookups (GET, read token) */

#define VZ_CONTINUE (-1)

static int vz_guest_from(struct vz *x, const cJSON *g)
{
	struct vzdump_facts *f = &x->f;
	const char *type = pve_json_str(g, "type"), *node = pve_json_str(g, "node");

	if (!type || (strcmp(type, "qemu") != 0 && strcmp(type, "lxc") != 0) || !vz_safe_id(node)) {
		buf_adds(&x->why, "the resource entry has no usable type or node");
		vz_fail(x, "guest lookup");
		return VZDUMP_EXIT_FAILED;
	}
	vz_copy(f->guest_type, sizeof(f->guest_type), type);
	vz_copy(f->node, sizeof(f->node), node);
	vz_copy(f->name, sizeof(f->name), pve_json_str(g, "name"));
	vz_copy(f->lock, sizeof(f->lock), pve_json_str(g, "lock"));
	buf_addf(&x->out, "     -> %s %ld", type, f->vmid);
	if (f->name[0]) {
		buf_adds(&x->out, " \"");
		pve_add_clean(&x->out, f->name, 100);
		buf_adds(&x->out, "\"");
	}
	buf_addf(&x->out, " on node %s", f->node);
	if (f->lock[0]) {
		buf_adds(&x->out, ", locked: ");
		pve_add_clean(&x->out, f->lock, 30);
	}
	buf_adds(&x->out, "\n");
	return VZ_CONTINUE;
}

static int vz_lookup_guest(struct vz *x)
{
	const char *path = "/cluster/resources?type=vm";

	vz_request_line(x, "GET", path, NULL, 0);
	if (vz_get(x, path, &x->vms) != PE_OK) {
		vz_fail(x, "guest lookup failed");
		return VZDUMP_EXIT_FAILED;
	}
	x->guest = vzdump_find_guest(pve_data(x->vms), x->f.vmid);
	if (x->guest)
		return vz_guest_from(x, x->guest);
	vz_flush(x);
	fprintf(x->ferr,
		"persistencectl vzdump: guest %ld is not in /cluster/resources of source %s (no such guest, "
		"or token %s lacks VM.Audit on /vms/%ld)\n",
		x->f.vmid, x->p->name, x->p->token_id, x->f.vmid);
	return VZDUMP_EXIT_USAGE;
}

static void vz_describe_job(struct vz *x)
{
	const struct vzdump_facts *f = &x->f;

	if (!f->job[0]) {
		buf_addf(&x->out, "     -> no enabled backup job covers %ld\n", f->vmid);
		return;
	}
	buf_adds(&x->out, "     -> enabled job ");
	pve_add_clean(&x->out, f->job, 100);
	buf_addf(&x->out, " covers %ld: storage %s, repeat-missed %d\n", f->vmid,
		 f->job_storage[0] ? f->job_storage : "(none)", f->repeat_missed);
}

static int vz_lookup_jobs(struct vz *x)
{
	const char *path = "/cluster/backup";
	struct vzdump_facts *f = &x->f;
	cJSON *doc;

	vz_request_line(x, "GET", path, NULL, 0);
	if (vz_get(x, path, &doc) != PE_OK) {
		buf_addf(&x->out, "     -> not readable: %s\n", buf_str(&x->why));
		vzdump_facts_from_job(f, NULL);
	} else {
		vzdump_facts_from_job(f, vzdump_pick_job(pve_data(doc), x->guest));
		f->jobs_read = 1;
		vz_describe_job(x);
	}
	cJSON_Delete(doc);
	if (x->o->storage && f->job_storage[0] && strcmp(x->o->storage, f->job_storage) != 0)
		buf_addf(&x->out, "     -> using --storage=%s instead\n", x->o->storage);
	vz_flush(x);
	if (f->storage[0])
		return VZ_CONTINUE;
	fprintf(x->ferr, "persistencectl vzdump: %s; give the target storage with --storage=ID\n",
		f->jobs_read ? "no enabled backup job covers this guest with a storage"
			     : "the backup jobs could not be read");
	return VZDUMP_EXIT_USAGE;
}

static const cJSON *vz_find_storage(const cJSON *list, const char *sid)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, list)
	{
		const char *s = pve_json_str(it, "storage");
		if (s && strcmp(s, sid) == 0)
			return it;
	}
	return NULL;
}

static void vz_describe_storage(struct vz *x, const cJSON *st)
{
	double avail;

	vz_copy(x->f.storage_type, sizeof(x->f.storage_type), pve_json_str(st, "type"));
	if (!vz_safe_id(x->f.storage_type))
		x->f.storage_type[0] = '\0';
	buf_addf(&x->out, "     -> storage %s: %s%s", x->f.storage,
		 x->f.storage_type[0] ? x->f.storage_type : "?",
		 pve_json_bool(st, "shared", 0) ? ", shared" : "");
	if (!pve_json_bool(st, "active", 1))
		buf_adds(&x->out, ", NOT active (offline?): the backup will fail until it is back");
	else if (pve_json_num(st, "avail", &avail) && avail >= 0)
		buf_addf(&x->out, ", active, %.1f GiB free", avail / (1024.0 * 1024 * 1024));
	buf_adds(&x->out, "\n");
}

static int vz_lookup_storage(struct vz *x)
{
	char path[256];
	cJSON *doc;
	int rc = VZ_CONTINUE;

	snprintf(path, sizeof(path), "/nodes/%s/storage?content=backup", x->f.node);
	vz_request_line(x, "GET", path, NULL, 0);
	if (vz_get(x, path, &doc) != PE_OK) {
		buf_addf(&x->out, "     -> could not check the storage: %s\n", buf_str(&x->why));
		vz_flush(x);
		return VZ_CONTINUE;
	}
	const cJSON *st = vz_find_storage(pve_data(doc), x->f.storage);
	if (st) {
		vz_describe_storage(x, st);
		vz_flush(x);
	} else {
		vz_flush(x);
		fprintf(x->ferr,
			"persistencectl vzdump: storage %s is not an enabled backup storage on node %s (or "
			"token %s "
			"lacks Datastore.Audit on /storage/%s)\n",
			x->f.storage, x->f.node, x->p->token_id, x->f.storage);
		rc = VZDUMP_EXIT_USAGE;
	}
	cJSON_Delete(doc);
	return rc;
}

/* Lists the guest's archives on the target storage; prints what it found. */
static void vz_lookup_archives(struct vz *x, const char *label)
{
	struct vzdump_facts *f = &x->f;
	char path[512], when[32], age[32];
	cJSON *doc;

	snprintf(path, sizeof(path), "/nodes/%s/storage/%s/content?content=backup&vmid=%ld", f->node,
		 f->storage, f->vmid);
	vz_request_line(x, "GET", path, NULL, 0);
	f->narchives = -1;
	if (vz_get(x, path, &doc) != PE_OK) {
		buf_addf(&x->out, "     -> could not list the archives: %s\n", buf_str(&x->why));
	} else {
		vzdump_facts_from_content(f, pve_data(doc));
		cJSON_Delete(doc);
		if (f->narchives == 0) {
			buf_addf(&x->out,
				 "     -> no archive of %ld visible (none yet, or token %s cannot see "
				 "archives: that\n"
				 "        needs Datastore.AllocateSpace on /storage/%s and VM.Backup on "
				 "/vms/%ld)\n",
				 f->vmid, x->p->token_id, f->storage, f->vmid);
		} else {
			vz_iso_time(f->newest, when, sizeof(when));
			vzdump_format_age(clock_wall() - f->newest, age, sizeof(age));
			buf_addf(&x->out, "     -> %s%ld archive%s of %ld, newest %s (%s ago)\n", label,
				 f->narchives, f->narchives == 1 ? "" : "s", f->vmid, when, age);
		}
	}
	vz_flush(x);
}

/* ---------------------------------------------------------------- mutations (action token) */

/*
 * POSTs one mutation with the action token (the client writes its audit
 * line). PE_OK and upid set when PVE started a task; PE_NOTFOUND when it
 * answered without a UPID (nothing started); else x->why explains.
 */
static enum perr vz_post(struct vz *x, const char *path, const char *form, char *upid, size_t n)
{
	vz_request_line(x, "POST", path, form, 1);
	return pve_client_start_task(x->pc, path, form, upid, n, &x->why);
}

/* ---------------------------------------------------------------- following a task */

/* What the wait hooks need: the command, and the log's ERROR: lines (capped). */
struct vz_follow {
	struct vz *x;
	struct buf errors;
};

static void vz_spin_clear(struct vz *x)
{
	if (x->tty && x->spinning) {
		fputs("\r\033[K", x->ferr);
		fflush(x->ferr);
	}
	x->spinning = 0;
}

static void vz_spin(void *ctx, const struct pve_task *t, double started)
{
	static const char wheel[] = "|/-\\";
	struct vz *x = ((struct vz_follow *)ctx)->x;

	if (!x->tty)
		return;
	fprintf(x->ferr, "\r%c %s task running, %lds", wheel[x->spin++ % 4], t->u.type,
		(long)(clock_wall() - started));
	fflush(x->ferr);
	x->spinning = 1;
}

/* A new line of the task log: printed at once, and kept when it reports an error. */
static void vz_log_line(void *ctx, const char *line)
{
	struct vz_follow *f = ctx;
	struct vz *x = f->x;

	vz_spin_clear(x);
	buf_adds(&x->out, "  | ");
	pve_add_clean(&x->out, line, 1000);
	buf_adds(&x->out, "\n");
	if (strncmp(line, "ERROR:", 6) == 0 || strncmp(line, "TASK ERROR:", 11) == 0) {
		pve_add_clean(&f->errors, line, 1000);
		buf_adds(&f->errors, "\n");
	}
	vz_flush(x);
}

/* Polls until the task stops. PE_OK with t->exitstatus set; else x->why explains. */
static enum perr vz_follow(struct vz *x, struct pve_task *t, struct vz_follow *f, int show_log,
			   double deadline)
{
	struct pve_task_hooks h = {f, show_log ? vz_log_line : NULL, vz_spin};
	enum perr e = pve_client_task_wait(x->pc, t, deadline, x->o->poll_interval, &h, &x->why);

	vz_spin_clear(x);
	return e;
}

/* Starts following upid; on a malformed one x->why says so and 0 is returned. */
static int vz_task_begin(struct vz *x, struct pve_task *t, struct vz_follow *f, const char *upid)
{
	f->x = x;
	buf_init(&f->errors, 4096);
	return pve_task_init(t, upid, PVE_TOKEN_ACTION, &x->why) == PE_OK;
}

static int vz_restart_scheduler(struct vz *x)
{
	char path[256], upid[256];
	struct pve_task t;
	struct vz_follow f;
	int rc = VZDUMP_EXIT_FAILED;

	snprintf(path, sizeof(path), "/nodes/%s/services/pvescheduler/restart", x->f.node);
	if (vz_post(x, path, NULL, upid, sizeof(upid)) != PE_OK) {
		vz_fail(x, "scheduler restart failed; no backup was started");
		return rc;
	}
	buf_addf(&x->out, "     -> %s\n", upid);
	snprintf(path, sizeof(path), "/nodes/%s/tasks/<upid>/status", x->f.node);
	vz_request_line(x, "GET", path, NULL, 1);
	if (!vz_task_begin(x, &t, &f, upid) ||
	    vz_follow(x, &t, &f, 0, clock_wall() + VZ_RESTART_DEADLINE) != PE_OK) {
		vz_fail(x, "lost track of the scheduler restart; no backup was started");
	} else if (!pve_task_ok(&t)) {
		buf_reset(&x->why);
		pve_add_clean(&x->why, t.exitstatus, 300);
		vz_fail(x, "the scheduler restart task failed; no backup was started");
	} else {
		buf_addf(&x->out, "     -> srvrestart ended %s: pvescheduler restarted\n", t.exitstatus);
		vz_flush(x);
		rc = VZ_CONTINUE;
	}
	buf_free(&f.errors);
	return rc;
}

static int vz_wait(struct vz *x, const char *upid)
{
	char path[512];
	struct pve_task t;
	struct vz_follow f;
	int rc = VZDUMP_EXIT_FAILED;

	snprintf(path, sizeof(path), "/nodes/%s/tasks/<upid>/status and .../log?start=N&limit=%d", x->f.node,
		 PVE_TASK_LOG_PAGE);
	vz_request_line(x, "GET", path, NULL, 1);
	if (!vz_task_begin(x, &t, &f, upid) || vz_follow(x, &t, &f, 1, 0) != PE_OK) {
		vz_fail(x, "lost track of the backup task (it may still be running)");
		fprintf(x->ferr, "  task: %s\n", upid);
	} else if (!pve_task_ok(&t)) {
		vz_flush(x);
		fprintf(x->ferr, "persistencectl vzdump: the backup task failed: ");
		buf_reset(&x->why);
		pve_add_clean(&x->why, t.exitstatus, 300);
		fprintf(x->ferr, "%s\n%s  task: %s\n", buf_str(&x->why), buf_str(&f.errors), upid);
	} else {
		buf_addf(&x->out, "     -> backup task ended %s\n", t.exitstatus);
		vz_flush(x);
		vz_lookup_archives(x, "now ");
		rc = VZDUMP_EXIT_OK;
	}
	buf_free(&f.errors);
	return rc;
}

static int vz_start(struct vz *x)
{
	char path[256], upid[256];
	struct buf form;
	enum perr e;
	int rc = VZDUMP_EXIT_FAILED;

	buf_init(&form, 1024);
	vzdump_form(&x->f, &form);
	snprintf(path, sizeof(path), "/nodes/%s/vzdump", x->f.node);
	e = vz_post(x, path, buf_str(&form), upid, sizeof(upid));
	buf_free(&form);
	if (e == PE_NOTFOUND) {
		vz_fail(x, "no backup started");
		fprintf(x->ferr,
			"  guest %ld is not on node %s (it moved, or /cluster/resources was stale); run "
			"again to "
			"look it up afresh\n",
			x->f.vmid, x->f.node);
	} else if (e != PE_OK) {
		vz_fail(x, "the backup could not be started");
	} else {
		buf_addf(&x->out, "     -> %s\n", upid);
		vz_flush(x);
		if (x->o->wait)
			return vz_wait(x, upid);
		buf_addf(&x->out,
			 "backup started; follow it in the PVE GUI (node %s, Tasks) or run with --wait\n",
			 x->f.node);
		vz_flush(x);
		rc = VZDUMP_EXIT_OK;
	}
	return rc;
}

/* ---------------------------------------------------------------- the command */

static int vz_lookups(struct vz *x)
{
	int rc = vz_lookup_guest(x);

	if (rc == VZ_CONTINUE)
		rc = vz_lookup_jobs(x);
	if (rc == VZ_CONTINUE)
		rc = vz_lookup_storage(x);
	if (rc == VZ_CONTINUE)
		vz_lookup_archives(x, "");
	return rc;
}

static int vz_main(struct vz *x)
{
	const struct vzdump_opts *o = x->o;
	const char *act = pve_client_can_act(x->pc) ? x->p->action_token_id : NULL;
	int rc;

	buf_addf(&x->out, "persistencectl vzdump: %s\nsource %s: %s\n\n",
		 o->execute ? "executing" : "dry run, nothing is changed", x->p->name,
		 pve_client_base_url(x->pc));
	rc = vz_lookups(x);
	if (rc != VZ_CONTINUE)
		return rc;
	vzdump_render_plan(o, &x->f, act, &x->out);
	buf_adds(&x->out, "\n");
	vz_flush(x);
	if (!o->execute)
		return VZDUMP_EXIT_OK;
	if (!act) {
		fprintf(x->ferr,
			"persistencectl vzdump: refused: source %s has no action token configured; nothing "
			"was sent (see the note above)\n",
			x->p->name);
		return VZDUMP_EXIT_FAILED;
	}
	if (strcmp(x->f.guest_type, "lxc") == 0) {
		char vmid[24];
		snprintf(vmid, sizeof(vmid), "%ld", x->f.vmid);
		log_warn("tmpdir=/var/tmp not sent: PVE accepts it only from root@pam; set it in "
			 "/etc/vzdump.conf",
			 "source", x->p->name, "vmid", vmid, "node", x->f.node);
	}
	if (o->restart_scheduler && (rc = vz_restart_scheduler(x)) != VZ_CONTINUE)
		return rc;
	return vz_start(x);
}

static int vz_load(struct vz *x, struct config **cfg)
{
	struct buf errors;
	int rc = VZ_CONTINUE;

	buf_init(&errors, 1 << 20);
	if (config_load_file(x->o->config_file, cfg, &errors) != PE_OK) {
		fputs(buf_str(&errors), x->ferr);
		fprintf(x->ferr, "persistencectl vzdump: config %s is not usable\n", x->o->config_file);
		rc = VZDUMP_EXIT_USAGE;
	} else if ((x->p = config_find_pve(*cfg, x->o->source)) == NULL) {
		fprintf(x->ferr,
			"persistencectl vzdump: no pve source named '%s' in %s; it has:", x->o->source,
			x->o->config_file);
		for (size_t i = 0; i < (*cfg)->npve; i++)
			fprintf(x->ferr, " %s", (*cfg)->pve[i].name);
		fputs((*cfg)->npve ? "\n" : " none\n", x->ferr);
		rc = VZDUMP_EXIT_USAGE;
	} else if (pve_client_new(x->p, &x->pc) != PE_OK) {
		fprintf(x->ferr, "persistencectl vzdump: out of memory\n");
		rc = VZDUMP_EXIT_FAILED;
	}
	buf_free(&errors);
	return rc;
}

int vzdump_run(const struct vzdump_opts *o, FILE *out, FILE *err)
{
	struct config *cfg = NULL;
	struct vz x;
	int rc;

	memset(&x, 0, sizeof(x));
	x.o = o;
	x.fout = out;
	x.ferr = err;
	x.tty = isatty(fileno(err));
	x.f.vmid = o->vmid;
	x.f.repeat_missed = -1;
	x.f.narchives = -1;
	if (o->storage)
		vz_copy(x.f.storage, sizeof(x.f.storage), o->storage);
	buf_init(&x.out, 0);
	buf_init(&x.why, 8192);
	rc = vz_load(&x, &cfg);
	if (rc == VZ_CONTINUE)
		rc = vz_main(&x);
	vz_flush(&x);
	cJSON_Delete(x.vms);
	pve_client_free(x.pc);
	buf_free(&x.out);
	buf_free(&x.why);
	config_unref(cfg);
	return rc;
}
