/* vzdump.c - persistencectl vzdump: look up the guest, plan, and (with --execute) start one backup. */
#include "vzdump.h"
#include "clock.h"
#include "config.h"
#include "fetch.h"
#include "log.h"
#include "pve.h"
#include "pve_client.h"
#include "secret.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cJSON.h"

/* ---------------------------------------------------------------- talking to PVE */

#define VZ_RESTART_DEADLINE 300.0 /* s; pvescheduler's stop waits up to ~75 s for its children */

struct vz {
	const struct vzdump_opts *o;
	const struct config_pve *p;
	struct config_pve pcopy; /* with --execute: the source with its action secret read (act_secret) */
	char *act_secret; /* read from action_token_secret_file by this command, never by the daemon */
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

/* An action token is configured: its id, and its secret inline or as a file (read only with --execute). */
static int vz_has_action(const struct config_pve *p)
{
	return p->action_token_id && (p->action_token_secret || p->action_token_secret_file);
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
		vzdump_copy(out, n, "?");
}

/* ---------------------------------------------------------------- lookups (GET, read token) */

#define VZ_CONTINUE (-1)

static int vz_guest_from(struct vz *x, const cJSON *g)
{
	struct vzdump_facts *f = &x->f;
	const char *type = pve_json_str(g, "type"), *node = pve_json_str(g, "node");

	if (!type || (strcmp(type, "qemu") != 0 && strcmp(type, "lxc") != 0) || !vzdump_safe_id(node)) {
		buf_adds(&x->why, "the resource entry has no usable type or node");
		vz_fail(x, "guest lookup");
		return VZDUMP_EXIT_FAILED;
	}
	vzdump_copy(f->guest_type, sizeof(f->guest_type), type);
	vzdump_copy(f->node, sizeof(f->node), node);
	vzdump_copy(f->name, sizeof(f->name), pve_json_str(g, "name"));
	vzdump_copy(f->lock, sizeof(f->lock), pve_json_str(g, "lock"));
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

	vzdump_copy(x->f.storage_type, sizeof(x->f.storage_type), pve_json_str(st, "type"));
	if (!vzdump_safe_id(x->f.storage_type))
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
	const char *act = vz_has_action(x->p) ? x->p->action_token_id : NULL;
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

/*
 * --execute with an action token kept in a file: read it now, before any request, into a copy of the
 * source. The file is the operator's (mode 0600), so the daemon's user may not read it; say which file.
 */
static int vz_read_action_secret(struct vz *x)
{
	char why[512];

	if (!x->o->execute || !x->p->action_token_id || x->p->action_token_secret ||
	    !x->p->action_token_secret_file)
		return VZ_CONTINUE;
	if (config_read_secret(x->p->action_token_secret_file, &x->act_secret, why, sizeof(why)) != PE_OK) {
		fprintf(x->ferr,
			"persistencectl vzdump: the action token %s of source %s: %s; nothing was sent\n",
			x->p->action_token_id, x->p->name, why);
		return VZDUMP_EXIT_USAGE;
	}
	x->pcopy = *x->p;
	x->pcopy.action_token_secret = x->act_secret;
	x->p = &x->pcopy;
	return VZ_CONTINUE;
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
	} else if ((rc = vz_read_action_secret(x)) == VZ_CONTINUE && pve_client_new(x->p, &x->pc) != PE_OK) {
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
		vzdump_copy(x.f.storage, sizeof(x.f.storage), o->storage);
	buf_init(&x.out, 0);
	buf_init(&x.why, 8192);
	rc = vz_load(&x, &cfg);
	if (rc == VZ_CONTINUE)
		rc = vz_main(&x);
	vz_flush(&x);
	cJSON_Delete(x.vms);
	pve_client_free(x.pc);
	secret_free(x.act_secret);
	buf_free(&x.out);
	buf_free(&x.why);
	config_unref(cfg);
	return rc;
}
